//! The main job on real captures: each call recorded to stereo Ogg Opus whose duration equals
//! the call's span on the legs' RTP timelines, with receive counts equal to tshark's.

mod common;

use jyqq_media::capture::{read_capture, Datagram};
use jyqq_media::record::read_ogg_opus;
use jyqq_media::replay::{record_capture, record_legs, CallRecording, ReplayOptions};
use jyqq_media::rtp::{PayloadMap, RtpPacket};
use std::collections::HashMap;
use std::process::Command;

/// Span of a call on its legs' RTP timelines: from the first packet of either leg to the end of
/// the last packet of either leg (its timestamp plus one ptime), each leg placed by the arrival
/// of its first packet. Computed from the raw packets, independently of the recorder.
fn rtp_span_secs(legs: &[Vec<&Datagram>], clock: f64, ptime_ticks: u32) -> f64 {
    let start = legs.iter().filter_map(|l| l.first()).map(|d| d.time.as_nanos()).min().unwrap();
    let mut end = 0f64;
    for l in legs {
        let audio: Vec<(&Datagram, RtpPacket)> =
            l.iter().filter_map(|d| RtpPacket::parse(&d.payload).ok().map(|p| (*d, p))).collect();
        let Some((d0, p0)) = audio.first() else { continue };
        let ts0 = p0.timestamp();
        let max_ticks = audio.iter().map(|(_, p)| p.timestamp().wrapping_sub(ts0)).max().unwrap();
        let leg_end = (d0.time.as_nanos() - start) as f64 / 1e9 + f64::from(max_ticks + ptime_ticks) / clock;
        end = end.max(leg_end);
    }
    end
}

/// tshark's RTP stream table: SSRC -> (packets, lost).
fn tshark_streams(path: &std::path::Path) -> Option<HashMap<u32, (u64, i64)>> {
    if !common::have_tool("tshark") {
        return None;
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams"])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = HashMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = cols.iter().position(|c| c.starts_with("0x")) else { continue };
        let ssrc = u32::from_str_radix(&cols[i][2..], 16).unwrap();
        // After SSRC: payload name(s) (may contain ", "), then Pkts, Lost, "(x%)".
        let pct = cols.iter().position(|c| c.starts_with('(') && c.ends_with("%)")).unwrap();
        let lost: i64 = cols[pct - 1].parse().unwrap();
        let pkts: u64 = cols[pct - 2].parse().unwrap();
        map.insert(ssrc, (pkts, lost));
    }
    Some(map)
}

