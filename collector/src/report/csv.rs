//! The report's tables as CSV (RFC 4180, header row first): scores, inventory, changes,
//! vulnerabilities. Every cell is written through [`neutralise`]: names from the network (DHCP
//! vendor classes, device identities, firmware strings) must not become spreadsheet formulas.

use super::{InventoryRow, Report};

/// A table of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// One row per requirement: level, practice, documentary, current period's numbers.
    Scores,
    /// One row per asset.
    Inventory,
    /// One row per change record.
    Changes,
    /// One row per advisory match.
    Vulnerabilities,
}

/// A cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) with a leading apostrophe, as OWASP recommends; other cells as they are.
/// shoko's own importers strip the apostrophe again.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A CSV writer whose every cell is [`neutralise`]d.
struct Writer(csv::Writer<Vec<u8>>);

impl Writer {
    fn new() -> Self {
        Writer(csv::Writer::from_writer(Vec::new()))
    }

    fn write_record<I, T>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0
            .write_record(cells.into_iter().map(|c| neutralise(c.as_ref()).into_owned()))
    }

    fn into_inner(self) -> Result<Vec<u8>, csv::Error> {
        self.0.into_inner().map_err(|e| e.into_error().into())
    }
}

/// A number with up to 3 decimals, or empty.
fn number(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// Writes one table of the report as CSV.
pub fn write(report: &Report, table: Table) -> Result<Vec<u8>, csv::Error> {
    let mut w = Writer::new();
    match table {
        Table::Scores => {
            w.write_record([
                "requirement",
                "title",
                "group",
                "spe",
                "level",
                "practice",
                "documentary",
                "observability",
                "conformance",
                "metric",
                "satisfied",
                "violated",
                "unknown",
            ])?;
            for s in &report.assessment.scores {
                let current = s.periods.first();
                let count = |f: fn(&crate::assess::score::PeriodStats) -> usize| {
                    current.map(|p| f(p).to_string()).unwrap_or_default()
                };
                w.write_record([
                    s.requirement.clone(),
                    s.title.clone(),
                    s.group.clone(),
                    s.spe.clone(),
                    s.level.as_str().to_string(),
                    s.practice.as_str().to_string(),
                    s.documentary.map(|l| l.as_str().to_string()).unwrap_or_default(),
                    number(current.and_then(|p| p.observability)),
                    number(current.and_then(|p| p.conformance)),
                    number(current.and_then(|p| p.metric)),
                    count(|p| p.satisfied),
                    count(|p| p.violated),
                    count(|p| p.unknown),
                ])?;
            }
        }
        Table::Inventory => inventory_rows(&mut w, &report.inventory)?,
        Table::Changes => {
            w.write_record([
                "id",
                "asset_id",
                "kind",
                "subject",
                "old",
                "new",
                "observed_at",
                "status",
            ])?;
            for c in &report.changes {
                w.write_record([
                    c.id.to_string(),
                    c.asset_id.to_string(),
                    c.kind.clone(),
                    c.subject.clone(),
                    c.old_value.clone().unwrap_or_default(),
                    c.new_value.clone().unwrap_or_default(),
                    c.observed_at.to_string(),
                    c.status.clone(),
                ])?;
            }
        }
        Table::Vulnerabilities => {
            w.write_record([
                "asset_id",
                "asset",
                "advisory",
                "feed",
                "cves",
                "known_exploited",
                "product",
                "version",
                "affected",
                "confidence",
            ])?;
            for m in &report.vulnerabilities {
                w.write_record([
                    m.asset_id.to_string(),
                    m.asset.clone(),
                    m.advisory.clone(),
                    m.feed.as_str().to_string(),
                    m.cves.join(" "),
                    m.known_exploited.join(" "),
                    m.product.clone(),
                    m.version.clone(),
                    m.affected.clone(),
                    format!("{:.2}", m.confidence),
                ])?;
            }
        }
    }
    w.into_inner()
}

/// The inventory rows as CSV (the report's table, and the web UI's download).
pub fn inventory(rows: &[InventoryRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = Writer::new();
    inventory_rows(&mut w, rows)?;
    w.into_inner()
}

fn inventory_rows(w: &mut Writer, rows: &[InventoryRow]) -> Result<(), csv::Error> {
    w.write_record([
        "id",
        "key",
        "vendor",
        "model",
        "firmware",
        "zone",
        "class",
        "ips",
        "protocols",
        "last_seen",
    ])?;
    for a in rows {
        w.write_record([
            a.id.to_string(),
            a.key.clone(),
            a.vendor.clone(),
            a.model.clone(),
            a.firmware.clone(),
            a.zone.clone(),
            a.class.clone(),
            a.ips.join(" "),
            a.protocols.join(" "),
            a.last_seen.to_string(),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_nothing_else_changes() {
        for (cell, written) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("1756-ENBT/A", "1756-ENBT/A"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), written);
        }
    }
}
