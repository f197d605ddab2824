//! Sequence-number validation and extension (RFC 3550 App. A.1) and timestamp
//! extension: the only place in the crate where 16- and 32-bit wraparound is handled.

use super::{ExtTimestamp, SeqNo};

/// RTP_SEQ_MOD of RFC 3550 App. A.1: the sequence-number modulus, 2^16.
pub const RTP_SEQ_MOD: u32 = 1 << 16;
/// Default MIN_SEQUENTIAL (RFC 3550 App. A.1): in-order packets needed before a source is valid.
pub const DEFAULT_MIN_SEQUENTIAL: u16 = 2;
/// Default MAX_DROPOUT (RFC 3550 App. A.1): the largest forward jump, in packets, taken as loss.
pub const DEFAULT_MAX_DROPOUT: u16 = 3000;
/// Default MAX_MISORDER (RFC 3550 App. A.1): how far behind the highest, in packets,
/// a packet still counts as reordered or duplicated rather than as a bad sequence number.
pub const DEFAULT_MAX_MISORDER: u16 = 100;
/// Upper bound on MAX_MISORDER: the width, in packets, of the duplicate-detection window.
pub const MAX_MISORDER_LIMIT: u16 = SeqWindow::WIDTH as u16;

/// What [`SequenceExtender::update`] made of one sequence number (RFC 3550 App. A.1 `update_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeqUpdate {
    /// Valid: in order, after a permissible gap (< MAX_DROPOUT), or a duplicate or
    /// reordered packet (< MAX_MISORDER behind); `ext` is numbered in the right
    /// cycle, so a late packet from before a wrap gets a smaller value.
    Accepted {
        /// Extended sequence number (`cycles << 16 | seq`).
        ext: SeqNo,
    },
    /// The source is still on probation (fewer than MIN_SEQUENTIAL in-order packets); drop it.
    Probation,
    /// Two sequential packets after a large jump: the sender restarted its numbering
    /// (A.1 "re-sync"). Numbering starts again at cycle 0; the caller starts a new
    /// stream epoch. `ext` = `seq`.
    Restarted {
        /// Extended sequence number in the restarted numbering.
        ext: SeqNo,
    },
    /// A jump of MAX_DROPOUT or more forward, or MAX_MISORDER or more backward; drop
    /// it. If the next packet follows it in sequence, the numbering restarts.
    BadSequence,
    /// A reordered packet from the cycle before extended sequence 0 (the stream
    /// started just after a wrap): valid per A.1 but has no extended number; drop it.
    PrecedesStart,
}

/// RFC 3550 App. A.1 source validation and 16 → 64-bit sequence-number extension.
///
/// State and rules are those of `init_seq` / `update_seq`, with two deliberate
/// differences: (1) in probation, "sequential" is tested modulo 2^16 (the C code's
/// `seq == s->max_seq + 1` promotes to `int` and so misses 65535 → 0); (2)
/// MIN_SEQUENTIAL 0 or 1 accepts the first packet at once with extended number
/// `seq` (A.1's `max_seq = seq - 1` would otherwise count a wrap for a first `seq` of 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceExtender {
    min_sequential: u16,
    max_dropout: u16,
    max_misorder: u16,
    started: bool,
    probation: u16,
    max_seq: u16,
    /// Multiples of RTP_SEQ_MOD, as A.1's `cycles`.
    cycles: u64,
    base_seq: u16,
    /// A.1's `bad_seq`; RTP_SEQ_MOD + 1 means "none" (never equals a 16-bit value).
    bad_seq: u32,
}

impl Default for SequenceExtender {
    fn default() -> Self {
        Self::new()
    }
}

