//! The receive path of one call leg: parse, strict source check, sequence
//! validation and extension, duplicate detection, statistics.
//!
//! One mutation per datagram: [`Ingress::receive`] either returns the packet
//! with extended numbers ([`MediaPacket`]) or a counted [`IngressDrop`].

use super::packet::{RtpPacket, RtpParseError};
use super::payload::PayloadMap;
use super::seq::{SeqUpdate, SeqWindow, SequenceExtender, TimestampExtender, WindowCheck};
use super::seq::{DEFAULT_MAX_DROPOUT, DEFAULT_MAX_MISORDER};
use super::stats::ReceiveStats;
use super::{MediaPacket, SeqNo, Ssrc, StreamEpoch};
use crate::audio::ClockRate;
use crate::time::HostTime;
use bytes::Bytes;
use std::net::SocketAddr;
use thiserror::Error;

/// How many finished streams' statistics [`Ingress::all_stats`] keeps (oldest dropped first).
pub const STATS_HISTORY: usize = 16;

/// Configuration of one leg's [`Ingress`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngressConfig {
    /// Payload types of the leg (from SDP), for clock rates. Packets with an unmapped
    /// PT are still delivered (and counted); the decoder side decides.
    pub payloads: PayloadMap,
    /// Strict source (RTP-bleed protection): once the remote address is learned
    /// from the first valid packet or bound with [`Ingress::bind_remote`], packets
    /// from any other address are dropped. Default `true`.
    pub strict_source: bool,
    /// MIN_SEQUENTIAL of RFC 3550 App. A.1: in-order packets a new SSRC must send
    /// before it is valid; its probation packets are dropped. 0 or 1 accepts the
    /// first packet at once. Default 1: with strict source learning on, packets from
    /// a stranger's address never reach the sequence check, and a probation of 2 would
    /// drop (and so lose from the recording) the first packet of every stream.
    pub probation: u16,
    /// MAX_DROPOUT (App. A.1), in packets. Default 3000.
    pub max_dropout: u16,
    /// MAX_MISORDER (App. A.1), in packets, capped at 1024. Default 100.
    pub max_misorder: u16,
}

impl Default for IngressConfig {
    fn default() -> Self {
        IngressConfig {
            payloads: PayloadMap::static_defaults(),
            strict_source: true,
            probation: 1,
            max_dropout: DEFAULT_MAX_DROPOUT,
            max_misorder: DEFAULT_MAX_MISORDER,
        }
    }
}

impl IngressConfig {
    /// The defaults with `payloads` in place of the RFC 3551 static assignments.
    pub fn new(payloads: PayloadMap) -> Self {
        IngressConfig { payloads, ..Self::default() }
    }
}

/// Why [`Ingress::receive`] dropped a datagram. Every drop is also counted in [`IngressCounters`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IngressDrop {
    /// Not a well-formed RTP packet (bad version, truncated header, CSRC list or
    /// extension, bad padding).
    #[error("malformed RTP: {0}")]
    Malformed(RtpParseError),
    /// An RTCP packet arrived on the RTP port (RFC 5761 §4 demultiplexing); a host
    /// doing rtcp-mux hands the datagram to its RTCP handler.
    #[error("RTCP packet type {packet_type} on the RTP port")]
    Rtcp {
        /// RTCP packet type (200 SR, 201 RR, …).
        packet_type: u8,
    },
    /// Strict source: the datagram came from an address other than the learned or bound remote.
    #[error("packet from foreign source {from}")]
    ForeignSource {
        /// The sender's address.
        from: SocketAddr,
    },
    /// The SSRC is new and still on probation (RFC 3550 App. A.1 MIN_SEQUENTIAL).
    #[error("SSRC {:#010x} on probation", ssrc.0)]
    Probation {
        /// The SSRC on probation.
        ssrc: Ssrc,
    },
    /// A sequence number jumped by MAX_DROPOUT or more, or fell MAX_MISORDER or more
    /// behind (App. A.1). If the next packet follows it, the numbering restarts.
    #[error("bad sequence number {seq} from SSRC {:#010x}", ssrc.0)]
    BadSequence {
        /// The SSRC.
        ssrc: Ssrc,
        /// The wire sequence number.
        seq: u16,
    },
    /// A copy of a packet already delivered (same extended sequence number).
    #[error("duplicate of sequence {} from SSRC {:#010x}", seq.0, ssrc.0)]
    Duplicate {
        /// The SSRC.
        ssrc: Ssrc,
        /// The extended sequence number.
        seq: SeqNo,
    },
    /// A late packet of the SSRC that was current before the present one (reordered
    /// across a source change): its stream has ended.
    #[error("late packet of superseded SSRC {:#010x}", ssrc.0)]
    StaleSource {
        /// The superseded SSRC.
        ssrc: Ssrc,
    },
    /// A valid late packet that cannot be numbered: from the cycle before extended
    /// sequence 0, or beyond the duplicate window.
    #[error("packet {seq} from SSRC {:#010x} too old to number", ssrc.0)]
    TooOld {
        /// The SSRC.
        ssrc: Ssrc,
        /// The wire sequence number.
        seq: u16,
    },
}

