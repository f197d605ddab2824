//! L16: uncompressed 16-bit linear PCM on RTP (RFC 3551 §4.5.11).
//!
//! Each sample is a signed 16-bit integer in network (big-endian) byte order; with more
//! than one channel the samples are interleaved (RFC 3551 §4.1: channel 1 first). The RTP
//! clock rate equals the sampling rate (`L16/8000`, `L16/16000`, `L16/48000`); the static
//! payload types 10 and 11 are L16/44100 stereo and mono (RFC 3551 table 4).

use super::{CodecError, Decoder, Encoder};
use crate::audio::SampleRate;

/// Bytes per sample on the wire.
const BYTES: usize = 2;

/// An L16 decoder: big-endian samples in, interleaved native `i16` out, at the stream's
/// rate and channel count. Concealment repeats nothing: it is silence (a linear codec has
/// no model to extrapolate from; the jitter buffer's pitch concealment applies upstream).
#[derive(Debug, Clone)]
pub struct L16Decoder {
    rate: SampleRate,
    channels: u8,
}

impl L16Decoder {
    /// A decoder for `channels` (≥ 1) interleaved channels at `rate`.
    ///
    /// Errors: [`CodecError::Unsupported`] for 0 channels.
    pub fn new(rate: SampleRate, channels: u8) -> Result<Self, CodecError> {
        if channels == 0 {
            return Err(CodecError::Unsupported("L16 with 0 channels".into()));
        }
        Ok(L16Decoder { rate, channels })
    }
}

impl Decoder for L16Decoder {
    fn sample_rate(&self) -> SampleRate {
        self.rate
    }

    fn channels(&self) -> u8 {
        self.channels
    }

    /// Converts every sample of `payload`; returns samples per channel.
    ///
    /// Errors: [`CodecError::Corrupt`] when the payload is not a whole number of
    /// `2 × channels` bytes (drop it), [`CodecError::BufferTooSmall`].
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let frame = BYTES * usize::from(self.channels);
        if payload.len() % frame != 0 {
            return Err(CodecError::Corrupt(format!(
                "L16 payload of {} bytes is not a whole number of {frame}-byte frames",
                payload.len()
            )));
        }
        let n = payload.len() / BYTES;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        for (o, b) in out.iter_mut().zip(payload.chunks_exact(BYTES)) {
            *o = i16::from_be_bytes([b[0], b[1]]);
        }
        Ok(n / usize::from(self.channels))
    }

    /// Silence: writes `samples_per_channel` frames of zeros.
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples_per_channel.saturating_mul(usize::from(self.channels));
        let available = out.len();
        out.get_mut(..n).ok_or(CodecError::BufferTooSmall { needed: n, available })?.fill(0);
        Ok(samples_per_channel)
    }

    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        let frame = BYTES * usize::from(self.channels);
        (payload.len() % frame == 0).then_some(payload.len() / frame)
    }
}

/// An L16 encoder: interleaved native `i16` in, big-endian bytes out. Any whole number of
/// frames per call (the ptime is the caller's choice).
#[derive(Debug, Clone)]
pub struct L16Encoder {
    rate: SampleRate,
    channels: u8,
}

impl L16Encoder {
    /// An encoder for `channels` (≥ 1) interleaved channels at `rate`.
    ///
    /// Errors: [`CodecError::Unsupported`] for 0 channels.
    pub fn new(rate: SampleRate, channels: u8) -> Result<Self, CodecError> {
        if channels == 0 {
            return Err(CodecError::Unsupported("L16 with 0 channels".into()));
        }
        Ok(L16Encoder { rate, channels })
    }
}

impl Encoder for L16Encoder {
    fn sample_rate(&self) -> SampleRate {
        self.rate
    }

    fn channels(&self) -> u8 {
        self.channels
    }

    /// Writes `2 × pcm.len()` bytes.
    ///
    /// Errors: [`CodecError::BadLength`] when `pcm` is not a whole number of frames,
    /// [`CodecError::BufferTooSmall`].
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() % usize::from(self.channels) != 0 {
            return Err(CodecError::BadLength(pcm.len()));
        }
        let n = pcm.len() * BYTES;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        for (o, s) in out.chunks_exact_mut(BYTES).zip(pcm) {
            o.copy_from_slice(&s.to_be_bytes());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_round_trip_stereo() {
        let mut enc = L16Encoder::new(SampleRate::HZ_16000, 2).expect("2 channels");
        let pcm = [1i16, -2, 0x1234, i16::MIN, i16::MAX, 0];
        let mut bytes = [0u8; 12];
        assert_eq!(enc.encode(&pcm, &mut bytes), Ok(12));
        assert_eq!(bytes, [0, 1, 0xFF, 0xFE, 0x12, 0x34, 0x80, 0, 0x7F, 0xFF, 0, 0]);
        let mut dec = L16Decoder::new(SampleRate::HZ_16000, 2).expect("2 channels");
        assert_eq!(dec.samples_in(&bytes), Some(3));
        let mut out = [0i16; 6];
        assert_eq!(dec.decode(&bytes, &mut out), Ok(3));
        assert_eq!(out, pcm);
        assert!(matches!(enc.encode(&pcm[..5], &mut bytes), Err(CodecError::BadLength(5))));
    }

    #[test]
    fn bad_lengths_are_errors_not_panics() {
        let mut dec = L16Decoder::new(SampleRate::HZ_8000, 2).expect("2 channels");
        let mut out = [7i16; 4];
        assert!(matches!(dec.decode(&[1, 2, 3], &mut out), Err(CodecError::Corrupt(_))));
        assert_eq!(dec.samples_in(&[1, 2]), None, "half a stereo frame");
        assert!(matches!(dec.decode(&[0; 12], &mut out), Err(CodecError::BufferTooSmall { needed: 6, .. })));
        assert_eq!(dec.conceal(2, &mut out), Ok(2));
        assert_eq!(out, [0; 4]);
        assert!(dec.conceal(3, &mut out).is_err());
        assert!(L16Decoder::new(SampleRate::HZ_8000, 0).is_err());
    }
}
