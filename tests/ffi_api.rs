//! The C ABI called from Rust, as a C host would: a whole call on a simulated clock
//! (time limit, warning tone, whisper tap, recording), the size protocol of the summary,
//! the Ogg helpers and the capture reader, and bad input.
#![allow(unsafe_code)]

mod common;
mod evidence_support;

use jyqq_media::codec::{ulaw_decode, ulaw_encode};
use jyqq_media::ffi::*;
use jyqq_media::record::read_ogg_opus;
use jyqq_media::rtp::{PayloadType, RtpHeader, Ssrc};
use std::f64::consts::PI;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

const OK: jyqq_result = jyqq_result::JYQQ_OK;
const MS: u64 = 1_000_000;

fn pcmu() -> (CString, jyqq_codec) {
    let name = CString::new("PCMU").expect("no NUL");
    let c =
        jyqq_codec { encoding_name: name.as_ptr(), fmtp: ptr::null(), clock_rate: 8000, payload_type: 0, channels: 1 };
    (name, c)
}

/// A µ-law packet of frame `k` of a 20 ms stream of a sine at `freq` Hz.
fn tone_packet(freq: f64, k: u32, ssrc: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..160)
        .map(|i| ulaw_encode((8000.0 * (2.0 * PI * freq * f64::from(k * 160 + i) / 8000.0).sin()) as i16))
        .collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), k as u16, 160 * k, Ssrc(ssrc)).write(&payload, &mut out).expect("fits");
    out
}

