//! The receiver's decoders: one per payload type in use, created on first use from
//! the leg's [`PayloadMap`], kept across payload-type switches (no rebuild on each
//! flip, CASES.md B14), and their output brought to the receiver's output rate.
//!
//! Opus decodes at the output rate directly and offers native PLC and in-band FEC;
//! other codecs come from [`decoder_for`] and are upsampled by an integer factor.

use super::upsample::Upsampler;
use crate::audio::{ClockRate, SampleRate};
use crate::codec::{decoder_for, has_inband_fec, CodecKind, Decoder, OpusDecoder};
use crate::rtp::{PayloadMap, PayloadType};

/// What a payload type carries, for playout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadClass {
    /// Audio of a codec with a decoder here.
    Audio {
        /// RTP clock rate of the payload type.
        clock: ClockRate,
        /// Whether the codec conceals natively (Opus PLC) and may carry FEC.
        native_plc: bool,
    },
    /// RFC 3389 comfort noise.
    ComfortNoise {
        /// RTP clock rate of the payload type.
        clock: ClockRate,
    },
    /// Not audio (telephone-event): ignored, not loss.
    NonAudio,
    /// Unmapped, or a codec without decoder here: discarded.
    Unsupported,
}

enum Engine {
    Opus(Box<OpusDecoder>),
    Other(Box<dyn Decoder>),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Opus(_) => f.write_str("Opus"),
            Engine::Other(_) => f.write_str("Other"),
        }
    }
}

#[derive(Debug)]
struct Slot {
    pt: PayloadType,
    engine: Engine,
    up: Upsampler,
    /// Decoder output rate in Hz.
    rate: u32,
    clock: ClockRate,
}

/// Audio decoded from one packet, at the output rate, in [`Decoders::output`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Samples at the output rate.
    pub(crate) samples: usize,
    /// Media time covered, in RTP ticks of the payload type's clock.
    pub(crate) ticks: u64,
}

/// Per-payload-type decoders and their scratch buffers (allocated once).
#[derive(Debug)]
pub(crate) struct Decoders {
    map: PayloadMap,
    out_rate: SampleRate,
    slots: Vec<Slot>,
    pcm: Vec<i16>,
    out: Vec<f32>,
    /// Opus decoder complexity (≤ 10).
    opus_complexity: u8,
}

/// Longest audio decoded from one packet: 250 ms.
const MAX_PACKET_DIV: u32 = 4;

/// Runs `f` with the decoder's complexity at 0 (classic PLC / comfort noise), then restores it.
fn classic_plc<R>(d: &mut OpusDecoder, f: impl FnOnce(&mut OpusDecoder) -> R) -> R {
    let c = d.complexity();
    if c == 0 {
        return f(d);
    }
    // Invariant: 0 and the complexity just read are valid complexities.
    let _ = d.set_complexity(0);
    let r = f(d);
    let _ = d.set_complexity(c);
    r
}

impl Decoders {
    /// Decoders for `map`, producing `out_rate`.
    pub(crate) fn new(map: PayloadMap, out_rate: SampleRate, opus_complexity: u8) -> Self {
        let cap = usize::try_from(out_rate.hz().max(48_000) / MAX_PACKET_DIV).unwrap_or(12_000);
        Decoders { map, out_rate, slots: Vec::new(), pcm: vec![0; cap], out: vec![0.0; cap], opus_complexity }
    }

    /// What payload type `pt` carries.
    pub(crate) fn classify(&self, pt: PayloadType) -> PayloadClass {
        let Some(f) = self.map.get(pt) else {
            return PayloadClass::Unsupported;
        };
        match CodecKind::from_encoding_name(&f.encoding_name) {
            Some(CodecKind::TelephoneEvent) => PayloadClass::NonAudio,
            Some(CodecKind::ComfortNoise) => PayloadClass::ComfortNoise { clock: f.clock_rate },
            Some(CodecKind::Opus) => PayloadClass::Audio { clock: f.clock_rate, native_plc: true },
            Some(CodecKind::Pcmu | CodecKind::Pcma) => PayloadClass::Audio { clock: f.clock_rate, native_plc: false },
            _ => PayloadClass::Unsupported,
        }
    }

    /// Creates the decoder of `pt` if needed; `false` when it cannot be made.
    fn ensure(&mut self, pt: PayloadType) -> bool {
        self.slots.iter().any(|s| s.pt == pt) || self.create(pt).is_some()
    }

