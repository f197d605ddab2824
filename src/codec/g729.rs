//! G.729 Annex A/B (ITU-T G.729, RTP payload per RFC 3551 §4.5.6) through libbcg729, built
//! only with the `g729` cargo feature and plugged in through the registry API exactly as a
//! host's own codec would be ([`G729Factory`] is a [`CodecFactory`]).
//!
//! The FFI is confined to the `jyqq-bcg729` sub-crate (crates/jyqq-bcg729): this module is
//! safe Rust. libbcg729 is GPL-3.0-or-later: a binary built with this feature is GPL-3.
//!
//! A payload is a whole number of 10-byte voice frames (10 ms, 80 samples each), optionally
//! followed by one 2-byte Annex B SID frame (RFC 3551 §4.5.6).

use super::opus_params::fmtp_value;
use super::registry::{CodecDescriptor, CodecFactory, CodecOptions, CpuCost};
use super::{mono_descriptor, CodecError, Decoder, Encoder};
use crate::audio::SampleRate;
use crate::rtp::PayloadFormat;
use jyqq_bcg729::{Frame, FRAME_SAMPLES, SID_FRAME_BYTES, VOICE_FRAME_BYTES};

fn frames(payload: &[u8]) -> Option<(usize, bool)> {
    let voice = payload.len() / VOICE_FRAME_BYTES;
    match payload.len() % VOICE_FRAME_BYTES {
        0 => Some((voice, false)),
        SID_FRAME_BYTES => Some((voice, true)),
        _ => None,
    }
}

/// A G.729 decoder: 8 kHz mono PCM; concealment by bcg729's erased-frame decoding (comfort
/// noise after a SID frame).
pub struct G729Decoder {
    inner: jyqq_bcg729::Decoder,
    frame: [i16; FRAME_SAMPLES],
}

impl G729Decoder {
    /// A new decoder.
    ///
    /// Errors: [`CodecError::Unsupported`] when libbcg729 cannot allocate its context.
    pub fn new() -> Result<Self, CodecError> {
        let inner = jyqq_bcg729::Decoder::new().ok_or_else(|| CodecError::Unsupported("bcg729 decoder".into()))?;
        Ok(G729Decoder { inner, frame: [0; FRAME_SAMPLES] })
    }
}

impl Decoder for G729Decoder {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// Decodes every frame of the payload (80 samples per voice or SID frame).
    ///
    /// Errors: [`CodecError::Corrupt`] when the length is not 10·n or 10·n + 2 bytes (or is 0),
    /// [`CodecError::BufferTooSmall`].
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let (voice, sid) = frames(payload)
            .filter(|&(v, s)| v > 0 || s)
            .ok_or_else(|| CodecError::Corrupt(format!("G.729 payload of {} bytes", payload.len())))?;
        let n = (voice + usize::from(sid)) * FRAME_SAMPLES;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        for (i, (chunk, o)) in payload.chunks(VOICE_FRAME_BYTES).zip(out.chunks_exact_mut(FRAME_SAMPLES)).enumerate() {
            let frame = match (<&[u8; VOICE_FRAME_BYTES]>::try_from(chunk), <&[u8; SID_FRAME_BYTES]>::try_from(chunk)) {
                (Ok(v), _) => Frame::Voice(v),
                (_, Ok(s)) => Frame::Sid(s),
                // `frames` accepted only 10-byte chunks and one final 2-byte chunk.
                _ => return Err(CodecError::Corrupt(format!("G.729 frame {i} of {} bytes", chunk.len()))),
            };
            self.inner.decode(frame, &mut self.frame);
            o.copy_from_slice(&self.frame);
        }
        Ok(n)
    }

    /// Conceals in whole 10 ms frames; the tail of the last one is discarded.
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        if out.len() < samples_per_channel {
            return Err(CodecError::BufferTooSmall { needed: samples_per_channel, available: out.len() });
        }
        for o in out[..samples_per_channel].chunks_mut(FRAME_SAMPLES) {
            self.inner.decode(Frame::Erased, &mut self.frame);
            o.copy_from_slice(&self.frame[..o.len()]);
        }
        Ok(samples_per_channel)
    }

    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        frames(payload).map(|(v, s)| (v + usize::from(s)) * FRAME_SAMPLES)
    }

    /// A SID-only payload (2 bytes): the sender stopped for a silence period (Annex B DTX).
    fn is_dtx(&self, payload: &[u8]) -> bool {
        payload.len() == SID_FRAME_BYTES
    }
}

/// A G.729 encoder: 8 kHz mono PCM, any whole number of 10 ms frames per call.
pub struct G729Encoder {
    inner: jyqq_bcg729::Encoder,
}

impl G729Encoder {
    /// A new encoder; `annex_b` enables VAD/DTX (silent frames become a 2-byte SID frame or
    /// nothing; a call whose frames are all untransmitted returns 0 bytes: send nothing).
    ///
    /// Errors: [`CodecError::Unsupported`] when libbcg729 cannot allocate its context.
    pub fn new(annex_b: bool) -> Result<Self, CodecError> {
        let inner =
            jyqq_bcg729::Encoder::new(annex_b).ok_or_else(|| CodecError::Unsupported("bcg729 encoder".into()))?;
        Ok(G729Encoder { inner })
    }
}

impl Encoder for G729Encoder {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// Encodes `pcm` (a multiple of 80 samples) frame by frame; a SID frame ends the payload
    /// (RFC 3551 §4.5.6: it may only come last), later frames of the call are dropped.
    ///
    /// Errors: [`CodecError::BadLength`], [`CodecError::BufferTooSmall`] (10 bytes per frame).
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() % FRAME_SAMPLES != 0 {
            return Err(CodecError::BadLength(pcm.len()));
        }
        let needed = pcm.len() / FRAME_SAMPLES * VOICE_FRAME_BYTES;
        if out.len() < needed {
            return Err(CodecError::BufferTooSmall { needed, available: out.len() });
        }
        let mut len = 0;
        let mut bits = [0u8; VOICE_FRAME_BYTES];
        for frame in pcm.chunks_exact(FRAME_SAMPLES) {
            let Ok(frame) = <&[i16; FRAME_SAMPLES]>::try_from(frame) else { continue };
            let n = self.inner.encode(frame, &mut bits);
            out[len..len + n].copy_from_slice(&bits[..n]);
            len += n;
            if n == SID_FRAME_BYTES {
                break;
            }
        }
        Ok(len)
    }
}

/// The G.729 factory: `G729/8000`, static payload type 18. fmtp `annexb=no` turns the
/// encoder's VAD/DTX off (RFC 4856 §2.1.9: the default is `yes`).
#[derive(Clone)]
pub struct G729Factory(CodecDescriptor);

impl G729Factory {
    /// The factory: quality 20; cost measured by benches/codecs.rs (~7 µs to decode, ~55 µs
    /// to encode a 20 ms frame).
    pub fn new() -> Self {
        G729Factory(mono_descriptor(
            "G729",
            8000,
            8000,
            Some(18),
            18,
            &[10, 20, 30, 40, 60],
            20,
            CpuCost::new(350, 2800),
        ))
    }
}

impl Default for G729Factory {
    fn default() -> Self {
        Self::new()
    }
}

impl CodecFactory for G729Factory {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.0
    }

    fn decoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(Box::new(G729Decoder::new()?))
    }

    fn encoder(&self, format: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        let annex_b = format
            .fmtp
            .as_deref()
            .and_then(|f| fmtp_value(f, "annexb"))
            .map_or(true, |v| !v.eq_ignore_ascii_case("no"));
        Ok(Box::new(G729Encoder::new(annex_b)?))
    }
}
