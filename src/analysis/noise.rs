//! Background noise floor per leg, and its sudden drop (a three-way-call signal: a far end
//! that bridges a third party often changes line, and the hiss it had goes away).
//!
//! Levels come in per 10 ms frame (dBm0). The floor of each segment
//! ([`NoiseDropConfig::segment`], default 2 s) is the lowest frame level in it, ignoring digital
//! silence (below [`DIGITAL_SILENCE_DBM0`]: a muted or held line, not a quieter one). Eight
//! segments are kept. A drop is reported when the floors of the segments covering the last
//! [`NoiseDropConfig::min_duration`] all lie at least [`NoiseDropConfig::drop_db`] under the
//! *lowest* floor of the older segments: speech and tones only raise a segment's floor, so
//! the lowest older floor is the old background, and only a quieter background beats it.

use crate::time::HostTime;
use std::time::Duration;

/// Frames quieter than this (dBm0) are digital silence and never set the floor.
pub const DIGITAL_SILENCE_DBM0: f32 = -80.0;
const HISTORY: usize = 8;

/// Settings of the noise-floor-drop signal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NoiseDropConfig {
    /// Drop (dB) of the floor under the reference that counts (default 12).
    pub drop_db: f32,
    /// Segment over which a floor is taken (default 2 s; 10 ms to 60 s).
    pub segment: Duration,
    /// How long the lower floor must last (default 4 s; whole segments, 1 to 5).
    pub min_duration: Duration,
    /// Reference floors quieter than this (dBm0) are too quiet to drop from (default −72).
    pub min_reference_dbm0: f32,
}

impl Default for NoiseDropConfig {
    fn default() -> Self {
        NoiseDropConfig {
            drop_db: 12.0,
            segment: Duration::from_secs(2),
            min_duration: Duration::from_secs(4),
            min_reference_dbm0: -72.0,
        }
    }
}

/// A detected drop of the noise floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseDrop {
    /// Start of the first segment with the lower floor.
    pub at: HostTime,
    /// Reference floor before, dBm0.
    pub before_dbm0: f32,
    /// Floor after (the highest of the low segments), dBm0.
    pub after_dbm0: f32,
    /// Score in [0, 1]: 0.5 at the threshold, 1 at twice the threshold.
    pub score: f32,
}

/// Tracks the floor and reports drops.
#[derive(Debug, Clone)]
pub struct NoiseFloor {
    cfg: NoiseDropConfig,
    /// Per-segment floors, oldest first (`None`: the segment held only digital silence).
    seconds: [Option<f32>; HISTORY],
    second_starts: [HostTime; HISTORY],
    filled: usize,
    cur_min: Option<f32>,
    cur_start: HostTime,
    cur_frames: u32,
    seg_frames: u32,
    low_segments: usize,
    /// Floor of the last complete segment, or the running minimum before one completes.
    floor: f32,
    /// A drop is being reported: no new report until the floor recovers.
    latched: bool,
}

impl NoiseFloor {
    /// A tracker with `config`.
    pub fn new(config: NoiseDropConfig) -> Self {
        let seg_ms = u64::try_from(config.segment.as_millis()).unwrap_or(u64::MAX).clamp(10, 60_000);
        let seg_frames = u32::try_from(seg_ms / 10).unwrap_or(1).max(1);
        let min_ms = u64::try_from(config.min_duration.as_millis()).unwrap_or(u64::MAX);
        let low_segments = usize::try_from(min_ms.div_ceil(seg_ms)).unwrap_or(1).clamp(1, HISTORY - 3);
        NoiseFloor {
            seg_frames,
            low_segments,
            cfg: config,
            seconds: [None; HISTORY],
            second_starts: [HostTime::ZERO; HISTORY],
            filled: 0,
            cur_min: None,
            cur_start: HostTime::ZERO,
            cur_frames: 0,
            floor: super::level::MIN_LEVEL_DBM0,
            latched: false,
        }
    }

    /// The current floor estimate, dBm0.
    pub fn floor(&self) -> f32 {
        match self.cur_min {
            Some(m) if self.filled == 0 => m,
            _ => self.floor,
        }
    }