/// RMS amplitude of the `freq` component of `x` (8 kHz), by Goertzel.
fn tone_rms(x: &[i16], freq: f64) -> f64 {
    let c = 2.0 * (2.0 * PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (2.0 * (s1 * s1 + s2 * s2 - c * s1 * s2)).sqrt() / x.len() as f64 * 2f64.sqrt()
}

#[derive(Default)]
struct Drained {
    /// (host time of the frame, the leg B packet's decoded PCM)
    to_b: Vec<(u64, Vec<i16>)>,
    to_a: usize,
    tap_frames: Vec<(u32, usize, u32, u32)>,
    ogg: Vec<u8>,
    eos: bool,
    events: Vec<(u32, u64, serde_json::Value)>,
    wake: u64,
    ended: bool,
}

unsafe fn drain(s: *mut jyqq_session, now: u64, d: &mut Drained) {
    loop {
        let mut o = std::mem::MaybeUninit::<jyqq_output>::uninit();
        assert_eq!(unsafe { jyqq_session_poll_output(s, now, o.as_mut_ptr()) }, OK);
        // SAFETY: written on OK.
        let o = unsafe { o.assume_init() };
        match o.kind {
            JYQQ_OUTPUT_TRANSMIT => {
                let pkt = unsafe { std::slice::from_raw_parts(o.data, o.len) };
                assert_eq!(pkt.len(), 12 + 160);
                if o.leg == JYQQ_LEG_B {
                    d.to_b.push((now, pkt[12..].iter().map(|&b| ulaw_decode(b)).collect()));
                } else {
                    d.to_a += 1;
                }
            }
            JYQQ_OUTPUT_TAP => d.tap_frames.push((o.tap, o.samples_per_channel, o.channels, o.rate_hz)),
            JYQQ_OUTPUT_RECORDING => {
                d.ogg.extend_from_slice(unsafe { std::slice::from_raw_parts(o.data, o.len) });
                d.eos |= o.eos;
            }
            JYQQ_OUTPUT_EVENT => {
                let json = unsafe { CStr::from_ptr(o.json) }.to_str().expect("UTF-8");
                assert_eq!(json.len(), o.json_len);
                let v: serde_json::Value = serde_json::from_str(json).expect("event JSON");
                assert_eq!(v["at_ns"], o.at_ns, "{json}");
                d.events.push((o.event, o.at_ns, v));
            }
            JYQQ_OUTPUT_TIMEOUT => {
                d.wake = o.at_ns;
                return;
            }
            JYQQ_OUTPUT_NONE => {
                d.ended = true;
                return;
            }
            k => panic!("unknown output kind {k}"),
        }
    }
}

/// A 1 s call (time limit 1000 ms after the answer at 0) with a 1 kHz warning tone 400 ms
/// before the limit, a 440 Hz tone from leg A, and a whisper-to-B monitor that listens mono.
#[test]
fn whole_call_with_limit_warning_and_tap() {
    let (_n, codec) = pcmu();
    let mut cfg = ptr::null_mut();
    let mut s = ptr::null_mut();
    let id = CString::new("ffi-call-1").expect("no NUL");
    let a_addr = CString::new("192.0.2.1:4000").expect("no NUL");
    unsafe {
        assert_eq!(jyqq_session_config_new(id.as_ptr(), &mut cfg), OK);
        assert_eq!(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &codec, 0xA, 100, 1000, a_addr.as_ptr()), OK);
        assert_eq!(jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &codec, 0xB, 200, 2000, ptr::null()), OK);
        assert_eq!(jyqq_session_config_set_time_limit(cfg, 1000), OK);
        assert_eq!(jyqq_session_config_add_warning_tone(cfg, 400, 1000.0, -10.0, 200), OK);
        assert_eq!(jyqq_session_config_set_flush_interval(cfg, 10), jyqq_result::JYQQ_INVALID_VALUE);
        assert_eq!(jyqq_session_config_set_flush_interval(cfg, 200), OK);
        // Counted below: one engine-clocked frame per tick to each leg (no passthrough).
        assert_eq!(jyqq_session_config_set_passthrough(cfg, false), OK);
        assert_eq!(jyqq_session_config_set_passthrough(ptr::null_mut(), false), jyqq_result::JYQQ_NULL_PARAMETER);
        assert_eq!(jyqq_session_new(cfg, 0, &mut s), OK);
        assert_eq!(jyqq_session_config_free(cfg), OK);
        let mut d = Drained::default();
        assert_eq!(jyqq_session_answer(s, 0), OK);
        let mut tap = 0u32;
        assert_eq!(jyqq_session_add_tap(s, 0, JYQQ_TALK_WHISPER_B, JYQQ_LISTEN_MONO, &mut tap), OK);
        drain(s, 0, &mut d);
        let silence = [0i16; 160];
        for k in 0..60u32 {
            let t = u64::from(k) * 20 * MS;
            while d.wake <= t && !d.ended {
                let w = d.wake;
                assert_eq!(jyqq_session_handle_timeout(s, w), OK);
                drain(s, w, &mut d);
                if !d.ended {
                    assert_eq!(jyqq_session_push_guard_audio(s, tap, silence.as_ptr(), 160), OK);
                }
            }
            let p = tone_packet(440.0, k, 0xAAAA);
            assert_eq!(jyqq_session_handle_rtp(s, t, JYQQ_LEG_A, a_addr.as_ptr(), p.as_ptr(), p.len()), OK);
            drain(s, t, &mut d);
        }
        assert!(d.ended, "the session ended itself at the limit");
        let mut ended = false;
        assert_eq!(jyqq_session_is_ended(s, &mut ended), OK);
        assert!(ended);
        assert_eq!(jyqq_session_free(s), OK);

        // Exactly the ticks before the limit (0, 20, …, 980 ms) went out to each leg.
        assert_eq!((d.to_a, d.to_b.len()), (50, 50));
        assert!(d.tap_frames.iter().all(|f| *f == (tap, 160, 1, 8000)), "{:?}", &d.tap_frames[..2]);
        assert!(d.tap_frames.len() >= 49);
        // Leg B hears leg A's 440 Hz throughout (after the 60 ms playout delay), and the
        // 1 kHz warning (-10 dBm0: amplitude 7218) only from 600 ms to 800 ms.
        for (t, pcm) in &d.to_b {
            let warn = tone_rms(pcm, 1000.0);
            if (600 * MS..800 * MS).contains(t) {
                assert!(warn > 5000.0, "no warning tone at {} ms: {warn}", t / MS);
            } else {
                // (the 440 Hz tone leaks up to ~200 into the 1 kHz bin of a 160-sample window)
                assert!(warn < 400.0, "tone outside the warning at {} ms: {warn}", t / MS);
            }
            if *t >= 60 * MS {
                assert!(tone_rms(pcm, 440.0) > 3000.0, "leg A's audio missing at {} ms", t / MS);
            }
        }
        let kinds: Vec<(u32, u64)> = d.events.iter().map(|e| (e.0, e.1)).collect();
        for want in [
            (JYQQ_EVENT_ANSWERED, 0),
            (JYQQ_EVENT_TAP_JOINED, 0),
            (JYQQ_EVENT_WARNING, 600 * MS),
            (JYQQ_EVENT_LIMIT_REACHED, 1000 * MS),
            (JYQQ_EVENT_ENDED, 1000 * MS),
        ] {
            assert!(kinds.contains(&want), "{want:?} missing from {kinds:?}");
        }
        let warning = d.events.iter().find(|e| e.0 == JYQQ_EVENT_WARNING).expect("warning");
        assert_eq!((warning.2["type"].as_str(), warning.2["remaining_ms"].as_u64()), (Some("warning"), Some(400)));
        let ended = d.events.iter().find(|e| e.0 == JYQQ_EVENT_ENDED).expect("ended");
        assert_eq!(ended.2["cause"], "TimeLimit");
        let joined = d.events.iter().find(|e| e.0 == JYQQ_EVENT_TAP_JOINED).expect("joined");
        assert_eq!((joined.2["talk"].as_str(), joined.2["listen"].as_str()), (Some("whisper_b"), Some("mono")));

        // The recording: a complete stereo Ogg Opus file of the talk time.
        assert!(d.eos);
        let info = read_ogg_opus(&d.ogg).expect("Ogg Opus");
        assert!(info.is_conformant() && info.eos_on_last_page);
        assert_eq!(info.head.channels, 2);
        let dur = info.duration().as_millis();
        assert!((980..=1020).contains(&dur), "recorded {dur} ms");
        let mut oi = std::mem::MaybeUninit::<jyqq_ogg_info>::uninit();
        assert_eq!(jyqq_ogg_opus_info(d.ogg.as_ptr(), d.ogg.len(), oi.as_mut_ptr()), OK);
        let oi = oi.assume_init();
        assert_eq!(oi.duration_ns, info.duration().as_nanos() as u64);
        assert_eq!((oi.channels, oi.pages, oi.eos_on_last_page, oi.conformant), (2, info.pages, true, true));

        // A crash-truncated copy comes back complete from jyqq_ogg_repair.
        // Cut inside the last page (a crash while writing it).
        let last_page = d.ogg.windows(4).rposition(|w| w == b"OggS").expect("pages");
        let cut = &d.ogg[..last_page + 30];
        let mut need = 0usize;
        assert_eq!(
            jyqq_ogg_repair(cut.as_ptr(), cut.len(), ptr::null_mut(), 0, &mut need),
            jyqq_result::JYQQ_BUFFER_TOO_SMALL
        );
        let mut fixed = vec![0u8; need];
        let mut got = 0usize;
        assert_eq!(jyqq_ogg_repair(cut.as_ptr(), cut.len(), fixed.as_mut_ptr(), fixed.len(), &mut got), OK);
        assert_eq!(got, need);
        let r = read_ogg_opus(&fixed).expect("repaired");
        assert!(r.eos_on_last_page && r.is_conformant());
        // Everything up to the page before the cut survives: its granule ends the file.
        assert!(info.pages >= 6, "{} pages", info.pages);
        let starts: Vec<usize> = d.ogg.windows(4).enumerate().filter(|w| w.1 == b"OggS").map(|w| w.0).collect();
        let prev = starts[starts.len() - 2];
        let prev_granule = u64::from_le_bytes(d.ogg[prev + 6..prev + 14].try_into().expect("8 bytes"));
        assert_eq!(r.last_granule, Some(prev_granule));
        assert_eq!(r.pages, info.pages - 1);
        assert!(r.duration() < info.duration() && r.duration().as_millis() >= 400, "{:?}", r.duration());
    }
}

