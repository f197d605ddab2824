//! Writes the committed seed corpus, `corpus/<target>/seed-*`, from our own fixtures only:
//! the embedded default call (`../examples/data/default_call.pcap`, made by
//! `examples/make_default_call.rs` from espeak-ng speech), tones through our encoders, and
//! recordings, manifests and captures produced here. Nothing from ../shared/data is copied:
//! point the fuzzers at it as an extra corpus directory at run time (see README.md).
//!
//! ```text
//! cd fuzz && cargo run --release --example make_corpus -- corpus
//! ```
//!
//! Every op-sequence seed is checked to decode back into the operations it was written
//! from, and every seed is run once through its target's harness.

use etherparse::PacketBuilder;
use jyqq_media::analysis::TelephoneEvent;
use jyqq_media::capture::read_capture;
use jyqq_media::codec::{ulaw_encode, Encoder, G722Encoder, OpusEncoder, OpusEncoderConfig};
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::{EvidenceLog, PcapSidecar, Recorder, RecorderConfig, RecordingMetadata, SignedManifest};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap, PayloadType, RtpHeader, Ssrc, ONE_BYTE_PROFILE};
use jyqq_media::{HostTime, Leg, SampleRate};
use jyqq_media_fuzz::codec::{CodecChoice, CodecOp};
use jyqq_media_fuzz::dtmf::{DtmfOp, DtmfSetup};
use jyqq_media_fuzz::ffi::{AddrArg, CodecArg, FfiOp, Pick};
use jyqq_media_fuzz::jitter::{Clock, JitterSetup, NetOp};
use jyqq_media_fuzz::session::{LegCodec, SessionOp, SessionSetup};
use jyqq_media_fuzz::{decode_ops, Blob, Seed, ToSeed};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The key the evidence seeds are signed with (the `evidence_verify` target trusts it).
const SEED_KEY: [u8; 32] = [7; 32];

struct Out {
    dir: PathBuf,
    count: usize,
    bytes: usize,
}

impl Out {
    fn write(&mut self, target: &str, name: &str, data: &[u8]) {
        let d = self.dir.join(target);
        std::fs::create_dir_all(&d).expect("create corpus dir");
        std::fs::write(d.join(format!("seed-{name}")), data).expect("write seed");
        self.count += 1;
        self.bytes += data.len();
    }
}

/// Writes an op-sequence seed after checking it decodes back and runs.
fn ops_seed<'a, S, O>(out: &mut Out, target: &str, name: &str, setup: &S, ops: &[O], run: fn(&[u8]))
where
    S: ToSeed + arbitrary::Arbitrary<'a> + std::fmt::Debug,
    O: ToSeed + arbitrary::Arbitrary<'a> + std::fmt::Debug,
{
    let mut s = Seed::new();
    s.put(setup).put(ops);
    let bytes = s.into_bytes();
    check_roundtrip::<S, O>(&bytes, setup, ops);
    run(&bytes);
    out.write(target, name, &bytes);
}

fn check_roundtrip<'a, S, O>(bytes: &[u8], setup: &S, ops: &[O])
where
    S: arbitrary::Arbitrary<'a> + std::fmt::Debug,
    O: arbitrary::Arbitrary<'a> + std::fmt::Debug,
{
    // Decode from a leaked copy so the decoded values may borrow for 'a.
    let data: &'a [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let (s2, o2) = decode_ops::<S, O>(data).expect("seed decodes");
    assert_eq!(format!("{s2:?}"), format!("{setup:?}"), "setup does not round-trip");
    assert_eq!(format!("{o2:?}"), format!("{ops:?}"), "operations do not round-trip");
}

fn sine(freq: f64, rate: f64, n: usize, start: usize, amp: f64) -> Vec<i16> {
    (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * (start + i) as f64 / rate).sin()) as i16).collect()
}

