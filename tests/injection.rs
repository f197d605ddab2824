//! Floods and injection at the session level (sans-IO, simulated clock): a real call (a tone
//! on each leg, a guard listening) while 100 000 datagrams per second arrive for 10 simulated
//! seconds from addresses that are not the legs' remotes — RTP with the call's own SSRC and
//! plausible numbers (RTP bleed), random SSRCs, the other leg's remote, the remote's IP on
//! another port, malformed, oversized (65 000 bytes), zero-length payloads, padding-only
//! packets, RTCP, random bytes — plus malformed datagrams spoofing the remote's own address.
//!
//! Compared with the same call without the flood: not one foreign datagram is accepted (the
//! ingress counters account for every one), the recording is byte-identical, every packet
//! sent to the legs and every tap frame is identical, so are the events, the jitter buffers'
//! state and the receive statistics, and the heap of the thread running the call is the same
//! size at every second of the call (nothing queues up). The live-relay version (real sockets)
//! belongs to the relay's tests.

mod alloc_counter;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

use jyqq_media::codec::ulaw_encode;
use jyqq_media::mix::{Listen, TapKind};
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, EndCause, LegConfig, Output, Policy, SessionConfig, SessionEvent};
use jyqq_media::{ClockRate, HostTime, Leg};
use std::f64::consts::PI;
use std::net::SocketAddr;

const REMOTE: [&str; 2] = ["192.0.2.1:4000", "198.51.100.2:5000"];
/// The legs' phones' SSRCs (what an RTP-bleed attacker copies).
const CALL_SSRC: [u32; 2] = [0x1111_1111, 0x2222_2222];
/// Strangers: other hosts, and the remote's own IP on another port.
const FOREIGN: [&str; 4] = ["203.0.113.66:40000", "203.0.113.67:5004", "192.0.2.1:4001", "[2001:db8::66]:4000"];
/// Flood rate: one datagram every 10 µs.
const FLOOD_STEP_NS: u64 = 10_000;

fn ms(t: u64) -> HostTime {
    HostTime::from_millis(t)
}

/// Packet k of a leg's 20 ms PCMU tone (leg A 500 Hz, leg B 1 kHz).
fn tone_packet(leg: usize, k: u32, out: &mut Vec<u8>) {
    let freq = [500.0, 1000.0][leg];
    let payload: Vec<u8> = (0..160)
        .map(|i| ulaw_encode((8000.0 * (2.0 * PI * freq * f64::from(k * 160 + i) / 8000.0).sin()) as i16))
        .collect();
    out.clear();
    RtpHeader::new(PayloadType(0), seq_of(leg, k), ts_of(leg, k), Ssrc(CALL_SSRC[leg]))
        .with_marker(k == 0)
        .write(&payload, out)
        .unwrap();
}

fn seq_of(leg: usize, k: u32) -> u16 {
    [65_000u16, 200][leg].wrapping_add(k as u16)
}

fn ts_of(leg: usize, k: u32) -> u32 {
    [1_000u32, u32::MAX - 40_000][leg].wrapping_add(160 * k)
}

/// Everything the call gave out, and its state along the way.
#[derive(Default)]
struct Run {
    transmits: Vec<(Leg, Vec<u8>)>,
    taps: Vec<Vec<i16>>,
    ogg: Vec<u8>,
    events: Vec<SessionEvent>,
    /// Heap bytes the call added on this thread, at each whole second of the call.
    heap: Vec<isize>,
    /// Jitter buffer depth of each leg at every tick.
    depths: Vec<[usize; 2]>,
}

fn drain(s: &mut CallSession, now: HostTime, r: &mut Run) {
    while let Some(o) = s.poll_output(now) {
        match o {
            Output::Transmit { leg, packet } => r.transmits.push((leg, packet)),
            Output::Tap { pcm, .. } => r.taps.push(pcm),
            Output::Recording(p) => r.ogg.extend_from_slice(&p.data),
            Output::Event(e) => r.events.push(e),
            Output::Timeout(_) => break,
            _ => {}
        }
    }
}

