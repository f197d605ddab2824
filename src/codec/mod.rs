//! Codecs: the [`Encoder`] / [`Decoder`] traits and the built-in codecs.
//!
//! Built in: G.711 µ-law and A-law (ITU-T G.711, bit-exact to the G.191 STL), G.722,
//! Opus (libopus through the `opus` crate), L16 (RFC 3551 §4.5.11). G.711 conceals by
//! pitch repetition (see [`G711Decoder`]), Opus with libopus' PLC and in-band FEC. After a
//! decode error the caller drops that packet and goes on; the decoder stays usable (it
//! conceals the frame on the next [`Decoder::conceal`] call if asked).
//!
//! - [`CodecRegistry`] / [`CodecFactory`]: codecs by SDP name, clock rate and payload type;
//!   hosts register their own (G.729 through the optional `g729` feature is one).
//! - [`Resampler`]: streaming sample-rate conversion (rubato), state kept across frames.
//! - [`CodecRegistry::translation_path`] and [`Transcoder`]: decode → resample → encode
//!   between two legs' formats, or pass through.

#![forbid(unsafe_code)]

mod builtin;
mod g711;
mod g722;
#[cfg(feature = "g729")]
mod g729;
mod l16;
mod opus;
mod opus_ms;
mod opus_params;
mod pitch_plc;
mod registry;
mod resample;
mod transcoder;
mod translate;

pub use self::builtin::{builtin_factories, mono_descriptor, SimpleFactory, BUILTINS};
pub use self::g711::{
    alaw_decode, alaw_decode_slice, alaw_encode, alaw_encode_slice, ulaw_decode, ulaw_decode_slice, ulaw_encode,
    ulaw_encode_slice, G711Decoder, G711Encoder, G711Law,
};
pub use self::g722::{G722BandDecoder, G722BandEncoder, G722Decoder, G722Encoder, G722Mode};
#[cfg(feature = "g729")]
pub use self::g729::{G729Decoder, G729Encoder, G729Factory};
pub use self::l16::{L16Decoder, L16Encoder};
pub use self::opus::{has_inband_fec, is_opus_dtx, OpusApplication, OpusDecoder, OpusEncoder, OpusEncoderConfig};
pub use self::opus_ms::{OpusMultistreamConfig, OpusMultistreamEncoder};
pub use self::opus_params::{fmtp_ptime, fmtp_value, opus_rate_at_least, OpusParams, OPUS_RATES};
pub use self::registry::{CodecDescriptor, CodecFactory, CodecOptions, CodecRegistry, CpuCost, FactoryClone};
pub use self::resample::{ResampleError, Resampler};
pub use self::transcoder::Transcoder;
pub use self::translate::{PathCost, TranscodePlan, TranslationPath, TranslationStep};

use crate::audio::{ClockRate, SampleRate};
use thiserror::Error;

/// Errors from codec construction and per-frame coding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The codec does not support this sampling rate / channel count combination.
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// The output buffer is too small for the frame (caller's bug; nothing was written).
    #[error("output buffer too small: need {needed}, have {available}")]
    BufferTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements available.
        available: usize,
    },
    /// The input length is not a whole number of frames this codec accepts.
    #[error("bad input length {0}")]
    BadLength(usize),
    /// The payload is corrupt; drop the packet and go on.
    #[error("corrupt payload: {0}")]
    Corrupt(String),
    /// libopus returned an error code (from a decode: the packet is invalid; drop it,
    /// the decoder remains usable).
    #[error("libopus: {0}")]
    Opus(String),
}

/// Static facts about a codec as negotiated on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodecKind {
    /// G.711 µ-law (PCMU), 8 kHz, RTP clock 8000 (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law (PCMA), 8 kHz, RTP clock 8000 (RFC 3551 §4.5.14).
    Pcma,
    /// Opus, RTP clock 48000 (RFC 7587).
    Opus,
    /// G.722, 16 kHz audio on an 8000 Hz RTP clock (RFC 3551 §4.5.2).
    G722,
    /// Comfort noise (RFC 3389), RTP clock 8000.
    ComfortNoise,
    /// telephone-event (RFC 4733).
    TelephoneEvent,
}

impl CodecKind {
    /// The codec for an SDP encoding name (case-insensitive), if known.
    pub fn from_encoding_name(name: &str) -> Option<CodecKind> {
        match name.to_ascii_uppercase().as_str() {
            "PCMU" => Some(CodecKind::Pcmu),
            "PCMA" => Some(CodecKind::Pcma),
            "OPUS" => Some(CodecKind::Opus),
            "G722" => Some(CodecKind::G722),
            "CN" => Some(CodecKind::ComfortNoise),
            "TELEPHONE-EVENT" => Some(CodecKind::TelephoneEvent),
            _ => None,
        }
    }

