//! The lower sub-band ADPCM coder (ITU-T G.722 §6.2.1, blocks 1L–6L): a 6-bit
//! quantiser (60 levels) on the prediction difference, of which only the 4 most
//! significant bits drive the adaptation, so that the decoder may use 6, 5 or 4 bits
//! (modes 1, 2, 3) and stay in step with the encoder.

use super::adpcm::{sat16, Predictor, ScaleFactor};
use super::tables::{iln, ilp, Q6, QQ4_CODE, WL_CODE};

/// State of one lower-band coder; the encoder and every decoder mode hold the same.
#[derive(Debug, Clone)]
pub(super) struct LowerBand {
    scale: ScaleFactor,
    pred: Predictor,
}

impl LowerBand {
    /// The state after reset (G.722 §6.2.1: all predictor values 0, DETL = 32, NBL = 0).
    pub(super) fn new() -> Self {
        LowerBand { scale: ScaleFactor::lower(), pred: Predictor::default() }
    }

    /// Encodes one lower-band sample `xl` (15-bit, −16384..=16383) to its 6-bit code IL
    /// (SUBTL, QUANTL), then adapts.
    #[inline(always)]
    pub(super) fn encode(&mut self, xl: i32) -> u8 {
        let il = self.quantise(xl);
        self.adapt(il >> 2);
        il
    }

    /// Encodes `xl` like [`Self::encode`] and returns what a decoder with inverse
    /// quantiser `qq` reconstructs from the code, RL, instead of the code.
    #[inline(always)]
    pub(super) fn encode_reconstruct(&mut self, xl: i32, qq: &[i32; 64]) -> i32 {
        let il = self.quantise(xl);
        self.decode(il, qq)
    }

    /// SUBTL and QUANTL: the 6-bit code of `xl` (no adaptation).
    #[inline(always)]
    fn quantise(&self, xl: i32) -> u8 {
        let el = sat16(xl - self.pred.s);
        // MAGNITUDE: one's complement for negative differences.
        let wd = if el >= 0 { el } else { -(el + 1) };
        let det = self.scale.det;
        // The smallest level whose upper decision level exceeds wd; 30 if none.
        let mut mil = 30;
        for (i, &q) in Q6.iter().enumerate().skip(1) {
            if wd < (q * det) >> 12 {
                mil = i;
                break;
            }
        }
        if el >= 0 {
            ilp(mil)
        } else {
            iln(mil)
        }
    }

    /// Decodes one 6-bit code `il` to the reconstructed lower-band signal RL
    /// (−16384..=16383) using the inverse quantiser `qq` (a mode's row of
    /// `QQ_MODE_CODE`: INVQBL, RECONS, LIMIT), then adapts.
    #[inline(always)]
    pub(super) fn decode(&mut self, il: u8, qq: &[i32; 64]) -> i32 {
        let dl = (qq[usize::from(il & 63)] * self.scale.det) >> 15;
        let rl = (self.pred.s + dl).clamp(-16384, 16383);
        self.adapt(il >> 2);
        rl
    }

    /// INVQAL (the 4-bit difference DLT), LOGSCL/SCALEL and block 4 for the 4-bit code `ilt`.
    #[inline(always)]
    fn adapt(&mut self, ilt: u8) {
        let ilt = usize::from(ilt & 15);
        let dlt = (QQ4_CODE[ilt] * self.scale.det) >> 15;
        self.scale.adapt(WL_CODE[ilt]);
        self.pred.update(dlt);
    }
}
