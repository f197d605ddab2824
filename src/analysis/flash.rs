//! Hook-flash clicks: a short energy burst (about 20–40 ms) between silences of at least
//! 100 ms, as an analog phone's flash (or a switch-hook press to bridge a third party)
//! leaves on a line. Measured on 5 ms sub-blocks of the 8 kHz signal. The burst must start
//! near its peak level ([`FlashConfig::max_onset_db`]): a switch-hook click is a step, while
//! a struck sound (pjsip's `tock8.wav` swells over 30 ms) or a syllable grows.

use super::level::block_dbm0;
use crate::time::HostTime;
use std::time::Duration;

const SUB: usize = 40;
const SUB_NS: u64 = 5_000_000;

/// Settings of the hook-flash detector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FlashConfig {
    /// Sub-blocks below this level (dBm0) are silence (default −50).
    pub silence_dbm0: f32,
    /// A burst must peak at or above this level (dBm0, default −30).
    pub burst_dbm0: f32,
    /// Shortest burst (default 10 ms).
    pub min_burst: Duration,
    /// Longest burst (default 60 ms); longer is speech or noise.
    pub max_burst: Duration,
    /// Silence needed before and after the burst (default 100 ms).
    pub min_silence: Duration,
    /// The burst's first 5 ms must be within this many dB of its peak (default 12): a
    /// switch-hook click starts at full level, while a struck sound or a syllable swells.
    pub max_onset_db: f32,
}

impl Default for FlashConfig {
    fn default() -> Self {
        FlashConfig {
            silence_dbm0: -50.0,
            burst_dbm0: -30.0,
            min_burst: Duration::from_millis(10),
            max_burst: Duration::from_millis(60),
            min_silence: Duration::from_millis(100),
            max_onset_db: 12.0,
        }
    }
}

/// A detected click.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flash {
    /// Start of the burst.
    pub at: HostTime,
    /// Burst length (5 ms resolution).
    pub burst: Duration,
    /// Peak 5 ms level, dBm0.
    pub peak_dbm0: f32,
    /// Score in [0, 1]: 1 for a 20–40 ms burst ≥ 30 dB over the silence threshold, falling off
    /// towards the duration limits and for weaker bursts.
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Counting silent sub-blocks.
    Quiet(u32),
    /// In a burst after enough silence (`first`: level of its first sub-block).
    Burst { start: HostTime, subs: u32, peak: f32, first: f32 },
    /// After a burst, counting silence.
    Trailing { start: HostTime, subs: u32, peak: f32, first: f32, quiet: u32 },
}

/// Streaming hook-flash detector on 8 kHz samples.
#[derive(Debug, Clone)]
pub struct FlashDetector {
    cfg: FlashConfig,
    sub: [f32; SUB],
    fill: usize,
    sub_start: HostTime,
    state: State,
}

fn subs_in(d: Duration) -> u32 {
    u32::try_from(d.as_nanos().div_ceil(u128::from(SUB_NS))).unwrap_or(u32::MAX)
}

impl FlashDetector {
    /// A detector with `config`.
    pub fn new(config: FlashConfig) -> Self {
        FlashDetector { cfg: config, sub: [0.0; SUB], fill: 0, sub_start: HostTime::ZERO, state: State::Quiet(0) }
    }

    /// Forgets a partial sub-block and the state (a gap in the audio).
    pub fn reset(&mut self) {
        self.fill = 0;
        self.state = State::Quiet(0);
    }

    /// Feeds 8 kHz samples whose first plays at `at`; returns a click completed in them.
    pub fn process(&mut self, at: HostTime, samples: &[f32]) -> Option<Flash> {
        let mut out = None;
        for (i, &x) in samples.iter().enumerate() {
            if self.fill == 0 {
                self.sub_start = at.saturating_add(Duration::from_nanos(i as u64 * 125_000));
            }
            self.sub[self.fill] = x;
            self.fill += 1;
            if self.fill == SUB {
                self.fill = 0;
                let level = block_dbm0(&self.sub);
                if let Some(f) = self.step(level) {
                    out = Some(f);
                }
            }
        }
        out
    }

