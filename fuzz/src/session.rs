//! Target `session_ops`: a whole [`CallSession`] driven by an operation sequence — each
//! leg's real media (a tone, 20 ms frames in its codec), RTP and raw datagrams from the
//! right address, a stranger's or the other leg's (RTP bleed, injection), time passing,
//! answer, taps added/changed/removed, guard audio, tones, policy tightening, re-binding a
//! remote, and disconnecting.
//!
//! Checked, whatever happens:
//! - a datagram from an address other than the leg's bound/learned remote is never
//!   accepted (the leg's `accepted` counter does not move);
//! - fail-closed policy: once recording is off, no recording page leaves the session;
//!   once monitoring is off, no tap audio does;
//! - after the `Ended` event nothing is transmitted, tapped or recorded, and `poll_output`
//!   ends with `None`;
//! - the jitter buffers stay within their capacity, one operation's outputs stay bounded;
//! - the recording pages, concatenated, always read back as a valid Ogg Opus stream that
//!   ends with an end-of-stream page.

use crate::{Blob, Seed, ToSeed};
use arbitrary::Arbitrary;
use jyqq_media::codec::{Encoder, G711Encoder, G711Law, G722Encoder, OpusEncoder, OpusEncoderConfig};
use jyqq_media::mix::{Cadence, Dbm0, Direction, Listen, ListenLayout, PlayMode, Source, TapId, TapKind, Target};
use jyqq_media::mix::{ToneGenerator, ToneSpec};
use jyqq_media::record::read_ogg_opus;
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, EndCause, EventKind, LegConfig, Output, Policy, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

/// Simulated time after which the remaining operations are skipped (bounds one run).
const MAX_SIM: Duration = Duration::from_secs(10);
/// Most outputs one operation may produce (10 catch-up ticks × (2 transmits + 16 taps) + events).
const MAX_OUTPUTS_PER_OP: usize = 2_000;
/// Packets each jitter buffer holds at most (the session's default capacity).
const JITTER_CAPACITY: usize = 250;

/// A leg's codec.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegCodec {
    /// G.711 µ-law, PT 0.
    Pcmu,
    /// G.711 A-law, PT 8.
    Pcma,
    /// G.722, PT 9.
    G722,
    /// Opus, PT 111.
    Opus,
}

impl LegCodec {
    fn format(self) -> PayloadFormat {
        match self {
            LegCodec::Pcmu => PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1),
            LegCodec::Pcma => PayloadFormat::new(PayloadType(8), "PCMA", ClockRate::HZ_8000, 1),
            LegCodec::G722 => PayloadFormat::new(PayloadType(9), "G722", ClockRate::HZ_8000, 1),
            LegCodec::Opus => PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2),
        }
    }

    /// The encoder of the leg's media, its PCM frame (samples, 20 ms) and RTP ticks per frame.
    fn encoder(self) -> Option<(Box<dyn Encoder>, usize, u32)> {
        Some(match self {
            LegCodec::Pcmu => (Box::new(G711Encoder::new(G711Law::Mu)), 160, 160),
            LegCodec::Pcma => (Box::new(G711Encoder::new(G711Law::A)), 160, 160),
            LegCodec::G722 => (Box::new(G722Encoder::new()), 320, 160),
            LegCodec::Opus => {
                (Box::new(OpusEncoder::new(OpusEncoderConfig::new(SampleRate::HZ_48000, 1)).ok()?), 960, 960)
            }
        })
    }

    fn index(self) -> u32 {
        self as u32
    }
}

/// How the call is set up.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct SessionSetup {
    /// Leg A's codec.
    pub codec_a: LegCodec,
    /// Leg B's codec.
    pub codec_b: LegCodec,
    /// 0 record, 1 no-monitor, 2 no-record (modulo 3).
    pub policy: u8,
    /// Talk-time limit in seconds (0: none).
    pub limit_s: u8,
    /// Whether signalling bound leg A's remote address (else it is learned).
    pub bind_a: bool,
    /// Whether signalling bound leg B's remote address.
    pub bind_b: bool,
}

