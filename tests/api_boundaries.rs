//! No panics across the public API (issue 9, item 5): every public entry point of the time,
//! audio, RTP, jitter and analysis modules fed boundary values — empty and huge buffers,
//! zero and absurd rates, zero/huge channel counts and durations, NaN and infinities —
//! must answer with the documented error value or the documented clamp/count, never a panic.
//!
//! The codec and mix modules are in `api_boundaries_codec.rs`; record, capture, replay and
//! session in `api_boundaries_call.rs`. Each assertion names the documented outcome; the
//! comments marked "regression" name a call that panicked (or misbehaved) before its fix.

mod common;

use jyqq_media::analysis::{
    dtmf_sequence, dtmf_tone, AnalysisConfig, AnalysisError, CallAnalyzer, Decimator, DtmfDigit, EventKind,
    InbandDtmfConfig, InbandDtmfDetector, InbandDtmfGenerator, TelephoneEvent, TelephoneEventReceiver,
    TelephoneEventSender, VadConfig, VoiceDetector, MAX_BLOCK,
};
use jyqq_media::audio::PcmFrame;
use jyqq_media::jitter::{
    AudioReceiver, FrameKind, InsertOutcome, JitterBuffer, JitterConfig, JitterError, Playout, PlayoutDelay,
    ReceiverConfig,
};
use jyqq_media::rtp::{
    ExtTimestamp, Ingress, IngressConfig, IngressDrop, MediaPacket, PayloadFormat, PayloadMap, PayloadType, RtpHeader,
    RtpPacket, RtpParseError, RtpWriteError, SdpError, SeqNo, SeqUpdate, SequenceExtender, Ssrc, StreamEpoch,
    TimestampExtender,
};
use jyqq_media::{ClockRate, HostTime, Leg, MediaTime, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], port))
}

/// A well-formed RTP datagram: `payload` after a 12-byte header.
fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(pt), seq, ts, Ssrc(0x1234_5678)).write(payload, &mut out).expect("PT < 128");
    out
}

fn media(pt: u8, seq: u64, ts: u64, arrival_ms: u64, payload: &[u8]) -> MediaPacket {
    common::media_packet(7, pt, seq, ts, arrival_ms, payload)
}

// ---------------------------------------------------------------------------------------
// time, audio

#[test]
fn time_and_audio_units_clamp_zero_and_saturate() {
    // Rate 0 is stored as 1 (documented), so no division by zero can follow.
    assert_eq!(SampleRate::new(0).hz(), 1);
    assert_eq!(ClockRate::new(0).hz(), 1);
    assert_eq!(SampleRate::new(0).duration_of(3), Duration::from_secs(3));
    assert_eq!(ClockRate::new(0).duration_of(u64::MAX), Duration::from_nanos(u64::MAX));
    // Huge rates and durations saturate instead of overflowing.
    assert_eq!(SampleRate::new(u32::MAX).samples_in(Duration::MAX), usize::MAX);
    assert_eq!(SampleRate::new(u32::MAX).samples_in(Duration::ZERO), 0);
    assert_eq!(ClockRate::new(u32::MAX).ticks_in(Duration::MAX), u64::MAX);
    assert_eq!(SampleRate::new(1).duration_of(u64::MAX), Duration::from_nanos(u64::MAX));
    assert_eq!(HostTime::from_millis(u64::MAX), HostTime(u64::MAX));
    assert_eq!(HostTime(u64::MAX).saturating_add(Duration::MAX), HostTime(u64::MAX));
    assert_eq!(HostTime::ZERO.saturating_sub(Duration::MAX), HostTime::ZERO);
    assert_eq!(HostTime::ZERO.saturating_since(HostTime(u64::MAX)), Duration::ZERO);
    let m = MediaTime::new(u64::MAX, ClockRate::new(0));
    assert_eq!(m.as_duration(), Duration::from_secs(u64::MAX));
    assert_eq!(m.rescale(ClockRate::new(u32::MAX)).ticks, u64::MAX, "saturates");
    assert_eq!(MediaTime::new(u64::MAX, ClockRate::new(u32::MAX)).rescale(ClockRate::new(0)).ticks, 4_294_967_297);
    // A frame with 0 channels counts samples as mono.
    let f = PcmFrame { samples: vec![0; 7], channels: 0, rate: None };
    assert_eq!(f.samples_per_channel(), 7);
    let f = PcmFrame { samples: vec![0; 7], channels: 255, rate: Some(SampleRate::new(0)) };
    assert_eq!(f.samples_per_channel(), 0);
    assert_eq!(Leg::A.other().other(), Leg::A);
}

// ---------------------------------------------------------------------------------------
// rtp: parse, write

