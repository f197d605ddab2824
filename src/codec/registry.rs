//! The codec registry: [`CodecFactory`]s keyed by SDP encoding name, RTP clock rate and
//! channels, so a host can plug in codecs of its own (G.729, AMR, …) the way an Asterisk
//! codec module registers a translator.
//!
//! A factory describes its codec ([`CodecDescriptor`]: name, clock rate, channels, payload
//! type, sampling rates, frame sizes, a quality rank and CPU cost figures) and creates a
//! [`Decoder`] or [`Encoder`] for one negotiated [`PayloadFormat`] (rtpmap + fmtp). The
//! registry finds the factory for a format or for a payload type of a leg's [`PayloadMap`]
//! (static or dynamic: `PCMU/8000`, `opus/48000/2`, `L16/16000`), and plans translation
//! paths between two formats ([`CodecRegistry::translation_path`], see [`super::translate`]).
//!
//! Lookups search the most recently registered factory first, so a host's factory for a
//! name/clock/channels that a built-in also covers replaces the built-in.

use super::{CodecError, Decoder, Encoder};
use crate::audio::{ClockRate, SampleRate};
use crate::rtp::{PayloadFormat, PayloadMap, PayloadType};
use std::fmt;
use std::time::Duration;

/// CPU cost of a codec, in microseconds of one reference core per second of mono audio at
/// the codec's native sampling rate (measured by `benches/codecs.rs`; only ratios matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct CpuCost {
    /// Decoding one second of audio, µs.
    pub decode_us_per_s: u32,
    /// Encoding one second of audio, µs.
    pub encode_us_per_s: u32,
}

impl CpuCost {
    /// A cost of `decode_us_per_s` µs to decode and `encode_us_per_s` µs to encode one second.
    pub const fn new(decode_us_per_s: u32, encode_us_per_s: u32) -> Self {
        CpuCost { decode_us_per_s, encode_us_per_s }
    }
}

/// Static facts about a codec, as a factory declares them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodecDescriptor {
    /// SDP encoding name (RFC 4566 §6 `a=rtpmap`), matched ASCII case-insensitively: `PCMU`, `opus`, `L16`.
    pub name: String,
    /// RTP clock rate in ticks per second (RFC 3551 table 4; 8000 for G.722, 48000 for Opus).
    pub clock_rate: ClockRate,
    /// Channel count written in the rtpmap (1 for G.711, 2 for Opus per RFC 7587 §7).
    pub channels: u8,
    /// The static payload type of RFC 3551 table 4 (PCMU 0, PCMA 8, G722 9, G729 18), if any.
    pub static_payload_type: Option<PayloadType>,
    /// The payload type to offer: the static one, else a conventional dynamic one (96..=127).
    pub default_payload_type: PayloadType,
    /// Sampling rates the decoder can output and the encoder can take, native rate first
    /// (G.711: 8 kHz only; Opus: 48, 24, 16, 12, 8 kHz, libopus resampling internally).
    pub sample_rates: Vec<SampleRate>,
    /// Packet durations (ptime) the codec supports, shortest first.
    pub frame_sizes: Vec<Duration>,
    /// The ptime used when the format does not say (usually 20 ms).
    pub default_frame: Duration,
    /// Perceptual quality rank, 0..=100, higher is better (G.711 30, G.722 60, Opus 90,
    /// L16/48000 100). Translation paths prefer quality first, then CPU.
    pub quality: u8,
    /// CPU cost figures (µs per second of audio).
    pub cpu: CpuCost,
}

