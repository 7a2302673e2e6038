//! Time as the host tells it.
//!
//! The core never reads a clock. Every call that depends on time takes an
//! [`Instant`] from the host; deadlines come back as [`Instant`]s. Both types
//! count microseconds in a `u64`, which covers about 584,000 years, so the
//! arithmetic saturates instead of wrapping and never panics.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A point in time, in microseconds since an origin the host chooses
/// (process start, boot, the start of a simulation).
///
/// Only differences between instants are meaningful; the core never assumes
/// anything about the origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    micros: u64,
}

/// A span of time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    micros: u64,
}

impl Instant {
    /// The origin of the host's clock.
    pub const ZERO: Instant = Instant { micros: 0 };
    /// The latest representable instant; used as "never" for deadlines.
    pub const MAX: Instant = Instant { micros: u64::MAX };

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Instant {
        Instant {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// An instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the origin.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }

    /// Whole milliseconds since the origin.
    pub const fn total_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(earlier.micros),
        }
    }

    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_add(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }

    /// `self - d`, or `None` if that would precede the origin.
    pub const fn checked_sub(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_sub(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };
    /// The longest representable span.
    pub const MAX: Duration = Duration { micros: u64::MAX };

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Duration {
        Duration { micros }
    }

    /// A span of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Duration {
        Duration {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// A span of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// The span in microseconds.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }

    /// The span in whole milliseconds (rounded down).
    pub const fn total_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// The span in whole seconds (rounded down).
    pub const fn total_secs(self) -> u64 {
        self.micros / 1_000_000
    }

    /// `self * n`, saturating at [`Duration::MAX`].
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration {
            micros: self.micros.saturating_mul(n),
        }
    }

    /// `self / n`; dividing by zero gives [`Duration::MAX`] rather than a panic.
    pub const fn div(self, n: u64) -> Duration {
        match self.micros.checked_div(n) {
            Some(micros) => Duration { micros },
            None => Duration::MAX,
        }
    }

    /// `self - other`, or zero if `other` is longer.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(other.micros),
        }
    }

    /// `self + other`, saturating at [`Duration::MAX`].
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_add(other.micros),
        }
    }

    /// The absolute difference between two spans.
    pub const fn abs_diff(self, other: Duration) -> Duration {
        Duration {
            micros: self.micros.abs_diff(other.micros),
        }
    }
}

/// Saturates at [`Instant::MAX`] ("never") instead of overflowing.
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_add(d.micros),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// Saturates at the origin instead of underflowing.
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_sub(d.micros),
        }
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

/// The elapsed time between two instants; zero if `rhs` is later.
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Saturates at [`Duration::MAX`].
impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        self.saturating_add(rhs)
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

/// Saturates at zero.
impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        self.saturating_sub(rhs)
    }
}

impl SubAssign for Duration {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

/// Shows the span in the largest unit that keeps it exact to the microsecond
/// at a glance: `1.5s`, `40ms`, `250us`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.micros;
        if us >= 1_000_000 {
            write!(f, "{}.{:06}s", us / 1_000_000, us % 1_000_000)
        } else if us >= 1_000 && us % 1_000 == 0 {
            write!(f, "{}ms", us / 1_000)
        } else {
            write!(f, "{us}us")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_secs(1) - Instant::from_secs(2),
            Duration::ZERO
        );
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::from_millis(5).div(0), Duration::MAX);
        assert_eq!(Instant::ZERO.checked_sub(Duration::from_micros(1)), None);
        assert_eq!(Instant::MAX.checked_add(Duration::from_micros(1)), None);
    }

    #[test]
    fn conversions_round_trip() {
        let t = Instant::from_millis(1_500);
        assert_eq!(t.total_micros(), 1_500_000);
        assert_eq!(t.total_millis(), 1_500);
        assert_eq!(
            Instant::from_secs(3) - Instant::from_millis(500),
            Duration::from_micros(2_500_000)
        );
        assert_eq!(Duration::from_millis(2_500).total_secs(), 2);
        assert_eq!(
            Duration::from_millis(30).abs_diff(Duration::from_millis(50)),
            Duration::from_millis(20)
        );
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(format!("{}", Duration::from_millis(40)), "40ms");
        assert_eq!(format!("{}", Duration::from_micros(250)), "250us");
        assert_eq!(format!("{}", Duration::from_millis(1_500)), "1.500000s");
        assert_eq!(format!("{}", Instant::from_micros(2_000_001)), "2.000001s");
    }
}
