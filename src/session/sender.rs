//! Outbound RTP numbering toward one leg (RFC 3550 §5.1), continuous whatever feeds it.
//!
//! The stream toward a leg is fed either by the engine's own clock (one encoded frame per
//! tick: transcoding, mixing, prompts) or by forwarding the other party's packets untouched
//! (passthrough). Whatever feeds it, and across upstream SSRC changes and transfers, the
//! sequence number steps by exactly one and the timestamp by the media time elapsed (case
//! B07: one SSRC, no arbitrary timestamp jump, never a step back; M=1 on the first packet
//! after a switch). Wraparound uses wrapping arithmetic (case B05a).
//!
//! In passthrough the upstream numbering is mapped by a fixed offset per upstream epoch
//! (SSRC / re-anchoring, see [`StreamEpoch`]): upstream loss stays a gap and upstream
//! reordering stays reordering, so the far end's jitter buffer sees the network as it was.

use crate::rtp::{MediaPacket, PayloadType, RtpHeader, Ssrc, StreamEpoch};
use crate::time::HostTime;

/// The mapping of one upstream epoch onto our numbering while forwarding.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    epoch: StreamEpoch,
    in_seq: u64,
    in_ts: u64,
    out_seq: u16,
    out_ts: u32,
    /// Highest `seq − in_seq` forwarded so far.
    highest: u64,
}

/// Numbering state of one outbound RTP stream.
#[derive(Debug, Clone)]
pub(crate) struct RtpSender {
    ssrc: Ssrc,
    payload_type: PayloadType,
    /// Next sequence number (one past the highest sent).
    seq: u16,
    /// Next timestamp (end of the latest packet sent).
    ts: u32,
    marker_next: bool,
    sent: u64,
    forwarded: u64,
    /// Host time the latest packet was sent, and its timestamp and duration in ticks.
    last: Option<(HostTime, u32, u32)>,
    /// RTP clock rate in Hz (for elapsed-time timestamps across a switch).
    clock_hz: u32,
    /// The next packet follows a change of source: its timestamp comes from elapsed time.
    resync: bool,
    /// Set while forwarding; `None` until the first forwarded packet of an epoch.
    anchor: Option<Anchor>,
}

impl RtpSender {
    /// A stream with the host's chosen SSRC and initial sequence number and timestamp
    /// (RFC 3550 §5.1 asks for random initial values; the host supplies them so the core
    /// stays deterministic), on a `clock_hz` RTP clock. The first packet carries M=1.
    pub(crate) fn new(ssrc: Ssrc, payload_type: PayloadType, seq: u16, ts: u32, clock_hz: u32) -> Self {
        RtpSender {
            ssrc,
            payload_type,
            seq,
            ts,
            marker_next: true,
            sent: 0,
            forwarded: 0,
            last: None,
            clock_hz: clock_hz.max(1),
            resync: false,
            anchor: None,
        }
    }

    /// Timestamp for the first packet after a change of source at `now`: the latest
    /// packet's timestamp plus the media time elapsed since it was sent, rounded to its
    /// duration and at least one duration (B07: 60 ms after a 20 ms PCMU packet → +480).
    fn resumed_timestamp(&self, now: HostTime) -> u32 {
        let Some((at, ts, dur)) = self.last else { return self.ts };
        let dur = u64::from(dur.max(1));
        let elapsed = u64::try_from(now.saturating_since(at).as_nanos() * u128::from(self.clock_hz) / 1_000_000_000)
            .unwrap_or(u64::MAX / 2);
        let steps = ((elapsed + dur / 2) / dur).max(1);
        let advance = u32::try_from(steps.saturating_mul(dur) & 0xFFFF_FFFF).unwrap_or(0);
        ts.wrapping_add(advance)
    }

