//! Text helpers shared by the industrial dissectors: fixed-width space- or NUL-padded fields and
//! length-prefixed strings.

use crate::dissect::reader::text;

/// A fixed-width text field: padding (NUL or space) and control characters removed.
pub fn field(b: &[u8]) -> Option<String> {
    text(b, b.len().min(256))
}

/// A length-prefixed ("short") string: one length byte, then the characters.
pub fn short_string(b: &[u8]) -> Option<(String, &[u8])> {
    let (&n, rest) = b.split_first()?;
    let s = rest.get(..usize::from(n))?;
    Some((text(s, 256).unwrap_or_default(), &rest[usize::from(n)..]))
}

/// The printable runs of at least `min` characters between NULs or other non-printable bytes,
/// trimmed, at most `max` of them.
pub fn printable_runs(b: &[u8], min: usize, max: usize) -> Vec<String> {
    b.split(|c| !(0x20..0x7f).contains(c))
        .map(|run| String::from_utf8_lossy(run).trim().to_owned())
        .filter(|run| run.len() >= min)
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_short_strings() {
        assert_eq!(
            field(b"6ES7 315-2EH14-0AB0 \0\0").as_deref(),
            Some("6ES7 315-2EH14-0AB0")
        );
        assert_eq!(field(b"\0\0\0"), None);
        let (s, rest) = short_string(b"\x03abcde").unwrap();
        assert_eq!((s.as_str(), rest), ("abc", &b"de"[..]));
        assert_eq!(short_string(b"\x09ab"), None);
        assert_eq!(
            printable_runs(b"\0ILC 330 ETH\0\0ab\x013.95T\0", 3, 8),
            ["ILC 330 ETH", "3.95T"]
        );
    }
}
