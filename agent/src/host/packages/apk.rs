//! The apk installed database (`/lib/apk/db/installed`) of Alpine: records of `X:value` lines
//! separated by blank lines (P name, V version, A architecture, o origin).

use super::{Package, purl};

/// The packages of an installed database for Alpine `version` (VERSION_ID). Returns the packages
/// and the number of records that were not usable.
pub fn parse(text: &str, version: &str) -> (Vec<Package>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for record in text.split("\n\n").filter(|r| !r.trim().is_empty()) {
        let field = |k: char| {
            record
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
        };
        let (Some(name), Some(ver)) = (field('P'), field('V')) else {
            bad += 1;
            continue;
        };
        let arch = field('A').map(str::to_owned);
        let origin = field('o').map(str::to_owned);
        let distro = format!("alpine-{version}");
        out.push(Package {
            manager: "apk",
            purl: purl(
                "apk",
                "alpine",
                name,
                ver,
                &[("arch", arch.as_deref()), ("distro", Some(&distro))],
            ),
            name: name.to_owned(),
            version: ver.to_owned(),
            arch,
            source: origin.filter(|o| o != name),
            state: None,
        });
    }
    out.sort();
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nC:Q1def=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\n\nP:broken\n";
        let (pkgs, bad) = parse(db, "3.20.3");
        assert_eq!(bad, 1);
        assert_eq!(pkgs[0].name, "libcrypto3");
        assert_eq!(pkgs[0].source.as_deref(), Some("openssl"));
        assert_eq!(
            pkgs[1].purl,
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );
    }
}