#[test]
fn rtp_parse_rejects_every_malformed_shape() {
    assert_eq!(RtpPacket::parse(&[]), Err(RtpParseError::TooShort { len: 0 }));
    assert_eq!(RtpPacket::parse(&[0x80]), Err(RtpParseError::TooShort { len: 1 }));
    assert_eq!(RtpPacket::parse(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(RtpParseError::TooShort { len: 11 }));
    assert_eq!(RtpPacket::parse(&[0x00; 12]), Err(RtpParseError::BadVersion { version: 0 }));
    assert_eq!(RtpPacket::parse(&[0xFF; MIB]), Err(RtpParseError::BadVersion { version: 3 }));
    assert_eq!(RtpPacket::parse(&[0x80, 200]), Err(RtpParseError::Rtcp { packet_type: 200 }));
    // CC = 15 announces 60 bytes of CSRC list that are not there.
    let mut d = rtp(0, 1, 1, &[]);
    d[0] |= 0x0F;
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::TruncatedCsrc { csrc_count: 15, needed: 72, len: 12 }));
    // X = 1 with no extension header, then with a length of 65 535 words.
    let mut d = rtp(0, 1, 1, &[]);
    d[0] |= 0x10;
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::TruncatedExtensionHeader { needed: 16, len: 12 }));
    d.extend_from_slice(&[0xBE, 0xDE, 0xFF, 0xFF]);
    assert_eq!(
        RtpPacket::parse(&d),
        Err(RtpParseError::TruncatedExtension { words: 0xFFFF, needed: 16 + 4 * 0xFFFF, len: 16 })
    );
    // P = 1 with nothing after the header; pad count 0; pad count beyond the payload.
    let mut d = rtp(0, 1, 1, &[]);
    d[0] |= 0x20;
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::MissingPadCount));
    let mut d = rtp(0, 1, 1, &[1, 2, 0]);
    d[0] |= 0x20;
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::BadPadding { pad_count: 0, available: 3 }));
    let mut d = rtp(0, 1, 1, &[1, 2, 255]);
    d[0] |= 0x20;
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::BadPadding { pad_count: 255, available: 3 }));
    // A 1 MiB datagram with a full CSRC list and the largest extension parses.
    let csrcs: Vec<Ssrc> = (0..15).map(Ssrc).collect();
    let ext = vec![0u8; 4 * 0xFFFF];
    let payload = vec![0x55u8; MIB];
    let mut d = Vec::new();
    let n = RtpHeader::new(PayloadType(127), u16::MAX, u32::MAX, Ssrc(u32::MAX))
        .with_csrcs(&csrcs)
        .with_extension(0x1000, &ext)
        .with_padding(255)
        .write(&payload, &mut d)
        .expect("every field in range");
    assert_eq!(n, 12 + 60 + 4 + 4 * 0xFFFF + MIB + 255);
    let p = RtpPacket::parse(&d).expect("well formed");
    assert_eq!((p.csrc_count(), p.payload().len(), p.padding_len()), (15, MIB, 255));
    assert_eq!(p.extension().map(|e| e.length_words()), Some(0xFFFF));
    assert_eq!(p.csrc(15), None);
    assert_eq!(p.csrc(usize::MAX), None);
    assert_eq!(p.csrcs().len(), 15);
}

#[test]
fn rtp_header_write_refuses_what_does_not_fit() {
    let mut out = vec![9u8];
    let h = RtpHeader::new(PayloadType(128), 0, 0, Ssrc(1));
    assert_eq!(h.write(&[1, 2, 3], &mut out), Err(RtpWriteError::PayloadTypeOutOfRange(128)));
    let h = RtpHeader::new(PayloadType(255), 0, 0, Ssrc(1));
    assert_eq!(h.write(&[], &mut out), Err(RtpWriteError::PayloadTypeOutOfRange(255)));
    let sixteen: Vec<Ssrc> = (0..16).map(Ssrc).collect();
    let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(1)).with_csrcs(&sixteen);
    assert_eq!(h.write(&[], &mut out), Err(RtpWriteError::TooManyCsrcs(16)));
    let many: Vec<Ssrc> = (0..100_000).map(Ssrc).collect();
    let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(1)).with_csrcs(&many);
    assert_eq!(h.write(&[], &mut out), Err(RtpWriteError::TooManyCsrcs(100_000)));
    let ext = vec![0u8; 4 * 0x1_0000];
    let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(1)).with_extension(0xBEDE, &ext);
    assert_eq!(h.write(&[], &mut out), Err(RtpWriteError::ExtensionTooLong(4 * 0x1_0000)));
    assert_eq!(out, vec![9u8], "nothing appended on error");
    // Padding of 1 (only the count byte) and an empty extension are valid.
    let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(1)).with_padding(1).with_extension(0xBEDE, &[]);
    assert_eq!(h.write(&[], &mut out), Ok(17));
    let p = RtpPacket::parse(&out[1..]).expect("what we wrote parses");
    assert_eq!((p.padding_len(), p.payload().len()), (1, 0));
    assert_eq!(p.extension().map(|e| e.data().len()), Some(0));
    assert_eq!(h.packet_len(usize::MAX - 100), usize::MAX - 100 + 17);
}

// ---------------------------------------------------------------------------------------
// rtp: ingress

