//! Access control over HTTPS with real clients: the API wants a token and the pages a session;
//! roles decide who may acknowledge a change; every role exports (a signed bundle that verifies,
//! the report, the BOM); login, cross-site writes, logout and revocation; every write and export
//! in the audit log.

use shoko_tests::*;

const FIRMWARE_CAPTURES: [&str; 2] = [
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap",
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap",
];

/// A response's status, `Set-Cookie`, `Location` and body.
struct Answer {
    status: u16,
    cookie: String,
    location: String,
    body: String,
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("HTTPS request");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (cookie, location) = (header("set-cookie"), header("location"));
    Answer {
        status: r.status().as_u16(),
        cookie,
        location,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

#[test]
fn tokens_sessions_and_roles_guard_the_api_and_the_pages() {
    let (data, collector) = collector_with_captures(&FIRMWARE_CAPTURES, "");
    let d = data.path();
    for (name, role) in [("olga", "operator"), ("aud", "auditor")] {
        let out = add_user(&d, name, role, &format!("{name} long password"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (olga, aud) = (create_token(&d, "olga"), create_token(&d, "aud"));
    let web = https_client(&d);
    let get = |path: &str, auth: &str| {
        let mut req = web.get(&collector.url(path));
        if !auth.is_empty() {
            req = req.header("Authorization", &format!("Bearer {auth}"));
        }
        answer(req.call())
    };

    // The map's SVG is a document of its own: a policy that runs nothing from it, and no sniffing.
    let svg = web
        .get(&collector.url("/map.svg"))
        .header("Authorization", &format!("Bearer {aud}"))
        .call()
        .unwrap();
    let header = |name: &str| {
        svg.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        (
            header("content-type"),
            header("x-content-type-options"),
            header("content-security-policy")
        ),
        (
            "image/svg+xml".to_string(),
            "nosniff".to_string(),
            "default-src 'none'; style-src 'unsafe-inline'; sandbox".to_string()
        )
    );

    // Open: health and metrics. Everything else wants a credential.
    assert_eq!(get("/healthz", "").body, "ok\n");
    assert_eq!(get("/metrics", "").status, 200);
    let refused = get("/api/v1/assets", "");
    assert_eq!(
        (refused.status, refused.body.starts_with("unauthorized")),
        (401, true)
    );
    assert_eq!(get("/api/v1/assets", "shoko_0000").status, 401);
    let page = get("/inventory?zone=x", "");
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/login?next=%2Finventory%3Fzone%3Dx")
    );
    // Only HTTPS is served.
    assert!(
        ureq::get(&format!("http://{}/healthz", collector.http))
            .call()
            .is_err()
    );

    // The firmware change the captures show, open.
    let changes =
        serde_json::from_str::<serde_json::Value>(&get("/api/v1/changes?kind=firmware_change", &aud).body)
            .unwrap();
    let change = changes[0]["id"].as_i64().expect("a firmware change");
    assert_eq!(changes[0]["status"], "open");
    let decide = |token: &str| {
        answer(
            web.post(&collector.url(&format!("/api/v1/changes/{change}/decision")))
                .header("Authorization", &format!("Bearer {token}"))
                .send_json(serde_json::json!({"decision": "acknowledged", "reference": "MOC-7", "comment": "planned upgrade"})),
        )
    };
    let forbidden = decide(&aud);
    assert_eq!(
        (forbidden.status, forbidden.body.as_str()),
        (403, "forbidden: the auditor role may not do this (Decide)\n")
    );
    let done = decide(&olga);
    assert_eq!(done.status, 200, "{}", done.body);
    let done: serde_json::Value = serde_json::from_str(&done.body).unwrap();
    assert_eq!(
        (
            &done["id"],
            &done["status"],
            &done["decided_by"],
            &done["reference"]
        ),
        (
            &serde_json::json!(change),
            &serde_json::json!("acknowledged"),
            &serde_json::json!("user:olga"),
            &serde_json::json!("MOC-7")
        )
    );

    // Every role exports: the signed evidence bundle verifies offline, the report and the BOM
    // download, each export in the audit log.
    let download = |path: &str| {
        let mut r = web
            .get(&collector.url(path))
            .header("Authorization", &format!("Bearer {aud}"))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let disposition = r
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        (
            disposition,
            r.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap(),
        )
    };
    let (disposition, bundle) = download("/exports/evidence.tar.gz?requirements=CM-1.4,NET%201.1");
    assert_eq!(disposition, "attachment; filename=\"shoko-evidence.tar.gz\"");
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("bundle.tar.gz");
    std::fs::write(&path, &bundle).unwrap();
    let verified = run_ok(
        "shoko-collector",
        &[
            "verify-bundle",
            path.to_str().unwrap(),
            "--key",
            &format!("{d}/pki/evidence.pub"),
            "--json",
        ],
    );
    let check: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(
        (
            check["pinned"].as_bool(),
            check["problems"].as_array().map(Vec::len)
        ),
        (Some(true), Some(0))
    );
    assert!(check["files_verified"].as_u64().unwrap() >= 10, "{check}");
    let (_, html) = download("/exports/report?format=html&requirements=CM-1.4");
    assert!(
        String::from_utf8(html)
            .unwrap()
            .contains("<h1>IEC 62443-2-1 evidence report</h1>")
    );
    let (disposition, csv) = download("/exports/report?format=csv&table=changes");
    assert_eq!(disposition, "attachment; filename=\"shoko-changes.csv\"");
    assert!(
        csv.starts_with(b"id,asset_id,kind,subject,"),
        "{}",
        String::from_utf8_lossy(&csv)
    );
    let (_, bom) = download("/exports/cyclonedx.json");
    let bom: serde_json::Value = serde_json::from_slice(&bom).unwrap();
    assert_eq!(
        (&bom["bomFormat"], &bom["specVersion"]),
        (&serde_json::json!("CycloneDX"), &serde_json::json!("1.5"))
    );
    assert_eq!(get("/exports/report?requirements=NET-9.9", &aud).status, 400);

    // A browser session: a wrong password, then the form, the cookie, the page. The login form
    // too must come from a page of this server (Origin, or else Referer, scheme included).
    let host = collector.http.to_string();
    let origin = format!("https://{host}");
    let login_from = |from: Option<(&str, &str)>, password: &str| {
        let mut post = web.post(&collector.url("/login"));
        if let Some((name, value)) = from {
            post = post.header(name, value);
        }
        answer(post.send_form([("user", "aud"), ("password", password), ("next", "/changes")]))
    };
    let login = |password: &str| login_from(Some(("Origin", origin.as_str())), password);
    for from in [
        None,
        Some(("Origin", "https://evil.example")),
        Some(("Origin", &*format!("http://{host}"))),
        Some(("Referer", "https://evil.example/login")),
    ] {
        let refused = login_from(from, "aud long password");
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (403, "forbidden: cross-site request\n"),
            "{from:?}"
        );
    }
    let referred = format!("{origin}/login?next=%2Fchanges");
    assert_eq!(
        login_from(Some(("Referer", &referred)), "wrong password!").status,
        401
    );
    assert_eq!(login("wrong password!").status, 401);
    let session = login("aud long password");
    assert_eq!((session.status, session.location.as_str()), (303, "/changes"));
    let (cookie, attributes) = session.cookie.split_once(';').unwrap();
    assert!(cookie.starts_with("shoko_session=shoko_"), "{cookie}");
    assert_eq!(
        attributes,
        " Path=/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure"
    );
    let with_cookie = |path: &str| answer(web.get(&collector.url(path)).header("Cookie", cookie).call());
    let changes_page = with_cookie("/changes?status=all");
    assert_eq!(changes_page.status, 200);
    assert!(
        changes_page
            .body
            .contains("<span id=\"user\">aud</span> (<span id=\"role\">auditor</span>)")
    );
    assert!(
        changes_page.body.contains("by user:olga"),
        "the decision is shown"
    );
    // A write with the cookie from another site, another scheme or naming no origin is refused
    // before anything else.
    for from in [
        Some("https://evil.example".to_string()),
        Some(format!("http://{host}")),
        None,
    ] {
        let mut post = web.post(&collector.url("/logout")).header("Cookie", cookie);
        if let Some(o) = &from {
            post = post.header("Origin", o);
        }
        let cross = answer(post.send_empty());
        assert_eq!(
            (cross.status, cross.body.as_str()),
            (403, "forbidden: cross-site request\n"),
            "{from:?}"
        );
    }
    let out = answer(
        web.post(&collector.url("/logout"))
            .header("Cookie", cookie)
            .header("Origin", &format!("https://{host}"))
            .send_empty(),
    );
    assert_eq!((out.status, out.location.as_str()), (303, "/login"));
    assert!(
        out.cookie
            .starts_with("shoko_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        "{}",
        out.cookie
    );
    assert_eq!(with_cookie("/").status, 303, "the session is closed");

    // A revoked token stops at once.
    let tokens: serde_json::Value = serde_json::from_slice(
        &run_ok("shoko-collector", &["tokens", "list", "--data", &d, "--json"]).stdout,
    )
    .unwrap();
    let olga_token = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "olga")
        .unwrap()["id"]
        .to_string();
    run_ok(
        "shoko-collector",
        &[
            "tokens",
            "revoke",
            "--data",
            &d,
            "--id",
            &olga_token,
            "--by",
            "root",
        ],
    );
    assert_eq!(get("/api/v1/assets", &olga).status, 401);

    // Every write, with who and from where.
    let log: serde_json::Value =
        serde_json::from_slice(&run_ok("shoko-collector", &["audit-log", "--data", &d, "--json"]).stdout)
            .unwrap();
    let web_entries: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "http:127.0.0.1")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("actor"), s("action"), s("target"))
        })
        .collect();
    let session_id = web_entries[0].2.trim_start_matches("credential:").to_owned();
    assert_eq!(
        web_entries,
        [
            (
                "user:aud".into(),
                "credential_revoked".into(),
                format!("credential:{session_id}")
            ),
            ("user:aud".into(), "login".into(), format!("session:{session_id}")),
            ("user:aud".into(), "login_failed".into(), "user:aud".into()),
            ("user:aud".into(), "login_failed".into(), "user:aud".into()),
            ("user:aud".into(), "export".into(), "cyclonedx".into()),
            ("user:aud".into(), "export".into(), "report:csv".into()),
            ("user:aud".into(), "export".into(), "report:html".into()),
            ("user:aud".into(), "export".into(), "evidence-bundle".into()),
            (
                "user:olga".into(),
                "change_acknowledged".into(),
                format!("change:{change}")
            ),
        ]
    );
}
