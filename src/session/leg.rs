//! One leg inside a session: what it sends us (ingress → jitter buffer → decoder → one PCM
//! frame per tick) and what we send it (PCM frame → encoder → RTP).

use super::sender::RtpSender;
use super::SessionError;
use crate::audio::SampleRate;
use crate::codec::{CodecKind, Encoder, G711Encoder, G711Law, OpusEncoder, OpusEncoderConfig};
use crate::jitter::{AudioReceiver, PlayoutDelay, PullInfo, ReceiverConfig, ReceiverStats};
use crate::rtp::{Ingress, IngressConfig, MediaPacket, PayloadFormat};
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
    pub(crate) fn send(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), SessionError> {
        let n = self.encoder.encode(pcm, &mut self.payload).map_err(SessionError::Codec)?;
        self.sender.packet(&self.payload[..n], self.ticks_per_frame, out);
        Ok(())
    }

    /// Skips one frame of outbound media time (nothing sent).
    pub(crate) fn skip(&mut self) {
        self.sender.skip(self.ticks_per_frame);
    }

    /// Receiver (jitter buffer) statistics.
    pub(crate) fn receiver_stats(&self) -> ReceiverStats {
        self.receiver.stats()
    }
}