#[test]
fn ingress_counts_every_malformed_datagram_and_delivers_nothing() {
    let mut ing = Ingress::new(IngressConfig::default());
    let now = HostTime::from_millis(1);
    assert_eq!(ing.receive(now, addr(1), &[]), Err(IngressDrop::Malformed(RtpParseError::TooShort { len: 0 })));
    assert_eq!(
        ing.receive(now, addr(1), &vec![0u8; MIB]),
        Err(IngressDrop::Malformed(RtpParseError::BadVersion { version: 0 }))
    );
    assert_eq!(ing.receive(now, addr(1), &[0x80, 201, 0, 1]), Err(IngressDrop::Rtcp { packet_type: 201 }));
    let c = *ing.counters();
    assert_eq!((c.datagrams, c.malformed, c.rtcp, c.accepted), (3, 2, 1, 0));
    assert_eq!(ing.remote(), None, "no remote learned from a malformed datagram");
    assert_eq!(ing.current_stream(), None);
    // An unmapped payload type is delivered and counted; a 1 MiB payload too.
    let p = ing.receive(now, addr(1), &rtp(127, 10, 0, &vec![1u8; MIB])).expect("valid RTP");
    assert_eq!((p.payload.len(), p.seq), (MIB, SeqNo(10)));
    assert_eq!(ing.counters().unknown_payload_type, 1);
    // The learned remote is strict: another address is dropped and counted.
    assert_eq!(
        ing.receive(now, addr(2), &rtp(0, 11, 160, &[0xFF; 160])),
        Err(IngressDrop::ForeignSource { from: addr(2) })
    );
    // A duplicate is dropped once ingress has the stream.
    assert!(matches!(ing.receive(now, addr(1), &rtp(127, 10, 0, &[])), Err(IngressDrop::Duplicate { .. })));
    let c = *ing.counters();
    assert_eq!((c.datagrams, c.accepted, c.foreign_source, c.duplicate), (6, 1, 1, 1));
}

#[test]
fn ingress_with_extreme_limits_keeps_its_counts_consistent() {
    let mut cfg = IngressConfig::new(PayloadMap::new());
    cfg.probation = u16::MAX;
    cfg.max_dropout = 0;
    cfg.max_misorder = u16::MAX;
    cfg.strict_source = false;
    let mut ing = Ingress::new(cfg);
    let mut delivered = 0u64;
    for (i, seq) in [0u16, 1, 2, 65_535, 0, 30_000, 30_001, 30_002, 3].into_iter().enumerate() {
        let t = HostTime::from_millis(i as u64 * 20);
        if ing.receive(t, addr(i as u16), &rtp(0, seq, u32::from(seq) * 160, &[0; 160])).is_ok() {
            delivered += 1;
        }
    }
    let c = *ing.counters();
    assert_eq!(c.datagrams, 9);
    assert_eq!(c.accepted, delivered);
    let drops = c.malformed
        + c.rtcp
        + c.foreign_source
        + c.probation
        + c.bad_sequence
        + c.duplicate
        + c.stale_source
        + c.too_old;
    assert_eq!(c.accepted + drops, 9, "every datagram is either delivered or a counted drop: {c:?}");
    // Probation of 65 535 packets: nothing in a 9-packet stream got through it.
    assert_eq!((c.accepted, c.probation), (0, 9));

    // SequenceExtender directly: zero limits do not panic and the first packet is accepted.
    let mut s = SequenceExtender::with_limits(0, 0, 0);
    assert_eq!(s.update(5), SeqUpdate::Accepted { ext: SeqNo(5) });
    assert_eq!(s.classify_late(u16::MAX), None);
    let mut t = TimestampExtender::new();
    assert_eq!(t.extend(u32::MAX), ExtTimestamp((1 << 32) + u64::from(u32::MAX)));
    assert_eq!(t.extend(0), ExtTimestamp(2 << 32), "a forward wrap");
}

// ---------------------------------------------------------------------------------------
// rtp: payload map / SDP

