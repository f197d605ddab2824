//! RFC 4733 telephone-event reception: one digit per event, however many end packets
//! repeat (CASES B18), long events split into segments (§2.5.1.3), updates merged, and each
//! event timed on its payload type's own clock rate (e.g. telephone-event/8000 on a G.722
//! leg, CASES B17).
//!
//! Event identity (RFC 4733 §2.5.1.2): every packet of one event carries the event's start
//! timestamp. A packet with the timestamp of an event already ended is a retransmitted end
//! packet or a late update and is ignored. A new timestamp with the same event code, no
//! marker bit and the previous event not ended, at most 65 536 ticks + ½ s after the previous
//! segment's timestamp, continues that event (a long press past the 16-bit duration, or a
//! sender that re-timestamps updates).

use super::dtmf::{DtmfDigit, TelephoneEvent};
use crate::audio::ClockRate;
use crate::rtp::{MediaPacket, Ssrc, StreamEpoch};
use crate::time::HostTime;
use std::time::Duration;

/// A key press recognised on a leg, RFC 4733 or in-band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedDigit {
    /// The key.
    pub digit: DtmfDigit,
    /// Host time the press began: arrival of the event's first packet (RFC 4733), or the
    /// start of the first 8 kHz block holding the tone pair (in-band).
    pub at: HostTime,
    /// Duration of the press: the final duration field on the event's clock (RFC 4733) or the
    /// tone's measured length (in-band, to a 12.75 ms block).
    pub duration: Duration,
    /// Power of the tone in dBm0 (RFC 4733: minus the volume field; in-band: the weaker tone).
    pub level_dbm0: f32,
    /// Whether the press ended properly (end packets seen / tone ended) rather than being
    /// closed by a timeout, a new event or the end of the call.
    pub ended: bool,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    ssrc: Ssrc,
    epoch: StreamEpoch,
    event: u8,
    /// Timestamp of the event's first segment and of the current segment (extended ticks).
    first_ts: u64,
    seg_ts: u64,
    /// Highest duration seen in the current segment.
    seg_duration: u16,
    clock: ClockRate,
    start: HostTime,
    last_arrival: HostTime,
    volume: u8,
}

impl Current {
    fn ticks(&self) -> u64 {
        self.seg_ts.saturating_sub(self.first_ts).saturating_add(u64::from(self.seg_duration))
    }

    fn digit(&self, ended: bool) -> Option<DetectedDigit> {
        Some(DetectedDigit {
            digit: DtmfDigit::from_event(self.event)?,
            at: self.start,
            duration: self.clock.duration_of(self.ticks()),
            level_dbm0: -f32::from(self.volume),
            ended,
        })
    }
}

/// Counters of a [`TelephoneEventReceiver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelephoneEventCounters {
    /// Telephone-event packets handled.
    pub packets: u64,
    /// Packets of an event already ended (repeated end packets, late updates): ignored.
    pub repeats: u64,
    /// Payloads shorter than one 4-byte event block: dropped.
    pub malformed: u64,
    /// Events with codes above 15 (flash, tones): not keys, ignored.
    pub non_dtmf: u64,
    /// Packets older than the current event (reordered behind a newer event): ignored.
    pub stale: u64,
    /// Events closed without an end packet (timeout, next event, end of call).
    pub unterminated: u64,
}

/// Turns one leg's telephone-event packets into digits.
///
/// Feed every accepted packet of a telephone-event payload type with [`Self::handle`] (in
/// arrival order), call [`Self::handle_timeout`] when [`Self::poll_timeout`] is due, and
/// [`Self::finish`] at the end of the call; after each, drain [`Self::poll_digit`].
#[derive(Debug, Clone)]
pub struct TelephoneEventReceiver {
    current: Option<Current>,
    /// Whether `current` has seen its end packet (it is kept to recognise repeats).
    ended: bool,
    timeout: Duration,
    counters: TelephoneEventCounters,
    /// Completed digits not yet polled (at most two per packet; drained by `poll_digit`).
    ready: std::collections::VecDeque<DetectedDigit>,
    /// A new event's digit completed by its own (first) packet.
    pending_new: Option<DetectedDigit>,
}

