//! The time model: the host passes time in; the core never reads a clock.
//!
//! [`HostTime`] is monotonic nanoseconds since an epoch the host chooses
//! (process start, boot, or the first packet of a capture). Media time on an RTP
//! stream is counted in RTP ticks of that stream's [`ClockRate`]
//! and carried as [`MediaTime`].

#![forbid(unsafe_code)]

use crate::audio::ClockRate;
use std::time::Duration;

/// Monotonic host time in nanoseconds since an epoch chosen by the host.
///
/// Built from an integer so that C hosts and simulated-clock tests can make one
/// without a real clock. Arithmetic saturates: time never wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HostTime(pub u64);

impl HostTime {
    /// The epoch itself (0 ns).
    pub const ZERO: HostTime = HostTime(0);

    /// Host time from nanoseconds since the host's epoch.
    pub const fn from_nanos(ns: u64) -> Self {
        HostTime(ns)
    }

    /// Host time from milliseconds since the host's epoch.
    pub const fn from_millis(ms: u64) -> Self {
        HostTime(ms.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the host's epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later than `self`.
    pub fn saturating_since(self, earlier: HostTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// This time plus `d` (saturating at `u64::MAX` ns).
    pub fn saturating_add(self, d: Duration) -> HostTime {
        HostTime(self.0.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    /// This time minus `d` (saturating at zero).
    pub fn saturating_sub(self, d: Duration) -> HostTime {
        HostTime(self.0.saturating_sub(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }
}

/// A span of media time: `ticks` of an RTP clock (or sample clock) of `rate` ticks per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaTime {
    /// Number of ticks.
    pub ticks: u64,
    /// Ticks per second.
    pub rate: ClockRate,
}

impl MediaTime {
    /// A media time of `ticks` at `rate`.
    pub const fn new(ticks: u64, rate: ClockRate) -> Self {
        MediaTime { ticks, rate }
    }

    /// The span as a [`Duration`] (exact to the nanosecond, rounded down).
    pub fn as_duration(self) -> Duration {
        let hz = u64::from(self.rate.hz().max(1));
        let secs = self.ticks / hz;
        let rem = self.ticks % hz;
        Duration::new(secs, u32::try_from(rem * 1_000_000_000 / hz).unwrap_or(0))
    }

    /// The same span counted at another rate, rounded to nearest.
    pub fn rescale(self, to: ClockRate) -> MediaTime {
        let from = u128::from(self.rate.hz().max(1));
        let to_hz = u128::from(to.hz());
        let t = (u128::from(self.ticks) * to_hz + from / 2) / from;
        MediaTime { ticks: u64::try_from(t).unwrap_or(u64::MAX), rate: to }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_time_converts() {
        let m = MediaTime::new(160, ClockRate::new(8000));
        assert_eq!(m.as_duration(), Duration::from_millis(20));
        assert_eq!(m.rescale(ClockRate::new(48_000)).ticks, 960);
    }

    #[test]
    fn host_time_saturates() {
        let t = HostTime::from_millis(5);
        assert_eq!(t.saturating_since(HostTime::from_millis(10)), Duration::ZERO);
        assert_eq!(HostTime(u64::MAX).saturating_add(Duration::from_secs(1)), HostTime(u64::MAX));
    }
}