/// Counts of what [`Ingress::receive`] did, over the life of the ingress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngressCounters {
    /// Datagrams handed to `receive`.
    pub datagrams: u64,
    /// Packets delivered as [`MediaPacket`].
    pub accepted: u64,
    /// Dropped: [`IngressDrop::Malformed`].
    pub malformed: u64,
    /// Dropped: [`IngressDrop::Rtcp`].
    pub rtcp: u64,
    /// Dropped: [`IngressDrop::ForeignSource`].
    pub foreign_source: u64,
    /// Dropped: [`IngressDrop::Probation`].
    pub probation: u64,
    /// Dropped: [`IngressDrop::BadSequence`].
    pub bad_sequence: u64,
    /// Dropped: [`IngressDrop::Duplicate`].
    pub duplicate: u64,
    /// Dropped: [`IngressDrop::StaleSource`].
    pub stale_source: u64,
    /// Dropped: [`IngressDrop::TooOld`].
    pub too_old: u64,
    /// Delivered with a payload type missing from the payload map (not dropped).
    pub unknown_payload_type: u64,
    /// Times a new SSRC became the leg's stream (each starts a new epoch).
    pub ssrc_changes: u64,
    /// Sequence restarts on the same SSRC (each starts a new epoch).
    pub sequence_restarts: u64,
}

/// One validated stream: an SSRC within one epoch.
#[derive(Debug, Clone)]
struct Stream {
    ssrc: Ssrc,
    epoch: StreamEpoch,
    seq: SequenceExtender,
    ts: TimestampExtender,
    window: SeqWindow,
    stats: ReceiveStats,
}

/// A new SSRC on probation.
#[derive(Debug, Clone)]
struct Candidate {
    ssrc: Ssrc,
    seq: SequenceExtender,
}

/// The RTP receive path of one call leg (sans-IO: the host passes each datagram,
/// its source address and the arrival time).
///
/// - **Strict source**: the first valid packet's address is learned, or the host
///   binds one from signalling ([`bind_remote`](Ingress::bind_remote), e.g. after
///   a re-INVITE); other addresses are dropped as [`IngressDrop::ForeignSource`].
/// - **One current stream**: a new SSRC from the remote must pass probation, then
///   replaces the current stream and starts a new [`StreamEpoch`]; so does a
///   sequence restart on the same SSRC. Late packets of the replaced SSRC are
///   dropped as [`IngressDrop::StaleSource`].
/// - Sequence numbers and timestamps leave here extended to 64 bits; duplicates
///   are dropped here, once, whatever the jitter buffer holds.
#[derive(Debug, Clone)]
pub struct Ingress {
    config: IngressConfig,
    remote: Option<SocketAddr>,
    current: Option<Stream>,
    previous: Option<Stream>,
    candidate: Option<Candidate>,
    history: Vec<ReceiveStats>,
    counters: IngressCounters,
}

impl Ingress {
    /// An ingress with no remote learned and no stream.
    pub fn new(config: IngressConfig) -> Self {
        Ingress {
            config,
            remote: None,
            current: None,
            previous: None,
            candidate: None,
            history: Vec::new(),
            counters: IngressCounters::default(),
        }
    }

