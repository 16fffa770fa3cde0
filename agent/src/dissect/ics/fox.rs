//! Niagara Fox (TCP 1911/4911): the `fox hello` each side sends first is a property list
//! (`key=s:value`) naming the application and version, Java VM, OS, host and, for a station, the
//! station name. The station's hello becomes an identity and software; the Workbench client's, the
//! client's software.

use crate::dissect::reader::text;
use crate::dissect::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Software, Subject};
use shoko_proto::{Identity, Transport};

/// Reads the hello at the start of a direction.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if !s.data.starts_with(b"fox a ") {
        return Want::Done;
    }
    let Some(end) = s.data.windows(3).position(|w| w == b"};;") else {
        return Want::More;
    };
    let body = &s.data[..end];
    if !body.starts_with(b"fox a 0 -1 fox hello") && !body.starts_with(b"fox a 1 -1 fox hello") {
        return Want::Done;
    }
    let mut props = std::collections::BTreeMap::new();
    for line in body.split(|&c| c == b'\n').skip(2).take(64) {
        let Some(eq) = line.iter().position(|&c| c == b'=') else {
            continue;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        let value = value.strip_prefix(b"s:").unwrap_or(value);
        if let (Some(k), Some(v)) = (text(key, 32), text(value, 128)) {
            props.insert(k, v);
        }
    }
    let who = Subject::Ip(s.sender().ip);
    let get = |k: &str| props.get(k).cloned();
    if let Some(app) = get("app.name") {
        out.software(
            f,
            who,
            Software {
                name: format!("Niagara {app}"),
                version: get("app.version"),
                source: "fox-hello",
            },
        );
    }
    if let Some(os) = get("os.name") {
        out.software(
            f,
            who,
            Software {
                name: os,
                version: get("os.version"),
                source: "fox-hello",
            },
        );
    }
    if !s.from_client {
        out.service(
            f,
            s.server.ip,
            Transport::Tcp,
            s.server.port,
            "niagara-fox",
            get("app.version"),
        );
        let mut id = Identity::new("niagara-fox", 90);
        id.vendor = Some("Tridium".into());
        id.product = get("app.name").map(|a| format!("Niagara {a}"));
        id.firmware = get("app.version");
        id.name = get("station.name");
        for (attr, key) in [
            ("host_name", "hostName"),
            ("host_id", "hostId"),
            ("vm", "vm.name"),
            ("os", "os.name"),
            ("os_version", "os.version"),
            ("brand", "brandId"),
        ] {
            if let Some(v) = get(key) {
                id.attributes.insert(attr.into(), v);
            }
        }
        out.identity(f, who, id);
    }
    Want::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::view;

    #[test]
    fn station_hello() {
        let hello = b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\napp.name=s:Station\napp.version=s:3.5.41.1\nos.name=s:QNX\nstation.name=s:Legion_HQ_V4\n};;\n";
        let mut out = Findings::default();
        let f = crate::dissect::ics::tests::frame_ref();
        assert_eq!(dissect(&view(false, &hello[..30]), &f, &mut out), Want::More);
        assert_eq!(dissect(&view(false, hello), &f, &mut out), Want::Done);
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.name.as_deref(), Some("Legion_HQ_V4"));
        assert_eq!(id.firmware.as_deref(), Some("3.5.41.1"));
        assert_eq!(out.software.len(), 2);
        assert_eq!(dissect(&view(false, b"GET / HTTP/1.1"), &f, &mut out), Want::Done);
    }
}
