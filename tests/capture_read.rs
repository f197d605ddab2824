//! Reading real captures from ../shared/data/rtp: stream discovery, call pairing and
//! SDP payload maps against the numbers in ../shared/data/MANIFEST.md, cross-checked
//! with tshark's `rtp,streams` table when tshark is installed.

mod common;

use jyqq_media::capture::{
    find_rtp_streams, pair_calls, read_capture, rtpmaps_for_stream, sdp_payload_maps, Capture, CaptureError,
    CaptureFormat, LinkType, RtpStreamInfo,
};
use jyqq_media::rtp::PayloadType;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Per SSRC: total packets and packets per payload type, summed over every
/// (src, dst) stream that carries the SSRC.
type SsrcTable = BTreeMap<u32, (usize, BTreeMap<u8, usize>)>;

fn by_ssrc(streams: &[RtpStreamInfo]) -> SsrcTable {
    let mut t = SsrcTable::new();
    for s in streams {
        let e = t.entry(s.ssrc.0).or_default();
        e.0 += s.packet_count;
        for (pt, n) in &s.payload_types {
            *e.1.entry(pt.0).or_default() += n;
        }
    }
    t
}

/// The MANIFEST's per-SSRC line: SSRC, packets, (payload type, packets)…
type SsrcLine = (u32, usize, &'static [(u8, usize)]);

fn table(lines: &[SsrcLine]) -> SsrcTable {
    lines.iter().map(|(ssrc, n, pts)| (*ssrc, (*n, pts.iter().copied().collect()))).collect()
}

fn load(rel: &str) -> Option<Capture> {
    let bytes = common::shared_file(rel)?;
    Some(read_capture(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address literal")
}

/// Each capture's RTP streams as the MANIFEST "Measured" column gives them.
const CASES: &[(&str, usize, &[SsrcLine])] = &[
    ("rtp/sipp/g711a.pcap", 1, &[(0xdee0_ee8f, 236, &[(8, 236)])]),
    ("rtp/wireshark-samples/sip-rtp-g711.pcap", 2, &[(0x343d_a99b, 425, &[(0, 425)]), (0x343f_fa34, 414, &[(8, 414)])]),
    ("rtp/wireshark-samples/sip-rtp-g722.pcap", 1, &[(0x043d_aaba, 425, &[(9, 425)])]),
    ("rtp/wireshark-samples/sip-rtp-opus.pcap", 1, &[(0x043e_ee04, 425, &[(99, 425)])]),
    ("rtp/wireshark-samples/sip-rtp-opus-hybrid.pcap", 1, &[(0x043e_ee04, 5, &[(99, 5)])]),
    (
        "rtp/wireshark-samples/SIP_DTMF2.pcap",
        2,
        &[(0x9a7b_5382, 665, &[(8, 665)]), (0x5711_bf84, 666, &[(8, 631), (96, 35)])],
    ),
    (
        "rtp/sipnab/rtp-protocol.pcap",
        2,
        &[(0x44c6_1afb, 47, &[(8, 39), (13, 8)]), (0x06c1_56fd, 201, &[(8, 196), (13, 5)])],
    ),
    ("rtp/rtpproxy/catch_dtmf/dtmf.pcap", 2, &[(0x37ed_87f3, 151, &[(101, 151)]), (0xee69_3e61, 45, &[(101, 45)])]),
    // SSRC 0x9c49ca0a changes source port (12002 -> 12004) after 51 packets: two
    // (src, dst, SSRC) streams, 300 packets together; 0xcead2a2b is over IPv6.
    ("rtp/rtpproxy/rtp_analyze/DLT_NULL.a.rtp", 3, &[(0x9c49_ca0a, 300, &[(3, 300)]), (0xcead_2a2b, 300, &[(3, 300)])]),
    ("rtp/rtpproxy/acct_rtcp_hep/rtcp.o.pcap", 1, &[(0xf3cb_2001, 229, &[(8, 229)])]),
    ("rtp/rtpproxy/extractaudio/call1_ulaw.a.rtp", 1, &[(0xd2c7_ada6, 593, &[(0, 593)])]),
    ("rtp/rtpproxy/extractaudio/call1_ulaw.o.rtp", 1, &[(0xdb0d_b55b, 591, &[(0, 591)])]),
    ("rtp/rtpproxy/rtp_analyze/sipit31.o.rtp", 1, &[(0xd8af_bb01, 10164, &[(9, 3932), (18, 6232)])]),
];

#[test]
fn streams_match_the_manifest() {
    for (rel, stream_count, lines) in CASES {
        let Some(c) = load(rel) else { return };
        assert!(!c.truncated && c.corrupt_at.is_none(), "{rel}");
        let streams = find_rtp_streams(&c);
        assert_eq!(streams.len(), *stream_count, "{rel}: {streams:#?}");
        assert_eq!(by_ssrc(&streams), table(lines), "{rel}");
        for s in &streams {
            assert_eq!(s.datagrams.len(), s.packet_count, "{rel}");
            assert!(s.datagrams.windows(2).all(|w| w[0] < w[1]), "{rel}: capture order");
            assert!(s.first_time <= s.last_time, "{rel}");
            assert!(s.datagrams.iter().all(|&i| c.datagrams[i].src == s.src && c.datagrams[i].dst == s.dst));
        }
    }
}

#[test]
fn formats_link_types_and_counts() {
    let Some(c) = load("rtp/rtpproxy/catch_dtmf/dtmf.pcap") else {
        return;
    };
    assert_eq!(c.format, CaptureFormat::PcapNg);
    assert_eq!(c.datagrams.len(), 196);

    let Some(c) = load("rtp/rtpproxy/rtp_analyze/DLT_NULL.a.rtp") else {
        return;
    };
    assert_eq!(c.format, CaptureFormat::Pcap { link_type: LinkType::Null, nanosecond: false });
    assert_eq!(c.datagrams.len(), 600);
    let v6 = c.datagrams.iter().filter(|d| d.src.is_ipv6()).count();
    assert_eq!(v6, 300);
    assert!(c.datagrams.iter().filter(|d| d.src.is_ipv6()).all(|d| d.src == addr("[::1]:12002")));

    // RTCP shares the capture but is not a stream: 230 datagrams, 229 RTP packets.
    let Some(c) = load("rtp/rtpproxy/acct_rtcp_hep/rtcp.o.pcap") else {
        return;
    };
    assert_eq!(c.datagrams.len(), 230);
    assert_eq!(c.skipped.total(), 0);

    // Adhoc recordings: the ".rtp" name is shared with pcap files; detection is by content.
    let Some(c) = load("rtp/rtpproxy/extractaudio/call1_ulaw.a.rtp") else {
        return;
    };
    assert_eq!(c.format, CaptureFormat::RtpproxyAdhoc);
    assert_eq!(c.datagrams.len(), 593);
    assert!(c.datagrams.iter().all(|d| d.src == addr("184.71.172.86:16384") && d.dst == addr("0.0.0.0:0")));
    let secs = (c.datagrams[592].time.0 - c.datagrams[0].time.0) as f64 / 1e9;
    assert!((11.7..11.9).contains(&secs), "{secs} s, MANIFEST says 11.8 s");
    let Some(c) = load("rtp/rtpproxy/rtp_analyze/lost.a.rtp") else {
        return;
    };
    assert_eq!(c.format, CaptureFormat::Pcap { link_type: LinkType::Ethernet, nanosecond: false });
}

#[test]
fn calls_are_paired() {
    // Two one-way calls to the same port from different source ports: PCMU, then PCMA.
    let Some(c) = load("rtp/wireshark-samples/sip-rtp-g711.pcap") else {
        return;
    };
    let streams = find_rtp_streams(&c);
    let calls = pair_calls(&streams);
    assert_eq!(calls.len(), 2);
    for (call, (n, ssrc, pt)) in calls.iter().zip([(1, 0x343d_a99b, 0), (2, 0x343f_fa34, 8)]) {
        assert_eq!(call.number, n);
        assert!(call.leg_b.is_none());
        assert_eq!(call.leg_a.streams.len(), 1);
        let s = &streams[call.leg_a.streams[0]];
        assert_eq!((s.ssrc.0, s.payload_types[0].0), (ssrc, PayloadType(pt)));
    }
    assert!(calls[0].leg_a.first_time < calls[1].leg_a.first_time);

    // Asymmetric RTP: 110:4374 -> 172:4376 answered by 172:4376 -> 110:4376.
    let Some(c) = load("rtp/wireshark-samples/SIP_DTMF2.pcap") else {
        return;
    };
    let streams = find_rtp_streams(&c);
    let calls = pair_calls(&streams);
    assert_eq!(calls.len(), 1);
    let (a, b) = (&calls[0].leg_a, calls[0].leg_b.as_ref().expect("two legs"));
    assert_eq!((a.src, a.dst, a.packet_count), (addr("192.168.105.110:4374"), addr("192.168.105.172:4376"), 665));
    assert_eq!((b.src, b.dst, b.packet_count), (addr("192.168.105.172:4376"), addr("192.168.105.110:4376"), 666));
    assert!(a.first_time <= b.first_time);

    // Symmetric RTP with comfort noise; leg A is 10.33.6.100, whose first packet came first.
    let Some(c) = load("rtp/sipnab/rtp-protocol.pcap") else {
        return;
    };
    let streams = find_rtp_streams(&c);
    let calls = pair_calls(&streams);
    assert_eq!(calls.len(), 1);
    let (a, b) = (&calls[0].leg_a, calls[0].leg_b.as_ref().expect("two legs"));
    assert_eq!((a.src, a.dst), (addr("10.33.6.100:6020"), addr("10.33.6.101:6040")));
    assert_eq!((a.packet_count, b.packet_count), (47, 201));
    assert_eq!((b.src, b.dst), (a.dst, a.src));
    let mut all: Vec<usize> = a.datagrams.iter().chain(&b.datagrams).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 248);

    // The two legs of an rtpproxy adhoc session are separate files without
    // destinations: merged, they are two one-leg calls in time order.
    let (Some(a), Some(o)) =
        (load("rtp/rtpproxy/extractaudio/call1_ulaw.a.rtp"), load("rtp/rtpproxy/extractaudio/call1_ulaw.o.rtp"))
    else {
        return;
    };
    let m = Capture::merged([a, o]);
    assert_eq!(m.datagrams.len(), 593 + 591);
    assert!(m.datagrams.windows(2).all(|w| w[0].time <= w[1].time));
    let calls = pair_calls(&find_rtp_streams(&m));
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.leg_b.is_none()));
}

