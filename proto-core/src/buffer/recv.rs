//! The receive buffer: in-order bytes for the application, and out-of-order
//! bytes held for reassembly.

use alloc::vec::Vec;
use core::fmt;

use super::RingBuffer;

/// Most separate out-of-order ranges a [`ReceiveBuffer`] keeps. A segment
/// that would open one more is refused ([`InsertError::TooManyRanges`]), so
/// a peer spraying tiny scattered segments cannot make reassembly slow.
pub const MAX_RANGES: usize = 32;

/// What [`ReceiveBuffer::insert`] did with a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Inserted {
    /// Bytes that became readable: the caller adds this to RCV.NXT. Nonzero
    /// only when the segment started at offset 0.
    pub advanced: usize,
    /// Bytes newly stored (in order or not).
    pub stored: usize,
    /// Bytes inside the window that were already held; the stored copy was
    /// kept, as TCP says the first copy wins.
    pub duplicate: usize,
    /// Bytes past the right edge of the window, dropped.
    pub trimmed: usize,
}

/// Why [`ReceiveBuffer::insert`] stored nothing of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InsertError {
    /// The segment would open out-of-order range number
    /// [`MAX_RANGES`] + 1.
    TooManyRanges,
    /// The allocator refused the storage the segment needs.
    OutOfMemory,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::TooManyRanges => {
                write!(f, "segment would exceed {MAX_RANGES} out-of-order ranges")
            }
            InsertError::OutOfMemory => f.write_str("no memory for the segment"),
        }
    }
}

impl core::error::Error for InsertError {}

/// One out-of-order range, half-open, in offsets from RCV.NXT.
#[derive(Clone, Copy, Debug)]
struct Range {
    start: usize,
    end: usize,
    /// When a segment last landed in this range (a counter, not a clock).
    stamp: u64,
}

/// Bytes received: first those in order, ready for the application
/// (*readable*), then the window, where out-of-order segments wait for the
/// gaps before them to fill.
///
/// Offsets given to [`insert`](Self::insert) and returned by the range
/// queries count from RCV.NXT, the first byte not yet received in order,
/// which is the end of the readable bytes. The window is what is left of
/// the capacity after the readable bytes: `readable() + window() ==
/// capacity()` always, and out-of-order bytes always lie inside the window.
#[derive(Clone, Debug, Default)]
pub struct ReceiveBuffer {
    /// Readable bytes are committed; out-of-order bytes sit in its scratch
    /// area at their offsets.
    ring: RingBuffer,
    /// Out-of-order ranges sorted by start, disjoint, non-adjacent, and all
    /// starting after offset 0 (a range at 0 is readable at once).
    ranges: Vec<Range>,
    /// Source of recency stamps.
    clock: u64,
}

impl ReceiveBuffer {
    /// An empty buffer with a window of `capacity` bytes. Allocates nothing
    /// until data arrives.
    pub const fn new(capacity: usize) -> ReceiveBuffer {
        ReceiveBuffer {
            ring: RingBuffer::new(capacity),
            ranges: Vec::new(),
            clock: 0,
        }
    }

    /// The most bytes the buffer holds: readable plus window.
    pub const fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Changes the capacity (receive-window auto-tuning) and returns the one
    /// actually set. It never drops below the readable bytes plus the end of
    /// the last out-of-order range, so nothing held is lost; not shrinking
    /// the window the peer was offered is the connection's business.
    pub fn set_capacity(&mut self, capacity: usize) -> usize {
        let held = self.ring.len() + self.ranges.last().map_or(0, |r| r.end);
        self.ring.set_capacity(capacity.max(held))
    }

    /// In-order bytes the application can read.
    pub const fn readable(&self) -> usize {
        self.ring.len()
    }

    /// Space from RCV.NXT on: what the receiver may advertise.
    pub const fn window(&self) -> usize {
        self.ring.free()
    }

