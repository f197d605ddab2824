//! Runtime statistics: per-shard counters and the tick-lateness histogram.

use std::time::Duration;

/// Sub-buckets per power of two (3 bits: a bucket is at most 12.5 % wide).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets: values up to 2^64 µs.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A log-linear histogram of durations in µs (HdrHistogram-style, 3 significant bits):
/// values below 8 µs are exact, larger ones fall in buckets at most 12.5 % wide. The
/// maximum, count and sum are exact. Fixed size: recording never allocates.
#[derive(Clone, PartialEq, Eq)]
pub struct LatenessHistogram {
    counts: Vec<u64>,
    count: u64,
    sum_us: u64,
    max_us: u64,
}

impl std::fmt::Debug for LatenessHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatenessHistogram").field("summary", &self.summary()).finish()
    }
}

impl Default for LatenessHistogram {
    fn default() -> Self {
        LatenessHistogram { counts: vec![0; BUCKETS], count: 0, sum_us: 0, max_us: 0 }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // ≥ SUB_BITS
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    ((e - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The largest value that falls in bucket `b`.
fn bucket_high(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let e = b / SUB + SUB_BITS as u64 - 1;
    let sub = b % SUB;
    let low = (1u64 << e) | (sub << (e - SUB_BITS as u64));
    low.saturating_add((1u64 << (e - SUB_BITS as u64)) - 1)
}

impl LatenessHistogram {
    /// An empty histogram.
    pub fn new() -> LatenessHistogram {
        LatenessHistogram::default()
    }

    /// Records one lateness.
    pub fn record(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(us)] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds another histogram's counts (e.g. to merge shards).
    pub fn merge(&mut self, other: &LatenessHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q` quantile (0.0 ..= 1.0) in µs: the upper edge of the bucket holding it
    /// (within 12.5 % above the true value), never above the maximum. 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(b).min(self.max_us);
            }
        }
        self.max_us
    }

    /// p50, p99, max and mean.
    pub fn summary(&self) -> LatenessSummary {
        LatenessSummary {
            count: self.count,
            p50_us: self.quantile_us(0.50),
            p99_us: self.quantile_us(0.99),
            max_us: self.max_us,
            mean_us: self.sum_us.checked_div(self.count).unwrap_or(0),
        }
    }
}

/// Tick lateness in µs: actual time a session's timer ran minus the time it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LatenessSummary {
    /// Timers fired.
    pub count: u64,
    /// Median lateness, µs (bucket upper edge, ≤ 12.5 % high).
    pub p50_us: u64,
    /// 99th percentile, µs (bucket upper edge, ≤ 12.5 % high).
    pub p99_us: u64,
    /// Largest lateness, µs (exact).
    pub max_us: u64,
    /// Mean lateness, µs.
    pub mean_us: u64,
}

/// Counters of one shard.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ShardStats {
    /// The shard's index.
    pub shard: usize,
    /// Calls on the shard now (running, or ended with their recording still closing).
    pub calls: usize,
    /// Calls added since start.
    pub calls_added: u64,
    /// Session timers fired (frame ticks, possibly several frames each when late).
    pub timers_fired: u64,
    /// Datagrams handed to sessions.
    pub packets: u64,
    /// Datagrams for a call this shard does not have (ended, or a wrong id): dropped.
    pub unknown_call_packets: u64,
    /// Packets handed to a call's [`PacketSender`](super::PacketSender) that it refused.
    pub transmit_errors: u64,
    /// Packets the calls transmitted.
    pub transmitted: u64,
    /// Tap frames dropped because the subscriber's channel was full.
    pub tap_frames_dropped: u64,
    /// Guard audio frames dropped because more than the bounded queue arrived.
    pub guard_frames_dropped: u64,
    /// Recording pages handed to sinks.
    pub recording_pages: u64,
    /// Errors a session returned (a codec failure, a command refused).
    pub session_errors: u64,
    /// Tick lateness: timer fire time minus deadline.
    pub lateness: LatenessHistogram,
    /// Time the shard thread spent working (not waiting for a command or a timer).
    pub busy: Duration,
    /// Time since the shard thread started.
    pub wall: Duration,
}

/// Statistics of the whole runtime.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RuntimeStats {
    /// One entry per shard, in shard order.
    pub shards: Vec<ShardStats>,
    /// Datagrams refused because a shard's command queue was full (counted by the handles).
    pub queue_full_drops: u64,
}

impl RuntimeStats {
    /// Tick lateness over all shards.
    pub fn lateness(&self) -> LatenessSummary {
        let mut h = LatenessHistogram::new();
        for s in &self.shards {
            h.merge(&s.lateness);
        }
        h.summary()
    }

    /// Calls on all shards now.
    pub fn calls(&self) -> usize {
        self.shards.iter().map(|s| s.calls).sum()
    }

    /// Packets handed to sessions on all shards.
    pub fn packets(&self) -> u64 {
        self.shards.iter().map(|s| s.packets).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        let mut prev_high = None::<u64>;
        for b in 0..200 {
            let high = bucket_high(b);
            if let Some(p) = prev_high {
                assert_eq!(bucket(p + 1), b, "bucket {b} starts after {p}");
            }
            assert_eq!(bucket(high), b);
            prev_high = Some(high);
        }
        assert_eq!(bucket(7), 7);
        assert_eq!(bucket(8), 8);
        assert_eq!(bucket_high(8), 8);
        assert_eq!(bucket(1000), bucket(1023));
        assert_eq!(bucket_high(bucket(1000)), 1023);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = LatenessHistogram::new();
        // 1..=1000 µs once each.
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summary();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max_us, 1000);
        assert_eq!(s.mean_us, 500);
        // True p50 = 500 (bucket 480..=511), p99 = 990 (bucket 960..=1023, capped at max).
        assert_eq!(s.p50_us, 511);
        assert_eq!(s.p99_us, 1000);
        let mut other = LatenessHistogram::new();
        other.record(Duration::from_millis(25));
        h.merge(&other);
        assert_eq!(h.summary().max_us, 25_000);
        assert_eq!(h.count(), 1001);
        assert_eq!(LatenessHistogram::new().summary(), LatenessSummary::default());
    }
}
