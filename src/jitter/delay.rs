//! Target playout delay: fixed, or adapted to the measured network jitter.
//!
//! v1 adaptive estimator: for each arriving packet, the **relative arrival delay**
//! is its arrival time minus the time its RTP timestamp says it should have
//! arrived, measured against the fastest packet in a sliding window of recent
//! arrivals (default 2 s). The target is a high quantile (default 95th
//! percentile) of those relative delays plus one ptime, clamped to `[min, max]`.
//!
//! Because the timestamp step is subtracted, silence suppression and DTX gaps
//! (a 400 ms refresh spacing, CASES.md B12) do not inflate the estimate. At a
//! talkspurt start (marker bit, a timestamp jump that the sequence gap does not
//! explain, or a timestamp going backwards) whose delay lies further outside the
//! window's range than the largest target allowed, the sender's timestamps jumped
//! (it did not advance them through silence, or switched progressions): the timing
//! reference is re-based so that the packet counts as the fastest recent one, and
//! the jump is not mistaken for network delay. Smaller deviations are network
//! jitter and kept. A new [`StreamEpoch`] clears the window and holds the previous
//! target until a full window of the new epoch is seen.
//!
//! A later version replaces the window with a forgetting histogram (NetEq).

use super::config::PlayoutDelay;
use crate::audio::ClockRate;
use crate::rtp::{MediaPacket, StreamEpoch};
use std::collections::VecDeque;
use std::time::Duration;

/// Largest number of window samples: one per 5 ms of window, within 16..=2048.
fn sample_capacity(window: Duration) -> usize {
    usize::try_from(window.as_millis() / 5).unwrap_or(usize::MAX).clamp(16, 2048)
}

/// One observed arrival: host time (ns) and delay (ns) against the epoch's timing reference.
#[derive(Debug, Clone, Copy)]
struct Sample {
    arrival_ns: u64,
    delay_ns: i64,
}

/// The timing reference of the current run of packets.
#[derive(Debug, Clone, Copy)]
struct Reference {
    arrival_ns: u64,
    ts: u64,
    /// Delay assigned to the reference packet itself (ns).
    offset_ns: i64,
}

impl Reference {
    /// Delay (ns) of a packet arriving at `arrival_ns` with timestamp `ts`, against this reference.
    fn delay_of(&self, arrival_ns: u64, ts: u64, clock: ClockRate) -> i64 {
        let hz = i128::from(clock.hz());
        let media_ns = (i128::from(ts) - i128::from(self.ts)) * 1_000_000_000 / hz;
        let host_ns = i128::from(arrival_ns) - i128::from(self.arrival_ns);
        let delay = i128::from(self.offset_ns) + host_ns - media_ns;
        i64::try_from(delay.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(0)
    }
}

/// Computes the target playout delay from packet arrivals.
#[derive(Debug)]
pub(crate) struct TargetDelay {
    mode: PlayoutDelay,
    window: Duration,
    quantile_pct: u8,
    clock: ClockRate,
    samples: VecDeque<Sample>,
    capacity: usize,
    /// Scratch for the quantile selection, allocated once.
    scratch: Vec<i64>,
    epoch: Option<StreamEpoch>,
    reference: Option<Reference>,
    /// Highest (sequence number, timestamp) seen in the epoch, for talkspurt-start detection.
    highest: Option<(u64, u64)>,
    /// Arrival (ns) of the first sample since the last reset.
    since_ns: Option<u64>,
    /// Target used until a full window has been seen since the last reset.
    hold: Duration,
    /// How far (ns) outside the window's delay range a talkspurt start must fall to re-base.
    rebase_ns: i64,
    /// Latest jitter quantile (ns), if any sample was seen.
    quantile_ns: Option<i64>,
}

impl TargetDelay {
    /// A target for `mode`, with the adaptive window and quantile given.
    pub(crate) fn new(mode: PlayoutDelay, window: Duration, quantile_pct: u8, clock: ClockRate) -> Self {
        let capacity = sample_capacity(window);
        let (hold, limit) = match mode {
            PlayoutDelay::Fixed(d) => (d, d),
            PlayoutDelay::Adaptive { initial, max, .. } => (initial, max),
        };
        TargetDelay {
            mode,
            window,
            quantile_pct: quantile_pct.clamp(1, 100),
            clock,
            samples: VecDeque::with_capacity(capacity),
            capacity,
            scratch: Vec::with_capacity(capacity),
            epoch: None,
            reference: None,
            highest: None,
            since_ns: None,
            hold,
            rebase_ns: i64::try_from(limit.as_nanos()).unwrap_or(i64::MAX),
            quantile_ns: None,
        }
    }

