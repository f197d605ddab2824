//! Target playout delay for [`AudioReceiver`](super::AudioReceiver), after NetEq's
//! `DelayManager`: a forgetting histogram of relative arrival delay.
//!
//! **Relative arrival delay.** For each arriving packet, its delay is its arrival
//! time minus the time its RTP timestamp says it was sent, against an arbitrary
//! reference; the *relative* delay subtracts the smallest delay of any packet that
//! arrived in the last [`DelayTuning::window`] (2 s): how much later than the fastest
//! recent packet this one came. Because only a 2 s window counts, a sender clock
//! that drifts against ours (±200 ppm is 0.4 ms per 2 s) never accumulates into the
//! estimate. Timestamp gaps of DTX and silence suppression (CASES.md B12) cancel out
//! (the timestamp and the arrival advance together). A discontinuity — a new
//! [`StreamEpoch`], a clock-rate change, or a timestamp that jumps against the
//! sequence numbers by so much that its delay is more than 500 ms (or the maximum
//! target) outside the window's range — re-bases the reference instead of being
//! read as network delay.
//!
//! **Histogram.** Each packet's relative delay is added to a [`Histogram`] of 10 ms
//! buckets up to 2 s with forgetting factor [`DelayTuning::forget`] (0.998 per packet:
//! about 10 s of memory) and start weight 2. The target is its
//! [`DelayTuning::quantile`] (97th percentile), interpolated within the bucket and
//! clamped to `[min, max]` of [`PlayoutDelay::Adaptive`]. Until the first observation
//! the `initial` target holds.
//!
//! **Spikes.** NetEq adds the peak of every 500 ms instead (quantile 0.95, forgetting
//! 0.983; set [`DelayTuning::resample`] for that), which makes one 300 ms delay spike
//! lift the target to 300 ms for half a minute. Here, once 2 s of the stream are seen,
//! a packet whose relative delay exceeds both twice the estimate and the estimate plus
//! 100 ms belongs to a *spike* (a route change or radio retransmission holding packets
//! back): it is not added to the histogram; the receiver conceals the spike and, when
//! the held packets arrive together, drops the stale ones (see `receiver_playout.rs`).
//! Only when spikes are frequent — 4 within 10 s — does the target rise to the highest
//! recent one, as a fixed buffer sized for them would be.

use super::config::PlayoutDelay;
use super::histogram::Histogram;
use crate::audio::ClockRate;
use crate::rtp::{MediaPacket, StreamEpoch};
use std::collections::VecDeque;
use std::time::Duration;

/// Width of one histogram bucket.
const BUCKET: Duration = Duration::from_millis(10);
/// Largest relative delay the histogram resolves (later ones land in the last bucket).
const HISTOGRAM_SPAN: Duration = Duration::from_secs(2);
/// Most packets the sliding window holds (2 s of 2.5 ms packets).
const WINDOW_PACKETS: usize = 800;
/// A packet is part of a delay spike when its relative delay exceeds twice the
/// estimate and the estimate plus this margin.
const SPIKE_MARGIN: Duration = Duration::from_millis(100);
/// Time after the first packet before spikes are told apart from ordinary jitter.
const SETTLE: Duration = Duration::from_secs(2);
/// Window over which spikes are counted.
const PEAK_WINDOW: Duration = Duration::from_secs(10);
/// Spikes within [`PEAK_WINDOW`] that make the target cover them.
const PEAK_MODE_COUNT: usize = 4;
/// Most spikes remembered.
const MAX_PEAKS: usize = 8;

/// Tuning of the adaptive estimator; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DelayTuning {
    /// Quantile (0..=1) of the histogram taken as the target. Default 0.97.
    pub quantile: f64,
    /// Forgetting factor per histogram observation (0..1). Default 0.998 (per packet:
    /// about 500 packets, 10 s of 20 ms packets, of memory).
    pub forget: f64,
    /// Interval whose peak relative delay is one observation; zero (the default) adds
    /// every packet. NetEq's setting is 500 ms with quantile 0.95 and forgetting 0.983.
    pub resample: Duration,
    /// Window of the fastest-packet reference. Default 2 s.
    pub window: Duration,
}

