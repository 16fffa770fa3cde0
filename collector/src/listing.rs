//! Text rendering of the asset list for the terminal.

use crate::store::AssetView;
use std::fmt::Write;

/// Renders assets as an aligned table: id, MAC, IPs, services, last seen.
pub fn asset_table(assets: &[AssetView]) -> String {
    let rows: Vec<[String; 5]> = assets
        .iter()
        .map(|a| {
            let mac = a
                .macs
                .first()
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into());
            let mac = if a.router { format!("{mac} (router)") } else { mac };
            let ips = if a.ips.is_empty() {
                "-".into()
            } else {
                a.ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            };
            let services = if a.services.is_empty() {
                "-".into()
            } else {
                a.services
                    .iter()
                    .map(|s| {
                        let proto = s.protocol.as_deref().unwrap_or("?");
                        format!("{}/{}({proto})", s.transport.as_str(), s.port)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            [a.id.to_string(), mac, ips, services, a.last_seen.to_string()]
        })
        .collect();
    let header = ["ID", "MAC", "IP", "SERVICES", "LAST SEEN"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(l, "{c:<w$}  ", w = widths[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    out
}
