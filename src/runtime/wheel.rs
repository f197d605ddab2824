//! The shard's timer: a hashed timing wheel (Varghese & Lauck, "Hashed and Hierarchical
//! Timing Wheels", SOSP 1987, scheme 6) of 1 ms slots.
//!
//! Why a single-level hashed wheel rather than a binary heap or a hierarchical wheel: every
//! session asks to be woken at its next frame tick, at most one ptime (20 ms, at most 120 ms)
//! ahead, so with [`SLOTS`] = 128 slots of 1 ms almost every deadline falls within one turn
//! of the wheel. Insertion is O(1) (a push onto the slot's vector, whose capacity is kept:
//! no allocation once warm), expiry visits only the slots the clock passed. A deadline more
//! than one turn ahead is still correct: it stays in its slot until its round comes (each
//! entry keeps its exact deadline; the slot is only a bucket), so a hierarchical wheel would
//! buy nothing for this workload.
//!
//! Entries are never removed early. A session that re-arms keeps the old entry, which is
//! recognised as stale when it fires (the shard compares it with the session's armed
//! deadline) and ignored: cancellation is O(1).

/// Slots in the wheel.
pub(crate) const SLOTS: usize = 128;
/// Width of one slot in ns (1 ms).
const SLOT_NS: u64 = 1_000_000;

/// One armed timer: the exact deadline (host time in ns) and the owner's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timer {
    pub(crate) deadline: u64,
    pub(crate) key: u64,
}

/// The wheel. Times are host times in ns.
#[derive(Debug)]
pub(crate) struct TimerWheel {
    slots: Vec<Vec<Timer>>,
    /// Absolute slot number (time / SLOT_NS) up to which expiry has run.
    current: u64,
    len: usize,
}

impl TimerWheel {
    /// An empty wheel whose clock starts at `now_ns`.
    pub(crate) fn new(now_ns: u64) -> TimerWheel {
        TimerWheel { slots: (0..SLOTS).map(|_| Vec::new()).collect(), current: now_ns / SLOT_NS, len: 0 }
    }

    /// Timers armed (stale ones included until they fire).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Arms a timer. A deadline already past fires at the next [`Self::expire`].
    pub(crate) fn insert(&mut self, deadline: u64, key: u64) {
        let abs = (deadline / SLOT_NS).max(self.current);
        self.slots[(abs % SLOTS as u64) as usize].push(Timer { deadline, key });
        self.len += 1;
    }

    /// Moves every timer with `deadline <= now_ns` into `out` (in no particular order).
    pub(crate) fn expire(&mut self, now_ns: u64, out: &mut Vec<Timer>) {
        let now_abs = now_ns / SLOT_NS;
        if now_abs < self.current {
            // The clock never goes back; a stale `now` expires only the current slot.
            self.expire_slot(self.current, now_ns, out);
            return;
        }
        // Past one whole turn every slot has been visited once.
        let first = self.current.max(now_abs.saturating_sub(SLOTS as u64 - 1));
        for abs in first..=now_abs {
            self.expire_slot(abs, now_ns, out);
        }
        self.current = now_abs;
    }

    fn expire_slot(&mut self, abs: u64, now_ns: u64, out: &mut Vec<Timer>) {
        let slot = &mut self.slots[(abs % SLOTS as u64) as usize];
        let before = slot.len();
        let mut i = 0;
        while i < slot.len() {
            if slot[i].deadline <= now_ns {
                out.push(slot.swap_remove(i));
            } else {
                i += 1;
            }
        }
        self.len -= before - slot.len();
    }

    /// The earliest deadline armed, if any. Scans at most one turn of slots (plus every
    /// entry when all are more than a turn away).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        for k in 0..SLOTS as u64 {
            let abs = self.current + k;
            let slot = &self.slots[(abs % SLOTS as u64) as usize];
            // Entries of this turn (a later round's entries share the slot).
            let this_turn = slot.iter().filter(|t| (t.deadline / SLOT_NS).max(self.current) == abs);
            if let Some(d) = this_turn.map(|t| t.deadline).min() {
                return Some(d);
            }
        }
        self.slots.iter().flatten().map(|t| t.deadline).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn keys(mut v: Vec<Timer>) -> Vec<u64> {
        v.sort_by_key(|t| (t.deadline, t.key));
        v.into_iter().map(|t| t.key).collect()
    }

    #[test]
    fn fires_in_time_and_not_before() {
        let mut w = TimerWheel::new(0);
        w.insert(20 * MS, 1);
        w.insert(20 * MS + 500_000, 2);
        w.insert(5 * MS, 3);
        assert_eq!(w.next_deadline(), Some(5 * MS));
        let mut out = Vec::new();
        w.expire(5 * MS - 1, &mut out);
        assert!(out.is_empty());
        w.expire(5 * MS, &mut out);
        assert_eq!(keys(std::mem::take(&mut out)), vec![3]);
        assert_eq!(w.next_deadline(), Some(20 * MS));
        // Same slot, finer deadline: only the due one fires.
        w.expire(20 * MS + 100, &mut out);
        assert_eq!(keys(std::mem::take(&mut out)), vec![1]);
        assert_eq!(w.next_deadline(), Some(20 * MS + 500_000));
        w.expire(21 * MS, &mut out);
        assert_eq!(keys(out), vec![2]);
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn beyond_one_turn_waits_for_its_round() {
        let mut w = TimerWheel::new(0);
        let far = (SLOTS as u64 + 3) * MS; // shares slot 3 with `near`
        w.insert(far, 9);
        w.insert(3 * MS, 1);
        assert_eq!(w.next_deadline(), Some(3 * MS));
        let mut out = Vec::new();
        w.expire(10 * MS, &mut out);
        assert_eq!(keys(std::mem::take(&mut out)), vec![1]);
        assert_eq!(w.next_deadline(), Some(far));
        w.expire(far - 1, &mut out);
        assert!(out.is_empty());
        w.expire(far, &mut out);
        assert_eq!(keys(out), vec![9]);
    }

    #[test]
    fn a_late_clock_jump_fires_everything_due() {
        let mut w = TimerWheel::new(0);
        for k in 0..1000u64 {
            w.insert(k * 7 * MS / 10, k);
        }
        let mut out = Vec::new();
        w.expire(350 * MS, &mut out);
        // Deadlines 0, 0.7, … ms up to 350 ms: k ≤ 500.
        assert_eq!(out.len(), 501);
        assert_eq!(w.len(), 499);
        assert_eq!(w.next_deadline(), Some(501 * 7 * MS / 10));
        out.clear();
        w.expire(10_000 * MS, &mut out);
        assert_eq!(out.len(), 499);
    }

    #[test]
    fn past_deadline_fires_at_next_expire() {
        let mut w = TimerWheel::new(50 * MS);
        w.insert(10 * MS, 4);
        assert_eq!(w.next_deadline(), Some(10 * MS));
        let mut out = Vec::new();
        w.expire(50 * MS, &mut out);
        assert_eq!(keys(out), vec![4]);
    }
}
