//! Pairing RTP streams into calls: a leg is one direction of a UDP 5-tuple (it may
//! carry several SSRCs in turn), a call is a leg and, when one is found, the leg
//! flowing the other way.

use super::streams::RtpStreamInfo;
use crate::time::HostTime;
use std::net::SocketAddr;

/// One direction of a call: every stream from `src` to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallLeg {
    /// UDP source address and port of the leg's packets.
    pub src: SocketAddr,
    /// UDP destination address and port of the leg's packets.
    pub dst: SocketAddr,
    /// Indices into the slice given to [`pair_calls`] of the streams (SSRCs) on
    /// this 5-tuple direction, in order of their first packet. More than one means
    /// the sender changed SSRC mid-call.
    pub streams: Vec<usize>,
    /// Indices into `Capture::datagrams` of all the leg's packets, in capture order.
    pub datagrams: Vec<usize>,
    /// Earliest arrival time of the leg's packets (ns since the Unix epoch).
    pub first_time: HostTime,
    /// Latest arrival time of the leg's packets.
    pub last_time: HostTime,
    /// Number of packets on the leg, all SSRCs together.
    pub packet_count: usize,
}

impl CallLeg {
    /// Capture index of the leg's first packet in capture order (`usize::MAX` when
    /// the leg is empty, which [`pair_calls`] never produces).
    fn first_datagram(&self) -> usize {
        self.datagrams.first().copied().unwrap_or(usize::MAX)
    }

    /// Whether the two legs were active at overlapping times.
    fn overlaps(&self, other: &CallLeg) -> bool {
        self.first_time <= other.last_time && other.first_time <= self.last_time
    }
}

/// A call found in a capture: one or two legs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallInfo {
    /// 1-based call number, in order of each call's first packet.
    pub number: u32,
    /// The leg whose first packet came first.
    pub leg_a: CallLeg,
    /// The reverse leg, or `None` for a one-way call (no stream flowed back).
    pub leg_b: Option<CallLeg>,
}

impl CallInfo {
    /// Earliest arrival time over both legs.
    pub fn first_time(&self) -> HostTime {
        self.leg_a.first_time
    }
}

/// Pairs streams into calls.
///
/// 1. Streams are grouped into legs by (source, destination): several SSRCs on
///    one direction of a 5-tuple (an SSRC change) belong to the same leg.
/// 2. A leg is paired with its exact reverse (destination and source swapped)
///    when that leg exists.
/// 3. A leg still unpaired is then paired with an unpaired leg that answers it
///    on one side — the other leg sends to this leg's source address:port from
///    this leg's destination IP (or comes from this leg's destination address:port
///    and goes to this leg's source IP) — and whose activity overlaps it in time.
///    This covers asymmetric RTP, where a host sends from a port other than the
///    one it receives on. Among several candidates the one whose first packet is
///    nearest in time wins.
/// 4. Leg A is the leg whose first packet came first (by time, then by capture
///    position); a leg with no partner makes a one-leg call (`leg_b: None`).
/// 5. Calls are numbered from 1 in order of their first packet.
pub fn pair_calls(streams: &[RtpStreamInfo]) -> Vec<CallInfo> {
    let legs = group_legs(streams);
    let mut partner: Vec<Option<usize>> = vec![None; legs.len()];
    for i in 0..legs.len() {
        if partner[i].is_some() {
            continue;
        }
        let found = (0..legs.len())
            .find(|&j| j != i && partner[j].is_none() && legs[j].src == legs[i].dst && legs[j].dst == legs[i].src);
        if let Some(j) = found {
            partner[i] = Some(j);
            partner[j] = Some(i);
        }
    }
    for i in 0..legs.len() {
        if partner[i].is_some() {
            continue;
        }
        let (a, t) = (&legs[i], legs[i].first_time.0);
        let found = (0..legs.len())
            .filter(|&j| j != i && partner[j].is_none())
            .filter(|&j| {
                let b = &legs[j];
                let answers =
                    (b.dst == a.src && b.src.ip() == a.dst.ip()) || (b.src == a.dst && b.dst.ip() == a.src.ip());
                answers && a.overlaps(b)
            })
            .min_by_key(|&j| legs[j].first_time.0.abs_diff(t));
        if let Some(j) = found {
            partner[i] = Some(j);
            partner[j] = Some(i);
        }
    }

    let mut slots: Vec<Option<CallLeg>> = legs.into_iter().map(Some).collect();
    let mut calls: Vec<CallInfo> = Vec::new();
    for i in 0..slots.len() {
        let Some(first) = slots[i].take() else {
            continue;
        };
        let second = partner[i].and_then(|j| slots.get_mut(j).and_then(Option::take));
        let (leg_a, leg_b) = match second {
            Some(b) if (b.first_time, b.first_datagram()) < (first.first_time, first.first_datagram()) => {
                (b, Some(first))
            }
            other => (first, other),
        };
        calls.push(CallInfo { number: 0, leg_a, leg_b });
    }
    calls.sort_by_key(|c| (c.leg_a.first_time, c.leg_a.first_datagram()));
    for (n, c) in calls.iter_mut().enumerate() {
        c.number = u32::try_from(n + 1).unwrap_or(u32::MAX);
    }
    calls
}

