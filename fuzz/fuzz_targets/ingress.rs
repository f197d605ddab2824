//! Ingress and the recorder driven by a sequence of (time step, source, datagram) operations.
//! Input: operations `[step_ms, flags, len, len bytes of datagram]` until the input ends;
//! flags bit 0 picks the source address (0: the first sender, learned), bit 1 the leg.
//! The simulated clock stops at 10 s (the recorder encodes every 20 ms up to the clock, so a
//! longer run only costs time). Checked: the recording pages, concatenated, always read back as Ogg Opus ending with an
//! end-of-stream page.
#![no_main]
use jyqq_media::record::{read_ogg_opus, Recorder, RecorderConfig};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap};
use jyqq_media::{HostTime, Leg, SampleRate};
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    let mut ingress = [Ingress::new(IngressConfig::default()), Ingress::new(IngressConfig::default())];
    let mut cfg =
        RecorderConfig::new(SampleRate::HZ_8000, PayloadMap::static_defaults(), PayloadMap::static_defaults());
    // The cheapest Opus analysis: the fuzzer's time goes to our code, not libopus.
    cfg.complexity = 0;
    let Ok(mut rec) = Recorder::new(cfg, HostTime::ZERO) else { return };
    let sources: [SocketAddr; 2] = ["192.0.2.1:4000".parse().unwrap(), "203.0.113.9:5000".parse().unwrap()];
    let mut ogg = Vec::new();
    let mut last_eos = false;
    let mut now = 0u64;
    let mut rest = data;
    while rest.len() >= 3 && now <= 10_000_000_000 {
        let (step, flags, len) = (rest[0], rest[1], usize::from(rest[2]));
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (dgram, tail) = rest.split_at(take);
        rest = tail;
        now += u64::from(step) * 1_000_000;
        let t = HostTime::from_nanos(now);
        let leg = if flags & 2 == 0 { Leg::A } else { Leg::B };
        if let Ok(p) = ingress[leg.index()].receive(t, sources[usize::from(flags & 1)], dgram) {
            rec.push(leg, p);
        }
        let _ = rec.handle_timeout(t);
        while let Some(page) = rec.poll_page() {
            ogg.extend_from_slice(&page.data);
        }
    }
    rec.finish(HostTime::from_nanos(now)).expect("the recording finishes");
    while let Some(page) = rec.poll_page() {
        ogg.extend_from_slice(&page.data);
        last_eos = page.eos;
    }
    let info = read_ogg_opus(&ogg).expect("the recording reads back");
    assert!(last_eos && info.eos_on_last_page);
    std::hint::black_box(info.duration());
});
