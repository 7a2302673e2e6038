//! The bytes applications send, and the check of what arrives: every
//! stream is a seeded pattern, hashed as it is written and as it is read,
//! and compared chunk by chunk so the first wrong byte is found even in a
//! transfer that never finishes.

use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

use synack_link::impair::Rng;

/// Length of the repeating pattern: a prime, so the pattern does not line
/// up with segment sizes, buffer sizes or powers of two.
const PERIOD: usize = 65_521;

/// The pattern every stream of a run is cut from.
#[derive(Clone, Debug)]
pub struct Pattern {
    block: Arc<[u8]>,
}

impl Pattern {
    /// A pattern from the run's generator.
    pub fn new(rng: &mut Rng) -> Pattern {
        let mut block = vec![0u8; PERIOD];
        rng.fill(&mut block);
        Pattern {
            block: block.into(),
        }
    }

    /// The stream's bytes from `offset`, at most `max` of them (fewer at
    /// the end of the pattern period).
    pub fn slice(&self, offset: u64, max: u64) -> &[u8] {
        let start = (offset % PERIOD as u64) as usize;
        let n = (PERIOD - start).min(usize::try_from(max).unwrap_or(usize::MAX));
        &self.block[start..start + n]
    }
}

/// One direction of one flow: what was written and what was read.
#[derive(Clone)]
pub struct Stream {
    /// Bytes the sending application wrote.
    pub written: u64,
    /// Bytes the receiving application read.
    pub read: u64,
    /// Offset of the first byte read that differs from what was sent.
    pub first_mismatch: Option<u64>,
    tx_hash: Xxh3,
    rx_hash: Xxh3,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("written", &self.written)
            .field("read", &self.read)
            .field("first_mismatch", &self.first_mismatch)
            .finish_non_exhaustive()
    }
}

impl Default for Stream {
    fn default() -> Stream {
        Stream {
            written: 0,
            read: 0,
            first_mismatch: None,
            tx_hash: Xxh3::new(),
            rx_hash: Xxh3::new(),
        }
    }
}

impl Stream {
    /// Records bytes the sender's connection accepted.
    pub fn on_written(&mut self, bytes: &[u8]) {
        self.tx_hash.update(bytes);
        self.written += bytes.len() as u64;
    }

    /// Records bytes the receiver read, checking them against the pattern.
    pub fn on_read(&mut self, pattern: &Pattern, bytes: &[u8]) {
        self.rx_hash.update(bytes);
        if self.first_mismatch.is_none() {
            let mut at = 0;
            while at < bytes.len() {
                let want = pattern.slice(self.read + at as u64, (bytes.len() - at) as u64);
                let got = &bytes[at..at + want.len()];
                if got != want {
                    let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
                    self.first_mismatch = Some(self.read + (at + i) as u64);
                    break;
                }
                at += want.len();
            }
        }
        self.read += bytes.len() as u64;
    }

    /// True when everything written was read, unchanged, and the hashes of
    /// both ends agree.
    pub fn complete_and_intact(&self) -> bool {
        self.read == self.written
            && self.first_mismatch.is_none()
            && self.tx_hash.digest128() == self.rx_hash.digest128()
    }

    /// True when what was read so far is a correct prefix of the stream.
    pub fn intact_so_far(&self) -> bool {
        self.first_mismatch.is_none() && self.read <= self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faithful_copy_is_intact_and_a_flipped_byte_is_found() {
        let p = Pattern::new(&mut Rng::new(5));
        let mut s = Stream::default();
        let mut sent = Vec::new();
        while s.written < 200_000 {
            let chunk = p.slice(s.written, 7000);
            sent.extend_from_slice(chunk);
            s.on_written(chunk);
        }
        for c in sent.chunks(1448) {
            s.on_read(&p, c);
        }
        assert!(s.complete_and_intact());

        let mut bad = Stream::default();
        bad.on_written(&sent);
        let mut copy = sent.clone();
        copy[150_000] ^= 4;
        for c in copy.chunks(1000) {
            bad.on_read(&p, c);
        }
        assert_eq!(bad.first_mismatch, Some(150_000));
        assert!(!bad.complete_and_intact());
        assert!(!bad.intact_so_far());
    }
}