#[test]
fn summary_json_size_protocol() {
    let (_n, codec) = pcmu();
    let id = CString::new("sum").expect("no NUL");
    let (mut cfg, mut s) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        assert_eq!(jyqq_session_config_new(id.as_ptr(), &mut cfg), OK);
        for leg in [JYQQ_LEG_A, JYQQ_LEG_B] {
            assert_eq!(jyqq_session_config_set_leg(cfg, leg, &codec, leg + 1, 0, 0, ptr::null()), OK);
        }
        assert_eq!(jyqq_session_new(cfg, 5 * MS, &mut s), OK);
        assert_eq!(jyqq_session_answer(s, 5 * MS), OK);
        assert_eq!(jyqq_session_handle_timeout(s, 2005 * MS), OK);
        let mut len = 0usize;
        assert_eq!(
            jyqq_session_summary_json(s, 2005 * MS, ptr::null_mut(), 0, &mut len),
            jyqq_result::JYQQ_BUFFER_TOO_SMALL
        );
        assert!(len > 50);
        // Room for the text but not its NUL: refused, buffer untouched.
        let mut buf = vec![b'#' as c_char; len];
        let mut len2 = 0usize;
        assert_eq!(
            jyqq_session_summary_json(s, 2005 * MS, buf.as_mut_ptr(), len, &mut len2),
            jyqq_result::JYQQ_BUFFER_TOO_SMALL
        );
        assert_eq!(len2, len);
        assert!(buf.iter().all(|&c| c == b'#' as c_char));
        buf.push(0);
        assert_eq!(jyqq_session_summary_json(s, 2005 * MS, buf.as_mut_ptr(), len + 1, &mut len2), OK);
        let text = CStr::from_ptr(buf.as_ptr()).to_str().expect("UTF-8");
        assert_eq!(text.len(), len);
        let v: serde_json::Value = serde_json::from_str(text).expect("summary JSON");
        assert_eq!(v["start_host_ns"], 5 * MS);
        assert_eq!(v["answer_ms"], 0);
        assert_eq!(v["connected_ms"], 2000);
        assert_eq!(jyqq_session_free(s), OK);
        assert_eq!(jyqq_session_config_free(cfg), OK);
    }
}