#[test]
fn sdp_rtpmap_and_fmtp_parsing_rejects_garbage_with_the_right_variant() {
    let r = PayloadFormat::parse_sdp_rtpmap;
    assert_eq!(r(""), Err(SdpError::WrongAttribute("rtpmap")));
    assert_eq!(r("a=fmtp:0 x"), Err(SdpError::WrongAttribute("rtpmap")));
    assert_eq!(r(&"a".repeat(MIB)), Err(SdpError::WrongAttribute("rtpmap")));
    assert_eq!(r("a=rtpmap:"), Err(SdpError::MissingEncoding(String::new())));
    assert_eq!(r("a=rtpmap:96"), Err(SdpError::MissingEncoding("96".into())));
    assert_eq!(r("a=rtpmap:96 PCMU"), Err(SdpError::MissingEncoding("96 PCMU".into())));
    assert_eq!(r("a=rtpmap:96 /8000"), Err(SdpError::MissingEncoding("96 /8000".into())));
    assert_eq!(r("a=rtpmap:128 PCMU/8000"), Err(SdpError::BadPayloadType("128".into())));
    assert_eq!(r("a=rtpmap:-1 PCMU/8000"), Err(SdpError::BadPayloadType("-1".into())));
    assert_eq!(r("a=rtpmap:99999999999 x/1"), Err(SdpError::BadPayloadType("99999999999".into())));
    assert_eq!(r("a=rtpmap:96 opus/0"), Err(SdpError::BadClockRate("0".into())));
    assert_eq!(r("a=rtpmap:96 opus/4294967296"), Err(SdpError::BadClockRate("4294967296".into())));
    assert_eq!(r("a=rtpmap:96 opus/NaN"), Err(SdpError::BadClockRate("NaN".into())));
    assert_eq!(r("a=rtpmap:96 opus/48000/0"), Err(SdpError::BadChannels("0".into())));
    assert_eq!(r("a=rtpmap:96 opus/48000/256"), Err(SdpError::BadChannels("256".into())));
    assert_eq!(r("a=rtpmap:96 opus/48000/2/3"), Err(SdpError::BadChannels("3".into())));
    // The extremes that are valid stay exact.
    let f = r("a=rtpmap:127 X/4294967295/255").expect("in range");
    assert_eq!((f.payload_type, f.clock_rate.hz(), f.channels), (PayloadType(127), u32::MAX, 255));

    let f = PayloadFormat::parse_sdp_fmtp;
    assert_eq!(f(""), Err(SdpError::WrongAttribute("fmtp")));
    assert_eq!(f("a=fmtp:"), Err(SdpError::BadPayloadType(String::new())));
    assert_eq!(f("a=fmtp:300 0-15"), Err(SdpError::BadPayloadType("300".into())));
    let long = format!("a=fmtp:101 {}", "x".repeat(MIB));
    assert_eq!(f(&long).map(|(pt, p)| (pt, p.len())), Ok((PayloadType(101), MIB)));

    let mut map = PayloadMap::new();
    let bad = PayloadFormat::new(PayloadType(200), "PCMU", ClockRate::new(0), 0);
    assert_eq!(map.insert(bad), Err(SdpError::BadPayloadType("200".into())));
    assert!(map.is_empty());
    assert_eq!(map.get(PayloadType(255)), None);
    assert_eq!(map.remove(PayloadType(255)), None);
    assert_eq!(map.clock_rate(PayloadType(128)), None);
    assert_eq!(map.apply_sdp_line("m=audio 0 RTP/AVP 0"), Ok(false));
    assert_eq!(map.apply_sdp_line("a=fmtp:120 x"), Ok(false), "fmtp for an unknown dynamic PT is ignored");
    assert_eq!(map.apply_sdp_line("a=rtpmap:96 opus/0"), Err(SdpError::BadClockRate("0".into())));
    assert!(map.is_empty(), "a rejected line changes nothing");
    assert_eq!(PayloadMap::from_sdp("", "audio").map(|m| m.len()), Ok(0));
    assert_eq!(PayloadMap::from_sdp("\0\u{FFFD}garbage\r\n\r\n", "").map(|m| m.len()), Ok(0));
    assert_eq!(
        PayloadMap::from_sdp("m=audio 1 RTP/AVP 0 300 x\r\na=rtpmap:96 opus/48000/0\r\n", "audio"),
        Err(SdpError::BadChannels("0".into()))
    );
    let m = PayloadMap::from_sdp("m=audio 1 RTP/AVP 0 300 x 18\r\n", "audio").expect("static PTs");
    assert_eq!(m.iter().map(|f| f.payload_type.0).collect::<Vec<_>>(), vec![0, 18]);
}

// ---------------------------------------------------------------------------------------
// jitter: JitterBuffer (v1)

#[test]
fn jitter_buffer_normalises_zero_and_huge_settings() {
    // Zero ptime and capacity are replaced (20 ms, 1 packet).
    let mut jb = JitterBuffer::new(
        JitterConfig::new(ClockRate::HZ_8000)
            .with_ptime(Duration::ZERO)
            .with_capacity(0)
            .with_delay(PlayoutDelay::Adaptive { min: Duration::MAX, max: Duration::ZERO, initial: Duration::MAX }),
    );
    assert_eq!(jb.ptime(), Duration::from_millis(20));
    assert_eq!(jb.pop(HostTime::ZERO), Playout::Empty);
    assert_eq!(jb.insert(media(0, 1, 160, 0, &[0; 160])), InsertOutcome::Inserted);
    assert_eq!(
        jb.insert(media(0, 2, 320, 20, &[0; 160])),
        InsertOutcome::Overflow { dropped_seq: SeqNo(1), dropped_epoch: StreamEpoch(0) }
    );
    assert_eq!(jb.len(), 1);

    // Regression: a capacity of usize::MAX asked for that much memory up front and panicked
    // ("capacity overflow"); it is now capped at 65 536 packets.
    let mut jb = JitterBuffer::new(JitterConfig::new(ClockRate::new(0)).with_capacity(usize::MAX));
    for k in 0..3u64 {
        assert_eq!(jb.insert(media(0, k, k * 160, k * 20, &[])), InsertOutcome::Inserted);
    }
    assert_eq!(jb.stats().received, 3);

    // Extreme timestamps and sequence numbers, an enormous fixed delay, time at the end of the
    // clock: a decision each time, never a panic.
    let mut jb = JitterBuffer::new(
        JitterConfig::new(ClockRate::new(u32::MAX))
            .with_ptime(Duration::MAX)
            .with_delay(PlayoutDelay::Fixed(Duration::MAX)),
    );
    assert_eq!(jb.insert(media(0, u64::MAX, u64::MAX, u64::MAX, &[1; 3])), InsertOutcome::Inserted);
    assert_eq!(jb.insert(media(0, u64::MAX - 1, 0, 0, &[])), InsertOutcome::Inserted);
    for t in [0, u64::MAX / 2, u64::MAX] {
        let _ = jb.pop(HostTime(t));
    }
    assert_eq!(jb.stats().received, 2);
}

