//! Splits one direction of a TCP connection into protocol data units, in order, across segment
//! boundaries. A PDU that spans segments is buffered up to a bound; a longer one is skipped. A gap
//! (lost or unseen bytes) or bytes that do not frame resynchronise at the next segment start,
//! where industrial clients and servers start their PDUs.

/// What the start of some bytes says about the PDU there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A PDU of this many bytes (possibly more than are there yet).
    Len(usize),
    /// Too few bytes to tell.
    More,
    /// Not a PDU of this protocol.
    Bad,
}

/// Longest PDU buffered across segments.
pub const MAX_PDU: usize = 8192;

/// Counters of what a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Whole PDUs handed on.
    pub pdus: u32,
    /// A gap was crossed.
    pub gap: bool,
    /// Bytes that did not frame were dropped.
    pub bad: bool,
    /// A PDU longer than the bound (or than the buffer allowed) was skipped.
    pub skipped: bool,
}

/// Framing state of one direction.
#[derive(Debug, Default)]
pub struct Framer {
    next_seq: Option<u32>,
    buf: Vec<u8>,
    skip: usize,
}

impl Framer {
    /// Adds a segment that starts at sequence number `seq` and hands each whole PDU to `each`.
    /// With `buffer` false, PDUs that span segments are skipped instead of buffered.
    pub fn push(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &[u8],
        frame: fn(&[u8]) -> Frame,
        buffer: bool,
        each: &mut dyn FnMut(&[u8]),
    ) -> Pushed {
        let mut done = Pushed::default();
        let start = seq.wrapping_add(u32::from(syn));
        let next = *self.next_seq.get_or_insert(start);
        let offset = start.wrapping_sub(next) as i32;
        let fresh = if offset > 0 {
            done.gap = true;
            self.buf = Vec::new();
            self.skip = 0;
            payload
        } else {
            let old = offset.unsigned_abs() as usize;
            if old >= payload.len() {
                return done; // retransmission or empty
            }
            &payload[old..]
        };
        self.next_seq = Some(start.wrapping_add(payload.len() as u32));
        let mut data = fresh;
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        let held;
        if !self.buf.is_empty() {
            self.buf.extend_from_slice(data);
            held = std::mem::take(&mut self.buf);
            data = &held;
        }
        while !data.is_empty() {
            match frame(data) {
                Frame::Len(0) => {
                    done.bad = true; // a framing function must consume something
                    return done;
                }
                Frame::Len(n) if n <= data.len() => {
                    each(&data[..n]);
                    done.pdus += 1;
                    data = &data[n..];
                }
                Frame::Len(n) if n > MAX_PDU || !buffer => {
                    done.skipped = true;
                    self.skip = n - data.len();
                    return done;
                }
                Frame::Len(_) | Frame::More if buffer && data.len() <= MAX_PDU => {
                    self.buf = data.to_vec();
                    return done;
                }
                Frame::Len(_) | Frame::More | Frame::Bad => {
                    done.bad = true;
                    return done;
                }
            }
        }
        done
    }

    /// Bytes held for a PDU that spans segments.
    pub fn held(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy framing: the first byte is the PDU length.
    fn by_first_byte(b: &[u8]) -> Frame {
        match b.first() {
            None => Frame::More,
            Some(0) => Frame::Bad,
            Some(&n) => Frame::Len(usize::from(n)),
        }
    }

    fn run(f: &mut Framer, seq: u32, data: &[u8]) -> (Vec<Vec<u8>>, Pushed) {
        let mut got = Vec::new();
        let p = f.push(seq, false, data, by_first_byte, true, &mut |pdu| {
            got.push(pdu.to_vec())
        });
        (got, p)
    }

    #[test]
    fn whole_split_retransmitted_and_gapped_pdus() {
        let mut f = Framer::default();
        let (got, p) = run(&mut f, 100, &[2, 9, 3, 7]);
        assert_eq!(got, vec![vec![2, 9]]);
        assert_eq!(p.pdus, 1);
        assert_eq!(f.held(), 2);
        // The rest of the split PDU, then a retransmission of it.
        assert_eq!(run(&mut f, 104, &[8]).0, vec![vec![3, 7, 8]]);
        assert_eq!(run(&mut f, 104, &[8]).0, Vec::<Vec<u8>>::new());
        // A gap resynchronises at the new segment.
        let (got, p) = run(&mut f, 200, &[1, 1]);
        assert!(p.gap);
        assert_eq!(got, vec![vec![1], vec![1]]);
        // Garbage is dropped, the next segment frames again.
        let (_, p) = run(&mut f, 202, &[0, 5]);
        assert!(p.bad);
        assert_eq!(run(&mut f, 204, &[1]).0, vec![vec![1]]);
    }

    #[test]
    fn long_pdus_are_skipped_not_buffered() {
        let mut f = Framer::default();
        let big = |b: &[u8]| {
            if b.is_empty() {
                Frame::More
            } else {
                Frame::Len(MAX_PDU + 10)
            }
        };
        let mut n = 0;
        let p = f.push(1, false, &[7; 100], big, true, &mut |_| n += 1);
        assert!(p.skipped);
        assert_eq!(f.held(), 0);
        // The skipped PDU's remaining bytes are consumed, then framing resumes.
        let rest = vec![7u8; MAX_PDU + 10 - 100];
        f.push(101, false, &rest, by_first_byte, true, &mut |_| n += 1);
        f.push(
            101 + rest.len() as u32,
            false,
            &[1],
            by_first_byte,
            true,
            &mut |_| n += 1,
        );
        assert_eq!(n, 1);
    }
}
