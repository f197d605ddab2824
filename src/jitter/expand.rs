//! Pitch-based expansion: concealment for codecs without their own (G.711, G.722),
//! after NetEq's Expand and ITU-T G.711 Appendix I.
//!
//! At the start of an erasure the last 60 ms of played audio are analysed:
//! - the pitch period `T` (2.5–15 ms) is the lag of best normalised correlation over
//!   a 20 ms window; the repeated cycle holds as many whole periods as fit in 10 ms
//!   (at least one), its last quarter period overlap-added with the period before it
//!   so that the loop point does not click;
//! - a noise part with the spectral envelope (order-8 LPC) and level of the last
//!   20 ms is mixed in by the voicing: periodic share `clamp((c − 0.3)/0.6, 0, 1)`
//!   for correlation `c`, so that unvoiced sounds are not turned into buzz.
//!
//! Gain envelope over consecutive expansion time `t`: the speech-like signal plays
//! at full gain until 10 ms, then fades linearly to 0 at 60 ms while the
//! background noise (see [`BackgroundNoise`](super::noise::BackgroundNoise)) fades
//! in; from 60 ms the comfort noise fades linearly to silence at 200 ms.

use super::dsp::{autocorr, levinson, rms, PitchSearch};
use super::noise::{ComfortNoise, NoiseShape};

/// Order of the LPC model of the last 20 ms (the unvoiced part).
const SPEECH_ORDER: usize = 8;

/// Which part of the fade an expansion sample is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpandPhase {
    /// Speech-like concealment (before the 60 ms mark).
    Speech,
    /// Comfort noise fading out (60–200 ms).
    Noise,
    /// Silence (from 200 ms).
    Silent,
}

/// Expansion state for one stream at one sample rate. Buffers are allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Expander {
    full_until: usize,
    speech_end: usize,
    noise_end: usize,
    min_lag: usize,
    max_lag: usize,
    win: usize,
    /// Samples of consecutive expansion produced (0: not expanding).
    t: usize,
    cycle: Vec<f32>,
    cycle_len: usize,
    pos: usize,
    /// Share of the periodic part (0 = noise only).
    voiced: f32,
    /// Whether any audio had been played before this erasure.
    had_audio: bool,
    search: PitchSearch,
    speech_noise: ComfortNoise,
    background: ComfortNoise,
}

impl Expander {
    /// An expander for audio at `rate_hz`.
    pub(crate) fn new(rate_hz: u32) -> Self {
        let ms = |m: u32| usize::try_from(rate_hz / 1000 * m).unwrap_or(usize::MAX).max(1);
        let max_lag = ms(15);
        Expander {
            full_until: ms(10),
            speech_end: ms(60),
            noise_end: ms(200),
            min_lag: usize::try_from(rate_hz / 400).unwrap_or(1).max(1),
            max_lag,
            win: ms(20),
            t: 0,
            cycle: vec![0.0; ms(10).max(max_lag) + max_lag],
            cycle_len: 0,
            pos: 0,
            voiced: 0.0,
            had_audio: false,
            search: PitchSearch::new(rate_hz, ms(60)),
            speech_noise: ComfortNoise::new(rate_hz, 0x5EED_0001),
            background: ComfortNoise::new(rate_hz, 0x5EED_0002),
        }
    }

    /// History length (samples) the analysis wants: 60 ms.
    pub(crate) fn history_len(&self) -> usize {
        self.speech_end
    }

    /// Whether an erasure is in progress.
    pub(crate) fn active(&self) -> bool {
        self.t > 0
    }

    /// Samples of consecutive expansion produced so far.
    pub(crate) fn elapsed(&self) -> usize {
        self.t
    }

    /// The fade phase the next sample falls in.
    pub(crate) fn phase(&self) -> ExpandPhase {
        if self.t < self.speech_end {
            ExpandPhase::Speech
        } else if self.t < self.noise_end {
            ExpandPhase::Noise
        } else {
            ExpandPhase::Silent
        }
    }

    /// Advances the erasure by `n` samples produced elsewhere (codec-native PLC).
    pub(crate) fn skip(&mut self, n: usize) {
        self.t = self.t.saturating_add(n);
    }

    /// Ends the erasure (real audio resumed).
    pub(crate) fn reset(&mut self) {
        self.t = 0;
    }

    /// Starts an erasure after `hist` (the most recent played samples, oldest first),
    /// with `bgn` the background-noise model to fade into.
    pub(crate) fn start(&mut self, hist: &[f32], bgn: &NoiseShape) {
        self.t = 0;
        self.pos = 0;
        self.background.set(bgn, true);
        let recent = &hist[hist.len().saturating_sub(self.win)..];
        let level = rms(recent);
        self.had_audio = level > 0.0;
        // Unvoiced part: the spectral envelope and level of the last 20 ms.
        let mut r = [0.0f32; SPEECH_ORDER + 1];
        autocorr(recent, &mut r);
        r[0] *= 1.0001;
        let mut shape = NoiseShape::SILENT;
        levinson(&r, &mut shape.refl[..SPEECH_ORDER]);
        shape.order = SPEECH_ORDER;
        shape.rms = level;
        self.speech_noise.set(&shape, true);
        // Periodic part.
        match self.search.backward(hist, self.min_lag, self.max_lag, self.win) {
            Some(l) if hist.len() >= 2 * l.lag + self.win => {
                let t = l.lag;
                let periods = (self.full_until / t).max(1);
                let len = (t * periods).min(self.cycle.len());
                let n = hist.len();
                self.cycle[..len].copy_from_slice(&hist[n - len..]);
                // Overlap-add the last quarter period with the period before it, so
                // that the cycle's end runs smoothly into its start.
                let q = (t / 4).max(1);
                let prev = &hist[n - len - t..n - t];
                for i in 0..q {
                    let w = (i + 1) as f32 / (q + 1) as f32;
                    let j = len - q + i;
                    self.cycle[j] = self.cycle[j] * (1.0 - w) + prev[j] * w;
                }
                self.cycle_len = len;
                self.voiced = ((l.corr - 0.3) / 0.6).clamp(0.0, 1.0);
            }
            _ => {
                let len = recent.len().min(self.cycle.len());
                self.cycle[..len].copy_from_slice(&recent[recent.len() - len..]);
                self.cycle_len = len;
                self.voiced = 0.0;
            }
        }
    }