// ---------------------------------------------------------------------------------------
// jitter: AudioReceiver

#[test]
fn audio_receiver_rejects_bad_rates_and_frames() {
    let new = |rate: u32, frame: Duration| {
        AudioReceiver::new(ReceiverConfig::new(PayloadMap::static_defaults(), SampleRate::new(rate)).with_frame(frame))
    };
    let ms20 = Duration::from_millis(20);
    for (hz, got) in [(0, 1), (1, 1), (7, 7), (44_100, 44_100), (u32::MAX, u32::MAX)] {
        assert!(matches!(new(hz, ms20), Err(JitterError::UnsupportedOutputRate(h)) if h == got), "{hz} Hz");
    }
    for frame in [Duration::ZERO, Duration::from_millis(7), Duration::from_millis(30), Duration::MAX] {
        assert!(matches!(new(8000, frame), Err(JitterError::UnsupportedFrame(f)) if f == frame), "{frame:?}");
    }
    // Regression: a capacity of usize::MAX panicked with "capacity overflow".
    let r = AudioReceiver::new(
        ReceiverConfig::new(PayloadMap::static_defaults(), SampleRate::HZ_8000).with_capacity(usize::MAX),
    );
    assert_eq!(r.map(|r| r.frame_samples()).ok(), Some(160));
    let r = AudioReceiver::new(ReceiverConfig::new(PayloadMap::new(), SampleRate::HZ_48000).with_capacity(0));
    assert_eq!(r.map(|r| r.frame_samples()).ok(), Some(960));
}

#[test]
fn audio_receiver_pull_needs_exactly_one_frame_and_counts_bad_packets() {
    let mut r = AudioReceiver::new(ReceiverConfig::new(PayloadMap::static_defaults(), SampleRate::HZ_16000))
        .expect("16 kHz, 20 ms");
    let now = HostTime::from_millis(0);
    for len in [0usize, 1, 319, 321, 1_000_000] {
        let mut out = vec![7i16; len];
        assert_eq!(r.pull(now, &mut out), Err(JitterError::FrameSize { expected: 320, got: len }));
        assert!(out.iter().all(|&x| x == 7), "nothing written");
    }
    // Unmapped PT: discarded. telephone-event is not mapped statically either.
    r.insert(media(96, 0, 0, 0, &[1, 2, 3]));
    // Empty and huge G.711 payloads, a timestamp at the end of the range.
    r.insert(media(0, 1, 0, 0, &[]));
    r.insert(media(0, 2, 160, 20, &vec![0xFF; 100_000]));
    r.insert(media(8, 3, u64::MAX, 40, &[0xD5; 160]));
    let mut out = vec![0i16; 320];
    for k in 0..50u64 {
        let info = r.pull(HostTime::from_millis(k * 20), &mut out).expect("one frame");
        assert_eq!(info.samples, 320);
    }
    let s = r.stats();
    // Discarded: the unmapped PT and the 100 000-byte payload (longer than the decoder's buffer).
    assert_eq!((s.total.received, s.total.discarded), (4, 2));
    // Opus garbage on an Opus leg: decoded as an error, played as concealment or silence.
    let mut map = PayloadMap::new();
    map.insert(PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2)).expect("PT 111");
    let mut r = AudioReceiver::new(ReceiverConfig::new(map, SampleRate::HZ_8000)).expect("8 kHz");
    for k in 0..10u64 {
        r.insert(media(111, k, k * 960, k * 20, &[0xFF; 7]));
    }
    let mut out = vec![0i16; 160];
    let mut kinds = Vec::new();
    for k in 0..20u64 {
        kinds.push(r.pull(HostTime::from_millis(k * 20), &mut out).expect("one frame").kind);
    }
    assert!(!kinds.contains(&FrameKind::Normal), "garbage never decodes as audio: {kinds:?}");
}

// ---------------------------------------------------------------------------------------
// analysis