/// One thing that happens to the call.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum SessionOp<'a> {
    /// The next 20 ms of a leg's real media, from its remote address.
    Media {
        /// Leg B (else A).
        b: bool,
        /// Milliseconds since the previous event.
        dt_ms: u8,
    },
    /// An RTP packet on a leg's port.
    Rtp {
        /// Leg B (else A).
        b: bool,
        /// Sender: 0 the leg's remote, 1 a stranger, 2 the other leg's remote (modulo 3).
        from: u8,
        /// Milliseconds since the previous event.
        dt_ms: u8,
        /// Carry the leg's own SSRC and numbers following its media (RTP bleed).
        own_ssrc: bool,
        /// Sequence step from the leg's media.
        seq_step: i8,
        /// Timestamp step from the leg's media, in ticks.
        ts_step: i16,
        /// Marker bit.
        marker: bool,
        /// Payload type (7 bits).
        pt: u8,
        /// Payload.
        payload: Blob<'a>,
    },
    /// Any datagram on a leg's port.
    Raw {
        /// Leg B (else A).
        b: bool,
        /// Sender, as for `Rtp`.
        from: u8,
        /// Milliseconds since the previous event.
        dt_ms: u8,
        /// The bytes.
        bytes: Blob<'a>,
    },
    /// Time passes (the host's timer fires).
    Advance {
        /// Milliseconds.
        ms: u16,
    },
    /// The call is answered.
    Answer,
    /// A monitor joins.
    AddTap {
        /// Tap kind (see `tap_kind`).
        kind: u8,
    },
    /// A monitor changes mode.
    ChangeTap {
        /// Which tap (index into those added, modulo their count).
        tap: u8,
        /// New kind.
        kind: u8,
    },
    /// A monitor leaves.
    RemoveTap {
        /// Which tap.
        tap: u8,
    },
    /// A monitor speaks for one frame.
    GuardAudio {
        /// Which tap.
        tap: u8,
        /// Sample value (a square wave of this amplitude).
        amp: i16,
        /// Pass a buffer of the wrong length.
        wrong_len: bool,
    },
    /// A tone plays.
    Play {
        /// 0 leg A, 1 leg B, 2 both legs, 3 a tap (modulo 4).
        target: u8,
        /// Tap index for target 3.
        tap: u8,
        /// Frequency in Hz.
        freq: u16,
        /// Length in ms.
        ms: u16,
        /// Replace the conversation (else mix).
        replace: bool,
    },
    /// The policy is tightened.
    Tighten {
        /// Keep recording.
        record: bool,
        /// Keep monitoring.
        monitor: bool,
    },
    /// Signalling moves a leg's remote address.
    Bind {
        /// Leg B (else A).
        b: bool,
        /// New address: as `from` of `Rtp`.
        to: u8,
    },
    /// The call is cut, with or without a final prompt.
    Disconnect {
        /// Play a 300 ms tone before ending.
        prompt: bool,
    },
}

/// Variants of [`SessionOp`].
const OP_VARIANTS: u32 = 13;

impl ToSeed for SessionSetup {
    fn to_seed(&self, s: &mut Seed) {
        s.variant(self.codec_a.index(), 4).variant(self.codec_b.index(), 4).u8(self.policy).u8(self.limit_s);
        s.bool(self.bind_a).bool(self.bind_b);
    }
}

impl ToSeed for SessionOp<'_> {
    fn to_seed(&self, s: &mut Seed) {
        match self {
            SessionOp::Media { b, dt_ms } => {
                s.variant(0, OP_VARIANTS).bool(*b).u8(*dt_ms);
            }
            SessionOp::Rtp { b, from, dt_ms, own_ssrc, seq_step, ts_step, marker, pt, payload } => {
                s.variant(1, OP_VARIANTS).bool(*b).u8(*from).u8(*dt_ms).bool(*own_ssrc).i8(*seq_step);
                s.i16(*ts_step).bool(*marker).u8(*pt).put(payload);
            }
            SessionOp::Raw { b, from, dt_ms, bytes } => {
                s.variant(2, OP_VARIANTS).bool(*b).u8(*from).u8(*dt_ms).put(bytes);
            }
            SessionOp::Advance { ms } => {
                s.variant(3, OP_VARIANTS).u16(*ms);
            }
            SessionOp::Answer => {
                s.variant(4, OP_VARIANTS);
            }
            SessionOp::AddTap { kind } => {
                s.variant(5, OP_VARIANTS).u8(*kind);
            }
            SessionOp::ChangeTap { tap, kind } => {
                s.variant(6, OP_VARIANTS).u8(*tap).u8(*kind);
            }
            SessionOp::RemoveTap { tap } => {
                s.variant(7, OP_VARIANTS).u8(*tap);
            }
            SessionOp::GuardAudio { tap, amp, wrong_len } => {
                s.variant(8, OP_VARIANTS).u8(*tap).i16(*amp).bool(*wrong_len);
            }
            SessionOp::Play { target, tap, freq, ms, replace } => {
                s.variant(9, OP_VARIANTS).u8(*target).u8(*tap).u16(*freq).u16(*ms).bool(*replace);
            }
            SessionOp::Tighten { record, monitor } => {
                s.variant(10, OP_VARIANTS).bool(*record).bool(*monitor);
            }
            SessionOp::Bind { b, to } => {
                s.variant(11, OP_VARIANTS).bool(*b).u8(*to);
            }
            SessionOp::Disconnect { prompt } => {
                s.variant(12, OP_VARIANTS).bool(*prompt);
            }
        }
    }
}

