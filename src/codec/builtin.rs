//! The built-in codec factories: G.711 µ-law and A-law, Opus, L16.
//!
//! [`builtin_factories`] builds them from the [`BUILTINS`] table, one constructor per line;
//! adding a codec is one function returning `Box<dyn CodecFactory>` and one table line
//! (usually a [`SimpleFactory`] around the codec's `new()` functions).

use super::l16::{L16Decoder, L16Encoder};
use super::opus_params::{OpusParams, OPUS_RATES};
use super::registry::{CodecDescriptor, CodecFactory, CodecOptions, CpuCost};
use super::{
    CodecError, Decoder, Encoder, G711Decoder, G711Encoder, G711Law, G722Decoder, G722Encoder, G722Mode, OpusDecoder,
    OpusEncoder, OpusEncoderConfig,
};
use crate::audio::{ClockRate, SampleRate};
use crate::rtp::{PayloadFormat, PayloadType};
use std::time::Duration;

/// Constructors of the built-in factories, in registration order.
pub const BUILTINS: &[fn() -> Box<dyn CodecFactory>] = &[
    pcmu,
    pcma,
    g722,
    opus,
    || l16(8000, 96, 35),
    || l16(16_000, 97, 70),
    || l16(32_000, 98, 85),
    || l16(44_100, 11, 95),
    || l16(48_000, 99, 100),
];

/// One instance of every built-in factory (see [`BUILTINS`]).
pub fn builtin_factories() -> Vec<Box<dyn CodecFactory>> {
    BUILTINS.iter().map(|make| make()).collect()
}

fn ms(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|&m| Duration::from_millis(m)).collect()
}

/// A descriptor for a single-rate mono codec whose RTP clock equals its sampling rate
/// (unless `sample_hz` says otherwise, as for G.722), with a 20 ms default frame.
///
/// `static_pt` is the RFC 3551 static payload type, if any; `default_pt` the one to offer.
#[allow(clippy::too_many_arguments)]
pub fn mono_descriptor(
    name: &str,
    clock_hz: u32,
    sample_hz: u32,
    static_pt: Option<u8>,
    default_pt: u8,
    frame_ms: &[u64],
    quality: u8,
    cpu: CpuCost,
) -> CodecDescriptor {
    CodecDescriptor {
        name: name.to_owned(),
        clock_rate: ClockRate::new(clock_hz),
        channels: 1,
        static_payload_type: static_pt.map(PayloadType),
        default_payload_type: PayloadType(default_pt),
        sample_rates: vec![SampleRate::new(sample_hz)],
        frame_sizes: ms(frame_ms),
        default_frame: Duration::from_millis(20),
        quality,
        cpu,
    }
}

/// A factory for a codec with no parameters: it calls `make_decoder` / `make_encoder` for
/// every format its descriptor matches, ignoring fmtp and options. Fits G.711, G.722,
/// G.729 and most host codecs.
#[derive(Clone)]
pub struct SimpleFactory {
    descriptor: CodecDescriptor,
    make_decoder: fn() -> Result<Box<dyn Decoder>, CodecError>,
    make_encoder: fn() -> Result<Box<dyn Encoder>, CodecError>,
}

impl SimpleFactory {
    /// A factory for `descriptor` built from two constructors.
    pub fn new(
        descriptor: CodecDescriptor,
        make_decoder: fn() -> Result<Box<dyn Decoder>, CodecError>,
        make_encoder: fn() -> Result<Box<dyn Encoder>, CodecError>,
    ) -> Self {
        SimpleFactory { descriptor, make_decoder, make_encoder }
    }
}

impl CodecFactory for SimpleFactory {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn decoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        (self.make_decoder)()
    }

    fn encoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        (self.make_encoder)()
    }
}

const G711_FRAMES: &[u64] = &[10, 20, 30, 40, 50, 60];
/// Measured by benches/codecs.rs (µs per second of audio: ~60–85 ns per 20 ms frame).
const G711_COST: CpuCost = CpuCost::new(4, 3);