#[test]
fn vad_and_decimator_reject_unsupported_rates() {
    for hz in [0u32, 1, 7, 44_100, u32::MAX] {
        assert!(
            matches!(VoiceDetector::new(&VadConfig::default(), hz), Err(AnalysisError::UnsupportedRate(h)) if h == hz)
        );
    }
    for (hz, got) in [(0u32, 1u32), (7, 7), (u32::MAX, u32::MAX)] {
        assert!(matches!(Decimator::new(SampleRate::new(hz)), Err(AnalysisError::UnsupportedRate(h)) if h == got));
    }
    let mut vad = VoiceDetector::new(&VadConfig::default(), 8000).expect("8 kHz");
    assert_eq!(vad.raw(&[]), None);
    assert_eq!(vad.raw(&[0; 7]), None, "not a 10/20/30 ms frame");
    assert_eq!(vad.raw(&vec![0; MIB]), None);
    let t = HostTime::ZERO;
    assert_eq!(vad.process(t, &[], f32::NAN, f32::NAN), None);
    assert_eq!(vad.process(t, &[0; 80], f32::INFINITY, f32::NEG_INFINITY), None);
    assert_eq!(vad.process(t, &[0; 80], f32::NEG_INFINITY, f32::INFINITY), None);
    assert_eq!(vad.skip(t, u64::MAX), None);
    assert_eq!(vad.frame_counts().0, 3);
}

#[test]
fn decimator_with_a_short_output_buffer_writes_what_fits() {
    // Regression: `process` with an output shorter than input/factor subtracted past zero
    // ("attempt to subtract with overflow"); it now decimates only the input that fits `out`.
    let mut d = Decimator::new(SampleRate::HZ_48000).expect("48 kHz");
    let input = vec![1000i16; MAX_BLOCK];
    assert_eq!(d.process(&input, &mut []), 0);
    let mut out = [0f32; 10];
    assert_eq!(d.process(&input, &mut out), 10);
    let mut full = vec![0f32; MAX_BLOCK];
    assert_eq!(d.process(&input, &mut full), MAX_BLOCK / 6);
    // Over-long input is cut at MAX_BLOCK; empty input writes nothing.
    assert_eq!(d.process(&vec![0; MIB], &mut full), MAX_BLOCK / 6);
    assert_eq!(d.process(&[], &mut full), 0);
    let mut d = Decimator::new(SampleRate::HZ_8000).expect("8 kHz");
    assert_eq!(d.process(&input, &mut out), 10);
}

#[test]
fn call_analyzer_takes_any_length_and_rejects_unsupported_rates() {
    let t0 = HostTime::from_millis(0);
    let mut a = CallAnalyzer::new(AnalysisConfig::default(), t0);
    a.answer(t0);
    for hz in [0u32, 7, 44_100, u32::MAX] {
        assert!(matches!(
            a.handle_pcm(Leg::A, t0, &[0; 80], SampleRate::new(hz)),
            Err(AnalysisError::UnsupportedRate(h)) if h == hz.max(1)
        ));
    }
    assert_eq!(a.handle_pcm(Leg::B, t0, &[], SampleRate::HZ_16000), Ok(()));
    assert_eq!(a.handle_pcm(Leg::B, t0, &vec![0; 1_000_000], SampleRate::HZ_48000), Ok(()));
    assert_eq!(a.handle_pcm(Leg::A, HostTime(u64::MAX), &[i16::MAX; 161], SampleRate::HZ_8000), Ok(()));
    a.handle_playout(Leg::A, Duration::MAX, Duration::MAX, Duration::MAX);
    a.handle_timeout(HostTime(u64::MAX));
    a.end(HostTime(u64::MAX), jyqq_media::analysis::EndCause::Other(String::new()));
    let mut ended = 0;
    while let Some(ev) = a.poll_event() {
        ended += usize::from(matches!(ev.kind, EventKind::Ended { .. }));
    }
    assert_eq!(ended, 1);
    assert_eq!(a.talk_time(Leg::B), Duration::ZERO, "silence is not talk");
    // After the end, input is ignored.
    assert_eq!(a.handle_pcm(Leg::A, t0, &[0; 80], SampleRate::new(7)), Ok(()));
}

