//! A schedule of items due at offsets from the call's answer time (time warnings, the limit).
//!
//! Items are added as offsets (e.g. the time limit `T` and warnings at `T − 120 s` and
//! `T − 60 s`), the schedule is anchored at the answer time, and each frame the session asks for
//! the items due in the frame it is about to process. Polled once per frame with the frame's
//! start, an item is returned in the frame that contains its instant (`start ≤ instant <
//! start + ptime`), and [`Due::at`] carries the exact instant, so a playback started with
//! [`Router::play`](super::Router::play) at that instant sounds from the exact sample. An item
//! whose instant has already passed (the host woke late, or the item was added late) is returned
//! at the next poll, never dropped.

use super::MixError;
use crate::time::HostTime;
use std::time::Duration;

/// An item that has come due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<T> {
    /// The item.
    pub item: T,
    /// Its instant: the answer time plus its offset.
    pub at: HostTime,
}

/// Items due at offsets from an anchor (the answer time). Allocation happens only in `add`.
#[derive(Debug, Clone)]
pub struct Schedule<T> {
    anchor: Option<HostTime>,
    /// Sorted by offset, latest first (the next due item is last); equal offsets in reverse order
    /// of addition, so they come due in the order they were added.
    pending: Vec<(Duration, T)>,
}

impl<T> Default for Schedule<T> {
    fn default() -> Self {
        Schedule { anchor: None, pending: Vec::new() }
    }
}

impl<T> Schedule<T> {
    /// An empty, unanchored schedule.
    pub fn new() -> Schedule<T> {
        Schedule::default()
    }

    /// Adds `item` at `offset` after the anchor.
    pub fn add(&mut self, offset: Duration, item: T) {
        let i = self.pending.partition_point(|(o, _)| *o > offset);
        self.pending.insert(i, (offset, item));
    }

    /// Adds `item` at `limit − lead` (e.g. a warning 60 s before a 15-minute limit).
    ///
    /// # Errors
    /// [`MixError::LeadExceedsLimit`] if `lead > limit` (the warning would precede the answer);
    /// nothing is added — the session decides whether to play it at once or skip it.
    pub fn add_before(&mut self, limit: Duration, lead: Duration, item: T) -> Result<(), MixError> {
        let offset = limit
            .checked_sub(lead)
            .ok_or(MixError::LeadExceedsLimit { lead_ms: lead.as_millis(), limit_ms: limit.as_millis() })?;
        self.add(offset, item);
        Ok(())
    }

    /// Anchors the schedule at `answered` (the answer time); a later call moves the anchor.
    pub fn start(&mut self, answered: HostTime) {
        self.anchor = Some(answered);
    }

    /// The anchor, once started.
    pub fn anchor(&self) -> Option<HostTime> {
        self.anchor
    }

    /// The instant of the next pending item (for the host's next wake-up), once started.
    pub fn next_at(&self) -> Option<HostTime> {
        let (offset, _) = self.pending.last()?;
        Some(self.anchor?.saturating_add(*offset))
    }

    /// The next item due before the end of the frame `[frame_start, frame_start + ptime)`, earliest
    /// first; call until `None` once per frame. `None` before [`Schedule::start`].
    pub fn poll_due(&mut self, frame_start: HostTime, ptime: Duration) -> Option<Due<T>> {
        let at = self.next_at()?;
        if at >= frame_start.saturating_add(ptime) {
            return None;
        }
        let (_, item) = self.pending.pop()?;
        Some(Due { item, at })
    }

    /// Pending items.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Keeps only the pending items for which `keep` returns true (e.g. drop the warnings when the
    /// limit is extended, then add new ones).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.pending.retain(|(_, item)| keep(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_in_order_with_ties_in_insertion_order() {
        let mut s = Schedule::new();
        s.add(Duration::from_millis(50), "b");
        s.add(Duration::from_millis(10), "a");
        s.add(Duration::from_millis(50), "c");
        let ptime = Duration::from_millis(20);
        assert_eq!(s.poll_due(HostTime::ZERO, ptime), None, "not started");
        s.start(HostTime::from_millis(1000));
        assert_eq!(s.next_at(), Some(HostTime::from_millis(1010)));
        assert_eq!(s.poll_due(HostTime::from_millis(980), ptime), None);
        let d = s.poll_due(HostTime::from_millis(1000), ptime).expect("due");
        assert_eq!((d.item, d.at), ("a", HostTime::from_millis(1010)));
        assert_eq!(s.poll_due(HostTime::from_millis(1000), ptime), None);
        assert_eq!(s.poll_due(HostTime::from_millis(1020), ptime), None, "1050 is in the frame from 1040");
        assert_eq!(s.poll_due(HostTime::from_millis(1040), ptime).map(|d| d.item), Some("b"));
        assert_eq!(s.poll_due(HostTime::from_millis(1040), ptime).map(|d| d.item), Some("c"));
        assert!(s.is_empty());
    }

    #[test]
    fn late_items_are_not_dropped_and_leads_are_checked() {
        let mut s = Schedule::new();
        s.start(HostTime::ZERO);
        s.add_before(Duration::from_secs(90), Duration::from_secs(60), 1).expect("fits");
        assert_eq!(
            s.add_before(Duration::from_secs(90), Duration::from_secs(120), 2),
            Err(MixError::LeadExceedsLimit { lead_ms: 120_000, limit_ms: 90_000 })
        );
        let d = s.poll_due(HostTime::from_millis(45_000), Duration::from_millis(20)).expect("late but due");
        assert_eq!((d.item, d.at), (1, HostTime::from_millis(30_000)));
        s.add(Duration::from_secs(1), 3);
        s.add(Duration::from_secs(2), 4);
        s.retain(|&i| i != 3);
        assert_eq!(s.len(), 1);
    }
}