/// Decodes an Ogg Opus file with ffmpeg; returns (samples per channel at 48 kHz, RMS of each channel).
fn ffmpeg_decode(ogg: &[u8]) -> Option<(usize, [f64; 2])> {
    if !common::have_tool("ffmpeg") {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("jyqq-rec-{}-{}", std::process::id(), ogg.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("x.opus");
    std::fs::write(&f, ogg).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&f)
        .args(["-f", "s16le", "-ac", "2", "-ar", "48000", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "ffmpeg complained: {}", String::from_utf8_lossy(&out.stderr));
    let s: Vec<i16> = out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let n = s.len() / 2;
    let rms = [0, 1].map(|ch| {
        let e: f64 = s.iter().skip(ch).step_by(2).map(|&x| f64::from(x).powi(2)).sum();
        (e / n.max(1) as f64).sqrt()
    });
    std::fs::remove_dir_all(&dir).ok();
    Some((n, rms))
}

struct Expect {
    ssrc: u32,
    packets: u64,
    lost: i64,
    duplicates: u64,
}

fn check_call(call: &CallRecording, span: f64, expect: &[Expect], tshark: Option<&HashMap<u32, (u64, i64)>>) {
    let info = read_ogg_opus(&call.ogg).expect("our reader reads the recording");
    assert_eq!(info.head.channels, 2);
    assert!(info.eos_on_last_page, "end-of-stream page present");
    let dur = info.duration().as_secs_f64();
    assert!((dur - span).abs() <= 0.020, "call {}: recording {dur:.3} s, RTP span {span:.3} s", call.number);
    let reports: Vec<_> = call.streams.iter().flatten().collect();
    for e in expect {
        let r = reports.iter().find(|r| r.ssrc.0 == e.ssrc).unwrap_or_else(|| panic!("SSRC {:#x} missing", e.ssrc));
        assert_eq!((r.packets, r.lost, r.duplicates), (e.packets, e.lost, e.duplicates), "SSRC {:#x}", e.ssrc);
        if let Some(t) = tshark {
            let (tp, tl) = t[&e.ssrc];
            // tshark counts every packet including duplicates; its "Lost" is expected - received.
            assert_eq!(
                (r.packets + r.duplicates, r.lost - r.duplicates as i64),
                (tp, tl),
                "tshark, SSRC {:#x}",
                e.ssrc
            );
        }
    }
    if let Some((n, _)) = ffmpeg_decode(&call.ogg) {
        let secs = n as f64 / 48_000.0;
        assert!((secs - span).abs() <= 0.020, "ffmpeg decodes {secs:.3} s, span {span:.3} s");
    }
}

fn legs_of<'a>(cap: &'a jyqq_media::capture::Capture, ports: &[(u16, u16)]) -> Vec<Vec<&'a Datagram>> {
    ports
        .iter()
        .map(|&(src, dst)| {
            cap.datagrams
                .iter()
                .filter(|d| d.src.port() == src && d.dst.port() == dst && RtpPacket::parse(&d.payload).is_ok())
                .collect()
        })
        .collect()
}

fn run(rel: &str) -> Option<(jyqq_media::capture::Capture, Vec<CallRecording>, std::path::PathBuf)> {
    let dir = common::shared_data()?;
    let path = dir.join(rel);
    let bytes = std::fs::read(&path).unwrap();
    let cap = read_capture(&bytes).expect("capture reads");
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("calls record");
    Some((cap, calls, path))
}

#[test]
fn sipp_alaw_30ms_one_leg() {
    let Some((cap, calls, path)) = run("rtp/sipp/g711a.pcap") else { return };
    assert_eq!(calls.len(), 1);
    assert!(calls[0].streams[1].is_empty(), "one-leg call");
    let legs = legs_of(&cap, &[(5000, 2006)]);
    let span = rtp_span_secs(&legs, 8000.0, 240);
    let t = tshark_streams(&path);
    check_call(&calls[0], span, &[Expect { ssrc: 0xDEE0_EE8F, packets: 236, lost: 0, duplicates: 0 }], t.as_ref());
}

#[test]
fn wireshark_g711_two_one_way_calls_other_channel_silent() {
    let Some((cap, calls, path)) = run("rtp/wireshark-samples/sip-rtp-g711.pcap") else { return };
    assert_eq!(calls.len(), 2, "a PCMU call then a PCMA call");
    let t = tshark_streams(&path);
    let span1 = rtp_span_secs(&legs_of(&cap, &[(27942, 6000)]), 8000.0, 160);
    let span2 = rtp_span_secs(&legs_of(&cap, &[(28102, 6000)]), 8000.0, 160);
    check_call(&calls[0], span1, &[Expect { ssrc: 0x343D_A99B, packets: 425, lost: 0, duplicates: 0 }], t.as_ref());
    check_call(&calls[1], span2, &[Expect { ssrc: 0x343F_FA34, packets: 414, lost: 0, duplicates: 0 }], t.as_ref());
    assert_eq!(calls[0].streams[0][0].payload_types[0].0, 0);
    assert_eq!(calls[1].streams[0][0].payload_types[0].0, 8);
    for call in &calls {
        if let Some((_, rms)) = ffmpeg_decode(&call.ogg) {
            assert!(rms[0] > 300.0, "leg A carries the prompt (rms {})", rms[0]);
            // Each party is its own mono Opus stream: nothing of leg A leaks into channel 1.
            assert!(rms[1] < 1.0, "the absent leg B is silent (rms {})", rms[1]);
        }
    }
}