#[test]
fn sdp_names_dynamic_payload_types() {
    let Some(c) = load("rtp/wireshark-samples/sip-rtp-opus.pcap") else {
        return;
    };
    let maps = sdp_payload_maps(&c);
    let streams = find_rtp_streams(&c);
    let r = rtpmaps_for_stream(&maps, &streams[0]);
    let opus = r.iter().find(|m| m.pt == 99).expect("PT 99 is mapped");
    assert_eq!((opus.encoding.as_str(), opus.clock_rate, opus.channels), ("opus", 48_000, 2));
    let fmtp = opus.fmtp.as_deref().expect("fmtp for PT 99");
    assert!(fmtp.split(';').any(|p| p.trim() == "useinbandfec=1"), "{fmtp}");
    let te = r.iter().find(|m| m.pt == 101).expect("PT 101");
    assert_eq!((te.encoding.as_str(), te.clock_rate), ("telephone-event", 8000));

    // Both directions of SIP_DTMF2 map PT 96 to telephone-event/8000.
    let Some(c) = load("rtp/wireshark-samples/SIP_DTMF2.pcap") else {
        return;
    };
    let maps = sdp_payload_maps(&c);
    let streams = find_rtp_streams(&c);
    for s in &streams {
        let r = rtpmaps_for_stream(&maps, s);
        let te = r.iter().find(|m| m.pt == 96).unwrap_or_else(|| panic!("PT 96 for {}: {r:?}", s.src));
        assert_eq!((te.encoding.as_str(), te.clock_rate, te.fmtp.as_deref()), ("telephone-event", 8000, Some("0-15")));
        assert_eq!(r.iter().find(|m| m.pt == 8).map(|m| m.encoding.as_str()), Some("PCMA"));
    }

    // The same port is announced for PCMU, then for PCMA: each call gets its own map.
    let Some(c) = load("rtp/wireshark-samples/sip-rtp-g711.pcap") else {
        return;
    };
    let maps = sdp_payload_maps(&c);
    let streams = find_rtp_streams(&c);
    let first_pt = |s: &RtpStreamInfo| rtpmaps_for_stream(&maps, s).first().map(|m| (m.pt, m.encoding.clone()));
    assert_eq!(first_pt(&streams[0]), Some((0, "PCMU".to_string())));
    assert_eq!(first_pt(&streams[1]), Some((8, "PCMA".to_string())));

    // G.722 runs on an 8000 Hz RTP clock (RFC 3551), whatever its 16 kHz audio.
    let Some(c) = load("rtp/wireshark-samples/sip-rtp-g722.pcap") else {
        return;
    };
    let r = rtpmaps_for_stream(&sdp_payload_maps(&c), &find_rtp_streams(&c)[0]);
    assert_eq!(r.iter().find(|m| m.pt == 9).map(|m| (m.encoding.as_str(), m.clock_rate)), Some(("G722", 8000)));
}

