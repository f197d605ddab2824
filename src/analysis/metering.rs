//! Metering for billing: answer, end and cause, connected duration, billable units under a
//! policy, and the charge in integer fen (0.01 yuan), all on the session's own clock.
//!
//! The meter takes answer and end times from the session's `HostTime`, and a connected
//! time limit (prepaid balance, the prison's per-call cap) clamps the metered end: a host
//! that reports the end late is billed no further than the limit, and
//! [`Meter::poll_timeout`] tells the session when the limit falls due.

use crate::time::HostTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How connected time turns into billable units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BillingUnit {
    /// One unit per started second (1 s blocks).
    PerSecond,
    /// One unit per started minute (60 s blocks).
    PerStartedMinute,
    /// One unit per started block of this many seconds (e.g. 6).
    PerBlock {
        /// Block length in seconds (0 is taken as 1).
        seconds: u32,
    },
}

impl BillingUnit {
    /// Length of one unit in milliseconds.
    pub fn unit_ms(self) -> u64 {
        match self {
            BillingUnit::PerSecond => 1000,
            BillingUnit::PerStartedMinute => 60_000,
            BillingUnit::PerBlock { seconds } => u64::from(seconds.max(1)) * 1000,
        }
    }
}

/// The tariff and unit rules of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BillingPolicy {
    /// Unit size.
    pub unit: BillingUnit,
    /// Price per minute of connected time, in fen (0.01 yuan); 15 = 0.15 yuan/min.
    pub fen_per_minute: u32,
    /// A call whose connected time is at most this long is free (0 units).
    pub grace: Duration,
    /// When true, the grace is also deducted from longer calls; when false (default) a call
    /// longer than the grace is billed from its first millisecond.
    pub deduct_grace: bool,
}

impl Default for BillingPolicy {
    /// Per started minute at 0.15 yuan, no grace.
    fn default() -> Self {
        BillingPolicy {
            unit: BillingUnit::PerStartedMinute,
            fen_per_minute: 15,
            grace: Duration::ZERO,
            deduct_grace: false,
        }
    }
}

/// The bill for a connected duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Connected duration billed, ms.
    pub connected_ms: u64,
    /// Billable units.
    pub units: u64,
    /// Charge in fen, rounded up to the fen when a unit is not a whole number of fen.
    pub charge_fen: u64,
}

impl Bill {
    /// The charge as yuan with two decimals, e.g. `"1.65"` (exact: integer arithmetic).
    pub fn charge_yuan(&self) -> String {
        format!("{}.{:02}", self.charge_fen / 100, self.charge_fen % 100)
    }
}

impl BillingPolicy {
    /// Bills `connected` under this policy: units = started units of the (grace-deducted, if
    /// so configured) time, 0 within the grace; charge = ⌈units · unit_ms · fen_per_minute / 60 000⌉.
    ///
    /// 630 s per started minute at 15 fen/min: 11 units, 165 fen (1.65 yuan).
    pub fn bill(&self, connected: Duration) -> Bill {
        let ms = u64::try_from(connected.as_millis()).unwrap_or(u64::MAX);
        let grace = u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX);
        let billed = if ms <= grace {
            0
        } else if self.deduct_grace {
            ms - grace
        } else {
            ms
        };
        let unit = self.unit.unit_ms();
        let units = billed.div_ceil(unit);
        let num = u128::from(units) * u128::from(unit) * u128::from(self.fen_per_minute);
        let charge_fen = u64::try_from(num.div_ceil(60_000)).unwrap_or(u64::MAX);
        Bill { connected_ms: ms, units, charge_fen }
    }
}

/// Why a call ended, as the host or the session reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EndCause {
    /// The inmate's side hung up.
    HangupA,
    /// The family side hung up.
    HangupB,
    /// The connected time limit was reached.
    TimeLimit,
    /// Staff cut the call.
    StaffCut,
    /// Media stopped (no packets).
    MediaTimeout,
    /// Any other reason, in the host's words.
    Other(String),
}

/// Answer/end bookkeeping of one call on the session clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    policy: BillingPolicy,
    limit: Option<Duration>,
    answered: Option<HostTime>,
    ended: Option<(HostTime, EndCause)>,
    limit_reported: bool,
}

impl Meter {
    /// A meter with `policy` and an optional connected-time `limit`.
    pub fn new(policy: BillingPolicy, limit: Option<Duration>) -> Self {
        Meter { policy, limit, answered: None, ended: None, limit_reported: false }
    }

    /// The policy.
    pub fn policy(&self) -> &BillingPolicy {
        &self.policy
    }

