//! The send buffer: bytes written by the application and not yet
//! acknowledged.

use super::RingBuffer;

/// Bytes the application wrote that the peer has not acknowledged: first
/// those sent and awaiting an ACK, then those not yet sent.
///
/// Offset 0 is SND.UNA. The connection reads from SND.NXT − SND.UNA onwards
/// to send new data and from lower offsets to retransmit, and calls
/// [`acknowledge`](Self::acknowledge) as ACKs advance SND.UNA.
#[derive(Clone, Debug, Default)]
pub struct SendBuffer {
    ring: RingBuffer,
}

impl SendBuffer {
    /// An empty buffer that may hold up to `capacity` bytes. Allocates
    /// nothing until the first write.
    pub const fn new(capacity: usize) -> SendBuffer {
        SendBuffer {
            ring: RingBuffer::new(capacity),
        }
    }

    /// Copies as much of `data` as fits and returns how many bytes that was
    /// (0 when the buffer is full).
    pub fn write(&mut self, data: &[u8]) -> usize {
        self.ring.push(data)
    }

    /// Unacknowledged bytes, sent or not.
    pub const fn len(&self) -> usize {
        self.ring.len()
    }

    /// Bytes a write could take now.
    pub const fn free(&self) -> usize {
        self.ring.free()
    }

    /// True when every written byte has been acknowledged.
    pub const fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Copies bytes starting `offset` bytes after SND.UNA into `out`, without
    /// removing them; returns how many.
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        self.ring.read_at(offset, out)
    }

    /// Drops `n` acknowledged bytes from the front (clamped to `len()`) and
    /// returns how many were dropped.
    pub fn acknowledge(&mut self, n: usize) -> usize {
        self.ring.consume(n)
    }

    /// Bytes of storage currently allocated.
    pub fn allocated(&self) -> usize {
        self.ring.allocated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn write_send_retransmit_acknowledge() {
        let mut buf = SendBuffer::new(8);
        assert_eq!(buf.write(b"hello"), 5);
        assert_eq!(buf.write(b" world"), 3);
        assert_eq!(buf.write(b"!"), 0);
        assert_eq!(buf.len(), 8);

        let mut seg = [0; 4];
        assert_eq!(buf.read_at(5, &mut seg), 3); // new data
        assert_eq!(&seg[..3], b" wo");
        assert_eq!(buf.read_at(0, &mut seg), 4); // retransmission
        assert_eq!(&seg, b"hell");
        assert_eq!(buf.read_at(8, &mut seg), 0);

        assert_eq!(buf.acknowledge(3), 3);
        let mut out = [0; 10];
        assert_eq!(buf.read_at(0, &mut out), 5);
        assert_eq!(&out[..5], b"lo wo");
        assert_eq!(buf.write(b"rld"), 3);
        // The new bytes wrap around the 8-byte storage.
        assert_eq!(buf.read_at(0, &mut out), 8);
        assert_eq!(&out[..8], b"lo world");
        assert_eq!(buf.acknowledge(100), 8);
        assert!(buf.is_empty());
    }

    quickcheck! {
        /// Whatever the write and ACK pattern, reading at offset `k` returns
        /// the stream from byte SND.UNA + k.
        fn reads_follow_the_stream(capacity: u16, steps: Vec<(u16, u16)>) -> bool {
            let capacity = usize::from(capacity % 4096) + 1;
            let mut buf = SendBuffer::new(capacity);
            let byte = |i: usize| (i % 251) as u8;
            let (mut written, mut una) = (0usize, 0usize);
            for (w, a) in steps {
                // Whatever does not fit is refused alike, however long;
                // Miri, interpreting each byte, gets at most twice the
                // capacity.
                let w = usize::from(w);
                let w = if cfg!(miri) { w.min(2 * capacity) } else { w };
                let data: Vec<u8> = (written..written + w).map(byte).collect();
                let n = buf.write(&data);
                if n != data.len().min(capacity - (written - una)) {
                    return false;
                }
                written += n;
                una += buf.acknowledge(usize::from(a % 2048));
                let mut out = vec![0; buf.len()];
                if buf.read_at(0, &mut out) != written - una
                    || out.iter().enumerate().any(|(k, &b)| b != byte(una + k))
                {
                    return false;
                }
            }
            true
        }
    }
}