#[test]
fn capture_calls_and_payloads() {
    let Some(bytes) = common::shared_file("rtp/wireshark-samples/SIP_DTMF2.pcap") else { return };
    let mut c = ptr::null_mut();
    unsafe {
        assert_eq!(jyqq_capture_new(bytes.as_ptr(), bytes.len(), &mut c), OK);
        let mut n = 0usize;
        assert_eq!(jyqq_capture_call_count(c, &mut n), OK);
        assert_eq!(n, 1);
        let mut codecs = Vec::new();
        for leg in [JYQQ_LEG_A, JYQQ_LEG_B] {
            let mut k = 0usize;
            assert_eq!(jyqq_capture_call_payload_count(c, 0, leg, &mut k), OK);
            for i in 0..k {
                let mut f = std::mem::MaybeUninit::<jyqq_codec>::uninit();
                assert_eq!(jyqq_capture_call_payload(c, 0, leg, i, f.as_mut_ptr()), OK);
                let f = f.assume_init();
                let name = CStr::from_ptr(f.encoding_name).to_str().expect("UTF-8").to_string();
                codecs.push((leg, name, f.payload_type, f.clock_rate));
            }
            let mut f = std::mem::MaybeUninit::<jyqq_codec>::uninit();
            assert_eq!(jyqq_capture_call_payload(c, 0, leg, k, f.as_mut_ptr()), jyqq_result::JYQQ_INDEX_OUT_OF_RANGE);
        }
        // One leg sends PCMA only; the other PCMA (631 packets) then telephone-event on PT 96 (35).
        let pcma = |leg| (leg, "PCMA".to_string(), 8u8, 8000u32);
        assert!(codecs.contains(&pcma(JYQQ_LEG_A)) && codecs.contains(&pcma(JYQQ_LEG_B)), "{codecs:?}");
        let te: Vec<_> = codecs.iter().filter(|c| c.1.eq_ignore_ascii_case("telephone-event")).collect();
        assert_eq!(te.len(), 1, "{codecs:?}");
        assert_eq!((te[0].2, te[0].3), (96, 8000));
        let mut count = 0usize;
        assert_eq!(jyqq_capture_call_datagram_count(c, 0, &mut count), OK);
        assert_eq!(count, 1331);
        let mut last = 0u64;
        let mut per_leg = [0usize; 2];
        for i in 0..count {
            let mut d = std::mem::MaybeUninit::<jyqq_datagram>::uninit();
            assert_eq!(jyqq_capture_call_datagram(c, 0, i, d.as_mut_ptr()), OK);
            let d = d.assume_init();
            assert!(d.time_ns >= last, "arrival order");
            last = d.time_ns;
            per_leg[d.leg as usize] += 1;
            let from = CStr::from_ptr(d.from).to_str().expect("UTF-8");
            assert!(from.parse::<std::net::SocketAddr>().is_ok(), "{from}");
            assert!(d.len >= 12);
        }
        per_leg.sort_unstable();
        assert_eq!(per_leg, [665, 666]);
        let mut d = std::mem::MaybeUninit::<jyqq_datagram>::uninit();
        assert_eq!(jyqq_capture_call_datagram(c, 0, count, d.as_mut_ptr()), jyqq_result::JYQQ_INDEX_OUT_OF_RANGE);
        assert_eq!(jyqq_capture_call_count(c, ptr::null_mut()), jyqq_result::JYQQ_NULL_PARAMETER);
        // A capture is not a session.
        assert_eq!(jyqq_session_answer(c.cast(), 0), jyqq_result::JYQQ_INVALID_HANDLE);
        assert_eq!(jyqq_capture_free(c), OK);
        assert_eq!(jyqq_capture_call_count(c, &mut n), jyqq_result::JYQQ_INVALID_HANDLE);
        assert_eq!(jyqq_capture_free(c), jyqq_result::JYQQ_INVALID_HANDLE);
    }
}

