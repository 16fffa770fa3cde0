//! Cleartext servers (Telnet, rsh/rlogin, TFTP, FTP) and remote-access software (TeamViewer,
//! AnyDesk, RustDesk, VNC servers, xrdp) installed or listening.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// (package, what it is) of cleartext servers.
const CLEARTEXT_PACKAGES: &[(&str, &str)] = &[
    ("telnetd", "Telnet server"),
    ("inetutils-telnetd", "Telnet server"),
    ("telnet-server", "Telnet server"),
    ("rsh-server", "rsh/rlogin server"),
    ("rsh-redone-server", "rsh/rlogin server"),
    ("tftpd-hpa", "TFTP server"),
    ("tftp-server", "TFTP server"),
    ("atftpd", "TFTP server"),
    ("vsftpd", "FTP server"),
    ("proftpd-basic", "FTP server"),
    ("pure-ftpd", "FTP server"),
];

/// (port, protocol) of cleartext services.
const CLEARTEXT_PORTS: &[(u16, &str)] = &[
    (23, "telnet"),
    (21, "ftp"),
    (69, "tftp"),
    (512, "rexec"),
    (513, "rlogin"),
    (514, "rsh"),
];

/// Remote-access software packages.
const REMOTE_ACCESS: &[&str] = &[
    "teamviewer",
    "anydesk",
    "rustdesk",
    "x11vnc",
    "tigervnc-server",
    "tigervnc-standalone-server",
    "tightvncserver",
    "realvnc-vnc-server",
    "xrdp",
];

/// Ports of remote-access servers.
const REMOTE_ACCESS_PORTS: &[(u16, &str)] = &[
    (3389, "RDP"),
    (5900, "VNC"),
    (5901, "VNC"),
    (5938, "TeamViewer"),
    (7070, "AnyDesk"),
    (21116, "RustDesk"),
];
/// Name parts of remote-access units (`xrdp.service`, `vncserver@:1.service` ...).
const REMOTE_ACCESS_UNITS: &[&str] = &["teamviewer", "anydesk", "rustdesk", "vnc", "xrdp"];

/// Telnet, rsh, TFTP or FTP servers installed or listening (COMP 1.1).
pub fn insecure_servers(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "services.cleartext_servers";
    const REQ: &[&str] = &["COMP 1.1", "NET 1.7"];
    let mut found: Vec<String> = CLEARTEXT_PACKAGES
        .iter()
        .filter(|(p, _)| cx.installed(p))
        .map(|(p, what)| format!("{what} package {p} installed"))
        .collect();
    for s in cx.listening {
        if let Some((_, proto)) = CLEARTEXT_PORTS.iter().find(|(port, _)| *port == s.port) {
            found.push(format!("{proto} port {} listening on {}", s.port, s.address));
        }
    }
    if found.is_empty() {
        CheckResult::new(
            ID,
            REQ,
            Pass,
            "no Telnet, rsh, TFTP or FTP server installed or listening",
        )
    } else {
        CheckResult::new(ID, REQ, Fail, found.join("; "))
    }
}

/// Remote-access software installed, its units enabled or running, or its ports listening
/// (NET 3.1): a finding to compare with the allow-list.
pub fn remote_access(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "services.remote_access_software";
    const REQ: &[&str] = &["NET 3.1"];
    let mut found: Vec<String> = REMOTE_ACCESS
        .iter()
        .filter(|p| cx.installed(p))
        .map(|p| p.to_string())
        .collect();
    found.extend(cx.units_matching(REMOTE_ACCESS_UNITS));
    for s in cx.listening {
        if let Some((_, what)) = REMOTE_ACCESS_PORTS.iter().find(|(port, _)| *port == s.port) {
            found.push(format!("{what} port {} listening on {}", s.port, s.address));
        }
    }
    if found.is_empty() {
        CheckResult::new(ID, REQ, Pass, "no remote-access software installed")
    } else {
        CheckResult::new(
            ID,
            REQ,
            Fail,
            format!("remote-access software: {}", found.join(", ")),
        )
    }
}
