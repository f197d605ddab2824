//! How a call session is set up.

use super::Policy;
use crate::audio::SampleRate;
use crate::rtp::{PayloadFormat, PayloadMap, Ssrc};
use std::net::SocketAddr;
use std::time::Duration;

/// One leg's negotiated media (from the SDP offer/answer).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LegConfig {
    /// Payload types this leg may send to us (rtpmap/fmtp), for decoding and clock rates.
    pub payloads: PayloadMap,
    /// The format we send to this leg (payload type, codec, clock rate).
    pub send: PayloadFormat,
    /// The remote media address, when signalling already knows it (strict source).
    pub remote: Option<SocketAddr>,
    /// Our outbound SSRC toward this leg.
    pub ssrc: Ssrc,
    /// Initial outbound sequence number (RFC 3550 §5.1: random, chosen by the host).
    pub initial_seq: u16,
    /// Initial outbound timestamp (random, chosen by the host).
    pub initial_timestamp: u32,
}

impl LegConfig {
    /// A leg that sends and receives `send` (plus the RFC 3551 static payload types),
    /// with the given outbound SSRC; sequence and timestamp start at 0.
    pub fn new(send: PayloadFormat, ssrc: Ssrc) -> Self {
        let mut payloads = PayloadMap::static_defaults();
        let _ = payloads.insert(send.clone());
        LegConfig { payloads, send, remote: None, ssrc, initial_seq: 0, initial_timestamp: 0 }
    }
}

/// A warning played before the time limit: a tone or prompt `before` the limit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Warning {
    /// How long before the limit it starts.
    pub before: Duration,
    /// What plays (to both legs, mixed with the conversation).
    pub source: crate::mix::Source,
}

impl Warning {
    /// A warning playing `source` `before` the limit.
    pub fn new(before: Duration, source: crate::mix::Source) -> Self {
        Warning { before, source }
    }
}

/// Settings of a [`CallSession`](super::CallSession).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Call identifier (recording metadata, events).
    pub call_id: String,
    /// Leg A (inmate) and leg B (family).
    pub legs: [LegConfig; 2],
    /// Recording and monitoring policy (fail-closed).
    pub policy: Policy,
    /// Frame period of the session's clock (ptime of outbound packets). Default 20 ms.
    pub ptime: Duration,
    /// Internal mixing rate; `None` picks the lowest rate both legs' codecs can work at.
    pub rate: Option<SampleRate>,
    /// Playout delay of each leg's jitter buffer: adaptive (default: the receiver's adaptive
    /// 20–500 ms) or fixed.
    pub playout_delay: crate::jitter::PlayoutDelay,
    /// Talk-time limit counted from the answer; `None` for no limit.
    pub time_limit: Option<Duration>,
    /// Warnings before the limit.
    pub warnings: Vec<Warning>,
    /// A leg with no packet for this long raises `MediaTimeout` (once per silence).
    pub media_timeout: Duration,
    /// Recording page flush interval (crash-loss bound).
    pub flush_interval: Duration,
    /// Record guard and prompt audio (whisper, barge, warnings) on a third channel of the
    /// recording (Ogg Opus mapping family 1); the parties' channels never contain it.
    pub record_guard_track: bool,
    /// Call analysis settings (VAD, DTMF, billing, alarms, three-way signals).
    pub analysis: crate::analysis::AnalysisConfig,
    /// Forward a party's packets to the other untouched (payload as received, our SSRC and
    /// continuous numbering) while both legs use the same codec and nothing is mixed into
    /// that direction; switch to decoding, mixing and encoding while a whisper, barge,
    /// prompt or tone reaches the leg. Saves an encode per leg and the jitter buffer's
    /// delay. Default `true`; `false` always transcodes (every outbound packet is
    /// engine-clocked, one per ptime).
    pub passthrough: bool,
}

impl SessionConfig {
    /// A recorded, monitorable call with 20 ms frames, adaptive playout delay, no limit and
    /// a 30 s media timeout.
    pub fn new(call_id: impl Into<String>, leg_a: LegConfig, leg_b: LegConfig) -> Self {
        SessionConfig {
            call_id: call_id.into(),
            legs: [leg_a, leg_b],
            policy: Policy::RECORD,
            ptime: Duration::from_millis(20),
            rate: None,
            playout_delay: crate::jitter::ReceiverConfig::new(PayloadMap::new(), SampleRate::HZ_8000).delay,
            time_limit: None,
            warnings: Vec::new(),
            media_timeout: Duration::from_secs(30),
            flush_interval: Duration::from_secs(1),
            analysis: crate::analysis::AnalysisConfig::default(),
            record_guard_track: false,
            passthrough: true,
        }
    }
}
