//! The quadrature mirror filters (ITU-T G.722 §3.1 transmit, §5.1 receive): a
//! 24-tap filter pair splitting 16 kHz audio into a lower and a higher 8 kHz
//! sub-band, and merging them back.
//!
//! Scaling for 16-bit PCM: the coefficients are h(i)·2^13; the transmit QMF gives
//! the 15-bit sub-band signals `(xA ± xB) >> 14` of 16-bit input (unity gain: 16-bit
//! full scale maps to the 15-bit sub-band range), the receive QMF gives 16-bit output
//! `2·Σ … >> 11`-scaled, saturated. Shifts are arithmetic (floor).
//!
//! Both filters work on blocks of up to [`BLOCK`] sample pairs held after their
//! delay line in one array, so that each output reads a contiguous 24-sample window.
//! The sums are exact in 32 bits (Σ|h| = 12964, so |Σ h·x| < 2^29), so the order of
//! the terms does not change the result. The receive QMF interleaves xd and xs, and
//! each output is a 24-term dot product of 16-bit values with every other tap zero
//! (which the compiler turns into SIMD multiply-adds).

use super::tables::QMF_H;

/// Sample pairs (octets) per block.
pub(super) const BLOCK: usize = 160;

/// Samples of delay line kept between blocks (24 taps − the 2 newest).
const HISTORY: usize = 22;

/// Which receive taps a 24-sample window uses (see [`taps`]).
#[derive(Clone, Copy)]
enum Taps {
    /// Receive, first output of the newest pair, over interleaved (xd, xs) pairs, oldest
    /// first: h(2i) on xd(j − i), nothing on xs.
    RxFirst,
    /// Receive, second output: h(2i + 1) on xs(j − i), nothing on xd.
    RxSecond,
}

const fn taps(which: Taps) -> [i16; 24] {
    let mut t = [0; 24];
    let mut m = 0;
    while m < 24 {
        let odd = m % 2 == 1;
        t[m] = match which {
            Taps::RxFirst if !odd => QMF_H[22 - m],
            Taps::RxSecond if odd => QMF_H[24 - m],
            _ => 0,
        } as i16;
        m += 1;
    }
    t
}

static RX_FIRST: [i16; 24] = taps(Taps::RxFirst);
static RX_SECOND: [i16; 24] = taps(Taps::RxSecond);

/// The 24 samples of `x` from `start`.
#[inline(always)]
fn window(x: &[i16], start: usize) -> &[i16; 24] {
    // The callers keep start + 24 within x (a block never exceeds BLOCK pairs).
    x[start..start + 24].try_into().expect("24-sample window inside the buffer")
}

#[inline(always)]
fn dot(w: &[i16; 24], taps: &[i16; 24]) -> i32 {
    w.iter().zip(taps).map(|(&x, &h)| i32::from(x) * i32::from(h)).sum()
}

/// Transmit QMF: the delay line followed by the block being split, and the sub-band
/// signals of the last block.
#[derive(Debug, Clone)]
pub(super) struct TxQmf {
    x: [i16; HISTORY + 2 * BLOCK],
    xl: [i32; BLOCK],
    xh: [i32; BLOCK],
}

impl Default for TxQmf {
    fn default() -> Self {
        TxQmf { x: [0; HISTORY + 2 * BLOCK], xl: [0; BLOCK], xh: [0; BLOCK] }
    }
}

impl TxQmf {
    /// Splits `pcm` (an even number of samples, at most `2 * BLOCK`) into the
    /// lower- and higher-band samples (xL, xH) of its pairs, one of each per pair.
    #[inline]
    pub(super) fn split(&mut self, pcm: &[i16]) -> (&[i32], &[i32]) {
        let n = pcm.len() / 2;
        debug_assert!(pcm.len() % 2 == 0 && n <= BLOCK);
        let n = n.min(BLOCK);
        self.x[HISTORY..HISTORY + 2 * n].copy_from_slice(&pcm[..2 * n]);
        for k in 0..n {
            let w = window(&self.x, 2 * k);
            // xB on the older samples of each pair (even window positions), xA on the newer.
            let (mut xb, mut xa) = (0, 0);
            for j in 0..12 {
                xb += i32::from(w[2 * j]) * QMF_H[2 * j];
                xa += i32::from(w[2 * j + 1]) * QMF_H[2 * j + 1];
            }
            self.xl[k] = (xa + xb) >> 14;
            self.xh[k] = (xa - xb) >> 14;
        }
        self.x.copy_within(2 * n..2 * n + HISTORY, 0);
        (&self.xl[..n], &self.xh[..n])
    }

    /// Shifts one input sample into the delay line without computing an output pair.
    #[inline]
    pub(super) fn shift_in(&mut self, x: i16) {
        self.x.copy_within(1..HISTORY, 0);
        self.x[HISTORY - 1] = x;
    }
}

/// Receive QMF: the delay line of interleaved (xd = rL − rH, xs = rL + rH) pairs
/// followed by the block being merged.
#[derive(Debug, Clone)]
pub(super) struct RxQmf {
    z: [i16; HISTORY + 2 * BLOCK],
}

impl Default for RxQmf {
    fn default() -> Self {
        RxQmf { z: [0; HISTORY + 2 * BLOCK] }
    }
}

/// The (xd, xs) pair of one reconstructed sub-band sample pair, each 15-bit
/// (−16384..=16383), so both fit 16 bits.
#[inline(always)]
pub(super) fn pair(rl: i32, rh: i32) -> [i16; 2] {
    [(rl - rh) as i16, (rl + rh) as i16]
}

impl RxQmf {
    /// Room for the (xd, xs) pairs of the next `n` (≤ BLOCK) sample pairs, to be
    /// filled (see [`pair`]) before [`Self::merge`].
    #[inline]
    pub(super) fn input(&mut self, n: usize) -> &mut [i16] {
        &mut self.z[HISTORY..HISTORY + 2 * n.min(BLOCK)]
    }

    /// Merges the `n` pairs written through [`Self::input`] into `2 * n` output
    /// samples in `out`, in time order.
    #[inline]
    pub(super) fn merge(&mut self, n: usize, out: &mut [i16]) {
        let n = n.min(BLOCK);
        for (k, o) in out[..2 * n].chunks_exact_mut(2).enumerate() {
            let w = window(&self.z, 2 * k);
            o[0] = (dot(w, &RX_FIRST) >> 11).clamp(-32768, 32767) as i16;
            o[1] = (dot(w, &RX_SECOND) >> 11).clamp(-32768, 32767) as i16;
        }
        self.z.copy_within(2 * n..2 * n + HISTORY, 0);
    }

    /// Takes one reconstructed pair into the delay line without producing output.
    #[inline]
    pub(super) fn push(&mut self, rl: i32, rh: i32) {
        self.z.copy_within(2..HISTORY, 0);
        self.z[HISTORY - 2..HISTORY].copy_from_slice(&pair(rl, rh));
    }
}
