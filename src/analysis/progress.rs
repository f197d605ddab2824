//! Call-progress tones (dial, ringback, busy) heard on a leg after the call was answered: a
//! third party being dialled through the far end. Frequencies and cadences: China (YD/T 1125
//! as in ITU-T E.180 Suppl. 2: 450 Hz; dial continuous, ringback 1 s on / 4 s off, busy
//! 0.35 s on/off, congestion 0.7 s on/off) and ITU-T E.180 values used elsewhere (425 Hz,
//! 400 Hz, 350+440 Hz dial, 440+480 Hz ringback, 480+620 Hz busy, 350+450 Hz dial,
//! 400+450 Hz ringback).
//!
//! Blocks of 320 samples (40 ms at 8 kHz, 25 Hz resolution). A block holds a tone when the Goertzel powers of a
//! table entry's frequencies carry at least [`ProgressToneConfig::min_purity`] of the block's
//! energy at or above [`ProgressToneConfig::min_level_dbm0`]. After
//! [`ProgressToneConfig::onset_blocks`] consecutive such blocks of one entry with a steady level
//! (and, for single tones, a frequency within [`ProgressToneConfig::freq_tolerance`] measured by
//! phase advance) the onset is reported; the cadence is reported once known: a tone lasting
//! 1.5 s is *continuous* (dial), a burst of 0.8–1.3 s is *ringback*-like, one of 0.25–0.8 s
//! *busy*-like.

use super::level::{mean_square_to_dbm0, phase_frequency, Goertzel};
use crate::time::HostTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const BLOCK: usize = 320;
const BLOCK_NS: u64 = 40_000_000;
const RATE: f32 = 8000.0;

/// A tone's frequency set: one or two frequencies in Hz (second 0 for a single tone).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToneFreqs(pub f32, pub f32);

/// The frequency sets recognised by default (see the module docs).
pub const DEFAULT_TONES: [ToneFreqs; 8] = [
    ToneFreqs(450.0, 0.0),
    ToneFreqs(425.0, 0.0),
    ToneFreqs(400.0, 0.0),
    ToneFreqs(350.0, 440.0),
    ToneFreqs(440.0, 480.0),
    ToneFreqs(480.0, 620.0),
    ToneFreqs(350.0, 450.0),
    ToneFreqs(400.0, 450.0),
];

/// What the tone's timing looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ToneCadence {
    /// Just started; cadence not known yet.
    Onset,
    /// On for 1.5 s or more: dial tone.
    Continuous,
    /// A burst of 0.8–1.3 s: ringback.
    RingbackLike,
    /// A burst of 0.25–0.8 s: busy or congestion.
    BusyLike,
}

/// Settings of the call-progress tone detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProgressToneConfig {
    /// Frequency sets to look for.
    pub tones: Vec<ToneFreqs>,
    /// Lowest tone level (dBm0, default −40).
    pub min_level_dbm0: f32,
    /// Share of block energy the tone must carry (default 0.9).
    pub min_purity: f32,
    /// Consecutive tone blocks before the onset is reported (default 3 = 120 ms).
    pub onset_blocks: u32,
    /// Largest relative frequency error of a single tone (default 0.02).
    pub freq_tolerance: f32,
}

impl Default for ProgressToneConfig {
    fn default() -> Self {
        ProgressToneConfig {
            tones: DEFAULT_TONES.to_vec(),
            min_level_dbm0: -40.0,
            min_purity: 0.9,
            onset_blocks: 3,
            freq_tolerance: 0.02,
        }
    }
}

/// A report of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneReport {
    /// Start of the tone (first block holding it).
    pub at: HostTime,
    /// Its frequency set.
    pub freqs: ToneFreqs,
    /// Onset, or the cadence once known.
    pub cadence: ToneCadence,
    /// Level of the tone, dBm0.
    pub level_dbm0: f32,
    /// Score in [0, 1]: purity, scaled 0.6 at onset and 0.9 once the cadence is known.
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    entry: usize,
    start: HostTime,
    blocks: u32,
    level: f32,
    purity: f32,
    reported_onset: bool,
    reported_cadence: bool,
    /// End of the last block holding the tone.
    last_end: HostTime,
    /// Consecutive blocks without it (one is tolerated: dual tones beat).
    misses: u32,
}