/// A 20 ms PCMU packet of a tone.
fn pcmu_packet(k: u32, ssrc: u32, freq: f64) -> Vec<u8> {
    let payload: Vec<u8> = sine(freq, 8000.0, 160, k as usize * 160, 8000.0).into_iter().map(ulaw_encode).collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), 1000u16.wrapping_add(k as u16), 160 * k, Ssrc(ssrc))
        .write(&payload, &mut out)
        .expect("header fits");
    out
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let mut out = Out { dir: PathBuf::from(dir), count: 0, bytes: 0 };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let call = std::fs::read(root.join("examples/data/default_call.pcap")).expect("examples/data/default_call.pcap");
    let cap = read_capture(&call).expect("default call reads");
    let dgrams: Vec<_> = cap.datagrams.iter().filter(|d| d.payload.len() >= 12).collect();
    assert!(dgrams.len() > 200);

    rtp_seeds(&mut out, &dgrams);
    ingress_seeds(&mut out, &dgrams);
    jitter_seeds(&mut out, &dgrams);
    dtmf_seeds(&mut out);
    codec_seeds(&mut out, &dgrams);
    let (ogg, pages) = recording(2.0);
    ogg_seeds(&mut out, &ogg);
    capture_seeds(&mut out, &dgrams);
    evidence_seeds(&mut out, &ogg, &pages);
    session_seeds(&mut out);
    ffi_seeds(&mut out);
    println!("wrote {} seeds, {} bytes, under {}", out.count, out.bytes, out.dir.display());
}