/// Legs in order of their first stream in `streams`.
fn group_legs(streams: &[RtpStreamInfo]) -> Vec<CallLeg> {
    let mut legs: Vec<CallLeg> = Vec::new();
    for (k, s) in streams.iter().enumerate() {
        match legs.iter_mut().find(|l| l.src == s.src && l.dst == s.dst) {
            Some(l) => {
                l.streams.push(k);
                l.datagrams.extend_from_slice(&s.datagrams);
                l.first_time = l.first_time.min(s.first_time);
                l.last_time = l.last_time.max(s.last_time);
                l.packet_count += s.packet_count;
            }
            None => legs.push(CallLeg {
                src: s.src,
                dst: s.dst,
                streams: vec![k],
                datagrams: s.datagrams.clone(),
                first_time: s.first_time,
                last_time: s.last_time,
                packet_count: s.packet_count,
            }),
        }
    }
    for l in &mut legs {
        l.datagrams.sort_unstable();
        l.datagrams.dedup();
        let mut order: Vec<(HostTime, usize, usize)> = l
            .streams
            .iter()
            .map(|&k| (streams[k].first_time, streams[k].datagrams.first().copied().unwrap_or(usize::MAX), k))
            .collect();
        order.sort_unstable();
        l.streams = order.into_iter().map(|(_, _, k)| k).collect();
    }
    legs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::Ssrc;

    fn stream(src: &str, dst: &str, ssrc: u32, first: u64, last: u64, datagrams: Vec<usize>) -> RtpStreamInfo {
        RtpStreamInfo {
            src: src.parse().expect("literal"),
            dst: dst.parse().expect("literal"),
            ssrc: Ssrc(ssrc),
            payload_types: vec![],
            first_time: HostTime(first),
            last_time: HostTime(last),
            packet_count: datagrams.len(),
            datagrams,
        }
    }

    #[test]
    fn reverse_pairs_one_way_calls_and_numbering() {
        let s = vec![
            stream("10.0.0.2:6000", "10.0.0.1:4000", 1, 20, 90, vec![3, 5]),
            stream("10.0.0.1:4000", "10.0.0.2:6000", 2, 10, 80, vec![1, 4]),
            stream("10.0.0.9:7000", "10.0.0.8:7002", 3, 5, 50, vec![0, 2]),
        ];
        let calls = pair_calls(&s);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].number, 1);
        assert_eq!(calls[0].leg_a.streams, vec![2]);
        assert!(calls[0].leg_b.is_none());
        assert_eq!(calls[1].number, 2);
        assert_eq!(calls[1].leg_a.src, s[1].src);
        assert_eq!(calls[1].leg_b.as_ref().map(|l| l.streams.clone()), Some(vec![0]));
    }

    #[test]
    fn ssrc_change_stays_on_one_leg() {
        let s = vec![
            stream("10.0.0.1:4000", "10.0.0.2:6000", 1, 0, 40, vec![0, 1]),
            stream("10.0.0.2:6000", "10.0.0.1:4000", 7, 1, 90, vec![2, 4, 6]),
            stream("10.0.0.1:4000", "10.0.0.2:6000", 2, 50, 90, vec![3, 5]),
        ];
        let calls = pair_calls(&s);
        assert_eq!(calls.len(), 1);
        let a = &calls[0].leg_a;
        assert_eq!(a.streams, vec![0, 2]);
        assert_eq!(a.datagrams, vec![0, 1, 3, 5]);
        assert_eq!((a.packet_count, a.first_time, a.last_time), (4, HostTime(0), HostTime(90)));
        assert_eq!(calls[0].leg_b.as_ref().map(|l| l.packet_count), Some(3));
    }

    #[test]
    fn asymmetric_ports_pair_when_overlapping() {
        // 172:4376 -> 110:4376 answered by 110:4374 -> 172:4376 (SIP_DTMF2's shape).
        let s = vec![
            stream("192.168.105.110:4374", "192.168.105.172:4376", 1, 10, 100, vec![0, 2]),
            stream("192.168.105.172:4376", "192.168.105.110:4376", 2, 12, 100, vec![1, 3]),
            stream("192.168.105.110:4380", "192.168.105.172:4376", 3, 200, 300, vec![4, 5]),
        ];
        let calls = pair_calls(&s);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].leg_a.streams, vec![0]);
        assert_eq!(calls[0].leg_b.as_ref().map(|l| l.streams.clone()), Some(vec![1]));
        assert!(calls[1].leg_b.is_none(), "no overlap in time: not the same call");
    }

    #[test]
    fn same_destination_different_sources_do_not_pair() {
        let s = vec![
            stream("10.0.2.15:27942", "10.0.2.20:6000", 1, 0, 10, vec![0, 1]),
            stream("10.0.2.15:28102", "10.0.2.20:6000", 2, 5, 20, vec![2, 3]),
        ];
        let calls = pair_calls(&s);
        assert_eq!(calls.len(), 2);
        assert!(calls.iter().all(|c| c.leg_b.is_none()));
    }
}
