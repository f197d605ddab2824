//! The cost of the C ABI: the same 10 s G.711↔G.711 call (one mono listen tap, stereo
//! recording) driven through `CallSession` directly and through `jyqq_session_*` (handle
//! registry lookups, panic boundary, `jyqq_output` descriptions), in the same run.
#![allow(unsafe_code)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::codec::ulaw_encode;
use jyqq_media::ffi::*;
use jyqq_media::mix::{Listen, TapKind};
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, LegConfig, Output, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg};
use std::ffi::CString;
use std::ptr;

use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

const FRAMES: u32 = 500;

fn packets(f: f64, ssrc: u32) -> Vec<Vec<u8>> {
    (0..FRAMES)
        .map(|k| {
            let payload: Vec<u8> = (0..160)
                .map(|i| {
                    let n = f64::from(k * 160 + i);
                    ulaw_encode((9000.0 * (2.0 * std::f64::consts::PI * f * n / 8000.0).sin()) as i16)
                })
                .collect();
            let mut out = Vec::new();
            RtpHeader::new(PayloadType(0), k as u16, k * 160, Ssrc(ssrc)).write(&payload, &mut out).unwrap();
            out
        })
        .collect()
}

fn rust_call(a: &[Vec<u8>], b: &[Vec<u8>]) -> usize {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let cfg = SessionConfig::new("bench", LegConfig::new(pcmu.clone(), Ssrc(1)), LegConfig::new(pcmu, Ssrc(2)));
    let (aa, ba) = ("192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap());
    let mut s = CallSession::new(cfg, HostTime::ZERO).unwrap();
    s.answer(HostTime::ZERO);
    s.add_tap(HostTime::ZERO, TapKind::Listen(Listen::MONO)).unwrap();
    let mut bytes = 0;
    for k in 0..a.len() {
        let now = HostTime::from_millis(k as u64 * 20 + 5);
        s.handle_rtp(now, Leg::A, aa, &a[k]).unwrap();
        s.handle_rtp(now, Leg::B, ba, &b[k]).unwrap();
        s.handle_timeout(HostTime::from_millis(k as u64 * 20 + 20)).unwrap();
        while let Some(o) = s.poll_output(now) {
            match o {
                Output::Transmit { packet, .. } => bytes += packet.len(),
                Output::Recording(p) => bytes += p.data.len(),
                Output::Tap { pcm, .. } => bytes += pcm.len(),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
    }
    black_box(bytes)
}

fn c_call(a: &[Vec<u8>], b: &[Vec<u8>]) -> usize {
    let name = CString::new("PCMU").unwrap();
    let codec =
        jyqq_codec { encoding_name: name.as_ptr(), fmtp: ptr::null(), clock_rate: 8000, payload_type: 0, channels: 1 };
    let id = CString::new("bench").unwrap();
    let (aa, ba) = (CString::new("192.0.2.1:4000").unwrap(), CString::new("198.51.100.2:5000").unwrap());
    let mut bytes = 0;
    unsafe {
        let (mut cfg, mut s) = (ptr::null_mut(), ptr::null_mut());
        jyqq_session_config_new(id.as_ptr(), &mut cfg);
        jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &codec, 1, 0, 0, ptr::null());
        jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &codec, 2, 0, 0, ptr::null());
        assert_eq!(jyqq_session_new(cfg, 0, &mut s), jyqq_result::JYQQ_OK);
        jyqq_session_answer(s, 0);
        let mut tap = 0;
        jyqq_session_add_tap(s, 0, JYQQ_TALK_NONE, JYQQ_LISTEN_MONO, &mut tap);
        let mut o = std::mem::MaybeUninit::<jyqq_output>::uninit();
        for k in 0..a.len() {
            let now = k as u64 * 20_000_000 + 5_000_000;
            jyqq_session_handle_rtp(s, now, JYQQ_LEG_A, aa.as_ptr(), a[k].as_ptr(), a[k].len());
            jyqq_session_handle_rtp(s, now, JYQQ_LEG_B, ba.as_ptr(), b[k].as_ptr(), b[k].len());
            jyqq_session_handle_timeout(s, k as u64 * 20_000_000 + 20_000_000);
            loop {
                jyqq_session_poll_output(s, now, o.as_mut_ptr());
                let o = o.assume_init_ref();
                match o.kind {
                    JYQQ_OUTPUT_TRANSMIT | JYQQ_OUTPUT_RECORDING => bytes += o.len,
                    JYQQ_OUTPUT_TAP => bytes += o.samples_per_channel * o.channels as usize,
                    JYQQ_OUTPUT_TIMEOUT | JYQQ_OUTPUT_NONE => break,
                    _ => {}
                }
            }
        }
        jyqq_session_free(s);
        jyqq_session_config_free(cfg);
    }
    black_box(bytes)
}

fn ffi(c: &mut Criterion) {
    let (a, b) = (packets(440.0, 0xA), packets(620.0, 0xB));
    assert_eq!(rust_call(&a, &b), c_call(&a, &b), "both paths see the same outputs");
    let mut g = c.benchmark_group("ffi_10s_g711_call");
    quick::tune(&mut g, 10, Duration::from_secs(5));
    g.bench_function("rust_call_session", |x| x.iter(|| rust_call(&a, &b)));
    g.bench_function("c_abi", |x| x.iter(|| c_call(&a, &b)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = ffi
}
criterion_main!(benches);
