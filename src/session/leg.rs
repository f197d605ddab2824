//! One leg inside a session: what it sends us (ingress → jitter buffer → decoder → one PCM
//! frame per tick) and what we send it (PCM frame → encoder → RTP).

use super::sender::RtpSender;
use super::SessionError;
use crate::audio::SampleRate;
use crate::codec::{CodecKind, Encoder, G711Encoder, G711Law, OpusEncoder, OpusEncoderConfig};
use crate::jitter::{AudioReceiver, PlayoutDelay, PullInfo, ReceiverConfig, ReceiverStats};
use crate::rtp::{Ingress, IngressConfig, MediaPacket, PayloadFormat, PayloadType};
use crate::time::HostTime;
use std::time::Duration;

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

/// How the other party's packets are forwarded untouched to a leg (passthrough): what they
/// must carry and the payload types they are relabelled with.
#[derive(Debug, Clone)]
pub(crate) struct Forwarding {
    /// The codec sent to the leg (what forwarded packets must carry), e.g. `PCMU`/8000.
    codec: PayloadFormat,
    /// The leg's comfort-noise payload type (RFC 3389), when it negotiated CN at that clock.
    cn: Option<PayloadType>,
}

/// What an upstream packet is, seen from the leg it would be forwarded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forwardable {
    /// The leg's codec: forward relabelled with this payload type.
    Codec(PayloadType),
    /// Comfort noise the leg understands: forward relabelled.
    ComfortNoise(PayloadType),
    /// Another audio codec: the leg needs transcoding.
    OtherCodec,
    /// Not audio for the leg (telephone-event, comfort noise it did not negotiate): not forwarded.
    Skip,
}

impl Forwarding {
    /// Forwarding from a leg configured as `from` to one configured as `to`, if both legs
    /// negotiated the same codec (same encoding name, clock rate and channel count; the
    /// payload type numbers may differ). Per packet, [`Self::classify`] still checks what
    /// actually arrives.
    pub(crate) fn between(from: &super::LegConfig, to: &super::LegConfig) -> Option<Forwarding> {
        let (f, g) = (&from.send, &to.send);
        let same = f.encoding_name.eq_ignore_ascii_case(&g.encoding_name)
            && f.clock_rate == g.clock_rate
            && f.channels == g.channels;
        if !same {
            return None;
        }
        let cn = to
            .payloads
            .iter()
            .find(|f| f.encoding_name.eq_ignore_ascii_case("CN") && f.clock_rate == to.send.clock_rate)
            .map(|f| f.payload_type);
        Some(Forwarding { codec: to.send.clone(), cn })
    }

    /// Classifies an upstream packet whose payload type maps to `format` (`None`: unknown).
    pub(crate) fn classify(&self, format: Option<&PayloadFormat>) -> Forwardable {
        let Some(f) = format else { return Forwardable::Skip };
        if f.encoding_name.eq_ignore_ascii_case(&self.codec.encoding_name)
            && f.clock_rate == self.codec.clock_rate
            && f.channels == self.codec.channels
        {
            return Forwardable::Codec(self.codec.payload_type);
        }
        if f.encoding_name.eq_ignore_ascii_case("CN") {
            return match self.cn {
                Some(pt) if f.clock_rate == self.codec.clock_rate => Forwardable::ComfortNoise(pt),
                _ => Forwardable::Skip,
            };
        }
        if f.encoding_name.eq_ignore_ascii_case("telephone-event") {
            return Forwardable::Skip;
        }
        Forwardable::OtherCodec
    }

    /// RTP ticks a forwarded payload covers: from the Opus TOC (RFC 6716 §3.1), one tick per
    /// byte for G.711 and G.722 (RFC 3551 §4.5), else `fallback`.
    pub(crate) fn ticks(&self, payload: &[u8], fallback: u32) -> u32 {
        match CodecKind::from_encoding_name(&self.codec.encoding_name) {
            Some(CodecKind::Opus) => opus::packet::get_nb_samples(payload, self.codec.clock_rate.hz())
                .ok()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0)
                .unwrap_or(fallback),
            Some(CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722) if !payload.is_empty() => {
                u32::try_from(payload.len()).unwrap_or(fallback)
            }
            _ => fallback,
        }
    }
}

/// Everything the session keeps per leg.
pub(crate) struct LegState {
    pub(crate) ingress: Ingress,
    receiver: AudioReceiver,
    /// What the last pull produced (normal, concealed, stretched, comfort noise…).
    pub(crate) last_pull: Option<PullInfo>,
    encoder: Box<dyn Encoder>,
    pub(crate) sender: RtpSender,
    /// RTP ticks per outbound frame.
    ticks_per_frame: u32,
    /// PCM this leg sent us, played out for the current tick.
    pub(crate) played: Vec<i16>,
    payload: Vec<u8>,
    pub(crate) last_packet: Option<HostTime>,
    pub(crate) timeout_reported: bool,
    /// How the other party's packets may be forwarded to this leg; `None`: never.
    pub(crate) forwarding: Option<Forwarding>,
    /// Whether the other party's packets are forwarded to this leg now (passthrough);
    /// otherwise this leg gets one encoded frame per tick.
    pub(crate) passthrough: bool,
    /// Whether this leg's latest audio packet was in the codec the other leg is sent
    /// (so that the other leg can take it forwarded).
    pub(crate) sends_forwardable: bool,
}

