//! Two-sided concealment: when the packet after a short loss (at most 60 ms) is
//! already buffered, the gap is filled from both sides instead of extrapolated from
//! the past and merged afterwards.
//!
//! The past is continued forward by the [`Expander`]'s pitch repetition (at full
//! gain: the gap is short and the far side is known); the next packet's audio is
//! continued *backward* by repeating its first pitch period (2.5–15 ms, found by
//! normalised correlation; its first 10 ms when it is not voiced), the repeated
//! cycle's first quarter period overlap-added with the period after it so that the
//! copies join smoothly and the last copy runs straight into the real audio. The two
//! are joined where they are most alike — the position of best normalised correlation
//! over one period — with a one-period cross-fade; when they are alike nowhere
//! (correlation under 0.7), they are cross-faded across the whole gap. Levels, spectra
//! and pitch move from one side to the other instead of fading to noise, and no merge
//! is needed at the end (waveform interpolation; G.711 Appendix I only extrapolates).

use super::dsp::{norm_corr, PitchSearch};
use super::expand::Expander;
use super::noise::NoiseShape;

/// Correlation at which the two extensions count as in phase (a short cross-fade).
const ALIGNED: f32 = 0.7;

/// Fills short gaps from both sides. Scratch allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Interpolator {
    min_lag: usize,
    max_lag: usize,
    unvoiced_len: usize,
    max_gap: usize,
    search: PitchSearch,
    cycle: Vec<f32>,
    forward: Vec<f32>,
}

impl Interpolator {
    /// An interpolator for audio at `rate_hz`.
    pub(crate) fn new(rate_hz: u32) -> Self {
        let ms = |m: u32| usize::try_from(rate_hz / 1000 * m).unwrap_or(usize::MAX).max(1);
        let max_lag = ms(15);
        Interpolator {
            min_lag: usize::try_from(rate_hz / 400).unwrap_or(1).max(1),
            max_lag,
            unvoiced_len: ms(10),
            max_gap: ms(60),
            search: PitchSearch::new(rate_hz, 2 * max_lag + 1),
            cycle: vec![0.0; max_lag.max(ms(10))],
            forward: vec![0.0; ms(60)],
        }
    }

    /// Longest gap (samples) filled this way.
    pub(crate) fn max_gap(&self) -> usize {
        self.max_gap
    }

    /// Writes `out` (the gap, at most [`max_gap`](Self::max_gap) samples) between `hist`
    /// (played audio, oldest first) and `next` (the decoded audio that follows the gap).
    /// The expander is used for the forward part and left idle.
    pub(crate) fn fill(&mut self, ex: &mut Expander, hist: &[f32], next: &[f32], out: &mut [f32]) {
        let g = out.len().min(self.max_gap);
        let out = &mut out[..g];
        ex.start(hist, &NoiseShape::SILENT);
        let fwd = &mut self.forward[..g];
        ex.continue_at_full_gain(fwd);
        ex.reset();
        // The backward cycle from the next packet's start.
        let probe = &next[..next.len().min(2 * self.max_lag)];
        let (len, period) = match self.search.forward(probe, self.min_lag, self.max_lag) {
            Some(l) if l.corr >= 0.3 && next.len() >= 2 * l.lag => (l.lag, true),
            _ => (self.unvoiced_len.min(next.len()).min(self.cycle.len()), false),
        };
        if len == 0 {
            out.copy_from_slice(fwd);
            return;
        }
        let cycle = &mut self.cycle[..len];
        cycle.copy_from_slice(&next[..len]);
        if period {
            // Blend the cycle's start with the period after it: copy k's end then
            // runs into copy k+1's start as the signal ran from one period to the next.
            let q = (len / 4).max(1);
            for (j, c) in cycle.iter_mut().take(q).enumerate() {
                let w = (j + 1) as f32 / (q + 1) as f32;
                *c = next[len + j] * (1.0 - w) + *c * w;
            }
        }
        // The backward extension, written into `out` for now.
        for (i, o) in out.iter_mut().enumerate() {
            // Position of sample i counted back from the gap's end, in the cycle.
            let back = g - i;
            *o = cycle[(len - back % len) % len];
        }
        // Where the two extensions are most alike over a window of one period (at
        // least 2.5 ms), a short cross-fade joins them cleanly; when they are alike
        // nowhere, fade across the whole gap.
        let win = len.max(self.min_lag).min(g);
        let mut best: Option<(usize, f32)> = None;
        let step = (self.min_lag / 8).max(1);
        let mut c = 0;
        while c + win <= g {
            let r = norm_corr(&fwd[c..c + win], &out[c..c + win]);
            if best.map_or(true, |(_, b)| r > b) {
                best = Some((c, r));
            }
            c += step;
        }
        match best {
            Some((c, r)) if r >= ALIGNED => {
                for (i, (o, f)) in out.iter_mut().zip(fwd.iter()).enumerate() {
                    *o = if i < c {
                        *f
                    } else if i < c + win {
                        let w = (i - c + 1) as f32 / (win + 1) as f32;
                        f * (1.0 - w) + *o * w
                    } else {
                        *o
                    };
                }
            }
            _ => {
                for (i, (o, f)) in out.iter_mut().zip(fwd.iter()).enumerate() {
                    let w = (i + 1) as f32 / (g + 1) as f32;
                    *o = f * (1.0 - w) + *o * w;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(start: usize, n: usize, period: f32, amp: f32) -> Vec<f32> {
        (start..start + n).map(|i| amp * (2.0 * std::f32::consts::PI * i as f32 / period).sin()).collect()
    }

    #[test]
    fn a_tone_gap_is_filled_with_the_tone() {
        let mut ex = Expander::new(8000);
        let mut it = Interpolator::new(8000);
        let hist = sine(0, 480, 80.0, 8000.0);
        let next = sine(640, 160, 80.0, 8000.0);
        let mut gap = vec![0.0f32; 160];
        it.fill(&mut ex, &hist, &next, &mut gap);
        let truth = sine(480, 160, 80.0, 8000.0);
        let err = gap.iter().zip(&truth).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 80.0, "max error {err}");
        assert!(!ex.active());
    }

    #[test]
    fn the_level_moves_from_one_side_to_the_other() {
        let mut ex = Expander::new(8000);
        let mut it = Interpolator::new(8000);
        let hist = sine(0, 480, 80.0, 1000.0);
        let next = sine(640, 160, 80.0, 9000.0);
        let mut gap = vec![0.0f32; 160];
        it.fill(&mut ex, &hist, &next, &mut gap);
        let peak = |x: &[f32]| x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak(&gap[..40]) < 4000.0);
        assert!(peak(&gap[120..]) > 7000.0);
        // The end runs into the next packet without a step.
        assert!((gap[159] - next[0]).abs() < 800.0, "{} vs {}", gap[159], next[0]);
    }
}