    fn create(&mut self, pt: PayloadType) -> Option<()> {
        let f = self.map.get(pt)?;
        let clock = f.clock_rate;
        let kind = CodecKind::from_encoding_name(&f.encoding_name)?;
        let out = self.out_rate.hz();
        let engine = match kind {
            CodecKind::Opus => {
                let mut d = OpusDecoder::new(self.out_rate, 1).ok()?;
                d.set_complexity(self.opus_complexity).ok()?;
                Engine::Opus(Box::new(d))
            }
            other => Engine::Other(decoder_for(other, 1, self.out_rate)?),
        };
        let rate = match &engine {
            Engine::Opus(_) => out,
            Engine::Other(d) => d.sample_rate().hz(),
        };
        if rate == 0 || out % rate != 0 {
            return None;
        }
        let up = Upsampler::new(usize::try_from(out / rate).unwrap_or(1));
        self.slots.push(Slot { pt, engine, up, rate, clock });
        Some(())
    }

    /// The decoded audio of the last successful call, `samples` long.
    pub(crate) fn output(&mut self, samples: usize) -> &mut [f32] {
        let n = samples.min(self.out.len());
        &mut self.out[..n]
    }

    /// Decodes `payload` of payload type `pt` into [`output`](Self::output).
    /// `None` when the payload type has no decoder or the payload does not decode
    /// (the caller drops the packet and counts it).
    pub(crate) fn decode(&mut self, pt: PayloadType, payload: &[u8]) -> Option<Decoded> {
        if !self.ensure(pt) {
            return None;
        }
        let Decoders { slots, pcm, out, .. } = self;
        let slot = slots.iter_mut().find(|s| s.pt == pt)?;
        let n = match &mut slot.engine {
            // A DTX frame (TOC only) decodes as libopus' concealment: its comfort noise.
            Engine::Opus(d) if payload.len() <= 2 => classic_plc(d, |d| d.decode(payload, pcm)).ok()?,
            Engine::Opus(d) => d.decode(payload, pcm).ok()?,
            Engine::Other(d) => d.decode(payload, pcm).ok()?,
        };
        finish(slot, &pcm[..n], out)
    }

    /// Codec-native concealment (Opus PLC) of `samples` output samples into
    /// [`output`](Self::output). `None` when the codec has none.
    /// libopus' concealment of `samples` at the output rate: for a lost packet
    /// (`comfort` false) the decoder's own PLC — the deep PLC by default; inside a DTX
    /// pause (`comfort` true) the classic PLC, which is libopus' comfort noise (the deep
    /// PLC would keep synthesising speech-like sound through a long pause).
    pub(crate) fn conceal(&mut self, pt: PayloadType, samples: usize, comfort: bool) -> Option<Decoded> {
        let Decoders { slots, pcm, out, .. } = self;
        let slot = slots.iter_mut().find(|s| s.pt == pt)?;
        let Engine::Opus(d) = &mut slot.engine else {
            return None;
        };
        let n = samples.min(pcm.len());
        let got = if comfort { classic_plc(d, |d| d.conceal(n, pcm)) } else { d.conceal(n, pcm) }.ok()?;
        finish(slot, &pcm[..got], out)
    }

    /// Whether `payload` (payload type `pt`) carries in-band FEC for the packet before it.
    pub(crate) fn has_fec(&self, pt: PayloadType, payload: &[u8]) -> bool {
        matches!(self.classify(pt), PayloadClass::Audio { native_plc: true, .. }) && has_inband_fec(payload)
    }

    /// Recovers `samples` output samples of the packet before `next_payload` from its
    /// in-band FEC (Opus) into [`output`](Self::output). `None` when not possible.
    pub(crate) fn decode_fec(&mut self, pt: PayloadType, next_payload: &[u8], samples: usize) -> Option<Decoded> {
        let Decoders { slots, pcm, out, .. } = self;
        let slot = slots.iter_mut().find(|s| s.pt == pt)?;
        let Engine::Opus(d) = &mut slot.engine else {
            return None;
        };
        let n = samples.min(pcm.len());
        let got = d.decode_fec(next_payload, n, pcm).ok()?;
        finish(slot, &pcm[..got], out)
    }

    /// Media ticks in `samples` output samples of payload type `pt` (0 when unknown).
    pub(crate) fn ticks_of(&self, clock: ClockRate, samples: usize) -> u64 {
        u64::try_from(samples).unwrap_or(u64::MAX).saturating_mul(u64::from(clock.hz()))
            / u64::from(self.out_rate.hz().max(1))
    }
}

/// Brings `pcm` (decoder rate) to the output rate in `out`.
fn finish(slot: &mut Slot, pcm: &[i16], out: &mut [f32]) -> Option<Decoded> {
    let factor = slot.up.factor();
    let samples = pcm.len().checked_mul(factor)?;
    if samples > out.len() {
        return None;
    }
    slot.up.process(pcm, &mut out[..samples]);
    let ticks = u64::try_from(pcm.len()).ok()?.saturating_mul(u64::from(slot.clock.hz())) / u64::from(slot.rate.max(1));
    Some(Decoded { samples, ticks })
}