impl Default for DelayTuning {
    fn default() -> Self {
        DelayTuning { quantile: 0.97, forget: 0.998, resample: Duration::ZERO, window: Duration::from_secs(2) }
    }
}

/// Timing reference of the current run of packets.
#[derive(Debug, Clone, Copy)]
struct Reference {
    arrival_ns: i128,
    ts: i128,
    clock: ClockRate,
}

/// The target-delay estimator.
#[derive(Debug, Clone)]
pub(crate) struct DelayManager {
    mode: PlayoutDelay,
    tuning: DelayTuning,
    histogram: Histogram,
    /// Monotonic deque of (arrival ns, delay ns): delays increase front to back; the front is the window minimum.
    minima: VecDeque<(i128, i128)>,
    /// Largest delay in the window (approximate: kept since the last re-base), for the re-base test.
    max_delay: i128,
    reference: Option<Reference>,
    epoch: Option<StreamEpoch>,
    /// Highest (sequence number, timestamp) seen in the current run.
    highest: Option<(u64, u64)>,
    /// Start (arrival ns) and peak relative delay (ns) of the resampling interval.
    interval: Option<(i128, i128)>,
    rebase_ns: i128,
    /// Current quantile estimate, if any observation was made.
    estimate: Option<Duration>,
    /// Recent delay spikes: (arrival ns of the spike's first packet, peak relative delay ns).
    peaks: VecDeque<(i128, i128)>,
    /// Arrival (ns) of the first packet observed.
    first_ns: Option<i128>,
}

impl DelayManager {
    /// An estimator for `mode` with `tuning`.
    pub(crate) fn new(mode: PlayoutDelay, tuning: DelayTuning) -> Self {
        let buckets = (HISTOGRAM_SPAN.as_millis() / BUCKET.as_millis()) as usize;
        let max = match mode {
            PlayoutDelay::Fixed(d) => d,
            PlayoutDelay::Adaptive { max, .. } => max,
        };
        DelayManager {
            mode,
            tuning,
            histogram: Histogram::new(buckets, tuning.forget, 2.0),
            minima: VecDeque::with_capacity(WINDOW_PACKETS),
            max_delay: 0,
            reference: None,
            epoch: None,
            highest: None,
            interval: None,
            rebase_ns: i128::try_from(max.max(Duration::from_millis(500)).as_nanos()).unwrap_or(i128::MAX),
            estimate: None,
            peaks: VecDeque::with_capacity(MAX_PEAKS),
            first_ns: None,
        }
    }

    /// The target playout delay now.
    pub(crate) fn target(&self) -> Duration {
        match self.mode {
            PlayoutDelay::Fixed(d) => d,
            PlayoutDelay::Adaptive { min, max, initial } => {
                let e = self.estimate.unwrap_or(initial);
                e.max(self.peak_delay().unwrap_or(Duration::ZERO)).clamp(min, max)
            }
        }
    }

    /// The unclamped estimate (the quantile of relative delay), if any.
    #[cfg(test)]
    pub(crate) fn estimate(&self) -> Option<Duration> {
        self.estimate
    }

    fn rebase(&mut self, arrival_ns: i128, ts: i128, clock: ClockRate) {
        self.reference = Some(Reference { arrival_ns, ts, clock });
        self.minima.clear();
        self.max_delay = 0;
    }

