//! Minimal BER (ASN.1 basic encoding rules) reading for SNMP, MMS, GOOSE and Sampled Values:
//! definite lengths only, every length checked against the bytes present.

/// One element: its identifier octets decoded and its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// Class and constructed bits of the first identifier octet (`0xa0` for context-specific
    /// constructed).
    pub class: u8,
    /// Tag number (multi-octet tag numbers included).
    pub number: u32,
    /// Contents.
    pub body: &'a [u8],
}

/// Reads the element at the start of `b`; returns it and the bytes after it.
pub fn element(b: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let first = *b.first()?;
    let mut pos = 1;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        loop {
            let x = *b.get(pos)?;
            pos += 1;
            number = number.checked_mul(128)? | u32::from(x & 0x7f);
            if x & 0x80 == 0 {
                break;
            }
            if pos > 5 {
                return None;
            }
        }
    }
    let l = *b.get(pos)?;
    pos += 1;
    let len = if l & 0x80 == 0 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 {
            return None; // indefinite or absurd length
        }
        let bytes = b.get(pos..pos + n)?;
        pos += n;
        bytes.iter().fold(0usize, |a, &x| a << 8 | usize::from(x))
    };
    let body = b.get(pos..pos.checked_add(len)?)?;
    let el = Element {
        class: first & 0xe0,
        number,
        body,
    };
    Some((el, &b[pos + len..]))
}

/// One element with a single-octet identifier: (identifier octet, contents, rest).
pub fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    if b.first()? & 0x1f == 0x1f {
        return None;
    }
    let (e, rest) = element(b)?;
    Some((b[0], e.body, rest))
}

/// The elements of a constructed body, at most `max` of them.
pub fn children(mut b: &[u8], max: usize) -> impl Iterator<Item = Element<'_>> {
    std::iter::from_fn(move || {
        let (e, rest) = element(b)?;
        b = rest;
        Some(e)
    })
    .take(max)
}

/// A signed integer of at most 8 octets.
pub fn integer(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = v << 8 | i64::from(x);
    }
    Some(v)
}

/// An unsigned integer of at most 8 octets (a leading zero octet allowed).
pub fn unsigned(b: &[u8]) -> Option<u64> {
    let b = if b.len() == 9 && b[0] == 0 { &b[1..] } else { b };
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)))
}

/// Dotted form of an object identifier.
pub fn oid(b: &[u8]) -> Option<String> {
    let (&first, rest) = b.split_first()?;
    let top = (first / 40).min(2);
    let mut parts = vec![top.to_string(), (first - top * 40).to_string()];
    let mut acc: u64 = 0;
    for &x in rest {
        acc = acc.checked_mul(128)? | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            parts.push(acc.to_string());
            acc = 0;
        }
    }
    Some(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_lengths_and_numbers() {
        assert_eq!(
            oid(&[0x2b, 6, 1, 2, 1, 1, 1, 0]).as_deref(),
            Some("1.3.6.1.2.1.1.1.0")
        );
        assert_eq!(
            oid(&[0x2b, 6, 1, 4, 1, 0x82, 0x37]).as_deref(),
            Some("1.3.6.1.4.1.311")
        );
        assert_eq!(integer(&[0xff]), Some(-1));
        assert_eq!(
            unsigned(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Some(u64::MAX)
        );
        // Long form length, multi-octet tag number ([72] context constructed).
        let (e, rest) = element(&[0xbf, 0x48, 0x81, 0x02, 1, 2, 9]).unwrap();
        assert_eq!(
            (e.class, e.number, e.body, rest),
            (0xa0, 72, &[1u8, 2][..], &[9u8][..])
        );
        // Truncated, indefinite and oversized lengths are refused.
        assert_eq!(element(&[0x30, 0x05, 1]), None);
        assert_eq!(element(&[0x30, 0x80]), None);
        assert_eq!(element(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(children(&[0x80, 1, 7, 0x81, 0], 8).count(), 2);
    }
}
