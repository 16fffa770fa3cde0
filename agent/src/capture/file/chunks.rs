//! A window over a capture stream read in large chunks: records are parsed in place and handed
//! out as slices of the window, so no frame is copied on its way to the sensor. The window grows
//! only to hold one record (bounded by the caller), never to hold the file.

use std::io::{self, Read};

/// Bytes read ahead at a time.
const CHUNK: usize = 1 << 20;

/// The unread part of a stream, buffered.
pub(super) struct Chunks<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Chunks<R> {
    pub(super) fn new(src: R) -> Self {
        Chunks {
            src,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// Makes at least `n` bytes available in [`Chunks::bytes`], reading as needed. Returns
    /// false when the stream ends first (what it has stays available).
    pub(super) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start + n > self.buf.len() {
            // Move what is left to the front; grow only when one record is larger than a chunk.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if n > self.buf.len() {
                self.buf.resize(n, 0);
            }
        }
        while self.end - self.start < n && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start >= n)
    }

    /// The bytes read and not yet consumed.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops the first `n` available bytes.
    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Whether the stream ended exactly at the consumed position.
    pub(super) fn at_end(&mut self) -> io::Result<bool> {
        Ok(!self.fill(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most 3 bytes per call, as pipes and sockets may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(3);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_larger_than_a_chunk_and_short_reads_are_assembled() {
        let data: Vec<u8> = (0..(CHUNK + 100)).map(|i| i as u8).collect();
        let mut c = Chunks::new(Trickle(&data));
        assert!(c.fill(10).unwrap());
        assert_eq!(&c.bytes()[..10], &data[..10]);
        c.consume(7);
        assert!(c.fill(CHUNK + 50).unwrap());
        assert_eq!(&c.bytes()[..CHUNK + 50], &data[7..CHUNK + 57]);
        c.consume(CHUNK + 50);
        assert!(!c.fill(100).unwrap());
        assert_eq!(c.bytes(), &data[CHUNK + 57..]);
        c.consume(43);
        assert!(c.at_end().unwrap());
    }
}
