//! The constant tables of ITU-T G.722 (11/1988 and later editions, §3 and §6), in
//! the Recommendation's units, and the code-indexed tables derived from them at
//! compile time.
//!
//! The Recommendation gives quantiser levels as magnitudes per level index `mil`
//! together with the code assignment of each level (`ILP` for positive, `ILN` for
//! negative differences). The codecs look levels up by transmitted code, so the
//! code-indexed tables below are built from those two pieces. Inverse-quantiser
//! outputs are kept pre-multiplied by 8, the `<< 3` of the Recommendation's
//! INVQAL/INVQBL/INVQAH blocks, so that `D = (QQ·8 · DET) >> 15`.

/// QMF coefficients h(0)..h(23), scaled by 2^13 (G.722 Table 11/§3.1 and 5.1 for the
/// transmit and receive QMF; the filter is symmetric, h(i) = h(23 − i)).
pub(super) const QMF_H: [i32; 24] = [
    3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11,
    3,
];

/// Decision levels of the 60-level (6-bit) lower-band quantiser, Q6(mil) for
/// mil = 0..=29 (G.722 Table 6 / block QUANTL). A difference of magnitude `wd`
/// falls in level `mil` when `Q6(mil)·DETL·2^-12 ≤ wd < Q6(mil+1)·DETL·2^-12`; the
/// top level 30 is open-ended.
pub(super) const Q6: [i32; 30] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
    1458, 1612, 1765, 1980, 2195, 2557, 2919,
];

/// Output levels of the 6-bit inverse quantiser QQ6(mil), mil = 1..=30 (index 0 unused).
const QQ6: [i32; 31] = [
    0, 17, 54, 91, 130, 170, 211, 254, 300, 347, 396, 447, 501, 558, 618, 682, 750, 822, 899, 982, 1072, 1170, 1279,
    1399, 1535, 1689, 1873, 2088, 2376, 2738, 3101,
];

/// Output levels of the 5-bit inverse quantiser (mode 2), QQ5(k), k = 1..=15 (index 0 unused).
const QQ5: [i32; 16] = [0, 35, 110, 190, 276, 370, 473, 587, 714, 858, 1023, 1219, 1458, 1765, 2195, 2919];

/// Output levels of the 4-bit inverse quantiser QQ4(k) (mode 3 and every mode's
/// predictor feedback), k = 0..=7; level 0 is the zero output of codes 0 and 15.
const QQ4: [i32; 8] = [0, 150, 323, 530, 786, 1121, 1612, 2557];

/// Output levels of the higher-band 2-bit inverse quantiser QQ2(mih), mih = 1, 2 (index 0 unused).
const QQ2: [i32; 3] = [0, 202, 926];

/// Decision level of the higher-band quantiser, Q2(1) (block QUANTH).
pub(super) const Q2: i32 = 564;

/// Lower-band log scale-factor multipliers WL(RIL), indexed by the 3-bit magnitude of
/// the 4-bit code (block LOGSCL).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];

/// Higher-band log scale-factor multipliers WH(RIH), RIH = 0..=2 (block LOGSCH).
const WH: [i32; 3] = [0, -214, 798];

/// Inverse log₂ table ILB: 2048·2^(i/32), rounded, i = 0..=31 (blocks SCALEL/SCALEH).
pub(super) const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
    3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

/// Lower-band 6-bit code of quantiser level `mil` (1..=30) for a positive (or zero)
/// difference: ILP (G.722 Table 6).
pub(super) const fn ilp(mil: usize) -> u8 {
    (62 - mil) as u8
}

/// Lower-band 6-bit code of quantiser level `mil` (1..=30) for a negative
/// difference: ILN (G.722 Table 6). The two innermost levels use codes 63 and 62.
pub(super) const fn iln(mil: usize) -> u8 {
    if mil <= 2 {
        (64 - mil) as u8
    } else {
        (34 - mil) as u8
    }
}

/// Sign (−1, +1) and level index of a 4-bit code; codes 0 and 15 are the zero level
/// (the 4-bit code of the two innermost 6-bit levels of both signs).
const fn code4_level(c: usize) -> (i32, usize) {
    match c {
        1..=7 => (-1, 8 - c),
        8..=14 => (1, 15 - c),
        _ => (1, 0),
    }
}

/// Inverse quantiser output ×8 per 4-bit code ILT (= 6-bit code >> 2): QQ4 with sign.
pub(super) const QQ4_CODE: [i32; 16] = {
    let mut t = [0; 16];
    let mut c = 0;
    while c < 16 {
        let (sign, k) = code4_level(c);
        t[c] = sign * QQ4[k] * 8;
        c += 1;
    }
    t
};

