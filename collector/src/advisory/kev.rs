//! The CISA Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`).

use super::KnownExploited;
use serde_json::Value;

/// Reads the catalog's entries.
pub fn parse(doc: &Value) -> Result<Vec<KnownExploited>, String> {
    let list = doc["vulnerabilities"]
        .as_array()
        .ok_or("vulnerabilities is not a list")?;
    let field = |v: &Value, k: &str| v[k].as_str().map(str::to_string);
    list.iter()
        .map(|v| {
            Ok(KnownExploited {
                cve: field(v, "cveID").ok_or("an entry without cveID")?,
                vendor: field(v, "vendorProject").unwrap_or_default(),
                product: field(v, "product").unwrap_or_default(),
                date_added: field(v, "dateAdded").unwrap_or_default(),
                due_date: field(v, "dueDate"),
                ransomware: field(v, "knownRansomwareCampaignUse"),
            })
        })
        .collect()
}
