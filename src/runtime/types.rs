//! What the host hands the runtime (a call's spec, its packet sender) and gets back (events,
//! tap frames), and the runtime's errors.

use crate::analysis::CdrSummary;
use crate::leg::Leg;
use crate::mix::TapId;
use crate::record::{RecordingSink, SinkEvent};
use crate::session::{SessionConfig, SessionError, SessionEvent};
use crate::time::HostTime;
use crossbeam_channel::Sender;
use std::fmt;
use std::io;
use thiserror::Error;

/// Identifies a call on a [`Runtime`](super::Runtime). The low 16 bits name the shard that
/// owns the call (so a datagram is routed without a shared map); the rest is a sequence
/// number, never reused within a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u64);

impl CallId {
    pub(crate) fn new(seq: u64, shard: usize) -> CallId {
        CallId((seq << 16) | (shard as u64 & 0xFFFF))
    }

    /// The shard that owns the call.
    pub fn shard(self) -> usize {
        (self.0 & 0xFFFF) as usize
    }

    /// The id as an integer (for logs and C hosts).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 >> 16, self.shard())
    }
}

/// Sends a call's outbound RTP: the host's socket business. Called on the shard thread for
/// every [`Output::Transmit`](crate::session::Output::Transmit).
///
/// Must not block: a UDP `send_to` (which never waits for the peer) or a bounded channel's
/// `try_send` ([`ChannelSender`]) is right; a TCP write or a lock held by another thread is
/// not (it would delay every call on the shard). An error is counted in
/// [`ShardStats::transmit_errors`](super::ShardStats::transmit_errors) and the packet is
/// dropped.
pub trait PacketSender: Send {
    /// Sends `packet` (one complete RTP packet) to `leg`'s remote media address of `call`.
    ///
    /// Errors: whatever the transport reports (`WouldBlock` for a full queue).
    fn send(&mut self, call: CallId, leg: Leg, packet: Vec<u8>) -> io::Result<()>;
}

/// One outbound packet, as a [`ChannelSender`] hands it to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// The call.
    pub call: CallId,
    /// The leg whose remote it goes to.
    pub leg: Leg,
    /// The complete RTP packet.
    pub packet: Vec<u8>,
}

/// A [`PacketSender`] that puts packets on a channel the host drains (when the host's I/O
/// lives on threads of its own). A full channel refuses the packet (`WouldBlock`, counted).
#[derive(Debug, Clone)]
pub struct ChannelSender(pub Sender<Transmit>);

impl PacketSender for ChannelSender {
    fn send(&mut self, call: CallId, leg: Leg, packet: Vec<u8>) -> io::Result<()> {
        self.0.try_send(Transmit { call, leg, packet }).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => io::Error::from(io::ErrorKind::WouldBlock),
            crossbeam_channel::TrySendError::Disconnected(_) => io::Error::from(io::ErrorKind::BrokenPipe),
        })
    }
}

/// A [`PacketSender`] that drops every packet (receive-only tests, benches).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardSender;

impl PacketSender for DiscardSender {
    fn send(&mut self, _: CallId, _: Leg, _: Vec<u8>) -> io::Result<()> {
        Ok(())
    }
}

/// Everything a new call needs: the session's settings and where its outputs go.
#[non_exhaustive]
pub struct CallSpec {
    /// The session's settings.
    pub config: SessionConfig,
    /// Where outbound RTP goes.
    pub transmit: Box<dyn PacketSender>,
    /// Where recording pages go, when the policy records (created by the host, off the media
    /// path: [`FileSink::create`](crate::record::FileSink::create) opens the file). The
    /// shard only calls the non-blocking [`RecordingSink::write_page`],
    /// [`RecordingSink::close`] and [`RecordingSink::poll_event`]. `None`: pages are dropped
    /// (counted in `recording_pages` all the same).
    pub sink: Option<Box<dyn RecordingSink + Send>>,
    /// Answer the call as soon as it is created (talk time counts from then).
    pub answer: bool,
}

