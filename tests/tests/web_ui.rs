//! The web UI in a real headless Chromium (Debian's `chromium`, driven over WebDriver through
//! `chromedriver` by fantoccini), over HTTPS, with data from real captures: mb2.pcap's Modbus
//! cell with enterprise hosts reaching its master (NET 1.1 violations) and the 2008 EtherNet/IP
//! firmware update (a change). An admin loads every page and follows a score down to the frames
//! behind it; an auditor reads but is refused a decision; an operator acknowledges the change.
//! Screenshots of the main pages go to `$SHOKO_SCREENSHOTS` when set (`deploy/screenshots/`).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use shoko_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CAPTURES: [&str; 3] = [
    "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap",
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap",
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap",
];

/// mb2's cell, its master in a control zone, two office hosts that reach the master.
const ZONES: &str = r#"
[[zone]]
name = "cell"
kind = "field"
level = 1
cidrs = ["141.81.0.0/24"]

[[zone]]
name = "master"
kind = "control"
level = 2
cidrs = ["141.81.0.10/32"]

[[zone]]
name = "office"
kind = "enterprise"
level = 4
cidrs = ["141.81.0.182/32", "141.81.0.187/32"]

[[conduit]]
name = "polling"
zones = ["master", "cell"]
services = ["tcp/502", "tcp/102"]
"#;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver, stopped on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        wait_until("chromedriver listens", 20, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Driver {
            child,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    /// A new browser session (its own profile: no cookies shared with another).
    async fn session(&self, name: &str) -> Client {
        let profile = self.profile.path().join(name);
        let mut caps = serde_json::Map::new();
        caps.insert("acceptInsecureCerts".into(), json!(true));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1600", format!("--user-data-dir={}", profile.display())]
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session in chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the first element matching `css`.
async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// How many elements match `css`.
async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

/// The path and query of the page shown.
async fn here(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    }
}

