//! Wireless security of the host's configured networks (NetworkManager connection files and
//! wpa_supplicant): WPA-Enterprise passes; open, WEP and pre-shared keys fail.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, NotApplicable, Pass};

const NM: &str = "/etc/NetworkManager/system-connections";

/// Every configured wireless network uses enterprise authentication (NET 2.1).
pub fn security(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "wireless.enterprise_security";
    const REQ: &[&str] = &["NET 2.1"];
    let mut weak = Vec::new();
    let mut first_weak: Option<(String, String)> = None;
    let mut seen = 0;
    for path in cx.root.files(NM, &[""]) {
        let name = path.rsplit('/').next().unwrap_or_default();
        let Ok(text) = cx.root.read(&path) else { continue };
        if !text
            .lines()
            .any(|l| l.trim() == "type=wifi" || l.trim() == "type=802-11-wireless")
        {
            continue;
        }
        seen += 1;
        let key_mgmt = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("key-mgmt="))
            .unwrap_or("none");
        if key_mgmt != "wpa-eap" && key_mgmt != "wpa-eap-suite-b-192" {
            weak.push(format!("{name}: key-mgmt {key_mgmt}"));
            first_weak.get_or_insert((path.clone(), format!("key-mgmt={key_mgmt}")));
        }
    }
    for path in [
        "/etc/wpa_supplicant/wpa_supplicant.conf",
        "/etc/wpa_supplicant.conf",
    ] {
        let Ok(text) = cx.root.read(path) else { continue };
        for block in text.split("network=").skip(1) {
            seen += 1;
            let key_mgmt = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("key_mgmt="))
                .unwrap_or("WPA-PSK");
            if !key_mgmt.contains("WPA-EAP") {
                weak.push(format!("{path}: key_mgmt {key_mgmt}"));
                first_weak.get_or_insert((path.to_owned(), format!("key_mgmt={key_mgmt}")));
            }
        }
    }
    match (seen, weak.is_empty()) {
        (0, _) => CheckResult::new(ID, REQ, NotApplicable, "no wireless network configured"),
        (_, true) => CheckResult::new(
            ID,
            REQ,
            Pass,
            format!("{seen} wireless network(s), all WPA-Enterprise"),
        ),
        (_, false) => CheckResult::new(
            ID,
            REQ,
            Fail,
            format!("weak wireless security: {}", weak.join("; ")),
        )
        .with_file(first_weak.and_then(|(path, line)| cx.evidence(&path, Some(line)))),
    }
}
