//! The blocks both sub-band ADPCM coders share (ITU-T G.722 §6.2): the adaptive
//! pole-zero predictor "block 4" and the scale-factor adaptation (LOGSCL/SCALEL,
//! LOGSCH/SCALEH).
//!
//! All values are the Recommendation's 16-bit two's-complement quantities held in
//! `i32`; "limited" in the Recommendation is saturation to `[-32768, 32767]`
//! ([`sat16`]). Multiplications are 16×16 → 32 bits followed by an arithmetic right
//! shift (floor), as the Recommendation specifies.

use super::tables::ILB;

/// Saturates to the 16-bit range (the Recommendation's "limit").
#[inline(always)]
pub(super) fn sat16(x: i32) -> i32 {
    x.clamp(-32768, 32767)
}

/// Leak factor of the log scale factor, 127/128 in Q15 (LOGSCL, LOGSCH).
const SCALE_LEAK: i32 = 32512;

/// The log scale factor ∇ (NBL / NBH) and the linear scale factor DET it gives
/// (DETL / DETH).
#[derive(Debug, Clone)]
pub(super) struct ScaleFactor {
    /// Log scale factor, 0..=`nb_max`.
    nb: i32,
    /// Linear scale factor (quantiser step size) derived from `nb`.
    pub(super) det: i32,
    /// Upper limit of `nb`: 18432 (lower band) or 22528 (higher band).
    nb_max: i32,
    /// SCALEL or SCALEH, tabulated by `nb >> 6`.
    table: &'static [i32; 512],
}

impl ScaleFactor {
    /// The lower-band scale factor at reset: NBL = 0, DETL = 32.
    pub(super) const fn lower() -> Self {
        ScaleFactor { nb: 0, det: 32, nb_max: 18432, table: &DET_LOWER }
    }

    /// The higher-band scale factor at reset: NBH = 0, DETH = 8.
    pub(super) const fn higher() -> Self {
        ScaleFactor { nb: 0, det: 8, nb_max: 22528, table: &DET_HIGHER }
    }

    /// LOGSCL/LOGSCH then SCALEL/SCALEH: adapts to a code whose multiplier is `w`
    /// (WL or WH of the code).
    #[inline(always)]
    pub(super) fn adapt(&mut self, w: i32) {
        let nb = ((self.nb * SCALE_LEAK) >> 15) + w;
        self.nb = nb.clamp(0, self.nb_max);
        self.det = self.table[(self.nb >> 6) as usize & 511];
    }
}

/// SCALEL/SCALEH: the linear scale factor for log scale factor `nb`:
/// `ILB((nb >> 6) & 31)` shifted right by `shift − (nb >> 11)` (left when negative), times 4.
const fn scale(nb: i32, shift: i32) -> i32 {
    let wd1 = ILB[((nb >> 6) & 31) as usize];
    let wd2 = shift - (nb >> 11);
    let wd3 = if wd2 >= 0 { wd1 >> wd2 } else { wd1 << -wd2 };
    wd3 << 2
}

/// [`scale`] depends on `nb >> 6` only: tabulated for every `nb >> 6` up to the limit
/// (entries past it are never read).
const fn det_table(shift: i32, nb_max: i32) -> [i32; 512] {
    let mut t = [0; 512];
    let mut i = 0;
    while i <= (nb_max >> 6) as usize {
        t[i] = scale((i as i32) << 6, shift);
        i += 1;
    }
    t
}

/// SCALEL (shift constant 8, NBL ≤ 18432).
static DET_LOWER: [i32; 512] = det_table(8, 18432);
/// SCALEH (shift constant 10, NBH ≤ 22528).
static DET_HIGHER: [i32; 512] = det_table(10, 22528);

/// Block 4: the adaptive predictor with 2 poles and 6 zeros, fed the quantised
/// difference signal D of each sample, giving the signal estimate S for the next.
///
/// Past values are kept in the form in which they are used: the zero section reads
/// only `2·D` limited (FILTEZ) and the sign of D (UPZERO, the same as the sign of
/// `2·D` limited), the pole section only `2·R` limited (FILTEP), and UPPOL1/UPPOL2 only
/// the sign of P.
#[derive(Debug, Clone, Default)]
pub(super) struct Predictor {
    /// Pole coefficients A1, A2.
    a: [i32; 2],
    /// Zero coefficients B1..B6.
    b: [i32; 6],
    /// `2·D` limited, for D(n−1)..D(n−6).
    d2: [i32; 6],
    /// Sign (0 or −1) of the partially reconstructed signal P(n−1), P(n−2).
    p_sign: [i32; 2],
    /// `2·R` limited, for the reconstructed signal R(n−1), R(n−2).
    r2: [i32; 2],
    /// Zero-section output SZ for the next sample.
    sz: i32,
    /// Signal estimate S (SL or SH) for the next sample.
    pub(super) s: i32,
}

