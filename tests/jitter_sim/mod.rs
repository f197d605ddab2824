//! Helpers for the receiver tests: packet builders with real codec payloads, and a
//! simulated host that inserts packets at their arrival times and pulls one frame
//! every 20 ms on the simulated clock.
#![allow(dead_code)]

use bytes::Bytes;
use jyqq_media::codec::{alaw_encode, ulaw_encode, OpusEncoder, OpusEncoderConfig};
use jyqq_media::jitter::{AudioReceiver, FrameKind, PlayoutDelay, PullInfo, ReceiverConfig};
use jyqq_media::rtp::{ExtTimestamp, MediaPacket, PayloadFormat, PayloadMap, PayloadType, SeqNo, Ssrc, StreamEpoch};
use jyqq_media::{ClockRate, HostTime, SampleRate};
use std::time::Duration;

/// Payload type of Opus in these tests.
pub const OPUS: PayloadType = PayloadType(111);
/// Payload type of telephone-event.
pub const DTMF: PayloadType = PayloadType(101);

/// Static payload types plus opus/48000/2 on 111 and telephone-event/8000 on 101.
pub fn payloads() -> PayloadMap {
    let mut map = PayloadMap::static_defaults();
    map.insert(PayloadFormat::new(OPUS, "opus", ClockRate::HZ_48000, 2)).expect("PT fits");
    map.insert(PayloadFormat::new(DTMF, "telephone-event", ClockRate::HZ_8000, 1)).expect("PT fits");
    map
}

/// A receiver at `rate` Hz with a fixed delay of `ms`.
pub fn fixed(rate: u32, ms: u64) -> AudioReceiver {
    let cfg = ReceiverConfig::new(payloads(), SampleRate::new(rate))
        .with_delay(PlayoutDelay::Fixed(Duration::from_millis(ms)));
    AudioReceiver::new(cfg).expect("valid config")
}

/// A receiver at `rate` Hz with the default adaptive delay.
pub fn adaptive(rate: u32) -> AudioReceiver {
    AudioReceiver::new(ReceiverConfig::new(payloads(), SampleRate::new(rate))).expect("valid config")
}

/// One sample of a `freq` Hz tone of amplitude 8000 at sample index `n` of a `rate` Hz signal.
pub fn tone(n: u64, freq: f64, rate: f64) -> i16 {
    (8000.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / rate).sin()) as i16
}

/// 160 µ-law bytes: samples `160·k ..` of a `freq` Hz tone at 8 kHz.
pub fn pcmu_frame(k: u64, freq: f64) -> Bytes {
    Bytes::from((0..160).map(|i| ulaw_encode(tone(160 * k + i, freq, 8000.0))).collect::<Vec<u8>>())
}

/// 160 A-law bytes: samples `160·k ..` of a `freq` Hz tone at 8 kHz.
pub fn pcma_frame(k: u64, freq: f64) -> Bytes {
    Bytes::from((0..160).map(|i| alaw_encode(tone(160 * k + i, freq, 8000.0))).collect::<Vec<u8>>())
}

/// An Opus encoder at 48 kHz mono for `frame_ms` frames.
pub fn opus_encoder(frame_ms: u64) -> OpusEncoder {
    let mut cfg = OpusEncoderConfig::new(SampleRate::HZ_48000, 1);
    cfg.frame = Duration::from_millis(frame_ms);
    OpusEncoder::new(cfg).expect("opus encoder")
}

/// Encodes `frame_ms` of a `freq` Hz tone starting at 48 kHz sample `start`.
pub fn opus_frame(enc: &mut OpusEncoder, start: u64, frame_ms: u64, freq: f64) -> Bytes {
    let n = 48 * frame_ms;
    let pcm: Vec<i16> = (0..n).map(|i| tone(start + i, freq, 48_000.0)).collect();
    let mut out = vec![0u8; 4000];
    let len = enc.encode(&pcm, &mut out).expect("encode");
    out.truncate(len);
    Bytes::from(out)
}

/// A packet of epoch 0, SSRC 0x1234_5678.
pub fn pkt(pt: PayloadType, seq: u64, ts: u64, arrival_ms: u64, payload: Bytes) -> MediaPacket {
    MediaPacket {
        arrival: HostTime::from_millis(arrival_ms),
        ssrc: Ssrc(0x1234_5678),
        payload_type: pt,
        marker: false,
        seq: SeqNo(seq),
        timestamp: ExtTimestamp(ts),
        epoch: StreamEpoch(0),
        payload,
    }
}

/// One pulled frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Pull time in ms.
    pub t: u64,
    /// What the receiver said it is.
    pub info: PullInfo,
    /// The PCM.
    pub pcm: Vec<i16>,
}

impl Frame {
    /// RMS of the frame.
    pub fn rms(&self) -> f64 {
        (self.pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / self.pcm.len() as f64).sqrt()
    }

    /// The wire (32-bit) RTP timestamp of the frame's start.
    pub fn wire_ts(&self) -> Option<u32> {
        self.info.timestamp.map(|t| t.wire())
    }
}

/// Simulated host: from t = 0 to `until_ms`, every 20 ms, inserts every packet that
/// arrived by then (in arrival order) and pulls one frame.
pub fn run(rx: &mut AudioReceiver, mut packets: Vec<MediaPacket>, until_ms: u64) -> Vec<Frame> {
    packets.sort_by_key(|p| p.arrival);
    let mut it = packets.into_iter().peekable();
    let mut frames = Vec::new();
    let mut pcm = vec![0i16; rx.frame_samples()];
    for t in (0..=until_ms).step_by(20) {
        while let Some(p) = it.next_if(|p| p.arrival <= HostTime::from_millis(t)) {
            rx.insert(p);
        }
        let info = rx.pull(HostTime::from_millis(t), &mut pcm).expect("frame-sized buffer");
        frames.push(Frame { t, info, pcm: pcm.clone() });
    }
    frames
}

/// Frames of `kind`.
pub fn of_kind(frames: &[Frame], kind: FrameKind) -> Vec<&Frame> {
    frames.iter().filter(|f| f.info.kind == kind).collect()
}

/// Pull time (ms) of the first frame whose RTP timestamp is `ts` (wire value).
pub fn played_at(frames: &[Frame], ts: u32) -> Option<u64> {
    frames.iter().find(|f| f.info.kind == FrameKind::Normal && f.wire_ts() == Some(ts)).map(|f| f.t)
}

/// Dominant frequency (Hz) of `pcm` at `rate` Hz, from its zero crossings.
pub fn zero_cross_hz(pcm: &[i16], rate: f64) -> f64 {
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (pcm.len() as f64 / rate)
}