/// Leg A's and leg B's remote addresses, and the stranger's.
pub const ADDRS: [&str; 3] = ["192.0.2.1:4000", "198.51.100.2:5000", "203.0.113.66:40000"];
/// The SSRCs leg A's and leg B's phones send with.
pub const MEDIA_SSRC: [u32; 2] = [0xA1A1_0001, 0xB2B2_0002];

/// A tap kind from a byte.
pub fn tap_kind(k: u8) -> TapKind {
    let listen = |k: u8| match k % 4 {
        0 => Listen::MONO,
        1 => Listen::STEREO,
        2 => Listen { layout: ListenLayout::Mono, direction: Direction::Only(Leg::A) },
        _ => Listen { layout: ListenLayout::Stereo, direction: Direction::Only(Leg::B) },
    };
    match (k / 4) % 5 {
        0 => TapKind::Listen(listen(k)),
        1 => TapKind::Whisper { to: Leg::A, listen: Some(listen(k)) },
        2 => TapKind::Whisper { to: Leg::B, listen: None },
        3 => TapKind::Barge { listen: Some(listen(k)) },
        _ => TapKind::Barge { listen: None },
    }
}

/// One leg's media source on the harness side.
struct Phone {
    encoder: Box<dyn Encoder>,
    frame: usize,
    ticks: u32,
    freq: f64,
    rate: f64,
    k: u64,
    seq: u16,
    ts: u32,
    pcm: Vec<i16>,
    payload: Vec<u8>,
}

impl Phone {
    fn new(codec: LegCodec, freq: f64, seq: u16, ts: u32) -> Option<Phone> {
        let (encoder, frame, ticks) = codec.encoder()?;
        let rate = f64::from(encoder.sample_rate().hz());
        Some(Phone { encoder, frame, ticks, freq, rate, k: 0, seq, ts, pcm: vec![0; frame], payload: vec![0; 1500] })
    }

    /// The next 20 ms packet (a sine at -12 dBov).
    fn next(&mut self, pt: u8, ssrc: u32, out: &mut Vec<u8>) {
        for (i, s) in self.pcm.iter_mut().enumerate() {
            let n = (self.k * self.frame as u64 + i as u64) as f64;
            *s = (8000.0 * (2.0 * std::f64::consts::PI * self.freq * n / self.rate).sin()) as i16;
        }
        out.clear();
        if let Ok(len) = self.encoder.encode(&self.pcm, &mut self.payload) {
            let h = RtpHeader::new(PayloadType(pt), self.seq, self.ts, Ssrc(ssrc)).with_marker(self.k == 0);
            let _ = h.write(&self.payload[..len], out);
        }
        self.k += 1;
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(self.ticks);
    }
}

/// What the harness saw leave the session.
#[derive(Default)]
struct Seen {
    ogg: Vec<u8>,
    last_eos: bool,
    ended: bool,
}

/// Drains the session after one operation, checking the output invariants.
fn drain(s: &mut CallSession, now: HostTime, seen: &mut Seen, record_off: bool, monitor_off: bool) {
    let mut n = 0;
    loop {
        let Some(o) = s.poll_output(now) else {
            assert!(seen.ended, "poll_output gave None before the Ended event");
            return;
        };
        n += 1;
        assert!(n <= MAX_OUTPUTS_PER_OP, "more than {MAX_OUTPUTS_PER_OP} outputs from one operation");
        match o {
            Output::Timeout(_) => {
                assert!(!seen.ended, "Timeout after Ended");
                return;
            }
            Output::Transmit { leg, packet } => {
                assert!(!seen.ended, "transmit after the call ended");
                // Forwarded or encoded, what goes to a leg is valid RTP under the leg's own
                // SSRC (case B07), never a stranger's numbering.
                let p = jyqq_media::rtp::RtpPacket::parse(&packet).expect("a transmit that is not RTP");
                assert_eq!(p.ssrc(), Ssrc(0x5E55_0000 + leg.index() as u32), "transmit under a foreign SSRC");
                std::hint::black_box(packet);
            }
            Output::Tap { pcm, .. } => {
                assert!(!seen.ended, "tap audio after the call ended");
                assert!(!monitor_off, "tap audio on a call that may not be monitored");
                std::hint::black_box(pcm);
            }
            Output::Recording(page) => {
                assert!(!seen.ended, "recording page after the call ended");
                assert!(!record_off, "recording page on a call that may not be recorded");
                seen.ogg.extend_from_slice(&page.data);
                seen.last_eos = page.eos;
            }
            Output::Event(ev) => {
                assert!(!seen.ended, "event after Ended");
                if matches!(ev.kind, EventKind::Ended { .. }) {
                    seen.ended = true;
                }
            }
            _ => {}
        }
    }
}