    /// Feeds one arriving audio or comfort-noise packet whose payload type runs at `clock`.
    pub(crate) fn observe(&mut self, p: &MediaPacket, clock: ClockRate) {
        let arrival_ns = i128::from(p.arrival.as_nanos());
        let ts = i128::from(p.timestamp.0);
        if self.epoch.is_some_and(|e| p.epoch < e) {
            return;
        }
        if self.epoch != Some(p.epoch) || self.reference.map_or(true, |r| r.clock != clock) {
            self.epoch = Some(p.epoch);
            self.highest = None;
            self.rebase(arrival_ns, ts, clock);
        }
        let Some(r) = self.reference else { return };
        let media_ns = (ts - r.ts) * 1_000_000_000 / i128::from(clock.hz());
        let mut delay = (arrival_ns - r.arrival_ns) - media_ns;
        // A timestamp that does not follow the sequence numbers may be a sender jump.
        let (seq, ts64) = (p.seq.0, p.timestamp.0);
        let jumped = match self.highest {
            Some((hs, hts)) if seq > hs => {
                let max_step = u64::from(clock.hz()) / 8; // 125 ms per packet
                ts64 <= hts || ts64 > hts.saturating_add((seq - hs).saturating_mul(max_step))
            }
            _ => false,
        };
        if jumped {
            if let Some(&(_, lo)) = self.minima.front() {
                if delay < lo - self.rebase_ns || delay > self.max_delay + self.rebase_ns {
                    self.rebase(arrival_ns, ts, clock);
                    delay = 0;
                }
            }
        }
        if self.highest.map_or(true, |(hs, _)| seq > hs) {
            self.highest = Some((seq, ts64));
        }
        // Sliding-window minimum.
        let window_ns = i128::try_from(self.tuning.window.as_nanos()).unwrap_or(i128::MAX);
        while self.minima.back().is_some_and(|&(_, d)| d >= delay) {
            self.minima.pop_back();
        }
        while self.minima.front().is_some_and(|&(a, _)| a + window_ns < arrival_ns)
            || self.minima.len() >= WINDOW_PACKETS
        {
            self.minima.pop_front();
        }
        self.minima.push_back((arrival_ns, delay));
        self.max_delay = self.max_delay.max(delay);
        let lo = self.minima.front().map_or(delay, |&(_, d)| d);
        let relative = (delay - lo).max(0);
        if matches!(self.mode, PlayoutDelay::Fixed(_)) {
            return;
        }
        if self.spike(arrival_ns, relative) {
            return;
        }
        let resample_ns = i128::try_from(self.tuning.resample.as_nanos()).unwrap_or(0);
        if resample_ns == 0 {
            self.add(relative);
            return;
        }
        // The first interval is a fifth as long, so that a first estimate replaces the
        // initial target before the first words.
        let length = if self.estimate.is_none() { resample_ns / 5 } else { resample_ns };
        match self.interval {
            Some((start, peak)) if arrival_ns - start < length => self.interval = Some((start, peak.max(relative))),
            Some((_, peak)) => {
                self.add(peak);
                self.interval = Some((arrival_ns, relative));
            }
            None => self.interval = Some((arrival_ns, relative)),
        }
    }

    /// Whether a packet belongs to a delay spike (see the module docs); spikes are
    /// recorded as peaks instead of histogram observations.
    fn spike(&mut self, arrival_ns: i128, relative: i128) -> bool {
        let window = i128::try_from(PEAK_WINDOW.as_nanos()).unwrap_or(i128::MAX);
        while self.peaks.front().is_some_and(|&(at, _)| at + window < arrival_ns) {
            self.peaks.pop_front();
        }
        let first = *self.first_ns.get_or_insert(arrival_ns);
        let settle = i128::try_from(SETTLE.as_nanos()).unwrap_or(i128::MAX);
        let Some(estimate) = self.estimate.filter(|_| arrival_ns - first >= settle) else {
            return false;
        };
        let base = i128::try_from(estimate.as_nanos()).unwrap_or(i128::MAX);
        let floor = i128::try_from(SPIKE_MARGIN.as_nanos()).unwrap_or(i128::MAX);
        if relative <= (2 * base).max(base + floor) {
            return false;
        }
        // One spike holds back a run of packets: packets within 500 ms of the spike's
        // first one belong to it and raise its peak.
        match self.peaks.back_mut() {
            Some((at, peak)) if arrival_ns - *at < 500_000_000 => *peak = (*peak).max(relative),
            _ => {
                if self.peaks.len() >= MAX_PEAKS {
                    self.peaks.pop_front();
                }
                self.peaks.push_back((arrival_ns, relative));
            }
        }
        true
    }

