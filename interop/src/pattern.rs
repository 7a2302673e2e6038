//! Seeded byte streams: the sender writes one, the receiver generates the
//! same and compares byte for byte, so corruption, loss, duplication and
//! reordering of data are all caught, at the offset where they happen.

use std::io;
use std::time::{Duration, Instant};

use synack_link::impair::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Chunk size for writes and reads.
pub const CHUNK: usize = 64 * 1024;

/// An endless byte stream determined by its seed (the project's one
/// generator, `synack_link::impair::Rng`, eight bytes per draw), readable
/// in pieces of any size.
#[derive(Clone, Debug)]
pub struct Pattern {
    rng: Rng,
    word: [u8; 8],
    used: usize,
}

impl Pattern {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> Pattern {
        Pattern {
            rng: Rng::new(seed),
            word: [0; 8],
            used: 8,
        }
    }

    fn step(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Fills `out` with the next bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut i = 0;
        while i < out.len() && self.used < 8 {
            out[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        let mut words = out[i..].chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&self.step().to_le_bytes());
        }
        let rest = words.into_remainder();
        if !rest.is_empty() {
            self.word = self.step().to_le_bytes();
            let n = rest.len();
            rest.copy_from_slice(&self.word[..n]);
            self.used = n;
        }
    }

    /// The first `len` bytes of the stream for `seed`.
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        Pattern::new(seed).fill(&mut v);
        v
    }
}

/// Writes `len` bytes of stream `seed` to `w` (it does not shut down).
pub async fn send<W: AsyncWrite + Unpin>(w: &mut W, seed: u64, len: u64) -> io::Result<u64> {
    let mut p = Pattern::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    while sent < len {
        let n = (len - sent).min(CHUNK as u64) as usize;
        p.fill(&mut buf[..n]);
        w.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
    Ok(sent)
}

/// Writes stream `seed` to `w` for `time` (whole chunks); the bytes
/// written.
pub async fn send_for<W: AsyncWrite + Unpin>(
    w: &mut W,
    seed: u64,
    time: Duration,
) -> io::Result<u64> {
    let mut p = Pattern::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    let end = Instant::now() + time;
    while Instant::now() < end {
        p.fill(&mut buf);
        w.write_all(&buf).await?;
        sent += CHUNK as u64;
    }
    Ok(sent)
}

/// Reads `r` to its end, checking every byte against stream `seed`; the
/// byte count. Calls `progress(total)` after every read (for a receiver
/// that measures rate over time). Fails with `InvalidData` at the first
/// byte that differs.
pub async fn recv<R: AsyncRead + Unpin>(
    r: &mut R,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> io::Result<u64> {
    let mut p = Pattern::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut want = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        p.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            let at = buf[..n]
                .iter()
                .zip(&want[..n])
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "stream {seed}: byte {} differs (got {:#04x}, want {:#04x})",
                    total + at as u64,
                    buf[at],
                    want[at]
                ),
            ));
        }
        total += n as u64;
        progress(total);
    }
}

/// Reads exactly `len` bytes of stream `seed` (checked), without waiting
/// for the end of the stream.
pub async fn recv_exact<R: AsyncRead + Unpin>(r: &mut R, seed: u64, len: u64) -> io::Result<()> {
    let mut p = Pattern::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut want = vec![0u8; CHUNK];
    let mut total = 0u64;
    while total < len {
        let n = (len - total).min(CHUNK as u64) as usize;
        r.read_exact(&mut buf[..n]).await?;
        p.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "stream {seed}: data differs in bytes {total}..{}",
                    total + n as u64
                ),
            ));
        }
        total += n as u64;
    }
    Ok(())
}

/// Megabits per second for `bytes` in `time`.
pub fn mbit_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 * 8.0 / time.as_secs_f64().max(1e-9) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_of_any_sizes_make_the_same_stream() {
        let whole = Pattern::bytes(3, 1000);
        let mut p = Pattern::new(3);
        let mut parts = Vec::new();
        for size in [1, 7, 8, 9, 13, 100, 862] {
            let mut b = vec![0; size];
            p.fill(&mut b);
            parts.extend_from_slice(&b);
        }
        assert_eq!(parts, whole);
        assert_ne!(Pattern::bytes(4, 1000), whole);
    }
}
