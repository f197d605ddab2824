//! Target `jitter_ops`: one leg's ingress (RFC 3550 App. A.1 validation, strict source,
//! extension) feeding a jitter buffer, driven by a sequence of network operations: RTP
//! packets numbered relative to the previous one (reordering, loss, duplicates, jumps,
//! SSRC changes), raw datagrams, packets from a foreign address, and time passing.
//!
//! Checked on every step:
//! - a packet from an address other than the bound/learned remote is never accepted
//!   (strict source, RTP bleed);
//! - an accepted packet's extended numbers agree with its wire numbers, and no
//!   (epoch, extended sequence number) is ever accepted twice;
//! - the buffer never holds more than its capacity;
//! - frames play in strictly increasing (epoch, extended sequence number) order.

use crate::{Blob, Seed, ToSeed};
use arbitrary::Arbitrary;
use jyqq_media::jitter::{JitterBuffer, JitterConfig, Playout, PlayoutDelay};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadFormat, PayloadMap, PayloadType, RtpHeader, RtpPacket, Ssrc};
use jyqq_media::{ClockRate, HostTime};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

/// Most `pop` calls one operation may cause; a longer pause is skipped like a late host.
const MAX_POPS_PER_OP: u32 = 2_000;

/// The RTP clock of the stream.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// 8 kHz (G.711, G.722).
    Hz8000,
    /// 16 kHz.
    Hz16000,
    /// 48 kHz (Opus).
    Hz48000,
}

impl Clock {
    fn rate(self) -> ClockRate {
        match self {
            Clock::Hz8000 => ClockRate::HZ_8000,
            Clock::Hz16000 => ClockRate::new(16_000),
            Clock::Hz48000 => ClockRate::HZ_48000,
        }
    }

    fn index(self) -> u32 {
        self as u32
    }
}

/// Configuration of the ingress and the buffer.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct JitterSetup {
    /// Buffer capacity − 1 (so 1..=256 packets).
    pub capacity: u8,
    /// Adaptive (true) or fixed playout delay.
    pub adaptive: bool,
    /// Fixed delay, or the adaptive initial delay, in ms.
    pub delay_ms: u8,
    /// RTP clock rate.
    pub clock: Clock,
    /// Initial ptime in ms (0 means the default 20 ms).
    pub ptime_ms: u8,
    /// Strict source learning.
    pub strict_source: bool,
    /// MIN_SEQUENTIAL (taken modulo 4).
    pub probation: u8,
    /// MAX_MISORDER.
    pub max_misorder: u16,
    /// MAX_DROPOUT.
    pub max_dropout: u16,
    /// Whether the remote address is bound from signalling before the first packet.
    pub bind_remote: bool,
}

/// One network event.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum NetOp<'a> {
    /// A well-formed RTP packet whose numbers step from the previous packet's.
    Rtp {
        /// Microseconds since the previous event.
        dt_us: u16,
        /// Sent from a foreign address instead of the remote's.
        foreign: bool,
        /// SSRC choice (index into four fixed SSRCs, modulo 4).
        ssrc: u8,
        /// Sequence number step (wrapping).
        seq_step: i8,
        /// Timestamp step in RTP ticks (wrapping).
        ts_step: i16,
        /// Marker bit.
        marker: bool,
        /// Payload type (7 bits).
        pt: u8,
        /// Padding bytes appended (RFC 3550 §5.1 P bit; 0 = none).
        padding: u8,
        /// The payload.
        payload: Blob<'a>,
    },
    /// Any datagram.
    Raw {
        /// Microseconds since the previous event.
        dt_us: u16,
        /// Sent from a foreign address instead of the remote's.
        foreign: bool,
        /// The bytes.
        bytes: Blob<'a>,
    },
    /// Time passes without a packet.
    Advance {
        /// Milliseconds.
        ms: u16,
    },
    /// The next packet's numbers restart here (sender restart, transfer).
    Jump {
        /// Next sequence number.
        seq: u16,
        /// Next timestamp.
        ts: u32,
    },
}

impl ToSeed for JitterSetup {
    fn to_seed(&self, s: &mut Seed) {
        s.u8(self.capacity).bool(self.adaptive).u8(self.delay_ms).variant(self.clock.index(), 3);
        s.u8(self.ptime_ms).bool(self.strict_source).u8(self.probation).u16(self.max_misorder);
        s.u16(self.max_dropout).bool(self.bind_remote);
    }
}

impl ToSeed for NetOp<'_> {
    fn to_seed(&self, s: &mut Seed) {
        match self {
            NetOp::Rtp { dt_us, foreign, ssrc, seq_step, ts_step, marker, pt, padding, payload } => {
                s.variant(0, 4).u16(*dt_us).bool(*foreign).u8(*ssrc).i8(*seq_step).i16(*ts_step);
                s.bool(*marker).u8(*pt).u8(*padding).put(payload);
            }
            NetOp::Raw { dt_us, foreign, bytes } => {
                s.variant(1, 4).u16(*dt_us).bool(*foreign).put(bytes);
            }
            NetOp::Advance { ms } => {
                s.variant(2, 4).u16(*ms);
            }
            NetOp::Jump { seq, ts } => {
                s.variant(3, 4).u16(*seq).u32(*ts);
            }
        }
    }
}

