//! [`JitterBuffer`]: the packet store, the target delay and the playout decision wired together.

use super::config::JitterConfig;
use super::delay::TargetDelay;
use super::playout::{Past, Playout, Position};
use super::stats::JitterStats;
use super::store::{PacketStore, StoreInsert};
use crate::audio::ClockRate;
use crate::rtp::{MediaPacket, PayloadType, SeqNo, StreamEpoch};
use crate::time::HostTime;
use std::time::Duration;

/// Longest frame accepted when learning the ptime from timestamp steps (Opus allows 120 ms, RFC 6716 §2.1.4).
const MAX_FRAME: Duration = Duration::from_millis(120);

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertOutcome {
    /// Stored; it will be played in (epoch, sequence number) order.
    Inserted,
    /// A copy of a packet that is buffered or was already played: dropped, counted in `duplicates`.
    Duplicate,
    /// Its slot was already played or concealed (or its epoch is superseded): dropped, counted in `late`.
    Late,
    /// The buffer was full: the oldest packet (which may be this one) was dropped and
    /// counted in `overflow_drops`; the rest stay.
    Overflow {
        /// Extended sequence number of the dropped packet.
        dropped_seq: SeqNo,
        /// Epoch of the dropped packet.
        dropped_epoch: StreamEpoch,
    },
}

/// Where playout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing played yet.
    Idle,
    /// Inside a talkspurt; `dry_run` counts consecutive dry concealments.
    Talking { dry_run: u32 },
    /// Between talkspurts (DTX gap, faded-out dry buffer).
    Gap,
}