    /// The current target playout delay, given the current ptime.
    pub(crate) fn target(&self, ptime: Duration) -> Duration {
        match self.mode {
            PlayoutDelay::Fixed(d) => d,
            PlayoutDelay::Adaptive { min, max, .. } => {
                let jitter = Duration::from_nanos(self.quantile_ns.map_or(0, |q| u64::try_from(q).unwrap_or(0)));
                let mut t = jitter.saturating_add(ptime);
                if !self.window_covered() {
                    t = t.max(self.hold);
                }
                t.clamp(min, max)
            }
        }
    }

    /// The jitter part of the estimate: the quantile of relative arrival delay (zero before any sample).
    #[cfg(test)]
    pub(crate) fn jitter(&self) -> Duration {
        Duration::from_nanos(self.quantile_ns.map_or(0, |q| u64::try_from(q).unwrap_or(0)))
    }

    fn window_covered(&self) -> bool {
        match (self.since_ns, self.samples.back()) {
            (Some(since), Some(last)) => u128::from(last.arrival_ns.saturating_sub(since)) >= self.window.as_nanos(),
            _ => false,
        }
    }

    /// Feeds one arrival. `ptime_ticks` is the current frame duration in RTP ticks.
    /// Packets of an epoch older than the current one are ignored.
    pub(crate) fn observe(&mut self, p: &MediaPacket, ptime_ticks: u64) {
        if matches!(self.mode, PlayoutDelay::Fixed(_)) {
            return;
        }
        match self.epoch {
            Some(e) if p.epoch < e => return,
            Some(e) if p.epoch > e => self.reset_for_epoch(p.epoch, ptime_ticks),
            Some(_) => {}
            None => self.epoch = Some(p.epoch),
        }
        let arrival_ns = p.arrival.as_nanos();
        let (seq, ts) = (p.seq.0, p.timestamp.0);
        let starts_run = match (self.reference, self.highest) {
            (None, _) => true,
            (Some(_), Some((hs, hts))) if seq > hs => {
                let allowed =
                    hts.saturating_add((seq - hs).saturating_mul(ptime_ticks)).saturating_add(ptime_ticks / 2);
                p.marker || ts <= hts || ts > allowed
            }
            _ => false,
        };
        if self.reference.is_none() {
            self.reference = Some(Reference { arrival_ns, ts, offset_ns: 0 });
        }
        let Some(r) = self.reference else { return };
        let mut delay_ns = r.delay_of(arrival_ns, ts, self.clock);
        if starts_run {
            let range =
                self.samples.iter().map(|s| s.delay_ns).fold(None, |acc: Option<(i64, i64)>, d| {
                    Some(acc.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))))
                });
            if let Some((lo, hi)) = range {
                if delay_ns < lo.saturating_sub(self.rebase_ns) || delay_ns > hi.saturating_add(self.rebase_ns) {
                    self.reference = Some(Reference { arrival_ns, ts, offset_ns: lo });
                    delay_ns = lo;
                }
            }
        }
        if self.highest.map_or(true, |(hs, _)| seq > hs) {
            self.highest = Some((seq, ts));
        }

        let window_ns = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        while self
            .samples
            .front()
            .is_some_and(|s| s.arrival_ns.saturating_add(window_ns) < arrival_ns || self.samples.len() >= self.capacity)
        {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { arrival_ns, delay_ns });
        if self.since_ns.is_none() {
            self.since_ns = Some(arrival_ns);
        }
        self.recompute();
    }

    fn reset_for_epoch(&mut self, epoch: StreamEpoch, ptime_ticks: u64) {
        self.hold = self.target(self.clock.duration_of(ptime_ticks));
        self.epoch = Some(epoch);
        self.samples.clear();
        self.reference = None;
        self.highest = None;
        self.since_ns = None;
        self.quantile_ns = None;
    }

    /// Recomputes the quantile of `delay - min(delay)` over the window without allocating.
    fn recompute(&mut self) {
        let Some(min) = self.samples.iter().map(|s| s.delay_ns).min() else {
            self.quantile_ns = None;
            return;
        };
        self.scratch.clear();
        self.scratch.extend(self.samples.iter().map(|s| s.delay_ns.saturating_sub(min)));
        let n = self.scratch.len();
        // ceil(n * pct / 100) - 1, within 0..n (n >= 1 here).
        let k = (n * usize::from(self.quantile_pct)).div_ceil(100).clamp(1, n) - 1;
        let (_, q, _) = self.scratch.select_nth_unstable(k);
        self.quantile_ns = Some((*q).max(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtTimestamp, PayloadType, SeqNo, Ssrc};
    use crate::time::HostTime;
    use bytes::Bytes;

    fn pkt(seq: u64, ts: u64, arrival_ms: u64, marker: bool) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::from_millis(arrival_ms),
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
            marker,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(ts),
            epoch: StreamEpoch(0),
            payload: Bytes::new(),
        }
    }

    fn adaptive() -> TargetDelay {
        let mode = PlayoutDelay::Adaptive {
            min: Duration::from_millis(20),
            max: Duration::from_millis(500),
            initial: Duration::from_millis(60),
        };
        TargetDelay::new(mode, Duration::from_secs(2), 95, ClockRate::HZ_8000)
    }

    const PTIME: Duration = Duration::from_millis(20);

    #[test]
    fn fixed_target_ignores_arrivals() {
        let mut t = TargetDelay::new(
            PlayoutDelay::Fixed(Duration::from_millis(40)),
            Duration::from_secs(2),
            95,
            ClockRate::HZ_8000,
        );
        t.observe(&pkt(1, 0, 0, false), 160);
        t.observe(&pkt(2, 160, 300, false), 160);
        assert_eq!(t.target(PTIME), Duration::from_millis(40));
    }

    #[test]
    fn steady_arrivals_give_one_ptime_after_a_full_window() {
        let mut t = adaptive();
        for k in 0..50 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        // 0.98 s seen: the initial 60 ms still holds.
        assert_eq!(t.target(PTIME), Duration::from_millis(60));
        for k in 50..150 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        assert_eq!(t.jitter(), Duration::ZERO);
        assert_eq!(t.target(PTIME), Duration::from_millis(20));
    }

    #[test]
    fn jitter_quantile_sets_the_target() {
        let mut t = adaptive();
        // Every 10th packet is 50 ms late, the others on time: 10 % late > 5 %, so q95 = 50 ms.
        for k in 0..200u64 {
            let extra = if k % 10 == 9 { 50 } else { 0 };
            t.observe(&pkt(k, k * 160, k * 20 + extra, false), 160);
        }
        assert_eq!(t.jitter(), Duration::from_millis(50));
        assert_eq!(t.target(PTIME), Duration::from_millis(70));
        // 2 s later, the window has forgotten the jitter.
        for k in 200..320u64 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        assert_eq!(t.jitter(), Duration::ZERO);
    }

    #[test]
    fn dtx_spacing_does_not_inflate_the_estimate() {
        let mut t = adaptive();
        for k in 0..150u64 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        // DTX refreshes: contiguous seq, 400 ms apart in both timestamp and arrival.
        for j in 0..8u64 {
            let seq = 150 + j;
            let ts = 150 * 160 + j * 3200;
            t.observe(&pkt(seq, ts, 3000 + j * 400, false), 160);
        }
        assert_eq!(t.jitter(), Duration::ZERO);
    }

    #[test]
    fn sender_timestamp_jump_at_talkspurt_start_is_rebased() {
        let mut t = adaptive();
        for k in 0..100u64 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        // Talkspurt 2 after 1 s of real silence, but the sender's timestamp did not advance.
        for j in 0..10u64 {
            t.observe(&pkt(100 + j, (100 + j) * 160, 3000 + j * 20, j == 0), 160);
        }
        assert_eq!(t.jitter(), Duration::ZERO);
    }

    #[test]
    fn jittered_talkspurt_start_is_network_delay_not_a_clock_jump() {
        let mut t = adaptive();
        for k in 0..100u64 {
            t.observe(&pkt(k, k * 160, k * 20, false), 160);
        }
        // 200 ms of silence (timestamps advance through it); the marker packet is 45 ms late.
        t.observe(&pkt(100, 110 * 160, 2200 + 45, true), 160);
        for k in 101..200u64 {
            t.observe(&pkt(k, (k + 10) * 160, (k + 10) * 20, false), 160);
        }
        // One late packet in ~100: below the 95th percentile, and the others are not shifted by it.
        assert_eq!(t.jitter(), Duration::ZERO);
        // Late talkspurt starts are network delay: when half the packets are, the 60th percentile shows it.
        let mut t = TargetDelay::new(
            PlayoutDelay::Adaptive { min: Duration::ZERO, max: Duration::from_millis(500), initial: Duration::ZERO },
            Duration::from_secs(2),
            60,
            ClockRate::HZ_8000,
        );
        for k in 0..100u64 {
            let late = if k % 2 == 0 { 30 } else { 0 };
            t.observe(&pkt(k, k * 160, k * 20 + late, k % 2 == 0), 160);
        }
        assert_eq!(t.jitter(), Duration::from_millis(30));
    }

    #[test]
    fn new_epoch_holds_the_previous_target() {
        let mut t = adaptive();
        for k in 0..200u64 {
            let extra = if k % 10 == 9 { 100 } else { 0 };
            t.observe(&pkt(k, k * 160, k * 20 + extra, false), 160);
        }
        assert_eq!(t.target(PTIME), Duration::from_millis(120));
        let mut p = pkt(7, 999_000, 4100, false);
        p.epoch = StreamEpoch(1);
        t.observe(&p, 160);
        assert_eq!(t.target(PTIME), Duration::from_millis(120));
    }
}