impl CallSpec {
    /// A call with `config`, sending through `transmit`, not recorded to a sink, answered at once.
    pub fn new(config: SessionConfig, transmit: Box<dyn PacketSender>) -> CallSpec {
        CallSpec { config, transmit, sink: None, answer: true }
    }

    /// The same with a recording sink.
    pub fn with_sink(mut self, sink: Box<dyn RecordingSink + Send>) -> CallSpec {
        self.sink = Some(sink);
        self
    }
}

impl fmt::Debug for CallSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallSpec")
            .field("call_id", &self.config.call_id)
            .field("sink", &self.sink.is_some())
            .field("answer", &self.answer)
            .finish()
    }
}

/// One frame of what a monitor hears, on the tap's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TapFrame {
    /// The call.
    pub call: CallId,
    /// The tap.
    pub tap: TapId,
    /// Interleaved PCM (mono, or stereo A left / B right), one frame period (ptime).
    pub pcm: Vec<i16>,
    /// 1 or 2.
    pub channels: u8,
    /// Sampling rate of `pcm` in Hz (the session's internal rate).
    pub rate: u32,
    /// Start of the frame on the runtime's clock.
    pub at: HostTime,
}

/// Something that happened to a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RuntimeEvent {
    /// The call.
    pub call: CallId,
    /// What happened.
    pub kind: RuntimeEventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RuntimeEventKind {
    /// The session reported an event (answer, taps, warnings, analysis, end…).
    Session(SessionEvent),
    /// The call's recording sink reported an event (queue full, synced, complete…).
    Sink(SinkEvent),
    /// The session failed on a packet or a tick (a codec error); the call goes on.
    Error(String),
    /// The call is over and gone from its shard: the session has ended and its recording
    /// sink (if any) is complete or failed. The last event of a call.
    Finished {
        /// The CDR summary at the end.
        summary: Box<CdrSummary>,
        /// When the session was created, on the runtime clock.
        started: HostTime,
        /// When the session ended (its `Ended` event), on the runtime clock.
        ended: HostTime,
        /// Packets sent to leg A and leg B.
        packets_sent: [u64; 2],
        /// Receive counters of leg A's and leg B's ingress: datagrams, accepted, and every
        /// kind of drop (malformed, foreign source, duplicate, …).
        ingress: [crate::rtp::IngressCounters; 2],
    },
}

/// Errors of the runtime.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The session could not be created or refused a command.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// No call with this id is running (never added, or ended).
    #[error("no call {0}")]
    UnknownCall(CallId),
    /// The shard's command queue is full: the datagram was dropped (counted).
    #[error("shard {0} queue full")]
    QueueFull(usize),
    /// The shard thread has stopped (after shutdown, or it panicked).
    #[error("shard {0} has stopped")]
    ShardStopped(usize),
    /// The shard did not answer a request within the reply timeout.
    #[error("shard {0} did not answer in time")]
    NoReply(usize),
    /// A shard thread could not be started.
    #[error("could not start a shard thread: {0}")]
    Spawn(io::Error),
}

/// A tap route: where a tap's frames go.
pub(crate) struct TapRoute {
    pub(crate) tap: TapId,
    pub(crate) frames: Sender<TapFrame>,
    /// Guard microphone frames waiting for their tick (bounded).
    pub(crate) guard: std::collections::VecDeque<Vec<i16>>,
}

/// Most guard frames queued per tap (200 ms at 20 ms frames); older ones are dropped.
pub(crate) const GUARD_QUEUE_FRAMES: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_id_carries_its_shard() {
        let id = CallId::new(12345, 7);
        assert_eq!(id.shard(), 7);
        assert_eq!(id.as_u64(), (12345 << 16) | 7);
        assert_eq!(id.to_string(), "12345.7");
        assert_ne!(CallId::new(1, 0), CallId::new(1, 1));
    }

    #[test]
    fn channel_sender_refuses_when_full() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut s = ChannelSender(tx);
        let id = CallId::new(1, 0);
        s.send(id, Leg::B, vec![1, 2]).unwrap();
        let e = s.send(id, Leg::B, vec![3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(rx.recv().unwrap(), Transmit { call: id, leg: Leg::B, packet: vec![1, 2] });
    }
}