    /// Appends one engine-clocked packet (header + `payload`) covering `ticks` RTP ticks,
    /// sent at `now`, to `out`.
    pub(crate) fn packet(&mut self, now: HostTime, payload: &[u8], ticks: u32, out: &mut Vec<u8>) {
        if self.resync {
            self.ts = self.resumed_timestamp(now);
            self.resync = false;
            self.marker_next = true;
        }
        let header = RtpHeader::new(self.payload_type, self.seq, self.ts, self.ssrc).with_marker(self.marker_next);
        // Invariant: a 12-byte header without CSRC/extension/padding always serialises.
        let _ = header.write(payload, out);
        self.last = Some((now, self.ts, ticks));
        self.marker_next = false;
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(ticks);
        self.sent += 1;
    }

    /// Advances the timestamp over `ticks` of media time sent as nothing (silence,
    /// discontinuous transmission); the next packet starts a talkspurt (M=1).
    pub(crate) fn skip(&mut self, ticks: u32) {
        self.ts = self.ts.wrapping_add(ticks);
        self.marker_next = true;
    }

    /// From now on packets are forwarded ([`Self::forward`]); the first one is numbered
    /// on from the latest packet sent.
    pub(crate) fn start_forwarding(&mut self) {
        self.anchor = None;
    }

    /// From now on packets are engine-clocked ([`Self::packet`]); the first one is
    /// numbered on from the latest packet forwarded, by the media time elapsed.
    pub(crate) fn stop_forwarding(&mut self) {
        self.anchor = None;
        self.resync = true;
    }

    /// Forwards `packet`'s payload at `now` under our SSRC and `payload_type`, its sequence
    /// number and timestamp mapped onto ours; `ticks` is its duration. Returns `false`
    /// (nothing written) for a packet older than the first one forwarded in its epoch,
    /// which could only be numbered by stepping back.
    pub(crate) fn forward(
        &mut self,
        now: HostTime,
        packet: &MediaPacket,
        payload_type: PayloadType,
        ticks: u32,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut marker = packet.marker;
        let a = match self.anchor {
            Some(a) if a.epoch == packet.epoch => a,
            _ => {
                // First packet of passthrough or of a new upstream epoch (SSRC change,
                // transfer): continue our numbering, with M=1.
                marker = true;
                let out_ts = if self.last.is_some() { self.resumed_timestamp(now) } else { self.ts };
                let a = Anchor {
                    epoch: packet.epoch,
                    in_seq: packet.seq.0,
                    in_ts: packet.timestamp.0,
                    out_seq: self.seq,
                    out_ts,
                    highest: 0,
                };
                self.anchor = Some(a);
                self.resync = false;
                a
            }
        };
        let Some(d_seq) = packet.seq.0.checked_sub(a.in_seq) else { return false };
        let d_ts = packet.timestamp.0.wrapping_sub(a.in_ts);
        let seq = a.out_seq.wrapping_add((d_seq & 0xFFFF) as u16);
        let ts = a.out_ts.wrapping_add((d_ts & 0xFFFF_FFFF) as u32);
        let header = RtpHeader::new(payload_type, seq, ts, self.ssrc).with_marker(marker);
        // Invariant: a 12-byte header without CSRC/extension/padding always serialises.
        let _ = header.write(&packet.payload, out);
        if d_seq >= a.highest {
            if let Some(anchor) = self.anchor.as_mut() {
                anchor.highest = d_seq;
            }
            self.seq = seq.wrapping_add(1);
            self.ts = ts.wrapping_add(ticks);
            self.last = Some((now, ts, ticks));
        }
        self.marker_next = false;
        self.sent += 1;
        self.forwarded += 1;
        true
    }

    /// Packets sent so far (engine-clocked and forwarded).
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Packets forwarded untouched (passthrough) so far.
    pub(crate) fn forwarded(&self) -> u64 {
        self.forwarded
    }

    /// The timestamp the next packet will carry.
    #[cfg(test)]
    pub(crate) fn next_timestamp(&self) -> u32 {
        self.ts
    }
}

#[cfg(test)]
mod tests;