impl TelephoneEventReceiver {
    /// A receiver that closes an event after `timeout` without packets (RFC 4733 senders
    /// update every 50 ms or so; 1 s is a safe default).
    pub fn new(timeout: Duration) -> Self {
        TelephoneEventReceiver {
            current: None,
            ended: false,
            timeout,
            counters: TelephoneEventCounters::default(),
            ready: std::collections::VecDeque::with_capacity(4),
            pending_new: None,
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> &TelephoneEventCounters {
        &self.counters
    }

    /// Handles one telephone-event packet whose payload type runs at `clock` ticks/s.
    /// A packet completes at most two digits (the previous, unterminated event when this
    /// packet starts a new one, and its own event when it carries the first end bit); poll
    /// them with [`Self::poll_digit`].
    pub fn handle(&mut self, packet: &MediaPacket, clock: ClockRate) {
        if let Some(d) = self.handle_inner(packet, clock) {
            self.ready.push_back(d);
        }
        if self.ended {
            if let Some(d) = self.pending_new.take() {
                self.ready.push_back(d);
            }
        }
    }

    /// The next completed digit, in completion order.
    #[must_use]
    pub fn poll_digit(&mut self) -> Option<DetectedDigit> {
        self.ready.pop_front()
    }

    fn handle_inner(&mut self, packet: &MediaPacket, clock: ClockRate) -> Option<DetectedDigit> {
        self.counters.packets += 1;
        let Some(ev) = TelephoneEvent::parse_last(&packet.payload) else {
            self.counters.malformed += 1;
            return None;
        };
        let ts = packet.timestamp.0;
        let mut out = None;
        if let Some(cur) = self.current.as_mut() {
            let same_stream = cur.ssrc == packet.ssrc && cur.epoch == packet.epoch;
            if same_stream && ts == cur.seg_ts && ev.event == cur.event {
                // An update, or a repeated end packet.
                if self.ended {
                    self.counters.repeats += 1;
                    return None;
                }
                cur.seg_duration = cur.seg_duration.max(ev.duration);
                cur.last_arrival = packet.arrival;
                cur.volume = ev.volume;
                if ev.end {
                    self.ended = true;
                    return cur.digit(true);
                }
                return None;
            }
            if same_stream && ts < cur.seg_ts {
                self.counters.stale += 1;
                return None;
            }
            let continues = same_stream
                && !self.ended
                && !packet.marker
                && ev.event == cur.event
                && ts > cur.seg_ts
                && ts - cur.seg_ts <= 65_536 + u64::from(clock.hz() / 2);
            if continues {
                cur.seg_ts = ts;
                cur.seg_duration = ev.duration;
                cur.last_arrival = packet.arrival;
                if ev.end {
                    self.ended = true;
                    return cur.digit(true);
                }
                return None;
            }
            if !self.ended {
                self.counters.unterminated += 1;
                out = cur.digit(false);
            }
        }
        if DtmfDigit::from_event(ev.event).is_none() {
            self.counters.non_dtmf += 1;
        }
        self.current = Some(Current {
            ssrc: packet.ssrc,
            epoch: packet.epoch,
            event: ev.event,
            first_ts: ts,
            seg_ts: ts,
            seg_duration: ev.duration,
            clock,
            start: packet.arrival,
            last_arrival: packet.arrival,
            volume: ev.volume,
        });
        self.ended = false;
        if ev.end {
            self.ended = true;
            // A lone end packet is still one press, reported after the previous event.
            self.pending_new = self.current.as_ref().and_then(|c| c.digit(true));
        }
        out
    }

    /// When an open event will be closed for lack of packets, if one is open.
    pub fn poll_timeout(&self) -> Option<HostTime> {
        match (&self.current, self.ended) {
            (Some(c), false) => Some(c.last_arrival.saturating_add(self.timeout)),
            _ => None,
        }
    }

    /// Closes an open event whose last packet is older than the timeout at `now`.
    pub fn handle_timeout(&mut self, now: HostTime) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.close();
        }
    }

    /// Closes an open event (end of call).
    pub fn finish(&mut self) {
        self.close();
    }

