//! One leg inside a session: what it sends us (ingress → jitter buffer → decoder → one PCM
//! frame per tick) and what we send it (PCM frame → encoder → RTP).

use super::sender::RtpSender;
use super::SessionError;
use crate::audio::SampleRate;
use crate::codec::{decoder_for, CodecKind, Decoder, Encoder, G711Encoder, G711Law, OpusEncoder, OpusEncoderConfig};
use crate::jitter::{JitterBuffer, JitterConfig, Playout, PlayoutDelay};
use crate::rtp::{Ingress, IngressConfig, MediaPacket, PayloadFormat, PayloadMap};
use crate::time::HostTime;
use std::time::Duration;

/// Largest decoded frame: 120 ms at 48 kHz.
const MAX_DECODED: usize = 5760;

/// Creates the encoder for what we send to a leg, working at the session's internal `rate`.
pub(crate) fn encoder_for(
    send: &PayloadFormat,
    rate: SampleRate,
    ptime: Duration,
) -> Result<Box<dyn Encoder>, SessionError> {
    let kind = CodecKind::from_encoding_name(&send.encoding_name)
        .ok_or_else(|| SessionError::UnsupportedCodec(send.encoding_name.clone()))?;
    match kind {
        CodecKind::Pcmu | CodecKind::Pcma if rate == SampleRate::HZ_8000 => {
            Ok(Box::new(G711Encoder::new(if kind == CodecKind::Pcmu { G711Law::Mu } else { G711Law::A })))
        }
        CodecKind::Opus => {
            let mut cfg = OpusEncoderConfig::new(rate, 1);
            cfg.frame = ptime;
            Ok(Box::new(OpusEncoder::new(cfg).map_err(SessionError::Codec)?))
        }
        _ => Err(SessionError::UnsupportedCodec(format!("{} at {} Hz", send.encoding_name, rate.hz()))),
    }
}

/// The rate a codec works at natively, and whether it can work at other rates (Opus).
pub(crate) fn codec_rates(name: &str) -> Option<(SampleRate, bool)> {
    let kind = CodecKind::from_encoding_name(name)?;
    match kind {
        CodecKind::Opus => Some((SampleRate::HZ_48000, true)),
        CodecKind::Pcmu | CodecKind::Pcma => Some((SampleRate::HZ_8000, false)),
        CodecKind::G722 => Some((SampleRate::HZ_16000, false)),
        _ => None,
    }
}

/// Inbound playout of one leg: the jitter buffer and a decoder per payload type, pulled
/// once per tick for exactly one frame of mono PCM at the session rate.
struct Playback {
    buffer: JitterBuffer,
    payloads: PayloadMap,
    rate: SampleRate,
    decoders: Vec<(u8, Box<dyn Decoder>)>,
    last: Option<usize>,
    scratch: Vec<i16>,
}

impl Playback {
    fn new(payloads: PayloadMap, clock: crate::ClockRate, rate: SampleRate, ptime: Duration, delay: Duration) -> Self {
        let cfg = JitterConfig::new(clock).with_ptime(ptime).with_delay(PlayoutDelay::Fixed(delay));
        Playback {
            buffer: JitterBuffer::new(cfg),
            payloads,
            rate,
            decoders: Vec::new(),
            last: None,
            scratch: vec![0; MAX_DECODED],
        }
    }

    fn decoder(&mut self, pt: u8) -> Option<usize> {
        if let Some(i) = self.decoders.iter().position(|(p, _)| *p == pt) {
            return Some(i);
        }
        let fmt = self.payloads.get(crate::rtp::PayloadType(pt))?;
        let kind = CodecKind::from_encoding_name(&fmt.encoding_name)?;
        let dec = decoder_for(kind, fmt.channels.max(1), self.rate)?;
        if dec.sample_rate() != self.rate {
            return None;
        }
        self.decoders.push((pt, dec));
        Some(self.decoders.len() - 1)
    }