/// Inverse quantiser output ×8 per 5-bit code (= 6-bit code >> 1, mode 2): QQ5 with
/// sign. Codes 0 and 1 (never sent) give the innermost negative level.
const QQ5_CODE: [i32; 32] = {
    let mut t = [0; 32];
    let mut c = 0;
    while c < 32 {
        t[c] = match c {
            16..=30 => QQ5[31 - c] * 8,
            2..=15 => -QQ5[17 - c] * 8,
            _ => -QQ5[1] * 8,
        };
        c += 1;
    }
    t
};

/// Inverse quantiser output ×8 per 6-bit code (mode 1): QQ6 with sign, by inverting
/// ILP/ILN. Codes 0..=3 (never sent) give the innermost negative level.
const QQ6_CODE: [i32; 64] = {
    let mut t = [0; 64];
    let mut c = 0;
    while c < 64 {
        t[c] = match c {
            32..=61 => QQ6[62 - c] * 8,
            62 | 63 => -QQ6[64 - c] * 8,
            4..=31 => -QQ6[34 - c] * 8,
            _ => -QQ6[1] * 8,
        };
        c += 1;
    }
    t
};

/// Decoder output inverse quantiser ×8 per received 6-bit lower-band code, for modes
/// 1, 2 and 3 (index 0, 1, 2): QQ6(IL), QQ5(IL >> 1), QQ4(IL >> 2) (block INVQBL).
pub(super) static QQ_MODE_CODE: [[i32; 64]; 3] = {
    let mut t = [[0; 64]; 3];
    let mut c = 0;
    while c < 64 {
        t[0][c] = QQ6_CODE[c];
        t[1][c] = QQ5_CODE[c >> 1];
        t[2][c] = QQ4_CODE[c >> 2];
        c += 1;
    }
    t
};

/// WL per 4-bit code ILT (the code's 3-bit magnitude, RIL, looked up in WL).
pub(super) const WL_CODE: [i32; 16] = {
    let mut t = [0; 16];
    let mut c = 0;
    while c < 16 {
        t[c] = WL[code4_level(c).1];
        c += 1;
    }
    t
};

/// Higher-band 2-bit code of level `mih` (1, 2): IHP for positive, IHN for negative differences.
pub(super) const fn ih_code(mih: usize, negative: bool) -> u8 {
    match (mih, negative) {
        (1, false) => 3,
        (_, false) => 2,
        (1, true) => 1,
        (_, true) => 0,
    }
}

/// Higher-band inverse quantiser output ×8 per 2-bit code: QQ2 with sign.
pub(super) const QQ2_CODE: [i32; 4] = [-QQ2[2] * 8, -QQ2[1] * 8, QQ2[2] * 8, QQ2[1] * 8];

/// WH per 2-bit code (codes 0 and 2 are the outer level, 1 and 3 the inner level).
pub(super) const WH_CODE: [i32; 4] = [WH[2], WH[1], WH[2], WH[1]];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qmf_is_symmetric_and_each_phase_sums_to_one_half() {
        for i in 0..24 {
            assert_eq!(QMF_H[i], QMF_H[23 - i]);
        }
        let even: i32 = QMF_H.iter().step_by(2).sum();
        let odd: i32 = QMF_H.iter().skip(1).step_by(2).sum();
        assert_eq!((even, odd), (4096, 4096), "0.5 · 2^13 each: unity DC gain through xA + xB");
    }

    #[test]
    fn code_assignment_is_a_bijection_onto_codes_4_to_63() {
        let mut seen = [false; 64];
        for mil in 1..=30 {
            for c in [ilp(mil), iln(mil)] {
                assert!(!seen[c as usize], "code {c} used twice");
                seen[c as usize] = true;
            }
        }
        assert_eq!(seen.iter().filter(|&&s| s).count(), 60);
        assert!(!seen[..4].iter().any(|&s| s));
    }

    #[test]
    fn ilb_is_two_to_the_i_over_32() {
        for (i, &v) in ILB.iter().enumerate() {
            let exact = 2048.0 * 2f64.powf(i as f64 / 32.0);
            assert!((f64::from(v) - exact).abs() <= 0.5 + 1e-9, "ILB({i}) = {v}, 2048·2^(i/32) = {exact}");
        }
    }

    #[test]
    fn coarser_quantisers_drop_low_bits_of_the_6_bit_code() {
        // Each 6-bit level maps, by dropping 1 or 2 code bits, to a coarser level of the same sign
        // (or to the zero level of the 4-bit quantiser for the innermost levels).
        for mil in 1..=30usize {
            for (code, sign) in [(ilp(mil) as usize, 1), (iln(mil) as usize, -1)] {
                assert_eq!(QQ6_CODE[code].signum(), sign);
                assert_eq!(QQ5_CODE[code >> 1].signum(), sign);
                let q4 = QQ4_CODE[code >> 2];
                assert!(q4 == 0 && mil <= 2 || q4.signum() == sign, "mil {mil} code {code}");
            }
        }
        assert_eq!(
            QQ4_CODE,
            [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0]
        );
    }
}