#[test]
fn dtmf_generators_and_detectors_survive_extreme_parameters() {
    let one = DtmfDigit::from_char('1').expect("a key");
    // dtmf_tone: rate 0, NaN/inf level and scale, empty output.
    let mut out = [5i16; 16];
    dtmf_tone(one, f64::NAN, f64::INFINITY, 0, u64::MAX, &mut out);
    assert!(out.iter().all(|&x| x == 0), "NaN amplitude gives silence: {out:?}");
    dtmf_tone(one, 0.0, 1.0, 8000, 0, &mut []);
    assert!(dtmf_sequence("", -10.0, Duration::MAX, Duration::MAX, 1.0, u32::MAX).is_empty());
    assert_eq!(dtmf_sequence("1x2", -10.0, Duration::from_millis(10), Duration::ZERO, 1.0, 8000).len(), 160);
    // Regression: a huge on-time asked for usize::MAX samples ("capacity overflow"); the
    // sequence is now capped at one hour of audio per key.
    let s = dtmf_sequence("1", -10.0, Duration::MAX, Duration::ZERO, 1.0, 1);
    assert_eq!(s.len(), 3600);
    let s = dtmf_sequence("12", -10.0, Duration::from_secs(1), Duration::MAX, 1.0, 1);
    assert_eq!(s.len(), 2 * (1 + 3600));

    // Regression: on + off of Duration::MAX each overflowed the cycle length in `render`.
    let mut g = InbandDtmfGenerator::new(0, f64::NAN, Duration::MAX, Duration::MAX);
    assert!(g.push(one));
    let mut frame = [3i16; 160];
    assert_eq!(g.render(&mut frame), 160);
    assert!(g.is_active());
    let mut g = InbandDtmfGenerator::new(8000, -10.0, Duration::ZERO, Duration::ZERO);
    assert!(g.push(one));
    assert_eq!(g.render(&mut frame), 0, "a key of zero length plays nothing");
    assert!(!g.is_active());
    for _ in 0..64 {
        assert!(g.push(one));
    }
    assert!(!g.push(one), "queue full");

    let mut det = InbandDtmfDetector::new(InbandDtmfConfig::default());
    assert_eq!(det.process(HostTime(u64::MAX), &[]), None);
    assert_eq!(det.process(HostTime(u64::MAX), &[f32::NAN; 1000]), None);
    assert_eq!(det.process(HostTime::ZERO, &[f32::INFINITY; 1000]), None);
    assert_eq!(det.process(HostTime::ZERO, &vec![f32::MAX; MIB]), None);
    assert_eq!(det.reset(), None);

    assert_eq!(TelephoneEvent::parse_last(&[]), None);
    assert_eq!(TelephoneEvent::parse_last(&[1, 2, 3]), None);
    assert_eq!(TelephoneEvent::parse_last(&[0xFF; 7]).map(|e| e.event), Some(0xFF));
    let tx = TelephoneEventSender::new(PayloadType(200), ClockRate::new(u32::MAX));
    let pk = tx.packets(one, Duration::MAX, u32::MAX);
    assert_eq!(pk.last().map(|p| p.event.duration), Some(65_535), "capped at 65 535 ticks");
    let mut buf = Vec::new();
    assert_eq!(pk[0].write(0, Ssrc(0), &mut buf), Err(RtpWriteError::PayloadTypeOutOfRange(200)));
    let mut rx = TelephoneEventReceiver::new(Duration::ZERO);
    rx.handle(&media(101, 0, 0, 0, &[]), ClockRate::new(0));
    rx.handle(&media(101, 1, u64::MAX, u64::MAX, &[0xFF; 4]), ClockRate::new(0));
    rx.handle_timeout(HostTime(u64::MAX));
    rx.finish();
    assert_eq!(rx.poll_digit(), None, "event 255 is no DTMF digit");
}

