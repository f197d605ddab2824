//! G.711 µ-law (PCMU) and A-law (PCMA), bit-exact to the ITU-T G.191 Software Tools
//! Library (`g711.c`: `ulaw_compress`/`ulaw_expand`, `alaw_compress`/`alaw_expand`).
//!
//! Linear samples are standard signed 16-bit PCM. The G.191 quantiser works on the
//! top bits only: µ-law on the 14-bit value `x >> 2`, A-law on `x >> 4` (the 13-bit
//! A-law linear value `x >> 3` with its lowest bit, which never changes the code,
//! dropped), both taking the one's complement `!x` for negative samples, so a
//! negative input maps to the same magnitude as `-x - 1`. This is *not* the common
//! "Sun" µ-law encoder (bias added to the 16-bit magnitude), which differs from
//! G.191 on 127 inputs. A-law codes carry the G.711 even-bit inversion (XOR 0x55).
//!
//! Decoded values are G.191's: the mid-point of each quantisation interval on the
//! 16-bit scale, µ-law peak ±32124, A-law peak ±32256. µ-law code 0x7F ("negative
//! zero") and 0xFF both decode to 0, which encodes to 0xFF.
//!
//! Encoding and decoding are table lookups (tables built at compile time from the
//! G.191 algorithm, which is kept here as the reference and tested against them).

use super::pitch_plc::PitchConcealer;
use super::{CodecError, Decoder, Encoder};
use crate::audio::SampleRate;

/// Which G.711 companding law (ITU-T G.711 §2 and §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// µ-law, RTP payload type 0 "PCMU" (RFC 3551 §4.5.14).
    Mu,
    /// A-law, RTP payload type 8 "PCMA" (RFC 3551 §4.5.14).
    A,
}

// ---------------------------------------------------------------------------
// The G.191 reference algorithm (also used at compile time to build the tables).

/// G.191 `ulaw_compress` for one 16-bit sample.
const fn ref_ulaw_compress(x: i16) -> u8 {
    // 14-bit magnitude, one's complement for negative samples, plus the µ-law bias 33.
    let mut absno: i32 = if x < 0 { ((!x) >> 2) as i32 + 33 } else { (x >> 2) as i32 + 33 };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno: i32 = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high_nibble = 0x08 - segno;
    let low_nibble = 0x0F - ((absno >> segno) & 0x0F);
    let mut code = (high_nibble << 4) | low_nibble;
    if x >= 0 {
        code |= 0x80;
    }
    code as u8
}

/// G.191 `ulaw_expand` for one code.
const fn ref_ulaw_expand(code: u8) -> i16 {
    let sign: i32 = if code < 0x80 { -1 } else { 1 };
    let inverted = !(code as i32);
    let exponent = (inverted >> 4) & 0x07;
    let segment = exponent + 1;
    let mantissa = inverted & 0x0F;
    let step = 4 << segment;
    (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
}

/// G.191 `alaw_compress` for one 16-bit sample.
const fn ref_alaw_compress(x: i16) -> u8 {
    let mut ix: i32 = if x < 0 { ((!x) >> 4) as i32 } else { (x >> 4) as i32 };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// G.191 `alaw_expand` for one code.
const fn ref_alaw_expand(code: u8) -> i16 {
    let ix = ((code as i32) ^ 0x55) & 0x7F;
    let iexp = ix >> 4;
    let mut mant = ix & 0x0F;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x08;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    (if code > 127 { mant } else { -mant }) as i16
}

// ---------------------------------------------------------------------------
// Tables.

/// µ-law code for each 14-bit value `x >> 2`, indexed by its two's-complement bits.
static ULAW_ENCODE: [u8; 1 << 14] = {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        t[i] = ref_ulaw_compress(((i as u16) << 2) as i16);
        i += 1;
    }
    t
};

/// A-law code for each 12-bit value `x >> 4`, indexed by its two's-complement bits.
static ALAW_ENCODE: [u8; 1 << 12] = {
    let mut t = [0u8; 1 << 12];
    let mut i = 0;
    while i < (1 << 12) {
        t[i] = ref_alaw_compress(((i as u16) << 4) as i16);
        i += 1;
    }
    t
};

static ULAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ref_ulaw_expand(i as u8);
        i += 1;
    }
    t
};

static ALAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ref_alaw_expand(i as u8);
        i += 1;
    }
    t
};

/// Encodes one 16-bit linear sample to a µ-law code (ITU-T G.711 table 2, G.191 `ulaw_compress`).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    ULAW_ENCODE[usize::from((sample as u16) >> 2)]
}

/// Decodes one µ-law code to a 16-bit linear sample (peak ±32124; G.191 `ulaw_expand`).
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one 16-bit linear sample to an A-law code, even bits inverted
/// (ITU-T G.711 table 1, G.191 `alaw_compress`).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    ALAW_ENCODE[usize::from((sample as u16) >> 4)]
}