fn rtp_seeds(out: &mut Out, dgrams: &[&jyqq_media::capture::Datagram]) {
    for (i, d) in dgrams.iter().take(4).chain(dgrams.iter().rev().take(4)).enumerate() {
        out.write("rtp_parse", &format!("call-{i}"), &d.payload);
    }
    let csrcs = [Ssrc(0xC0C0_0001), Ssrc(0xC0C0_0002)];
    let ext = [0x10, 0xAB, 0x21, 0x01, 0x02, 0, 0, 0]; // two one-byte elements, padded
    let mut b = Vec::new();
    RtpHeader::new(PayloadType(8), 7, 960, Ssrc(9))
        .with_marker(true)
        .with_csrcs(&csrcs)
        .with_extension(ONE_BYTE_PROFILE, &ext)
        .with_padding(4)
        .write(&[0xD5; 40], &mut b)
        .expect("header fits");
    out.write("rtp_parse", "csrc-ext-padding", &b);
    // An RTCP receiver report (RFC 3550 §6.4.2) on the RTP port.
    out.write(
        "rtp_parse",
        "rtcp-rr",
        &[0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    jyqq_media::rtp::RtpPacket::parse(&b).expect("seed parses");
}

fn ingress_seeds(out: &mut Out, dgrams: &[&jyqq_media::capture::Datagram]) {
    let legs: Vec<SocketAddr> = {
        let mut v: Vec<SocketAddr> = Vec::new();
        for d in dgrams {
            if !v.contains(&d.src) {
                v.push(d.src);
            }
        }
        v
    };
    let mut seed = Vec::new();
    let mut last = dgrams[0].time;
    for d in dgrams.iter().take(150) {
        let step = (d.time.as_nanos().saturating_sub(last.as_nanos()) / 1_000_000).min(255) as u8;
        last = d.time;
        let leg = legs.iter().position(|s| *s == d.src).unwrap_or(0).min(1) as u8;
        let Ok(len) = u8::try_from(d.payload.len()) else { continue };
        seed.extend_from_slice(&[step, leg << 1, len]);
        seed.extend_from_slice(&d.payload);
    }
    out.write("ingress", "call-3s", &seed);
}

fn jitter_seeds(out: &mut Out, dgrams: &[&jyqq_media::capture::Datagram]) {
    let payload = &dgrams[10].payload[12..];
    let setup = JitterSetup {
        capacity: 99,
        adaptive: true,
        delay_ms: 60,
        clock: Clock::Hz8000,
        ptime_ms: 20,
        strict_source: true,
        probation: 1,
        max_misorder: 100,
        max_dropout: 3000,
        bind_remote: true,
    };
    let rtp = |seq_step: i8, ts_step: i16, dt_us: u16, marker: bool| NetOp::Rtp {
        dt_us,
        foreign: false,
        ssrc: 0,
        seq_step,
        ts_step,
        marker,
        pt: 0,
        padding: 0,
        payload: Blob(payload),
    };
    // A clean stream.
    let mut ops: Vec<NetOp> = vec![rtp(1, 160, 0, true)];
    ops.extend((0..100).map(|_| rtp(1, 160, 20_000, false)));
    ops.push(NetOp::Advance { ms: 200 });
    jyqq_media_fuzz_seed(out, "jitter_ops", "clean", &setup, &ops);
    // Reordering, a duplicate, loss, a foreign packet, junk, a restart and an SSRC change.
    let mut ops: Vec<NetOp> = vec![rtp(1, 160, 0, true)];
    for k in 0..60 {
        match k % 10 {
            3 => ops.push(rtp(2, 320, 20_000, false)),
            4 => ops.push(rtp(-1, -160, 5_000, false)),
            5 => ops.push(rtp(0, 0, 1_000, false)),
            6 => ops.push(NetOp::Raw { dt_us: 100, foreign: true, bytes: Blob(&dgrams[3].payload) }),
            7 => ops.push(NetOp::Raw { dt_us: 100, foreign: false, bytes: Blob(&[0x80, 0, 0]) }),
            _ => ops.push(rtp(1, 160, 20_000, false)),
        }
    }
    ops.push(NetOp::Jump { seq: 65_530, ts: u32::MAX - 400 });
    ops.extend((0..20).map(|_| rtp(1, 160, 20_000, false)));
    ops.push(NetOp::Rtp {
        dt_us: 20_000,
        foreign: false,
        ssrc: 1,
        seq_step: 1,
        ts_step: 160,
        marker: true,
        pt: 0,
        padding: 3,
        payload: Blob(payload),
    });
    ops.extend((0..10).map(|_| NetOp::Rtp {
        dt_us: 20_000,
        foreign: false,
        ssrc: 1,
        seq_step: 1,
        ts_step: 160,
        marker: false,
        pt: 13,
        padding: 0,
        payload: Blob(&[40]),
    }));
    ops.push(NetOp::Advance { ms: 500 });
    jyqq_media_fuzz_seed(out, "jitter_ops", "impaired", &setup, &ops);
    // An Opus-clocked stream with fixed delay and a small buffer.
    let setup = JitterSetup { capacity: 7, adaptive: false, clock: Clock::Hz48000, ..setup };
    let mut ops: Vec<NetOp> = Vec::new();
    for k in 0..50 {
        ops.push(NetOp::Rtp {
            dt_us: if k % 5 == 0 { 60_000 } else { 5_000 },
            foreign: false,
            ssrc: 2,
            seq_step: 1,
            ts_step: 960,
            marker: k == 0,
            pt: 111,
            padding: 0,
            payload: Blob(&[0x78, 0x01, 0x02, 0x03]),
        });
    }
    jyqq_media_fuzz_seed(out, "jitter_ops", "opus-bursty", &setup, &ops);
}

fn jyqq_media_fuzz_seed(out: &mut Out, target: &str, name: &str, setup: &JitterSetup, ops: &[NetOp]) {
    ops_seed(out, target, name, setup, ops, jyqq_media_fuzz::jitter::run);
}

fn dtmf_seeds(out: &mut Out) {
    let setup = DtmfSetup { clock: 0, timeout_ms: 1000 };
    let ev = |dt_ms: u8, ts_step: i32, marker: bool, event: u8, end: bool, duration: u16| DtmfOp::Event {
        dt_ms,
        other_ssrc: false,
        epoch_step: 0,
        seq_step: 1,
        ts_step,
        marker,
        event,
        end,
        volume: 10,
        duration,
        blocks: 0,
    };
    // Keys 1, 5, # as RFC 4733 senders send them: updates every 50 ms, three end packets.
    let mut ops = Vec::new();
    for (i, key) in [1u8, 5, 11].into_iter().enumerate() {
        ops.push(ev(if i == 0 { 0 } else { 200 }, 8000, true, key, false, 400));
        for d in 2..5u16 {
            ops.push(ev(50, 0, false, key, false, 400 * d));
        }
        for _ in 0..3 {
            ops.push(ev(20, 0, false, key, true, 2000));
        }
    }
    // A long press: the duration field saturates, new segments continue the event.
    ops.push(ev(200, 16_000, true, 0, false, 800));
    for _ in 0..3 {
        ops.push(ev(200, 65_535, false, 0, false, 65_535));
    }
    ops.push(ev(50, 0, false, 0, true, 65_535));
    // A press whose end packets are lost, closed by the timeout; a raw block; the end.
    ops.push(ev(100, 8000, true, 9, false, 400));
    ops.push(DtmfOp::Timeout { ms: 1500 });
    let raw = TelephoneEvent { event: 3, end: true, volume: 7, duration: 640 }.to_bytes();
    ops.push(DtmfOp::Raw { dt_ms: 10, ts_step: 800, marker: true, payload: Blob(&raw) });
    ops.push(DtmfOp::Finish);
    ops_seed(out, "telephone_event", "keys", &setup, &ops, jyqq_media_fuzz::dtmf::run);
    // Redundant blocks, SSRC and epoch changes at 48 kHz.
    let setup = DtmfSetup { clock: 2, timeout_ms: 300 };
    let mut ops = Vec::new();
    for k in 0..6u8 {
        ops.push(DtmfOp::Event {
            dt_ms: 50,
            other_ssrc: k >= 3,
            epoch_step: u8::from(k == 4),
            seq_step: 1,
            ts_step: if k % 2 == 0 { 48_000 } else { 0 },
            marker: k % 2 == 0,
            event: 4 + k / 2,
            end: k % 2 == 1,
            volume: 20,
            duration: 2400,
            blocks: k % 3,
        });
    }
    ops_seed(out, "telephone_event", "redundant-ssrc", &setup, &ops, jyqq_media_fuzz::dtmf::run);
}

fn codec_seeds(out: &mut Out, dgrams: &[&jyqq_media::capture::Datagram]) {
    let pcm_bytes = |pcm: &[i16]| pcm.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>();
    // G.711: payloads of the default call (µ-law speech), decoded as µ-law and as A-law.
    let payloads: Vec<&[u8]> = dgrams.iter().skip(100).take(6).map(|d| &d.payload[12..]).collect();
    let tone8 = pcm_bytes(&sine(1000.0, 8000.0, 160, 0, 12000.0));
    for (name, choice) in [("pcmu", CodecChoice::Pcmu), ("pcma", CodecChoice::Pcma)] {
        let mut ops: Vec<CodecOp> = payloads.iter().map(|p| CodecOp::Decode(Blob(p))).collect();
        ops.push(CodecOp::Conceal(160));
        ops.push(CodecOp::Conceal(160));
        ops.push(CodecOp::Decode(Blob(payloads[0])));
        ops.push(CodecOp::Encode(Blob(&tone8)));
        ops_seed(out, "codec_decode", name, &choice, &ops, jyqq_media_fuzz::codec::run);
    }
    // L16: big-endian samples of a tone, stereo at 16 kHz, and an odd-length payload.
    let l16: Vec<u8> = sine(440.0, 16_000.0, 640, 0, 9000.0).iter().flat_map(|s| s.to_be_bytes()).collect();
    let ops = vec![
        CodecOp::Decode(Blob(&l16)),
        CodecOp::Decode(Blob(&l16[..5])),
        CodecOp::Conceal(320),
        CodecOp::Encode(Blob(&tone8)),
    ];
    ops_seed(
        out,
        "codec_decode",
        "l16-stereo",
        &CodecChoice::L16 { rate: 1, channels: 1 },
        &ops,
        jyqq_media_fuzz::codec::run,
    );
    // G.722: a tone through our encoder, decoded in each mode.
    let mut enc = G722Encoder::new();
    let mut g722 = Vec::new();
    for k in 0..4 {
        let mut p = vec![0u8; 160];
        let n = enc.encode(&sine(700.0, 16_000.0, 320, k * 320, 9000.0), &mut p).expect("G.722 encodes");
        p.truncate(n);
        g722.push(p);
    }
    let tone16 = pcm_bytes(&sine(3000.0, 16_000.0, 320, 0, 9000.0));
    for mode in 0..3u8 {
        let mut ops: Vec<CodecOp> = g722.iter().map(|p| CodecOp::Decode(Blob(p))).collect();
        ops.push(CodecOp::Conceal(320));
        ops.push(CodecOp::Encode(Blob(&tone16)));
        ops_seed(
            out,
            "codec_decode",
            &format!("g722-mode{}", mode + 1),
            &CodecChoice::G722 { mode },
            &ops,
            jyqq_media_fuzz::codec::run,
        );
    }
    // Opus: 20 ms packets from our encoder at 16 and 48 kHz, mono and stereo, with FEC.
    for (rate_i, hz, stereo) in [(2u8, 16_000u32, false), (4, 48_000, true), (0, 8000, false)] {
        let ch = if stereo { 2 } else { 1 };
        let mut cfg = OpusEncoderConfig::new(SampleRate::new(hz), ch);
        cfg.inband_fec = true;
        cfg.packet_loss_perc = 20;
        let mut enc = OpusEncoder::new(cfg).expect("opus encoder");
        let frame = hz as usize / 50;
        let mut pkts = Vec::new();
        for k in 0..5 {
            let mono = sine(440.0, f64::from(hz), frame, k * frame, 10000.0);
            let pcm: Vec<i16> = mono.iter().flat_map(|&s| std::iter::repeat_n(s, usize::from(ch))).collect();
            let mut p = vec![0u8; 1500];
            let n = enc.encode(&pcm, &mut p).expect("opus encodes");
            p.truncate(n);
            pkts.push(p);
        }
        let mono = sine(880.0, f64::from(hz), frame, 0, 10000.0);
        let pcm: Vec<i16> = mono.iter().flat_map(|&s| std::iter::repeat_n(s, usize::from(ch))).collect();
        let tone = pcm_bytes(&pcm);
        let mut ops = vec![CodecOp::Decode(Blob(&pkts[0])), CodecOp::Decode(Blob(&pkts[1]))];
        ops.push(CodecOp::Conceal(frame as u16));
        ops.push(CodecOp::Fec { next: Blob(&pkts[3]), samples: frame as u16 });
        ops.push(CodecOp::Decode(Blob(&pkts[3])));
        ops.push(CodecOp::Decode(Blob(&pkts[4])));
        ops.push(CodecOp::Decode(Blob(&[])));
        ops.push(CodecOp::Encode(Blob(&tone)));
        let choice = CodecChoice::Opus { rate: rate_i, stereo };
        ops_seed(out, "codec_decode", &format!("opus-{hz}-{ch}ch"), &choice, &ops, jyqq_media_fuzz::codec::run);
    }
}

/// A `secs`-long two-leg PCMU tone call recorded by our recorder: the Ogg bytes and pages.
fn recording(secs: f64) -> (Vec<u8>, Vec<jyqq_media::record::RecordingPage>) {
    let map = PayloadMap::static_defaults();
    let meta = RecordingMetadata::new("C-7", "0571-1001", "+86 138 0000 0007", "2026-03-01T08:00:00Z", "record");
    let cfg = RecorderConfig::new(SampleRate::HZ_8000, map.clone(), map.clone()).with_metadata(&meta);
    let start = HostTime::from_millis(1_000);
    let mut rec = Recorder::new(cfg, start).expect("recorder");
    let mut ingress = [Ingress::new(IngressConfig::new(map.clone())), Ingress::new(IngressConfig::new(map))];
    let addrs: [SocketAddr; 2] = ["10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap()];
    let frames = (secs * 50.0) as u32;
    let mut pages = Vec::new();
    for k in 0..frames {
        let now = start.saturating_add(Duration::from_millis(20 * u64::from(k)));
        rec.handle_timeout(now).expect("timeout");
        for leg in 0..2 {
            if leg == 1 && k % 17 == 5 {
                continue; // a lost packet on leg B
            }
            let p = pcmu_packet(k, 0x1000 + leg as u32, [440.0, 660.0][leg]);
            if let Ok(m) = ingress[leg].receive(now, addrs[leg], &p) {
                rec.push(if leg == 0 { Leg::A } else { Leg::B }, m);
            }
        }
        while let Some(p) = rec.poll_page() {
            pages.push(p);
        }
    }
    rec.finish(start.saturating_add(Duration::from_millis(20 * u64::from(frames)))).expect("finish");
    while let Some(p) = rec.poll_page() {
        pages.push(p);
    }
    let ogg: Vec<u8> = pages.iter().flat_map(|p| p.data.iter().copied()).collect();
    (ogg, pages)
}

fn ogg_seeds(out: &mut Out, ogg: &[u8]) {
    jyqq_media::record::read_ogg_opus(ogg).expect("our recording reads");
    out.write("ogg_read", "recording-2s", ogg);
    // Crash-truncated in the middle of the last page.
    out.write("ogg_read", "truncated", &ogg[..ogg.len() - 40]);
    // One flipped byte in an audio page (CRC failure).
    let mut bad = ogg.to_vec();
    let i = bad.len() / 2;
    bad[i] ^= 0x55;
    out.write("ogg_read", "crc-damage", &bad);
}

/// Ethernet + IPv4 + UDP frame around `payload`.
fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let ip = |a: SocketAddr| match a {
        SocketAddr::V4(v) => v.ip().octets(),
        SocketAddr::V6(_) => [127, 0, 0, 1],
    };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(ip(src), ip(dst), 64)
        .udp(src.port(), dst.port());
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("frame");
    v
}

fn capture_seeds(out: &mut Out, dgrams: &[&jyqq_media::capture::Datagram]) {
    let some: Vec<_> = dgrams.iter().take(80).collect();
    // pcap, written by our evidence sidecar (raw IP link type).
    let mut side = PcapSidecar::new(HostTime::ZERO, 1_772_352_000_000_000_000);
    let mut pcap = side.header().to_vec();
    for d in &some {
        pcap.extend_from_slice(side.record(d.time, d.src, d.dst, &d.payload).expect("record"));
    }
    // A SIP INVITE with SDP, so the SDP path runs.
    let sdp = "INVITE sip:b@example.org SIP/2.0\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
    let (a, b): (SocketAddr, SocketAddr) = ("10.0.0.1:5060".parse().unwrap(), "10.0.0.2:5060".parse().unwrap());
    pcap.extend_from_slice(side.record(HostTime::ZERO, a, b, sdp.as_bytes()).expect("record"));
    let n = read_capture(&pcap).expect("pcap seed reads").datagrams.len();
    assert_eq!(n, some.len() + 1);
    out.write("capture_read", "pcap-raw-ip", &pcap);
    out.write("capture_replay", "pcap-raw-ip", &pcap);
    // pcapng with Ethernet frames.
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    let mut w = pcap_file::pcapng::PcapNgWriter::new(Vec::new()).expect("pcapng");
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: pcap_file::DataLink::ETHERNET,
        snaplen: 65_535,
        options: vec![],
    })
    .expect("idb");
    for d in some.iter().take(40) {
        let f = frame(d.src, d.dst, &d.payload);
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(d.time.as_nanos()),
            original_len: f.len() as u32,
            data: f.into(),
            options: vec![],
        })
        .expect("epb");
    }
    let ng = w.into_inner();
    assert_eq!(read_capture(&ng).expect("pcapng seed reads").datagrams.len(), 40);
    out.write("capture_read", "pcapng-ethernet", &ng);
    out.write("capture_replay", "pcapng-ethernet", &ng);
    // rtpproxy "adhoc" records: IPv4 and IPv6 sources.
    let mut adhoc = Vec::new();
    for (i, d) in some.iter().take(30).enumerate() {
        let mut h = [0u8; 30];
        if i % 2 == 0 {
            h[0..2].copy_from_slice(&2u16.to_le_bytes());
            h[2..4].copy_from_slice(&d.src.port().to_be_bytes());
            h[4..8].copy_from_slice(&[10, 0, 0, 1]);
        } else {
            h[0..2].copy_from_slice(&10u16.to_le_bytes());
            h[2..4].copy_from_slice(&d.src.port().to_be_bytes());
            h[4..20].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        }
        let t = 1_772_352_000.0 + d.time.as_nanos() as f64 / 1e9;
        h[20..28].copy_from_slice(&t.to_le_bytes());
        h[28..30].copy_from_slice(&(d.payload.len() as u16).to_le_bytes());
        adhoc.extend_from_slice(&h);
        adhoc.extend_from_slice(&d.payload);
    }
    assert_eq!(read_capture(&adhoc).expect("adhoc seed reads").datagrams.len(), 30);
    out.write("capture_read", "rtpproxy-adhoc", &adhoc);
    out.write("capture_read", "sdp-text", sdp.as_bytes());
}

