//! A byte ring whose storage grows on demand up to a capacity limit.

use alloc::vec::Vec;

/// The smallest storage the ring allocates once it needs any: small enough
/// for a chatty idle connection, large enough that tiny writes do not
/// reallocate over and over.
const MIN_STORAGE: usize = 64;

/// A FIFO of bytes with a capacity limit and lazily grown storage.
///
/// The ring holds `len` *committed* bytes starting at its head. Beyond them,
/// up to the capacity, lies a scratch area that [`write_at`](Self::write_at)
/// fills out of order and [`commit`](Self::commit) later turns into committed
/// bytes; the receive buffer reassembles segments there.
///
/// Storage starts empty and doubles as needed (never past the capacity), so
/// an idle connection costs almost nothing. If the allocator refuses to
/// grow, operations store what fits instead of aborting.
#[derive(Clone, Debug, Default)]
pub struct RingBuffer {
    /// Allocated bytes; logical offset `o` lives at `(head + o) % storage.len()`.
    storage: Vec<u8>,
    /// Physical index of the first committed byte (0 when storage is empty).
    head: usize,
    /// Committed bytes.
    len: usize,
    /// Most bytes the ring may hold, committed plus scratch.
    capacity: usize,
}

impl RingBuffer {
    /// An empty ring that may grow to `capacity` bytes. Allocates nothing.
    pub const fn new(capacity: usize) -> RingBuffer {
        RingBuffer {
            storage: Vec::new(),
            head: 0,
            len: 0,
            capacity,
        }
    }

    /// Committed bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when no bytes are committed.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most bytes the ring may hold.
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Room left after the committed bytes: `capacity() - len()`.
    pub const fn free(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// Bytes of storage currently allocated (at most the capacity, unless a
    /// shrink could not reallocate).
    pub fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Changes the capacity limit and returns the one actually set. Growing
    /// is always allowed; shrinking stops at `len()`, so committed bytes are
    /// never lost. Scratch bytes past the new capacity are discarded.
    pub fn set_capacity(&mut self, capacity: usize) -> usize {
        let capacity = capacity.max(self.len);
        if capacity < self.storage.len() {
            // Best effort: if the smaller allocation fails, keep the larger one.
            self.relocate(capacity);
        }
        self.capacity = capacity;
        capacity
    }

    /// Appends as much of `data` as fits and returns how many bytes that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = self.prepare(0, data.len());
        self.copy_in(self.len, &data[..n]);
        self.len += n;
        n
    }

