//! CASES B24: resampler state kept across chunks. A 1 kHz sine at −6 dBFS, 2 s, converted
//! 8 → 48 kHz in 20 ms chunks and 48 → 8 kHz in irregular chunks (317, 163, 480, …) must equal
//! the one-shot conversion, keep exact counts, carry no energy at the chunk rate and no step.

use audioadapter_buffers::direct::InterleavedSlice;
use jyqq_media::codec::Resampler;
use jyqq_media::SampleRate;
use rubato::{Fft, FixedSync, Resampler as _};
use std::f64::consts::PI;

const AMP: f64 = 16_384.0; // −6 dBFS

fn sine(rate: u32, n: usize) -> Vec<i16> {
    (0..n).map(|i| (AMP * (2.0 * PI * 1000.0 * i as f64 / f64::from(rate)).sin()).round() as i16).collect()
}

/// Our resampler fed in chunks of the given sizes (cycled), then flushed.
fn chunked(from: u32, to: u32, input: &[i16], sizes: &[usize]) -> Vec<i16> {
    let mut r = Resampler::new(SampleRate::new(from), SampleRate::new(to), 1).expect("resampler");
    let mut out = vec![0i16; input.len() * to as usize / from as usize + 4096];
    let (mut n, mut at) = (0, 0);
    for &size in sizes.iter().cycle() {
        if at >= input.len() {
            break;
        }
        let end = (at + size).min(input.len());
        n += r.process(&input[at..end], &mut out[n..]).expect("room");
        at = end;
        let (fed, made) = r.totals();
        // No drift at any point: made + owed == floor(fed × to / from).
        assert_eq!(made as usize + r.pending_frames(), fed as usize * to as usize / from as usize);
    }
    n += r.flush(&mut out[n..]).expect("room");
    out.truncate(n);
    out
}

/// rubato itself on the whole signal at once (same FFT block size), delay trimmed.
fn one_shot(from: u32, to: u32, input: &[i16]) -> Vec<i16> {
    let mut fft = Fft::<f32>::new(from as usize, to as usize, from as usize / 100, 1, 1, FixedSync::Both).expect("fft");
    let x: Vec<f32> = input.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let out_len = fft.process_all_needed_output_len(x.len());
    let mut y = vec![0f32; out_len];
    let inp = InterleavedSlice::new(&x[..], 1, x.len()).expect("adapter");
    let mut outp = InterleavedSlice::new_mut(&mut y[..], 1, out_len).expect("adapter");
    let (_, n) = fft.process_all_into_buffer(&inp, &mut outp, x.len(), None).expect("process");
    y[..n].iter().map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Level (dBFS of a sine of that amplitude) of `x` at `hz`: Goertzel under a Hann window.
fn level_db(x: &[i16], rate: f64, hz: f64) -> f64 {
    let n = x.len();
    let w = 2.0 * PI * hz / rate;
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let s0 = f64::from(v) * win + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let amp = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).max(0.0).sqrt() * 4.0 / n as f64;
    20.0 * (amp.max(1e-12) / 32768.0).log10()
}

fn max_step(x: &[i16]) -> f64 {
    x.windows(2).map(|w| f64::from((i32::from(w[1]) - i32::from(w[0])).abs())).fold(0.0, f64::max)
}

fn check(from: u32, to: u32, sizes: &[usize], chunk_rate_hz: f64) {
    let input = sine(from, 2 * from as usize);
    let a = chunked(from, to, &input, sizes);
    let b = one_shot(from, to, &input);
    assert_eq!(a.len(), 2 * to as usize, "exact count: 2 s at {to} Hz");
    let diff = a.iter().zip(&b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs()).max().expect("samples");
    assert!(diff <= 2, "{from}->{to}: chunked differs from one-shot by {diff} LSB");
    // Against the ideal sine at the output rate (the delay is trimmed, nothing drifts): the
    // steady part, away from the filter's start and end transients.
    let ideal = sine(to, a.len());
    let edge = to as usize / 50;
    let err = a[edge..a.len() - edge]
        .iter()
        .zip(&ideal[edge..])
        .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
        .max()
        .expect("samples");
    assert!(err <= 40, "{from}->{to}: {err} LSB from the ideal sine (aligned, no drift)");
    let steady = &a[edge..a.len() - edge];
    // No buzz at the chunk rate or its harmonics below Nyquist (−80 dBFS).
    let nyquist = f64::from(from.min(to)) / 2.0;
    let mut k = 1.0;
    while k * chunk_rate_hz < nyquist {
        let f = k * chunk_rate_hz;
        if (f - 1000.0).abs() > 1.0 {
            let l = level_db(steady, f64::from(to), f);
            assert!(l < -80.0, "{from}->{to}: {l:.1} dBFS at {f} Hz");
        }
        k += 1.0;
    }
    assert!((level_db(steady, f64::from(to), 1000.0) + 6.02).abs() < 0.1, "the tone keeps its level");
    // No click: the largest sample step is the ideal sine's own (sampled at the same phases), within 5 %.
    let ideal_step = max_step(&ideal[edge..a.len() - edge]);
    let step = max_step(steady);
    assert!((step - ideal_step).abs() <= 0.05 * ideal_step, "{from}->{to}: max step {step} vs {ideal_step}");
}

#[test]
fn b24_upsampling_in_20ms_chunks_equals_one_shot() {
    check(8000, 48_000, &[160], 50.0);
}

#[test]
fn b24_downsampling_in_irregular_chunks_equals_one_shot() {
    // 317 + 163 + 480 = 960 input samples: the pattern repeats at 50 Hz.
    check(48_000, 8000, &[317, 163, 480], 50.0);
}

#[test]
fn telephony_rate_pairs_keep_counts_and_pitch() {
    for (from, to) in
        [(8000, 16_000), (16_000, 8000), (16_000, 48_000), (48_000, 16_000), (32_000, 48_000), (8000, 32_000)]
    {
        check(from, to, &[from as usize / 50], 50.0);
    }
}
