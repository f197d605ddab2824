//! The packet store: a bounded queue of [`MediaPacket`]s ordered by
//! (epoch, extended sequence number), preallocated to its capacity.
//!
//! It knows nothing about time; the playout decision and the delay estimator
//! live beside it.

use crate::rtp::{MediaPacket, SeqNo, StreamEpoch};
use std::cmp::Ordering;
use std::collections::VecDeque;

/// The ordering key of a packet in the store.
fn key(p: &MediaPacket) -> (StreamEpoch, SeqNo) {
    (p.epoch, p.seq)
}

/// What [`PacketStore::insert`] did.
#[derive(Debug)]
pub(crate) enum StoreInsert {
    /// The packet was stored.
    Stored,
    /// A packet with the same (epoch, sequence number) is already stored; the new one was dropped.
    Duplicate,
    /// The store was full: the packet was stored and the oldest one was removed (returned).
    StoredDropping(MediaPacket),
    /// The store was full and the new packet was older than everything stored: it is returned unstored.
    Rejected(MediaPacket),
}

/// Most packets a store holds, whatever capacity is asked for: one per 16-bit sequence
/// number (22 minutes of 20 ms packets), so that a huge capacity cannot exhaust memory.
pub(crate) const MAX_CAPACITY: usize = 65_536;

/// A bounded, ordered packet queue. Never grows past its capacity and never reallocates.
#[derive(Debug)]
pub(crate) struct PacketStore {
    packets: VecDeque<MediaPacket>,
    capacity: usize,
}

impl PacketStore {
    /// An empty store holding at most `capacity` packets (clamped to 1..=[`MAX_CAPACITY`]),
    /// allocated now.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        PacketStore { packets: VecDeque::with_capacity(capacity), capacity }
    }

    /// Packets held.
    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    /// The oldest packet (lowest epoch, then sequence number).
    pub(crate) fn front(&self) -> Option<&MediaPacket> {
        self.packets.front()
    }

    /// The packet at `index` in order.
    pub(crate) fn get(&self, index: usize) -> Option<&MediaPacket> {
        self.packets.get(index)
    }

    /// Removes and returns the oldest packet.
    pub(crate) fn pop_front(&mut self) -> Option<MediaPacket> {
        self.packets.pop_front()
    }

    /// Whether a packet with this epoch and sequence number is held.
    pub(crate) fn contains(&self, epoch: StreamEpoch, seq: SeqNo) -> bool {
        self.packets.binary_search_by(|p| key(p).cmp(&(epoch, seq))).is_ok()
    }

    /// Index of the first packet whose epoch is later than `epoch`, if any.
    pub(crate) fn first_after_epoch(&self, epoch: StreamEpoch) -> Option<usize> {
        let i = self.packets.partition_point(|p| p.epoch <= epoch);
        (i < self.packets.len()).then_some(i)
    }

    /// Stores `packet` in order. When full, drops the oldest packet (which may be `packet` itself).
    pub(crate) fn insert(&mut self, packet: MediaPacket) -> StoreInsert {
        let k = key(&packet);
        // Fast path: in-order arrival goes to the back.
        let index = match self.packets.back().map(|b| key(b).cmp(&k)) {
            None | Some(Ordering::Less) => self.packets.len(),
            Some(Ordering::Equal) => return StoreInsert::Duplicate,
            Some(Ordering::Greater) => match self.packets.binary_search_by(|p| key(p).cmp(&k)) {
                Ok(_) => return StoreInsert::Duplicate,
                Err(i) => i,
            },
        };
        if self.packets.len() < self.capacity {
            self.packets.insert(index, packet);
            return StoreInsert::Stored;
        }
        if index == 0 {
            return StoreInsert::Rejected(packet);
        }
        // Full: make room by removing the oldest, then insert (the index shifts down by one).
        match self.packets.pop_front() {
            Some(oldest) => {
                self.packets.insert(index - 1, packet);
                StoreInsert::StoredDropping(oldest)
            }
            // Unreachable: len == capacity >= 1, so the store is not empty.
            None => StoreInsert::Rejected(packet),
        }
    }

    /// Removes the first `n` packets (all of them if fewer), returning how many were removed.
    pub(crate) fn drop_front(&mut self, n: usize) -> usize {
        let n = n.min(self.packets.len());
        self.packets.drain(..n);
        n
    }

    /// Iterates the packets in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &MediaPacket> {
        self.packets.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtTimestamp, PayloadType, Ssrc};
    use crate::time::HostTime;
    use bytes::Bytes;

    fn pkt(epoch: u32, seq: u64) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::ZERO,
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
            marker: false,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(seq * 160),
            epoch: StreamEpoch(epoch),
            payload: Bytes::new(),
        }
    }

    fn seqs(s: &PacketStore) -> Vec<(u32, u64)> {
        s.iter().map(|p| (p.epoch.0, p.seq.0)).collect()
    }

    #[test]
    fn orders_by_epoch_then_seq_and_finds_duplicates() {
        let mut s = PacketStore::new(8);
        for (e, q) in [(0, 3), (1, 1), (0, 1), (0, 2)] {
            assert!(matches!(s.insert(pkt(e, q)), StoreInsert::Stored));
        }
        assert!(matches!(s.insert(pkt(0, 2)), StoreInsert::Duplicate));
        assert!(matches!(s.insert(pkt(1, 1)), StoreInsert::Duplicate));
        assert_eq!(seqs(&s), vec![(0, 1), (0, 2), (0, 3), (1, 1)]);
        assert!(s.contains(StreamEpoch(0), SeqNo(3)));
        assert!(!s.contains(StreamEpoch(1), SeqNo(3)));
        assert_eq!(s.first_after_epoch(StreamEpoch(0)), Some(3));
        assert_eq!(s.first_after_epoch(StreamEpoch(1)), None);
    }

    #[test]
    fn full_store_drops_the_oldest_only() {
        let mut s = PacketStore::new(3);
        let allocated = s.packets.capacity();
        for q in [10, 11, 12] {
            assert!(matches!(s.insert(pkt(0, q)), StoreInsert::Stored));
        }
        match s.insert(pkt(0, 13)) {
            StoreInsert::StoredDropping(p) => assert_eq!(p.seq, SeqNo(10)),
            other => panic!("expected StoredDropping, got {other:?}"),
        }
        assert!(matches!(s.insert(pkt(0, 12)), StoreInsert::Duplicate));
        // A packet older than everything held is itself the one dropped.
        match s.insert(pkt(0, 5)) {
            StoreInsert::Rejected(p) => assert_eq!(p.seq, SeqNo(5)),
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert_eq!(seqs(&s), vec![(0, 11), (0, 12), (0, 13)]);
        assert_eq!(s.packets.capacity(), allocated, "no reallocation when full");
    }

    #[test]
    fn drop_front_is_bounded() {
        let mut s = PacketStore::new(4);
        for q in 0..3 {
            let _ = s.insert(pkt(0, q));
        }
        assert_eq!(s.drop_front(2), 2);
        assert_eq!(s.drop_front(5), 1);
        assert_eq!(s.len(), 0);
    }
}
