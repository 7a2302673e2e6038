use super::*;
use core::cmp::Reverse;
use quickcheck::quickcheck;
use std::vec;
use std::vec::Vec;

fn ok(advanced: usize, stored: usize, duplicate: usize, trimmed: usize) -> Inserted {
    Inserted {
        advanced,
        stored,
        duplicate,
        trimmed,
    }
}

fn read_all(buf: &mut ReceiveBuffer) -> Vec<u8> {
    let mut out = vec![0; buf.readable()];
    let n = buf.read(&mut out);
    out.truncate(n);
    out
}

fn ranges(buf: &ReceiveBuffer) -> Vec<(usize, usize)> {
    buf.out_of_order_ranges().collect()
}

fn sacks(buf: &ReceiveBuffer, max: usize) -> Vec<(usize, usize)> {
    buf.sack_ranges(max).collect()
}

#[test]
fn in_order_data_is_readable_at_once() {
    let mut buf = ReceiveBuffer::new(10);
    assert_eq!(buf.allocated(), 0);
    assert_eq!(buf.insert(0, b"hello"), Ok(ok(5, 5, 0, 0)));
    assert_eq!((buf.readable(), buf.window()), (5, 5));
    let mut out = [0; 3];
    assert_eq!(buf.read(&mut out), 3);
    assert_eq!(&out, b"hel");
    assert_eq!(read_all(&mut buf), b"lo");
    assert_eq!(buf.window(), 10);
}

#[test]
fn zero_length_inserts_do_nothing() {
    let mut buf = ReceiveBuffer::new(10);
    assert_eq!(buf.insert(0, b""), Ok(Inserted::default()));
    assert_eq!(buf.insert(5, b""), Ok(Inserted::default()));
    assert_eq!(buf.insert(usize::MAX, b""), Ok(Inserted::default()));
    assert_eq!((buf.readable(), buf.out_of_order_ranges().len()), (0, 0));
    assert_eq!(buf.allocated(), 0);
}

#[test]
fn data_beyond_the_window_is_trimmed() {
    let mut buf = ReceiveBuffer::new(10);
    assert_eq!(buf.insert(10, b"abc"), Ok(ok(0, 0, 0, 3)));
    assert_eq!(buf.insert(usize::MAX, b"abc"), Ok(ok(0, 0, 0, 3)));
    assert_eq!(buf.allocated(), 0);
    assert_eq!(buf.insert(8, b"abc"), Ok(ok(0, 2, 0, 1)));
    assert_eq!(ranges(&buf), [(8, 10)]);
    assert_eq!(buf.insert(0, b"0123456789xyz"), Ok(ok(10, 8, 2, 3)));
    assert_eq!(read_all(&mut buf), b"01234567ab");
}

#[test]
fn exact_fill_closes_the_window_until_read() {
    let mut buf = ReceiveBuffer::new(8);
    assert_eq!(buf.insert(4, b"efgh"), Ok(ok(0, 4, 0, 0)));
    assert_eq!(buf.insert(0, b"abcd"), Ok(ok(8, 4, 0, 0)));
    assert_eq!((buf.readable(), buf.window()), (8, 0));
    assert_eq!(buf.insert(0, b"i"), Ok(ok(0, 0, 0, 1)));
    let mut out = [0; 3];
    buf.read(&mut out);
    assert_eq!(buf.window(), 3);
    // The next bytes wrap around the 8-byte storage.
    assert_eq!(buf.insert(0, b"ijk"), Ok(ok(3, 3, 0, 0)));
    assert_eq!(buf.ring.as_slices_at(0, 8), (&b"defgh"[..], &b"ijk"[..]));
}

#[test]
fn gap_fill_advances_over_held_ranges() {
    let mut buf = ReceiveBuffer::new(100);
    buf.insert(3, b"de").unwrap();
    buf.insert(7, b"hi").unwrap();
    assert_eq!(ranges(&buf), [(3, 5), (7, 9)]);
    assert_eq!(buf.out_of_order_bytes(), 4);
    assert_eq!(buf.insert(0, b"abc"), Ok(ok(5, 3, 0, 0)));
    assert_eq!(ranges(&buf), [(2, 4)]);
    assert_eq!(buf.insert(0, b"fghij"), Ok(ok(5, 3, 2, 0)));
    assert_eq!(read_all(&mut buf), b"abcdefghij");
    assert_eq!(buf.out_of_order_bytes(), 0);
}

