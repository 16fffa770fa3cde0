//! Accounts from the command line: users with roles (password read from standard input and
//! stored as Argon2id), API tokens shown once, a disabled user, and the audit log of it all.

use shoko_tests::*;

#[test]
fn users_and_tokens_are_managed_from_the_cli_and_audited() {
    let data = DataDir::init();
    drop(CollectorProcess::start(&data));
    let d = data.path();
    let out = add_user(&d, "ada", "admin", "correct horse battery");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "user \"ada\" added as admin (id 1)\n"
    );
    let out = add_user(&d, "aud", "auditor", "short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("passwords have at least 12 characters"));
    assert!(
        add_user(&d, "aud", "auditor", "auditor password")
            .status
            .success()
    );

    let out = run_ok(
        "shoko-collector",
        &[
            "tokens",
            "create",
            "--data",
            &d,
            "--user",
            "aud",
            "--name",
            "evidence-export",
            "--days",
            "30",
            "--by",
            "root",
        ],
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("shoko_") && token.len() == 6 + 64, "{token}");
    let db = std::fs::read(data.dir.path().join("shoko.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "only the token's digest is stored"
    );

    let users: serde_json::Value =
        serde_json::from_slice(&run_ok("shoko-collector", &["users", "list", "--data", &d, "--json"]).stdout)
            .unwrap();
    assert_eq!(users[1]["name"], "aud");
    assert_eq!(users[1]["role"], "auditor");
    assert!(users[1].get("password_hash").is_none(), "never shown");
    run_ok(
        "shoko-collector",
        &["users", "disable", "--data", &d, "--name", "aud", "--by", "root"],
    );
    run_ok(
        "shoko-collector",
        &["tokens", "revoke", "--data", &d, "--id", "1", "--by", "root"],
    );
    let tokens =
        String::from_utf8(run_ok("shoko-collector", &["tokens", "list", "--data", &d]).stdout).unwrap();
    assert!(
        tokens.starts_with("1    token    aud                  evidence-export          revoked "),
        "{tokens}"
    );

    let log: serde_json::Value =
        serde_json::from_slice(&run_ok("shoko-collector", &["audit-log", "--data", &d, "--json"]).stdout)
            .unwrap();
    let actions: Vec<(&str, &str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("cli:root", "credential_revoked", "credential:1"),
            ("cli:root", "user_disabled", "user:aud"),
            ("cli:root", "token_created", "token:1"),
            ("cli:root", "user_added", "user:aud"),
            ("cli:root", "user_added", "user:ada"),
        ]
    );
}
