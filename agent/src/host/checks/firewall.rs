//! Host firewall with a default-deny inbound policy, from its saved configuration: nftables
//! (`/etc/nftables.conf`), iptables-persistent (`/etc/iptables/rules.v4`), ufw or firewalld.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// A host firewall drops inbound traffic by default (NET 1.6, COMP 1.1).
pub fn default_deny(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "firewall.default_deny_inbound";
    const REQ: &[&str] = &["NET 1.6", "COMP 1.1"];
    let pass = |path: &str, line: &str, what: &str| {
        CheckResult::new(ID, REQ, Pass, what.to_owned())
            .with_file(cx.evidence(path, Some(line.trim().to_owned())))
    };
    if let Ok(text) = cx.root.read("/etc/nftables.conf") {
        // An input hook chain whose policy is drop.
        let mut in_input = false;
        for line in text.lines() {
            let l = line.trim();
            if l.contains("hook input") {
                in_input = true;
            }
            if in_input && l.contains("policy drop") {
                return pass("/etc/nftables.conf", l, "nftables input chain drops by default");
            }
            if l.starts_with('}') {
                in_input = false;
            }
        }
    }
    for path in ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"] {
        if let Ok(text) = cx.root.read(path)
            && let Some(l) = text
                .lines()
                .find(|l| l.starts_with(":INPUT DROP") || l.starts_with(":INPUT REJECT"))
        {
            return pass(path, l, "iptables INPUT policy drops by default");
        }
    }
    let ufw_on = cx
        .root
        .read("/etc/ufw/ufw.conf")
        .is_ok_and(|t| t.lines().any(|l| l.trim() == "ENABLED=yes"));
    if ufw_on
        && let Ok(t) = cx.root.read("/etc/default/ufw")
        && let Some(l) = t.lines().find(|l| {
            l.trim() == "DEFAULT_INPUT_POLICY=\"DROP\"" || l.trim() == "DEFAULT_INPUT_POLICY=\"REJECT\""
        })
    {
        return pass("/etc/default/ufw", l, "ufw enabled, inbound policy drop");
    }
    if cx.installed("firewalld")
        && let Ok(t) = cx.root.read("/etc/firewalld/firewalld.conf")
        && let Some(l) = t.lines().find(|l| {
            l.starts_with("DefaultZone=") && matches!(l.trim(), "DefaultZone=drop" | "DefaultZone=block")
        })
    {
        return pass(
            "/etc/firewalld/firewalld.conf",
            l,
            "firewalld default zone drops inbound",
        );
    }
    CheckResult::new(
        ID,
        REQ,
        Fail,
        "no host firewall configuration with a default-deny inbound policy (nftables, iptables, ufw, firewalld)",
    )
}