/// A jitter buffer for one RTP stream (one leg, one SSRC at a time; SSRC changes and
/// sequence restarts arrive as new [`StreamEpoch`]s).
///
/// Run loop, on the host's clock: [`insert`](Self::insert) every packet as ingress
/// hands it over, then call [`pop`](Self::pop) once per ptime with the current
/// [`HostTime`]; insert everything that arrived up to `now` before popping. The
/// buffer never reads a clock and does not allocate after construction.
///
/// Playout timing: the first packet of an epoch or of a talkspurt is due at its
/// arrival plus the target delay (its *anchor*); from there playout advances one
/// frame per `pop`, so each later packet plays in its timestamp slot. A talkspurt
/// starts at a packet with the marker bit (outside a talkspurt) or whose timestamp
/// jumps beyond what its sequence gap implies (or goes backwards). v1 applies a
/// changed target only at these anchors; time-stretching comes later.
#[derive(Debug)]
pub struct JitterBuffer {
    clock: ClockRate,
    ptime_ticks: u64,
    max_frame_ticks: u64,
    max_dry: Duration,
    comfort_noise_pt: Option<PayloadType>,
    dtx_max_payload: usize,
    store: PacketStore,
    target: TargetDelay,
    pos: Option<Position>,
    phase: Phase,
    /// Whether the last packet played was comfort noise or a DTX frame.
    last_was_cn: bool,
    /// Timestamp step seen last between consecutive sequence numbers, and how often in a row.
    step: (u64, u8),
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for `config` (normalised as [`JitterConfig`]'s fields say), with its
    /// packet storage and estimator window allocated now.
    pub fn new(config: JitterConfig) -> Self {
        let c = config.normalised();
        let clock = c.clock_rate;
        JitterBuffer {
            clock,
            ptime_ticks: clock.ticks_in(c.ptime).max(1),
            max_frame_ticks: clock.ticks_in(MAX_FRAME),
            max_dry: c.max_dry_concealment,
            comfort_noise_pt: c.comfort_noise_pt,
            dtx_max_payload: c.dtx_max_payload,
            store: PacketStore::new(c.capacity),
            target: TargetDelay::new(c.delay, c.delay_window, c.delay_quantile_pct, clock),
            pos: None,
            phase: Phase::Idle,
            last_was_cn: false,
            step: (0, 0),
            stats: JitterStats::default(),
        }
    }

    /// The current ptime (configured, or learned from two equal timestamp steps of at most 120 ms).
    pub fn ptime(&self) -> Duration {
        self.clock.duration_of(self.ptime_ticks)
    }

    /// The current target playout delay.
    pub fn target_delay(&self) -> Duration {
        self.target.target(self.ptime())
    }

    /// Packets held now.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Counters and current state.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            target_delay: self.target_delay(),
            buffer_level: self.buffer_level(),
            buffered_packets: self.store.len(),
            ptime: self.ptime(),
            ..self.stats
        }
    }

    fn ptime_u32(&self) -> u32 {
        u32::try_from(self.ptime_ticks).unwrap_or(u32::MAX)
    }

    fn buffer_level(&self) -> Duration {
        let Some(front) = self.store.front() else {
            return Duration::ZERO;
        };
        let end_index = self.store.first_after_epoch(front.epoch).unwrap_or(self.store.len());
        let Some(newest) = end_index.checked_sub(1).and_then(|i| self.store.get(i)) else {
            return Duration::ZERO;
        };
        let from = match &self.pos {
            Some(p) if p.epoch == front.epoch => p.next_ts,
            _ => front.timestamp.0,
        };
        let to = newest.timestamp.0.saturating_add(self.ptime_ticks);
        self.clock.duration_of(to.saturating_sub(from))
    }

    /// Whether `p` starts a talkspurt relative to the playout position: marker bit
    /// outside a talkspurt, or a timestamp discontinuity.
    fn starts_talkspurt(&self, pos: &Position, p: &MediaPacket) -> bool {
        (p.marker && !matches!(self.phase, Phase::Talking { .. })) || pos.discontinuous(p, self.ptime_ticks)
    }

    /// Hands one packet (from ingress, seq/ts extended) to the buffer.
    ///
    /// Duplicates are recognised whether the original is still buffered or already
    /// played (last 128 sequence numbers). A packet whose slot already passed is
    /// `Late`. When full, the oldest packet is dropped, never the whole buffer.
    pub fn insert(&mut self, packet: MediaPacket) -> InsertOutcome {
        self.stats.received += 1;
        if let Some(outcome) = self.screen(&packet) {
            if outcome == InsertOutcome::Late {
                self.target.observe(&packet, self.ptime_ticks);
            }
            return outcome;
        }
        self.target.observe(&packet, self.ptime_ticks);
        match self.store.insert(packet) {
            StoreInsert::Stored => InsertOutcome::Inserted,
            StoreInsert::Duplicate => {
                self.stats.duplicates += 1;
                InsertOutcome::Duplicate
            }
            StoreInsert::StoredDropping(old) | StoreInsert::Rejected(old) => {
                self.stats.overflow_drops += 1;
                self.skip_dropped(&old);
                InsertOutcome::Overflow { dropped_seq: old.seq, dropped_epoch: old.epoch }
            }
        }
    }

    /// Classifies a packet against the playout position; `None` means "store it".
    fn screen(&mut self, p: &MediaPacket) -> Option<InsertOutcome> {
        let pos = self.pos.as_ref()?;
        if p.epoch < pos.epoch {
            self.stats.late += 1;
            return Some(InsertOutcome::Late);
        }
        if p.epoch > pos.epoch {
            return None;
        }
        let seq = p.seq.0;
        if seq < pos.next_seq {
            let outcome = match pos.past(seq) {
                Past::Arrived => {
                    self.stats.duplicates += 1;
                    InsertOutcome::Duplicate
                }
                Past::Lost => {
                    self.stats.lost = self.stats.lost.saturating_sub(1);
                    self.stats.late += 1;
                    if let Some(pos) = self.pos.as_mut() {
                        pos.mark_arrived(seq);
                    }
                    InsertOutcome::Late
                }
                Past::Unknown => {
                    self.stats.late += 1;
                    InsertOutcome::Late
                }
            };
            return Some(outcome);
        }
        if self.store.contains(p.epoch, p.seq) {
            self.stats.duplicates += 1;
            return Some(InsertOutcome::Duplicate);
        }
        // Only the packet that would play next can be judged by the slot timestamp:
        // anything behind a buffered packet is timed from that packet.
        let plays_next = self.store.front().map_or(true, |f| (f.epoch, f.seq) > (p.epoch, p.seq));
        if plays_next && p.timestamp.0 < pos.next_ts && !self.starts_talkspurt(pos, p) {
            if let Some(pos) = self.pos.as_mut() {
                self.stats.lost = self.stats.lost.saturating_add(pos.consume(seq, p.timestamp.0));
            }
            self.stats.late += 1;
            return Some(InsertOutcome::Late);
        }
        None
    }

    /// Advances the position past a packet dropped on overflow, so playout skips it
    /// rather than waiting for its slot.
    fn skip_dropped(&mut self, old: &MediaPacket) {
        let ptime = self.ptime_ticks;
        if let Some(pos) = self.pos.as_mut() {
            if pos.epoch == old.epoch && old.seq.0 >= pos.next_seq {
                self.stats.lost = self.stats.lost.saturating_add(pos.consume(old.seq.0, old.timestamp.0));
                pos.next_ts = pos.next_ts.max(old.timestamp.0.saturating_add(ptime));
            }
        }
    }

    /// One ptime of playout at host time `now`: call once per ptime, after inserting
    /// every packet that arrived by `now`.
    ///
    /// See [`Playout`] for what each decision asks of the caller.
    pub fn pop(&mut self, now: HostTime) -> Playout {
        self.drop_stale();
        let target = self.target_delay();
        let current = self.pos.as_ref().map(|p| p.epoch);
        let newer = match current {
            None => (self.store.len() > 0).then_some(0),
            Some(e) => self.store.first_after_epoch(e),
        };
        if let Some(index) = newer {
            // A new epoch (or the very first packet) is waiting to be anchored.
            let due = self.store.get(index).map_or(now, |h| h.arrival.saturating_add(target));
            if index > 0 {
                if now < due {
                    // Drain the old epoch without waiting for its slots.
                    return self.play_front();
                }
                self.stats.stale_drops += self.store.drop_front(index) as u64;
            }
            if now >= due {
                self.pos = self.store.front().map(Position::at);
                return self.play_front();
            }
            return if current.is_none() { self.silence() } else { self.dry() };
        }
        let (Some(pos), Some(head)) = (self.pos.as_ref(), self.store.front()) else {
            return if self.pos.is_some() { self.dry() } else { Playout::Empty };
        };
        if self.starts_talkspurt(pos, head) {
            if now >= head.arrival.saturating_add(target) {
                return self.play_front();
            }
            // Waiting out the delay of a new talkspurt: if nothing is missing before it,
            // this is a silence gap; otherwise the tail of the last one may be concealed.
            return if head.seq.0 == pos.next_seq { self.silence() } else { self.dry() };
        }
        if head.timestamp.0 < pos.next_ts.saturating_add(self.ptime_ticks / 2) {
            return self.play_front();
        }
        if head.seq.0 > pos.next_seq {
            // The expected packet is overdue and a later one is present: it is lost.
            return self.conceal_lost();
        }
        // Contiguous sequence numbers with a timestamp gap: DTX, not loss.
        self.silence()
    }

    /// Drops buffered packets whose slot the position has already passed.
    fn drop_stale(&mut self) {
        while let (Some(f), Some(pos)) = (self.store.front(), self.pos.as_ref()) {
            if f.epoch > pos.epoch || (f.epoch == pos.epoch && f.seq.0 >= pos.next_seq) {
                break;
            }
            self.store.pop_front();
            self.stats.late += 1;
        }
    }

    /// Plays the front packet (the caller checked there is one).
    fn play_front(&mut self) -> Playout {
        let Some(packet) = self.store.pop_front() else {
            return self.dry();
        };
        let (seq, ts) = (packet.seq.0, packet.timestamp.0);
        let pos = match self.pos.as_mut() {
            Some(p) if p.epoch == packet.epoch => p,
            _ => self.pos.insert(Position::at(&packet)),
        };
        let learned = pos.last.filter(|&(ls, _)| seq == ls.saturating_add(1)).map(|(_, lt)| ts.saturating_sub(lt));
        self.stats.lost = self.stats.lost.saturating_add(pos.consume(seq, ts));
        let next_step = self
            .store
            .front()
            .filter(|n| n.epoch == packet.epoch && n.seq.0 == seq.saturating_add(1))
            .map(|n| n.timestamp.0.saturating_sub(ts))
            .filter(|&d| d > 0 && d <= self.max_frame_ticks);
        if let Some(step) = learned {
            self.learn_step(step);
        }
        let duration = next_step.unwrap_or(self.ptime_ticks);
        if let Some(pos) = self.pos.as_mut() {
            pos.next_ts = ts.saturating_add(duration);
        }
        self.phase = Phase::Talking { dry_run: 0 };
        self.stats.played += 1;
        self.last_was_cn =
            Some(packet.payload_type) == self.comfort_noise_pt || packet.payload.len() <= self.dtx_max_payload;
        Playout::Frame { packet, duration_ticks: u32::try_from(duration).unwrap_or(u32::MAX) }
    }

    /// Learns the ptime from a timestamp step between consecutive sequence numbers:
    /// two equal steps in a row, each within (0, 120 ms], set it.
    fn learn_step(&mut self, step: u64) {
        if step == 0 || step > self.max_frame_ticks {
            return;
        }
        self.step = if self.step.0 == step { (step, self.step.1.saturating_add(1)) } else { (step, 1) };
        if self.step.1 >= 2 {
            self.ptime_ticks = step;
        }
    }

    /// Advances the position by one ptime.
    fn advance_slot(&mut self) -> u64 {
        let ptime = self.ptime_ticks;
        match self.pos.as_mut() {
            Some(pos) => {
                let ts = pos.next_ts;
                pos.next_ts = ts.saturating_add(ptime);
                ts
            }
            None => 0,
        }
    }

    /// One ptime of silence (buffering, or a gap between talkspurts).
    fn silence(&mut self) -> Playout {
        if self.pos.is_some() {
            self.advance_slot();
            self.phase = Phase::Gap;
        }
        self.stats.silence += 1;
        Playout::Silence { duration_ticks: self.ptime_u32() }
    }

    /// Nothing to play for this slot: conceal while a talkspurt's tail may still be
    /// faded (up to `max_dry_concealment`, not after comfort noise or a DTX frame),
    /// then silence.
    fn dry(&mut self) -> Playout {
        let max_run = u32::try_from(self.max_dry.as_nanos() / self.ptime().as_nanos().max(1)).unwrap_or(u32::MAX);
        match self.phase {
            Phase::Talking { dry_run } if dry_run < max_run && !self.last_was_cn => {
                self.phase = Phase::Talking { dry_run: dry_run.saturating_add(1) };
                self.conceal()
            }
            _ => self.silence(),
        }
    }

    /// The next sequence number is overdue and a later packet is present: declare it
    /// lost and conceal its slot (silence if between talkspurts).
    fn conceal_lost(&mut self) -> Playout {
        if let Some(pos) = self.pos.as_mut() {
            let next = pos.next_seq.saturating_add(1);
            self.stats.lost = self.stats.lost.saturating_add(pos.skip_to(next));
        }
        if self.phase == Phase::Gap {
            return self.silence();
        }
        self.conceal()
    }

    fn conceal(&mut self) -> Playout {
        let timestamp = crate::rtp::ExtTimestamp(self.advance_slot());
        self.stats.concealed += 1;
        Playout::Conceal { timestamp, duration_ticks: self.ptime_u32() }
    }
}
