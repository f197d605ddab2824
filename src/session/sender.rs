//! Outbound RTP numbering toward one leg (RFC 3550 §5.1), continuous whatever feeds it.
//!
//! The session clocks outbound audio itself, so the sequence number steps by exactly one
//! per packet and the timestamp by the media time elapsed — across upstream SSRC changes,
//! transfers and switches between sources (case B07: one SSRC, no timestamp jump, no step
//! back; M=1 on the first packet after a switch). Wraparound uses wrapping arithmetic
//! (case B05a).

use crate::rtp::{PayloadType, RtpHeader, Ssrc};

/// Numbering state of one outbound RTP stream.
#[derive(Debug, Clone)]
pub(crate) struct RtpSender {
    ssrc: Ssrc,
    payload_type: PayloadType,
    seq: u16,
    ts: u32,
    marker_next: bool,
    sent: u64,
}

impl RtpSender {
    /// A stream with the host's chosen SSRC and initial sequence number and timestamp
    /// (RFC 3550 §5.1 asks for random initial values; the host supplies them so the core
    /// stays deterministic). The first packet carries M=1.
    pub(crate) fn new(ssrc: Ssrc, payload_type: PayloadType, seq: u16, ts: u32) -> Self {
        RtpSender { ssrc, payload_type, seq, ts, marker_next: true, sent: 0 }
    }

    /// Appends one packet (header + `payload`) covering `ticks` RTP ticks to `out`.
    pub(crate) fn packet(&mut self, payload: &[u8], ticks: u32, out: &mut Vec<u8>) {
        let header = RtpHeader::new(self.payload_type, self.seq, self.ts, self.ssrc).with_marker(self.marker_next);
        // Invariant: a 12-byte header without CSRC/extension/padding always serialises.
        let _ = header.write(payload, out);
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

    /// Packets sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// The timestamp the next packet will carry.
    #[cfg(test)]
    pub(crate) fn next_timestamp(&self) -> u32 {
        self.ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    #[test]
    fn wraps_sequence_and_timestamp() {
        let mut s = RtpSender::new(Ssrc(7), PayloadType(0), 65535, u32::MAX - 479);
        let mut seen = Vec::new();
        for _ in 0..6 {
            let mut out = Vec::new();
            s.packet(&[0xFF; 160], 160, &mut out);
            let p = RtpPacket::parse(&out).unwrap();
            seen.push((p.sequence(), p.timestamp(), p.marker()));
        }
        assert_eq!(
            seen,
            vec![
                (65535, 4294966816, true),
                (0, 4294966976, false),
                (1, 4294967136, false),
                (2, 0, false),
                (3, 160, false),
                (4, 320, false)
            ]
        );
        assert_eq!(s.next_timestamp(), 480);
    }
}