/// Clicks the first element matching `css` and waits until the page it leads to has loaded.
async fn follow(c: &Client, css: &str) {
    let before = c.current_url().await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    for _ in 0..200 {
        let loaded = c.execute("return document.readyState", vec![]).await.ok() == Some(json!("complete"));
        if loaded && c.current_url().await.unwrap() != before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("clicking {css} on {before} led nowhere");
}

/// Logs in through the form; waits for the page it leads to.
async fn login(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("#user-name"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    follow(c, "#login").await;
    assert_eq!(text(c, "#user").await, user);
}

/// Takes a screenshot; writes it to `$SHOKO_SCREENSHOTS/NAME.png` when that is set.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{name}: not a real screenshot"
    );
    if let Some(dir) = std::env::var_os("SHOKO_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        let dir = if dir.is_relative() {
            workspace().join(dir)
        } else {
            dir
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// The asset holding `ip`.
fn asset_with_ip(assets: &Value, ip: &str) -> i64 {
    assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ips"].as_array().unwrap().iter().any(|i| i == ip))
        .unwrap_or_else(|| panic!("no asset with {ip}"))["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn every_role_uses_the_web_ui_in_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "SKIPPED: {CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver; .ci/run does)"
        );
        return;
    }
    let (data, collector) = collector_with_captures(&CAPTURES, ZONES);
    let d = data.path();
    for (name, role) in [("ada", "admin"), ("olga", "operator"), ("aud", "auditor")] {
        let out = add_user(&d, name, role, &format!("{name} long password"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let assets = collector.get_json("/api/v1/assets");
    let (office, master, plc) = (
        asset_with_ip(&assets, "141.81.0.182"),
        asset_with_ip(&assets, "141.81.0.10"),
        asset_with_ip(&assets, "141.81.0.86"),
    );
    let change = collector.get_json("/api/v1/changes?kind=firmware_change")[0]["id"]
        .as_i64()
        .unwrap();
    let base = format!("https://{}", collector.http);
    let driver = Driver::start();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // The admin: every page, and a score followed down to its frames.
        let c = driver.session("admin").await;
        login(&c, &base, "ada", "ada long password").await;
        assert_eq!(here(&c).await, "/");
        assert_eq!(
            text(&c, "#asset-count").await,
            assets.as_array().unwrap().len().to_string()
        );
        // The captures are from 2012: the dashboard offers the periods ending with the evidence.
        follow(&c, "#stale a").await;
        let at_query = here(&c).await.trim_start_matches('/').to_owned();
        assert!(at_query.starts_with("?at=2012-11-12T13%3A22%3A30."), "{at_query}");
        let at = at_query.trim_start_matches("?at=").replace("%3A", ":");
        let assessment = collector.get_json(&format!("/api/v1/assessment?at={at}"));
        let scores = assessment["scores"].as_array().unwrap();
        assert_eq!(count(&c, "#heat-map a.req").await, scores.len());
        screenshot(&c, "dashboard").await;

        follow(&c, "#heat-map a.req[href^='/requirements/NET-1.1?']").await;
        assert_eq!(text(&c, "h1").await, "NET 1.1 Segmentation from non-IACS zones");
        let explanation = collector.get_json(&format!("/api/v1/requirements/NET-1.1/explanation?at={at}"));
        assert_eq!(
            text(&c, "#level").await,
            explanation["score"]["level"].as_str().unwrap()
        );
        let findings = explanation["findings"].as_array().unwrap();
        assert!(!findings.is_empty());
        assert_eq!(count(&c, "#findings tbody tr").await, findings.len());
        // Each period's coverage of the expected population, as the explanation states it.
        let coverage = c
            .find(Locator::Css("#periods td.coverage"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            coverage,
            explanation["score"]["periods"][0]["coverage_statement"]
                .as_str()
                .unwrap()
        );
        assert!(coverage.ends_with("days with data 1/7"), "{coverage}");
        screenshot(&c, "requirement").await;
        // Its first violation's evidence: flows between the office and the master.
        let first = c.find(Locator::Css("#findings a.evidence-link")).await.unwrap();
        assert!(
            first.text().await.unwrap().contains("141.81.0.10"),
            "{}",
            first.text().await.unwrap()
        );
        follow(&c, "#findings a.evidence-link").await;
        let orig = findings[0]["evidence"][0]["orig"].as_str().unwrap();
        assert_eq!(
            here(&c).await,
            format!("/assets/{}", asset_with_ip(&assets, orig))
        );
        assert!(text(&c, "#flows").await.contains("141.81.0.10"));
        // An observation behind the asset, and its frames as pcap.
        follow(&c, "#evidence tbody a").await;
        let observation: i64 = here(&c)
            .await
            .trim_start_matches("/observations/")
            .parse()
            .unwrap();
        assert_eq!(text(&c, "h1").await, format!("Observation {observation}"));
        let frames = count(&c, "a[href$='frames.pcap?linktype=1']").await;
        assert_eq!(frames, 1, "the observation's frames are downloadable");
        let (code, _) = collector.status(&format!("/observations/{observation}/frames.pcap?linktype=1"));
        assert_eq!(code, 200);

        // Inventory: all assets, then filtered on the server by the form.
        c.goto(&format!("{base}/inventory")).await.unwrap();
        assert_eq!(
            count(&c, "#inventory tbody tr").await,
            assets.as_array().unwrap().len()
        );
        screenshot(&c, "inventory").await;
        c.find(Locator::Css("#search"))
            .await
            .unwrap()
            .send_keys("141.81.0.86")
            .await
            .unwrap();
        follow(&c, "form.filters button").await;
        assert_eq!(text(&c, "#shown").await, "1");
        assert!(here(&c).await.starts_with("/inventory?q=141.81.0.86"));
        follow(&c, "#inventory tbody a").await;
        assert_eq!(here(&c).await, format!("/assets/{plc}"));
        assert!(text(&c, "#services").await.contains("modbus"));
        assert_eq!(
            count(&c, "#asset-events tbody tr").await,
            2,
            "mb2's two coil writes to the PLC"
        );
        screenshot(&c, "asset").await;

        // The network map: a node per asset, the office's reach into the master in red.
        c.goto(&format!("{base}/map{at_query}")).await.unwrap();
        assert_eq!(
            count(&c, "#network-map circle").await,
            assets.as_array().unwrap().len()
        );
        assert!(count(&c, "#network-map line.violating").await >= 1);
        let violations = text(&c, "#violations").await;
        assert!(
            violations.contains(&format!("asset {office}"))
                && violations.contains(&format!("asset {master}")),
            "{violations}"
        );
        screenshot(&c, "map").await;
        c.goto(&format!("{base}/audit")).await.unwrap();
        assert!(text(&c, "#audit").await.contains("user:ada login"));
        follow(&c, "nav.top button").await;
        assert_eq!(text(&c, "#login").await, "Log in");
        assert_eq!(here(&c).await, "/login");
        c.close().await.unwrap();

        // The auditor reads the queue, is shown no usable decision and is refused one anyway.
        let c = driver.session("auditor").await;
        login(&c, &base, "aud", "aud long password").await;
        c.goto(&format!("{base}/changes")).await.unwrap();
        assert!(
            text(&c, "#read-only")
                .await
                .starts_with("Your role (auditor) reads and exports")
        );
        let ack = format!("#change-{change} button.ack");
        assert!(
            !c.find(Locator::Css(&ack))
                .await
                .unwrap()
                .is_enabled()
                .await
                .unwrap()
        );
        c.execute(
            &format!(
                "document.querySelectorAll('#change-{change} [disabled]').forEach(e => e.disabled = false)"
            ),
            vec![],
        )
        .await
        .unwrap();
        follow(&c, &ack).await;
        assert_eq!(
            text(&c, "p.error").await,
            "Forbidden: the auditor role may not acknowledge or reject changes."
        );
        c.goto(&format!("{base}/audit")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "403 Forbidden");
        c.goto(&format!("{base}/exports")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Exports");
        assert_eq!(count(&c, "#export-bundle").await, 1, "auditors export");
        assert_eq!(count(&c, "nav.top a[href='/audit']").await, 0);
        c.close().await.unwrap();
        let still = collector.get_json("/api/v1/changes?kind=firmware_change");
        assert_eq!(still[0]["status"], "open");

        // The operator acknowledges it under a change reference.
        let c = driver.session("operator").await;
        login(&c, &base, "olga", "olga long password").await;
        c.goto(&format!("{base}/changes")).await.unwrap();
        screenshot(&c, "changes").await;
        c.goto(&format!("{base}/changes?kind=firmware_change"))
            .await
            .unwrap();
        assert_eq!(count(&c, "#changes tbody tr").await, 1);
        c.find(Locator::Css(&format!("#change-{change} input[name=reference]")))
            .await
            .unwrap()
            .send_keys("MOC-42")
            .await
            .unwrap();
        follow(&c, &ack).await;
        assert_eq!(
            text(&c, &format!("#change-{change} .status-acknowledged")).await,
            "acknowledged"
        );
        assert_eq!(here(&c).await, "/changes?status=all");
        let row = text(&c, &format!("#change-{change}")).await;
        assert!(
            row.contains("acknowledged") && row.contains("by user:olga") && row.contains("ref MOC-42"),
            "{row}"
        );
        c.close().await.unwrap();
    });
    let done = collector.get_json("/api/v1/changes?kind=firmware_change");
    assert_eq!(
        (&done[0]["status"], &done[0]["decided_by"], &done[0]["reference"]),
        (&json!("acknowledged"), &json!("user:olga"), &json!("MOC-42"))
    );
}
