//! Version ranges as advisories write them, and the orderings to compare versions with.
//!
//! Package versions use their distribution's ordering (Debian, RPM, APK; the agent's
//! implementations). Firmware versions have no standard: they are compared segment by segment
//! (`V2.9.1`, `4.003`, `V13.2 SP1`): numbers numerically, words alphabetically, a leading `V`
//! ignored. Ranges are read from the CSAF `vers:` syntax (`vers:all/<V13.2`,
//! `vers:generic/>=2.0|<2.9`), operators (`< 6.53`, `<=4.003`, `>= 2.0, < 2.9`), and prose
//! (`All versions`, `all versions prior to V2.9`, `V2.0 to V2.8`, `versions before 3.1`).

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A range of affected versions: from `introduced` (inclusive) up to `fixed` (exclusive) or
/// `last_affected` (inclusive); no bound means unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// First affected version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// First version not affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last affected version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
}

/// How a range was read, which sets how much a match on it is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// From structured data (`vers:`, OSV events, a tracker's fixed version, an exact version).
    Structured,
    /// From operators (`< 6.53`).
    Operators,
    /// From prose (`all versions prior to V2.9`).
    Prose,
}

impl Reading {
    /// Trust in a range read this way.
    pub fn confidence(self) -> f64 {
        match self {
            Reading::Structured => 1.0,
            Reading::Operators => 0.95,
            Reading::Prose => 0.8,
        }
    }
}

impl Range {
    /// Every version.
    pub fn all() -> Self {
        Range::default()
    }

    /// True when `version` is in the range under `cmp` (a bound `cmp` cannot order excludes).
    pub fn contains(&self, version: &str, cmp: impl Fn(&str, &str) -> Option<Ordering>) -> bool {
        let ge = |b: &Option<String>| {
            b.as_deref()
                .is_none_or(|b| matches!(cmp(version, b), Some(Ordering::Greater | Ordering::Equal)))
        };
        let lt = |b: &Option<String>| {
            b.as_deref()
                .is_none_or(|b| cmp(version, b) == Some(Ordering::Less))
        };
        let le = |b: &Option<String>| {
            b.as_deref()
                .is_none_or(|b| matches!(cmp(version, b), Some(Ordering::Less | Ordering::Equal)))
        };
        ge(&self.introduced) && lt(&self.fixed) && le(&self.last_affected)
    }
}

/// One comparable part of a firmware version.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part<'a> {
    Number(u64),
    Word(&'a str),
}

fn parts(v: &str) -> Vec<Part<'_>> {
    let v = v.trim();
    let v = v
        .strip_prefix(['V', 'v'])
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(v);
    let mut out = Vec::new();
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits > 0 {
            out.push(Part::Number(rest[..digits].parse().unwrap_or(u64::MAX)));
            rest = &rest[digits..];
            continue;
        }
        let word = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        if word > 0 {
            out.push(Part::Word(&rest[..word]));
            rest = &rest[word..];
        } else {
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
        }
    }
    out
}