/// Decodes one A-law code to a 16-bit linear sample (peak ±32256; G.191 `alaw_expand`).
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

fn check_len(needed: usize, available: usize) -> Result<(), CodecError> {
    if available < needed {
        return Err(CodecError::BufferTooSmall { needed, available });
    }
    Ok(())
}

/// Encodes `pcm` (8 kHz mono samples) to µ-law codes in `out[..pcm.len()]`, returning `pcm.len()`.
///
/// Errors: [`CodecError::BufferTooSmall`] when `out` is shorter than `pcm` (nothing written).
pub fn ulaw_encode_slice(pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
    check_len(pcm.len(), out.len())?;
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = ulaw_encode(s);
    }
    Ok(pcm.len())
}

/// Decodes µ-law `codes` to 16-bit linear samples in `out[..codes.len()]`, returning `codes.len()`.
///
/// Errors: [`CodecError::BufferTooSmall`] when `out` is shorter than `codes` (nothing written).
pub fn ulaw_decode_slice(codes: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
    check_len(codes.len(), out.len())?;
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ulaw_decode(c);
    }
    Ok(codes.len())
}

/// Encodes `pcm` (8 kHz mono samples) to A-law codes in `out[..pcm.len()]`, returning `pcm.len()`.
///
/// Errors: [`CodecError::BufferTooSmall`] when `out` is shorter than `pcm` (nothing written).
pub fn alaw_encode_slice(pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
    check_len(pcm.len(), out.len())?;
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = alaw_encode(s);
    }
    Ok(pcm.len())
}

/// Decodes A-law `codes` to 16-bit linear samples in `out[..codes.len()]`, returning `codes.len()`.
///
/// Errors: [`CodecError::BufferTooSmall`] when `out` is shorter than `codes` (nothing written).
pub fn alaw_decode_slice(codes: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
    check_len(codes.len(), out.len())?;
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = alaw_decode(c);
    }
    Ok(codes.len())
}

// ---------------------------------------------------------------------------
// Encoder.

/// A G.711 encoder: 8 kHz mono 16-bit PCM in, one code byte per sample out.
///
/// Accepts any whole number of samples per call (ptime is the caller's choice:
/// 160 samples = 20 ms). Stateless apart from the law.
#[derive(Debug, Clone)]
pub struct G711Encoder {
    law: G711Law,
}

impl G711Encoder {
    /// An encoder for `law`.
    pub fn new(law: G711Law) -> Self {
        G711Encoder { law }
    }

    /// The companding law.
    pub fn law(&self) -> G711Law {
        self.law
    }
}

impl Encoder for G711Encoder {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// Encodes `pcm` (any number of 8 kHz mono samples) into `out`, returning `pcm.len()` bytes.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        match self.law {
            G711Law::Mu => ulaw_encode_slice(pcm, out),
            G711Law::A => alaw_encode_slice(pcm, out),
        }
    }
}

// ---------------------------------------------------------------------------
// Decoder with concealment.

/// A G.711 decoder: one code byte per sample in, 8 kHz mono 16-bit PCM out.
///
/// Any payload length is accepted; [`Decoder::samples_in`] is the payload length.
///
/// **Concealment** ([`Decoder::conceal`]) repeats the last pitch period of the
/// decoded signal (period 5–15 ms found by normalised autocorrelation over the last
/// 20 ms, as in G.711 Appendix I), or, when the signal is not voiced (best
/// correlation below 0.5), the last 20 ms. The repetition plays at full gain for
/// the first 10 ms of consecutive concealment, then its gain falls linearly to 0
/// at 60 ms; beyond that it is silence. Before any real frame it is silence. The
/// next real frame resets the erasure: its first 2 ms are cross-faded from the
/// (continued) concealment into the decoded audio to avoid a click.
#[derive(Debug, Clone)]
pub struct G711Decoder {
    law: G711Law,
    plc: PitchConcealer,
}

impl G711Decoder {
    /// A decoder for `law`.
    pub fn new(law: G711Law) -> Self {
        G711Decoder { law, plc: PitchConcealer::new(SampleRate::HZ_8000) }
    }

    /// The companding law.
    pub fn law(&self) -> G711Law {
        self.law
    }
}

