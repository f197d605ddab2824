//! Target `telephone_event`: RFC 4733 reception ([`TelephoneEventReceiver`]) driven by
//! event packets (updates, end packets and their retransmissions, long events, reordering,
//! SSRC and epoch changes), raw payloads, timeouts and the end of the call.
//!
//! Checked: every digit it reports is a DTMF key (event 0–15) whose duration fits the ticks
//! the packets could describe, digits never come faster than packets (at most two per packet
//! plus one at a timeout or the end), and after `finish` no event stays open.

use crate::{Blob, Seed, ToSeed};
use arbitrary::Arbitrary;
use jyqq_media::analysis::{TelephoneEvent, TelephoneEventReceiver};
use jyqq_media::rtp::{ExtTimestamp, MediaPacket, PayloadType, SeqNo, Ssrc, StreamEpoch};
use jyqq_media::{ClockRate, HostTime};
use std::time::Duration;

/// The receiver's setup.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DtmfSetup {
    /// Telephone-event clock: 8000, 16000 or 48000 (index modulo 3).
    pub clock: u8,
    /// Event timeout in ms (0 means 1 s).
    pub timeout_ms: u16,
}

/// One thing that happens to the receiver.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum DtmfOp<'a> {
    /// A telephone-event packet.
    Event {
        /// Milliseconds since the previous event.
        dt_ms: u8,
        /// SSRC choice (of two).
        other_ssrc: bool,
        /// Epoch step (0 keeps the epoch).
        epoch_step: u8,
        /// Sequence step.
        seq_step: i8,
        /// Timestamp step in ticks (a new event has a new timestamp).
        ts_step: i32,
        /// Marker bit (first packet of an event).
        marker: bool,
        /// Event code.
        event: u8,
        /// E bit.
        end: bool,
        /// Volume (6 bits used).
        volume: u8,
        /// Duration in ticks.
        duration: u16,
        /// Redundant earlier blocks before this one (RFC 4733 §2.5.1.5), modulo 4.
        blocks: u8,
    },
    /// A packet with an arbitrary payload.
    Raw {
        /// Milliseconds since the previous event.
        dt_ms: u8,
        /// Timestamp step in ticks.
        ts_step: i16,
        /// Marker bit.
        marker: bool,
        /// The payload.
        payload: Blob<'a>,
    },
    /// Time passes; an open event may time out.
    Timeout {
        /// Milliseconds.
        ms: u16,
    },
    /// The call ends.
    Finish,
}

impl ToSeed for DtmfSetup {
    fn to_seed(&self, s: &mut Seed) {
        s.u8(self.clock).u16(self.timeout_ms);
    }
}

impl ToSeed for DtmfOp<'_> {
    fn to_seed(&self, s: &mut Seed) {
        match self {
            DtmfOp::Event {
                dt_ms,
                other_ssrc,
                epoch_step,
                seq_step,
                ts_step,
                marker,
                event,
                end,
                volume,
                duration,
                blocks,
            } => {
                s.variant(0, 4).u8(*dt_ms).bool(*other_ssrc).u8(*epoch_step).i8(*seq_step).i32(*ts_step);
                s.bool(*marker).u8(*event).bool(*end).u8(*volume).u16(*duration).u8(*blocks);
            }
            DtmfOp::Raw { dt_ms, ts_step, marker, payload } => {
                s.variant(1, 4).u8(*dt_ms).i16(*ts_step).bool(*marker).put(payload);
            }
            DtmfOp::Timeout { ms } => {
                s.variant(2, 4).u16(*ms);
            }
            DtmfOp::Finish => {
                s.variant(3, 4);
            }
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((setup, ops)) = crate::decode_ops::<DtmfSetup, DtmfOp>(data) else { return };
    let clock = [ClockRate::HZ_8000, ClockRate::new(16_000), ClockRate::HZ_48000][usize::from(setup.clock % 3)];
    let timeout = Duration::from_millis(if setup.timeout_ms == 0 { 1000 } else { u64::from(setup.timeout_ms) });
    let mut rx = TelephoneEventReceiver::new(timeout);
    let (mut now, mut seq, mut ts, mut epoch) = (0u64, 1u64 << 20, 1u64 << 32, 0u32);
    let mut packets = 0u64;
    let mut digits = 0u64;
    let mut closes = 0u64;
    let mut payload = Vec::with_capacity(16);
    for op in ops {
        let packet = match op {
            DtmfOp::Event {
                dt_ms,
                other_ssrc,
                epoch_step,
                seq_step,
                ts_step,
                marker,
                event,
                end,
                volume,
                duration,
                blocks,
            } => {
                now += u64::from(dt_ms) * 1_000_000;
                epoch = epoch.saturating_add(u32::from(epoch_step));
                seq = seq.saturating_add_signed(i64::from(seq_step));
                ts = ts.saturating_add_signed(i64::from(ts_step));
                payload.clear();
                let ev = TelephoneEvent { event, end, volume: volume & 0x3F, duration };
                for k in 0..(blocks % 4) {
                    let old = TelephoneEvent { event: event.wrapping_sub(k + 1), end: true, volume: 10, duration: 800 };
                    payload.extend_from_slice(&old.to_bytes());
                }
                payload.extend_from_slice(&ev.to_bytes());
                Some(packet_at(now, other_ssrc, epoch, seq, ts, marker, &payload))
            }
            DtmfOp::Raw { dt_ms, ts_step, marker, payload: p } => {
                now += u64::from(dt_ms) * 1_000_000;
                ts = ts.saturating_add_signed(i64::from(ts_step));
                seq = seq.saturating_add(1);
                Some(packet_at(now, false, epoch, seq, ts, marker, p.0))
            }
            DtmfOp::Timeout { ms } => {
                now += u64::from(ms) * 1_000_000;
                rx.handle_timeout(HostTime::from_nanos(now));
                closes += 1;
                None
            }
            DtmfOp::Finish => {
                rx.finish();
                closes += 1;
                assert_eq!(rx.poll_timeout(), None, "an event is still open after finish");
                None
            }
        };
        if let Some(p) = packet {
            packets += 1;
            rx.handle(&p, clock);
        }
        while let Some(d) = rx.poll_digit() {
            digits += 1;
            assert!(d.digit.event_code() < 16, "{:?} is not a key", d.digit);
            // A press spans at most every timestamp the receiver could have chained (65 536 +
            // clock/2 ticks per segment) plus one 16-bit duration: bounded by the packets seen.
            let max_ticks = (packets + 1) * (65_536 + u64::from(clock.hz()) / 2 + 65_535);
            assert!(d.duration <= clock.duration_of(max_ticks), "{:?} longer than {max_ticks} ticks", d.duration);
            assert!(d.at.as_nanos() <= now);
        }
        assert!(digits <= 2 * packets + closes, "{digits} digits from {packets} packets");
    }
    std::hint::black_box(rx.counters());
}

fn packet_at(now: u64, other_ssrc: bool, epoch: u32, seq: u64, ts: u64, marker: bool, payload: &[u8]) -> MediaPacket {
    MediaPacket {
        arrival: HostTime::from_nanos(now),
        ssrc: Ssrc(if other_ssrc { 0xBBBB_0002 } else { 0xAAAA_0001 }),
        payload_type: PayloadType(101),
        marker,
        seq: SeqNo(seq),
        timestamp: ExtTimestamp(ts),
        epoch: StreamEpoch(epoch),
        payload: bytes::Bytes::copy_from_slice(payload),
    }
}
