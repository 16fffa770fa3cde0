//! Generates the agent's OUI table from the oui-data crate's IEEE registries (MA-L, MA-M, MA-S,
//! CID, IAB) in a form without pointers: sorted integer keys, name offsets and one string. The
//! crate's own map holds about 200,000 pointers that a position-independent executable relocates
//! at every start, which would cost the agent about 8 MB of resident memory.

use std::fmt::Write;

fn main() {
    let mut entries: Vec<(u64, &str)> = oui_data::OUI_ENTRIES
        .entries()
        .filter_map(|(prefix, data)| {
            let digits = u64::try_from(prefix.len()).ok()?;
            let value = u64::from_str_radix(prefix, 16).ok()?;
            Some(((digits << 40) | value, data.organization()))
        })
        .collect();
    entries.sort();
    let (mut keys, mut starts, mut names) = (String::new(), String::new(), String::new());
    for (key, name) in &entries {
        let _ = write!(keys, "{key},");
        let _ = write!(starts, "{},", names.len());
        names.push_str(name);
    }
    let _ = write!(starts, "{}", names.len());
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("oui_table.rs");
    let code = format!(
        "/// Keys: hex digit count << 40 | prefix value, sorted.\n\
         static KEYS: [u64; {n}] = [{keys}];\n\
         /// Start of each organisation name in NAMES (one more than KEYS: the end).\n\
         static STARTS: [u32; {m}] = [{starts}];\n\
         /// Organisation names, concatenated.\n\
         static NAMES: &str = {names:?};\n",
        n = entries.len(),
        m = entries.len() + 1,
    );
    std::fs::write(out, code).expect("write oui_table.rs");
    println!("cargo::rerun-if-changed=build.rs");
}