/// tshark's `rtp,streams` rows: (src, dst, SSRC, packets).
fn tshark_streams(path: &std::path::Path, extra: &[&str]) -> Vec<(SocketAddr, SocketAddr, u32, usize)> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-o", "rtp.heuristic_rtp:TRUE"])
        .args(extra)
        .args(["-q", "-z", "rtp,streams"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        let Some(lost) = t.iter().position(|w| w.starts_with('(') && w.ends_with("%)")) else {
            continue;
        };
        if t.len() < 10 || lost < 9 {
            continue;
        }
        let ip = |i: usize, p: usize| -> SocketAddr {
            let ip: std::net::IpAddr = t[i].parse().expect("tshark address");
            SocketAddr::new(ip, t[p].parse().expect("tshark port"))
        };
        let ssrc = u32::from_str_radix(t[6].trim_start_matches("0x"), 16).expect("tshark SSRC");
        rows.push((ip(2, 3), ip(4, 5), ssrc, t[lost - 2].parse().expect("tshark packet count")));
    }
    rows
}

#[test]
fn packet_counts_agree_with_tshark() {
    let Some(dir) = common::shared_data() else {
        return;
    };
    if !common::have_tool("tshark") {
        return;
    }
    for (rel, _, _) in CASES {
        let path = dir.join(rel);
        let Some(c) = load(rel) else { return };
        if c.format == CaptureFormat::RtpproxyAdhoc {
            continue; // tshark cannot read rtpproxy's own format
        }
        // tshark's RTP heuristic skips the loopback GSM streams; name the port.
        let extra: &[&str] = if rel.ends_with("DLT_NULL.a.rtp") { &["-d", "udp.port==12344,rtp"] } else { &[] };
        let theirs = tshark_streams(&path, extra);
        let ours = find_rtp_streams(&c);
        assert_eq!(theirs.len(), ours.len(), "{rel}: tshark {theirs:?}");
        for (src, dst, ssrc, n) in theirs {
            let s = ours
                .iter()
                .find(|s| s.src == src && s.dst == dst && s.ssrc.0 == ssrc)
                .unwrap_or_else(|| panic!("{rel}: tshark stream {src} -> {dst} {ssrc:#x} not found"));
            assert_eq!(s.packet_count, n, "{rel}: {src} -> {dst} {ssrc:#x}");
        }
    }
}