    fn close(&mut self) {
        if self.ended {
            return;
        }
        let Some(cur) = self.current else { return };
        self.ended = true;
        self.counters.unterminated += 1;
        if let Some(d) = cur.digit(false) {
            self.ready.push_back(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtTimestamp, PayloadType, SeqNo};
    use bytes::Bytes;

    fn pkt(seq: u64, ts: u64, marker: bool, ev: TelephoneEvent, ms: u64) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::from_millis(ms),
            ssrc: Ssrc(7),
            payload_type: PayloadType(101),
            marker,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(ts),
            epoch: StreamEpoch(0),
            payload: Bytes::copy_from_slice(&ev.to_bytes()),
        }
    }

    #[test]
    fn b18_repeated_end_packets_give_one_digit() {
        // CASES B18: seq 500..511, ts 480000, durations 160..1440, then 3 × E with 1600.
        let mut rx = TelephoneEventReceiver::new(Duration::from_secs(1));
        let mut digits = Vec::new();
        for i in 0..12u64 {
            let end = i >= 9;
            let duration = if end { 1600 } else { 160 * (i as u16 + 1) };
            let ev = TelephoneEvent { event: 1, end, volume: 10, duration };
            rx.handle(&pkt(500 + i, 480_000, i == 0, ev, 20 * i), ClockRate::HZ_8000);
            while let Some(d) = rx.poll_digit() {
                digits.push(d);
            }
        }
        assert_eq!(digits.len(), 1);
        assert_eq!(digits[0].digit.as_char(), '1');
        assert_eq!(digits[0].duration, Duration::from_millis(200));
        assert_eq!(digits[0].at, HostTime::ZERO);
        assert!(digits[0].ended);
        assert_eq!(rx.counters().repeats, 2);
        rx.finish();
        assert_eq!(rx.poll_digit(), None);
    }

    #[test]
    fn long_press_segments_merge_and_timeout_closes() {
        let mut rx = TelephoneEventReceiver::new(Duration::from_secs(1));
        let c = ClockRate::HZ_8000;
        let e = |end, duration| TelephoneEvent { event: 5, end, volume: 10, duration };
        rx.handle(&pkt(1, 1000, true, e(false, 400), 0), c);
        rx.handle(&pkt(2, 1000, false, e(false, 65_535), 8000), c);
        // New segment (no marker) at ts + 65535, then its end.
        rx.handle(&pkt(3, 66_535, false, e(false, 800), 8200), c);
        assert_eq!(rx.poll_digit(), None);
        rx.handle(&pkt(4, 66_535, false, e(true, 1600), 8300), c);
        let d = rx.poll_digit().expect("digit");
        assert_eq!(d.digit.as_char(), '5');
        assert_eq!(d.duration, c.duration_of(65_535 + 1600));
        // An event without end: closed by the timeout.
        rx.handle(&pkt(5, 200_000, true, e(false, 160), 20_000), c);
        assert_eq!(rx.poll_digit(), None);
        assert_eq!(rx.poll_timeout(), Some(HostTime::from_millis(21_000)));
        rx.handle_timeout(HostTime::from_millis(20_500));
        assert_eq!(rx.poll_digit(), None);
        rx.handle_timeout(HostTime::from_millis(21_000));
        let d = rx.poll_digit().expect("closed");
        assert!(!d.ended);
        assert_eq!(rx.counters().unterminated, 1);
    }

    #[test]
    fn event_clock_is_the_payload_types_own() {
        // B17: telephone-event/8000 on a G.722 leg: 800 ticks = 100 ms, whatever the audio rate.
        let mut rx = TelephoneEventReceiver::new(Duration::from_secs(1));
        let ev = TelephoneEvent { event: 5, end: true, volume: 10, duration: 800 };
        rx.handle(&pkt(1, 0, true, ev, 0), ClockRate::HZ_8000);
        let d = rx.poll_digit().unwrap();
        assert_eq!(d.duration, Duration::from_millis(100));
        let mut rx = TelephoneEventReceiver::new(Duration::from_secs(1));
        rx.handle(&pkt(1, 0, true, ev, 0), ClockRate::new(16_000));
        let d = rx.poll_digit().unwrap();
        assert_eq!(d.duration, Duration::from_millis(50));
    }
}
