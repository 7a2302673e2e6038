//! TCP sequence numbers: 32-bit values compared modulo 2³² (RFC 9293 §3.4,
//! RFC 1982 serial-number arithmetic).
//!
//! `a < b` means "b is ahead of a by less than 2³¹". The order is only
//! meaningful between numbers less than 2³¹ apart, which TCP guarantees for
//! any two numbers inside one window (the window is at most 2³⁰ bytes).

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A 32-bit TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The raw 32-bit value as it appears on the wire.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// How far `self` lies ahead of `base`, modulo 2³². For `base <= self`
    /// within a window this is the byte count from `base` to `self`.
    pub const fn distance_from(self, base: SeqNumber) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// The signed difference `self - other`: positive when `self` is ahead.
    pub const fn signed_diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// True when `start <= self < start + len` (modulo 2³²). A zero-length
    /// window contains nothing.
    pub const fn in_window(self, start: SeqNumber, len: u32) -> bool {
        self.distance_from(start) < len
    }

    /// True when `start <= self < end` (modulo 2³²), with `end` at most 2³²−1
    /// ahead of `start`. An empty range (`start == end`) contains nothing.
    pub const fn in_range(self, start: SeqNumber, end: SeqNumber) -> bool {
        self.distance_from(start) < end.distance_from(start)
    }

    /// True when `start <= self <= end` (modulo 2³²).
    pub const fn in_range_inclusive(self, start: SeqNumber, end: SeqNumber) -> bool {
        self.distance_from(start) <= end.distance_from(start)
    }

    /// The later of the two in sequence space.
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self.signed_diff(other) >= 0 {
            self
        } else {
            other
        }
    }

    /// The earlier of the two in sequence space.
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self.signed_diff(other) <= 0 {
            self
        } else {
            other
        }
    }
}

/// Modular order: see the module documentation for when it is meaningful.
/// Numbers exactly 2³¹ apart compare as `self > other` in both directions'
/// signed view, so this returns `Some` for every pair; callers keep their
/// numbers within a window of each other.
impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some(self.signed_diff(*other).cmp(&0))
    }
}

/// Advances by `n` bytes, wrapping at 2³².
impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
}

/// Advances by a byte count, wrapping at 2³² (lengths are reduced modulo 2³²).
impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n as u32))
    }
}

impl AddAssign<u32> for SeqNumber {
    fn add_assign(&mut self, n: u32) {
        *self = *self + n;
    }
}

impl AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, n: usize) {
        *self = *self + n;
    }
}

/// Steps back by `n` bytes, wrapping at 2³².
impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(n))
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn comparison_wraps() {
        let near_top = SeqNumber(u32::MAX - 10);
        let wrapped = near_top + 20u32;
        assert_eq!(wrapped, SeqNumber(9));
        assert!(near_top < wrapped);
        assert!(wrapped > near_top);
        assert_eq!(wrapped.distance_from(near_top), 20);
        assert_eq!(near_top.signed_diff(wrapped), -20);
        assert_eq!(near_top.max(wrapped), wrapped);
        assert_eq!(near_top.min(wrapped), near_top);
        assert_eq!(wrapped - 20u32, near_top);
    }

    #[test]
    fn windows_across_the_wrap() {
        let start = SeqNumber(u32::MAX - 1);
        assert!(start.in_window(start, 1));
        assert!(!start.in_window(start, 0));
        assert!(SeqNumber(0).in_window(start, 3));
        assert!(!SeqNumber(1).in_window(start, 3));
        assert!(SeqNumber(0).in_range(start, SeqNumber(1)));
        assert!(!SeqNumber(1).in_range(start, SeqNumber(1)));
        assert!(SeqNumber(1).in_range_inclusive(start, SeqNumber(1)));
        assert!(!SeqNumber(2).in_range_inclusive(start, SeqNumber(1)));
    }

    quickcheck! {
        fn add_then_distance_is_identity(base: u32, n: u32) -> bool {
            (SeqNumber(base) + n).distance_from(SeqNumber(base)) == n
        }

        fn order_agrees_with_offsets_within_half_space(base: u32, a: u32, b: u32) -> bool {
            let (a, b) = (a % (1 << 30), b % (1 << 30));
            let (sa, sb) = (SeqNumber(base) + a, SeqNumber(base) + b);
            sa.partial_cmp(&sb) == a.partial_cmp(&b)
        }

        fn in_window_matches_offset(base: u32, off: u32, len: u32) -> bool {
            (SeqNumber(base) + off).in_window(SeqNumber(base), len) == (off < len)
        }
    }
}
