//! No panics across the public API (issue 9, item 5), part 3: the recorder and the Ogg /
//! evidence layer, capture reading and replay, and the call session, fed boundary values
//! (empty, truncated and garbage files, zero and absurd rates, crafted manifests with
//! extreme numbers, commands after the end, wrong frame lengths). Each call must give the
//! documented error variant or the documented count, never a panic. "Regression" marks a
//! call that panicked (or misbehaved) before its fix.

mod common;

use jyqq_media::capture::{
    find_rtp_streams, pair_calls, read_capture, sdp_payload_maps, Capture, CaptureError, Datagram,
};
use jyqq_media::codec::{CodecError, CodecRegistry};
use jyqq_media::mix::{
    Cadence, Dbm0, Listen, MixError, PlayMode, Prompt, PromptPlayer, Source, TapId, TapKind, Target, ToneGenerator,
    ToneSpec,
};
use jyqq_media::record::hash_chain::{from_hex, CHAIN_GENESIS};
use jyqq_media::record::keys::{parse_public_key, parse_secret_key, KeyError, SigningKey};
use jyqq_media::record::manifest::{chain_over_entries, parse_page_entry, SegmentFacts, SidecarFacts};
use jyqq_media::record::metadata::format_utc;
use jyqq_media::record::sidecar_pcap::{pcap_items, SidecarError};
use jyqq_media::record::tsa::timestamp_request;
use jyqq_media::record::{
    decode_ogg_opus, lacing_segments, opus_packet_samples, patch_page, push_page, read_ogg_opus, repair,
    verify_recording, EvidenceLog, Finding, Manifest, OggPage, OggPageWriter, OpusHead, OpusTags, PageFlags,
    PcapSidecar, RecordError, Recorder, RecorderConfig, RecordingMetadata, SignedManifest,
};
use jyqq_media::replay::{capture_calls, record_capture, record_legs, ReplayError, ReplayOptions};
use jyqq_media::rtp::{MediaPacket, PayloadFormat, PayloadMap, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, EndCause, LegConfig, Output, Policy, SessionConfig, SessionError, Warning};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn media(pt: u8, seq: u64, ts: u64, arrival_ms: u64, payload: &[u8]) -> MediaPacket {
    common::media_packet(9, pt, seq, ts, arrival_ms, payload)
}

fn rec_cfg(hz: u32) -> RecorderConfig {
    RecorderConfig::new(SampleRate::new(hz), PayloadMap::static_defaults(), PayloadMap::static_defaults())
}

/// A short, valid recording: 1 s of PCMU on leg A, nothing on leg B.
fn small_recording() -> Vec<u8> {
    let mut r = Recorder::new(rec_cfg(8000), HostTime::ZERO).expect("8 kHz");
    for k in 0..50u64 {
        r.push(Leg::A, media(0, k, k * 160, k * 20, &[0x55; 160]));
        r.handle_timeout(HostTime::from_millis(k * 20)).expect("encodes");
    }
    r.finish(HostTime::from_millis(1000)).expect("finishes");
    std::iter::from_fn(|| r.poll_page()).flat_map(|p| p.data).collect()
}

// ---------------------------------------------------------------------------------------
// record: recorder

#[test]
fn recorder_config_rejects_bad_rates_intervals_and_bitrates() {
    for hz in [0, 1, 7, 44_100, 96_000, u32::MAX] {
        assert!(matches!(Recorder::new(rec_cfg(hz), HostTime::ZERO), Err(RecordError::Config(_))), "{hz} Hz");
    }
    for flush in [Duration::ZERO, Duration::from_millis(19), Duration::from_millis(1001), Duration::MAX] {
        let mut c = rec_cfg(8000);
        c.flush_interval = flush;
        assert!(matches!(Recorder::new(c, HostTime::ZERO), Err(RecordError::Config(_))), "{flush:?}");
    }
    let mut c = rec_cfg(16_000);
    c.segment = Some(Duration::ZERO);
    assert!(matches!(Recorder::new(c, HostTime::ZERO), Err(RecordError::Config(_))));
    let mut c = rec_cfg(16_000);
    c.bitrate_bps = 0;
    assert!(matches!(Recorder::new(c, HostTime::ZERO), Err(RecordError::Codec(CodecError::Opus(_)))));
    // Out-of-range complexity and bitrate are clamped; a 1 MiB tag spans pages.
    let mut c = rec_cfg(48_000);
    c.complexity = u8::MAX;
    c.bitrate_bps = u32::MAX;
    c.tags.push("X=".to_owned() + &"y".repeat(MIB));
    c.segment = Some(Duration::MAX);
    let mut r = Recorder::new(c, HostTime(u64::MAX)).expect("clamped");
    assert!(r.poll_page().is_some_and(|p| p.is_bos()));
    assert!(std::iter::from_fn(|| r.poll_page()).count() > 1, "the tags need several pages");
}

