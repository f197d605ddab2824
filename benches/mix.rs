//! The call's mixing per frame against a plain copy of the same frames, in the same run.
//!
//! - `router`: one 20 ms frame through [`Router::process`] with two legs, one mono listen tap
//!   (both directions) and one whisper tap (to leg B, with guard audio pushed each frame): the
//!   two outbound legs, one listen output and the guard track, i.e. 4 mixed outputs.
//! - `copy`: the baseline, `copy_from_slice` of the same frames into four output buffers (leg B →
//!   A's outbound, leg A → B's outbound, leg A → the listen buffer, the guard frame → the guard
//!   track): the memory traffic of the same outputs with no summing, gain or saturation.
//!
//! Each iteration is one call-second (50 frames), so the reported time is µs per call-second.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use jyqq_media::mix::{Cadence, Dbm0, Listen, Router, RouterConfig, TapKind, ToneGenerator, ToneSpec};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::time::Duration;

const PTIME: Duration = Duration::from_millis(20);

fn tone(freq: f32, rate: SampleRate, len: usize) -> Vec<i16> {
    let mut g = ToneGenerator::new(&ToneSpec::single(freq, Dbm0(-10.0), Cadence::steady()), rate).expect("valid tone");
    let mut v = vec![0; len];
    g.fill(&mut v);
    v
}

fn mix(c: &mut Criterion) {
    let mut g = c.benchmark_group("mix_call_second");
    for hz in [8000u32, 16_000] {
        let rate = SampleRate::new(hz);
        let n = hz as usize / 50;
        let second = hz as usize;
        let (a, b, w) = (tone(500.0, rate, second), tone(1000.0, rate, second), tone(3000.0, rate, second));
        let mut r = Router::new(RouterConfig::new(rate, PTIME)).expect("valid");
        let listen = r.add_tap(HostTime::ZERO, TapKind::Listen(Listen::MONO)).expect("allowed");
        let whisper = r.add_tap(HostTime::ZERO, TapKind::Whisper { to: Leg::B, listen: None }).expect("allowed");
        while r.poll_event().is_some() {}
        g.bench_with_input(BenchmarkId::new("router", hz), &hz, |bench, _| {
            bench.iter(|| {
                let mut acc = 0i32;
                for k in 0..50 {
                    let f = k * n..(k + 1) * n;
                    r.push_guard_audio(whisper, &w[f.clone()]).expect("length");
                    r.process(HostTime::ZERO, &a[f.clone()], &b[f]).expect("lengths");
                    acc = acc.wrapping_add(i32::from(r.outbound(Leg::A)[0]));
                    acc = acc.wrapping_add(i32::from(r.outbound(Leg::B)[1]));
                    acc = acc.wrapping_add(i32::from(r.listen(listen).expect("listens").pcm[2]));
                    acc = acc.wrapping_add(i32::from(r.guard_track()[3]));
                }
                black_box(acc)
            })
        });
        let (mut oa, mut ob, mut ol, mut og) = (vec![0i16; n], vec![0i16; n], vec![0i16; n], vec![0i16; n]);
        g.bench_with_input(BenchmarkId::new("copy", hz), &hz, |bench, _| {
            bench.iter(|| {
                let mut acc = 0i32;
                for k in 0..50 {
                    let f = k * n..(k + 1) * n;
                    oa.copy_from_slice(black_box(&b[f.clone()]));
                    ob.copy_from_slice(black_box(&a[f.clone()]));
                    ol.copy_from_slice(black_box(&a[f.clone()]));
                    og.copy_from_slice(black_box(&w[f]));
                    acc = acc.wrapping_add(i32::from(oa[0]) + i32::from(ob[1]) + i32::from(ol[2]) + i32::from(og[3]));
                }
                black_box(acc)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, mix);
criterion_main!(benches);