#[test]
fn not_a_capture() {
    let Some(wav) = common::shared_file("speech/pjsip/tock8.wav") else {
        return;
    };
    assert_eq!(read_capture(&wav), Err(CaptureError::NotACapture));
    let Some(text) = common::shared_file("rtp/rtpproxy/extractaudio/call1_ulaw.output") else {
        return;
    };
    assert_eq!(read_capture(&text), Err(CaptureError::NotACapture));
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    assert_eq!(read_capture(&noise), Err(CaptureError::NotACapture));
}

/// Offsets where each pcap record ends, read from the file's own framing.
fn pcap_record_ends(f: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 24;
    while at + 16 <= f.len() {
        let incl = u32::from_le_bytes([f[at + 8], f[at + 9], f[at + 10], f[at + 11]]);
        at += 16 + usize::try_from(incl).expect("fits");
        if at > f.len() {
            break;
        }
        ends.push(at);
    }
    ends
}

#[test]
fn truncated_captures() {
    let Some(f) = common::shared_file("rtp/sipp/g711a.pcap") else {
        return;
    };
    let full = read_capture(&f).expect("whole file");
    let ends = pcap_record_ends(&f);
    assert_eq!(ends.len(), 236);
    assert_eq!(*ends.last().expect("records"), f.len());
    // Cut in the middle of record 100 (0-based): records 0..100 survive.
    let cut = (ends[99] + ends[100]) / 2;
    let c = read_capture(&f[..cut]).expect("a truncated final record is not fatal");
    assert!(c.truncated);
    assert_eq!(c.datagrams.len(), 100);
    assert_eq!(c.datagrams[..], full.datagrams[..100]);
    // Cut exactly at a record boundary: complete, not truncated.
    let c = read_capture(&f[..ends[99]]).expect("boundary");
    assert!(!c.truncated);
    assert_eq!(c.datagrams.len(), 100);
    // Cut inside the 24-byte global header.
    assert_eq!(read_capture(&f[..20]), Err(CaptureError::TruncatedHeader { format: "pcap", len: 20 }));

    let Some(ng) = common::shared_file("rtp/rtpproxy/catch_dtmf/dtmf.pcap") else {
        return;
    };
    assert!(matches!(read_capture(&ng[..30]), Err(CaptureError::TruncatedHeader { format: "pcapng", .. })));
    let c = read_capture(&ng[..ng.len() - 3]).expect("truncated pcapng");
    assert!(c.truncated);
    assert_eq!(c.datagrams.len(), 195);
}