    /// Writes the repetition of the analysed cycle at full gain — no noise part, no
    /// fade, without advancing the erasure: the forward half of a two-sided fill, where
    /// the far side of the gap supplies the rest. Silence when nothing was analysed.
    pub(crate) fn continue_at_full_gain(&mut self, out: &mut [f32]) {
        if !self.had_audio || self.cycle_len == 0 {
            out.iter_mut().for_each(|s| *s = 0.0);
            return;
        }
        // Pure repetition: the far side of the gap supplies the rest.
        for o in out.iter_mut() {
            *o = self.cycle[self.pos];
            self.pos = (self.pos + 1) % self.cycle_len;
        }
    }

    /// Writes the next `out.len()` samples of concealment and advances the erasure.
    /// Without a preceding [`start`](Self::start) (or after silence only) it is silence.
    pub(crate) fn generate(&mut self, out: &mut [f32]) {
        let t0 = self.t;
        let (full, s_end, n_end) = (self.full_until as f32, self.speech_end as f32, self.noise_end as f32);
        let speech_gain = move |t: usize| {
            let t = t as f32;
            if t < full {
                1.0
            } else if t < s_end {
                (s_end - t) / (s_end - full)
            } else {
                0.0
            }
        };
        let noise_gain = move |t: usize| {
            let t = t as f32;
            if t < full {
                0.0
            } else if t < s_end {
                (t - full) / (s_end - full)
            } else if t < n_end {
                (n_end - t) / (n_end - s_end)
            } else {
                0.0
            }
        };
        // Background noise first, then the speech-like part added on top.
        self.background.generate(out, |i| noise_gain(t0 + i));
        if self.had_audio && self.cycle_len > 0 {
            let unvoiced = 1.0 - self.voiced;
            let voiced = self.voiced;
            let speech_len = self.speech_end.saturating_sub(t0).min(out.len());
            let mut nz = [0.0f32; 64];
            for (c, chunk) in out[..speech_len].chunks_mut(64).enumerate() {
                let nz = &mut nz[..chunk.len()];
                if unvoiced > 0.0 {
                    self.speech_noise.generate(nz, |_| unvoiced);
                }
                for (i, (o, n)) in chunk.iter_mut().zip(nz.iter()).enumerate() {
                    let periodic = self.cycle[self.pos];
                    self.pos = (self.pos + 1) % self.cycle_len;
                    *o += speech_gain(t0 + c * 64 + i) * (voiced * periodic + n);
                }
            }
        }
        self.t = self.t.saturating_add(out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(start: usize, n: usize, period: f32, amp: f32) -> Vec<f32> {
        (start..start + n).map(|i| amp * (2.0 * std::f32::consts::PI * i as f32 / period).sin()).collect()
    }

    #[test]
    fn voiced_signal_continues_then_fades_to_noise_and_silence() {
        let mut ex = Expander::new(8000);
        let hist = sine(0, 480, 80.0, 10_000.0); // 100 Hz
        let bgn = NoiseShape { rms: 100.0, ..NoiseShape::SILENT };
        ex.start(&hist, &bgn);
        let mut out = vec![0.0f32; 1700];
        ex.generate(&mut out[..160]);
        ex.generate(&mut out[160..]);
        // First 10 ms: the true continuation of the sine.
        let truth = sine(480, 80, 80.0, 10_000.0);
        let err: f32 = out[..80].iter().zip(&truth).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 50.0, "max error {err}");
        // 60..200 ms: only the background noise, fading; 200 ms on: silence.
        let noise_rms = rms(&out[480..560]);
        assert!(noise_rms > 40.0 && noise_rms < 130.0, "{noise_rms}");
        assert!(rms(&out[1400..1600]) < rms(&out[480..680]));
        assert!(out[1600..].iter().all(|&s| s == 0.0));
        assert_eq!(ex.phase(), ExpandPhase::Silent);
        assert_eq!(ex.elapsed(), 1700);
    }

    #[test]
    fn no_history_gives_silence_and_noise_only() {
        let mut ex = Expander::new(16_000);
        ex.start(&[0.0; 960], &NoiseShape::SILENT);
        let mut out = vec![1.0f32; 640];
        ex.generate(&mut out);
        assert!(out.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn unvoiced_history_is_continued_by_shaped_noise_at_its_level() {
        let mut ex = Expander::new(8000);
        let mut rng = super::super::dsp::Rng::new(9);
        let hist: Vec<f32> = (0..480).map(|_| rng.next() * 3000.0).collect();
        ex.start(&hist, &NoiseShape::SILENT);
        let mut out = vec![0.0f32; 80];
        ex.generate(&mut out);
        let r = rms(&out) / rms(&hist[320..]);
        assert!(r > 0.6 && r < 1.5, "{r}");
    }
}