/// Hands a datagram to a leg and checks that a foreign sender's is never accepted.
fn datagram(s: &mut CallSession, now: HostTime, b: bool, from: SocketAddr, d: &[u8]) {
    let leg = if b { Leg::B } else { Leg::A };
    let remote = s.ingress(leg).remote();
    let before = s.ingress(leg).counters().accepted;
    let _ = s.handle_rtp(now, leg, from, d);
    if remote.is_some_and(|r| r != from) {
        assert_eq!(s.ingress(leg).counters().accepted, before, "packet from {from} accepted on {leg:?}");
    }
}

fn addr(i: u8) -> SocketAddr {
    ADDRS[usize::from(i % 3)].parse().expect("constant address")
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((setup, ops)) = crate::decode_ops::<SessionSetup, SessionOp>(data) else { return };
    let codecs = [setup.codec_a, setup.codec_b];
    let mut legs = Vec::with_capacity(2);
    for (i, c) in codecs.iter().enumerate() {
        let mut l = LegConfig::new(c.format(), Ssrc(0x5E55_0000 + i as u32));
        let _ = l.payloads.insert(PayloadFormat::new(PayloadType(101), "telephone-event", ClockRate::HZ_8000, 1));
        if [setup.bind_a, setup.bind_b][i] {
            l.remote = Some(addr(i as u8));
        }
        legs.push(l);
    }
    let (Some(lb), Some(la)) = (legs.pop(), legs.pop()) else { return };
    let mut cfg = SessionConfig::new("fuzz-call", la, lb);
    cfg.policy = [Policy::RECORD, Policy::NO_MONITOR, Policy::NO_RECORD][usize::from(setup.policy % 3)];
    if setup.limit_s > 0 {
        cfg.time_limit = Some(Duration::from_secs(u64::from(setup.limit_s)));
    }
    let Ok(mut s) = CallSession::new(cfg, HostTime::ZERO) else { return };
    let (Some(pa), Some(pb)) = (Phone::new(codecs[0], 440.0, 100, 1_000), Phone::new(codecs[1], 660.0, 60_000, 7))
    else {
        return;
    };
    let mut phones = [pa, pb];
    let mut seen = Seen::default();
    let mut taps: Vec<TapId> = Vec::new();
    let mut now = HostTime::ZERO;
    let mut buf = Vec::with_capacity(2048);
    let initial = s.policy();
    drain(&mut s, now, &mut seen, !initial.record, !initial.monitor);
    for op in ops {
        if now.as_nanos() > MAX_SIM.as_nanos() as u64 {
            break;
        }
        let (record_off, monitor_off) = (!s.policy().record, !s.policy().monitor);
        match op {
            SessionOp::Media { b, dt_ms } => {
                now = now.saturating_add(Duration::from_millis(u64::from(dt_ms)));
                let i = usize::from(b);
                phones[i].next(codecs[i].format().payload_type.0, MEDIA_SSRC[i], &mut buf);
                datagram(&mut s, now, b, addr(i as u8), &buf);
            }
            SessionOp::Rtp { b, from, dt_ms, own_ssrc, seq_step, ts_step, marker, pt, payload } => {
                now = now.saturating_add(Duration::from_millis(u64::from(dt_ms)));
                let i = usize::from(b);
                let from =
                    if from % 3 == 2 { addr(1 - i as u8) } else { addr(if from % 3 == 0 { i as u8 } else { 2 }) };
                let p = &phones[i];
                let ssrc = if own_ssrc { MEDIA_SSRC[i] } else { MEDIA_SSRC[i] ^ 0x00FF_FF00 };
                let h = RtpHeader::new(
                    PayloadType(pt & 0x7F),
                    p.seq.wrapping_add(seq_step as u16),
                    p.ts.wrapping_add(i32::from(ts_step) as u32),
                    Ssrc(ssrc),
                )
                .with_marker(marker);
                buf.clear();
                if h.write(payload.0, &mut buf).is_ok() {
                    datagram(&mut s, now, b, from, &buf);
                }
            }
            SessionOp::Raw { b, from, dt_ms, bytes } => {
                now = now.saturating_add(Duration::from_millis(u64::from(dt_ms)));
                let i = usize::from(b);
                let from =
                    if from % 3 == 2 { addr(1 - i as u8) } else { addr(if from % 3 == 0 { i as u8 } else { 2 }) };
                datagram(&mut s, now, b, from, bytes.0);
            }
            SessionOp::Advance { ms } => {
                now = now.saturating_add(Duration::from_millis(u64::from(ms)));
                let _ = s.handle_timeout(now);
            }
            SessionOp::Answer => s.answer(now),
            SessionOp::AddTap { kind } => {
                if let Ok(t) = s.add_tap(now, tap_kind(kind)) {
                    assert!(!monitor_off, "a tap was added to a call that may not be monitored");
                    taps.push(t);
                }
            }
            SessionOp::ChangeTap { tap, kind } => {
                if let Some(&t) = pick(&taps, tap) {
                    let _ = s.change_tap(now, t, tap_kind(kind));
                }
            }
            SessionOp::RemoveTap { tap } => {
                if let Some(&t) = pick(&taps, tap) {
                    let _ = s.remove_tap(now, t);
                }
            }
            SessionOp::GuardAudio { tap, amp, wrong_len } => {
                if let Some(&t) = pick(&taps, tap) {
                    let n = s.rate().samples_in(Duration::from_millis(20)) + usize::from(wrong_len);
                    let pcm: Vec<i16> = (0..n).map(|i| if i % 16 < 8 { amp } else { amp.saturating_neg() }).collect();
                    let _ = s.push_guard_audio(t, &pcm);
                }
            }
            SessionOp::Play { target, tap, freq, ms, replace } => {
                let target = match target % 4 {
                    0 => Target::Leg(Leg::A),
                    1 => Target::Leg(Leg::B),
                    2 => Target::BothLegs,
                    _ => match pick(&taps, tap) {
                        Some(&t) => Target::Tap(t),
                        None => Target::BothLegs,
                    },
                };
                let spec =
                    ToneSpec::single(f32::from(freq), Dbm0(-10.0), Cadence::once(Duration::from_millis(u64::from(ms))));
                if let Ok(tone) = ToneGenerator::new(&spec, s.rate()) {
                    let mode = if replace { PlayMode::Replace } else { PlayMode::Mix };
                    let _ = s.play(now, Source::Tone(tone), target, mode);
                }
            }
            SessionOp::Tighten { record, monitor } => {
                let _ = s.tighten_policy(now, Policy { record, monitor });
            }
            SessionOp::Bind { b, to } => {
                s.bind_remote(if b { Leg::B } else { Leg::A }, addr(to));
            }
            SessionOp::Disconnect { prompt } => {
                let prompt = prompt
                    .then(|| {
                        ToneGenerator::new(
                            &ToneSpec::single(425.0, Dbm0(-10.0), Cadence::once(Duration::from_millis(300))),
                            s.rate(),
                        )
                        .ok()
                    })
                    .flatten()
                    .map(Source::Tone);
                let _ = s.disconnect(now, EndCause::StaffCut, prompt);
            }
        }
        drain(&mut s, now, &mut seen, record_off, monitor_off);
        for leg in [Leg::A, Leg::B] {
            assert!(s.receiver_stats(leg).buffered_packets <= JITTER_CAPACITY);
        }
    }
    // Hang up; the recording must close cleanly.
    let (record_off, monitor_off) = (!s.policy().record, !s.policy().monitor);
    let _ = s.disconnect(now, EndCause::HangupA, None);
    drain(&mut s, now, &mut seen, record_off, monitor_off);
    // A final prompt (300 ms) may still be playing: let it finish, the host calling on time.
    for _ in 0..50 {
        if seen.ended {
            break;
        }
        now = now.saturating_add(Duration::from_millis(20));
        let _ = s.handle_timeout(now);
        drain(&mut s, now, &mut seen, record_off, monitor_off);
    }
    assert!(seen.ended, "the call did not end");
    if !seen.ogg.is_empty() {
        let info = read_ogg_opus(&seen.ogg).expect("the session's recording reads back");
        assert!(seen.last_eos && info.eos_on_last_page, "the recording does not end with an EOS page");
        std::hint::black_box(info.duration());
    }
}

fn pick<T>(v: &[T], i: u8) -> Option<&T> {
    if v.is_empty() {
        None
    } else {
        v.get(usize::from(i) % v.len())
    }
}
