//! The E-model of ITU-T G.107 (narrowband), reduced to the terms a media engine can know:
//! codec impairment with packet loss (Ie,eff, G.107 §7.4 eq. 7-29) and delay (Idd, §7.3
//! eq. 7-27 with the default mT = 100 ms, sT = 1); every other parameter at its G.107 default,
//! which together give R = 93.2 for an unimpaired G.711 connection.
//!
//! ```text
//! R      = 93.2 − Idd(Ta) − Ie,eff                      (A = 0)
//! Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)
//! Idd    = 0 for Ta ≤ 100 ms, else 25 · {(1 + X⁶)^⅙ − 3 (1 + (X/3)⁶)^⅙ + 2},  X = log₂(Ta / 100)
//! MOS    = 1 + 0.035 R + R (R − 60)(100 − R) · 7·10⁻⁶   for 0 < R < 100 (G.107 Annex B)
//! ```
//!
//! Codec values ([`CodecImpairment::for_codec`]):
//! - G.711 µ/A-law: Ie = 0; Bpl = 25.1 with packet-loss concealment (G.711 Appendix I; this
//!   engine conceals), 4.3 without (ITU-T G.113 Appendix I, Table I.3).
//! - G.722 at 64 kbit/s on the narrowband scale: Ie = 0, Bpl = 25.1 (treated like concealed
//!   G.711: G.113 gives G.722 values only on the wideband scale of G.107.1). Provisional.
//! - Opus: ITU-T publishes no Ie/Bpl for Opus (G.113 has none). Provisional engineering values
//!   Ie = 5, Bpl = 20, chosen between G.711 (Ie 0) and G.729A (Ie 11, Bpl 19.0, G.113 Table I.3)
//!   for Opus at speech bitrates with its own PLC; override with measured values when available.

use crate::codec::CodecKind;
use serde::{Deserialize, Serialize};

/// Equipment impairment of a codec: Ie and packet-loss robustness Bpl (ITU-T G.113 App. I).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie (R-scale points, narrowband).
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
}

impl CodecImpairment {
    /// The values for `codec` (see the module docs for sources); `None` for non-audio kinds.
    /// `concealment` selects the G.711 Bpl with (25.1) or without (4.3) PLC.
    pub fn for_codec(codec: CodecKind, concealment: bool) -> Option<CodecImpairment> {
        match codec {
            CodecKind::Pcmu | CodecKind::Pcma => {
                Some(CodecImpairment { ie: 0.0, bpl: if concealment { 25.1 } else { 4.3 } })
            }
            CodecKind::G722 => Some(CodecImpairment { ie: 0.0, bpl: 25.1 }),
            CodecKind::Opus => Some(CodecImpairment { ie: 5.0, bpl: 20.0 }),
            _ => None,
        }
    }
}

/// Ie,eff for `loss_percent` (0–100, clamped; NaN counts as no loss) with burst ratio
/// `burst_r` (1 = random loss; not a positive finite number counts as 1).
pub fn effective_ie(codec: CodecImpairment, loss_percent: f64, burst_r: f64) -> f64 {
    let ppl = if loss_percent.is_nan() { 0.0 } else { loss_percent.clamp(0.0, 100.0) };
    let burst = if burst_r.is_finite() && burst_r > 0.0 { burst_r } else { 1.0 };
    if ppl == 0.0 {
        return codec.ie;
    }
    codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst + codec.bpl)
}

/// Delay impairment Idd for a one-way (mouth-to-ear) delay of `ta_ms` milliseconds (0 for
/// NaN; an infinite delay gives the formula's limit, 50).
pub fn delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms.is_nan() || ta_ms <= 100.0 {
        return 0.0;
    }
    if ta_ms == f64::INFINITY {
        // 25·{X − 3·X/3 + 2} as X → ∞ (the two sixth roots approach X and X/3).
        return 50.0;
    }
    let x = (ta_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0) + 2.0)
}

/// R factor for `codec` at `loss_percent`, `burst_r` and one-way delay `ta_ms`.
pub fn r_factor(codec: CodecImpairment, loss_percent: f64, burst_r: f64, ta_ms: f64) -> f64 {
    (93.2 - delay_impairment(ta_ms) - effective_ie(codec, loss_percent, burst_r)).clamp(0.0, 100.0)
}

/// MOS (conversational quality estimate, 1–4.5) from R (G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_reference_points() {
        let g711 = CodecImpairment::for_codec(CodecKind::Pcmu, true).unwrap();
        let r = r_factor(g711, 0.0, 1.0, 0.0);
        assert!((r - 93.2).abs() < 1e-9);
        assert!((mos_from_r(r) - 4.41).abs() < 0.01, "{}", mos_from_r(r));
        // 1 % random loss with PLC: Ie,eff = 95/26.1 = 3.64.
        assert!((effective_ie(g711, 1.0, 1.0) - 95.0 / 26.1).abs() < 1e-9);
        // Without PLC: 95·2/(2 + 4.3) = 30.16 at 2 %.
        let raw = CodecImpairment::for_codec(CodecKind::Pcma, false).unwrap();
        assert!((effective_ie(raw, 2.0, 1.0) - 190.0 / 6.3).abs() < 1e-9);
    }

    #[test]
    fn delay_impairment_curve() {
        assert_eq!(delay_impairment(100.0), 0.0);
        // At Ta = 200 ms, X = 1: 25 · (2^⅙ − 3 (1 + 1/729)^⅙ + 2).
        let want = 25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 1.0 / 729.0f64).powf(1.0 / 6.0) + 2.0);
        assert!((delay_impairment(200.0) - want).abs() < 1e-12);
        assert!((delay_impairment(400.0) - 24.07).abs() < 0.01, "{}", delay_impairment(400.0));
        assert_eq!(mos_from_r(0.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }
}