    /// Binds the remote media address from signalling (SDP `c=`/`m=`, or a
    /// re-INVITE that moves it). Packets from `addr` are accepted from now on and,
    /// under strict source, packets from any other address (the old one included)
    /// are dropped. The stream state is kept: numbering continues across the move.
    pub fn bind_remote(&mut self, addr: SocketAddr) {
        self.remote = Some(addr);
    }

    /// The learned or bound remote address: where symmetric RTP sends to.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The configuration.
    pub fn config(&self) -> &IngressConfig {
        &self.config
    }

    /// Replaces the payload map (after a re-negotiation).
    pub fn set_payloads(&mut self, map: PayloadMap) {
        self.config.payloads = map;
    }

    /// Drop and delivery counters.
    pub fn counters(&self) -> &IngressCounters {
        &self.counters
    }

    /// SSRC and epoch of the current stream.
    pub fn current_stream(&self) -> Option<(Ssrc, StreamEpoch)> {
        self.current.as_ref().map(|s| (s.ssrc, s.epoch))
    }

    /// Statistics of the current stream.
    pub fn stats(&self) -> Option<&ReceiveStats> {
        self.current.as_ref().map(|s| &s.stats)
    }

    /// Statistics of every stream seen, oldest first, the current one last: one
    /// entry per (SSRC, epoch). At most [`STATS_HISTORY`] finished streams are kept.
    pub fn all_stats(&self) -> impl Iterator<Item = &ReceiveStats> {
        self.history.iter().chain(self.current.iter().map(|s| &s.stats))
    }

    /// Handles one datagram that arrived at `now` from `from`: parses it (RFC 3550
    /// §5.1), checks the source, validates and extends its numbers (App. A.1),
    /// drops duplicates, updates the statistics, and returns the packet with its
    /// payload (padding removed) copied out — or the reason it was dropped.
    pub fn receive(&mut self, now: HostTime, from: SocketAddr, datagram: &[u8]) -> Result<MediaPacket, IngressDrop> {
        self.counters.datagrams += 1;
        if self.config.strict_source && self.remote.is_some_and(|r| r != from) {
            self.counters.foreign_source += 1;
            return Err(IngressDrop::ForeignSource { from });
        }
        let packet = match RtpPacket::parse(datagram) {
            Ok(p) => p,
            Err(RtpParseError::Rtcp { packet_type }) => {
                self.counters.rtcp += 1;
                return Err(IngressDrop::Rtcp { packet_type });
            }
            Err(e) => {
                self.counters.malformed += 1;
                return Err(IngressDrop::Malformed(e));
            }
        };
        self.remote.get_or_insert(from);
        let ssrc = packet.ssrc();
        let seq = packet.sequence();
        let clock_rate = self.config.payloads.clock_rate(packet.payload_type());
        let arrival = Arrival { now, packet: &packet, clock_rate };

        if let Some(stream) = self.current.as_mut().filter(|s| s.ssrc == ssrc) {
            return match stream.seq.update(seq) {
                SeqUpdate::Accepted { ext } => stream.deliver(&arrival, ext, &mut self.counters),
                SeqUpdate::Restarted { ext } => {
                    self.counters.sequence_restarts += 1;
                    push_history(&mut self.history, stream.stats.clone());
                    stream.restart();
                    stream.deliver(&arrival, ext, &mut self.counters)
                }
                SeqUpdate::BadSequence | SeqUpdate::Probation => {
                    stream.stats.record_bad_sequence();
                    self.counters.bad_sequence += 1;
                    Err(IngressDrop::BadSequence { ssrc, seq })
                }
                SeqUpdate::PrecedesStart => {
                    stream.stats.record_too_old();
                    self.counters.too_old += 1;
                    Err(IngressDrop::TooOld { ssrc, seq })
                }
            };
        }
        if let Some(prev) = self.previous.as_ref().filter(|p| p.ssrc == ssrc) {
            if prev.seq.classify_late(seq).is_some() {
                self.counters.stale_source += 1;
                return Err(IngressDrop::StaleSource { ssrc });
            }
        }
        let mut cand = match self.candidate.take() {
            Some(c) if c.ssrc == ssrc => c,
            _ => Candidate {
                ssrc,
                seq: SequenceExtender::with_limits(
                    self.config.probation,
                    self.config.max_dropout,
                    self.config.max_misorder,
                ),
            },
        };
        match cand.seq.update(seq) {
            SeqUpdate::Accepted { ext } | SeqUpdate::Restarted { ext } => {
                // The new SSRC passed probation: it replaces the current stream.
                let epoch = match self.current.take() {
                    Some(old) => {
                        self.counters.ssrc_changes += 1;
                        push_history(&mut self.history, old.stats.clone());
                        let next = StreamEpoch(old.epoch.0.saturating_add(1));
                        self.previous = Some(old);
                        next
                    }
                    None => StreamEpoch(0),
                };
                let stream = self.current.insert(Stream::new(ssrc, epoch, cand.seq));
                stream.deliver(&arrival, ext, &mut self.counters)
            }
            _ => {
                self.candidate = Some(cand);
                self.counters.probation += 1;
                Err(IngressDrop::Probation { ssrc })
            }
        }
    }
}