/// Orders firmware versions segment by segment (`4.003` < `4.10`, `V2.9` < `V2.9.1` <
/// `V2.10`); none when either has no number at all.
pub fn compare_firmware(a: &str, b: &str) -> Option<Ordering> {
    let (pa, pb) = (parts(a), parts(b));
    let numbered = |p: &[Part<'_>]| p.iter().any(|x| matches!(x, Part::Number(_)));
    if !numbered(&pa) || !numbered(&pb) {
        return None;
    }
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x, y) {
            (Part::Word(x), Part::Word(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    // More parts is newer (2.9.1 > 2.9, V3.0 SP1 > V3.0) unless they mark a pre-release.
    let newer = |extra: &Part<'_>| !matches!(extra, Part::Word(w) if PRE_RELEASE.contains(&w.to_ascii_lowercase().as_str()));
    Some(match pa.len().cmp(&pb.len()) {
        Ordering::Greater if newer(&pa[pb.len()]) => Ordering::Greater,
        Ordering::Greater => Ordering::Less,
        Ordering::Less if newer(&pb[pa.len()]) => Ordering::Less,
        Ordering::Less => Ordering::Greater,
        Ordering::Equal => Ordering::Equal,
    })
}

/// Words that make a version earlier than the same version without them.
const PRE_RELEASE: &[&str] = &["alpha", "beta", "rc", "pre"];

/// Reads the ranges a version text names, with how it was read; none when it names no range.
pub fn parse_ranges(text: &str) -> Option<(Vec<Range>, Reading)> {
    let t = text.trim();
    if let Some(spec) = t.strip_prefix("vers:") {
        // vers:<scheme>/<constraint>|<constraint>...
        let (_, constraints) = spec.split_once('/')?;
        return operators(&constraints.split('|').collect::<Vec<_>>()).map(|r| (r, Reading::Structured));
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with(['<', '>', '=']) {
        let pieces: Vec<&str> = t.split([',', '|']).collect();
        return operators(&pieces).map(|r| (r, Reading::Operators));
    }
    prose(t, &lower).map(|r| (r, Reading::Prose))
}

/// `<V13.2`, `>=2.0`, `<=4.003`, `=1.2`, `*` constraints, joined by "and" within one range.
fn operators(constraints: &[&str]) -> Option<Vec<Range>> {
    let mut range = Range::default();
    let mut ranges = Vec::new();
    for c in constraints.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        if c == "*" {
            return Some(vec![Range::all()]);
        }
        let (op, v) = if let Some(v) = c.strip_prefix("<=") {
            ("<=", v)
        } else if let Some(v) = c.strip_prefix(">=") {
            (">=", v)
        } else if let Some(v) = c.strip_prefix('<') {
            ("<", v)
        } else if let Some(v) = c.strip_prefix('>') {
            (">", v)
        } else if let Some(v) = c.strip_prefix('=') {
            ("=", v)
        } else {
            ("=", c)
        };
        let v = v.trim().to_string();
        if v.is_empty() {
            return None;
        }
        match op {
            "<" => range.fixed = Some(v),
            "<=" => range.last_affected = Some(v),
            ">=" | ">" => {
                // A new lower bound after an upper one starts another range (`<1.0|>=2.0|<2.5`).
                if range.fixed.is_some() || range.last_affected.is_some() {
                    ranges.push(std::mem::take(&mut range));
                }
                range.introduced = Some(v);
            }
            _ => ranges.push(Range {
                introduced: Some(v.clone()),
                last_affected: Some(v),
                fixed: None,
            }),
        }
    }
    if range != Range::default() {
        ranges.push(range);
    }
    (!ranges.is_empty()).then_some(ranges)
}

/// The prose forms ICS advisories use.
fn prose(text: &str, lower: &str) -> Option<Vec<Range>> {
    // The version after a marker: its first word, with a service pack or update that follows.
    let after = |marker: &str| -> Option<String> {
        let at = lower.find(marker)? + marker.len();
        let mut words = text[at..]
            .split_whitespace()
            .map(|w| w.trim_end_matches(['.', ',', ')', ';']));
        let mut v = words.next()?.to_string();
        if let Some(next) = words.next() {
            let l = next.to_ascii_lowercase();
            if ["sp", "update", "hf", "patch"]
                .iter()
                .any(|p| l.starts_with(p) && l[p.len()..].chars().all(|c| c.is_ascii_digit()))
            {
                v = format!("{v} {next}");
            }
        }
        v.chars().any(|c| c.is_ascii_digit()).then_some(v)
    };
    for marker in [
        "prior to",
        "before",
        "older than",
        "earlier than",
        "below",
        "lower than",
        "< ",
    ] {
        if let Some(v) = after(marker) {
            let introduced = lower
                .find(" from ")
                .and_then(|i| text[i + 6..].split_whitespace().next())
                .map(str::to_string);
            return Some(vec![Range {
                introduced,
                fixed: Some(v),
                last_affected: None,
            }]);
        }
    }
    for marker in [
        "up to and including",
        "up to",
        "through",
        "and earlier",
        "and prior",
        "or earlier",
        "and older",
        "and below",
    ] {
        if let Some(i) = lower.find(marker) {
            let v = if marker.starts_with("up to") || marker == "through" {
                after(marker)?
            } else {
                // "V3.1 and earlier": the version before the marker.
                text[..i].split_whitespace().last()?.to_string()
            };
            return Some(vec![Range {
                last_affected: Some(v),
                ..Default::default()
            }]);
        }
    }
    if let Some(i) = lower.find(" to ") {
        let from = text[..i].split_whitespace().last()?;
        let to = text[i + 4..].split_whitespace().next()?;
        if from.chars().any(|c| c.is_ascii_digit()) && to.chars().any(|c| c.is_ascii_digit()) {
            return Some(vec![Range {
                introduced: Some(from.to_string()),
                last_affected: Some(to.trim_end_matches(['.', ',']).to_string()),
                fixed: None,
            }]);
        }
    }
    if lower.starts_with("all versions") || lower == "all" {
        return Some(vec![Range::all()]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(introduced: Option<&str>, fixed: Option<&str>, last: Option<&str>) -> Range {
        Range {
            introduced: introduced.map(str::to_string),
            fixed: fixed.map(str::to_string),
            last_affected: last.map(str::to_string),
        }
    }

    #[test]
    fn firmware_versions_order_by_segments() {
        use Ordering::*;
        for (a, b, o) in [
            ("4.003", "4.10", Less),
            ("V2.9", "V2.9.1", Less),
            ("V2.9.1", "V2.10", Less),
            ("V13.2", "13.2", Equal),
            ("20.011", "20.11", Equal),
            ("V3.0 SP1", "V3.0 SP2", Less),
            ("V3.0", "V3.0 SP1", Less),
            ("2.0 beta", "2.0", Less),
            ("2.1b", "2.1a", Greater),
        ] {
            assert_eq!(compare_firmware(a, b), Some(o), "{a} vs {b}");
        }
        assert_eq!(compare_firmware("unknown", "1.0"), None);
    }

    #[test]
    fn ranges_from_vers_operators_and_prose() {
        let cases: Vec<(&str, Vec<Range>, Reading)> = vec![
            (
                "vers:all/<V13.2",
                vec![r(None, Some("V13.2"), None)],
                Reading::Structured,
            ),
            (
                "vers:generic/>=2.0|<2.9",
                vec![r(Some("2.0"), Some("2.9"), None)],
                Reading::Structured,
            ),
            ("vers:all/*", vec![Range::all()], Reading::Structured),
            (
                "vers:intdot/<1.0|>=2.0|<2.5",
                vec![r(None, Some("1.0"), None), r(Some("2.0"), Some("2.5"), None)],
                Reading::Structured,
            ),
            ("< 6.53", vec![r(None, Some("6.53"), None)], Reading::Operators),
            ("<=4.003", vec![r(None, None, Some("4.003"))], Reading::Operators),
            (
                ">= 2.0, < 2.9",
                vec![r(Some("2.0"), Some("2.9"), None)],
                Reading::Operators,
            ),
            ("All versions", vec![Range::all()], Reading::Prose),
            (
                "All versions prior to V2.9",
                vec![r(None, Some("V2.9"), None)],
                Reading::Prose,
            ),
            (
                "all versions < V3.0 SP1",
                vec![r(None, Some("V3.0 SP1"), None)],
                Reading::Prose,
            ),
            (
                "Firmware versions before 3.1.",
                vec![r(None, Some("3.1"), None)],
                Reading::Prose,
            ),
            (
                "V2.0 to V2.8",
                vec![r(Some("V2.0"), None, Some("V2.8"))],
                Reading::Prose,
            ),
            (
                "20.011 and earlier",
                vec![r(None, None, Some("20.011"))],
                Reading::Prose,
            ),
            (
                "versions up to and including 7.2",
                vec![r(None, None, Some("7.2"))],
                Reading::Prose,
            ),
        ];
        for (text, ranges, reading) in cases {
            assert_eq!(parse_ranges(text), Some((ranges, reading)), "{text}");
        }
        assert_eq!(parse_ranges("see vendor notice"), None);
        assert_eq!(parse_ranges("vers:all/<"), None);
    }

    #[test]
    fn ranges_contain_versions() {
        let below = r(None, Some("V2.9"), None);
        assert!(below.contains("V2.8.4", compare_firmware));
        assert!(!below.contains("2.9", compare_firmware));
        assert!(!below.contains("garbage", compare_firmware));
        let span = r(Some("V2.0"), None, Some("V2.8"));
        assert!(span.contains("2.8", compare_firmware));
        assert!(!span.contains("1.9", compare_firmware));
        assert!(Range::all().contains("anything", compare_firmware));
    }
}
