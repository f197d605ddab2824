//! The quadrature mirror filters (ITU-T G.722 §3.1 transmit, §5.1 receive): a
//! 24-tap filter pair splitting 16 kHz audio into a lower and a higher 8 kHz
//! sub-band, and merging them back.
//!
//! Scaling for 16-bit PCM: the coefficients are h(i)·2^13; the transmit QMF gives
//! the 15-bit sub-band signals `(xA ± xB) >> 14` of 16-bit input (unity gain: 16-bit
//! full scale maps to the 15-bit sub-band range), the receive QMF gives 16-bit output
//! `2·Σ … >> 11`-scaled, saturated. Shifts are arithmetic (floor).

use super::tables::QMF_H;

/// Transmit QMF: the last 24 input samples, newest first.
#[derive(Debug, Clone, Default)]
pub(super) struct TxQmf {
    x: [i32; 24],
}

impl TxQmf {
    /// Takes the next two input samples (`older`, then `newer`) and returns the
    /// lower- and higher-band samples (xL, xH) for them.
    #[inline(always)]
    pub(super) fn split(&mut self, older: i16, newer: i16) -> (i32, i32) {
        self.x.copy_within(0..22, 2);
        self.x[1] = i32::from(older);
        self.x[0] = i32::from(newer);
        let mut xa = 0;
        let mut xb = 0;
        for i in 0..12 {
            xa += QMF_H[2 * i] * self.x[2 * i];
            xb += QMF_H[2 * i + 1] * self.x[2 * i + 1];
        }
        ((xa + xb) >> 14, (xa - xb) >> 14)
    }

    /// Shifts one input sample into the delay line without computing an output pair.
    #[inline]
    pub(super) fn shift_in(&mut self, x: i16) {
        self.x.copy_within(0..23, 1);
        self.x[0] = i32::from(x);
    }
}

/// Receive QMF: the last 12 difference (xd = rL − rH) and sum (xs = rL + rH) samples, newest first.
#[derive(Debug, Clone, Default)]
pub(super) struct RxQmf {
    xd: [i32; 12],
    xs: [i32; 12],
}

impl RxQmf {
    /// Takes one pair of reconstructed sub-band samples and returns the next two
    /// 16 kHz output samples, in time order.
    #[inline(always)]
    pub(super) fn merge(&mut self, rl: i32, rh: i32) -> (i16, i16) {
        self.xd.copy_within(0..11, 1);
        self.xs.copy_within(0..11, 1);
        self.xd[0] = rl - rh;
        self.xs[0] = rl + rh;
        let mut y0 = 0;
        let mut y1 = 0;
        for i in 0..12 {
            y0 += QMF_H[2 * i] * self.xd[i];
            y1 += QMF_H[2 * i + 1] * self.xs[i];
        }
        ((y0 >> 11).clamp(-32768, 32767) as i16, (y1 >> 11).clamp(-32768, 32767) as i16)
    }
}