    fn step(&mut self, level: f32) -> Option<Flash> {
        let silent = level < self.cfg.silence_dbm0;
        let need_quiet = subs_in(self.cfg.min_silence);
        let max_burst = subs_in(self.cfg.max_burst);
        let (next, out) = match self.state {
            State::Quiet(n) if silent => (State::Quiet(n.saturating_add(1)), None),
            State::Quiet(n) if n >= need_quiet => {
                (State::Burst { start: self.sub_start, subs: 1, peak: level, first: level }, None)
            }
            State::Quiet(_) => (State::Quiet(0), None),
            State::Burst { start, subs, peak, first } if !silent => {
                if subs + 1 > max_burst {
                    (State::Quiet(0), None)
                } else {
                    (State::Burst { start, subs: subs + 1, peak: peak.max(level), first }, None)
                }
            }
            State::Burst { start, subs, peak, first } => (State::Trailing { start, subs, peak, first, quiet: 1 }, None),
            State::Trailing { .. } if !silent => (State::Quiet(0), None),
            State::Trailing { start, subs, peak, first, quiet } => {
                if quiet + 1 >= need_quiet {
                    let f = if peak - first <= self.cfg.max_onset_db { self.score(start, subs, peak) } else { None };
                    // The trailing silence also counts as the next click's leading silence.
                    (State::Quiet(quiet + 1), f)
                } else {
                    (State::Trailing { start, subs, peak, first, quiet: quiet + 1 }, None)
                }
            }
        };
        self.state = next;
        out
    }

    fn score(&self, start: HostTime, subs: u32, peak: f32) -> Option<Flash> {
        let burst = Duration::from_nanos(u64::from(subs) * SUB_NS);
        if burst < self.cfg.min_burst || peak < self.cfg.burst_dbm0 {
            return None;
        }
        let ms = burst.as_secs_f32() * 1000.0;
        let dur_score = if (20.0..=40.0).contains(&ms) {
            1.0
        } else if ms < 20.0 {
            0.5 + 0.5 * (ms - 10.0).max(0.0) / 10.0
        } else {
            (1.0 - 0.5 * (ms - 40.0) / 20.0).max(0.3)
        };
        let depth = ((peak - self.cfg.silence_dbm0) / 30.0).clamp(0.5, 1.0);
        Some(Flash { at: start, burst, peak_dbm0: peak, score: dur_score * depth })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sig: &[f32]) -> Vec<(Flash, HostTime)> {
        let mut d = FlashDetector::new(FlashConfig::default());
        let mut out = Vec::new();
        for (i, c) in sig.chunks(80).enumerate() {
            let at = HostTime::from_millis(i as u64 * 10);
            if let Some(f) = d.process(at, c) {
                out.push((f, at));
            }
        }
        out
    }

    fn click(ms: usize) -> Vec<f32> {
        // 200 ms of quiet noise (±3), a burst of alternating ±8000, 300 ms quiet.
        let mut v: Vec<f32> = (0..1600).map(|i| if i % 2 == 0 { 3.0 } else { -3.0 }).collect();
        v.extend((0..ms * 8).map(|i| if i % 3 == 0 { 8000.0 } else { -4000.0 }));
        v.extend((0..2400).map(|i| if i % 2 == 0 { 3.0 } else { -3.0 }));
        v
    }

    #[test]
    fn detects_a_30ms_click_quickly() {
        let got = run(&click(30));
        assert_eq!(got.len(), 1);
        let (f, seen) = got[0];
        assert_eq!(f.at, HostTime::from_millis(200));
        assert_eq!(f.burst, Duration::from_millis(30));
        assert!(f.score > 0.9);
        assert!(seen.saturating_since(f.at) <= Duration::from_millis(200));
    }

    #[test]
    fn swelling_bursts_are_not_clicks() {
        // 200 ms quiet, a 30 ms burst rising 6 dB per 5 ms from −40 dBm0-ish, 300 ms quiet.
        let mut v: Vec<f32> = vec![3.0; 1600];
        v.extend((0..240).map(|i| {
            let a = 200.0 * 2f32.powf((i / 40) as f32);
            if i % 2 == 0 {
                a
            } else {
                -a
            }
        }));
        v.extend(vec![3.0; 2400]);
        assert!(run(&v).is_empty());
    }

    #[test]
    fn long_bursts_are_not_clicks() {
        assert!(run(&click(120)).is_empty());
        assert!(run(&click(5)).is_empty());
    }
}
