//! Text banners at the start of TCP streams: SSH identification strings, HTTP Server and
//! User-Agent headers, FTP/SMTP greetings, Telnet negotiation, and the VNC (RFB) version.

use super::reader::text;
use super::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Software, Subject};
use shoko_proto::Transport;

/// The first line of `data`, if complete.
fn first_line(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().take(512).position(|&c| c == b'\n')?;
    Some(data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]))
}

/// Splits `product/1.2.3 (comment)` or `OpenSSH_8.4p1` into name and version.
pub fn product_version(s: &str) -> (String, Option<String>) {
    let token = s.split_whitespace().next().unwrap_or(s);
    for sep in ['/', '_', '-'] {
        if let Some((name, version)) = token.split_once(sep)
            && version.starts_with(|c: char| c.is_ascii_digit())
        {
            return (name.to_owned(), Some(version.to_owned()));
        }
    }
    (token.to_owned(), None)
}

fn service(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings, protocol: &str, banner: Option<String>) {
    let (ip, port) = (s.server.ip, s.server.port);
    out.service(f, ip, Transport::Tcp, port, protocol, banner);
}

/// SSH identification string (`SSH-2.0-OpenSSH_9.2p1 Debian-2`), either side.
pub fn ssh(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if !s.data.starts_with(b"SSH-") {
        return Want::Done;
    }
    let Some(line) = first_line(s.data).and_then(|l| text(l, 255)) else {
        return Want::More;
    };
    let software = line.splitn(3, '-').nth(2).unwrap_or("").to_owned();
    let (name, version) = product_version(&software);
    let sender = s.sender();
    if s.from_client {
        let sw = Software {
            name,
            version,
            source: "ssh-client-banner",
        };
        out.software(f, Subject::Ip(sender.ip), sw);
    } else {
        service(s, f, out, "ssh", Some(line));
        out.software(
            f,
            Subject::Ip(sender.ip),
            Software {
                name,
                version,
                source: "ssh-banner",
            },
        );
    }
    Want::Done
}

const METHODS: [&str; 8] = [
    "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ",
];

/// HTTP/1.x: the server's `Server` header, the client's `User-Agent`.
pub fn http(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    let response = s.data.starts_with(b"HTTP/1.");
    let request = METHODS.iter().any(|m| s.data.starts_with(m.as_bytes()));
    if !response && !request {
        return Want::Done;
    }
    let head_end = s.data.windows(4).position(|w| w == b"\r\n\r\n");
    let head = &s.data[..head_end.unwrap_or(s.data.len())];
    let wanted = if response { "server" } else { "user-agent" };
    let value = head.split(|&c| c == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&c| c == b':')?;
        std::str::from_utf8(&line[..colon])
            .ok()
            .filter(|k| k.trim().eq_ignore_ascii_case(wanted))
            .and_then(|_| text(&line[colon + 1..], 256))
    });
    if value.is_none() && head_end.is_none() {
        return Want::More;
    }
    if response {
        service(s, f, out, "http", value.clone());
        if let Some(v) = value {
            let (name, version) = product_version(&v);
            out.software(
                f,
                Subject::Ip(s.server.ip),
                Software {
                    name,
                    version,
                    source: "http-server",
                },
            );
        }
    } else if let Some(v) = value {
        let sw = Software {
            name: v,
            version: None,
            source: "http-user-agent",
        };
        out.software(f, Subject::Ip(s.client.ip), sw);
    }
    Want::Done
}

/// Greeting of an FTP or SMTP server (`220 ...`), named by its port or its text.
pub fn greeting(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if s.from_client || !s.data.starts_with(b"220") {
        return Want::Done;
    }
    let Some(line) = first_line(s.data).and_then(|l| text(l, 255)) else {
        return Want::More;
    };
    let upper = line.to_ascii_uppercase();
    let protocol = match s.server.port {
        21 => "ftp",
        25 | 587 => "smtp",
        _ if upper.contains("FTP") => "ftp",
        _ if upper.contains("SMTP") => "smtp",
        _ => return Want::Done,
    };
    service(s, f, out, protocol, Some(line));
    Want::Done
}

/// Telnet: option negotiation (IAC) from the server, and its login banner text.
pub fn telnet(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if s.from_client || s.data.first() != Some(&0xff) || !matches!(s.data.get(1), Some(0xfb..=0xfe)) {
        return Want::Done;
    }
    // Strip IAC sequences (3 bytes each) and keep the first printable line, if any arrived.
    let mut plain = Vec::new();
    let mut i = 0;
    while i < s.data.len() {
        if s.data[i] == 0xff {
            i += 3;
        } else {
            plain.push(s.data[i]);
            i += 1;
        }
    }
    let banner = plain.split(|&c| c == b'\n').find_map(|l| text(l, 128));
    service(s, f, out, "telnet", banner);
    Want::Done
}

/// VNC server greeting `RFB 003.008\n`.
pub fn rfb(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if !s.from_client && s.data.len() >= 12 && s.data.starts_with(b"RFB ") {
        service(s, f, out, "vnc", text(&s.data[..11], 11));
    }
    Want::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_products() {
        assert_eq!(
            product_version("nginx/0.8.53"),
            ("nginx".into(), Some("0.8.53".into()))
        );
        assert_eq!(
            product_version("OpenSSH_8.4p1 Debian-5"),
            ("OpenSSH".into(), Some("8.4p1".into()))
        );
        assert_eq!(
            product_version("Cisco-1.25"),
            ("Cisco".into(), Some("1.25".into()))
        );
        assert_eq!(product_version("Apache"), ("Apache".into(), None));
    }
}