/// Appends finished-stream statistics, keeping at most [`STATS_HISTORY`].
fn push_history(history: &mut Vec<ReceiveStats>, stats: ReceiveStats) {
    if history.len() >= STATS_HISTORY {
        history.remove(0);
    }
    history.push(stats);
}

/// One parsed datagram on its way through [`Ingress::receive`].
struct Arrival<'p, 'a> {
    now: HostTime,
    packet: &'p RtpPacket<'a>,
    /// Clock rate of the packet's payload type, `None` when the PT is unmapped.
    clock_rate: Option<ClockRate>,
}

impl Stream {
    /// A stream whose sequence validator `seq` has just accepted its first packet.
    fn new(ssrc: Ssrc, epoch: StreamEpoch, seq: SequenceExtender) -> Self {
        Stream {
            ssrc,
            epoch,
            seq,
            ts: TimestampExtender::new(),
            window: SeqWindow::new(),
            stats: ReceiveStats::new(ssrc, epoch),
        }
    }

    /// The sender restarted its numbering on the same SSRC (A.1 re-sync, already
    /// applied to `seq`): next epoch, fresh timestamp extension, window and statistics.
    fn restart(&mut self) {
        self.epoch = StreamEpoch(self.epoch.0.saturating_add(1));
        self.ts = TimestampExtender::new();
        self.window = SeqWindow::new();
        self.stats = ReceiveStats::new(self.ssrc, self.epoch);
    }

    /// Duplicate check, timestamp extension and statistics for a valid packet with
    /// extended sequence number `ext`.
    fn deliver(
        &mut self,
        a: &Arrival<'_, '_>,
        ext: SeqNo,
        counters: &mut IngressCounters,
    ) -> Result<MediaPacket, IngressDrop> {
        let ssrc = self.ssrc;
        match self.window.insert(ext) {
            WindowCheck::Duplicate => {
                self.stats.record_duplicate();
                counters.duplicate += 1;
                Err(IngressDrop::Duplicate { ssrc, seq: ext })
            }
            WindowCheck::TooOld => {
                self.stats.record_too_old();
                counters.too_old += 1;
                Err(IngressDrop::TooOld { ssrc, seq: a.packet.sequence() })
            }
            WindowCheck::New { reordered } => {
                let timestamp = self.ts.extend(a.packet.timestamp());
                self.stats.record_packet(ext, timestamp, a.now, a.clock_rate, reordered);
                counters.accepted += 1;
                if a.clock_rate.is_none() {
                    counters.unknown_payload_type += 1;
                }
                Ok(MediaPacket {
                    arrival: a.now,
                    ssrc,
                    payload_type: a.packet.payload_type(),
                    marker: a.packet.marker(),
                    seq: ext,
                    timestamp,
                    epoch: self.epoch,
                    payload: Bytes::copy_from_slice(a.packet.payload()),
                })
            }
        }
    }
}

#[cfg(test)]
#[path = "ingress_tests.rs"]
mod tests;