fn evidence_seeds(out: &mut Out, ogg: &[u8], pages: &[jyqq_media::record::RecordingPage]) {
    let key = SigningKey::from_bytes(&SEED_KEY);
    let meta = RecordingMetadata::new("C-7", "0571-1001", "+86 138 0000 0007", "2026-03-01T08:00:00Z", "record");
    let mut log = EvidenceLog::new();
    for p in pages {
        log.add_page(p).expect("pages chain");
    }
    let m = log.to_manifest(&meta, "2026-03-01T08:00:02Z", "call-7.opus", SampleRate::HZ_8000);
    let manifest = SignedManifest::sign(&m, &key);
    let report = jyqq_media::record::verify_recording(&manifest, &key.verifying_key(), &[Some(ogg)], None);
    assert!(report.is_intact(), "{report}");
    let pack = |manifest: &[u8], rec: &[u8], sidecar: &[u8]| {
        let mut v = Vec::new();
        v.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
        v.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        v.extend_from_slice(manifest);
        v.extend_from_slice(rec);
        v.extend_from_slice(sidecar);
        v
    };
    out.write("evidence_verify", "intact", &pack(&manifest, ogg, &[]));
    let mut side = PcapSidecar::new(HostTime::ZERO, 0);
    let mut sc = side.header().to_vec();
    let p = pcmu_packet(0, 1, 440.0);
    sc.extend_from_slice(
        side.record(HostTime::ZERO, "10.0.0.1:4000".parse().unwrap(), "10.0.0.9:30000".parse().unwrap(), &p)
            .expect("record"),
    );
    out.write("evidence_verify", "with-sidecar", &pack(&manifest, &ogg[..ogg.len() - 100], &sc));
}