#[test]
fn first_copy_wins() {
    let mut buf = ReceiveBuffer::new(100);
    buf.insert(2, b"AAAA").unwrap();
    buf.insert(9, b"CC").unwrap();
    assert_eq!(buf.insert(4, b"bbbbbbbbbb"), Ok(ok(0, 6, 4, 0)));
    assert_eq!(ranges(&buf), [(2, 14)]);
    assert_eq!(buf.insert(0, b"xxxxxxxxxxxxxxxx"), Ok(ok(16, 4, 12, 0)));
    assert_eq!(read_all(&mut buf), b"xxAAAAbbbCCbbbxx");
}

#[test]
fn adjacent_ranges_merge() {
    let mut buf = ReceiveBuffer::new(100);
    buf.insert(2, b"ab").unwrap();
    buf.insert(6, b"ef").unwrap();
    assert_eq!(buf.insert(4, b"cd"), Ok(ok(0, 2, 0, 0)));
    assert_eq!(ranges(&buf), [(2, 8)]);
}

#[test]
fn range_limit_refuses_new_ranges_only() {
    let mut buf = ReceiveBuffer::new(1000);
    for i in 0..MAX_RANGES {
        assert!(buf.insert(10 * (i + 1), b"x").is_ok());
    }
    assert_eq!(buf.out_of_order_ranges().len(), MAX_RANGES);
    let before = buf.allocated();
    assert_eq!(buf.insert(5, b"y"), Err(InsertError::TooManyRanges));
    assert_eq!(buf.insert(995, b"y"), Err(InsertError::TooManyRanges));
    assert_eq!(
        (buf.out_of_order_bytes(), buf.allocated()),
        (MAX_RANGES, before)
    );
    // Growing a range, bridging two, or arriving in order is fine.
    assert_eq!(buf.insert(11, b"y"), Ok(ok(0, 1, 0, 0)));
    assert_eq!(buf.insert(11, b"zzzzzzzzz"), Ok(ok(0, 8, 1, 0)));
    assert_eq!(buf.out_of_order_ranges().len(), MAX_RANGES - 1);
    assert_eq!(buf.insert(5, b"y"), Ok(ok(0, 1, 0, 0)));
    assert_eq!(buf.insert(0, b"0123"), Ok(ok(4, 4, 0, 0)));
    assert_eq!(buf.out_of_order_ranges().len(), MAX_RANGES);
    assert_eq!(buf.insert(0, b"4"), Ok(ok(2, 1, 0, 0)));
}

#[test]
fn sack_blocks_most_recent_first() {
    let mut buf = ReceiveBuffer::new(100);
    buf.insert(10, b"a").unwrap();
    buf.insert(20, b"b").unwrap();
    buf.insert(30, b"c").unwrap();
    buf.insert(11, b"a").unwrap();
    assert_eq!(sacks(&buf, 4), [(10, 12), (30, 31), (20, 21)]);
    // A pure duplicate still names the block it landed in first.
    assert_eq!(buf.insert(20, b"b"), Ok(ok(0, 0, 1, 0)));
    assert_eq!(sacks(&buf, 2), [(20, 21), (10, 12)]);
    assert_eq!(sacks(&buf, 0), []);
    // In-order data absorbs [10, 12) and shifts the rest without reordering.
    assert_eq!(buf.insert(0, b"0123456789"), Ok(ok(12, 10, 0, 0)));
    assert_eq!(sacks(&buf, 4), [(8, 9), (18, 19)]);
}

#[test]
fn capacity_grows_mid_stream() {
    let mut buf = ReceiveBuffer::new(4);
    buf.insert(0, b"abcdef").unwrap();
    buf.insert(0, b"").unwrap();
    assert_eq!(buf.window(), 0);
    assert_eq!(buf.set_capacity(12), 12);
    assert_eq!(buf.insert(4, b"ij"), Ok(ok(0, 2, 0, 0)));
    assert_eq!(buf.insert(0, b"efgh"), Ok(ok(6, 4, 0, 0)));
    assert_eq!(read_all(&mut buf), b"abcdefghij");
}

#[test]
fn shrink_never_drops_held_bytes() {
    let mut buf = ReceiveBuffer::new(200);
    buf.insert(0, b"abcde").unwrap();
    buf.insert(100, b"0123456789").unwrap();
    assert_eq!(buf.set_capacity(50), 115);
    assert_eq!(buf.window(), 110);
    assert_eq!(buf.insert(0, &[b'.'; 100]), Ok(ok(110, 100, 0, 0)));
    assert_eq!(buf.set_capacity(0), 115);
    assert_eq!(read_all(&mut buf).len(), 115);
    assert_eq!(buf.set_capacity(0), 0);
    assert_eq!(buf.allocated(), 0);
}

/// Byte `i` of the test stream: varied enough that a misplaced byte shows.
fn stream_byte(seed: u32, i: usize) -> u8 {
    let x = (i as u32).wrapping_mul(0x9e37_79b9) ^ seed;
    (x ^ (x >> 13)) as u8
}