    /// Writes `data` into the scratch area, starting `offset` bytes after the
    /// last committed byte, without committing it. Returns how many leading
    /// bytes of `data` were written: fewer than all when they would pass the
    /// capacity, zero when `offset` is already past it.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let n = self.prepare(offset, data.len());
        // When `n` is 0, `len + offset` may be out of range: skip the copy.
        if n > 0 {
            self.copy_in(self.len + offset, &data[..n]);
        }
        n
    }

    /// Turns up to `n` bytes after the committed ones into committed bytes,
    /// and returns how many. The caller must have written them with
    /// [`write_at`](Self::write_at); otherwise they hold stale bytes.
    pub fn commit(&mut self, n: usize) -> usize {
        let limit = self.capacity.min(self.storage.len());
        let n = n.min(limit.saturating_sub(self.len));
        self.len += n;
        n
    }

    /// Copies committed bytes starting `offset` bytes after the head into
    /// `out`, without consuming them. Returns how many were copied.
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let (a, b) = self.as_slices_at(offset, out.len());
        out[..a.len()].copy_from_slice(a);
        out[a.len()..a.len() + b.len()].copy_from_slice(b);
        a.len() + b.len()
    }

    /// Up to `max` committed bytes starting `offset` bytes after the head, as
    /// two slices (the second is non-empty when the bytes wrap around the end
    /// of storage). Both are empty when `offset >= len()`.
    pub fn as_slices_at(&self, offset: usize, max: usize) -> (&[u8], &[u8]) {
        if offset >= self.len {
            return (&[], &[]);
        }
        let n = max.min(self.len - offset);
        let start = self.physical(offset);
        let first = n.min(self.storage.len() - start);
        (
            &self.storage[start..start + first],
            &self.storage[..n - first],
        )
    }

    /// Drops up to `n` committed bytes from the head; returns how many.
    /// Scratch bytes keep their place relative to the end of the committed
    /// ones.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.head = self.physical(n);
        self.len -= n;
        n
    }

    /// With nothing committed, moves the head back to the start of storage,
    /// so the next bytes land where the last ones began instead of walking
    /// the whole allocation: a ring its reader keeps draining then reuses
    /// the same few cache-warm kilobytes. Only for a caller whose scratch
    /// area holds nothing it needs (scratch bytes do not move with it).
    pub fn rewind_if_empty(&mut self) {
        if self.len == 0 {
            self.head = 0;
        }
    }

    /// Copies committed bytes into `out` and consumes them; returns how many.
    pub fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = self.read_at(0, out);
        self.consume(n)
    }

    /// Makes storage cover at least `end` bytes from the head (clamped to
    /// the capacity). Returns false if the allocator refused.
    pub fn reserve(&mut self, end: usize) -> bool {
        let end = end.min(self.capacity);
        if end <= self.storage.len() {
            return true;
        }
        // Doubling keeps the total copying linear in the bytes stored.
        let size = end
            .max(self.storage.len().saturating_mul(2))
            .max(MIN_STORAGE)
            .min(self.capacity);
        self.relocate(size)
    }

    /// Readies storage for up to `want` bytes at `len + offset` and returns
    /// how many may go there: clamped to the capacity, and to the present
    /// storage if the allocator refused to grow it.
    fn prepare(&mut self, offset: usize, want: usize) -> usize {
        let n = want.min(self.free().saturating_sub(offset));
        if n == 0 {
            return 0;
        }
        // `len + offset + n <= capacity`, so none of this overflows.
        let at = self.len + offset;
        if self.reserve(at + n) {
            n
        } else {
            n.min(self.storage.len().saturating_sub(at))
        }
    }

    /// Copies `data` to logical offset `at`; `prepare` made room for it.
    fn copy_in(&mut self, at: usize, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let start = self.physical(at);
        let first = data.len().min(self.storage.len() - start);
        self.storage[start..start + first].copy_from_slice(&data[..first]);
        self.storage[..data.len() - first].copy_from_slice(&data[first..]);
    }

    /// Physical index of logical offset `o <= storage.len()`.
    fn physical(&self, o: usize) -> usize {
        let p = self.head + o;
        if p >= self.storage.len() {
            p - self.storage.len()
        } else {
            p
        }
    }

    /// Moves the first `size` logical bytes (committed and scratch) into a
    /// fresh allocation of exactly `size` bytes with the head at index 0.
    fn relocate(&mut self, size: usize) -> bool {
        let mut fresh = Vec::new();
        if fresh.try_reserve_exact(size).is_err() {
            return false;
        }
        let keep = size.min(self.storage.len());
        let (before_head, from_head) = self.storage.split_at(self.head);
        let first = keep.min(from_head.len());
        fresh.extend_from_slice(&from_head[..first]);
        fresh.extend_from_slice(&before_head[..keep - first]);
        fresh.resize(size, 0);
        self.storage = fresh;
        self.head = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;
    use std::collections::VecDeque;
    use std::vec;

    fn contents(ring: &RingBuffer) -> Vec<u8> {
        let (a, b) = ring.as_slices_at(0, usize::MAX);
        [a, b].concat()
    }

    #[test]
    fn new_ring_allocates_nothing() {
        let ring = RingBuffer::new(1 << 20);
        assert_eq!(ring.allocated(), 0);
        assert_eq!(
            (ring.len(), ring.free(), ring.capacity()),
            (0, 1 << 20, 1 << 20)
        );
        assert_eq!(ring.as_slices_at(0, 10), (&[][..], &[][..]));
    }

    #[test]
    fn push_stops_at_capacity() {
        let mut ring = RingBuffer::new(5);
        assert_eq!(ring.push(b"abc"), 3);
        assert_eq!(ring.push(b"defg"), 2);
        assert_eq!(ring.push(b"h"), 0);
        assert_eq!(ring.free(), 0);
        assert_eq!(contents(&ring), b"abcde");
        // Storage never exceeds the capacity, even below MIN_STORAGE.
        assert_eq!(ring.allocated(), 5);
    }

    #[test]
    fn storage_doubles_up_to_capacity() {
        let mut ring = RingBuffer::new(1000);
        ring.push(&[1; 10]);
        assert_eq!(ring.allocated(), MIN_STORAGE);
        ring.push(&[2; 60]);
        assert_eq!(ring.allocated(), 2 * MIN_STORAGE);
        ring.push(&[3; 500]);
        assert_eq!(ring.allocated(), 570);
        ring.push(&[4; 300]);
        assert_eq!(ring.allocated(), 1000);
    }

    #[test]
    fn wraps_around_the_end_of_storage() {
        let mut ring = RingBuffer::new(8);
        ring.push(b"012345");
        let mut out = [0; 4];
        assert_eq!(ring.pop(&mut out), 4);
        assert_eq!(&out, b"0123");
        assert_eq!(ring.push(b"abcdef"), 6);
        assert_eq!(ring.as_slices_at(0, 8), (&b"45ab"[..], &b"cdef"[..]));
        assert_eq!(ring.as_slices_at(3, 2), (&b"b"[..], &b"c"[..]));
        assert_eq!(ring.as_slices_at(5, 8), (&b"def"[..], &b""[..]));
        let mut out = [0; 8];
        assert_eq!(ring.read_at(1, &mut out), 7);
        assert_eq!(&out[..7], b"5abcdef");
    }

    #[test]
    fn growth_while_wrapped_keeps_committed_and_scratch_bytes() {
        let mut ring = RingBuffer::new(4096);
        ring.push(&[0; 60]);
        ring.consume(60);
        ring.push(b"0123456789"); // wraps: head at 60 of 64
        assert_eq!(ring.write_at(2, b"xy"), 2);
        ring.push(&[b'-'; 100]); // grows, then overwrites the scratch bytes
        assert_eq!(ring.allocated(), 128);
        assert_eq!(&contents(&ring)[..12], b"0123456789--");
        assert_eq!(ring.write_at(1000, b"far"), 3);
        assert_eq!(ring.allocated(), 1113);
        ring.consume(110);
        assert_eq!(ring.write_at(0, b"ab"), 2);
        assert_eq!(ring.commit(2), 2);
        assert_eq!(contents(&ring), b"ab");
    }

    #[test]
    fn write_at_then_commit() {
        let mut ring = RingBuffer::new(10);
        ring.push(b"ab");
        assert_eq!(ring.write_at(3, b"fgh"), 3);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.write_at(0, b"cde"), 3);
        assert_eq!(ring.commit(6), 6);
        assert_eq!(contents(&ring), b"abcdefgh");
        // Past the capacity: trimmed, or refused outright.
        assert_eq!(ring.write_at(1, b"xyz"), 1);
        assert_eq!(ring.write_at(2, b"z"), 0);
        assert_eq!(ring.write_at(usize::MAX, b"z"), 0);
        assert_eq!(ring.commit(usize::MAX), 2);
        assert_eq!(ring.len(), 10);
    }

    #[test]
    fn commit_never_passes_storage() {
        let mut ring = RingBuffer::new(1000);
        assert_eq!(ring.commit(5), 0);
        ring.write_at(0, b"abc");
        assert_eq!(ring.commit(500), MIN_STORAGE);
    }

    #[test]
    fn consume_and_reads_clamp_to_len() {
        let mut ring = RingBuffer::new(10);
        ring.push(b"abc");
        let mut out = [0; 2];
        assert_eq!(ring.read_at(3, &mut out), 0);
        assert_eq!(ring.read_at(usize::MAX, &mut out), 0);
        assert_eq!(ring.read_at(2, &mut out), 1);
        assert_eq!(ring.consume(usize::MAX), 3);
        assert_eq!(ring.consume(1), 0);
        assert_eq!(ring.pop(&mut out), 0);
    }

    #[test]
    fn shrink_stops_at_len_and_gives_storage_back() {
        let mut ring = RingBuffer::new(1000);
        ring.push(&[7; 300]);
        assert_eq!(ring.allocated(), 300);
        assert_eq!(ring.set_capacity(10), 300);
        assert_eq!(ring.free(), 0);
        ring.consume(250);
        assert_eq!(ring.set_capacity(100), 100);
        assert_eq!(ring.allocated(), 100);
        assert_eq!(contents(&ring), vec![7; 50]);
        assert_eq!(ring.set_capacity(usize::MAX), usize::MAX);
        assert_eq!(ring.push(&[8; 100]), 100);
        assert_eq!(ring.allocated(), 200);
    }

    #[test]
    fn zero_capacity_ring_is_inert() {
        let mut ring = RingBuffer::new(0);
        assert_eq!(ring.push(b"a"), 0);
        assert_eq!(ring.write_at(0, b"a"), 0);
        assert_eq!(ring.commit(1), 0);
        assert_eq!(ring.consume(1), 0);
        assert!(ring.reserve(10));
        assert_eq!(ring.allocated(), 0);
    }

    #[test]
    fn a_drained_ring_refills_from_the_start_of_storage() {
        let mut ring = RingBuffer::new(1024);
        ring.push(&[1; 100]);
        assert_eq!(ring.pop(&mut [0; 100]), 100);
        ring.rewind_if_empty();
        ring.push(&[2; 100]);
        // Had the head stayed at 100, these bytes would sit at 100..200.
        assert_eq!(ring.head, 0);
        assert_eq!(ring.as_slices_at(0, 100), (&[2u8; 100][..], &[][..]));
        assert_eq!(
            ring.allocated(),
            100,
            "no growth: the same 100 bytes reused"
        );
        // Not empty: the head stays.
        ring.consume(10);
        ring.rewind_if_empty();
        assert_eq!(ring.head, 10);
    }

    quickcheck! {
        /// Any sequence of operations matches a `VecDeque` model.
        fn behaves_like_a_deque(capacity: u16, ops: Vec<(u8, u16)>) -> bool {
            let capacity = usize::from(capacity % 2048);
            let mut ring = RingBuffer::new(capacity);
            let mut model = VecDeque::new();
            let mut cap = capacity;
            let mut next = 0u8;
            for (op, n) in ops {
                let n = usize::from(n % 1024);
                match op % 5 {
                    0 | 1 => {
                        let data: Vec<u8> = (0..n)
                            .map(|_| { next = next.wrapping_add(1); next })
                            .collect();
                        let pushed = ring.push(&data);
                        if pushed != n.min(cap - model.len()) {
                            return false;
                        }
                        model.extend(&data[..pushed]);
                    }
                    2 => {
                        let mut out = vec![0; n];
                        let got = ring.pop(&mut out);
                        let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                        if out[..got] != want[..] {
                            return false;
                        }
                        // No scratch bytes are in use here, as on the send side.
                        ring.rewind_if_empty();
                    }
                    3 => {
                        let off = n % 64;
                        let mut out = vec![0; 50];
                        let got = ring.read_at(off, &mut out);
                        let want: Vec<u8> = model.iter().skip(off).take(50).copied().collect();
                        if out[..got] != want[..] {
                            return false;
                        }
                    }
                    _ => {
                        cap = ring.set_capacity(n * 2);
                        if cap != (n * 2).max(model.len()) {
                            return false;
                        }
                    }
                }
                if ring.len() != model.len()
                    || ring.free() != cap - model.len()
                    || ring.allocated() > cap
                    || contents(&ring) != model.iter().copied().collect::<Vec<u8>>()
                {
                    return false;
                }
            }
            true
        }
    }
}