impl Predictor {
    /// Runs block 4 for one sample whose quantised difference is `d` (DLT or DH):
    /// RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC.
    #[inline(always)]
    pub(super) fn update(&mut self, d: i32) {
        // RECONS and PARREC.
        let r = sat16(self.s + d);
        let p = sat16(self.sz + d);

        // UPPOL2: the second pole coefficient.
        let p_sign = p >> 15;
        let same1 = p_sign == self.p_sign[0];
        let same2 = p_sign == self.p_sign[1];
        // The Recommendation limits 4·A1 and then its negation (−(−32768) gives 32767:
        // the Appendix II sequences reach this case). Limiting once after the
        // negation gives the same value after the shift by 7 (−32767 >> 7 = −32768 >> 7).
        let wd1 = self.a[0] << 2;
        let wd2 = sat16(if same1 { -wd1 } else { wd1 }) >> 7;
        let wd3 = if same2 { 128 } else { -128 };
        let wd5 = (self.a[1] * 32512) >> 15;
        let apl2 = (wd2 + wd3 + wd5).clamp(-12288, 12288);

        // UPPOL1: the first pole coefficient, limited by the new second one (to at most
        // ±27648, within the 16-bit limit the Recommendation also applies).
        let wd1 = if same1 { 192 } else { -192 };
        let wd2 = (self.a[0] * 32640) >> 15;
        let limit = 15360 - apl2;
        let apl1 = (wd1 + wd2).clamp(-limit, limit);

        // UPZERO: the zero coefficients. The Recommendation limits each to 16 bits;
        // the leak (×32640/32768) and the ±128 step keep them inside already
        // (32767 → 32639 + 128; −32768 → −32640 − 128).
        let step = if d == 0 { 0 } else { 128 };
        let d_sign = d >> 15;
        for (b, &di) in self.b.iter_mut().zip(&self.d2) {
            let wd2 = if di >> 15 == d_sign { step } else { -step };
            *b = wd2 + ((*b * 32640) >> 15);
        }

        // DELAYA.
        self.d2.copy_within(0..5, 1);
        self.d2[0] = sat16(d << 1);
        self.p_sign = [p_sign, self.p_sign[0]];
        self.r2 = [sat16(r << 1), self.r2[0]];
        self.a = [apl1, apl2];

        // FILTEP: pole section.
        let sp = sat16(((self.a[0] * self.r2[0]) >> 15) + ((self.a[1] * self.r2[1]) >> 15));

        // FILTEZ: zero section.
        let mut sz = 0;
        for (&b, &di) in self.b.iter().zip(&self.d2) {
            sz += (b * di) >> 15;
        }
        self.sz = sat16(sz);

        // PREDIC.
        self.s = sat16(sp + self.sz);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_factor_at_reset_and_extremes() {
        assert_eq!(scale(0, 8), 32);
        assert_eq!(scale(0, 10), 8);
        // NBL at its limit 18432: ILB(0) << 1, times 4.
        assert_eq!(scale(18432, 8), 2048 * 2 * 4);
        assert_eq!(scale(22528, 10), 2048 * 2 * 4);
        for nb in 0..=22528 {
            if nb <= 18432 {
                assert_eq!(DET_LOWER[(nb >> 6) as usize], scale(nb, 8));
            }
            assert_eq!(DET_HIGHER[(nb >> 6) as usize], scale(nb, 10));
        }
        let mut s = ScaleFactor::lower();
        for _ in 0..1000 {
            s.adapt(3042);
        }
        assert_eq!((s.nb, s.det), (18432, 16384));
        for _ in 0..1000 {
            s.adapt(-60);
        }
        assert_eq!((s.nb, s.det), (0, 32));
    }

    #[test]
    fn predictor_stays_at_rest_on_zero_input() {
        let mut p = Predictor::default();
        for _ in 0..10 {
            p.update(0);
        }
        assert_eq!(p.s, 0);
    }
}
