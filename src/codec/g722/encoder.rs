//! The G.722 encoder: transmit QMF, then the two sub-band ADPCM encoders, one octet
//! per pair of 16 kHz samples (64 kbit/s; ITU-T G.722 §1.4: the encoder always
//! codes at 64 kbit/s, whatever the mode the decoder uses).

use super::band_lower::LowerBand;
use super::band_upper::UpperBand;
use super::qmf::{TxQmf, BLOCK};
use crate::audio::SampleRate;
use crate::codec::{CodecError, Encoder};

/// The SB-ADPCM encoder without the QMF (ITU-T G.722 §6.1): one lower-band and one
/// higher-band sample in, one octet out. This is the configuration of the Appendix II
/// digital test sequences, which bypass the QMF.
#[derive(Debug, Clone)]
pub struct G722BandEncoder {
    lower: LowerBand,
    upper: UpperBand,
}

impl Default for G722BandEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722BandEncoder {
    /// An encoder in the reset state.
    pub fn new() -> Self {
        G722BandEncoder { lower: LowerBand::new(), upper: UpperBand::new() }
    }

    /// Returns to the reset state (G.722 §6.2.1.1/§6.2.2.1 reset: predictors zero,
    /// DETL = 32, DETH = 8).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Encodes one lower-band sample `xl` and one higher-band sample `xh` (15-bit
    /// sub-band signals, −16384..=16383; larger values are handled as the
    /// Recommendation's 16-bit arithmetic does) into the octet `IH << 6 | IL`
    /// (IH: 2-bit higher-band code in bits 7–6, IL: 6-bit lower-band code in bits 5–0).
    #[inline]
    pub fn encode(&mut self, xl: i16, xh: i16) -> u8 {
        let il = self.lower.encode(i32::from(xl));
        let ih = self.upper.encode(i32::from(xh));
        (ih << 6) | il
    }
}

/// A G.722 encoder: 16 kHz mono 16-bit PCM in, 64 kbit/s G.722 out (ITU-T G.722;
/// RTP payload format RFC 3551 §4.5.2: one octet per two samples, lower-band code in
/// the 6 least significant bits).
///
/// Any even number of samples per call is accepted (ptime is the caller's choice:
/// 320 samples = 20 ms → 160 octets). The input is full 16-bit PCM (the
/// Recommendation's 14-bit uniform PCM sits in the 14 most significant bits); the
/// output is bit-exact to the ITU-T G.191 reference encoder.
#[derive(Debug, Clone, Default)]
pub struct G722Encoder {
    qmf: TxQmf,
    bands: G722BandEncoder,
}

impl G722Encoder {
    /// An encoder in the reset state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns to the reset state (QMF delay line cleared too).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Encodes `pcm` (16 kHz mono, even length) into `out[..pcm.len() / 2]`, returning
    /// the number of octets written.
    ///
    /// Errors: [`CodecError::BadLength`] for an odd number of samples,
    /// [`CodecError::BufferTooSmall`] when `out` is shorter than `pcm.len() / 2`
    /// (nothing is written in either case).
    pub fn encode_into(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() % 2 != 0 {
            return Err(CodecError::BadLength(pcm.len()));
        }
        let n = pcm.len() / 2;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        for (block, out) in pcm.chunks(2 * BLOCK).zip(out.chunks_mut(BLOCK)) {
            let (xl, xh) = self.qmf.split(block);
            for ((o, &xl), &xh) in out.iter_mut().zip(xl).zip(xh) {
                let il = self.bands.lower.encode(xl);
                let ih = self.bands.upper.encode(xh);
                *o = (ih << 6) | il;
            }
        }
        Ok(n)
    }
}

impl Encoder for G722Encoder {
    /// 16000 Hz (the RTP clock is 8000 Hz, RFC 3551 §4.5.2).
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_16000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// See [`G722Encoder::encode_into`].
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        self.encode_into(pcm, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_errors() {
        let mut enc = G722Encoder::new();
        assert_eq!((enc.sample_rate(), enc.channels()), (SampleRate::HZ_16000, 1));
        let mut out = [9u8; 160];
        assert_eq!(enc.encode(&[0i16; 321], &mut out), Err(CodecError::BadLength(321)));
        assert_eq!(enc.encode(&[0i16; 322], &mut out), Err(CodecError::BufferTooSmall { needed: 161, available: 160 }));
        assert!(out.iter().all(|&b| b == 9), "nothing written");
        assert_eq!(enc.encode(&[0i16; 320], &mut out), Ok(160));
        assert_eq!(enc.encode(&[], &mut out), Ok(0));
    }

    #[test]
    fn frame_boundaries_do_not_matter_and_reset_restarts() {
        let pcm: Vec<i16> = (0..640).map(|i| ((i * 7919) % 20_000 - 10_000) as i16).collect();
        let mut whole = [0u8; 320];
        let mut enc = G722Encoder::new();
        assert_eq!(enc.encode(&pcm, &mut whole), Ok(320));
        enc.reset();
        let mut pieces = [0u8; 320];
        let mut at = 0;
        for n in [2, 318, 100, 220] {
            assert_eq!(enc.encode(&pcm[2 * at..2 * (at + n / 2)], &mut pieces[at..]), Ok(n / 2));
            at += n / 2;
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn band_encoder_matches_the_full_encoder_without_qmf() {
        // Silence: both give the same codes from reset whatever the path.
        let mut band = G722BandEncoder::new();
        let mut full = G722Encoder::new();
        let mut out = [0u8; 8];
        assert_eq!(full.encode(&[0i16; 16], &mut out), Ok(8));
        assert!(out.iter().all(|&c| c == band.encode(0, 0)));
    }

    #[test]
    fn full_scale_input_round_trips_without_overflow() {
        // A full-scale 1 kHz square wave (the QMF's sub-band outputs exceed the 15-bit
        // range here) and every 16-bit value once: in debug builds any arithmetic
        // overflow would panic.
        let square: Vec<i16> = (0..3200).map(|i| if i % 16 < 8 { i16::MAX } else { i16::MIN }).collect();
        let ramp: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        for pcm in [&square, &ramp] {
            let mut enc = G722Encoder::new();
            let mut codes = vec![0u8; pcm.len() / 2];
            assert_eq!(enc.encode(pcm, &mut codes), Ok(pcm.len() / 2));
            for mode in [crate::codec::G722Mode::Mode1, crate::codec::G722Mode::Mode2, crate::codec::G722Mode::Mode3] {
                let mut dec = crate::codec::G722Decoder::new(mode);
                let mut out = vec![0i16; pcm.len()];
                assert_eq!(dec.decode_raw(&codes, &mut out), Ok(pcm.len()));
                if pcm.len() == square.len() {
                    // After the first 10 ms the decoded square keeps most of its power (within 3 dB).
                    let power = |x: &[i16]| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>();
                    let ratio = power(&out[160..]) / power(&pcm[160..]);
                    assert!((0.5..2.0).contains(&ratio), "{mode:?}: power ratio {ratio}");
                }
            }
        }
    }
}