#[test]
fn every_truncation_of_small_files_reads_a_prefix() {
    for rel in ["rtp/sipp/dtmf_2833_0.pcap", "rtp/wireshark-samples/sip-rtp-opus-hybrid.pcap"] {
        let Some(f) = common::shared_file(rel) else {
            return;
        };
        let full = read_capture(&f).expect("whole file");
        let ends = pcap_record_ends(&f);
        for cut in 0..f.len() {
            match read_capture(&f[..cut]) {
                Ok(c) => {
                    let complete = ends.iter().filter(|&&e| e <= cut).count();
                    assert_eq!(c.datagrams[..], full.datagrams[..complete], "{rel} cut at {cut}");
                    assert_eq!(c.truncated, cut > 24 && !ends.contains(&cut), "{rel} cut at {cut}");
                }
                Err(CaptureError::TruncatedHeader { .. }) if (4..24).contains(&cut) => {}
                Err(CaptureError::NotACapture) if cut < 4 => {}
                Err(e) => panic!("{rel} cut at {cut}: {e}"),
            }
        }
    }
    // The first 40 records of an adhoc recording, cut everywhere.
    let Some(f) = common::shared_file("rtp/rtpproxy/extractaudio/call1_ulaw.a.rtp") else {
        return;
    };
    let full = read_capture(&f).expect("whole file");
    let mut ends = Vec::new();
    let mut at = 0;
    while ends.len() < 40 {
        at += 30 + usize::from(u16::from_le_bytes([f[at + 28], f[at + 29]]));
        ends.push(at);
    }
    for cut in 30..at {
        let c = read_capture(&f[..cut]).unwrap_or_else(|e| panic!("adhoc cut at {cut}: {e}"));
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(c.datagrams[..], full.datagrams[..complete], "adhoc cut at {cut}");
        assert_eq!(c.truncated, !ends.contains(&cut), "adhoc cut at {cut}");
    }
}

#[test]
fn damaged_real_captures_never_panic() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for rel in [
        "rtp/rtpproxy/catch_dtmf/dtmf.pcap",
        "rtp/wireshark-samples/sip-rtp-opus-hybrid.pcap",
        "rtp/rtpproxy/rtp_analyze/DLT_NULL.a.rtp",
        "rtp/rtpproxy/extractaudio/call1_g722.o.rtp",
    ] {
        let Some(f) = common::shared_file(rel) else {
            return;
        };
        let len = f.len().min(8192);
        for round in 0..300 {
            let mut g = f[..len].to_vec();
            for _ in 0..1 + round % 8 {
                let i = usize::try_from(next() % len as u64).expect("index fits");
                g[i] = next().to_le_bytes()[0];
            }
            if let Ok(c) = read_capture(&g) {
                let streams = find_rtp_streams(&c);
                let _ = pair_calls(&streams);
                let maps = sdp_payload_maps(&c);
                for s in &streams {
                    let _ = rtpmaps_for_stream(&maps, s);
                }
            }
        }
    }
}