impl SequenceExtender {
    /// An extender with the A.1 defaults: MIN_SEQUENTIAL 2, MAX_DROPOUT 3000, MAX_MISORDER 100.
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MIN_SEQUENTIAL, DEFAULT_MAX_DROPOUT, DEFAULT_MAX_MISORDER)
    }

    /// An extender with MIN_SEQUENTIAL = `min_sequential` (0 or 1: the first packet is
    /// valid at once), MAX_DROPOUT = `max_dropout` and MAX_MISORDER = `max_misorder`,
    /// all in packets. MAX_MISORDER is capped at [`MAX_MISORDER_LIMIT`] (the duplicate
    /// window); MAX_DROPOUT at 2^16 − MAX_MISORDER so that the A.1 ranges do not overlap.
    pub fn with_limits(min_sequential: u16, max_dropout: u16, max_misorder: u16) -> Self {
        let max_misorder = max_misorder.min(MAX_MISORDER_LIMIT);
        let dropout_cap = u16::try_from(RTP_SEQ_MOD - u32::from(max_misorder)).unwrap_or(u16::MAX);
        SequenceExtender {
            min_sequential,
            max_dropout: max_dropout.min(dropout_cap),
            max_misorder,
            started: false,
            probation: 0,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
        }
    }

    /// A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
    }

    /// Feeds the sequence number of one arriving packet (A.1 `update_seq`).
    pub fn update(&mut self, seq: u16) -> SeqUpdate {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            if self.min_sequential <= 1 {
                self.probation = 0;
                return SeqUpdate::Accepted { ext: SeqNo(u64::from(seq)) };
            }
            // A.1, new source: init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL.
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential;
        }
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    return SeqUpdate::Accepted { ext: SeqNo(u64::from(seq)) };
                }
            } else {
                self.probation = self.min_sequential - 1;
                self.max_seq = seq;
            }
            return SeqUpdate::Probation;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta < self.max_dropout {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                // Wrapped: count another 64K cycle.
                self.cycles = self.cycles.saturating_add(u64::from(RTP_SEQ_MOD));
            }
            self.max_seq = seq;
            SeqUpdate::Accepted { ext: SeqNo(self.cycles | u64::from(seq)) }
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(self.max_misorder) {
            // A very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: the other side restarted; re-sync.
                self.init_seq(seq);
                SeqUpdate::Restarted { ext: SeqNo(u64::from(seq)) }
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                SeqUpdate::BadSequence
            }
        } else {
            // Duplicate or reordered packet: number it in its own cycle.
            match self.late_ext(seq) {
                Some(ext) => SeqUpdate::Accepted { ext },
                None => SeqUpdate::PrecedesStart,
            }
        }
    }

    /// Extended number of a packet at or behind the highest: the current cycle if
    /// `seq <= max_seq`, else the previous one (`None` before cycle 0).
    fn late_ext(&self, seq: u16) -> Option<SeqNo> {
        let cycles = if seq > self.max_seq { self.cycles.checked_sub(u64::from(RTP_SEQ_MOD))? } else { self.cycles };
        Some(SeqNo(cycles | u64::from(seq)))
    }

    /// Without changing state: the extended number `seq` would get if it were a
    /// duplicate or reordered packet (at most MAX_MISORDER − 1 behind the highest, or
    /// equal to it); `None` otherwise or while on probation.
    pub fn classify_late(&self, seq: u16) -> Option<SeqNo> {
        if !self.is_valid() {
            return None;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta == 0 || u32::from(udelta) > RTP_SEQ_MOD - u32::from(self.max_misorder) {
            self.late_ext(seq)
        } else {
            None
        }
    }

    /// Whether the source has passed probation (A.1: `probation == 0`).
    pub fn is_valid(&self) -> bool {
        self.started && self.probation == 0
    }

    /// Highest extended sequence number accepted (A.3 `extended_max` = `cycles + max_seq`),
    /// `None` while on probation.
    pub fn highest(&self) -> Option<SeqNo> {
        self.is_valid().then_some(SeqNo(self.cycles | u64::from(self.max_seq)))
    }

    /// First valid sequence number (A.1 `base_seq`), `None` while on probation.
    pub fn base(&self) -> Option<SeqNo> {
        self.is_valid().then_some(SeqNo(u64::from(self.base_seq)))
    }

    /// Number of times the 16-bit sequence number wrapped since `base()`.
    pub fn wraps(&self) -> u64 {
        self.cycles >> 16
    }
}

/// 32 → 64-bit RTP timestamp extension by signed distance.
///
/// Each timestamp is placed at the signed 32-bit difference from the highest
/// extended timestamp seen so far, so a reordered packet gets a smaller value
/// (never a 2^32 jump) and a forward wrap adds 2^32. Valid while consecutive
/// timestamps of the stream are less than 2^31 ticks apart (over 12 hours at 48 kHz).
///
/// The first timestamp is placed in cycle 1 (`ext = 2^32 + ts`), so that a packet
/// reordered from before a wrap never needs a negative value;
/// [`ExtTimestamp::wire`] still gives the wire value. Only differences between
/// extended timestamps of one epoch are meaningful.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimestampExtender {
    highest: Option<u64>,
}