#[test]
fn recorder_counts_bad_packets_and_ignores_input_after_finish() {
    let mut c = rec_cfg(16_000);
    c.guard_track = true;
    let mut r = Recorder::new(c, HostTime::ZERO).expect("16 kHz");
    r.push(Leg::A, media(0, 0, 0, 0, &[]));
    r.push(Leg::A, media(0, 1, 160, 20, &vec![0xFF; MIB]));
    r.push(Leg::A, media(127, 2, 320, 40, &[1, 2, 3]));
    r.push(Leg::B, media(8, u64::MAX, u64::MAX, 0, &[0xD5; 160]));
    r.push(Leg::B, media(8, 0, 0, u64::MAX, &[0xD5; 160]));
    r.push_guard_pcm(HostTime::ZERO, &[]);
    r.push_guard_pcm(HostTime(u64::MAX), &vec![i16::MAX; 1_000_000]);
    for ms in (0..=2_000).step_by(20) {
        r.handle_timeout(HostTime::from_millis(ms)).expect("encodes");
    }
    r.finish(HostTime::from_millis(2_000)).expect("finishes");
    r.finish(HostTime::ZERO).expect("idempotent");
    r.finish_at(HostTime(u64::MAX)).expect("already finished: nothing to do");
    r.push(Leg::A, media(0, 3, 480, 60, &[0; 160]));
    r.push_guard_pcm(HostTime::ZERO, &[1; 320]);
    assert_eq!(r.handle_timeout(HostTime(u64::MAX)), Ok(()));
    // Leg A: the empty payload has no duration (late: its place is written), the 1 MiB one
    // overflows the decoder (a decode error; its 131 s slot is filled), PT 127 is unmapped.
    let a = r.leg_stats(Leg::A);
    assert_eq!((a.packets, a.late, a.decode_errors, a.unknown_payload_type), (3, 1, 1, 1), "{a:?}");
    // Regression: leg B's packet arriving at the end of time was placed ~10^14 samples ahead
    // and the gap's silence allocated in memory ("memory allocation of 590295810358704 bytes
    // failed", an abort). It is now dropped and counted; the other one re-anchors at 0.
    let b = r.leg_stats(Leg::B);
    assert_eq!((b.packets, b.far_ahead, b.decoded_frames, b.timestamp_jumps), (2, 1, 1, 1), "{b:?}");
    let file: Vec<u8> = std::iter::from_fn(|| r.poll_page()).flat_map(|p| p.data).collect();
    let info = read_ogg_opus(&file).expect("a valid recording");
    assert_eq!(info.head.channels, 3);
    let decoded = decode_ogg_opus(&file).expect("decodes");
    assert_eq!(decoded.channels, 3);
}

// ---------------------------------------------------------------------------------------
// record: Ogg pages and Opus headers