#[test]
fn result_texts_and_version() {
    unsafe {
        assert_eq!(CStr::from_ptr(jyqq_version()).to_str(), Ok(env!("CARGO_PKG_VERSION")));
        assert_eq!(CStr::from_ptr(jyqq_result_text(0)).to_str(), Ok("success"));
        assert_eq!(
            CStr::from_ptr(jyqq_result_text(108)).to_str(),
            Ok("the handle is not a live object of the expected type")
        );
        assert_eq!(CStr::from_ptr(jyqq_result_text(7)).to_str(), Ok("unknown result"));
    }
}

/// Misaligned PCM, sizes that overflow, a prompt of the wrong shape: errors, no crash.
#[test]
fn bad_buffers_are_refused() {
    let (_n, codec) = pcmu();
    let id = CString::new("bad").expect("no NUL");
    let (mut cfg, mut s) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        assert_eq!(jyqq_session_config_new(id.as_ptr(), &mut cfg), OK);
        for leg in [JYQQ_LEG_A, JYQQ_LEG_B] {
            assert_eq!(jyqq_session_config_set_leg(cfg, leg, &codec, 1, 0, 0, ptr::null()), OK);
        }
        assert_eq!(jyqq_session_new(cfg, 0, &mut s), OK);
        let mut tap = 0;
        assert_eq!(jyqq_session_add_tap(s, 0, JYQQ_TALK_BARGE, JYQQ_LISTEN_NONE, &mut tap), OK);
        let storage = vec![0i16; 200];
        let misaligned = (storage.as_ptr() as *const u8).add(1) as *const i16;
        assert_eq!(jyqq_session_push_guard_audio(s, tap, misaligned, 160), jyqq_result::JYQQ_INVALID_VALUE);
        let mut pb = 0;
        assert_eq!(
            jyqq_session_play_prompt(
                s,
                0,
                JYQQ_TARGET_BOTH_LEGS,
                0,
                JYQQ_PLAY_MIX,
                storage.as_ptr(),
                usize::MAX,
                2,
                8000,
                &mut pb
            ),
            jyqq_result::JYQQ_INVALID_LENGTH
        );
        assert_eq!(
            jyqq_session_play_prompt(
                s,
                0,
                JYQQ_TARGET_TAP,
                999,
                JYQQ_PLAY_MIX,
                storage.as_ptr(),
                100,
                1,
                8000,
                &mut pb
            ),
            jyqq_result::JYQQ_UNKNOWN_TAP
        );
        assert_eq!(
            jyqq_session_play_prompt(
                s,
                0,
                JYQQ_TARGET_TAP,
                tap,
                JYQQ_PLAY_MIX,
                storage.as_ptr(),
                100,
                1,
                8000,
                &mut pb
            ),
            OK
        );
        let bad = CString::new("[::1]:notaport").expect("no NUL");
        let p = tone_packet(440.0, 0, 1);
        assert_eq!(
            jyqq_session_handle_rtp(s, 0, JYQQ_LEG_B, bad.as_ptr(), p.as_ptr(), p.len()),
            jyqq_result::JYQQ_INVALID_ADDRESS
        );
        let not_utf8 = [0xC3u8, 0x28, 0];
        assert_eq!(jyqq_session_bind_remote(s, JYQQ_LEG_A, not_utf8.as_ptr().cast()), jyqq_result::JYQQ_INVALID_UTF8);
        assert_eq!(jyqq_session_free(s), OK);
        assert_eq!(jyqq_session_config_free(cfg), OK);
    }
}