#[test]
fn sip_dtmf2_two_way_alaw_events_not_decoded_as_audio() {
    let Some((cap, calls, path)) = run("rtp/wireshark-samples/SIP_DTMF2.pcap") else { return };
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    let legs = legs_of(&cap, &[(4374, 4376), (4376, 4376)]);
    let audio_only: Vec<Vec<&Datagram>> = legs
        .iter()
        .map(|l| l.iter().copied().filter(|d| RtpPacket::parse(&d.payload).unwrap().payload_type().0 == 8).collect())
        .collect();
    let span = rtp_span_secs(&audio_only, 8000.0, 240).max(rtp_span_secs(&legs, 8000.0, 240));
    let t = tshark_streams(&path);
    check_call(
        call,
        span,
        &[
            Expect { ssrc: 0x9A7B_5382, packets: 665, lost: 2, duplicates: 0 },
            Expect { ssrc: 0x5711_BF84, packets: 666, lost: 0, duplicates: 0 },
        ],
        t.as_ref(),
    );
    let tl = call.timeline.iter().map(|s| s.telephone_events).sum::<u64>();
    assert_eq!(tl, 35, "all 35 telephone-event packets skipped, none decoded as audio");
    assert_eq!(call.timeline.iter().map(|s| s.unknown_payload_type).sum::<u64>(), 0);
}

#[test]
fn rtp_protocol_comfort_noise_keeps_whole_timeline() {
    let Some((cap, calls, path)) = run("rtp/sipnab/rtp-protocol.pcap") else { return };
    assert_eq!(calls.len(), 1);
    let legs = legs_of(&cap, &[(6020, 6040), (6040, 6020)]);
    let span = rtp_span_secs(&legs, 8000.0, 160);
    let t = tshark_streams(&path);
    check_call(
        &calls[0],
        span,
        &[
            Expect { ssrc: 0x44C6_1AFB, packets: 47, lost: 0, duplicates: 0 },
            Expect { ssrc: 0x06C1_56FD, packets: 201, lost: 0, duplicates: 0 },
        ],
        t.as_ref(),
    );
    let cn: u64 = calls[0].timeline.iter().map(|s| s.comfort_noise).sum();
    assert_eq!(cn, 13, "8 + 5 CN packets, none counted as lost or decoded as audio");
    assert_eq!(calls[0].timeline.iter().map(|s| s.decode_errors).sum::<u64>(), 0);
}

#[test]
fn rtcp_o_lost_packet_and_real_jitter() {
    let Some((cap, calls, path)) = run("rtp/rtpproxy/acct_rtcp_hep/rtcp.o.pcap") else { return };
    assert_eq!(calls.len(), 1);
    let legs = legs_of(&cap, &[(2006, 2008)]);
    let span = rtp_span_secs(&legs, 8000.0, 240);
    let t = tshark_streams(&path);
    check_call(&calls[0], span, &[Expect { ssrc: 0xF3CB_2001, packets: 229, lost: 1, duplicates: 0 }], t.as_ref());
    let j = calls[0].streams[0][0].jitter_ms;
    assert!(j > 0.1 && j < 20.0, "jitter {j} ms");
}

