//! Clock times: nanoseconds, printed as GStreamer prints them (`0:00:01.000000000`).

use std::fmt;
use std::time::Duration;

/// A time in nanoseconds (a position, a timestamp or a duration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockTime(u64);

impl ClockTime {
    /// Zero.
    pub const ZERO: ClockTime = ClockTime(0);
    /// One nanosecond.
    pub const NSECOND: ClockTime = ClockTime(1);
    /// One microsecond.
    pub const USECOND: ClockTime = ClockTime(1_000);
    /// One millisecond.
    pub const MSECOND: ClockTime = ClockTime(1_000_000);
    /// One second.
    pub const SECOND: ClockTime = ClockTime(1_000_000_000);

    /// From nanoseconds.
    pub const fn from_nseconds(ns: u64) -> ClockTime {
        ClockTime(ns)
    }

    /// From milliseconds (saturating).
    pub const fn from_mseconds(ms: u64) -> ClockTime {
        ClockTime(ms.saturating_mul(1_000_000))
    }

    /// From seconds (saturating).
    pub const fn from_seconds(s: u64) -> ClockTime {
        ClockTime(s.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds.
    pub const fn nseconds(self) -> u64 {
        self.0
    }

    /// `value * num / den` without intermediate overflow, rounded down; `None` if `den`
    /// is zero or the result does not fit.
    pub fn scale(value: u64, num: u64, den: u64) -> Option<u64> {
        if den == 0 {
            return None;
        }
        u64::try_from(u128::from(value) * u128::from(num) / u128::from(den)).ok()
    }

    /// Sum, `None` on overflow.
    pub fn checked_add(self, other: ClockTime) -> Option<ClockTime> {
        self.0.checked_add(other.0).map(ClockTime)
    }
}

impl From<Duration> for ClockTime {
    fn from(d: Duration) -> Self {
        ClockTime(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl From<ClockTime> for Duration {
    fn from(t: ClockTime) -> Self {
        Duration::from_nanos(t.0)
    }
}

impl fmt::Display for ClockTime {
    /// `H:MM:SS.NNNNNNNNN`, as GStreamer's `GST_TIME_FORMAT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let s = ns / 1_000_000_000;
        write!(
            f,
            "{}:{:02}:{:02}.{:09}",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            ns % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_gstreamer() {
        assert_eq!(ClockTime::ZERO.to_string(), "0:00:00.000000000");
        assert_eq!(
            ClockTime::from_nseconds(33_333_333).to_string(),
            "0:00:00.033333333"
        );
        assert_eq!(
            ClockTime::from_seconds(3723).to_string(),
            "1:02:03.000000000"
        );
    }

    #[test]
    fn scale_is_exact_and_checked() {
        assert_eq!(ClockTime::scale(3, 1_000_000_000, 90), Some(33_333_333));
        assert_eq!(ClockTime::scale(1, 1, 0), None);
        assert_eq!(ClockTime::scale(u64::MAX, 2, 1), None);
    }
}
