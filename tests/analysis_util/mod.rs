//! Helpers of the analysis tests: speech files, resampling, feeding a CallAnalyzer.
#![allow(dead_code)]

use jyqq_media::analysis::{AnalysisEvent, CallAnalyzer};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::path::Path;
use std::time::Duration;

/// Mono 16-bit samples and rate of a WAV file (first channel), or of a headerless 8 kHz
/// little-endian `.raw` file.
pub fn read_audio(path: &Path) -> (Vec<i16>, u32) {
    if path.extension().is_some_and(|e| e == "raw") {
        let b = std::fs::read(path).expect("raw file");
        return (b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect(), 8000);
    }
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let all: Vec<i16> = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    (all.iter().step_by(ch).copied().collect(), spec.sample_rate)
}

/// Band-limited resampling by windowed sinc (slow, for tests): `x` at `from` Hz to `to` Hz.
pub fn resample(x: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to {
        return x.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    let cutoff = 0.45 * ratio.min(1.0);
    let half = 32i64;
    let n_out = (x.len() as f64 * ratio) as usize;
    (0..n_out)
        .map(|i| {
            let t = i as f64 / ratio;
            let c = t.floor() as i64;
            let mut acc = 0.0;
            for k in (c - half)..=(c + half) {
                if k < 0 || k as usize >= x.len() {
                    continue;
                }
                let d = t - k as f64;
                let sinc = if d == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * d).sin() / (std::f64::consts::PI * d)
                };
                let w = 0.5 + 0.5 * (std::f64::consts::PI * d / (half as f64 + 1.0)).cos();
                acc += f64::from(x[k as usize]) * sinc * w;
            }
            acc.round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// The audio at a rate the analysis takes (8/16/32/48 kHz kept, others resampled to 16 kHz).
pub fn analysable(x: Vec<i16>, rate: u32) -> (Vec<i16>, u32) {
    if matches!(rate, 8000 | 16_000 | 32_000 | 48_000) {
        (x, rate)
    } else {
        (resample(&x, rate, 16_000), 16_000)
    }
}

/// Feeds `pcm` on `leg` in 20 ms chunks from `start`; after each chunk drains events,
/// returning each with the host time at which it surfaced (end of the chunk fed).
pub fn feed(a: &mut CallAnalyzer, leg: Leg, start: HostTime, pcm: &[i16], rate: u32) -> Vec<(HostTime, AnalysisEvent)> {
    let chunk = (rate / 50) as usize;
    let mut out = Vec::new();
    for (i, c) in pcm.chunks(chunk).enumerate() {
        let at = start.saturating_add(SampleRate::new(rate).duration_of((i * chunk) as u64));
        a.handle_pcm(leg, at, c, SampleRate::new(rate)).expect("supported rate");
        let seen = at.saturating_add(SampleRate::new(rate).duration_of(c.len() as u64));
        while let Some(e) = a.poll_event() {
            out.push((seen, e));
        }
    }
    out
}

/// Seeded white noise (xorshift) with RMS `rms`.
pub fn noise(n: usize, rms: f64, seed: u64) -> Vec<i16> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Uniform in [-1, 1): RMS 1/sqrt(3).
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (u * rms * 3f64.sqrt()).round() as i16
        })
        .collect()
}

/// `ms` milliseconds at `rate`, in samples.
pub fn samples(ms: u64, rate: u32) -> usize {
    SampleRate::new(rate).samples_in(Duration::from_millis(ms))
}