impl TimestampExtender {
    /// Offset of the first cycle: the first timestamp `ts` is extended to `FIRST_CYCLE + ts`.
    pub const FIRST_CYCLE: u64 = 1 << 32;

    /// An extender that has seen no timestamp.
    pub fn new() -> Self {
        Self::default()
    }

    /// Extends `ts` (RTP ticks, wire value) and raises the highest if it is newer.
    pub fn extend(&mut self, ts: u32) -> ExtTimestamp {
        let ext = match self.highest {
            None => Self::FIRST_CYCLE | u64::from(ts),
            Some(h) => h.saturating_add_signed(Self::signed_delta(h, ts)),
        };
        if self.highest.map_or(true, |h| ext > h) {
            self.highest = Some(ext);
        }
        ExtTimestamp(ext)
    }

    /// The signed distance in ticks from the highest extended timestamp to `ts`
    /// (negative for a reordered packet), without changing state; `None` before the first.
    pub fn delta(&self, ts: u32) -> Option<i64> {
        self.highest.map(|h| Self::signed_delta(h, ts))
    }

    /// Highest extended timestamp seen.
    pub fn highest(&self) -> Option<ExtTimestamp> {
        self.highest.map(ExtTimestamp)
    }

    fn signed_delta(highest: u64, ts: u32) -> i64 {
        // Truncation to the wire value is the point; the i32 reinterpretation gives
        // the difference modulo 2^32 in [-2^31, 2^31).
        let wire = (highest & 0xFFFF_FFFF) as u32;
        i64::from(ts.wrapping_sub(wire) as i32)
    }
}

/// What [`SeqWindow::insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowCheck {
    /// Not seen before; `reordered` when it is below the highest seen.
    New { reordered: bool },
    /// Seen before.
    Duplicate,
    /// Too far behind the highest to tell.
    TooOld,
}

/// Sliding bitmap of the last [`SeqWindow::WIDTH`] extended sequence numbers seen,
/// for duplicate and reorder detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeqWindow {
    highest: Option<u64>,
    bits: [u64; SeqWindow::WORDS],
}

impl SeqWindow {
    const WORDS: usize = 16;
    /// Window width in packets.
    pub(crate) const WIDTH: u64 = 64 * Self::WORDS as u64;

    pub(crate) fn new() -> Self {
        SeqWindow { highest: None, bits: [0; Self::WORDS] }
    }

    fn slot(ext: u64) -> (usize, u64) {
        let i = ext % Self::WIDTH;
        // `i / 64 < WORDS`, so the index is in range and the cast lossless.
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn set(&mut self, ext: u64, on: bool) {
        let (w, m) = Self::slot(ext);
        if let Some(word) = self.bits.get_mut(w) {
            if on {
                *word |= m;
            } else {
                *word &= !m;
            }
        }
    }

    fn get(&self, ext: u64) -> bool {
        let (w, m) = Self::slot(ext);
        self.bits.get(w).is_some_and(|word| word & m != 0)
    }

    /// Records `ext`, telling whether it is new, a duplicate, or too old to tell.
    pub(crate) fn insert(&mut self, ext: SeqNo) -> WindowCheck {
        let ext = ext.0;
        let Some(h) = self.highest else {
            self.highest = Some(ext);
            self.set(ext, true);
            return WindowCheck::New { reordered: false };
        };
        if ext > h {
            if ext - h >= Self::WIDTH {
                self.bits = [0; Self::WORDS];
            } else {
                for s in h + 1..ext {
                    self.set(s, false);
                }
            }
            self.set(ext, true);
            self.highest = Some(ext);
            WindowCheck::New { reordered: false }
        } else if h - ext >= Self::WIDTH {
            WindowCheck::TooOld
        } else if self.get(ext) {
            WindowCheck::Duplicate
        } else {
            self.set(ext, true);
            WindowCheck::New { reordered: true }
        }
    }
}

#[cfg(test)]
#[path = "seq_tests.rs"]
mod tests;