impl LegState {
    pub(crate) fn new(
        cfg: &super::LegConfig,
        rate: SampleRate,
        ptime: Duration,
        delay: PlayoutDelay,
    ) -> Result<LegState, SessionError> {
        let mut ingress = Ingress::new(IngressConfig::new(cfg.payloads.clone()));
        if let Some(remote) = cfg.remote {
            ingress.bind_remote(remote);
        }
        let encoder = encoder_for(&cfg.send, rate, ptime)?;
        let frame = rate.samples_in(ptime);
        Ok(LegState {
            ingress,
            receiver: AudioReceiver::new(
                ReceiverConfig::new(cfg.payloads.clone(), rate).with_delay(delay).with_frame(ptime),
            )
            .map_err(|e| SessionError::UnsupportedCodec(e.to_string()))?,
            last_pull: None,
            encoder,
            sender: RtpSender::new(
                cfg.ssrc,
                cfg.send.payload_type,
                cfg.initial_seq,
                cfg.initial_timestamp,
                cfg.send.clock_rate.hz(),
            ),
            ticks_per_frame: u32::try_from(cfg.send.clock_rate.ticks_in(ptime)).unwrap_or(u32::MAX),
            played: vec![0; frame],
            payload: vec![0; 1500],
            last_packet: None,
            timeout_reported: false,
            forwarding: None,
            passthrough: false,
            sends_forwardable: true,
        })
    }

    /// Queues an accepted packet for playout.
    pub(crate) fn insert(&mut self, packet: MediaPacket) {
        self.receiver.insert(packet);
    }

    /// Plays out this tick's frame into `self.played` (decoded, concealed, time-stretched or
    /// comfort noise: the receiver decides). On a receiver error the frame is silence.
    pub(crate) fn pull(&mut self, now: HostTime) {
        match self.receiver.pull(now, &mut self.played) {
            Ok(info) => self.last_pull = Some(info),
            Err(_) => {
                self.played.fill(0);
                self.last_pull = None;
            }
        }
    }

    /// Encodes `pcm` (one frame at the session rate) and appends the RTP packet to `out`.
    pub(crate) fn send(&mut self, now: HostTime, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), SessionError> {
        let n = self.encoder.encode(pcm, &mut self.payload).map_err(SessionError::Codec)?;
        self.sender.packet(now, &self.payload[..n], self.ticks_per_frame, out);
        Ok(())
    }

    /// Forwards the other party's `packet` to this leg untouched (passthrough) into `out`.
    /// Returns `false` (nothing written) when this leg is not in passthrough or the packet
    /// is not forwarded (another codec, telephone-event, older than the passthrough start).
    pub(crate) fn forward(
        &mut self,
        now: HostTime,
        packet: &MediaPacket,
        kind: Forwardable,
        out: &mut Vec<u8>,
    ) -> bool {
        if !self.passthrough {
            return false;
        }
        let Some(fw) = self.forwarding.as_ref() else { return false };
        let (pt, ticks) = match kind {
            Forwardable::Codec(pt) => (pt, fw.ticks(&packet.payload, self.ticks_per_frame)),
            Forwardable::ComfortNoise(pt) => (pt, self.ticks_per_frame),
            Forwardable::OtherCodec | Forwardable::Skip => return false,
        };
        self.sender.forward(now, packet, pt, ticks, out)
    }

    /// Switches what feeds this leg: forwarded packets (`true`) or encoded frames.
    pub(crate) fn set_passthrough(&mut self, on: bool) {
        if on == self.passthrough {
            return;
        }
        self.passthrough = on;
        if on {
            self.sender.start_forwarding();
        } else {
            self.sender.stop_forwarding();
        }
    }

    /// Skips one frame of outbound media time (nothing sent).
    pub(crate) fn skip(&mut self) {
        self.sender.skip(self.ticks_per_frame);
    }

    /// Skips `n` frames of outbound media time at once (nothing sent). RTP timestamps count
    /// modulo 2^32, so `n` modulo 2^32 is all that matters (the truncation is intended).
    pub(crate) fn skip_frames(&mut self, n: u64) {
        self.sender.skip((n as u32).wrapping_mul(self.ticks_per_frame));
    }

    /// Receiver (jitter buffer) statistics.
    pub(crate) fn receiver_stats(&self) -> ReceiverStats {
        self.receiver.stats()
    }
}