    /// The delay the spikes call for: the highest recent peak when spikes are frequent
    /// (at least [`PEAK_MODE_COUNT`] in the last [`PEAK_WINDOW`]), else none.
    fn peak_delay(&self) -> Option<Duration> {
        if self.peaks.len() < PEAK_MODE_COUNT {
            return None;
        }
        let peak = self.peaks.iter().map(|&(_, p)| p).max()?;
        Some(Duration::from_nanos(u64::try_from(peak).unwrap_or(0)))
    }

    fn add(&mut self, relative_ns: i128) {
        let bucket_ns = i128::try_from(BUCKET.as_nanos()).unwrap_or(1);
        let index = usize::try_from(relative_ns / bucket_ns).unwrap_or(usize::MAX);
        self.histogram.add(index);
        if let Some(q) = self.histogram.quantile(self.tuning.quantile) {
            self.estimate = Some(Duration::from_secs_f64(q * BUCKET.as_secs_f64()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtTimestamp, PayloadType, SeqNo, Ssrc};
    use crate::time::HostTime;
    use bytes::Bytes;

    fn pkt(seq: u64, ts: u64, arrival_us: u64) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::from_nanos(arrival_us * 1000),
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
            marker: false,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(ts),
            epoch: StreamEpoch(0),
            payload: Bytes::new(),
        }
    }

    fn adaptive() -> DelayManager {
        DelayManager::new(
            PlayoutDelay::Adaptive {
                min: Duration::from_millis(20),
                max: Duration::from_millis(800),
                initial: Duration::from_millis(80),
            },
            DelayTuning::default(),
        )
    }

    #[test]
    fn steady_stream_goes_to_the_minimum_and_jitter_raises_it() {
        let mut d = adaptive();
        assert_eq!(d.target(), Duration::from_millis(80), "initial");
        for k in 0..500u64 {
            d.observe(&pkt(k, k * 160, k * 20_000), ClockRate::HZ_8000);
        }
        assert_eq!(d.target(), Duration::from_millis(20));
        // Every 5th packet 60 ms late: 20 % of the mass at 60 ms, so the 97th percentile is there.
        for k in 500..2000u64 {
            let late = if k % 5 == 0 { 60_000 } else { 0 };
            d.observe(&pkt(k, k * 160, k * 20_000 + late), ClockRate::HZ_8000);
        }
        let t = d.target();
        assert!(t >= Duration::from_millis(60) && t <= Duration::from_millis(70), "{t:?}");
    }

    #[test]
    fn neteq_resampling_takes_the_half_second_peaks() {
        let tuning = DelayTuning {
            quantile: 0.95,
            forget: 0.983,
            resample: Duration::from_millis(500),
            ..DelayTuning::default()
        };
        let mut d = DelayManager::new(
            PlayoutDelay::Adaptive {
                min: Duration::ZERO,
                max: Duration::from_secs(1),
                initial: Duration::from_millis(80),
            },
            tuning,
        );
        // One packet in 50 is 70 ms late: rare per packet, but every half second has one.
        for k in 0..3000u64 {
            let late = if k % 50 == 7 { 70_000 } else { 0 };
            d.observe(&pkt(k, k * 160, k * 20_000 + late), ClockRate::HZ_8000);
        }
        let t = d.target();
        assert!(t >= Duration::from_millis(70) && t <= Duration::from_millis(80), "{t:?}");
        // Per packet (the default) the 2 % of late packets stay under the 97th percentile.
        let mut p = adaptive();
        for k in 0..3000u64 {
            let late = if k % 50 == 7 { 70_000 } else { 0 };
            p.observe(&pkt(k, k * 160, k * 20_000 + late), ClockRate::HZ_8000);
        }
        assert_eq!(p.target(), Duration::from_millis(20));
    }

    /// A 300 ms spike starting at packet `k0`: the held packets drain at 20 ms per packet.
    fn spike_extra(k: u64, k0: u64) -> u64 {
        if k < k0 {
            return 0;
        }
        300_000u64.saturating_sub((k - k0) * 20_000)
    }

    #[test]
    fn a_rare_spike_is_not_jitter_but_frequent_ones_are_covered() {
        let mut d = adaptive();
        // Uniform-ish jitter 0..40 ms, and one spike at packet 400 (8 s).
        for k in 0..600u64 {
            let jitter = (k * 7919 % 41) * 1000;
            d.observe(&pkt(k, k * 160, k * 20_000 + jitter + spike_extra(k, 400)), ClockRate::HZ_8000);
        }
        let t = d.target();
        assert!(t >= Duration::from_millis(35) && t <= Duration::from_millis(50), "{t:?}");
        assert_eq!(d.peaks.len(), 1, "{:?}", d.peaks);
        for k in 600..1000u64 {
            let jitter = (k * 7919 % 41) * 1000;
            d.observe(&pkt(k, k * 160, k * 20_000 + jitter), ClockRate::HZ_8000);
        }
        // Four spikes within 10 s: the target covers them.
        for k in 1000..1500u64 {
            let jitter = (k * 7919 % 41) * 1000;
            let spike = [1050, 1150, 1250, 1350].iter().map(|&k0| spike_extra(k, k0)).max().unwrap_or(0);
            d.observe(&pkt(k, k * 160, k * 20_000 + jitter + spike), ClockRate::HZ_8000);
        }
        let t = d.target();
        assert!(t >= Duration::from_millis(280) && t <= Duration::from_millis(345), "{t:?}");
    }

    #[test]
    fn clock_drift_of_200_ppm_does_not_accumulate() {
        let mut d = adaptive();
        // Sender clock 200 ppm slow: packets arrive 20.004 ms apart for 20 ms of media, for 60 s.
        for k in 0..3000u64 {
            d.observe(&pkt(k, k * 160, k * 20_004), ClockRate::HZ_8000);
        }
        assert!(d.estimate().expect("observed") < Duration::from_millis(10));
        assert_eq!(d.target(), Duration::from_millis(20));
    }

    #[test]
    fn dtx_spacing_and_sender_jumps_are_not_delay() {
        let mut d = adaptive();
        for k in 0..100u64 {
            d.observe(&pkt(k, k * 960, k * 20_000), ClockRate::HZ_48000);
        }
        // DTX: 400 ms apart in both timestamp and arrival.
        for j in 0..20u64 {
            d.observe(&pkt(100 + j, 96_000 + j * 19_200, 2_000_000 + j * 400_000), ClockRate::HZ_48000);
        }
        // The sender's timestamp jumps by 10 minutes on contiguous sequence numbers.
        for j in 0..50u64 {
            let ts = 50_000_000 + j * 960;
            d.observe(&pkt(120 + j, ts, 10_000_000 + j * 20_000), ClockRate::HZ_48000);
        }
        assert!(d.estimate().expect("observed") < Duration::from_millis(10), "{:?}", d.estimate());
    }

    #[test]
    fn fixed_mode_ignores_arrivals() {
        let mut d = DelayManager::new(PlayoutDelay::Fixed(Duration::from_millis(40)), DelayTuning::default());
        for k in 0..100u64 {
            d.observe(&pkt(k, k * 160, k * 20_000 + (k % 3) * 50_000), ClockRate::HZ_8000);
        }
        assert_eq!(d.target(), Duration::from_millis(40));
        assert_eq!(d.estimate(), None);
    }
}