#[test]
fn ogg_pages_and_opus_headers_reject_malformed_bytes() {
    assert_eq!(OggPage::parse(&[]), Err(RecordError::OggTruncated { needed: 27, available: 0 }));
    assert_eq!(OggPage::parse(b"Ogg"), Err(RecordError::OggTruncated { needed: 27, available: 3 }));
    assert_eq!(OggPage::parse(b"OggX"), Err(RecordError::OggCapturePattern));
    assert_eq!(OggPage::parse(&[0xFF; MIB]), Err(RecordError::OggCapturePattern));
    let mut page = Vec::new();
    push_page(&mut page, PageFlags::BOS, u64::MAX - 1, u32::MAX, u32::MAX, &[255, 255, 0], &[7; 510]).expect("valid");
    let mut v1 = page.clone();
    v1[4] = 1;
    assert_eq!(OggPage::parse(&v1), Err(RecordError::OggVersion(1)));
    let mut bad_crc = page.clone();
    bad_crc[30] ^= 1;
    assert!(matches!(OggPage::parse(&bad_crc), Err(RecordError::OggCrc { .. })));
    assert_eq!(
        OggPage::parse(&page[..page.len() - 1]),
        Err(RecordError::OggTruncated { needed: page.len(), available: page.len() - 1 })
    );
    let mut huge_table = page[..27].to_vec();
    huge_table[26] = 255;
    assert_eq!(OggPage::parse_ignoring_crc(&huge_table), Err(RecordError::OggTruncated { needed: 282, available: 27 }));
    let (p, len) = OggPage::parse(&page).expect("valid");
    assert_eq!((len, p.granule_known(), p.completed_packets()), (page.len(), Some(u64::MAX - 1), 1));

    let mut out = Vec::new();
    assert_eq!(
        push_page(&mut out, PageFlags::NONE, 0, 0, 0, &[1; 256], &[0; 256]),
        Err(RecordError::InvalidSegmentTable { segments: 256, body_len: 256 })
    );
    assert_eq!(
        push_page(&mut out, PageFlags::NONE, 0, 0, 0, &[3], &[0; 2]),
        Err(RecordError::InvalidSegmentTable { segments: 1, body_len: 2 })
    );
    assert!(out.is_empty());
    let mut two = page.clone();
    two.extend_from_slice(&page);
    assert_eq!(
        patch_page(&mut two, PageFlags::EOS, 0),
        Err(RecordError::NotOnePage { page_len: page.len(), given: 2 * page.len() })
    );
    assert_eq!(patch_page(&mut [], PageFlags::EOS, 0), Err(RecordError::OggTruncated { needed: 27, available: 0 }));

    let mut w = OggPageWriter::resume(0, u32::MAX);
    let big = vec![0u8; 255 * 200];
    assert_eq!(
        w.write_page(&mut out, &[&big, &big], 0, PageFlags::NONE),
        Err(RecordError::PageOverflow { segments: 402 })
    );
    assert_eq!(w.write_page(&mut out, &[vec![1u8; MIB]], 5, PageFlags::EOS), Ok(17), "4113 lacing values");
    assert_eq!(w.next_sequence(), 16, "sequence numbers wrap");
    assert_eq!(w.write_packets(&mut out, &[] as &[&[u8]], |_| 0, PageFlags::NONE), 0);
    assert_eq!(lacing_segments(0), 1);
    assert_eq!(lacing_segments(usize::MAX), usize::MAX / 255 + 1);

    assert!(matches!(OpusHead::new(0, 0, 0), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(OpusHead::new(3, u16::MAX, u32::MAX), Err(RecordError::InvalidOpusHead(_))));
    assert_eq!(
        OpusHead::with_mapping(255, 0, 0, 1, 0, &[0; 256]),
        Err(RecordError::InvalidOpusHead("more than 255 channels"))
    );
    assert!(matches!(OpusHead::with_mapping(1, 0, 0, 0, 0, &[]), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(OpusHead::with_mapping(255, 0, 0, 255, 255, &[0; 3]), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(OpusHead::parse(&[]), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(OpusHead::parse(b"OpusHead"), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(OpusTags::parse(&[]), Err(RecordError::InvalidOpusTags(_))));
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(OpusTags::parse(&tags), Err(RecordError::InvalidOpusTags(_))), "vendor length past the end");
    let mut tags = b"OpusTags\0\0\0\0".to_vec();
    tags.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(OpusTags::parse(&tags), Err(RecordError::InvalidOpusTags(_))), "comment count past the end");
    assert_eq!(opus_packet_samples(&[]), None);
    assert_eq!(opus_packet_samples(&[0xFF, 0xFF]), None, "63 frames is over 120 ms");
}

#[test]
fn ogg_opus_readers_reject_empty_garbage_and_every_truncation() {
    let no_page = |r: Result<_, RecordError>| matches!(r, Err(RecordError::NoOggPage { .. }));
    assert!(no_page(read_ogg_opus(&[]).map(|_| ())));
    assert!(no_page(decode_ogg_opus(&[]).map(|_| ())));
    assert!(no_page(repair(&[]).map(|_| ())));
    let garbage: Vec<u8> = (0..MIB).map(|k| (k * 7 + k / 255) as u8).collect();
    assert!(no_page(read_ogg_opus(&garbage).map(|_| ())));
    assert!(no_page(repair(b"OggS").map(|_| ())));
    // A valid Ogg page that is not Opus.
    let mut vorbis = Vec::new();
    push_page(&mut vorbis, PageFlags::BOS, 0, 1, 0, &[30], &[1; 30]).expect("valid");
    assert_eq!(read_ogg_opus(&vorbis).map(|_| ()), Err(RecordError::NotOggOpus { crc_failures: 0 }));
    assert_eq!(repair(&vorbis).map(|_| ()), Err(RecordError::NotOggOpus { crc_failures: 0 }));
    // An OpusHead with 0 channels.
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut bad = Vec::new();
    push_page(&mut bad, PageFlags::BOS, 0, 1, 0, &[19], &head).expect("valid");
    assert!(matches!(read_ogg_opus(&bad), Err(RecordError::InvalidOpusHead(_))));
    assert!(matches!(decode_ogg_opus(&bad), Err(RecordError::InvalidOpusHead(_))));

    // Every prefix of a real recording: an error of the documented kinds, or a stream that
    // repair closes into one read_ogg_opus accepts with its EOS.
    let file = small_recording();
    for n in (0..file.len()).step_by(7).chain([file.len()]) {
        let prefix = &file[..n];
        match read_ogg_opus(prefix) {
            Ok(_) => {
                let fixed = repair(prefix).expect("repairable");
                let info = read_ogg_opus(&fixed).expect("repaired file reads");
                assert!(info.eos_on_last_page, "prefix {n}");
                assert_eq!((info.crc_failures, info.truncated_tail_bytes), (0, 0), "prefix {n}");
                assert!(decode_ogg_opus(&fixed).is_ok(), "prefix {n}");
            }
            Err(e) => assert!(
                matches!(e, RecordError::NoOggPage { .. } | RecordError::NotOggOpus { .. }),
                "prefix {n}: {e:?}"
            ),
        }
    }
    // Garbage around the pages is tolerated.
    let mut wrapped = garbage[..1000].to_vec();
    wrapped.extend_from_slice(&file);
    wrapped.extend_from_slice(&garbage[..1000]);
    assert_eq!(decode_ogg_opus(&wrapped).map(|d| d.channels), Ok(2));
}

// ---------------------------------------------------------------------------------------
// record: evidence (manifest, chain, keys, sidecar)

fn hex64() -> String {
    "ab".repeat(32)
}

#[test]
fn evidence_helpers_reject_malformed_text() {
    assert_eq!(from_hex(""), None);
    assert_eq!(from_hex("zz"), None);
    assert_eq!(from_hex(&"a".repeat(63)), None);
    assert_eq!(from_hex(&"a".repeat(MIB)), None);
    assert_eq!(parse_page_entry(""), None);
    assert_eq!(parse_page_entry(":"), None);
    assert_eq!(parse_page_entry(&format!("-1:{}", hex64())), None);
    assert_eq!(parse_page_entry(&format!("18446744073709551616:{}", hex64())), None);
    assert_eq!(chain_over_entries(&CHAIN_GENESIS, &["x".into()]), None);
    assert_eq!(chain_over_entries(&CHAIN_GENESIS, &[]).map(|(_, b)| b), Some(0));
    // Regression: the byte total of the entries overflowed u64 (a panic in debug builds);
    // a total past u64 is no real file and is refused like a malformed entry.
    let max = format!("{}:{}", u64::MAX, hex64());
    assert_eq!(chain_over_entries(&CHAIN_GENESIS, std::slice::from_ref(&max)).map(|(_, b)| b), Some(u64::MAX));
    assert_eq!(chain_over_entries(&CHAIN_GENESIS, &[max.clone(), max]), None);

    assert_eq!(parse_secret_key("").map(|_| ()), Err(KeyError::NoKeyLine));
    assert_eq!(parse_secret_key("# only a comment\n\n").map(|_| ()), Err(KeyError::NoKeyLine));
    assert_eq!(parse_public_key(&"g".repeat(64)).map(|_| ()), Err(KeyError::NoKeyLine));
    assert_eq!(parse_public_key(&"0".repeat(66)).map(|_| ()), Err(KeyError::NoKeyLine));
    assert_eq!(format_utc(u64::MAX), "2554-07-21T23:34:33.709Z");
    assert_eq!(format_utc(0), "1970-01-01T00:00:00.000Z");
    let m = RecordingMetadata::from_tags(&["=".into(), "CALL_ID".into(), String::new()]);
    assert_eq!((m.call_id.as_str(), m.policy.as_str()), ("", ""));
    assert!(timestamp_request(&[], None).len() > 40);
    assert!(timestamp_request(&vec![0; MIB], Some(u64::MAX)).len() > 40);

    let (items, rest) = pcap_items(&[]);
    assert_eq!((items.len(), rest.len()), (0, 0));
    let (items, rest) = pcap_items(&[0xFF; 23]);
    assert_eq!((items.len(), rest.len()), (0, 23));
}

#[test]
fn pcap_sidecar_refuses_oversized_payloads_and_saturates_times() {
    let a = SocketAddr::from(([10, 0, 0, 1], 4000));
    let b: SocketAddr = "[2001:db8::1]:5000".parse().expect("an IPv6 address");
    // Regression: a UTC base at the end of i128 overflowed when a later host time was added.
    let mut s = PcapSidecar::new(HostTime::ZERO, i128::MAX);
    assert_eq!(s.record(HostTime(u64::MAX), a, b, &[]).map(|r| r.len()), Ok(16 + 40 + 8));
    let mut s = PcapSidecar::new(HostTime(u64::MAX), i128::MIN);
    assert_eq!(s.record(HostTime::ZERO, a, a, &[1; 100]).map(|r| r[..4].to_vec()), Ok(vec![0; 4]), "clamped at 1970");
    assert_eq!(s.record(HostTime::ZERO, a, a, &vec![0; 65_528]).map(|_| ()), Err(SidecarError::TooLarge(65_528)));
    assert_eq!(s.record(HostTime::ZERO, b, b, &vec![0; MIB]).map(|_| ()), Err(SidecarError::TooLarge(MIB)));
    assert_eq!(s.records(), 1, "refused datagrams are not chained");
}

#[test]
fn evidence_log_and_verifier_survive_crafted_numbers() {
    let mut log = EvidenceLog::new();
    assert_eq!(log.add_page_bytes(5, &[]), Ok(()));
    assert_eq!(log.add_page_bytes(5, &vec![0xFF; MIB]), Ok(()));
    assert!(log.add_page_bytes(4, b"OggS").is_err(), "segment order");
    // Two segments whose last pages claim granule u64::MAX - 1.
    let mut p = Vec::new();
    push_page(&mut p, PageFlags::NONE, u64::MAX - 1, 1, 0, &[1], &[0]).expect("valid");
    assert_eq!(log.add_page_bytes(5, &p), Ok(()));
    assert_eq!(log.add_page_bytes(6, &p), Ok(()));
    assert_eq!(log.pages(), 4);
    // Regression: the segments' durations were summed with `+` and overflowed.
    let meta = RecordingMetadata::new("", "", "", "", "");
    let m = log.to_manifest(&meta, "", "", SampleRate::new(0));
    assert_eq!(m.recording.duration_ms, u64::MAX / 48);
    assert_eq!(m.segments.len(), 2);

    let key = SigningKey::from_bytes(&[7; 32]);
    let trusted = key.verifying_key();
    for garbage in [&[][..], b"{}", b"\xFF\xFE", &[b'{'; 10_000][..]] {
        let r = verify_recording(garbage, &trusted, &[], None);
        assert!(matches!(r.findings.first(), Some(Finding::ManifestUnreadable(_))), "{:?}", r.findings);
        assert!(!r.is_intact());
    }
    // Regression: a signed manifest with extreme counts overflowed the verifier's sums
    // (segment bytes, page entry lengths, sidecar records × checkpoint interval).
    let entry = format!("{}:{}", u64::MAX, hex64());
    let mut m = Manifest::default();
    let mut seg = SegmentFacts::default();
    seg.bytes = u64::MAX;
    seg.pages = vec![entry.clone(), entry];
    m.segments = vec![seg.clone(), seg];
    m.chain.page_count = u64::MAX;
    let mut sc = SidecarFacts::default();
    sc.records = u64::MAX;
    sc.checkpoint_every = u64::MAX;
    sc.checkpoints = vec![hex64(); 3];
    sc.bytes = u64::MAX;
    m.sidecar = Some(sc);
    let file = SignedManifest::sign(&m, &key);
    let mut sidecar = PcapSidecar::new(HostTime::ZERO, 0).header().to_vec();
    sidecar.extend_from_slice(&[1; 100]);
    let segs = [Some(&b"OggS"[..]), Some(&[][..])];
    let r = verify_recording(&file, &trusted, &segs, Some(&sidecar));
    assert!(!r.is_intact());
    assert!(r.findings.iter().any(|f| matches!(f, Finding::ManifestInconsistent(_))), "{:?}", r.findings);
    let r = verify_recording(&file, &trusted, &[], Some(&[]));
    assert!(r.findings.iter().any(|f| matches!(f, Finding::SegmentMissing { .. })), "{:?}", r.findings);
}

// ---------------------------------------------------------------------------------------
// capture and replay

/// A pcap (LINKTYPE_RAW) of one PCMU call: 50 packets each way, 20 ms apart.
fn pcmu_call_pcap() -> Vec<u8> {
    let (a, b) = (SocketAddr::from(([10, 0, 0, 1], 4000)), SocketAddr::from(([10, 0, 0, 2], 5000)));
    let mut s = PcapSidecar::new(HostTime::ZERO, 1_700_000_000_000_000_000);
    let mut file = s.header().to_vec();
    for k in 0..50u16 {
        for (src, dst, ssrc) in [(a, b, 1), (b, a, 2)] {
            let mut d = Vec::new();
            RtpHeader::new(PayloadType(0), k, u32::from(k) * 160, Ssrc(ssrc)).write(&[0x55; 160], &mut d).expect("ok");
            file.extend_from_slice(s.record(HostTime::from_millis(u64::from(k) * 20), src, dst, &d).expect("fits"));
        }
    }
    file
}

/// A pcap (LINKTYPE_RAW) of `datagrams`: (ms, source, destination, UDP payload).
fn pcap_of(datagrams: &[(u64, SocketAddr, SocketAddr, Vec<u8>)]) -> Vec<u8> {
    let mut s = PcapSidecar::new(HostTime::ZERO, 0);
    let mut file = s.header().to_vec();
    for (ms, src, dst, payload) in datagrams {
        file.extend_from_slice(s.record(HostTime::from_millis(*ms), *src, *dst, payload).expect("fits"));
    }
    file
}

#[test]
fn replay_takes_garbage_sdp_as_unknown_codecs() {
    let (a, b) = (SocketAddr::from(([10, 0, 0, 1], 4000)), SocketAddr::from(([10, 0, 0, 2], 5000)));
    let (sip_a, sip_b) = (SocketAddr::from(([10, 0, 0, 1], 5060)), SocketAddr::from(([10, 0, 0, 2], 5060)));
    let sdp = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 96 0 300 x\r\na=rtpmap:96 opus/0/0\r\n\
               a=rtpmap:0 PCMU/8000/0\r\na=rtpmap:300 X/1\r\na=ptime:1e308\r\na=ptime:NaN\r\n\
               a=fmtp:96 maxplaybackrate=0;ptime=0\r\na=fmtp:\r\nm=audio 99999 RTP/AVP\r\n";
    let sip =
        format!("SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Type: application/sdp\r\nContent-Length: 99999\r\n\r\n{sdp}");
    let rtp = |pt: u8, k: u16| {
        let mut d = Vec::new();
        RtpHeader::new(PayloadType(pt), k, u32::from(k) * 160, Ssrc(5)).write(&[0xFF; 160], &mut d).expect("ok");
        d
    };
    for (pt, ok) in [(96u8, false), (0, true)] {
        let mut dgs = vec![(0, sip_a, sip_b, sip.clone().into_bytes())];
        dgs.extend((0..10u16).map(|k| (u64::from(k) * 20, b, a, rtp(pt, k))));
        let cap = read_capture(&pcap_of(&dgs)).expect("valid");
        let maps = sdp_payload_maps(&cap);
        assert_eq!(maps.len(), 1, "the second section has no valid port");
        assert_eq!(maps[0].ptime, None, "ptime 1e308 ms and NaN are ignored");
        assert_eq!(
            maps[0].rtpmaps.iter().map(|m| (m.pt, m.clock_rate, m.channels)).collect::<Vec<_>>(),
            [(96, 0, 0), (0, 8000, 0)]
        );
        match record_capture(&cap, &ReplayOptions::default()) {
            // opus/0 maps to a 1 Hz clock no codec has: refused, not recorded silent.
            Err(ReplayError::UnsupportedCodec { pt: 96, .. }) => assert!(!ok),
            // PCMU with 0 channels reads as mono.
            Ok(calls) => {
                assert!(ok);
                assert_eq!(calls[0].duration, Duration::from_millis(200));
            }
            Err(e) => panic!("PT {pt}: {e}"),
        }
    }
}

#[test]
fn read_capture_rejects_garbage_and_truncated_headers() {
    assert_eq!(read_capture(&[]).map(|_| ()), Err(CaptureError::NotACapture));
    assert_eq!(read_capture(&vec![0x42; MIB]).map(|_| ()), Err(CaptureError::NotACapture));
    assert_eq!(
        read_capture(&[0x4d, 0x3c, 0xb2, 0xa1]).map(|_| ()),
        Err(CaptureError::TruncatedHeader { format: "pcap", len: 4 })
    );
    assert!(matches!(
        read_capture(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]),
        Err(CaptureError::TruncatedHeader { format: "pcapng", .. } | CaptureError::BadHeader { format: "pcapng", .. })
    ));
    let mut pcap = pcmu_call_pcap();
    let mut odd_link = pcap[..24].to_vec();
    odd_link[20..24].copy_from_slice(&12_345u32.to_le_bytes());
    assert_eq!(read_capture(&odd_link).map(|_| ()), Err(CaptureError::UnsupportedLinkType(12_345)));
    // Every truncation of a valid capture reads the complete records before the cut.
    let full = read_capture(&pcap).expect("valid").datagrams.len();
    assert_eq!(full, 100);
    for n in [24usize, 25, 40, 100, pcap.len() / 2, pcap.len() - 1] {
        let c = read_capture(&pcap[..n]).expect("header intact");
        assert!(c.truncated || c.datagrams.len() < full, "cut at {n}");
    }
    // A record header claiming 4 GiB.
    pcap.truncate(24);
    pcap.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    let c = read_capture(&pcap).expect("header intact");
    assert!(c.datagrams.is_empty());
    assert!(c.truncated || c.corrupt_at.is_some() || c.skipped.total() > 0);
}

#[test]
fn replay_reports_no_rtp_missing_calls_and_unknown_codecs() {
    let empty = Capture::merged([]);
    assert!(find_rtp_streams(&empty).is_empty());
    assert!(pair_calls(&[]).is_empty());
    assert!(sdp_payload_maps(&empty).is_empty());
    assert!(matches!(capture_calls(&empty), Err(ReplayError::NoRtp)));
    assert!(matches!(record_capture(&empty, &ReplayOptions::default()), Err(ReplayError::NoRtp)));

    let cap = read_capture(&pcmu_call_pcap()).expect("valid");
    for asked in [0usize, 2, usize::MAX] {
        let mut o = ReplayOptions::default();
        o.call = Some(asked);
        assert!(
            matches!(record_capture(&cap, &o), Err(ReplayError::NoSuchCall { asked: a, found: 1 }) if a == asked),
            "call {asked}"
        );
    }
    let mut o = ReplayOptions::default();
    o.registry = Some(CodecRegistry::empty());
    assert!(matches!(record_capture(&cap, &o), Err(ReplayError::UnsupportedCodec { pt: 0, .. })));
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("one PCMU call");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].duration, Duration::from_millis(1000));

    // Legs with no datagrams, or only non-RTP ones: an empty recording, not an error.
    let r = record_legs(1, [Vec::new(), Vec::new()], [PayloadMap::new(), PayloadMap::new()]).expect("empty call");
    assert_eq!(r.duration, Duration::ZERO);
    assert!(read_ogg_opus(&r.ogg).is_ok());
    let junk: Vec<Datagram> = (0..20u64)
        .map(|k| Datagram {
            time: HostTime::from_millis(k * 20),
            src: SocketAddr::from(([10, 0, 0, 1], 1)),
            dst: SocketAddr::from(([10, 0, 0, 2], 2)),
            payload: vec![k as u8 & 0x3F; k as usize * 50],
            record: k as usize,
        })
        .collect();
    let r = record_legs(7, [junk.iter().collect(), Vec::new()], [PayloadMap::static_defaults(), PayloadMap::new()])
        .expect("garbage is dropped, not fatal");
    assert_eq!(r.streams[0].iter().map(|s| s.packets).sum::<u64>(), 0);
    // RTP in a codec the registry lacks (PT 3, GSM): refused rather than recorded silent.
    let mut gsm = junk[5].clone();
    gsm.payload = vec![0x80, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xD0];
    assert!(matches!(
        record_legs(7, [Vec::new(), vec![&gsm]], [PayloadMap::new(), PayloadMap::static_defaults()]),
        Err(ReplayError::UnsupportedCodec { call: 7, leg: Leg::B, pt: 3, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// session

fn pcmu() -> PayloadFormat {
    PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1)
}

fn session_cfg(a: PayloadFormat, b: PayloadFormat) -> SessionConfig {
    SessionConfig::new("boundary", LegConfig::new(a, Ssrc(1)), LegConfig::new(b, Ssrc(2)))
}

fn tone(rate: SampleRate) -> Source {
    Source::Tone(ToneGenerator::new(&ToneSpec::single(400.0, Dbm0(-10.0), Cadence::steady()), rate).expect("a tone"))
}

#[test]
fn session_config_rejects_unsupported_codecs_ptimes_and_rates() {
    let t0 = HostTime::ZERO;
    let new = |cfg: SessionConfig| CallSession::new(cfg, t0);
    let g729 = PayloadFormat::new(PayloadType(18), "G729", ClockRate::HZ_8000, 1);
    let unnamed = PayloadFormat::new(PayloadType(96), "", ClockRate::new(0), 0);
    let g722 = PayloadFormat::new(PayloadType(9), "G722", ClockRate::HZ_8000, 1);
    let opus = PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2);
    assert!(matches!(new(session_cfg(g729, pcmu())), Err(SessionError::UnsupportedCodec(_))));
    assert!(matches!(new(session_cfg(pcmu(), unnamed)), Err(SessionError::UnsupportedCodec(_))));
    assert!(matches!(new(session_cfg(pcmu(), g722)), Err(SessionError::NoCommonRate(_))));
    for ptime in [Duration::ZERO, Duration::from_millis(7), Duration::from_millis(30), Duration::MAX] {
        let mut c = session_cfg(pcmu(), pcmu());
        c.ptime = ptime;
        assert!(matches!(new(c), Err(SessionError::UnsupportedCodec(_))), "ptime {ptime:?}");
        let mut c = session_cfg(opus.clone(), opus.clone());
        c.ptime = ptime;
        assert!(
            matches!(new(c), Err(SessionError::UnsupportedCodec(_) | SessionError::Codec(CodecError::Unsupported(_)))),
            "Opus ptime {ptime:?}"
        );
    }
    for hz in [0, 7, 44_100, u32::MAX] {
        let mut c = session_cfg(opus.clone(), opus.clone());
        c.rate = Some(SampleRate::new(hz));
        assert!(matches!(new(c), Err(SessionError::Codec(CodecError::Unsupported(_)))), "{hz} Hz");
        let mut c = session_cfg(pcmu(), pcmu());
        c.rate = Some(SampleRate::new(hz));
        assert!(matches!(new(c), Err(SessionError::UnsupportedCodec(_))), "PCMU at {hz} Hz");
    }
    let mut c = session_cfg(pcmu(), pcmu());
    c.flush_interval = Duration::ZERO;
    assert!(matches!(new(c), Err(SessionError::Record(RecordError::Config(_)))));
    let mut c = session_cfg(pcmu(), pcmu());
    c.time_limit = Some(Duration::ZERO);
    c.warnings = vec![Warning::new(Duration::MAX, tone(SampleRate::HZ_8000))];
    assert!(matches!(new(c), Err(SessionError::Mix(MixError::LeadExceedsLimit { .. }))));
}

#[test]
fn session_commands_check_frames_taps_and_the_end() {
    let t = HostTime::from_millis;
    let mut c = session_cfg(pcmu(), pcmu());
    c.time_limit = Some(Duration::MAX);
    c.media_timeout = Duration::ZERO;
    let mut s = CallSession::new(c, t(0)).expect("PCMU both ways");
    s.answer(t(0));
    assert_eq!(s.limit_at(), Some(HostTime(u64::MAX)));
    let from = SocketAddr::from(([192, 0, 2, 9], 9));
    for d in [&[][..], &[0x80][..], &vec![0xFF; MIB][..]] {
        assert!(s.handle_rtp(t(1), Leg::A, from, d).is_ok());
    }
    assert_eq!(s.ingress(Leg::A).counters().malformed, 3);
    let ghost = TapId(77);
    assert!(matches!(s.push_guard_audio(ghost, &[0; 160]), Err(SessionError::Mix(MixError::UnknownTap(_)))));
    let tap = s.add_tap(t(2), TapKind::Barge { listen: Some(Listen::STEREO) }).expect("monitoring allowed");
    for len in [0usize, 159, 161, 320, MIB] {
        assert!(
            matches!(
                s.push_guard_audio(tap, &vec![0; len]),
                Err(SessionError::Mix(MixError::FrameLength { expected: 160, got })) if got == len
            ),
            "{len} samples"
        );
    }
    assert!(s.push_guard_audio(tap, &[i16::MIN; 160]).is_ok());
    assert!(matches!(
        s.play(t(3), tone(SampleRate::HZ_8000), Target::Tap(ghost), PlayMode::Mix),
        Err(SessionError::Mix(MixError::UnknownTap(_)))
    ));
    assert!(matches!(
        s.play(t(3), tone(SampleRate::HZ_48000), Target::BothLegs, PlayMode::Replace),
        Err(SessionError::Mix(MixError::RateMismatch { source_hz: 48_000, mixer_hz: 8000 }))
    ));
    let prompt = Prompt::from_mono(vec![1; 8], SampleRate::HZ_8000).expect("8 samples");
    assert!(s.play(t(3), Source::Prompt(PromptPlayer::new(prompt)), Target::Leg(Leg::B), PlayMode::Mix).is_ok());
    assert!(matches!(s.change_tap(t(4), ghost, TapKind::Listen(Listen::MONO)), Err(SessionError::Mix(_))));
    assert!(matches!(s.remove_tap(t(4), ghost), Err(SessionError::Mix(MixError::UnknownTap(_)))));
    // Time going backwards is no tick and no error.
    assert!(s.handle_timeout(t(100)).is_ok());
    assert!(s.handle_timeout(t(50)).is_ok());
    assert!(s.handle_timeout(HostTime::ZERO).is_ok());
    s.disconnect(t(200), EndCause::Other(String::new()), None).expect("ends");
    assert!(s.is_ended());
    while s.poll_output(t(200)).is_some() {}

    // After the end every command is refused, packets are ignored, nothing is output.
    assert!(matches!(s.add_tap(t(300), TapKind::Listen(Listen::MONO)), Err(SessionError::Ended)));
    assert!(matches!(s.change_tap(t(300), tap, TapKind::Listen(Listen::MONO)), Err(SessionError::Ended)));
    assert!(matches!(s.remove_tap(t(300), tap), Err(SessionError::Ended)));
    assert!(matches!(
        s.play(t(300), tone(SampleRate::HZ_8000), Target::BothLegs, PlayMode::Mix),
        Err(SessionError::Ended)
    ));
    assert!(matches!(s.tighten_policy(t(300), Policy::NO_RECORD), Err(SessionError::Ended)));
    // Regression: guard audio after the end was accepted (Ok) for a tap the router still held.
    assert!(matches!(s.push_guard_audio(tap, &[0; 160]), Err(SessionError::Ended)));
    assert!(s.handle_rtp(t(300), Leg::B, from, &[0x80; 172]).is_ok());
    assert!(s.disconnect(t(300), EndCause::StaffCut, None).is_ok());
    assert!(s.handle_timeout(t(10_000)).is_ok());
    assert!(s.poll_output(t(10_000)).is_none());
    assert_eq!(s.ingress(Leg::B).counters().datagrams, 0, "packets after the end are not even parsed");
    let _ = Output::Timeout(HostTime::ZERO);
}

#[test]
fn session_survives_a_host_clock_jump_to_the_end_of_time() {
    // Regression: after 1 000 000 skipped ticks `advance` ticked one frame at a time toward
    // `now`, and at the end of the clock `next_tick` saturated and never passed `now`:
    // handle_timeout(HostTime(u64::MAX)) never returned. Beyond one minute the ticks are now
    // jumped over at once, and the loops stop where HostTime saturates.
    let t = HostTime::from_millis;
    let mut c = session_cfg(pcmu(), pcmu());
    c.policy = Policy::NO_RECORD;
    c.passthrough = false;
    let mut s = CallSession::new(c, t(0)).expect("PCMU");
    s.answer(t(0));
    s.handle_timeout(HostTime(u64::MAX)).expect("bounded work");
    let (mut transmits, mut wake) = (0, None);
    while let Some(o) = s.poll_output(HostTime(u64::MAX)) {
        match o {
            Output::Transmit { .. } => transmits += 1,
            Output::Timeout(at) => {
                wake = Some(at);
                break;
            }
            _ => {}
        }
    }
    assert!((2..=22).contains(&transmits), "at most the last 10 frames (and one) are sent per leg: {transmits}");
    assert!(wake.is_some_and(|w| w.as_nanos() > u64::MAX - 20_000_000), "{wake:?}");
    assert!(s.handle_timeout(HostTime(u64::MAX)).is_ok(), "again: nothing left to do");

    // With a time limit the jump stops at the limit and the call ends there, recording and all.
    let mut c = session_cfg(pcmu(), pcmu());
    c.time_limit = Some(Duration::from_secs(120));
    let mut s = CallSession::new(c, t(0)).expect("PCMU");
    s.answer(t(0));
    s.handle_timeout(HostTime(u64::MAX)).expect("ends at the limit");
    assert!(s.is_ended());
    let mut ended = None;
    let mut pages = Vec::new();
    while let Some(o) = s.poll_output(HostTime(u64::MAX)) {
        match o {
            Output::Event(e) if matches!(e.kind, jyqq_media::session::EventKind::Ended { .. }) => ended = Some(e.at),
            Output::Recording(p) => pages.extend(p.data),
            _ => {}
        }
    }
    assert_eq!(ended, Some(HostTime::from_millis(120_000)));
    let info = read_ogg_opus(&pages).expect("the recording closes");
    // The same length as a call that reaches its limit on time (one 20 ms frame past it).
    assert_eq!(info.total_samples, 120 * 48_000 + 960);
}
