//! Playout output and the playout position (where in the stream the next frame comes from).

use crate::rtp::{ExtTimestamp, MediaPacket, StreamEpoch};

/// One ptime of playout decision, returned by [`JitterBuffer::pop`](super::JitterBuffer::pop).
///
/// Each call covers one frame: `duration_ticks` RTP ticks (at the stream's clock
/// rate) of audio the caller must produce, by decoding, concealing or filling silence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Playout {
    /// Decode and play this packet: it is the next one in order and it is due.
    Frame {
        /// The packet (payload and extended numbers as ingress produced them).
        packet: MediaPacket,
        /// Media time the frame covers, in RTP ticks: the timestamp step to the next
        /// buffered packet when that is the next sequence number, else the ptime.
        duration_ticks: u32,
    },
    /// The packet for this slot is missing and overdue (a later packet is present, or
    /// the buffer ran dry mid-talkspurt): run the codec's packet-loss concealment for
    /// one ptime. Counted in `concealed`.
    Conceal {
        /// Extended RTP timestamp of the concealed slot.
        timestamp: ExtTimestamp,
        /// Length of the slot in RTP ticks (one ptime).
        duration_ticks: u32,
    },
    /// Nothing is due: play silence or comfort noise for one ptime. Given while the
    /// first packet of a stream or talkspurt waits out the playout delay, inside a
    /// timestamp gap with contiguous sequence numbers (DTX, silence suppression,
    /// comfort noise: not loss), and after a dry buffer's concealment has faded out.
    Silence {
        /// Length of the silence in RTP ticks (one ptime).
        duration_ticks: u32,
    },
    /// No packet has ever been buffered: nothing is playing. The caller outputs its own
    /// ptime of silence (or nothing).
    Empty,
}

/// Where a past sequence number stands in the playout history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Past {
    /// It was played, or arrived after its slot (late), or was dropped on overflow.
    Arrived,
    /// Its slot passed without it: counted lost.
    Lost,
    /// Too old for the history window.
    Unknown,
}

/// Bits of history kept for past sequence numbers.
const HISTORY: u64 = 128;

/// The playout position within one epoch: next sequence number and timestamp to fill,
/// the last packet consumed, and which recent sequence numbers arrived or were lost.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    /// Epoch being played.
    pub(crate) epoch: StreamEpoch,
    /// Lowest sequence number not yet played, declared lost or consumed.
    pub(crate) next_seq: u64,
    /// Extended timestamp of the next slot to fill.
    pub(crate) next_ts: u64,
    /// (sequence number, timestamp) of the last packet consumed in this epoch.
    pub(crate) last: Option<(u64, u64)>,
    /// Bit i tells whether `next_seq - 1 - i` arrived (1) or was lost (0).
    arrived: u128,
}

impl Position {
    /// A position starting at packet `p`'s epoch, sequence number and timestamp.
    pub(crate) fn at(p: &MediaPacket) -> Self {
        Position { epoch: p.epoch, next_seq: p.seq.0, next_ts: p.timestamp.0, last: None, arrived: 0 }
    }

    /// Declares every sequence number in `next_seq..seq` lost; returns how many.
    pub(crate) fn skip_to(&mut self, seq: u64) -> u64 {
        let k = seq.saturating_sub(self.next_seq);
        self.arrived = if k >= HISTORY { 0 } else { self.arrived << k };
        self.next_seq = self.next_seq.max(seq);
        k
    }

    /// Consumes packet (`seq`, `ts`) with `seq >= next_seq`: the numbers before it are
    /// declared lost (the count is returned) and it is marked arrived.
    pub(crate) fn consume(&mut self, seq: u64, ts: u64) -> u64 {
        let lost = self.skip_to(seq);
        if seq >= self.next_seq {
            self.arrived = (self.arrived << 1) | 1;
            self.next_seq = seq.saturating_add(1);
            self.last = Some((seq, ts));
        }
        lost
    }

    /// The history of a sequence number below `next_seq`.
    pub(crate) fn past(&self, seq: u64) -> Past {
        if seq >= self.next_seq {
            return Past::Unknown;
        }
        let i = self.next_seq - 1 - seq;
        if i >= HISTORY {
            Past::Unknown
        } else if self.arrived & (1u128 << i) != 0 {
            Past::Arrived
        } else {
            Past::Lost
        }
    }

    /// Marks a past sequence number as arrived (a late arrival of a lost packet).
    pub(crate) fn mark_arrived(&mut self, seq: u64) {
        if seq < self.next_seq {
            let i = self.next_seq - 1 - seq;
            if i < HISTORY {
                self.arrived |= 1u128 << i;
            }
        }
    }

    /// Whether `p` starts a new run of timing: there is no packet consumed yet in the
    /// epoch, or its timestamp goes backwards or jumps further than its sequence gap
    /// implies (by more than half a ptime). The marker bit is judged by the caller.
    pub(crate) fn discontinuous(&self, p: &MediaPacket, ptime_ticks: u64) -> bool {
        let Some((ls, lt)) = self.last else {
            return true;
        };
        let (seq, ts) = (p.seq.0, p.timestamp.0);
        if seq <= ls {
            return false;
        }
        let allowed = lt.saturating_add((seq - ls).saturating_mul(ptime_ticks)).saturating_add(ptime_ticks / 2);
        ts <= lt || ts > allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{PayloadType, SeqNo, Ssrc};
    use crate::time::HostTime;
    use bytes::Bytes;

    fn pkt(seq: u64, ts: u64) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::ZERO,
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
            marker: false,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(ts),
            epoch: StreamEpoch(0),
            payload: Bytes::new(),
        }
    }

    #[test]
    fn history_tracks_arrived_and_lost() {
        let mut pos = Position::at(&pkt(10, 1600));
        assert_eq!(pos.consume(10, 1600), 0);
        assert_eq!(pos.consume(13, 2080), 2);
        assert_eq!(pos.next_seq, 14);
        assert_eq!(pos.past(10), Past::Arrived);
        assert_eq!(pos.past(11), Past::Lost);
        assert_eq!(pos.past(12), Past::Lost);
        assert_eq!(pos.past(13), Past::Arrived);
        assert_eq!(pos.past(14), Past::Unknown);
        pos.mark_arrived(12);
        assert_eq!(pos.past(12), Past::Arrived);
        assert_eq!(pos.past(11), Past::Lost);
        assert_eq!(pos.consume(14 + 200, 0), 200);
        assert_eq!(pos.past(13), Past::Unknown);
        assert_eq!(pos.past(214), Past::Arrived);
        assert_eq!(pos.past(213), Past::Lost);
    }

    #[test]
    fn discontinuity_is_judged_against_the_sequence_gap() {
        let mut pos = Position::at(&pkt(50, 7840));
        assert!(pos.discontinuous(&pkt(50, 7840), 160), "nothing consumed yet");
        let _ = pos.consume(50, 7840);
        assert!(!pos.discontinuous(&pkt(51, 8000), 160));
        assert!(!pos.discontinuous(&pkt(53, 8320), 160), "loss keeps the timestamp step");
        assert!(pos.discontinuous(&pkt(51, 24_000), 160), "2 s jump with contiguous seq");
        assert!(pos.discontinuous(&pkt(51, 7840), 160), "timestamp did not advance");
    }
}