fn session_seeds(out: &mut Out) {
    let run = jyqq_media_fuzz::session::run;
    let media = |b: bool, dt_ms: u8| SessionOp::Media { b, dt_ms };
    // A recorded call with a listener, a whisper, guard audio, a warning tone, an RTP-bleed
    // attempt and junk, then no-monitor, then staff cut with a final prompt.
    let setup = SessionSetup {
        codec_a: LegCodec::Pcmu,
        codec_b: LegCodec::Pcmu,
        policy: 0,
        limit_s: 0,
        bind_a: true,
        bind_b: true,
    };
    let junk = [0x80u8, 0x00, 0xFF];
    let mut ops = vec![SessionOp::Answer];
    for k in 0..150u32 {
        ops.push(media(false, 5));
        ops.push(media(true, 0));
        ops.push(SessionOp::Advance { ms: 15 });
        match k {
            10 => ops.push(SessionOp::AddTap { kind: 1 }),
            20 => ops.push(SessionOp::AddTap { kind: 4 }),
            21..=30 => ops.push(SessionOp::GuardAudio { tap: 1, amp: 3000, wrong_len: false }),
            40 => ops.push(SessionOp::Play { target: 2, tap: 0, freq: 1400, ms: 500, replace: false }),
            50 => ops.push(SessionOp::Rtp {
                b: false,
                from: 1,
                dt_ms: 0,
                own_ssrc: true,
                seq_step: 1,
                ts_step: 160,
                marker: false,
                pt: 0,
                payload: Blob(&[0xFF; 160]),
            }),
            51 => ops.push(SessionOp::Raw { b: true, from: 0, dt_ms: 0, bytes: Blob(&junk) }),
            60 => ops.push(SessionOp::ChangeTap { tap: 0, kind: 12 }),
            80 => ops.push(SessionOp::RemoveTap { tap: 1 }),
            100 => ops.push(SessionOp::Tighten { record: true, monitor: false }),
            _ => {}
        }
    }
    ops.push(SessionOp::Disconnect { prompt: true });
    ops.push(SessionOp::Advance { ms: 400 });
    ops_seed(out, "session_ops", "pcmu-monitored", &setup, &ops, run);
    // Opus on both legs, remotes learned, a privileged (no-record) call, a re-INVITE.
    let setup = SessionSetup {
        codec_a: LegCodec::Opus,
        codec_b: LegCodec::Opus,
        policy: 2,
        limit_s: 0,
        bind_a: false,
        bind_b: false,
    };
    let mut ops = vec![SessionOp::Answer];
    for k in 0..60u32 {
        ops.push(media(false, 10));
        ops.push(media(true, 10));
        if k == 30 {
            ops.push(SessionOp::Bind { b: true, to: 2 });
            ops.push(SessionOp::AddTap { kind: 0 });
        }
    }
    ops.push(SessionOp::Disconnect { prompt: false });
    ops_seed(out, "session_ops", "opus-privileged", &setup, &ops, run);
    // G.722 with a 1 s limit: the limit ends the call; recording stops with it.
    let setup = SessionSetup {
        codec_a: LegCodec::G722,
        codec_b: LegCodec::G722,
        policy: 1,
        limit_s: 1,
        bind_a: true,
        bind_b: true,
    };
    let mut ops = vec![SessionOp::Answer];
    for _ in 0..70u32 {
        ops.push(media(false, 10));
        ops.push(media(true, 10));
    }
    ops.push(SessionOp::Tighten { record: false, monitor: false });
    ops_seed(out, "session_ops", "g722-limit", &setup, &ops, run);
}

