//! TCP connection bookkeeping: Zeek-style history letters and connection state.

use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};

/// What one direction of a connection has shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirFlags {
    /// A SYN without ACK.
    pub syn: bool,
    /// A SYN with ACK.
    pub synack: bool,
    /// A FIN.
    pub fin: bool,
    /// A RST.
    pub rst: bool,
}

impl DirFlags {
    /// Accounts one segment's flags.
    pub fn add(&mut self, flags: u8) {
        self.syn |= flags & (SYN | ACK) == SYN;
        self.synack |= flags & (SYN | ACK) == SYN | ACK;
        self.fin |= flags & FIN != 0;
        self.rst |= flags & RST != 0;
    }
}

/// The history string: each letter the first time it happens, upper case for the originator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    letters: [u8; 16],
    len: u8,
}

impl History {
    /// Appends `letter` (upper case for the originator) unless already present.
    pub fn push(&mut self, letter: u8, from_orig: bool) {
        let l = if from_orig {
            letter.to_ascii_uppercase()
        } else {
            letter.to_ascii_lowercase()
        };
        let used = &self.letters[..usize::from(self.len)];
        if !used.contains(&l) && usize::from(self.len) < self.letters.len() {
            self.letters[usize::from(self.len)] = l;
            self.len += 1;
        }
    }

    /// Accounts one TCP segment.
    pub fn segment(&mut self, flags: u8, payload: usize, from_orig: bool) {
        match flags & (SYN | ACK) {
            SYN => self.push(b's', from_orig),
            x if x == SYN | ACK => self.push(b'h', from_orig),
            _ => {}
        }
        if payload > 0 {
            self.push(b'd', from_orig);
        } else if flags & ACK != 0 && flags & (SYN | FIN | RST) == 0 {
            self.push(b'a', from_orig);
        }
        if flags & FIN != 0 {
            self.push(b'f', from_orig);
        }
        if flags & RST != 0 {
            self.push(b'r', from_orig);
        }
    }

    /// The history as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.letters[..usize::from(self.len)]).unwrap_or("")
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Zeek's `conn_state` of a TCP connection from what each side showed.
pub fn conn_state(o: DirFlags, r: DirFlags) -> &'static str {
    let established = o.syn && r.synack;
    if o.syn && !r.synack {
        return if r.rst {
            "REJ"
        } else if o.rst {
            "RSTOS0"
        } else if o.fin {
            "SH"
        } else {
            "S0"
        };
    }
    if r.synack && !o.syn {
        return if r.rst {
            "RSTRH"
        } else if r.fin {
            "SHR"
        } else {
            "OTH"
        };
    }
    if established {
        return match (o.fin, r.fin, o.rst, r.rst) {
            (_, _, true, _) => "RSTO",
            (_, _, _, true) => "RSTR",
            (true, true, _, _) => "SF",
            (true, false, _, _) => "S2",
            (false, true, _, _) => "S3",
            _ => "S1",
        };
    }
    "OTH"
}

/// Zeek's `conn_state` of a UDP or other connection: answered or not.
pub fn datagram_state(resp_packets: u64) -> &'static str {
    if resp_packets > 0 { "SF" } else { "S0" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_state_of_a_normal_connection() {
        let mut h = History::default();
        let (mut o, mut r) = (DirFlags::default(), DirFlags::default());
        for (flags, len, orig) in [
            (SYN, 0, true),
            (SYN | ACK, 0, false),
            (ACK, 0, true),
            (ACK, 12, true),
            (ACK, 20, false),
            (FIN | ACK, 0, true),
            (FIN | ACK, 0, false),
            (ACK, 0, true),
        ] {
            h.segment(flags, len, orig);
            if orig { o.add(flags) } else { r.add(flags) }
        }
        assert_eq!(h.as_str(), "ShADdFf");
        assert_eq!(conn_state(o, r), "SF");
        let mut rej = DirFlags::default();
        rej.add(RST | ACK);
        let mut syn = DirFlags::default();
        syn.add(SYN);
        assert_eq!(conn_state(syn, rej), "REJ");
        assert_eq!(conn_state(syn, DirFlags::default()), "S0");
    }
}
