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
        let origin = field('o').map(str::to_owned).filter(|o| o != name);
        let distro = format!("alpine-{version}");
        out.push(Package {
            manager: "apk",
            purl: purl(
                "apk",
                "alpine",
                name,
                ver,
                &[
                    ("arch", arch.as_deref()),
                    ("distro", Some(&distro)),
                    ("upstream", origin.as_deref()),
                ],
            ),
            name: name.to_owned(),
            version: ver.to_owned(),
            arch,
            source: origin,
            state: None,
        });
    }
    out.sort();
    (out, bad)
}

/// One parsed APK version: `1.2.3a_rc1_p2~hash-r4`.
#[derive(Debug, PartialEq)]
struct ApkVersion<'a> {
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    suffixes: Vec<(u8, &'a str)>,
    revision: &'a str,
}

/// Rank of a suffix; a version without one ranks between pre-releases and post-releases.
const NO_SUFFIX: u8 = 4;
const SUFFIXES: [(&str, u8); 9] = [
    ("alpha", 0),
    ("beta", 1),
    ("pre", 2),
    ("rc", 3),
    ("cvs", 5),
    ("svn", 6),
    ("git", 7),
    ("hg", 8),
    ("p", 9),
];

fn parse_version(v: &str) -> Option<ApkVersion<'_>> {
    let (v, revision) = match v.rsplit_once("-r") {
        Some((v, r)) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => (v, r),
        _ => (v, "0"),
    };
    let v = v.split_once('~').map_or(v, |(v, _hash)| v);
    let (main, suffixes) = v.split_once('_').map_or((v, ""), |(m, s)| (m, s));
    let (main, letter) = match main.as_bytes().last() {
        Some(&c) if c.is_ascii_lowercase() => (&main[..main.len() - 1], Some(c)),
        _ => (main, None),
    };
    let numbers: Vec<&str> = main.split('.').collect();
    if numbers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let suffixes = suffixes
        .split('_')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let digits = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
            let (name, n) = s.split_at(digits);
            let rank = SUFFIXES.iter().find(|(k, _)| *k == name)?.1;
            n.bytes().all(|b| b.is_ascii_digit()).then_some((rank, n))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ApkVersion {
        numbers,
        letter,
        suffixes,
        revision,
    })
}

/// Orders two digit strings as numbers (any length).
fn numeric(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// APK version ordering (apk-tools): dot-separated numbers (after the first, a component with a
/// leading zero compares as a fraction), an optional letter, suffixes (`_alpha` < `_beta` <
/// `_pre` < `_rc` < none < `_cvs` < `_svn` < `_git` < `_hg` < `_p`), then the `-rN` revision.
/// `None` when either is not a version.
pub fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::Equal;
    let (a, b) = (parse_version(a)?, parse_version(b)?);
    for (i, (x, y)) in a.numbers.iter().zip(&b.numbers).enumerate() {
        let o = if i > 0 && (x.starts_with('0') || y.starts_with('0')) {
            x.trim_end_matches('0').cmp(y.trim_end_matches('0'))
        } else {
            numeric(x, y)
        };
        if o != Equal {
            return Some(o);
        }
    }
    let o = a
        .numbers
        .len()
        .cmp(&b.numbers.len())
        .then(a.letter.cmp(&b.letter));
    if o != Equal {
        return Some(o);
    }
    for i in 0..a.suffixes.len().max(b.suffixes.len()) {
        let x = a.suffixes.get(i).copied().unwrap_or((NO_SUFFIX, ""));
        let y = b.suffixes.get(i).copied().unwrap_or((NO_SUFFIX, ""));
        let o = x.0.cmp(&y.0).then_with(|| numeric(x.1, y.1));
        if o != Equal {
            return Some(o);
        }
    }
    Some(numeric(a.revision, b.revision))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ordering() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cases = [
            ("3.3.2-r0", "3.3.2-r1", Less),
            ("3.3.10-r0", "3.3.9-r5", Greater),
            ("1.2", "1.2.1", Less),
            ("1.2a", "1.2", Greater),
            ("1.2_rc1", "1.2", Less),
            ("1.2_p1", "1.2", Greater),
            ("1.2_alpha2", "1.2_beta1", Less),
            ("2024.85-r0", "2024.86-r0", Less),
            ("1.01", "1.1", Less),
            ("1.0_git20240101-r0", "1.0-r3", Greater),
            ("1.2.5-r0", "1.2.5-r0", Equal),
        ];
        for (a, b, o) in cases {
            assert_eq!(compare(a, b), Some(o), "{a} vs {b}");
        }
        assert_eq!(compare("not a version", "1.0"), None);
        assert_eq!(compare("1.0_weird", "1.0"), None);
    }

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