#[test]
fn analysis_meters_saturate_on_extreme_packets_and_durations() {
    use jyqq_media::analysis::level::{block_dbm0, mean_square_to_dbm0, phase_frequency, Goertzel, MIN_LEVEL_DBM0};
    use jyqq_media::analysis::{
        delay_impairment, effective_ie, mos_from_r, r_factor, AlarmConfig, Alarms, BillingPolicy, CodecImpairment,
        FlashConfig, FlashDetector, Meter, ProgressToneConfig, ProgressToneDetector, QualityMeter,
    };
    use jyqq_media::codec::CodecKind;
    // Regression: sizes whose sum overflows (`win + hop`) panicked; hop 0 divided by zero.
    let x = [1.0f32; 400];
    assert_eq!(phase_frequency(&x, 1000.0, 8000.0, usize::MAX, 1), None);
    assert_eq!(phase_frequency(&x, 1000.0, 8000.0, 2, usize::MAX), None);
    assert_eq!(phase_frequency(&x, 1000.0, 8000.0, 160, 0), None);
    assert_eq!(phase_frequency(&[], f32::NAN, 0.0, 2, 1), None);
    assert_eq!(Goertzel::new(f32::NAN, 0.0).mean_square(&[]), 0.0);
    assert_eq!(block_dbm0(&[]), MIN_LEVEL_DBM0);
    assert_eq!(mean_square_to_dbm0(f64::NAN), MIN_LEVEL_DBM0);
    assert_eq!(mean_square_to_dbm0(f64::NEG_INFINITY), MIN_LEVEL_DBM0);

    // E-model: NaN and infinite inputs give values in range.
    let g711 = CodecImpairment::for_codec(CodecKind::Pcmu, true).expect("audio");
    assert_eq!(mos_from_r(f64::NAN), 1.0);
    assert_eq!(effective_ie(g711, f64::NAN, f64::NAN), 0.0, "NaN loss counts as none");
    assert_eq!(delay_impairment(f64::INFINITY), 50.0, "the formula's limit");
    for (loss, burst, ta) in [(f64::NAN, f64::NAN, f64::NAN), (f64::INFINITY, 0.0, f64::INFINITY), (-1.0, -1.0, -1.0)] {
        let r = r_factor(g711, loss, burst, ta);
        assert!((0.0..=100.0).contains(&r), "R {r} for ({loss}, {burst}, {ta})");
    }

    // Regression: extended sequence numbers 0 and u64::MAX in one epoch overflowed the
    // expected-packet count, and two playouts of Duration::MAX the played time.
    let mut q = QualityMeter::new();
    q.on_packet(&media(0, 0, 0, 0, &[]), Some((CodecKind::Pcmu, ClockRate::new(0), Duration::MAX)));
    q.on_packet(
        &media(0, u64::MAX, u64::MAX, u64::MAX, &[]),
        Some((CodecKind::Pcmu, ClockRate::new(0), Duration::ZERO)),
    );
    let mut next = media(0, 5, 0, 0, &[]);
    next.epoch = StreamEpoch(1);
    q.on_packet(&next, None);
    q.on_playout(Duration::MAX, Duration::MAX, Duration::MAX);
    q.on_playout(Duration::MAX, Duration::MAX, Duration::MAX);
    let rep = q.report(Duration::MAX, true);
    assert_eq!((rep.packets, rep.expected), (3, u64::MAX));
    assert_eq!(rep.concealed_ms, Some(u64::MAX));
    assert!(rep.mos.is_some_and(|m| (1.0..=4.5).contains(&m)), "{rep:?}");

    // Regression: two talkspurts spanning the whole clock overflowed the one-way-audio sum.
    let mut alarms = Alarms::new(AlarmConfig::default());
    alarms.start(HostTime::ZERO);
    alarms.on_talk_end(Leg::A, HostTime::ZERO, HostTime(u64::MAX));
    alarms.on_talk_end(Leg::A, HostTime::ZERO, HostTime(u64::MAX));
    alarms.evaluate(HostTime(u64::MAX), [Duration::MAX; 2]);
    assert!(alarms.poll_change().is_some(), "one-way audio (and silence) raised");

    let mut flash = FlashDetector::new(FlashConfig::default());
    assert_eq!(flash.process(HostTime(u64::MAX), &[f32::NAN; 1000]), None);
    assert_eq!(flash.process(HostTime::ZERO, &[]), None);
    let mut tones = ProgressToneDetector::new(ProgressToneConfig::default());
    assert_eq!(tones.process(HostTime(u64::MAX), &[f32::INFINITY; 1000]), None);
    assert_eq!(tones.process(HostTime::ZERO, &vec![f32::NAN; MIB]), None);

    let mut meter = Meter::new(BillingPolicy::default(), Some(Duration::MAX));
    assert!(meter.answer(HostTime(u64::MAX)));
    assert!(meter.end(HostTime::ZERO, jyqq_media::analysis::EndCause::HangupA));
    assert_eq!(meter.bill(HostTime::ZERO).connected_ms, 0, "an end before the answer bills nothing");
    assert_eq!(meter.limit_at(), Some(HostTime(u64::MAX)));
    let bill = BillingPolicy::default().bill(Duration::MAX);
    assert_eq!(bill.connected_ms, u64::MAX);
}

#[test]
fn netsim_saturates_absurd_impairments() {
    use jyqq_media::testing::netsim::{Impairments, Jitter, LossModel, NetSim, Spikes};
    // Regression: `Duration::mul_f64` and `+` panicked for a stopped sender clock
    // (−10^6 ppm: an infinite factor), and delays at Duration::MAX overflowed; times now
    // saturate at the ends of Duration / HostTime.
    let imp = Impairments::clean(Duration::MAX)
        .with_jitter(Jitter::Exponential { mean: Duration::MAX, cap: Duration::MAX })
        .with_spikes(Spikes { probability: 1.0, height: Duration::MAX, decay_per_packet: Duration::ZERO })
        .with_reorder_duplicate(1.0, 1.0)
        .with_skew_ppm(-1e6)
        .with_loss(LossModel::Random { p: f64::NAN });
    let mut sim = NetSim::new(imp, 1);
    sim.send(Duration::MAX, &[]);
    sim.send(Duration::ZERO, &[0x80; 12]);
    let (out, stats) = sim.finish();
    assert_eq!((stats.sent, stats.lost, stats.duplicated, out.len()), (2, 0, 2, 4), "NaN loss never drops");
    assert!(out.iter().all(|d| d.arrival == HostTime(u64::MAX)));
    // NaN skew counts as none; a backwards or infinitely fast clock sends at time zero.
    for (ppm, arrival_ms) in [(f64::NAN, 1000), (-2e6, 0), (f64::INFINITY, 0), (f64::NEG_INFINITY, 0)] {
        let mut sim = NetSim::new(Impairments::clean(Duration::ZERO).with_skew_ppm(ppm), 7);
        sim.send(Duration::from_secs(1), &[]);
        let (out, _) = sim.finish();
        assert_eq!(out.iter().map(|d| d.arrival).collect::<Vec<_>>(), vec![HostTime::from_millis(arrival_ms)], "{ppm}");
    }
}