#[test]
fn rtpproxy_call1_ulaw_two_adhoc_legs() {
    let Some(dir) = common::shared_data() else { return };
    let a = std::fs::read(dir.join("rtp/rtpproxy/extractaudio/call1_ulaw.a.rtp")).unwrap();
    let o = std::fs::read(dir.join("rtp/rtpproxy/extractaudio/call1_ulaw.o.rtp")).unwrap();
    let ca = read_capture(&a).expect("adhoc leg a");
    let co = read_capture(&o).expect("adhoc leg o");
    let la: Vec<&Datagram> = ca.datagrams.iter().filter(|d| RtpPacket::parse(&d.payload).is_ok()).collect();
    let lo: Vec<&Datagram> = co.datagrams.iter().filter(|d| RtpPacket::parse(&d.payload).is_ok()).collect();
    let span = rtp_span_secs(&[la.clone(), lo.clone()], 8000.0, 160);
    let call =
        record_legs(1, [la, lo], [PayloadMap::static_defaults(), PayloadMap::static_defaults()]).expect("record");
    // rtpproxy's own analysis (call1_ulaw.output): 592 received + 1 duplicate, 0 lost; 591, 0 lost.
    check_call(
        &call,
        span,
        &[
            Expect { ssrc: 0xD2C7_ADA6, packets: 592, lost: 0, duplicates: 1 },
            Expect { ssrc: 0xDB0D_B55B, packets: 591, lost: 0, duplicates: 0 },
        ],
        None,
    );
}

#[test]
fn embedded_default_call_counts_and_duration() {
    let bytes = include_bytes!("../examples/data/default_call.pcap");
    let cap = read_capture(bytes).expect("embedded capture reads");
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("records");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.streams[0][0].ssrc.0, 0x1A2B_3C4D, "leg A is the side whose first packet came first");
    let legs = legs_of(&cap, &[(40000, 50000), (50000, 40000)]);
    let span = rtp_span_secs(&legs, 8000.0, 160);
    // By construction (examples/data/README.md): 937 frames per leg; leg A has one duplicate
    // and one reordered packet, leg B lost 7 packets; tshark agrees.
    check_call(
        call,
        span,
        &[
            Expect { ssrc: 0x1A2B_3C4D, packets: 937, lost: 0, duplicates: 1 },
            Expect { ssrc: 0x5E6F_7081, packets: 930, lost: 7, duplicates: 0 },
        ],
        None,
    );
    assert_eq!(call.streams[0][0].reordered, 1);
    assert_eq!(call.timeline[0].late + call.timeline[1].late, 0, "nothing dropped as late");
    // Leg B's 7 losses are single 20 ms gaps: each is concealed, none is silence.
    assert_eq!(call.timeline[1].concealed_samples, 7 * 160);
    if let Some((_, rms)) = ffmpeg_decode(&call.ogg) {
        assert!(rms[0] > 300.0 && rms[1] > 300.0, "both legs speak: rms {rms:?}");
    }
}

#[test]
fn wireshark_opus_hybrid_fullband_records_the_rtp_span() {
    let Some((cap, calls, path)) = run("rtp/wireshark-samples/sip-rtp-opus.pcap") else { return };
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.rate.hz(), 48_000, "Opus legs record at 48 kHz");
    // 425 packets of 20 ms (960 ticks at 48 kHz), one leg.
    let span = rtp_span_secs(&legs_of(&cap, &[(24196, 6000)]), 48_000.0, 960);
    let t = tshark_streams(&path);
    check_call(call, span, &[Expect { ssrc: 0x043E_EE04, packets: 425, lost: 0, duplicates: 0 }], t.as_ref());
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.decode_errors, st.late, st.gaps), (425, 0, 0, 0));
    if let Some((_, rms)) = ffmpeg_decode(&call.ogg) {
        assert!(rms[0] > 300.0, "the prompt is audible: rms {}", rms[0]);
        assert!(rms[1] < 30.0, "no leg B: rms {}", rms[1]);
    }
}