fn pcmu() -> Box<dyn CodecFactory> {
    Box::new(SimpleFactory::new(
        mono_descriptor("PCMU", 8000, 8000, Some(0), 0, G711_FRAMES, 30, G711_COST),
        || Ok(Box::new(G711Decoder::new(G711Law::Mu))),
        || Ok(Box::new(G711Encoder::new(G711Law::Mu))),
    ))
}

fn pcma() -> Box<dyn CodecFactory> {
    Box::new(SimpleFactory::new(
        mono_descriptor("PCMA", 8000, 8000, Some(8), 8, G711_FRAMES, 30, G711_COST),
        || Ok(Box::new(G711Decoder::new(G711Law::A))),
        || Ok(Box::new(G711Encoder::new(G711Law::A))),
    ))
}

/// G.722 (RFC 3551 §4.5.2): 16 kHz audio on an 8000 Hz RTP clock, static PT 9, decoded in
/// mode 1 (64 kbit/s). Cost measured by benches/codecs.rs.
fn g722() -> Box<dyn CodecFactory> {
    Box::new(SimpleFactory::new(
        mono_descriptor("G722", 8000, 16_000, Some(9), 9, G711_FRAMES, 60, CpuCost::new(290, 500)),
        || Ok(Box::new(G722Decoder::new(G722Mode::Mode1))),
        || Ok(Box::new(G722Encoder::new())),
    ))
}

/// L16 (RFC 3551 §4.5.11) at one clock rate, any channel count.
#[derive(Clone)]
struct L16Factory(CodecDescriptor);

fn l16(hz: u32, pt: u8, quality: u8) -> Box<dyn CodecFactory> {
    let static_pt = (hz == 44_100).then_some(11);
    Box::new(L16Factory(mono_descriptor(
        "L16",
        hz,
        hz,
        static_pt,
        pt,
        &[10, 20, 30, 40, 60],
        quality,
        CpuCost::new(1, 1),
    )))
}

impl CodecFactory for L16Factory {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.0
    }

    /// L16 at this clock rate with any channel count (RFC 3551 §4.5.11).
    fn supports(&self, format: &PayloadFormat) -> bool {
        format.is("L16") && format.clock_rate == self.0.clock_rate
    }

    fn decoder(&self, format: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(Box::new(L16Decoder::new(SampleRate::new(format.clock_rate.hz()), format.channels.max(1))?))
    }

    fn encoder(&self, format: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        Ok(Box::new(L16Encoder::new(SampleRate::new(format.clock_rate.hz()), format.channels.max(1))?))
    }
}

/// Opus (RFC 7587): fmtp parameters ([`OpusParams`]) honoured as follows.
///
/// Decoder: rate = the wanted rate (default 48 kHz) capped by `maxplaybackrate` /
/// `sprop-maxcapturerate`; channels = the wanted count, else 2 when `sprop-stereo=1` or
/// `stereo=1`, else 1 (libopus down-mixes stereo packets).
///
/// Encoder: channels = the wanted count, else 2 when the receiver asked `stereo=1`; rate =
/// the wanted rate capped by `maxplaybackrate`; in-band FEC on with `useinbandfec=1`
/// (and an expected loss of 10 % so libopus spends bits on it); DTX with `usedtx=1`;
/// bitrate `maxaveragebitrate`; frame = the wanted frame, else `ptime` when it is an Opus
/// frame duration (10, 20, 40, 60 ms), else 20 ms.
#[derive(Clone)]
struct OpusFactory(CodecDescriptor);

/// Opus costs at 48 kHz mono, complexity 5 (benches/codecs.rs: ~22 µs to decode and ~100 µs to
/// encode a 20 ms frame); translation paths scale them by the rate used.
fn opus() -> Box<dyn CodecFactory> {
    let mut d = mono_descriptor("opus", 48_000, 48_000, None, 111, &[10, 20, 40, 60], 90, CpuCost::new(1080, 5100));
    d.channels = 2;
    d.sample_rates = OPUS_RATES.iter().rev().map(|&hz| SampleRate::new(hz)).collect();
    Box::new(OpusFactory(d))
}