    /// RTP clock rate used on the wire.
    pub fn clock_rate(self) -> ClockRate {
        match self {
            CodecKind::Opus => ClockRate::HZ_48000,
            _ => ClockRate::HZ_8000,
        }
    }

    /// Audio sampling rate the decoder produces by default.
    pub fn sample_rate(self) -> SampleRate {
        match self {
            CodecKind::Opus => SampleRate::HZ_48000,
            CodecKind::G722 => SampleRate::HZ_16000,
            _ => SampleRate::HZ_8000,
        }
    }
}

/// Turns payloads into PCM. Object-safe and `Send` so sessions can hold `Box<dyn Decoder>`.
pub trait Decoder: Send {
    /// Output sampling rate.
    fn sample_rate(&self) -> SampleRate;
    /// Output channels (PCM is interleaved when > 1).
    fn channels(&self) -> u8;
    /// Decodes one payload into `out` (interleaved), returning samples per channel written.
    ///
    /// Errors: [`CodecError::BufferTooSmall`] (nothing written), [`CodecError::Corrupt`]
    /// (drop the packet, the decoder remains usable).
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError>;
    /// Produces `samples_per_channel` samples of concealment for a lost frame
    /// (codec-native PLC where the codec has one), returning samples per channel written.
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError>;
    /// Samples per channel (at [`Self::sample_rate`]) that `payload` decodes to, if it can be told without decoding.
    fn samples_in(&self, payload: &[u8]) -> Option<usize>;
    /// Recovers the lost frame before `next_payload` (`samples_per_channel` long) from the
    /// forward error correction `next_payload` carries (Opus in-band FEC, RFC 6716 §2.1.7),
    /// returning samples per channel written. Decode `next_payload` normally afterwards.
    ///
    /// Used by the recorder's timeline (a one-frame gap followed by a packet with FEC). The
    /// jitter buffer's playout path uses it the same way: when it yields
    /// `Playout::Conceal` for a lost slot while the next packet is already buffered and
    /// [`Decoder::has_fec`] says it carries FEC, the session decodes that packet's FEC for the
    /// slot instead of calling [`Decoder::conceal`].
    ///
    /// Errors: [`CodecError::Unsupported`] for codecs without FEC (the default); the codec's errors.
    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples_per_channel: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        let _ = (next_payload, samples_per_channel, out);
        Err(CodecError::Unsupported("no forward error correction in this codec".into()))
    }
    /// Whether `payload` carries FEC data for the frame before it (default: no).
    fn has_fec(&self, payload: &[u8]) -> bool {
        let _ = payload;
        false
    }
    /// Whether `payload` is a discontinuous-transmission frame carrying no speech (Opus DTX,
    /// a G.729 Annex B SID frame): a timestamp gap after it is a silence period, not loss,
    /// and is not concealed. Default: no.
    fn is_dtx(&self, payload: &[u8]) -> bool {
        let _ = payload;
        false
    }
}

/// Turns PCM into payloads. Object-safe and `Send`.
pub trait Encoder: Send {
    /// Input sampling rate.
    fn sample_rate(&self) -> SampleRate;
    /// Input channels (interleaved when > 1).
    fn channels(&self) -> u8;
    /// Encodes one frame of interleaved PCM into `out`, returning the payload length in bytes.
    ///
    /// Errors: [`CodecError::BadLength`] when `pcm` is not a frame size the codec accepts,
    /// [`CodecError::BufferTooSmall`].
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;
    /// Samples per channel the encoder needs per call, or `None` when any whole number of
    /// samples is accepted (G.711, L16: the ptime is the caller's choice). Default `None`.
    fn frame_samples(&self) -> Option<usize> {
        None
    }
}

/// Creates a decoder for a built-in codec, or `None` when the codec has no audio decoder here.
///
/// `channels` is the negotiated channel count (Opus: 1 or 2); `want_rate` is the rate the
/// caller would like: codecs that can decode at several rates (Opus: 8/12/16/24/48 kHz,
/// RFC 7587 §3) decode there; fixed-rate codecs ignore it (check [`Decoder::sample_rate`]).
pub fn decoder_for(kind: CodecKind, channels: u8, want_rate: SampleRate) -> Option<Box<dyn Decoder>> {
    match kind {
        CodecKind::Pcmu => Some(Box::new(G711Decoder::new(G711Law::Mu))),
        CodecKind::Pcma => Some(Box::new(G711Decoder::new(G711Law::A))),
        CodecKind::Opus => OpusDecoder::new(
            if matches!(want_rate.hz(), 8000 | 12_000 | 16_000 | 24_000 | 48_000) {
                want_rate
            } else {
                SampleRate::HZ_48000
            },
            channels.clamp(1, 2),
        )
        .ok()
        .map(|d| Box::new(d) as Box<dyn Decoder>),
        CodecKind::G722 => Some(Box::new(G722Decoder::new(G722Mode::Mode1))),
        _ => None,
    }
}