/// The flood's datagram generator (a 64-bit LCG) and its bookkeeping.
struct Flood {
    rng: u64,
    /// Datagrams sent to each leg from an address other than its remote.
    foreign: [u64; 2],
    /// Malformed datagrams sent to each leg from its remote's own address (spoofed).
    spoofed_garbage: [u64; 2],
    oversized: Vec<u8>,
    buf: Vec<u8>,
    foreign_addrs: Vec<SocketAddr>,
}

impl Flood {
    fn new() -> Flood {
        let mut oversized = Vec::new();
        RtpHeader::new(PayloadType(0), 1, 1, Ssrc(CALL_SSRC[0]))
            .write(&vec![0x55; 65_000 - 12], &mut oversized)
            .unwrap();
        Flood {
            rng: 0x9E37_79B9_7F4A_7C15,
            foreign: [0; 2],
            spoofed_garbage: [0; 2],
            oversized,
            buf: Vec::with_capacity(2048),
            foreign_addrs: FOREIGN.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn next_u32(&mut self) -> u32 {
        self.rng = self.rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.rng >> 33) as u32
    }

    /// The next flood datagram: (leg, sender, bytes). `k` is the legs' current frame index,
    /// so bleed packets carry numbers the real stream is about to use.
    fn next(&mut self, k: u32) -> (usize, SocketAddr, &[u8]) {
        let r = self.next_u32();
        let leg = (r & 1) as usize;
        let kind = (r >> 1) % 16;
        let from = if kind == 12 {
            REMOTE[1 - leg].parse().unwrap() // the other leg's phone
        } else {
            self.foreign_addrs[(r >> 5) as usize % self.foreign_addrs.len()]
        };
        let ssrc = Ssrc(CALL_SSRC[leg]);
        let (seq, ts) = (seq_of(leg, k + (r >> 8) % 3), ts_of(leg, k + (r >> 8) % 3));
        self.buf.clear();
        let spoofed = match kind {
            // RTP bleed: the call's SSRC, the next sequence numbers, loud payload.
            0..=3 | 14 | 15 | 12 => {
                RtpHeader::new(PayloadType(0), seq, ts, ssrc).write(&[0x80; 160], &mut self.buf).unwrap();
                false
            }
            4 => {
                let other = Ssrc(self.next_u32());
                RtpHeader::new(PayloadType(0), seq, ts, other).write(&[0x00; 160], &mut self.buf).unwrap();
                false
            }
            5 => {
                self.buf.extend_from_slice(&[0x00, 0x00, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11]);
                false
            }
            6 => {
                self.buf.extend_from_slice(&[0x80, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00]);
                false
            }
            7 => return (leg, from, self.oversized_for(leg)),
            8 => {
                RtpHeader::new(PayloadType(0), seq, ts, ssrc).write(&[], &mut self.buf).unwrap();
                false
            }
            9 => {
                // Padding only: P bit, four bytes of padding, no payload.
                RtpHeader::new(PayloadType(0), seq, ts, ssrc).with_padding(4).write(&[], &mut self.buf).unwrap();
                false
            }
            10 => {
                let n = 1 + (r >> 9) as usize % 200;
                for _ in 0..n {
                    let b = self.next_u32() as u8;
                    self.buf.push(b);
                }
                false
            }
            11 => {
                // An RTCP sender report.
                self.buf.extend_from_slice(&[0x80, 200, 0, 6]);
                self.buf.extend_from_slice(&ssrc.0.to_be_bytes());
                self.buf.extend_from_slice(&[0; 20]);
                false
            }
            _ => {
                // kind 13: malformed datagrams from the remote's own (spoofed) address: bad
                // version, truncated, CSRC list past the end, extension past the end, padding
                // longer than the packet.
                let bad: &[&[u8]] = &[
                    &[0x40, 0x00, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11],
                    &[0x80, 0x00, 0x12],
                    &[0x8F, 0x00, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0, 0, 0, 0],
                    &[0x90, 0x00, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0xBE, 0xDE, 0, 100],
                    &[0xA0, 0x00, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0xFF, 0xFF, 0xFF, 200],
                ];
                self.buf.extend_from_slice(bad[(r >> 9) as usize % bad.len()]);
                true
            }
        };
        if spoofed {
            self.spoofed_garbage[leg] += 1;
            (leg, REMOTE[leg].parse().unwrap(), &self.buf)
        } else {
            self.foreign[leg] += 1;
            (leg, from, &self.buf)
        }
    }

    fn oversized_for(&mut self, leg: usize) -> &[u8] {
        self.foreign[leg] += 1;
        self.oversized[8..12].copy_from_slice(&CALL_SSRC[leg].to_be_bytes());
        &self.oversized
    }
}

/// Runs a `secs`-second call; with `flood`, the flood runs from `flood_from` to the end.
/// `bind`: the remotes are known from signalling (else learned from the first packet).
fn call(
    secs: u32,
    bind: bool,
    mut flood: Option<&mut Flood>,
    flood_from: HostTime,
    passthrough: bool,
) -> (Run, CallSession) {
    // Heap measured from here: the flood generator and any earlier run are not counted.
    let base = alloc_counter::live_bytes();
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let mut legs = [LegConfig::new(pcmu.clone(), Ssrc(0xA0A0)), LegConfig::new(pcmu, Ssrc(0xB0B0))];
    for (i, l) in legs.iter_mut().enumerate() {
        l.remote = bind.then(|| REMOTE[i].parse().unwrap());
    }
    let [a, b] = legs;
    let mut cfg = SessionConfig::new("flood-call", a, b);
    cfg.policy = Policy::RECORD;
    cfg.passthrough = passthrough;
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let mut r = Run::default();
    let remotes: [SocketAddr; 2] = [REMOTE[0].parse().unwrap(), REMOTE[1].parse().unwrap()];
    s.answer(ms(0));
    s.add_tap(ms(0), TapKind::Listen(Listen::STEREO)).unwrap();
    drain(&mut s, ms(0), &mut r);
    let mut pkt = Vec::with_capacity(200);
    let mut flood_t = flood_from.as_nanos();
    for k in 0..secs * 50 {
        let t0 = u64::from(k) * 20;
        // Leg A's packet at +5 ms, leg B's at +7 ms, the host timer at +20 ms; the flood
        // fills every 10 µs in between.
        for (leg, at) in [(0usize, ms(t0 + 5)), (1, ms(t0 + 7)), (2, ms(t0 + 20))] {
            if let Some(f) = flood.as_deref_mut() {
                while flood_t < at.as_nanos() {
                    let now = HostTime::from_nanos(flood_t);
                    let (l, from, d) = f.next(k);
                    s.handle_rtp(now, if l == 0 { Leg::A } else { Leg::B }, from, d).unwrap();
                    drain(&mut s, now, &mut r);
                    flood_t += FLOOD_STEP_NS;
                }
            }
            if leg < 2 {
                tone_packet(leg, k, &mut pkt);
                s.handle_rtp(at, if leg == 0 { Leg::A } else { Leg::B }, remotes[leg], &pkt).unwrap();
            } else {
                s.handle_timeout(at).unwrap();
                r.depths.push([s.receiver_stats(Leg::A).buffered_packets, s.receiver_stats(Leg::B).buffered_packets]);
            }
            drain(&mut s, at, &mut r);
        }
        if k % 50 == 49 {
            r.heap.push(alloc_counter::live_bytes() - base);
        }
    }
    let end = ms(u64::from(secs) * 1000);
    s.disconnect(end, EndCause::HangupA, None).unwrap();
    drain(&mut s, end, &mut r);
    (r, s)
}

fn compare(secs: u32, bind: bool, flood_from: HostTime, passthrough: bool) {
    let (quiet, qs) = call(secs, bind, None, flood_from, passthrough);
    let mut flood = Flood::new();
    let (loud, ls) = call(secs, bind, Some(&mut flood), flood_from, passthrough);
    let sent = flood.foreign[0] + flood.foreign[1] + flood.spoofed_garbage[0] + flood.spoofed_garbage[1];
    let expected = (u64::from(secs) * 1_000_000_000 - flood_from.as_nanos()) / FLOOD_STEP_NS;
    assert_eq!(sent, expected, "flood size");

    for (i, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
        let (q, l) = (qs.ingress(leg).counters(), ls.ingress(leg).counters());
        // Every foreign datagram was dropped as foreign, every spoofed one as malformed;
        // the call's own packets were all accepted, as without the flood.
        assert_eq!(q.accepted, u64::from(secs) * 50, "{leg:?} quiet accepted");
        assert_eq!(l.accepted, q.accepted, "{leg:?}: a foreign packet was accepted");
        assert_eq!(l.foreign_source, flood.foreign[i], "{leg:?} foreign drops");
        assert_eq!(l.malformed, flood.spoofed_garbage[i], "{leg:?} malformed drops");
        assert_eq!(l.datagrams, q.datagrams + flood.foreign[i] + flood.spoofed_garbage[i]);
        assert_eq!((l.ssrc_changes, l.sequence_restarts, l.duplicate, l.bad_sequence), (0, 0, 0, 0), "{leg:?}");
        assert_eq!(ls.ingress(leg).current_stream(), qs.ingress(leg).current_stream());
        assert_eq!(ls.ingress(leg).remote(), Some(REMOTE[i].parse().unwrap()));
        let (qj, lj) = (qs.receiver_stats(leg), ls.receiver_stats(leg));
        assert_eq!(lj, qj, "{leg:?} jitter buffer");
        assert_eq!(lj.total.received, u64::from(secs) * 50);
        assert_eq!((lj.total.discarded, lj.total.lost, lj.total.late, lj.total.duplicates), (0, 0, 0, 0), "{leg:?}");
    }
    // The call itself is unchanged, byte for byte.
    assert!(!quiet.ogg.is_empty());
    assert_eq!(loud.ogg.len(), quiet.ogg.len(), "recording length");
    assert!(loud.ogg == quiet.ogg, "the recording differs");
    assert_eq!(loud.transmits.len(), quiet.transmits.len());
    // Transcoding: one frame per leg per 20 ms tick, ticks from 0 to the hang-up instant
    // inclusive. Passthrough: exactly the real phones' packets, payloads byte for byte.
    let ticks = secs as usize * 50 + 1;
    if passthrough {
        assert_eq!(quiet.transmits.len(), 2 * secs as usize * 50);
        assert_eq!(
            (ls.packets_forwarded(Leg::A), ls.packets_forwarded(Leg::B)),
            (u64::from(secs) * 50, u64::from(secs) * 50)
        );
        let mut k = [0u32; 2];
        let mut pkt = Vec::new();
        for (to, bytes) in &loud.transmits {
            let from = to.other().index();
            tone_packet(from, k[from], &mut pkt);
            assert_eq!(bytes[12..], pkt[12..], "packet {} to {to:?} is not the phone's", k[from]);
            k[from] += 1;
        }
    } else {
        assert_eq!(quiet.transmits.len(), 2 * ticks);
    }
    assert!(loud.transmits == quiet.transmits, "outbound audio differs");
    // The tap joined after the first tick.
    assert_eq!(quiet.taps.len(), ticks - 1);
    assert!(loud.taps == quiet.taps, "tap audio differs");
    assert_eq!(loud.events, quiet.events);
    // Nothing queued up: the jitter buffers held the same number of packets at every tick,
    // never more than the playout delay's worth (60 ms = 3 packets, +1 in flight) ...
    assert_eq!(loud.depths, quiet.depths);
    assert!(loud.depths.iter().all(|d| d[0] <= 4 && d[1] <= 4), "{:?}", loud.depths.iter().max());
    // ... and the heap of the thread running the call was the same size every second.
    assert_eq!(loud.heap.len(), secs as usize);
    for (sec, (l, q)) in loud.heap.iter().zip(&quiet.heap).enumerate() {
        assert!((l - q).abs() <= 4096, "second {}: heap {} bytes with the flood, {} without", sec + 1, l, q);
    }
}

/// 100 000 datagrams/s for the whole 10 s call, remotes bound from signalling.
#[test]
fn flood_and_injection_change_nothing() {
    compare(10, true, HostTime::ZERO, true);
}

/// The same with passthrough off: every outbound packet decoded, mixed and encoded.
#[test]
fn flood_and_injection_change_nothing_when_transcoding() {
    compare(10, true, HostTime::ZERO, false);
}

/// Remotes learned from the first packet (no signalling address): once the real phones have
/// spoken (the first 100 ms), a flood cannot take the legs over.
#[test]
fn flood_after_learning_changes_nothing() {
    compare(3, false, ms(100), true);
}
