//! Merge: joining real audio after an expansion, after NetEq's Merge and the
//! end-of-erasure overlap-add of ITU-T G.711 Appendix I.
//!
//! The expansion is run on for a little longer to give its continuation `c`.
//! While the expansion was still speech-like (under 60 ms) the new audio is aligned
//! to it by normalised correlation, shifting either way by up to 5 ms: either the
//! first `o` new samples are dropped, or `o` more samples of the expansion play
//! first — whichever lines the waveforms up best (a shift must beat joining in
//! place by 0.1 of correlation) — so merges do not drift the delay one way. The
//! overlap is then cross-faded from `c` into the new audio. The overlap `L` grows with the erasure: 2.5 ms plus a
//! quarter of the time expanded, at most 10 ms. After the expansion has faded to
//! noise or silence, the new audio simply fades in from it over 5 ms.

use super::dsp::{crossfade, norm_corr, PitchSearch};
use super::expand::{ExpandPhase, Expander};

/// Joins decoded audio to a preceding expansion. Scratch allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Merger {
    base: usize,
    max_overlap: usize,
    max_offset: usize,
    fade_in: usize,
    search: PitchSearch,
    cont: Vec<f32>,
    mix: Vec<f32>,
}

/// How new audio joins the expansion: play `prefix` more synthetic samples first
/// (in [`Merger::prefix`]), drop the first `drop` new samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Join {
    /// Synthetic samples to play before the new audio.
    pub(crate) prefix: usize,
    /// Leading new samples dropped.
    pub(crate) drop: usize,
}

impl Merger {
    /// A merger for audio at `rate_hz`.
    pub(crate) fn new(rate_hz: u32) -> Self {
        let ms2_5 = usize::try_from(rate_hz / 400).unwrap_or(1).max(1);
        let max_overlap = 4 * ms2_5;
        let max_offset = 2 * ms2_5;
        Merger {
            base: ms2_5,
            max_overlap,
            max_offset,
            fade_in: 2 * ms2_5,
            search: PitchSearch::new(rate_hz, max_overlap + max_offset),
            cont: vec![0.0; max_overlap + max_offset],
            mix: vec![0.0; max_overlap],
        }
    }

    /// The synthetic samples to play before the new audio (valid after [`merge`](Self::merge)).
    pub(crate) fn prefix(&self, join: Join) -> &[f32] {
        &self.cont[..join.prefix]
    }

    /// Merges `new` (freshly decoded audio) after the expansion in `ex`, which ends.
    /// The caller plays [`prefix`](Self::prefix), then `new[join.drop..]`. Does nothing
    /// when no expansion is in progress.
    pub(crate) fn merge(&mut self, ex: &mut Expander, new: &mut [f32]) -> Join {
        let none = Join { prefix: 0, drop: 0 };
        if !ex.active() {
            return none;
        }
        let speech = ex.phase() == ExpandPhase::Speech;
        let overlap = if speech { (self.base + ex.elapsed() / 4).min(self.max_overlap) } else { self.fade_in };
        let overlap = overlap.min(new.len());
        let room = if speech { self.max_offset.min(new.len() - overlap) } else { 0 };
        let cont = &mut self.cont[..overlap + room];
        ex.generate(cont);
        ex.reset();
        let mut join = none;
        if room > 0 {
            // Offsets both ways keep the timeline unbiased: drop new samples, or play
            // more of the expansion, whichever lines the waveforms up best.
            let here = norm_corr(&cont[..overlap], &new[..overlap]);
            let drop = self.search.align(&cont[..overlap], &new[..overlap + room], room);
            let extra = self.search.align(&new[..overlap], &cont[..overlap + room], room);
            let mut best = here + 0.1;
            if let Some(l) = drop.filter(|l| l.lag > 0 && l.corr > best) {
                best = l.corr;
                join = Join { prefix: 0, drop: l.lag };
            }
            if let Some(l) = extra.filter(|l| l.lag > 0 && l.corr > best) {
                join = Join { prefix: l.lag, drop: 0 };
            }
        }
        let from = &self.cont[join.prefix..join.prefix + overlap];
        let mix = &mut self.mix[..overlap];
        crossfade(mix, from, &new[join.drop..join.drop + overlap]);
        new[join.drop..join.drop + overlap].copy_from_slice(mix);
        join
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jitter::noise::NoiseShape;

    fn sine(start: usize, n: usize, period: f32) -> Vec<f32> {
        (start..start + n).map(|i| 8000.0 * (2.0 * std::f32::consts::PI * i as f32 / period).sin()).collect()
    }

    fn max_step(x: &[f32]) -> f32 {
        x.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn merge_after_a_short_expansion_is_aligned_and_smooth() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        let hist = sine(0, 480, 80.0);
        ex.start(&hist, &NoiseShape::SILENT);
        let mut concealed = vec![0.0f32; 160];
        ex.generate(&mut concealed);
        // The real signal resumes 20 ms later but 60 samples (3/4 period) out of phase.
        let mut new = sine(640 + 60, 160, 80.0);
        let join = m.merge(&mut ex, &mut new);
        assert!(!ex.active());
        assert_eq!(join, Join { prefix: 0, drop: 20 }, "shifted back into phase with the concealment");
        let mut joined = concealed.clone();
        joined.extend_from_slice(&new[join.drop..]);
        assert!(max_step(&joined) < max_step(&hist) * 1.3, "{}", max_step(&joined));
    }

    #[test]
    fn merge_may_play_more_concealment_instead_of_dropping_audio() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        ex.start(&sine(0, 480, 80.0), &NoiseShape::SILENT);
        let mut concealed = vec![0.0f32; 160];
        ex.generate(&mut concealed);
        // Resuming 20 samples ahead of the concealment's phase: play 20 more synthetic samples.
        let mut new = sine(640 + 20, 160, 80.0);
        let join = m.merge(&mut ex, &mut new);
        assert_eq!(join, Join { prefix: 20, drop: 0 });
        let mut joined = concealed.clone();
        joined.extend_from_slice(m.prefix(join));
        joined.extend_from_slice(&new);
        assert!(max_step(&joined) < max_step(&sine(0, 480, 80.0)) * 1.3);
    }

    #[test]
    fn merge_after_silence_fades_in() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        ex.start(&sine(0, 480, 80.0), &NoiseShape::SILENT);
        let mut long = vec![0.0f32; 2000];
        ex.generate(&mut long);
        let mut new = vec![8000.0f32; 160];
        assert_eq!(m.merge(&mut ex, &mut new), Join { prefix: 0, drop: 0 });
        assert!(new[0] < 1000.0 && new[1] > new[0]);
        assert_eq!(new[40], 8000.0);
    }

    #[test]
    fn without_expansion_nothing_changes() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        let mut new = sine(0, 160, 80.0);
        let copy = new.clone();
        assert_eq!(m.merge(&mut ex, &mut new), Join { prefix: 0, drop: 0 });
        assert_eq!(new, copy);
    }
}
