//! G.729 through libbcg729 (`--features g729`): a tone survives encode/decode, and the
//! rtpproxy G.729 captures record to the duration of their RTP timelines.
#![cfg(feature = "g729")]

mod common;

use jyqq_media::capture::{read_capture, Datagram};
use jyqq_media::codec::{CodecOptions, CodecRegistry, G729Factory};
use jyqq_media::record::read_ogg_opus;
use jyqq_media::replay::{default_registry, record_legs};
use jyqq_media::rtp::{PayloadFormat, PayloadMap, PayloadType, RtpPacket};
use jyqq_media::ClockRate;
use std::f64::consts::PI;

fn level_db(x: &[f64], rate: f64, hz: f64) -> f64 {
    let n = x.len();
    let w = 2.0 * PI * hz / rate;
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let s0 = v * win + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let amp = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).max(0.0).sqrt() * 4.0 / n as f64;
    20.0 * (amp.max(1e-12) / 32768.0).log10()
}

#[test]
fn g729_is_registered_like_a_host_codec_and_codes_a_tone() {
    let mut reg = CodecRegistry::with_builtin();
    assert!(reg.find("G729", ClockRate::HZ_8000, 1).is_none());
    reg.register(Box::new(G729Factory::new()));
    let mut fmt = PayloadFormat::new(PayloadType(18), "G729", ClockRate::HZ_8000, 1);
    fmt.fmtp = Some("annexb=no".into());
    let (_, f) = reg.for_payload(&PayloadMap::static_defaults(), PayloadType(18)).expect("PT 18 is G729");
    assert_eq!(f.descriptor().rtpmap(), "G729/8000");
    let mut enc = reg.encoder(&fmt, &CodecOptions::default()).expect("encoder");
    let mut dec = reg.decoder(&fmt, &CodecOptions::default()).expect("decoder");
    let pcm: Vec<i16> =
        (0..16_000).map(|i| (8000.0 * (2.0 * PI * 500.0 * f64::from(i) / 8000.0).sin()) as i16).collect();
    let mut out = Vec::new();
    let (mut bits, mut frame) = ([0u8; 20], [0i16; 160]);
    for chunk in pcm.chunks(160) {
        let n = enc.encode(chunk, &mut bits).expect("encode");
        assert_eq!(n, 20, "two voice frames per 20 ms, Annex B off");
        assert_eq!(dec.samples_in(&bits[..n]), Some(160));
        let m = dec.decode(&bits[..n], &mut frame).expect("decode");
        out.extend(frame[..m].iter().map(|&s| f64::from(s)));
    }
    let steady = &out[1600..];
    let input: Vec<f64> = pcm[1600..].iter().map(|&s| f64::from(s)).collect();
    let (got, want) = (level_db(steady, 8000.0, 500.0), level_db(&input, 8000.0, 500.0));
    assert!((got - want).abs() < 3.0, "500 Hz at {got:.1} dBFS, input {want:.1} dBFS");
    assert!(level_db(steady, 8000.0, 500.0) > level_db(steady, 8000.0, 1500.0) + 20.0, "the tone dominates");
    assert!(dec.decode(&bits[..7], &mut frame).is_err(), "7 bytes is no G.729 payload");
}

/// The leg's RTP span: first to last timestamp plus one 20 ms frame, in seconds.
fn span(datagrams: &[&Datagram]) -> f64 {
    let ts: Vec<u32> =
        datagrams.iter().filter_map(|d| RtpPacket::parse(&d.payload).ok()).map(|p| p.timestamp()).collect();
    let first = ts[0];
    let max = ts.iter().map(|t| t.wrapping_sub(first)).max().expect("packets");
    f64::from(max + 160) / 8000.0
}

fn record_file(rel: &str, packets: u64, lost: i64) {
    let Some(bytes) = common::shared_file(rel) else { return };
    let cap = read_capture(&bytes).expect("capture reads");
    let leg: Vec<&Datagram> = cap.datagrams.iter().filter(|d| RtpPacket::parse(&d.payload).is_ok()).collect();
    let want = span(&leg);
    assert!(default_registry().find("G729", ClockRate::HZ_8000, 1).is_some());
    let call = record_legs(1, [leg, Vec::new()], [PayloadMap::static_defaults(), PayloadMap::new()]).expect("records");
    let r = &call.streams[0][0];
    assert_eq!((r.packets, r.lost), (packets, lost), "{rel}");
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.decode_errors, st.unknown_payload_type), (packets, 0, 0), "{rel}: {st:?}");
    let info = read_ogg_opus(&call.ogg).expect("recording reads");
    let dur = info.duration().as_secs_f64();
    assert!((dur - want).abs() <= 0.020, "{rel}: recorded {dur:.3} s, RTP span {want:.3} s");
}

#[test]
fn rtpproxy_lost_o_g729_records_its_span() {
    record_file("rtp/rtpproxy/rtp_analyze/lost.o.rtp", 246, 0);
}

#[test]
fn rtpproxy_sess6_o_g729_records_its_span() {
    record_file("rtp/rtpproxy/rtp_analyze/sess6.o.rtp", 2038, 1);
}