/// sip-rtp-opus-hybrid holds 5 packets over 6.3 s (sequence numbers 23845..24160, TOC codes
/// 0, 1, 2, 3, 3: 20, 40, 40, 40, 40 ms) cut from a longer stream. The right recording keeps
/// the timeline: each packet at its RTP timestamp, the gaps between them silence (after at
/// most 60 ms of concealment), so the duration is the timestamp span plus the last packet's
/// 40 ms: (303360 − 960 + 1920) / 48000 = 6.34 s.
///
/// The two code-3 packets are malformed (RFC 6716 §3.4): the fourth pads a CBR packet so that
/// 143 bytes remain for 2 frames (R6: not a multiple of 2), the fifth announces a 205-byte
/// first frame in a 156-byte packet (R7). libopus rejects both: they count as decode errors,
/// and their 40 ms slots (duration from the TOC) are filled as losses.
#[test]
fn wireshark_opus_multiframe_packets_with_gaps_keep_the_timeline() {
    let Some((cap, calls, path)) = run("rtp/wireshark-samples/sip-rtp-opus-hybrid.pcap") else { return };
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    let span = rtp_span_secs(&legs_of(&cap, &[(24196, 6000)]), 48_000.0, 1920);
    assert!((span - 6.34).abs() < 0.001, "span {span}");
    let t = tshark_streams(&path);
    check_call(call, span, &[Expect { ssrc: 0x043E_EE04, packets: 5, lost: 311, duplicates: 0 }], t.as_ref());
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.decode_errors, st.late), (3, 2, 0), "{st:?}");
    // Concealment continues real audio for at most 60 ms after each of the 3 decoded packets;
    // the rest of the gaps is silence (the encoder writes it when it passes the write point).
    assert!(st.concealed_samples > 0 && st.concealed_samples <= 3 * 60 * 48, "{st:?}");
}

#[test]
fn wireshark_g722_records_at_16k_with_the_8k_rtp_clock() {
    // Case B15 on a real capture: G.722 (PT 9) runs 16 kHz audio on an 8 kHz RTP clock.
    let Some((cap, calls, path)) = run("rtp/wireshark-samples/sip-rtp-g722.pcap") else { return };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].rate.hz(), 16_000, "recorded at the G.722 audio rate");
    let legs = legs_of(&cap, &[(17472, 6000)]);
    let span = rtp_span_secs(&legs, 8000.0, 160);
    let t = tshark_streams(&path);
    check_call(&calls[0], span, &[Expect { ssrc: 0x043D_AABA, packets: 425, lost: 0, duplicates: 0 }], t.as_ref());
    if let Some((_, rms)) = ffmpeg_decode(&calls[0].ogg) {
        assert!(rms[0] > 300.0, "the prompt is audible (rms {})", rms[0]);
    }
}

#[test]
fn rtpproxy_call1_g722_two_adhoc_legs() {
    let Some(dir) = common::shared_data() else { return };
    let a = std::fs::read(dir.join("rtp/rtpproxy/extractaudio/call1_g722.a.rtp")).unwrap();
    let o = std::fs::read(dir.join("rtp/rtpproxy/extractaudio/call1_g722.o.rtp")).unwrap();
    let (ca, co) = (read_capture(&a).expect("leg a"), read_capture(&o).expect("leg o"));
    // Audio packets only: the o leg holds one stray non-RTP record, the a leg two empty payloads.
    let rtp = |c: &jyqq_media::capture::Capture| -> Vec<Datagram> {
        c.datagrams.iter().filter(|d| RtpPacket::parse(&d.payload).is_ok()).cloned().collect()
    };
    let (la, lo) = (rtp(&ca), rtp(&co));
    let (ra, ro): (Vec<&Datagram>, Vec<&Datagram>) = (la.iter().collect(), lo.iter().collect());
    let span = rtp_span_secs(&[ra.clone(), ro.clone()], 8000.0, 160);
    let call =
        record_legs(1, [ra, ro], [PayloadMap::static_defaults(), PayloadMap::static_defaults()]).expect("record");
    assert_eq!(call.rate.hz(), 16_000);
    let info = read_ogg_opus(&call.ogg).unwrap();
    let dur = info.duration().as_secs_f64();
    assert!((dur - span).abs() <= 0.020, "recording {dur:.3} s, RTP span {span:.3} s");
    assert_eq!(call.timeline.iter().map(|s| s.decode_errors).sum::<u64>(), 0);
}