impl Decoder for G711Decoder {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// Decodes every byte of `payload` (one code per sample), returning `payload.len()`.
    /// The first 2 ms after concealment are cross-faded (see the type's docs).
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = match self.law {
            G711Law::Mu => ulaw_decode_slice(payload, out)?,
            G711Law::A => alaw_decode_slice(payload, out)?,
        };
        self.plc.real(&mut out[..n]);
        Ok(n)
    }

    /// Writes `samples_per_channel` concealment samples (see the type's docs) and returns that count.
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        check_len(samples_per_channel, out.len())?;
        self.plc.conceal(&mut out[..samples_per_channel]);
        Ok(samples_per_channel)
    }

    /// One sample per payload byte.
    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        Some(payload.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_g191_algorithm_for_every_input() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(x), ref_ulaw_compress(x), "µ-law {x}");
            assert_eq!(alaw_encode(x), ref_alaw_compress(x), "A-law {x}");
        }
        for c in 0..=255u8 {
            assert_eq!(ulaw_decode(c), ref_ulaw_expand(c));
            assert_eq!(alaw_decode(c), ref_alaw_expand(c));
        }
    }

    #[test]
    fn end_points_and_zero() {
        assert_eq!(
            [ulaw_encode(0), ulaw_encode(-1), ulaw_encode(i16::MAX), ulaw_encode(i16::MIN)],
            [0xFF, 0x7F, 0x80, 0x00]
        );
        assert_eq!(
            [alaw_encode(0), alaw_encode(-1), alaw_encode(i16::MAX), alaw_encode(i16::MIN)],
            [0xD5, 0x55, 0xAA, 0x2A]
        );
        assert_eq!([ulaw_decode(0x80), ulaw_decode(0x00), ulaw_decode(0xFF), ulaw_decode(0x7F)], [32124, -32124, 0, 0]);
        assert_eq!(
            [alaw_decode(0xAA), alaw_decode(0x2A), alaw_decode(0xD5), alaw_decode(0x55)],
            [32256, -32256, 8, -8]
        );
    }

    /// The widespread Sun Microsystems `linear2ulaw` (negates instead of taking the
    /// one's complement), to show where it departs from G.191.
    fn sun_linear2ulaw(x: i16) -> u8 {
        const SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
        let mut v = i32::from(x) >> 2;
        let mask = if v < 0 {
            v = -v;
            0x7F
        } else {
            0xFF
        };
        v = v.min(8159) + 33;
        let seg = SEG_END.iter().position(|&e| v <= e).unwrap_or(8) as i32;
        if seg >= 8 {
            return (0x7F ^ mask) as u8;
        }
        (((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask) as u8
    }

    #[test]
    fn sun_encoder_differs_on_127_negative_14_bit_inputs() {
        let differing: Vec<i16> = (i16::MIN..=i16::MAX).filter(|&x| sun_linear2ulaw(x) != ulaw_encode(x)).collect();
        // 127 of the 8192 negative 14-bit values `x >> 2` (the decision thresholds
        // of the negative half), each shared by 4 16-bit inputs.
        assert_eq!(differing.len(), 127 * 4);
        let mut as_14_bit: Vec<i16> = differing.iter().map(|&x| x >> 2).collect();
        as_14_bit.dedup();
        assert_eq!(as_14_bit.len(), 127);
        assert!(differing.iter().all(|&x| x < 0));
    }

    #[test]
    fn slices_check_the_output_length() {
        let mut out = [0u8; 3];
        assert_eq!(
            ulaw_encode_slice(&[0, 1000, -1000, 5], &mut out),
            Err(CodecError::BufferTooSmall { needed: 4, available: 3 })
        );
        assert_eq!(out, [0, 0, 0]);
        assert_eq!(alaw_encode_slice(&[0, 1000, -1000], &mut out), Ok(3));
        let mut pcm = [0i16; 3];
        assert_eq!(alaw_decode_slice(&out, &mut pcm), Ok(3));
        assert_eq!(pcm, [8, 1008, -1008]);
        assert_eq!(
            ulaw_decode_slice(&[0xFF; 4], &mut pcm),
            Err(CodecError::BufferTooSmall { needed: 4, available: 3 })
        );
    }

    #[test]
    fn decoder_conceals_and_reports_short_buffers() {
        let mut dec = G711Decoder::new(G711Law::Mu);
        let mut out = [7i16; 160];
        assert_eq!(dec.conceal(160, &mut out), Ok(160));
        assert!(out.iter().all(|&s| s == 0), "silence before any frame");
        assert_eq!(dec.conceal(161, &mut out), Err(CodecError::BufferTooSmall { needed: 161, available: 160 }));
        assert_eq!(dec.decode(&[0x80; 161], &mut out), Err(CodecError::BufferTooSmall { needed: 161, available: 160 }));
        // A 100 Hz tone (period 80 samples), then a lost frame: its first 10 ms repeat the last period.
        let tone: Vec<u8> = (0..400).map(|i| ulaw_encode(if i % 80 < 40 { 9_000 } else { -9_000 })).collect();
        let mut pcm = vec![0i16; 400];
        assert_eq!(dec.decode(&tone, &mut pcm), Ok(400));
        assert_eq!(dec.conceal(80, &mut out), Ok(80));
        assert_eq!(&out[..80], &pcm[320..400]);
    }

    #[test]
    fn samples_in_is_the_payload_length() {
        let dec = G711Decoder::new(G711Law::A);
        assert_eq!(dec.samples_in(&[0u8; 240]), Some(240));
        assert_eq!(dec.samples_in(&[]), Some(0));
    }
}