/// Checks the invariants that hold between any two operations.
fn invariants_hold(buf: &ReceiveBuffer) -> bool {
    let rs = ranges(buf);
    let sorted_apart = rs.windows(2).all(|w| w[0].1 < w[1].0);
    buf.readable() + buf.window() == buf.capacity()
        && rs.len() <= MAX_RANGES
        && sorted_apart
        && rs.iter().all(|&(s, e)| 0 < s && s < e && e <= buf.window())
        && buf.out_of_order_bytes() == rs.iter().map(|(s, e)| e - s).sum::<usize>()
}

quickcheck! {
    /// Any order of any (overlapping, repeated) segments of a stream, with
    /// reads in between, yields the stream once a final in-order pass fills
    /// what was dropped or trimmed.
    fn reassembles_any_arrival_order(
        seed: u32,
        len: u16,
        capacity: u16,
        segments: Vec<(u16, u8, bool)>
    ) -> bool {
        let total = usize::from(len % 4096);
        let stream: Vec<u8> = (0..total).map(|i| stream_byte(seed, i)).collect();
        let mut buf = ReceiveBuffer::new(usize::from(capacity % 1024) + 1);
        let mut arrivals: Vec<(usize, usize)> = Vec::new();
        let mut again = Vec::new();
        for (start, n, repeat) in segments {
            let start = usize::from(start) % (total + 1);
            // A quarter are sprays of one-byte segments with gaps between,
            // which crowd the range limit.
            let (count, stride, n) = if n < 64 { (8, 3, 1) } else { (1, 0, usize::from(n % 100)) };
            for j in 0..count {
                let s = (start + stride * j).min(total);
                arrivals.push((s, (s + n).min(total)));
                if repeat {
                    again.push((s, (s + n).min(total)));
                }
            }
        }
        arrivals.extend(again);

        let (mut nxt, mut out) = (0usize, Vec::new());
        let mut deliver = |buf: &mut ReceiveBuffer, s: usize, e: usize| {
            if e <= nxt {
                return true; // entirely old: the connection drops it
            }
            let s = s.max(nxt);
            match buf.insert(s - nxt, &stream[s..e]) {
                Ok(ins) => {
                    nxt += ins.advanced;
                    ins.stored + ins.duplicate + ins.trimmed == e - s
                }
                Err(e) => e == InsertError::TooManyRanges,
            }
        };
        for (i, &(s, e)) in arrivals.iter().enumerate() {
            if !deliver(&mut buf, s, e) || !invariants_hold(&buf) {
                return false;
            }
            if i % 3 == 0 {
                let mut chunk = vec![0; e - s];
                let n = buf.read(&mut chunk);
                out.extend_from_slice(&chunk[..n]);
            }
        }
        while out.len() < total {
            let at = out.len() + buf.readable();
            let end = total.min(at + 100);
            if !deliver(&mut buf, at, end) || !invariants_hold(&buf) {
                return false;
            }
            out.extend(read_all(&mut buf));
        }
        out == stream && buf.readable() == 0 && buf.out_of_order_bytes() == 0
    }
}

/// A byte-by-byte model of the receive buffer over absolute stream offsets.
struct Model {
    /// The first value stored at each offset, if any.
    bytes: Vec<Option<u8>>,
    /// When each offset last received a segment (0: never).
    touched: Vec<u64>,
    /// Bytes the application has read.
    read: usize,
    /// RCV.NXT.
    nxt: usize,
    capacity: usize,
    clock: u64,
}

impl Model {
    fn held(&self, i: usize) -> bool {
        self.bytes.get(i).is_some_and(Option::is_some)
    }

    /// Out-of-order runs as (start, end, last touched), relative to RCV.NXT.
    fn runs(&self) -> Vec<(usize, usize, u64)> {
        let mut runs: Vec<(usize, usize, u64)> = Vec::new();
        for i in self.nxt..self.bytes.len() {
            if !self.held(i) {
                continue;
            }
            let rel = i - self.nxt;
            match runs.last_mut() {
                Some(run) if run.1 == rel => {
                    run.1 += 1;
                    run.2 = run.2.max(self.touched[i]);
                }
                _ => runs.push((rel, rel + 1, self.touched[i])),
            }
        }
        runs
    }