impl CodecFactory for OpusFactory {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.0
    }

    fn decoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        let p = OpusParams::from_fmtp(format.fmtp.as_deref());
        let channels = options.channels.unwrap_or(if p.sprop_stereo || p.stereo { 2 } else { 1 }).clamp(1, 2);
        Ok(Box::new(OpusDecoder::new(p.decode_rate(options.sample_rate), channels)?))
    }

    fn encoder(&self, format: &PayloadFormat, options: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        let p = OpusParams::from_fmtp(format.fmtp.as_deref());
        let channels = options.channels.unwrap_or(if p.stereo { 2 } else { 1 }).clamp(1, 2);
        let mut cfg = OpusEncoderConfig::new(p.encode_rate(options.sample_rate), channels);
        let ptime = p.ptime.filter(|d| matches!(d.as_millis(), 10 | 20 | 40 | 60));
        cfg.frame = options.frame.or(ptime).unwrap_or(Duration::from_millis(20));
        cfg.inband_fec = p.use_inband_fec;
        cfg.packet_loss_perc = if p.use_inband_fec { 10 } else { 0 };
        cfg.dtx = p.use_dtx;
        cfg.bitrate_bps = p.max_average_bitrate;
        Ok(Box::new(OpusEncoder::new(cfg)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CodecRegistry;

    fn opus_fmt(fmtp: &str) -> PayloadFormat {
        let mut f = PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2);
        f.fmtp = Some(fmtp.to_owned());
        f
    }

    #[test]
    fn opus_factory_honours_fmtp() {
        let reg = CodecRegistry::with_builtin();
        let none = CodecOptions::default();
        let dec = reg.decoder(&opus_fmt("maxplaybackrate=16000;sprop-stereo=1"), &none).expect("decoder");
        assert_eq!((dec.sample_rate(), dec.channels()), (SampleRate::HZ_16000, 2));
        let dec = reg.decoder(&opus_fmt(""), &CodecOptions::at_rate(SampleRate::HZ_8000)).expect("decoder");
        assert_eq!((dec.sample_rate(), dec.channels()), (SampleRate::HZ_8000, 1));
        let enc = reg.encoder(&opus_fmt("stereo=1;ptime=40;maxplaybackrate=8000"), &none).expect("encoder");
        assert_eq!((enc.sample_rate(), enc.channels(), enc.frame_samples()), (SampleRate::HZ_8000, 2, Some(320)));
        let enc = reg.encoder(&opus_fmt("ptime=30"), &none).expect("encoder");
        assert_eq!(enc.frame_samples(), Some(960), "30 ms is no Opus frame: 20 ms");
    }

    #[test]
    fn opus_encoder_fec_follows_useinbandfec() {
        // A voiced SILK signal at 16 kHz: with useinbandfec=1 the packets carry LBRR.
        let reg = CodecRegistry::with_builtin();
        let opts = CodecOptions::at_rate(SampleRate::HZ_16000);
        let pcm: Vec<i16> = (0..320 * 20)
            .map(|i| {
                let t = f64::from(i) / 16_000.0;
                ((2.0 * std::f64::consts::PI * 180.0 * t).sin() * 6000.0
                    + (2.0 * std::f64::consts::PI * 360.0 * t).sin() * 3000.0) as i16
            })
            .collect();
        let mut fec_frames = [0usize; 2];
        for (i, fmtp) in
            ["useinbandfec=0;maxaveragebitrate=24000", "useinbandfec=1;maxaveragebitrate=24000"].iter().enumerate()
        {
            let mut enc = reg.encoder(&opus_fmt(fmtp), &opts).expect("encoder");
            let mut out = [0u8; 1500];
            for frame in pcm.chunks_exact(320) {
                let n = enc.encode(frame, &mut out).expect("encode");
                fec_frames[i] += usize::from(crate::codec::has_inband_fec(&out[..n]));
            }
        }
        assert_eq!(fec_frames[0], 0);
        assert!(fec_frames[1] >= 15, "{fec_frames:?}");
    }
}