    /// One frame into `out` (all of it written): decoded audio, concealment or silence.
    fn pull(&mut self, now: HostTime, out: &mut [i16]) {
        out.fill(0);
        let n = out.len();
        match self.buffer.pop(now) {
            Playout::Frame { packet, .. } => {
                let pt = packet.payload_type.0;
                if let Some(i) = self.decoder(pt) {
                    let dec = &mut self.decoders[i].1;
                    let ch = usize::from(dec.channels().max(1));
                    if let Ok(m) = dec.decode(&packet.payload, &mut self.scratch) {
                        for (k, frame) in self.scratch[..m * ch].chunks_exact(ch).take(n).enumerate() {
                            let s: i32 = frame.iter().map(|&x| i32::from(x)).sum();
                            out[k] = (s / ch as i32) as i16;
                        }
                        self.last = Some(i);
                    }
                }
            }
            Playout::Conceal { .. } => {
                if let Some(i) = self.last {
                    let dec = &mut self.decoders[i].1;
                    let ch = usize::from(dec.channels().max(1));
                    if let Ok(m) = dec.conceal(n, &mut self.scratch) {
                        for (k, frame) in self.scratch[..m.min(n) * ch].chunks_exact(ch).enumerate() {
                            let s: i32 = frame.iter().map(|&x| i32::from(x)).sum();
                            out[k] = (s / ch as i32) as i16;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Everything the session keeps per leg.
pub(crate) struct LegState {
    pub(crate) ingress: Ingress,
    playback: Playback,
    encoder: Box<dyn Encoder>,
    pub(crate) sender: RtpSender,
    /// RTP ticks per outbound frame.
    ticks_per_frame: u32,
    /// PCM this leg sent us, played out for the current tick.
    pub(crate) played: Vec<i16>,
    payload: Vec<u8>,
    pub(crate) last_packet: Option<HostTime>,
    pub(crate) timeout_reported: bool,
}

impl LegState {
    pub(crate) fn new(
        cfg: &super::LegConfig,
        rate: SampleRate,
        ptime: Duration,
        delay: Duration,
    ) -> Result<LegState, SessionError> {
        let mut ingress = Ingress::new(IngressConfig::new(cfg.payloads.clone()));
        if let Some(remote) = cfg.remote {
            ingress.bind_remote(remote);
        }
        let encoder = encoder_for(&cfg.send, rate, ptime)?;
        let frame = rate.samples_in(ptime);
        Ok(LegState {
            ingress,
            playback: Playback::new(cfg.payloads.clone(), cfg.send.clock_rate, rate, ptime, delay),
            encoder,
            sender: RtpSender::new(cfg.ssrc, cfg.send.payload_type, cfg.initial_seq, cfg.initial_timestamp),
            ticks_per_frame: u32::try_from(cfg.send.clock_rate.ticks_in(ptime)).unwrap_or(u32::MAX),
            played: vec![0; frame],
            payload: vec![0; 1500],
            last_packet: None,
            timeout_reported: false,
        })
    }

    /// Queues an accepted packet for playout.
    pub(crate) fn insert(&mut self, packet: MediaPacket) {
        let _ = self.playback.buffer.insert(packet);
    }

    /// Plays out this tick's frame into `self.played`.
    pub(crate) fn pull(&mut self, now: HostTime) {
        self.playback.pull(now, &mut self.played);
    }

    /// Encodes `pcm` (one frame at the session rate) and appends the RTP packet to `out`.
    pub(crate) fn send(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), SessionError> {
        let n = self.encoder.encode(pcm, &mut self.payload).map_err(SessionError::Codec)?;
        self.sender.packet(&self.payload[..n], self.ticks_per_frame, out);
        Ok(())
    }

    /// Skips one frame of outbound media time (nothing sent).
    pub(crate) fn skip(&mut self) {
        self.sender.skip(self.ticks_per_frame);
    }

    /// Jitter buffer statistics.
    pub(crate) fn jitter_stats(&self) -> crate::jitter::JitterStats {
        self.playback.buffer.stats()
    }
}