#[test]
fn b15_g722_recording_length_uses_the_8k_rtp_clock() {
    // CASES B15: 2000 G.722 packets of a 1 kHz tone; at packet 1000 the timestamp jumps by
    // 8160 (a 1 s gap) with contiguous sequence numbers. 41.00 s, final granule pre-skip + 1968000.
    use jyqq_media::codec::{Encoder, G722Encoder};
    use jyqq_media::rtp::{PayloadType, RtpHeader, Ssrc};
    let mut enc = G722Encoder::new();
    let src: std::net::SocketAddr = "192.0.2.9:7000".parse().unwrap();
    let dst: std::net::SocketAddr = "192.0.2.10:7002".parse().unwrap();
    let mut datagrams = Vec::new();
    let mut payload = [0u8; 160];
    for k in 0..2000u32 {
        let pcm: Vec<i16> = (0..320)
            .map(|i| (12000.0 * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(k * 320 + i) / 16000.0).sin()) as i16)
            .collect();
        enc.encode(&pcm, &mut payload).unwrap();
        let ts = 160 * k + if k >= 1000 { 8000 } else { 0 };
        let mut bytes = Vec::new();
        RtpHeader::new(PayloadType(9), k as u16, ts, Ssrc(0x15)).write(&payload, &mut bytes).unwrap();
        let at_ms = u64::from(ts) / 8; // arrivals follow the media clock, the gap included
        let pkt = pcap_datagram(at_ms, src, dst, bytes);
        datagrams.push(pkt);
    }
    let leg_a: Vec<&Datagram> = datagrams.iter().collect();
    let call =
        record_legs(1, [leg_a, Vec::new()], [PayloadMap::static_defaults(), PayloadMap::static_defaults()]).unwrap();
    let info = read_ogg_opus(&call.ogg).unwrap();
    assert_eq!(info.last_granule, Some(u64::from(info.head.pre_skip) + 1_968_000));
    assert_eq!(info.duration(), std::time::Duration::from_secs(41));
    let rec = jyqq_media::record::decode_ogg_opus(&call.ogg).unwrap();
    let left = rec.channel(0);
    // The tone keeps its pitch: 1000 Hz ± 1 Hz by zero crossings over 10 s of the first part.
    let seg = &left[48_000..48_000 * 11];
    let crossings = seg.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    assert!((crossings as i64 - 10_000).abs() <= 10, "{crossings} cycles in 10 s");
    // The 1 s gap is silent: 20.0–21.0 s of the recording.
    let gap = &left[48_000 * 20 + 2400..48_000 * 21 - 2400];
    assert!(gap.iter().all(|&s| s.unsigned_abs() < 200), "gap is silence");
}

/// A datagram as the capture reader would give it, arriving at `at_ms`.
fn pcap_datagram(at_ms: u64, src: std::net::SocketAddr, dst: std::net::SocketAddr, payload: Vec<u8>) -> Datagram {
    let mut bytes = Vec::new();
    etherparse::PacketBuilder::ipv4([192, 0, 2, 9], [192, 0, 2, 10], 64)
        .udp(src.port(), dst.port())
        .write(&mut bytes, &payload)
        .unwrap();
    let mut w = pcap_file::pcap::PcapWriter::with_header(
        Vec::new(),
        pcap_file::pcap::PcapHeader { datalink: pcap_file::DataLink::IPV4, ..Default::default() },
    )
    .unwrap();
    w.write_packet(&pcap_file::pcap::PcapPacket::new(
        std::time::Duration::from_millis(at_ms),
        bytes.len() as u32,
        &bytes,
    ))
    .unwrap();
    let cap = read_capture(&w.into_writer()).unwrap();
    cap.datagrams.into_iter().next().unwrap()
}