    /// Marks the answer at `now`; later calls are ignored (returns false).
    pub fn answer(&mut self, now: HostTime) -> bool {
        if self.answered.is_some() || self.ended.is_some() {
            return false;
        }
        self.answered = Some(now);
        true
    }

    /// Answer time, if answered.
    pub fn answered_at(&self) -> Option<HostTime> {
        self.answered
    }

    /// The moment the limit is reached, if answered and limited.
    pub fn limit_at(&self) -> Option<HostTime> {
        Some(self.answered?.saturating_add(self.limit?))
    }

    /// Marks the end at `now` with `cause`; the metered end is clamped to the limit. Later
    /// calls are ignored (returns false).
    pub fn end(&mut self, now: HostTime, cause: EndCause) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let at = match self.limit_at() {
            Some(l) if now > l => l,
            _ => now,
        };
        self.ended = Some((at, cause));
        true
    }

    /// Metered end and cause, once ended.
    pub fn ended(&self) -> Option<(HostTime, &EndCause)> {
        self.ended.as_ref().map(|(t, c)| (*t, c))
    }

    /// When [`Self::handle_timeout`] must next run (the limit), if pending.
    pub fn poll_timeout(&self) -> Option<HostTime> {
        if self.ended.is_some() || self.limit_reported {
            return None;
        }
        self.limit_at()
    }

    /// At or after the limit: returns the limit time once (the session then ends the call
    /// with [`EndCause::TimeLimit`]).
    pub fn handle_timeout(&mut self, now: HostTime) -> Option<HostTime> {
        let at = self.poll_timeout()?;
        if now >= at {
            self.limit_reported = true;
            return Some(at);
        }
        None
    }

    /// Connected duration at `now` (or at the metered end once ended), clamped to the limit.
    pub fn connected(&self, now: HostTime) -> Duration {
        let Some(a) = self.answered else { return Duration::ZERO };
        let end = self.ended.as_ref().map_or(now, |(t, _)| *t);
        let d = end.saturating_since(a);
        self.limit.map_or(d, |l| d.min(l))
    }

    /// The bill for [`Self::connected`] at `now`.
    pub fn bill(&self, now: HostTime) -> Bill {
        self.policy.bill(self.connected(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_and_a_half_minutes() {
        let p = BillingPolicy::default();
        let b = p.bill(Duration::from_secs(630));
        assert_eq!((b.connected_ms, b.units, b.charge_fen), (630_000, 11, 165));
        assert_eq!(b.charge_yuan(), "1.65");
        let mut p2 = p;
        p2.unit = BillingUnit::PerSecond;
        assert_eq!(p2.bill(Duration::from_millis(630_001)).units, 631);
        // 631 s at 0.25 fen/s = 157.75 fen, rounded up.
        assert_eq!(p2.bill(Duration::from_millis(630_001)).charge_fen, 158);
        p2.unit = BillingUnit::PerBlock { seconds: 6 };
        let b = p2.bill(Duration::from_secs(630));
        assert_eq!((b.units, b.charge_fen), (105, 158));
    }

    #[test]
    fn grace_makes_short_calls_free() {
        let mut p = BillingPolicy { grace: Duration::from_secs(3), ..Default::default() };
        let mut m = Meter::new(p, None);
        assert!(m.answer(HostTime::from_millis(1000)));
        assert!(m.end(HostTime::from_millis(3900), EndCause::HangupB));
        let b = m.bill(HostTime::from_millis(99_000));
        assert_eq!((b.connected_ms, b.units, b.charge_fen), (2900, 0, 0));
        assert_eq!(p.bill(Duration::from_millis(3001)).units, 1);
        p.deduct_grace = true;
        p.unit = BillingUnit::PerSecond;
        assert_eq!(p.bill(Duration::from_millis(4500)).units, 2);
    }

    #[test]
    fn late_host_cannot_overrun_the_limit() {
        let mut m = Meter::new(BillingPolicy::default(), Some(Duration::from_secs(600)));
        assert_eq!(m.poll_timeout(), None);
        m.answer(HostTime::from_millis(5_000));
        assert_eq!(m.poll_timeout(), Some(HostTime::from_millis(605_000)));
        assert_eq!(m.handle_timeout(HostTime::from_millis(604_999)), None);
        assert_eq!(m.handle_timeout(HostTime::from_millis(700_000)), Some(HostTime::from_millis(605_000)));
        assert_eq!(m.poll_timeout(), None);
        m.end(HostTime::from_millis(700_000), EndCause::TimeLimit);
        assert_eq!(m.ended().unwrap().0, HostTime::from_millis(605_000));
        let b = m.bill(HostTime::from_millis(900_000));
        assert_eq!((b.connected_ms, b.units, b.charge_fen), (600_000, 10, 150));
    }
}