    /// Moves readable bytes into `out`; returns how many.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.ring.pop(out);
        if self.ranges.is_empty() {
            self.ring.rewind_if_empty();
        }
        n
    }

    /// Copies readable bytes into `out` without consuming them; returns
    /// how many.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        self.ring.read_at(0, out)
    }

    /// Bytes held out of order.
    pub fn out_of_order_bytes(&self) -> usize {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// The out-of-order ranges as half-open offsets from RCV.NXT, in
    /// increasing order.
    #[cfg(any(test, feature = "internals"))]
    pub fn out_of_order_ranges(&self) -> impl ExactSizeIterator<Item = (usize, usize)> + '_ {
        self.ranges.iter().map(|r| (r.start, r.end))
    }

    /// Up to `max` out-of-order ranges for SACK blocks (RFC 2018 §4), as
    /// half-open offsets from RCV.NXT. The first contains the most recently
    /// received segment; the rest follow, most recently changed first.
    pub fn sack_ranges(&self, max: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        // Each step picks the most recent range older than the last one
        // (stamps are unique): O(ranges) per block, and nothing at all to
        // build when there are no ranges, the case of every in-order
        // segment.
        let mut older_than = u64::MAX;
        core::iter::from_fn(move || {
            let r = self
                .ranges
                .iter()
                .filter(|r| r.stamp < older_than)
                .max_by_key(|r| r.stamp)?;
            older_than = r.stamp;
            Some((r.start, r.end))
        })
        .take(max)
    }

    /// Stores the part of `data` that falls inside the window, `offset`
    /// bytes after RCV.NXT. Bytes already held are left as they are. When
    /// the segment starts at offset 0, it and any out-of-order ranges it
    /// joins become readable, and `advanced` says how many bytes that was.
    ///
    /// A segment that would open range [`MAX_RANGES`] + 1 is refused and
    /// nothing of it stored; one at offset 0 never is.
    pub fn insert(&mut self, offset: usize, data: &[u8]) -> Result<Inserted, InsertError> {
        let keep = data.len().min(self.window().saturating_sub(offset));
        let trimmed = data.len() - keep;
        if keep == 0 {
            return Ok(Inserted {
                trimmed,
                ..Inserted::default()
            });
        }
        let data = &data[..keep];
        let (start, end) = (offset, offset + keep);

        // Ranges `first..last` overlap [start, end) or touch it.
        let first = self.ranges.partition_point(|r| r.end < start);
        let last = first + self.ranges[first..].partition_point(|r| r.start <= end);
        let opens_range = first == last && start > 0;
        if opens_range {
            if self.ranges.len() >= MAX_RANGES {
                return Err(InsertError::TooManyRanges);
            }
            if self.ranges.try_reserve(1).is_err() {
                return Err(InsertError::OutOfMemory);
            }
        }
        if !self.ring.reserve(self.ring.len() + end) {
            return Err(InsertError::OutOfMemory);
        }

        // Write only the gaps between held ranges: the first copy wins.
        let mut stored = 0;
        let mut cursor = start;
        for r in &self.ranges[first..last] {
            if r.start > cursor {
                stored += self
                    .ring
                    .write_at(cursor, &data[cursor - start..r.start - start]);
            }
            cursor = cursor.max(r.end);
        }
        if cursor < end {
            stored += self.ring.write_at(cursor, &data[cursor - start..]);
        }

        let (merged_start, merged_end) = if first < last {
            let (a, b) = (&self.ranges[first], &self.ranges[last - 1]);
            (a.start.min(start), b.end.max(end))
        } else {
            (start, end)
        };
        self.ranges.drain(first..last);
        self.clock = self.clock.wrapping_add(1);

        let mut advanced = 0;
        if merged_start == 0 {
            // `first` is 0 here, and every other range starts past
            // `merged_end`, so the shift leaves them all above 0.
            advanced = self.ring.commit(merged_end);
            for r in &mut self.ranges {
                r.start -= advanced;
                r.end -= advanced;
            }
        } else {
            let range = Range {
                start: merged_start,
                end: merged_end,
                stamp: self.clock,
            };
            self.ranges.insert(first, range);
        }
        Ok(Inserted {
            advanced,
            stored,
            duplicate: keep - stored,
            trimmed,
        })
    }

    /// Bytes of storage currently allocated for data.
    pub fn allocated(&self) -> usize {
        self.ring.allocated()
    }
}

#[cfg(test)]
mod tests;