impl CodecDescriptor {
    /// The native sampling rate (the first of [`Self::sample_rates`]; the clock rate when none is listed).
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rates.first().copied().unwrap_or(SampleRate::new(self.clock_rate.hz()))
    }

    /// Whether the decoder can output / the encoder can take `rate`.
    pub fn supports_rate(&self, rate: SampleRate) -> bool {
        self.sample_rates.contains(&rate)
    }

    /// The rtpmap `name/clock[/channels]` string (channels written only when not 1).
    pub fn rtpmap(&self) -> String {
        if self.channels == 1 {
            format!("{}/{}", self.name, self.clock_rate.hz())
        } else {
            format!("{}/{}/{}", self.name, self.clock_rate.hz(), self.channels)
        }
    }

    /// A [`PayloadFormat`] for this codec at its default payload type, without fmtp.
    pub fn payload_format(&self) -> PayloadFormat {
        PayloadFormat::new(self.default_payload_type, &self.name, self.clock_rate, self.channels)
    }
}

/// Wishes of the caller creating a codec, beyond the negotiated format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodecOptions {
    /// Sampling rate wanted for decoded / input PCM; codecs that can run at several rates
    /// (Opus) use it when they support it, fixed-rate codecs ignore it (check the
    /// decoder's [`Decoder::sample_rate`]). `None`: the native rate, or what fmtp asks.
    pub sample_rate: Option<SampleRate>,
    /// Channels wanted for decoded / input PCM. `None`: what the format says.
    pub channels: Option<u8>,
    /// Encoder frame duration (ptime). `None`: fmtp `ptime` if given, else the codec's default.
    pub frame: Option<Duration>,
}

impl CodecOptions {
    /// Options asking for PCM at `rate`.
    pub fn at_rate(rate: SampleRate) -> Self {
        CodecOptions { sample_rate: Some(rate), ..Self::default() }
    }
}

/// Clones a boxed factory; implemented for every `CodecFactory + Clone` type, so hosts only
/// `#[derive(Clone)]` on their factory.
pub trait FactoryClone {
    /// A boxed copy of this factory.
    fn clone_box(&self) -> Box<dyn CodecFactory>;
}

impl<T: CodecFactory + Clone + 'static> FactoryClone for T {
    fn clone_box(&self) -> Box<dyn CodecFactory> {
        Box::new(self.clone())
    }
}

/// Creates decoders and encoders of one codec (one name / clock rate). Object-safe, `Send`
/// and `Sync` (a factory is a description plus constructors; it holds no per-call state).
///
/// After an error from a decoder it created, the caller drops that packet and goes on
/// (see [`Decoder`]).
pub trait CodecFactory: FactoryClone + Send + Sync {
    /// What this codec is.
    fn descriptor(&self) -> &CodecDescriptor;

    /// Whether this factory handles `format`: by default the encoding name (ASCII
    /// case-insensitive, RFC 4855 §3), the clock rate and the channel count all match the
    /// descriptor. Codecs taking any channel count (L16) override it.
    fn supports(&self, format: &PayloadFormat) -> bool {
        let d = self.descriptor();
        format.is(&d.name) && format.clock_rate == d.clock_rate && format.channels.max(1) == d.channels
    }

    /// A decoder for the stream `format` describes (its fmtp parameters honoured).
    ///
    /// Errors: [`CodecError::Unsupported`] for parameters the codec cannot meet; codec set-up errors.
    fn decoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError>;

    /// An encoder producing the stream `format` describes (its fmtp parameters honoured).
    ///
    /// Errors: [`CodecError::Unsupported`] for parameters the codec cannot meet; codec set-up errors.
    fn encoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError>;
}

/// The codecs a call may use: an ordered set of [`CodecFactory`]s.
///
/// `Clone` (factories are cloned), `Send` and `Sync`. [`CodecRegistry::with_builtin`] holds
/// PCMU, PCMA, Opus and L16; a host adds its own with [`CodecRegistry::register`].
pub struct CodecRegistry {
    factories: Vec<Box<dyn CodecFactory>>,
}

impl Clone for CodecRegistry {
    fn clone(&self) -> Self {
        CodecRegistry { factories: self.factories.iter().map(|f| f.clone_box()).collect() }
    }
}

impl fmt::Debug for CodecRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.iter().map(|c| c.descriptor().rtpmap())).finish()
    }
}

impl Default for CodecRegistry {
    fn default() -> Self {
        Self::with_builtin()
    }
}