    /// Forgets the history (a gap in the audio).
    pub fn reset(&mut self) {
        self.filled = 0;
        self.cur_min = None;
        self.cur_frames = 0;
    }

    /// Feeds one 10 ms frame level starting at `at`; `detect` enables drop reports.
    pub fn update(&mut self, at: HostTime, level_dbm0: f32, detect: bool) -> Option<NoiseDrop> {
        if self.cur_frames == 0 {
            self.cur_start = at;
        }
        if level_dbm0 > DIGITAL_SILENCE_DBM0 {
            self.cur_min = Some(self.cur_min.map_or(level_dbm0, |m: f32| m.min(level_dbm0)));
        }
        self.cur_frames += 1;
        if self.cur_frames < self.seg_frames {
            return None;
        }
        self.cur_frames = 0;
        let done = self.cur_min.take();
        if let Some(f) = done {
            self.floor = f;
        }
        self.seconds.copy_within(1.., 0);
        self.second_starts.copy_within(1.., 0);
        self.seconds[HISTORY - 1] = done;
        self.second_starts[HISTORY - 1] = self.cur_start;
        self.filled = (self.filled + 1).min(HISTORY);
        if !detect {
            return None;
        }
        self.check()
    }

    fn check(&mut self) -> Option<NoiseDrop> {
        let n_low = self.low_segments;
        if self.filled < n_low + 3 {
            return None;
        }
        let older = &self.seconds[HISTORY - self.filled..HISTORY - n_low];
        let reference = older.iter().flatten().copied().fold(f32::MAX, f32::min);
        if reference == f32::MAX {
            return None;
        }
        let low = &self.seconds[HISTORY - n_low..];
        let after = low.iter().map(|s| s.unwrap_or(f32::MAX)).fold(f32::MIN, f32::max);
        let dropped = reference >= self.cfg.min_reference_dbm0 && after <= reference - self.cfg.drop_db;
        if !dropped {
            self.latched = false;
            return None;
        }
        if self.latched {
            return None;
        }
        self.latched = true;
        let drop = reference - after;
        Some(NoiseDrop {
            at: self.second_starts[HISTORY - n_low],
            before_dbm0: reference,
            after_dbm0: after,
            score: (drop / (2.0 * self.cfg.drop_db)).clamp(0.0, 1.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_a_sustained_drop_once() {
        let mut n = NoiseFloor::new(NoiseDropConfig::default());
        let mut drops = Vec::new();
        for i in 0..2400u64 {
            // Floor −50 dBm0 (speech-like frames above it) for 12 s, then −70 dBm0.
            let base = if i < 1200 { -50.0 } else { -70.0 };
            let level = if i % 7 == 0 { base } else { base + 20.0 };
            if let Some(d) = n.update(HostTime::from_millis(i * 10), level, true) {
                drops.push(d);
            }
        }
        assert_eq!(drops.len(), 1);
        assert_eq!(drops[0].at, HostTime::from_millis(12_000));
        assert_eq!((drops[0].before_dbm0, drops[0].after_dbm0), (-50.0, -70.0));
        assert!((drops[0].score - 20.0 / 24.0).abs() < 1e-6);
    }

    #[test]
    fn a_loud_episode_is_not_a_drop_after_it() {
        // Background −60, then 4 s of a tone at −10 (floor −10), then −60 again.
        let mut n = NoiseFloor::new(NoiseDropConfig::default());
        for i in 0..3000u64 {
            let level = if (1000..1400).contains(&i) { -10.0 } else { -60.0 };
            assert_eq!(n.update(HostTime::from_millis(i * 10), level, true), None);
        }
    }

    #[test]
    fn digital_silence_is_not_a_drop() {
        let mut n = NoiseFloor::new(NoiseDropConfig::default());
        for i in 0..3000u64 {
            let level = if i < 1200 { -50.0 } else { -100.0 };
            assert_eq!(n.update(HostTime::from_millis(i * 10), level, true), None);
        }
    }
}