/// Streaming detector on 8 kHz samples.
#[derive(Debug, Clone)]
pub struct ProgressToneDetector {
    cfg: ProgressToneConfig,
    filters: Vec<(Goertzel, Goertzel)>,
    block: [f32; BLOCK],

    fill: usize,
    block_start: HostTime,
    run: Option<Run>,
    ready: Option<ToneReport>,
}

impl ProgressToneDetector {
    /// A detector with `config`.
    pub fn new(config: ProgressToneConfig) -> Self {
        let filters = config
            .tones
            .iter()
            .map(|t| (Goertzel::new(t.0, RATE), Goertzel::new(if t.1 > 0.0 { t.1 } else { t.0 }, RATE)))
            .collect();
        ProgressToneDetector {
            cfg: config,
            filters,
            block: [0.0; BLOCK],
            fill: 0,
            block_start: HostTime::ZERO,
            run: None,
            ready: None,
        }
    }

    /// Forgets a partial block and a tone in progress (a gap in the audio).
    pub fn reset(&mut self) {
        self.fill = 0;
        self.run = None;
    }

    /// Feeds 8 kHz samples whose first plays at `at`; returns a report made within them.
    pub fn process(&mut self, at: HostTime, samples: &[f32]) -> Option<ToneReport> {
        let mut out = None;
        for (i, &x) in samples.iter().enumerate() {
            if self.fill == 0 {
                self.block_start = at.saturating_add(Duration::from_nanos(i as u64 * 125_000));
            }
            self.block[self.fill] = x;
            self.fill += 1;
            if self.fill == BLOCK {
                self.fill = 0;
                self.run_block();
                if let Some(r) = self.ready.take() {
                    out = Some(r);
                }
            }
        }
        out
    }

    fn classify(&self) -> Option<(usize, f32, f32)> {
        let b = &self.block;
        let total = b.iter().map(|x| x * x).sum::<f32>() / BLOCK as f32;
        if mean_square_to_dbm0(f64::from(total)) < self.cfg.min_level_dbm0 {
            return None;
        }
        // Single tones first: a pair whose bins sit near a single tone would add up its leakage.
        let mut best: Option<(usize, f32, f32)> = None;
        for pairs in [false, true] {
            for (i, (g1, g2)) in self.filters.iter().enumerate() {
                let t = self.cfg.tones[i];
                if (t.1 > 0.0) != pairs {
                    continue;
                }
                let p1 = g1.mean_square(b);
                let p = if pairs {
                    let p2 = g2.mean_square(b);
                    // Both components of a dual tone must be present (within 10 dB of each other).
                    if p1.min(p2) * 10.0 < p1.max(p2) {
                        continue;
                    }
                    p1 + p2
                } else {
                    p1
                };
                let purity = p / total;
                if purity >= self.cfg.min_purity && best.map_or(true, |(_, bp, _)| purity > bp) {
                    best = Some((i, purity, mean_square_to_dbm0(f64::from(p))));
                }
            }
            if best.is_some() {
                break;
            }
        }
        let (i, purity, level) = best?;
        let t = self.cfg.tones[i];
        if t.1 == 0.0 {
            let f = phase_frequency(&self.block[BLOCK - 200..], t.0, RATE, 160, 40)?;
            if (f / t.0 - 1.0).abs() > self.cfg.freq_tolerance {
                return None;
            }
        }
        Some((i, purity, level))
    }