impl CodecRegistry {
    /// A registry with no codec at all.
    pub fn empty() -> Self {
        CodecRegistry { factories: Vec::new() }
    }

    /// A registry with the built-in codecs (see [`super::builtin_factories`]): PCMU/8000,
    /// PCMA/8000, G722/8000 (16 kHz audio), opus/48000/2, L16 at 8000, 16000, 32000, 48000
    /// (1 channel by default, any count accepted) and L16/44100 (static PT 10 stereo and 11 mono).
    pub fn with_builtin() -> Self {
        CodecRegistry { factories: super::builtin_factories() }
    }

    /// Adds `factory`; it takes precedence over every factory registered before it for the
    /// formats it supports.
    pub fn register(&mut self, factory: Box<dyn CodecFactory>) {
        self.factories.push(factory);
    }

    /// The factories, in lookup order (most recently registered first).
    pub fn factories(&self) -> impl Iterator<Item = &dyn CodecFactory> {
        self.factories.iter().rev().map(|f| f.as_ref())
    }

    /// The factory for `format` (name, clock rate and channels, see [`CodecFactory::supports`]).
    pub fn find_format(&self, format: &PayloadFormat) -> Option<&dyn CodecFactory> {
        self.factories().find(|f| f.supports(format))
    }

    /// The factory for encoding `name` at `clock_rate` with `channels`, e.g. (`"opus"`, 48000, 2).
    pub fn find(&self, name: &str, clock_rate: ClockRate, channels: u8) -> Option<&dyn CodecFactory> {
        self.find_format(&PayloadFormat::new(PayloadType(0), name, clock_rate, channels))
    }

    /// The format mapped to `pt` on a leg (its SDP rtpmap, or the RFC 3551 static
    /// assignment when the map holds one) and the factory that handles it.
    pub fn for_payload<'m>(
        &self,
        payloads: &'m PayloadMap,
        pt: PayloadType,
    ) -> Option<(&'m PayloadFormat, &dyn CodecFactory)> {
        let format = payloads.get(pt)?;
        Some((format, self.find_format(format)?))
    }

    /// A decoder for `format`.
    ///
    /// Errors: [`CodecError::Unsupported`] when no factory handles the format; the factory's errors.
    pub fn decoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        self.find_format(format).ok_or_else(|| unsupported(format))?.decoder(format, options)
    }

    /// An encoder for `format`.
    ///
    /// Errors: [`CodecError::Unsupported`] when no factory handles the format; the factory's errors.
    pub fn encoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        self.find_format(format).ok_or_else(|| unsupported(format))?.encoder(format, options)
    }

    /// The encoding names registered, in lookup order, as `name/clock[/channels]`.
    pub fn names(&self) -> Vec<String> {
        self.factories().map(|f| f.descriptor().rtpmap()).collect()
    }
}

