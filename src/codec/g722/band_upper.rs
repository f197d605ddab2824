//! The higher sub-band ADPCM coder (ITU-T G.722 §6.2.2, blocks 1H–6H): a 2-bit
//! quantiser (4 levels) on the prediction difference, adapted with the same
//! predictor structure as the lower band.

use super::adpcm::{sat16, Predictor, ScaleFactor};
use super::tables::{ih_code, Q2, QQ2_CODE, WH_CODE};

/// State of one higher-band coder (identical in the encoder and the decoder).
#[derive(Debug, Clone)]
pub(super) struct UpperBand {
    scale: ScaleFactor,
    pred: Predictor,
}

impl UpperBand {
    /// The state after reset (all predictor values 0, DETH = 8, NBH = 0).
    pub(super) fn new() -> Self {
        UpperBand { scale: ScaleFactor::higher(), pred: Predictor::default() }
    }

    /// Encodes one higher-band sample `xh` (15-bit) to its 2-bit code IH (SUBTH,
    /// QUANTH), then adapts.
    #[inline(always)]
    pub(super) fn encode(&mut self, xh: i32) -> u8 {
        let ih = self.quantise(xh);
        self.adapt(ih);
        ih
    }

    /// Encodes `xh` like [`Self::encode`] and returns what the decoder reconstructs
    /// from the code, RH, instead of the code.
    #[inline(always)]
    pub(super) fn encode_reconstruct(&mut self, xh: i32) -> i32 {
        let ih = self.quantise(xh);
        self.decode(ih)
    }

    /// SUBTH and QUANTH: the 2-bit code of `xh` (no adaptation).
    #[inline(always)]
    fn quantise(&self, xh: i32) -> u8 {
        let eh = sat16(xh - self.pred.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (Q2 * self.scale.det) >> 12 { 2 } else { 1 };
        ih_code(mih, eh < 0)
    }

    /// Decodes one 2-bit code `ih` to the reconstructed higher-band signal RH
    /// (−16384..=16383: INVQAH, RECONS, LIMIT), then adapts.
    #[inline(always)]
    pub(super) fn decode(&mut self, ih: u8) -> i32 {
        let ih = ih & 3;
        let dh = (QQ2_CODE[usize::from(ih)] * self.scale.det) >> 15;
        let rh = (self.pred.s + dh).clamp(-16384, 16383);
        self.adapt_with(ih, dh);
        rh
    }

    #[inline(always)]
    fn adapt(&mut self, ih: u8) {
        let dh = (QQ2_CODE[usize::from(ih & 3)] * self.scale.det) >> 15;
        self.adapt_with(ih, dh);
    }

    /// LOGSCH/SCALEH and block 4 for code `ih` whose quantised difference is `dh`.
    #[inline(always)]
    fn adapt_with(&mut self, ih: u8, dh: i32) {
        self.scale.adapt(WH_CODE[usize::from(ih & 3)]);
        self.pred.update(dh);
    }
}
