//! OpenSSH server settings: root login, password authentication, idle timeout. The effective value
//! is the first one sshd reads (`sshd_config`, with `Include`d files in place), outside `Match`
//! blocks; absent settings take OpenSSH's defaults.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, NotApplicable, Pass, Unknown};

const CONFIG: &str = "/etc/ssh/sshd_config";
/// Longest idle time accepted (seconds).
const MAX_IDLE: u64 = 900;

/// Global settings: (keyword lower-case, value, file, line).
fn settings(cx: &Context<'_>, path: &str, out: &mut Vec<(String, String, String, String)>, depth: u8) {
    let Ok(text) = cx.root.read(path) else { return };
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (k, v) = t
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((t, ""));
        let k = k.to_ascii_lowercase();
        let v = v.trim().trim_start_matches('=').trim().to_owned();
        if k == "match" {
            return;
        }
        if k == "include" && depth < 4 {
            for pattern in v.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_owned()
                } else {
                    format!("/etc/ssh/{pattern}")
                };
                for file in expand(cx, &pattern) {
                    settings(cx, &file, out, depth + 1);
                }
            }
            continue;
        }
        out.push((k, v, path.to_owned(), t.to_owned()));
    }
}

/// Files matching `dir/*suffix` (the form sshd configurations use), sorted; or the path itself.
fn expand(cx: &Context<'_>, pattern: &str) -> Vec<String> {
    match pattern.rsplit_once("/*") {
        Some((dir, suffix)) => cx.root.files(dir, &[suffix]),
        None => vec![pattern.to_owned()],
    }
}

/// The three sshd checks.
pub fn checks(cx: &Context<'_>) -> Vec<CheckResult> {
    const ROOT: &[&str] = &["COMP 1.1"];
    const PASSWORD: &[&str] = &["COMP 1.1"];
    const IDLE: &[&str] = &["NET 3.3"];
    let ids = [
        ("ssh.permit_root_login", ROOT),
        ("ssh.password_authentication", PASSWORD),
        ("ssh.idle_timeout", IDLE),
    ];
    let present = cx.root.read(CONFIG);
    let server = cx.installed("openssh-server") || cx.listening.iter().any(|s| s.port == 22);
    match present {
        Err(super::super::root::ReadError::Missing(_)) if !server => {
            return ids
                .iter()
                .map(|(id, req)| CheckResult::new(id, req, NotApplicable, "no SSH server installed"))
                .collect();
        }
        Err(e) => {
            return ids
                .iter()
                .map(|(id, req)| CheckResult::new(id, req, Unknown, e.to_string()))
                .collect();
        }
        Ok(_) => {}
    }
    let mut all = Vec::new();
    settings(cx, CONFIG, &mut all, 0);
    let first = |k: &str| all.iter().find(|s| s.0 == k);
    let evidence = |s: Option<&(String, String, String, String)>| match s {
        Some((_, _, file, line)) => cx.evidence(file, Some(line.clone())),
        None => cx.evidence(CONFIG, None),
    };
    let mut out = Vec::new();
    let root = first("permitrootlogin");
    let value = root
        .map_or("prohibit-password", |s| s.1.as_str())
        .to_ascii_lowercase();
    let (outcome, reason) = match value.as_str() {
        "no" => (Pass, "root cannot log in over SSH".to_owned()),
        "prohibit-password" | "without-password" | "forced-commands-only" => (
            Pass,
            format!(
                "root may log in with keys only ({value}{})",
                if root.is_none() { ", the default" } else { "" }
            ),
        ),
        _ => (
            Fail,
            format!("PermitRootLogin {value}: root may log in with a password"),
        ),
    };
    out.push(CheckResult::new(ids[0].0, ids[0].1, outcome, reason).with_file(evidence(root)));
    let pw = first("passwordauthentication");
    let value = pw.map_or("yes", |s| s.1.as_str()).to_ascii_lowercase();
    let (outcome, reason) = if value == "no" {
        (
            Pass,
            "password authentication is off: keys or certificates only".to_owned(),
        )
    } else {
        (
            Fail,
            format!(
                "PasswordAuthentication {value}{}",
                if pw.is_none() { " (the default)" } else { "" }
            ),
        )
    };
    out.push(CheckResult::new(ids[1].0, ids[1].1, outcome, reason).with_file(evidence(pw)));
    let interval = first("clientaliveinterval");
    let count = first("clientalivecountmax");
    let secs = interval
        .and_then(|s| s.1.trim_end_matches('s').parse::<u64>().ok())
        .unwrap_or(0);
    let max = count.and_then(|s| s.1.parse::<u64>().ok()).unwrap_or(3);
    let idle = secs * max;
    let (outcome, reason) = if secs == 0 {
        (
            Fail,
            "no ClientAliveInterval: idle sessions are never ended by the server".to_owned(),
        )
    } else if max == 0 {
        (
            Fail,
            "ClientAliveCountMax 0: since OpenSSH 8.2 this disables ending unresponsive sessions".to_owned(),
        )
    } else if idle > MAX_IDLE {
        (
            Fail,
            format!("idle sessions end after {idle} s, more than {MAX_IDLE} s"),
        )
    } else {
        (Pass, format!("idle sessions end after {idle} s"))
    };
    out.push(CheckResult::new(ids[2].0, ids[2].1, outcome, reason).with_file(evidence(interval)));
    out
}