pub(crate) fn unsupported(format: &PayloadFormat) -> CodecError {
    CodecError::Unsupported(format!(
        "no codec for {}/{}/{} (payload type {})",
        format.encoding_name,
        format.clock_rate.hz(),
        format.channels,
        format.payload_type.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pt: u8, name: &str, hz: u32, ch: u8) -> PayloadFormat {
        PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch)
    }

    #[test]
    fn builtins_are_found_by_name_clock_and_channels() {
        let reg = CodecRegistry::with_builtin();
        assert_eq!(reg.find("pcmu", ClockRate::HZ_8000, 1).map(|f| f.descriptor().name.as_str()), Some("PCMU"));
        assert_eq!(reg.find("PCMA", ClockRate::HZ_8000, 1).map(|f| f.descriptor().quality), Some(30));
        assert!(reg.find("PCMU", ClockRate::HZ_48000, 1).is_none(), "wrong clock rate");
        assert!(reg.find("PCMU", ClockRate::HZ_8000, 2).is_none(), "G.711 is mono");
        let opus = reg.find("OPUS", ClockRate::HZ_48000, 2).expect("opus/48000/2");
        assert_eq!(opus.descriptor().sample_rate(), SampleRate::HZ_48000);
        assert!(reg.find("opus", ClockRate::HZ_48000, 1).is_none(), "RFC 7587 §7: always /2");
        for hz in [8000, 16_000, 32_000, 44_100, 48_000] {
            let l16 = reg.find("L16", ClockRate::new(hz), 1).unwrap_or_else(|| panic!("L16/{hz}"));
            assert_eq!(l16.descriptor().sample_rate().hz(), hz);
            assert!(reg.find("L16", ClockRate::new(hz), 2).is_some(), "L16 takes any channel count");
        }
        assert!(reg.find("telephone-event", ClockRate::HZ_8000, 1).is_none(), "not audio");
        assert!(reg.find("G729", ClockRate::HZ_8000, 1).is_none(), "not built in");
        let g722 = reg.find("g722", ClockRate::HZ_8000, 1).expect("G722/8000");
        assert_eq!(
            (g722.descriptor().sample_rate().hz(), g722.descriptor().static_payload_type),
            (16_000, Some(PayloadType(9)))
        );
    }

    #[test]
    fn payload_types_resolve_static_and_dynamic() {
        let reg = CodecRegistry::with_builtin();
        let mut map = PayloadMap::static_defaults();
        map.insert(fmt(111, "opus", 48_000, 2)).expect("valid PT");
        map.insert(fmt(96, "L16", 16_000, 1)).expect("valid PT");
        map.insert(fmt(101, "telephone-event", 8000, 1)).expect("valid PT");
        let name = |pt: u8| reg.for_payload(&map, PayloadType(pt)).map(|(_, f)| f.descriptor().rtpmap());
        assert_eq!(name(0).as_deref(), Some("PCMU/8000"));
        assert_eq!(name(8).as_deref(), Some("PCMA/8000"));
        assert_eq!(name(9).as_deref(), Some("G722/8000"));
        assert_eq!(name(111).as_deref(), Some("opus/48000/2"));
        assert_eq!(name(96).as_deref(), Some("L16/16000"));
        assert_eq!(name(11).as_deref(), Some("L16/44100"), "static PT 11: L16/44100 mono");
        assert_eq!(name(10).as_deref(), Some("L16/44100"), "static PT 10: L16/44100 stereo");
        assert_eq!(name(101), None);
        assert_eq!(name(18), None, "G729 is mapped but has no codec here");
        assert_eq!(name(50), None, "unmapped");
        let dec = reg.decoder(map.get(PayloadType(10)).expect("static"), &CodecOptions::default()).expect("L16");
        assert_eq!((dec.sample_rate().hz(), dec.channels()), (44_100, 2));
        let err = reg.decoder(&fmt(18, "G729", 8000, 1), &CodecOptions::default()).map(|_| ());
        assert!(matches!(err, Err(CodecError::Unsupported(_))));
    }

    #[test]
    fn a_later_factory_overrides_and_the_registry_clones() {
        #[derive(Clone)]
        struct Fake(CodecDescriptor);
        impl CodecFactory for Fake {
            fn descriptor(&self) -> &CodecDescriptor {
                &self.0
            }
            fn decoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
                Err(CodecError::Unsupported("fake".into()))
            }
            fn encoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
                Err(CodecError::Unsupported("fake".into()))
            }
        }
        let mut reg = CodecRegistry::with_builtin();
        let before = reg.names().len();
        let mut d = reg.find("PCMU", ClockRate::HZ_8000, 1).expect("builtin").descriptor().clone();
        d.quality = 1;
        reg.register(Box::new(Fake(d)));
        let copy = reg.clone();
        assert_eq!(copy.names().len(), before + 1);
        assert_eq!(copy.find("PCMU", ClockRate::HZ_8000, 1).map(|f| f.descriptor().quality), Some(1));
        assert!(copy.decoder(&fmt(0, "PCMU", 8000, 1), &CodecOptions::default()).is_err());
        assert!(format!("{copy:?}").starts_with("[\"PCMU/8000\""));
    }
}
