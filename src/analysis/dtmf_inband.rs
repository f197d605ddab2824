//! In-band DTMF detection (ITU-T Q.23 frequencies, Q.24 acceptance limits) with talk-off
//! protection, for legs that do not send RFC 4733 events.
//!
//! The 8 kHz signal is cut into blocks of 102 samples (12.75 ms); a Goertzel filter per
//! Q.23 frequency measures each block. A block *hits* a key when
//! - the strongest row and column tones are each at or above [`InbandDtmfConfig::min_level_dbm0`],
//! - each beats the other tones of its group by [`InbandDtmfConfig::min_group_margin_db`],
//! - the twist (column level − row level) lies within the normal/reverse limits,
//! - the two tones carry at least [`InbandDtmfConfig::min_tone_ratio`] of the block's energy
//!   (speech spreads its energy over many harmonics: the main talk-off guard).
//!
//! Two consecutive hits of one key (≥ 25.5 ms; a 40 ms tone always covers two whole blocks)
//! make a candidate, which is then checked for frequency: the phase advance of a Hann-windowed
//! DFT bin over 40 samples gives each tone's frequency to a fraction of a hertz, and a tone
//! more than [`InbandDtmfConfig::max_freq_offset`] from nominal is refused. Q.24 asks for
//! acceptance within ±1.5 % and rejection beyond ±3.5 %; the default limit, 2.5 %, sits
//! between. Two blocks without the key (≥ 25.5 ms; a 40 ms pause always holds two) end it.

use super::dtmf::{DtmfDigit, COL_HZ, ROW_HZ};
use super::dtmf_rtp::DetectedDigit;
use super::level::{dbm0_to_mean_square, mean_square_to_dbm0, phase_frequency, Goertzel};
use crate::time::HostTime;
use std::time::Duration;

/// Samples per detection block at 8 kHz (12.75 ms).
pub const BLOCK: usize = 102;
const RATE: f32 = 8000.0;
/// Duration of one block in ns (102 / 8000 s).
const BLOCK_NS: u64 = 12_750_000;

/// Settings of the in-band detector. Levels are per tone, in dBm0 (see [`super::level`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct InbandDtmfConfig {
    /// Weakest tone accepted, dBm0 (default −36).
    pub min_level_dbm0: f32,
    /// Largest excess of the column (high-group) tone over the row tone, dB (default 8).
    pub max_normal_twist_db: f32,
    /// Largest excess of the row (low-group) tone over the column tone, dB (default 4).
    pub max_reverse_twist_db: f32,
    /// Largest relative frequency error accepted (default 0.025: between Q.24's 1.5 % accept and 3.5 % reject).
    pub max_freq_offset: f32,
    /// Share of a block's energy the two tones must carry (default 0.7).
    pub min_tone_ratio: f32,
    /// Margin of each tone over the other frequencies of its group, dB (default 8).
    pub min_group_margin_db: f32,
}