/// The four SSRCs an `Rtp` operation chooses from.
pub const SSRCS: [u32; 4] = [0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444];
/// The remote's address.
pub const REMOTE: &str = "192.0.2.10:40000";
/// The stranger's address.
pub const FOREIGN: &str = "203.0.113.66:40000";

/// The payload types the leg knows: RFC 3551 statics plus Opus (111) and telephone-event (101).
fn payloads(clock: ClockRate) -> PayloadMap {
    let mut map = PayloadMap::static_defaults();
    let _ = map.insert(PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2));
    let _ = map.insert(PayloadFormat::new(PayloadType(101), "telephone-event", clock, 1));
    map
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((setup, ops)) = crate::decode_ops::<JitterSetup, NetOp>(data) else { return };
    let clock = setup.clock.rate();
    let ptime = Duration::from_millis(if setup.ptime_ms == 0 { 20 } else { u64::from(setup.ptime_ms) });
    let capacity = usize::from(setup.capacity) + 1;
    let delay = Duration::from_millis(u64::from(setup.delay_ms));
    let delay = if setup.adaptive {
        PlayoutDelay::Adaptive { min: Duration::from_millis(20), max: Duration::from_millis(500), initial: delay }
    } else {
        PlayoutDelay::Fixed(delay)
    };
    let mut icfg = IngressConfig::new(payloads(clock));
    icfg.strict_source = setup.strict_source;
    icfg.probation = u16::from(setup.probation % 4);
    icfg.max_misorder = setup.max_misorder;
    icfg.max_dropout = setup.max_dropout;
    let mut ingress = Ingress::new(icfg);
    let remote: SocketAddr = REMOTE.parse().expect("constant address");
    let foreign: SocketAddr = FOREIGN.parse().expect("constant address");
    if setup.bind_remote {
        ingress.bind_remote(remote);
    }
    let mut jb =
        JitterBuffer::new(JitterConfig::new(clock).with_ptime(ptime).with_delay(delay).with_capacity(capacity));
    let mut accepted = HashSet::new();
    let mut last_played: Option<(u32, u64)> = None;
    let (mut now, mut next_pop) = (0u64, ptime.as_nanos() as u64);
    let (mut seq, mut ts) = (1000u16, 90_000u32);
    let mut buf = Vec::with_capacity(2048);
    for op in ops {
        let sent = match op {
            NetOp::Rtp { dt_us, foreign: f, ssrc, seq_step, ts_step, marker, pt, padding, payload } => {
                now += u64::from(dt_us) * 1_000;
                seq = seq.wrapping_add(seq_step as u16);
                ts = ts.wrapping_add(i32::from(ts_step) as u32);
                buf.clear();
                let header = RtpHeader::new(PayloadType(pt & 0x7F), seq, ts, Ssrc(SSRCS[usize::from(ssrc % 4)]))
                    .with_marker(marker)
                    .with_padding(padding);
                if header.write(payload.0, &mut buf).is_err() {
                    continue;
                }
                Some((if f { foreign } else { remote }, buf.as_slice()))
            }
            NetOp::Raw { dt_us, foreign: f, bytes } => {
                now += u64::from(dt_us) * 1_000;
                Some((if f { foreign } else { remote }, bytes.0))
            }
            NetOp::Advance { ms } => {
                now += u64::from(ms) * 1_000_000;
                None
            }
            NetOp::Jump { seq: s, ts: t } => {
                seq = s;
                ts = t;
                None
            }
        };
        if let Some((from, dgram)) = sent {
            let bound = ingress.remote();
            if let Ok(p) = ingress.receive(HostTime::from_nanos(now), from, dgram) {
                if setup.strict_source {
                    assert!(bound.is_none_or(|r| r == from), "packet from {from} accepted, remote {bound:?}");
                }
                // Invariant: ingress accepted it, so it parses.
                let wire = RtpPacket::parse(dgram).expect("accepted packets parse");
                assert_eq!(p.seq.wire(), wire.sequence());
                assert_eq!(p.timestamp.wire(), wire.timestamp());
                assert!(accepted.insert((p.epoch, p.seq)), "({:?}, {:?}) accepted twice", p.epoch, p.seq);
                std::hint::black_box(jb.insert(p));
                assert!(jb.len() <= capacity);
            }
        }
        let mut pops = 0;
        while next_pop <= now {
            if pops == MAX_POPS_PER_OP {
                let step = ptime.as_nanos() as u64;
                next_pop += (now - next_pop) / step * step;
            }
            pops += 1;
            if let Playout::Frame { packet, .. } = jb.pop(HostTime::from_nanos(next_pop)) {
                let key = (packet.epoch.0, packet.seq.0);
                assert!(last_played.is_none_or(|l| l < key), "played {key:?} after {last_played:?}");
                last_played = Some(key);
                std::hint::black_box(&packet.payload);
            }
            next_pop += ptime.as_nanos() as u64;
        }
        let stats = jb.stats();
        assert!(stats.buffered_packets <= capacity);
        std::hint::black_box(stats);
    }
    std::hint::black_box(ingress.counters());
}