/// jyqq_recording_verify on a signed recording: intact, then with one byte changed.
#[test]
fn recording_verify() {
    use jyqq_media::record::keys::SigningKey;
    let rec = evidence_support::record_tone_call(2.0, |_, _| false, |_| {});
    let key = SigningKey::from_bytes(&[9; 32]);
    let public = key.verifying_key().to_bytes();
    let manifest = rec.manifest(&key);
    let mut file = rec.segments().remove(0);
    let verify = |file: &[u8], cap: usize| {
        let mut intact = false;
        let mut report = vec![0 as c_char; cap];
        let mut len = 0usize;
        // SAFETY (test): every buffer is valid for the length passed.
        let r = unsafe {
            jyqq_recording_verify(
                manifest.as_ptr(),
                manifest.len(),
                public.as_ptr(),
                file.as_ptr(),
                file.len(),
                ptr::null(),
                0,
                &mut intact,
                report.as_mut_ptr(),
                cap,
                &mut len,
            )
        };
        let text = if r == OK {
            // SAFETY (test): NUL-terminated on OK.
            unsafe { CStr::from_ptr(report.as_ptr()) }.to_str().expect("UTF-8").to_string()
        } else {
            String::new()
        };
        (r, intact, len, text)
    };
    let (r, intact, len, text) = verify(&file, 4096);
    assert_eq!((r, intact), (OK, true), "{text}");
    assert!(text.starts_with("OK: call "), "{text}");
    assert_eq!(text.len(), len);
    // Too small a report buffer: the verdict and the length are still given.
    let (r, intact, len2, _) = verify(&file, 4);
    assert_eq!((r, intact, len2), (jyqq_result::JYQQ_BUFFER_TOO_SMALL, true, len));
    let mid = file.len() / 2;
    file[mid] ^= 0x01;
    let (r, intact, _, text) = verify(&file, 4096);
    assert_eq!((r, intact), (OK, false));
    assert!(text.starts_with("NOT INTACT"), "{text}");
    // A key that is not a curve point is refused.
    let mut bad_key = [0u8; 32];
    bad_key[31] = 0x80;
    bad_key[0] = 2;
    let (mut intact, mut len) = (false, 0usize);
    // SAFETY (test): valid buffers.
    let r = unsafe {
        jyqq_recording_verify(
            manifest.as_ptr(),
            manifest.len(),
            bad_key.as_ptr(),
            file.as_ptr(),
            file.len(),
            ptr::null(),
            0,
            &mut intact,
            ptr::null_mut(),
            0,
            &mut len,
        )
    };
    assert_eq!(r, jyqq_result::JYQQ_MANIFEST_UNREADABLE);
}