impl Default for InbandDtmfConfig {
    fn default() -> Self {
        InbandDtmfConfig {
            min_level_dbm0: -36.0,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 4.0,
            max_freq_offset: 0.025,
            min_tone_ratio: 0.7,
            min_group_margin_db: 8.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    /// Consecutive hits of `digit` not yet verified; `tries` frequency checks failed.
    Candidate {
        digit: DtmfDigit,
        since: HostTime,
        tries: u8,
    },
    /// A confirmed key: `misses` consecutive blocks without it.
    On {
        digit: DtmfDigit,
        since: HostTime,
        until: HostTime,
        misses: u8,
        level: f32,
    },
}

/// Streaming in-band DTMF detector on 8 kHz mono samples.
#[derive(Debug, Clone)]
pub struct InbandDtmfDetector {
    cfg: InbandDtmfConfig,
    rows: [Goertzel; 4],
    cols: [Goertzel; 4],
    min_ms: f32,
    block: [f32; BLOCK],
    fill: usize,
    /// Last two blocks, oldest first (for the frequency check).
    history: [f32; 2 * BLOCK],
    block_start: HostTime,
    state: State,
    ready: Option<DetectedDigit>,
    /// Candidates refused by the frequency check.
    freq_rejects: u64,
}

impl InbandDtmfDetector {
    /// A detector with `config`.
    pub fn new(config: InbandDtmfConfig) -> Self {
        InbandDtmfDetector {
            rows: ROW_HZ.map(|f| Goertzel::new(f as f32, RATE)),
            cols: COL_HZ.map(|f| Goertzel::new(f as f32, RATE)),
            min_ms: dbm0_to_mean_square(config.min_level_dbm0) as f32,
            cfg: config,
            block: [0.0; BLOCK],
            fill: 0,
            history: [0.0; 2 * BLOCK],
            block_start: HostTime::ZERO,
            state: State::Idle,
            ready: None,
            freq_rejects: 0,
        }
    }

    /// Candidates refused by the frequency check so far.
    pub fn freq_rejects(&self) -> u64 {
        self.freq_rejects
    }

    /// Feeds 8 kHz samples whose first sample plays at `at`. Returns a key press that ended
    /// within them (at most one per call when calls are ≤ 25 ms; longer input may complete
    /// more: call with 10–20 ms chunks).
    pub fn process(&mut self, at: HostTime, samples: &[f32]) -> Option<DetectedDigit> {
        let mut out = None;
        for (i, &x) in samples.iter().enumerate() {
            if self.fill == 0 {
                self.block_start = at.saturating_add(Duration::from_nanos(i as u64 * 125_000));
            }
            self.block[self.fill] = x;
            self.fill += 1;
            if self.fill == BLOCK {
                self.fill = 0;
                self.history.copy_within(BLOCK.., 0);
                self.history[BLOCK..].copy_from_slice(&self.block);
                self.run_block();
                if let Some(d) = self.ready.take() {
                    out = Some(d);
                }
            }
        }
        out
    }

    /// Forgets a partial block and any tone in progress (a gap in the audio): a key that was
    /// on is reported as ended at its last block.
    pub fn reset(&mut self) -> Option<DetectedDigit> {
        self.fill = 0;
        let out = self.end_current();
        self.state = State::Idle;
        out
    }

    fn end_current(&mut self) -> Option<DetectedDigit> {
        if let State::On { digit, since, until, level, .. } = self.state {
            return Some(DetectedDigit {
                digit,
                at: since,
                duration: until.saturating_since(since),
                level_dbm0: level,
                ended: true,
            });
        }
        None
    }

    fn classify(&self) -> Option<(DtmfDigit, f32)> {
        let b = &self.block;
        let total = b.iter().map(|x| x * x).sum::<f32>() / BLOCK as f32;
        if total < self.min_ms {
            return None;
        }
        let r: [f32; 4] = std::array::from_fn(|i| self.rows[i].mean_square(b));
        let c: [f32; 4] = std::array::from_fn(|i| self.cols[i].mean_square(b));
        let (ri, rp) = best(&r);
        let (ci, cp) = best(&c);
        if rp < self.min_ms || cp < self.min_ms {
            return None;
        }
        let margin = 10f32.powf(self.cfg.min_group_margin_db / 10.0);
        if r.iter().enumerate().any(|(i, &p)| i != ri && p * margin > rp)
            || c.iter().enumerate().any(|(i, &p)| i != ci && p * margin > cp)
        {
            return None;
        }
        let twist = 10.0 * (cp / rp).log10();
        if twist > self.cfg.max_normal_twist_db || -twist > self.cfg.max_reverse_twist_db {
            return None;
        }
        if rp + cp < self.cfg.min_tone_ratio * total {
            return None;
        }
        Some((DtmfDigit::at(ri, ci), mean_square_to_dbm0(f64::from(rp.min(cp)))))
    }

    fn freq_ok(&self, digit: DtmfDigit) -> bool {
        let (fr, fc) = digit.frequencies();
        let x = &self.history[2 * BLOCK - 200..];
        [fr, fc].iter().all(|&f0| {
            let f0 = f0 as f32;
            phase_frequency(x, f0, RATE, 160, 40).is_some_and(|f| (f / f0 - 1.0).abs() <= self.cfg.max_freq_offset)
        })
    }

    fn run_block(&mut self) {
        let hit = self.classify();
        let block_end = self.block_start.saturating_add(Duration::from_nanos(BLOCK_NS));
        self.state = match (self.state, hit) {
            (State::Idle, None) => State::Idle,
            (State::Idle, Some((d, _))) => State::Candidate { digit: d, since: self.block_start, tries: 0 },
            (State::Candidate { digit, since, tries }, Some((d, level))) if d == digit => {
                if tries >= 3 {
                    State::Candidate { digit, since, tries }
                } else if self.freq_ok(d) {
                    State::On { digit, since, until: block_end, misses: 0, level }
                } else {
                    self.freq_rejects += u64::from(tries == 0);
                    State::Candidate { digit, since, tries: tries + 1 }
                }
            }
            (State::Candidate { .. }, Some((d, _))) => State::Candidate { digit: d, since: self.block_start, tries: 0 },
            (State::Candidate { .. }, None) => State::Idle,
            (State::On { digit, since, level, .. }, Some((d, l))) if d == digit => {
                State::On { digit, since, until: block_end, misses: 0, level: level.min(l) }
            }
            (on @ State::On { misses, .. }, other) => {
                if misses + 1 >= 2 {
                    self.ready = self.end_current();
                    match other {
                        Some((d, _)) => State::Candidate { digit: d, since: self.block_start, tries: 0 },
                        None => State::Idle,
                    }
                } else if let State::On { digit, since, until, level, .. } = on {
                    State::On { digit, since, until, misses: misses + 1, level }
                } else {
                    on
                }
            }
        };
    }
}

fn best(p: &[f32; 4]) -> (usize, f32) {
    let mut i = 0;
    for j in 1..4 {
        if p[j] > p[i] {
            i = j;
        }
    }
    (i, p[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dtmf_gen::dtmf_sequence;

    fn detect(samples: &[i16]) -> (String, u64) {
        let mut d = InbandDtmfDetector::new(InbandDtmfConfig::default());
        let mut s = String::new();
        let x: Vec<f32> = samples.iter().map(|&v| f32::from(v)).collect();
        for (i, chunk) in x.chunks(80).enumerate() {
            if let Some(k) = d.process(HostTime::from_millis(i as u64 * 10), chunk) {
                s.push(k.digit.as_char());
            }
        }
        if let Some(k) = d.reset() {
            s.push(k.digit.as_char());
        }
        (s, d.freq_rejects())
    }

    #[test]
    fn detects_all_keys_at_40_40_and_rejects_offsets() {
        let keys = "123A456B789C*0#D";
        let on = Duration::from_millis(40);
        let x = dtmf_sequence(keys, -26.0, on, on, 1.0, 8000);
        assert_eq!(detect(&x).0, keys);
        for off in [1.015f64, 0.985] {
            let x = dtmf_sequence(keys, -26.0, on, on, off, 8000);
            assert_eq!(detect(&x).0, keys, "offset {off}");
        }
        for off in [1.035f64, 0.965] {
            let x = dtmf_sequence(keys, -26.0, on, on, off, 8000);
            assert_eq!(detect(&x).0, "", "offset {off}");
        }
    }

    #[test]
    fn weak_tones_and_silence_are_ignored() {
        let x = dtmf_sequence("5", -45.0, Duration::from_millis(100), Duration::from_millis(40), 1.0, 8000);
        assert_eq!(detect(&x).0, "");
        assert_eq!(detect(&[0i16; 8000]).0, "");
    }

    #[test]
    fn durations_follow_the_tone() {
        let x = dtmf_sequence("7", -20.0, Duration::from_millis(200), Duration::from_millis(100), 1.0, 8000);
        let mut d = InbandDtmfDetector::new(InbandDtmfConfig::default());
        let xf: Vec<f32> = x.iter().map(|&v| f32::from(v)).collect();
        let mut got = None;
        for (i, chunk) in xf.chunks(80).enumerate() {
            got = got.or(d.process(HostTime::from_millis(i as u64 * 10), chunk));
        }
        let k = got.expect("key");
        assert_eq!(k.digit.as_char(), '7');
        let ms = k.duration.as_millis() as i64;
        assert!((ms - 200).abs() <= 26, "{ms}");
        assert!(k.at <= HostTime::from_millis(13));
        assert!((k.level_dbm0 + 20.0).abs() < 1.5, "{}", k.level_dbm0);
    }
}
