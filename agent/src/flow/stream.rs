//! In-order reassembly of the first bytes of each direction of a TCP connection, within a byte
//! budget, for the stream dissectors. Out-of-order data ends reassembly of that direction (a gap).

use crate::dissect::StreamProgress;

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub struct DirStream {
    next_seq: Option<u32>,
    /// Bytes reassembled so far (at most the budget).
    pub buf: Vec<u8>,
    /// Which dissectors are done with this direction.
    pub progress: StreamProgress,
    /// True once nothing more will be reassembled (budget reached, gap, or dissectors done).
    pub stopped: bool,
}

/// What a segment did to a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// New bytes were appended.
    Data,
    /// Nothing new (retransmission, empty, or already stopped).
    Nothing,
    /// A gap: bytes before this segment were never seen; reassembly stopped.
    Gap,
}

impl DirStream {
    /// Adds a segment starting at sequence number `seq`. `budget` bounds the buffer.
    pub fn add(&mut self, seq: u32, syn: bool, payload: &[u8], budget: usize) -> Added {
        if self.stopped {
            return Added::Nothing;
        }
        let start = seq.wrapping_add(u32::from(syn));
        let next = *self.next_seq.get_or_insert(start);
        if payload.is_empty() {
            return Added::Nothing;
        }
        let offset = start.wrapping_sub(next) as i32;
        let fresh = if offset > 0 {
            self.stop();
            return Added::Gap;
        } else {
            let skip = offset.unsigned_abs() as usize;
            if skip >= payload.len() {
                return Added::Nothing; // retransmission
            }
            &payload[skip..]
        };
        let room = budget.saturating_sub(self.buf.len());
        let take = fresh.len().min(room);
        self.buf.extend_from_slice(&fresh[..take]);
        self.next_seq = Some(next.wrapping_add(fresh.len() as u32));
        if self.buf.len() >= budget {
            self.stopped = true;
        }
        if take > 0 { Added::Data } else { Added::Nothing }
    }

    /// Stops reassembly and frees the buffer.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_retransmit_overlap_gap_budget() {
        let mut d = DirStream::default();
        assert_eq!(d.add(100, true, b"", 8), Added::Nothing);
        assert_eq!(d.add(101, false, b"abc", 8), Added::Data);
        assert_eq!(d.add(101, false, b"abc", 8), Added::Nothing);
        assert_eq!(d.add(102, false, b"bcde", 8), Added::Data);
        assert_eq!(d.buf, b"abcde");
        assert_eq!(d.add(106, false, b"fghij", 8), Added::Data);
        assert_eq!(d.buf, b"abcdefgh");
        assert!(d.stopped);
        let mut g = DirStream::default();
        g.add(1, false, b"x", 8);
        assert_eq!(g.add(10, false, b"y", 8), Added::Gap);
        assert!(g.buf.is_empty() && g.stopped);
        // Sequence numbers wrap.
        let mut w = DirStream::default();
        w.add(u32::MAX - 1, false, b"ab", 8);
        assert_eq!(w.add(0, false, b"cd", 8), Added::Data);
        assert_eq!(w.buf, b"abcd");
    }
}
