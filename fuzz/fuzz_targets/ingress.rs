//! Ingress and the recorder driven by a sequence of (time step, source, datagram) operations.
#![no_main]
use jyqq_media::record::{Recorder, RecorderConfig};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap};
use jyqq_media::{HostTime, Leg, SampleRate};
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    let mut ingress = Ingress::new(IngressConfig::default());
    let cfg = RecorderConfig::new(SampleRate::HZ_8000, PayloadMap::static_defaults(), PayloadMap::static_defaults());
    let Ok(mut rec) = Recorder::new(cfg, HostTime::ZERO) else { return };
    let sources: [SocketAddr; 2] = ["192.0.2.1:4000".parse().unwrap(), "203.0.113.9:5000".parse().unwrap()];
    let mut now = 0u64;
    let mut rest = data;
    // Each operation: [step_ms, flags, len, bytes...]
    while rest.len() >= 3 {
        let (step, flags, len) = (rest[0], rest[1], usize::from(rest[2]));
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (dgram, tail) = rest.split_at(take);
        rest = tail;
        now += u64::from(step) * 1_000_000;
        let t = HostTime::from_nanos(now);
        if let Ok(p) = ingress.receive(t, sources[usize::from(flags & 1)], dgram) {
            rec.push(if flags & 2 == 0 { Leg::A } else { Leg::B }, p);
        }
        let _ = rec.handle_timeout(t);
        while let Some(page) = rec.poll_page() {
            std::hint::black_box(page);
        }
    }
    let _ = rec.finish(HostTime::from_nanos(now));
    while let Some(page) = rec.poll_page() {
        std::hint::black_box(page);
    }
});
