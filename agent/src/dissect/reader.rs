//! A bounds-checked cursor over untrusted bytes: every read returns `None` past the end, so a
//! dissector can never index out of range or allocate from an attacker's length field.

/// Cursor over a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Number of bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// Reads a big-endian u16.
    pub fn u16be(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a little-endian u16.
    pub fn u16le(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// Reads a big-endian u32.
    pub fn u32be(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a little-endian u32.
    pub fn u32le(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Printable one-line text of `b`: bytes up to the first NUL, invalid UTF-8 replaced, line breaks
/// and tabs turned into spaces, other control characters dropped, surrounding white space trimmed,
/// at most `max` characters. `None` when nothing is left.
pub fn text(b: &[u8], max: usize) -> Option<String> {
    let b = b.split(|&c| c == 0).next().unwrap_or(b);
    let s: String = String::from_utf8_lossy(b)
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .take(max)
        .collect();
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16be(), Some(0x0102));
        assert_eq!(r.u16be(), None);
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.take(usize::MAX), None);
        assert_eq!(text(b"  Cisco\x00junk", 64).as_deref(), Some("Cisco"));
        assert_eq!(text(b"\x01\x02", 64), None);
    }
}
