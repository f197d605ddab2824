//! Merge: joining real audio after an expansion, after NetEq's Merge and the
//! end-of-erasure overlap-add of ITU-T G.711 Appendix I.
//!
//! The expansion is run on for a little longer to give its continuation `c`, and the
//! first samples of the new audio are cross-faded from `c`. The overlap grows with the
//! erasure while it was still speech-like (under 60 ms): 2.5 ms plus a quarter of the
//! time expanded, at most 10 ms; after the expansion faded to noise or silence the
//! new audio fades in over 5 ms. NetEq also shifts the new audio by up to a pitch
//! period to line the waveforms up; that moves the timeline by a few milliseconds at
//! every loss, which PESQ (and the recording alignment) punish more than the
//! cross-fade of two unaligned periods, so the join is made in place.

use super::dsp::crossfade;
use super::expand::{ExpandPhase, Expander};

/// Joins decoded audio to a preceding expansion. Scratch allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Merger {
    base: usize,
    max_overlap: usize,
    fade_in: usize,
    cont: Vec<f32>,
    mix: Vec<f32>,
}

impl Merger {
    /// A merger for audio at `rate_hz`.
    pub(crate) fn new(rate_hz: u32) -> Self {
        let ms2_5 = usize::try_from(rate_hz / 400).unwrap_or(1).max(1);
        let max_overlap = 4 * ms2_5;
        Merger {
            base: ms2_5,
            max_overlap,
            fade_in: 2 * ms2_5,
            cont: vec![0.0; max_overlap],
            mix: vec![0.0; max_overlap],
        }
    }

    /// Merges `new` (freshly decoded audio) after the expansion in `ex`, which ends:
    /// the start of `new` is cross-faded from the expansion's continuation. Does
    /// nothing when no expansion is in progress.
    pub(crate) fn merge(&mut self, ex: &mut Expander, new: &mut [f32]) {
        if !ex.active() {
            return;
        }
        let speech = ex.phase() == ExpandPhase::Speech;
        let overlap = if speech { (self.base + ex.elapsed() / 4).min(self.max_overlap) } else { self.fade_in };
        let overlap = overlap.min(new.len());
        let cont = &mut self.cont[..overlap];
        ex.generate(cont);
        ex.reset();
        let mix = &mut self.mix[..overlap];
        crossfade(mix, cont, &new[..overlap]);
        new[..overlap].copy_from_slice(mix);
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
    fn merge_after_a_short_expansion_is_smooth_and_keeps_the_timeline() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        let hist = sine(0, 480, 80.0);
        ex.start(&hist, &NoiseShape::SILENT);
        let mut concealed = vec![0.0f32; 160];
        ex.generate(&mut concealed);
        let mut new = sine(640, 160, 80.0);
        let original = new.clone();
        m.merge(&mut ex, &mut new);
        assert!(!ex.active());
        let mut joined = concealed.clone();
        joined.extend_from_slice(&new);
        assert!(max_step(&joined) < max_step(&hist) * 1.3, "{}", max_step(&joined));
        // 2.5 ms + 20 ms / 4 = 60 samples cross-faded; the rest untouched, in place.
        assert_eq!(&new[60..], &original[60..]);
    }

    #[test]
    fn merge_after_silence_fades_in() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        ex.start(&sine(0, 480, 80.0), &NoiseShape::SILENT);
        let mut long = vec![0.0f32; 2000];
        ex.generate(&mut long);
        let mut new = vec![8000.0f32; 160];
        m.merge(&mut ex, &mut new);
        assert!(new[0] < 1000.0 && new[1] > new[0]);
        assert_eq!(new[40], 8000.0);
    }

    #[test]
    fn without_expansion_nothing_changes() {
        let mut ex = Expander::new(8000);
        let mut m = Merger::new(8000);
        let mut new = sine(0, 160, 80.0);
        let copy = new.clone();
        m.merge(&mut ex, &mut new);
        assert_eq!(new, copy);
    }
}
