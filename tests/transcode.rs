//! Transcoding between legs: PCMU → Opus → PCMU keeps a 1 kHz tone, PCMU ↔ L16/16000 goes
//! through the resampler, the same codec passes through untouched.

use jyqq_media::codec::{ulaw_decode, ulaw_encode, CodecRegistry, Transcoder, TranslationStep};
use jyqq_media::rtp::{PayloadFormat, PayloadType};
use jyqq_media::ClockRate;
use std::f64::consts::PI;

fn fmt(pt: u8, name: &str, hz: u32, ch: u8) -> PayloadFormat {
    PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch)
}

fn tone(rate: u32, n: usize) -> Vec<i16> {
    (0..n).map(|i| (10_000.0 * (2.0 * PI * 1000.0 * i as f64 / f64::from(rate)).sin()).round() as i16).collect()
}

/// Level (dBFS of a sine of that amplitude) at `hz`: Goertzel under a Hann window.
fn level_db(x: &[f64], rate: f64, hz: f64) -> f64 {
    let n = x.len();
    let w = 2.0 * PI * hz / rate;
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let s0 = v * win + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let amp = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).max(0.0).sqrt() * 4.0 / n as f64;
    20.0 * (amp.max(1e-12) / 32768.0).log10()
}

fn peak_freq(x: &[f64], rate: f64) -> f64 {
    (0..=500)
        .map(|k| 995.0 + k as f64 * 0.02)
        .map(|f| (f, level_db(x, rate, f)))
        .fold((0.0, f64::MIN), |b, c| if c.1 > b.1 { c } else { b })
        .0
}

/// Runs `payloads` through `t`, returning the output payloads.
fn run(t: &mut Transcoder, payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4000];
    for p in payloads {
        t.push(p).expect("decodes");
        while let Some(n) = t.pull(&mut buf).expect("encodes") {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

#[test]
fn pcmu_to_opus_to_pcmu_keeps_a_1khz_tone() {
    let reg = CodecRegistry::with_builtin();
    let (pcmu, opus) = (fmt(0, "PCMU", 8000, 1), fmt(111, "opus", 48_000, 2));
    let mut there = Transcoder::between(&reg, &pcmu, &opus).expect("PCMU -> Opus");
    let mut back = Transcoder::between(&reg, &opus, &pcmu).expect("Opus -> PCMU");
    assert!(!there.path().is_passthrough() && !back.path().is_passthrough());
    let input = tone(8000, 16_000);
    let payloads: Vec<Vec<u8>> = input.chunks(160).map(|c| c.iter().map(|&s| ulaw_encode(s)).collect()).collect();
    let opus_packets = run(&mut there, &payloads);
    assert_eq!(opus_packets.len(), 100, "one 20 ms Opus packet per 20 ms PCMU payload");
    assert!(opus_packets.iter().all(|p| jyqq_media::record::opus_packet_samples(p) == Some(960)));
    let returned = run(&mut back, &opus_packets);
    assert_eq!(returned.len(), 100);
    assert!(returned.iter().all(|p| p.len() == 160));
    let pcm: Vec<f64> = returned.iter().flatten().map(|&b| f64::from(ulaw_decode(b))).collect();
    let steady = &pcm[800..15_200];
    let reference: Vec<f64> = input[800..15_200].iter().map(|&s| f64::from(s)).collect();
    let f = peak_freq(steady, 8000.0);
    assert!((f - 1000.0).abs() <= 2.0, "round trip at {f} Hz");
    let (got, want) = (level_db(steady, 8000.0, 1000.0), level_db(&reference, 8000.0, 1000.0));
    assert!((got - want).abs() <= 1.0, "level {got:.2} dBFS vs {want:.2} dBFS");
}

#[test]
fn pcmu_to_l16_16k_resamples_and_keeps_the_tone() {
    let reg = CodecRegistry::with_builtin();
    let (pcmu, l16) = (fmt(0, "PCMU", 8000, 1), fmt(97, "L16", 16_000, 1));
    let mut t = Transcoder::between(&reg, &pcmu, &l16).expect("PCMU -> L16/16000");
    let plan = t.path().plan().expect("transcode").clone();
    assert!(plan.steps.contains(&TranslationStep::Resample {
        from: jyqq_media::SampleRate::HZ_8000,
        to: jyqq_media::SampleRate::HZ_16000
    }));
    let input = tone(8000, 16_000);
    let payloads: Vec<Vec<u8>> = input.chunks(160).map(|c| c.iter().map(|&s| ulaw_encode(s)).collect()).collect();
    let out = run(&mut t, &payloads);
    // 20 ms payloads fill the resampler's 10 ms blocks exactly: only its 5 ms filter delay is
    // held back, so 2 s in gives 1.995 s out: 99 whole 20 ms frames.
    assert_eq!(out.len(), 99);
    assert!(out.iter().all(|p| p.len() == 640), "320 big-endian samples per 20 ms at 16 kHz");
    let pcm: Vec<f64> =
        out.iter().flat_map(|p| p.chunks_exact(2).map(|b| f64::from(i16::from_be_bytes([b[0], b[1]])))).collect();
    let steady = &pcm[1600..30_000];
    let f = peak_freq(steady, 16_000.0);
    assert!((f - 1000.0).abs() <= 1.0, "{f} Hz");
    assert!((level_db(steady, 16_000.0, 1000.0) + 10.3).abs() < 0.5);
    // Back the other way also resamples.
    assert!(reg.translation_path(&l16, &pcmu).expect("path").resamples());
}

#[test]
fn same_codec_is_passthrough_and_bytes_are_untouched() {
    let reg = CodecRegistry::with_builtin();
    let opus = fmt(111, "opus", 48_000, 2);
    let mut t = Transcoder::between(&reg, &opus, &fmt(96, "opus", 48_000, 2)).expect("passthrough");
    assert!(t.path().is_passthrough());
    let payloads = vec![vec![0x78, 1, 2, 3], vec![0x78, 9]];
    assert_eq!(run(&mut t, &payloads), payloads);
}