fn ffi_seeds(out: &mut Out) {
    let run = jyqq_media_fuzz::ffi::run;
    let pcmu = CodecArg { name: 0, raw: Blob(b""), null_name: false, clock_rate: 0, payload_type: 0, channels: 1 };
    let addr = |which: u8| AddrArg { which, raw: Blob(b"") };
    let packets: Vec<[Vec<u8>; 2]> =
        (0..100u32).map(|k| [pcmu_packet(k, 0x1111, 440.0), pcmu_packet(k, 0x2222, 660.0)]).collect();
    let guard: Vec<u8> = sine(3000.0, 8000.0, 160, 0, 3000.0).iter().flat_map(|v| v.to_le_bytes()).collect();
    // A whole call through the C ABI: configure, whisper to B with guard audio, a warning
    // and a tone, media both ways, staff cut; then the freed handles used again.
    let mut ops = vec![
        FfiOp::ConfigNew { id: Blob(b"seed-call"), null_out: false },
        FfiOp::ConfigSetLeg { cfg: Pick(0), leg: 0, codec: pcmu.clone(), ssrc: 0xA, seq: 1, ts: 2, remote: addr(0) },
        FfiOp::ConfigSetLeg { cfg: Pick(0), leg: 1, codec: pcmu.clone(), ssrc: 0xB, seq: 3, ts: 4, remote: addr(1) },
        FfiOp::ConfigSetTimeLimit { cfg: Pick(0), ms: 3000 },
        FfiOp::ConfigAddWarningTone { cfg: Pick(0), before_ms: 1000, freq: 1000.0, level: -10.0, dur_ms: 200 },
        FfiOp::SessionNew { cfg: Pick(0), null_out: false },
        FfiOp::Answer { s: Pick(0) },
        FfiOp::AddTap { s: Pick(0), talk: 2, listen: 1, null_out: false },
    ];
    for (k, [a, b]) in packets.iter().enumerate() {
        ops.push(FfiOp::HandleRtp { s: Pick(0), dt_ms: 5, leg: 0, from: addr(0), data: Blob(a), null_data: false });
        ops.push(FfiOp::HandleRtp { s: Pick(0), dt_ms: 0, leg: 1, from: addr(1), data: Blob(b), null_data: false });
        ops.push(FfiOp::HandleTimeout { s: Pick(0), dt_ms: 15 });
        ops.push(FfiOp::Poll { s: Pick(0), max: 30 });
        if (20..40).contains(&k) {
            ops.push(FfiOp::PushGuard { s: Pick(0), tap: 0, pcm: Blob(&guard), null_pcm: false });
        }
        if k == 50 {
            ops.push(FfiOp::PlayTone {
                s: Pick(0),
                at_ms: 0,
                target: 2,
                tap: 0,
                mode: 0,
                freq: 1400.0,
                level: -12.0,
                dur_ms: 300,
            });
        }
    }
    ops.extend([
        FfiOp::Summary { s: Pick(0), cap: 4096, null_buf: false },
        FfiOp::Disconnect { s: Pick(0), cause: 3 },
        FfiOp::Poll { s: Pick(0), max: 50 },
        FfiOp::SessionFree { s: Pick(0) },
        FfiOp::Answer { s: Pick(0) },
        FfiOp::ConfigFree { cfg: Pick(0) },
        FfiOp::ConfigFree { cfg: Pick(0) },
        FfiOp::ResultText { code: 999 },
    ]);
    ops_seed(out, "ffi_ops", "whole-call", &(), &ops, run);
    // The stateless entry points on junk.
    let ops = vec![
        FfiOp::OggInfo { data: Blob(b"OggS\0\x02") },
        FfiOp::OggRepair { data: Blob(b"OggS"), cap: 16 },
        FfiOp::CaptureNew { data: Blob(&[0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0]) },
        FfiOp::CaptureQuery { c: Pick(0), call: 0, leg: 0, index: 0, which: 4 },
        FfiOp::Verify { manifest: Blob(b"{}"), key: Blob(&[7; 32]), segment: Blob(b""), sidecar: Blob(b""), cap: 64 },
        FfiOp::ResultText { code: 0 },
    ];
    ops_seed(out, "ffi_ops", "stateless", &(), &ops, run);
}
