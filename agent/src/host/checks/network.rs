//! Routing: whether the host has a default route (`/proc/net/route`, `/proc/net/ipv6_route`), by
//! which traffic to any network leaves it. A control-zone host should have none (NET 1.1); the
//! collector judges the gateway against the declared zones.

use super::{CheckResult, Context};
use crate::host::system::{ipv4_default_routes, ipv6_gateways};
use shoko_proto::CheckOutcome::{Fail, Pass, Unknown};

/// No default route (NET 1.1).
pub fn default_route(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "network.no_default_route";
    const REQ: &[&str] = &["NET 1.1"];
    let v4 = match cx.root.read("/proc/net/route") {
        Ok(t) => t,
        Err(e) => return CheckResult::new(ID, REQ, Unknown, e.to_string()),
    };
    if let Some((iface, gw, line)) = ipv4_default_routes(&v4).first() {
        return CheckResult::new(ID, REQ, Fail, format!("default route via {gw} on {iface}"))
            .with_file(cx.evidence("/proc/net/route", Some(line.trim().to_owned())));
    }
    let v6 = cx.root.read("/proc/net/ipv6_route").unwrap_or_default();
    if let Some(gw) = ipv6_gateways(&v6).first() {
        return CheckResult::new(ID, REQ, Fail, format!("IPv6 default route via {gw}"));
    }
    CheckResult::new(
        ID,
        REQ,
        Pass,
        "no default route: only directly connected or specific routes",
    )
}