    /// What `insert` should return, applying it to the model.
    fn insert(&mut self, off: usize, data: &[u8]) -> Result<Inserted, InsertError> {
        let window = self.capacity - (self.nxt - self.read);
        let keep = data.len().min(window.saturating_sub(off));
        let trimmed = data.len() - keep;
        if keep == 0 {
            return Ok(ok(0, 0, 0, trimmed));
        }
        let (s, e) = (self.nxt + off, self.nxt + off + keep);
        self.bytes.resize(self.bytes.len().max(e + 1), None);
        self.touched.resize(self.bytes.len(), 0);
        // A segment past RCV.NXT opens a run unless it overlaps or abuts one.
        let opens_run = off > 0 && !(s - 1..=e).any(|i| self.held(i));
        if opens_run && self.runs().len() >= MAX_RANGES {
            return Err(InsertError::TooManyRanges);
        }
        self.clock += 1;
        let mut duplicate = 0;
        for i in s..e {
            match self.bytes[i] {
                Some(_) => duplicate += 1,
                None => self.bytes[i] = Some(data[i - s]),
            }
            self.touched[i] = self.clock;
        }
        let before = self.nxt;
        while self.held(self.nxt) {
            self.nxt += 1;
        }
        Ok(ok(self.nxt - before, keep - duplicate, duplicate, trimmed))
    }
}

/// Inserts `len` bytes tagged `tag` at `off` into both, and checks that
/// they agree and that a segment stored out of order is the first SACK block.
fn insert_agrees(buf: &mut ReceiveBuffer, m: &mut Model, off: usize, len: usize, tag: u8) -> bool {
    let data: Vec<u8> = (0..len)
        .map(|i| stream_byte(u32::from(tag), m.nxt + off + i))
        .collect();
    let got = buf.insert(off, &data);
    if got != m.insert(off, &data) {
        return false;
    }
    let stored = got.map_or(0, |ins| len - ins.trimmed);
    if off == 0 || stored == 0 {
        return true;
    }
    matches!(buf.sack_ranges(1).next(), Some((s, e)) if s <= off && off + stored <= e)
}

quickcheck! {
    /// Inserts of differing copies, reads, capacity changes and releases
    /// agree with the byte model: the first copy of each byte wins, the
    /// counts add up, and SACK blocks come most recently touched first.
    fn matches_the_byte_model(capacity: u16, ops: Vec<(u8, u16, u8, u8)>) -> bool {
        let capacity = usize::from(capacity % 512) + 1;
        let mut buf = ReceiveBuffer::new(capacity);
        let mut m = Model {
            bytes: Vec::new(),
            touched: Vec::new(),
            read: 0,
            nxt: 0,
            capacity,
            clock: 0,
        };
        for (kind, a, b, tag) in ops {
            match kind % 8 {
                0..=2 => {
                    let off = if kind % 8 == 0 { 0 } else { usize::from(a) % (m.capacity + 8) };
                    if !insert_agrees(&mut buf, &mut m, off, usize::from(b % 16), tag) {
                        return false;
                    }
                }
                3 | 4 => {
                    // A spray of one-byte segments at odd offsets opens
                    // many ranges and so reaches the limit.
                    for j in 0..12 {
                        let off = 1 + 2 * ((usize::from(a) + 29 * j) % 64);
                        if !insert_agrees(&mut buf, &mut m, off, 1, tag) {
                            return false;
                        }
                    }
                }
                5 | 7 => {
                    let mut out = vec![0; usize::from(a % 64)];
                    let n = buf.read(&mut out);
                    let want: Vec<u8> = (m.read..m.read + n).filter_map(|i| m.bytes[i]).collect();
                    if n != out.len().min(m.nxt - m.read) || out[..n] != want[..] {
                        return false;
                    }
                    m.read += n;
                }
                _ => {
                    let held = (m.nxt - m.read) + m.runs().last().map_or(0, |r| r.1);
                    let want = usize::from(a % 600).max(held);
                    if buf.set_capacity(usize::from(a % 600)) != want {
                        return false;
                    }
                    m.capacity = want;
                }
            }
            let mut runs = m.runs();
            let plain: Vec<(usize, usize)> = runs.iter().map(|r| (r.0, r.1)).collect();
            runs.sort_by_key(|r| Reverse(r.2));
            let by_recency: Vec<(usize, usize)> = runs.iter().map(|r| (r.0, r.1)).collect();
            let mut peeked = vec![0; buf.readable()];
            buf.ring.read_at(0, &mut peeked);
            let model_readable: Vec<u8> = (m.read..m.nxt).filter_map(|i| m.bytes[i]).collect();
            if !invariants_hold(&buf)
                || buf.capacity() != m.capacity
                || buf.readable() != m.nxt - m.read
                || peeked != model_readable
                || ranges(&buf) != plain
                || sacks(&buf, MAX_RANGES) != by_recency
                || sacks(&buf, 3) != by_recency[..by_recency.len().min(3)]
            {
                return false;
            }
        }
        true
    }
}