    fn run_block(&mut self) {
        let hit = self.classify();
        let end = self.block_start.saturating_add(Duration::from_nanos(BLOCK_NS));
        let continues = match (&self.run, hit) {
            (Some(r), Some((i, _, level))) => r.entry == i && (level - r.level).abs() <= 3.0,
            _ => false,
        };
        if continues {
            if let (Some(r), Some((_, purity, _))) = (self.run.as_mut(), hit) {
                r.blocks += 1;
                r.misses = 0;
                r.last_end = end;
                r.purity = r.purity.min(purity);
                if !r.reported_onset && r.blocks >= self.cfg.onset_blocks {
                    r.reported_onset = true;
                    self.ready = Some(self.report(ToneCadence::Onset));
                } else if !r.reported_cadence && end.saturating_since(r.start) >= Duration::from_millis(1500) {
                    r.reported_cadence = true;
                    self.ready = Some(self.report(ToneCadence::Continuous));
                }
            }
            return;
        }
        if let Some(r) = self.run.as_mut() {
            if r.misses == 0 && hit.is_none() {
                r.misses = 1;
                return;
            }
        }
        // The run (if any) ended with its last tone block: classify its burst length.
        if let Some(r) = self.run {
            let on = r.last_end.saturating_since(r.start);
            if r.reported_onset && !r.reported_cadence {
                let cadence = if (Duration::from_millis(800)..=Duration::from_millis(1300)).contains(&on) {
                    Some(ToneCadence::RingbackLike)
                } else if (Duration::from_millis(250)..Duration::from_millis(800)).contains(&on) {
                    Some(ToneCadence::BusyLike)
                } else {
                    None
                };
                if let Some(c) = cadence {
                    self.ready = Some(self.report(c));
                }
            }
        }
        self.run = hit.map(|(entry, purity, level)| Run {
            entry,
            start: self.block_start,
            blocks: 1,
            level,
            purity,
            reported_onset: false,
            reported_cadence: false,
            last_end: end,
            misses: 0,
        });
    }

    fn report(&self, cadence: ToneCadence) -> ToneReport {
        // Only called with a run present.
        let r = self.run.unwrap_or(Run {
            entry: 0,
            start: self.block_start,
            blocks: 0,
            level: 0.0,
            purity: 0.0,
            reported_onset: true,
            reported_cadence: true,
            last_end: self.block_start,
            misses: 0,
        });
        let scale = if cadence == ToneCadence::Onset { 0.6 } else { 0.9 };
        ToneReport {
            at: r.start,
            freqs: self.cfg.tones[r.entry],
            cadence,
            level_dbm0: r.level,
            score: (scale * r.purity).clamp(0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(f: &[f32], level_peak: f32, ms: usize, start: usize) -> Vec<f32> {
        (start..start + ms * 8)
            .map(|n| f.iter().map(|&f| level_peak * (2.0 * std::f32::consts::PI * f * n as f32 / RATE).sin()).sum())
            .collect()
    }

    fn run(sig: &[f32]) -> Vec<(ToneReport, HostTime)> {
        let mut d = ProgressToneDetector::new(ProgressToneConfig::default());
        let mut out = Vec::new();
        for (i, c) in sig.chunks(80).enumerate() {
            let at = HostTime::from_millis(i as u64 * 10);
            if let Some(r) = d.process(at, c) {
                out.push((r, at));
            }
        }
        out
    }

    #[test]
    fn chinese_dial_tone_onset_and_continuous() {
        let mut sig = vec![0.0f32; 2005];
        sig.extend(tone(&[450.0], 3000.0, 3000, 0));
        let got = run(&sig);
        assert_eq!(got.len(), 2, "{got:?}");
        let (onset, seen) = got[0];
        assert_eq!(onset.cadence, ToneCadence::Onset);
        assert_eq!(onset.freqs, ToneFreqs(450.0, 0.0));
        let tone_start = HostTime::from_nanos(2005 * 125_000);
        assert!(onset.at.saturating_since(tone_start) <= Duration::from_millis(40));
        assert!(seen.saturating_since(tone_start) <= Duration::from_millis(200), "{seen:?}");
        assert_eq!(got[1].0.cadence, ToneCadence::Continuous);
    }

    #[test]
    fn busy_and_ringback_cadences_and_off_frequency() {
        let mut sig = Vec::new();
        for _ in 0..3 {
            sig.extend(tone(&[450.0], 3000.0, 350, 0));
            sig.extend(vec![0.0; 350 * 8]);
        }
        let c: Vec<_> = run(&sig).into_iter().map(|(r, _)| r.cadence).collect();
        assert_eq!(c, [ToneCadence::Onset, ToneCadence::BusyLike].repeat(3));
        let mut sig = tone(&[440.0, 480.0], 2000.0, 1000, 0);
        sig.extend(vec![0.0; 4000 * 8]);
        let got = run(&sig);
        assert_eq!(
            got.iter().map(|(r, _)| r.cadence).collect::<Vec<_>>(),
            [ToneCadence::Onset, ToneCadence::RingbackLike]
        );
        assert_eq!(got[0].0.freqs, ToneFreqs(440.0, 480.0));
        // 500 Hz is no progress tone of the table.
        assert!(run(&tone(&[500.0], 3000.0, 2000, 0)).is_empty());
    }
}
