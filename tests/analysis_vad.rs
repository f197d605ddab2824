//! VAD: CASES B25 and B26, frame accuracy on the SpeechBrain VAD sample with its labels,
//! talk time and double talk on a generated two-leg call with known speech segments.

mod analysis_util;
mod common;

use analysis_util::{feed, noise, read_audio, samples};
use jyqq_media::analysis::{AnalysisConfig, CallAnalyzer, EndCause, EventKind, VadConfig, VoiceDetector};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::time::Duration;

fn tone(n: usize, freq: f64, rms: f64, rate: u32, phase0: usize) -> Vec<i16> {
    let amp = rms * 2f64.sqrt();
    (phase0..phase0 + n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

/// Talkspurt (start, end) pairs of a leg, from the events.
fn spurts(evs: &[(HostTime, jyqq_media::analysis::AnalysisEvent)]) -> Vec<(HostTime, Duration, HostTime)> {
    let mut out = Vec::new();
    for (seen, e) in evs {
        if let EventKind::TalkspurtEnd { duration } = e.kind {
            out.push((e.at, duration, *seen));
        }
    }
    out
}

fn starts(evs: &[(HostTime, jyqq_media::analysis::AnalysisEvent)]) -> Vec<(HostTime, HostTime)> {
    evs.iter().filter(|(_, e)| e.kind == EventKind::TalkspurtStart).map(|(seen, e)| (e.at, *seen)).collect()
}

#[test]
fn b25_zero_and_lsb_noise_never_voiced_tone_found_fast() {
    let rate = 8000;
    for tone_at_ms in [5000u64, 200] {
        // 3 s zero, 2 s ±1 LSB noise, 300 Hz at RMS 100 from `tone_at` for 2 s, 2 s zero.
        let mut x = vec![0i16; samples(3000, rate)];
        let mut s = 7u64;
        x.extend((0..samples(2000, rate)).map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 62) as i16 % 3) - 1
        }));
        x.extend(vec![0i16; samples(4000, rate)]);
        let at = samples(tone_at_ms, rate);
        let t = tone(samples(2000, rate), 300.0, 100.0, rate, 0);
        x[at..at + t.len()].copy_from_slice(&t);
        let mut a = CallAnalyzer::new(AnalysisConfig::default(), HostTime::ZERO);
        let evs = feed(&mut a, Leg::A, HostTime::ZERO, &x, rate);
        let st = starts(&evs);
        let onset = HostTime::from_millis(tone_at_ms);
        assert_eq!(st.len(), 1, "tone at {tone_at_ms} ms: {st:?}");
        // Voice detected within 2 frames (40 ms) of the onset; the decision itself is made
        // after the minimum-speech time (30 ms) plus the 20 ms chunking.
        assert!(st[0].0.saturating_since(onset) <= Duration::from_millis(40), "{:?}", st[0]);
        assert!(st[0].1.saturating_since(onset) <= Duration::from_millis(100), "{:?}", st[0]);
        let sp = spurts(&evs);
        assert_eq!(sp.len(), 1);
        // Back to silence within the 200 ms hangover after the tone ends.
        let tone_end = onset.saturating_add(Duration::from_secs(2));
        let end = sp[0].0.saturating_add(sp[0].1);
        assert!(
            end <= tone_end.saturating_add(Duration::from_millis(20))
                && end >= tone_end.saturating_sub(Duration::from_millis(150)),
            "{end:?}"
        );
        assert!(sp[0].2 <= tone_end.saturating_add(Duration::from_millis(260)), "{:?}", sp[0]);
        // No voiced frame outside the tone (zeros and ±1 LSB noise are under the floor).
        let s = a.summary(HostTime::from_millis(9000));
        let voiced = s.legs[0].vad_voiced_frames;
        assert!(voiced <= 200, "{voiced} voiced 10 ms frames for a 2 s tone");
    }
}

#[test]
fn b26_level_alternating_around_threshold_does_not_flap() {
    // T = the detector's level floor (−55 dBm0); noise whose 20 ms frame RMS alternates
    // 0.9·T / 1.1·T for 10 s, then 1 s at 0.5·T. Band-limited: white noise through a
    // 3-tap smoother.
    let rate = 8000;
    let floor = VadConfig::default().floor_dbm0;
    let t_rms = jyqq_media::analysis::level::dbm0_to_mean_square(floor).sqrt();
    let n = noise(samples(11_000, rate), 1.0, 42);
    let smooth: Vec<f64> = (0..n.len())
        .map(|i| (f64::from(n[i]) + f64::from(n[i.saturating_sub(1)]) + f64::from(n[i.saturating_sub(2)])) / 3.0)
        .collect();
    let frame = samples(20, rate);
    let mut x = Vec::with_capacity(smooth.len());
    for (fi, f) in smooth.chunks(frame).enumerate() {
        let rms = (f.iter().map(|v| v * v).sum::<f64>() / f.len() as f64).sqrt().max(1e-9);
        let want = if fi < 500 {
            if fi % 2 == 0 {
                0.9
            } else {
                1.1
            }
        } else {
            0.5
        } * t_rms;
        x.extend(f.iter().map(|v| (v * want / rms).round() as i16));
    }
    let mut a = CallAnalyzer::new(AnalysisConfig::default(), HostTime::ZERO);
    let evs = feed(&mut a, Leg::A, HostTime::ZERO, &x, rate);
    let transitions = evs
        .iter()
        .filter(|(_, e)| matches!(e.kind, EventKind::TalkspurtStart | EventKind::TalkspurtEnd { .. }))
        .count();
    assert!(transitions <= 2, "{transitions} transitions");
    assert!(starts(&evs).len() <= 1);
    let s = a.summary(HostTime::from_millis(11_000));
    // Final state silence during the 0.5·T second: no talkspurt open at the end.
    assert!(evs.iter().all(|(seen, e)| e.kind != EventKind::TalkspurtStart || *seen < HostTime::from_millis(10_000)));
    assert!(s.legs[0].talk_ms <= 10_000);
}

/// SpeechBrain `train.wav` with its labels (first 4 s, 2 chunks of 2 s).
const LABELS: [(f64, f64); 3] = [(0.52, 0.85), (1.32, 1.83), (2.35, 3.70)];

#[test]
fn speechbrain_frame_accuracy() {
    let Some(dir) = common::shared_data() else { return };
    let (x, rate) = read_audio(&dir.join("speech/speechbrain/VAD/train.wav"));
    assert_eq!(rate, 16_000);
    let labelled = samples(4000, rate);
    let mut accs = Vec::new();
    let mut no_energy = VadConfig::default();
    no_energy.energy_margin_db = None;
    for (name, cfg) in [("default", VadConfig::default()), ("libfvad only", no_energy)] {
        // Raw libfvad decisions and the smoothed decision, per 10 ms frame, against the labels.
        let mut raw = VoiceDetector::new(&cfg, rate).unwrap();
        let mut acfg = AnalysisConfig::default();
        acfg.vad = cfg.clone();
        let mut a = CallAnalyzer::new(acfg, HostTime::ZERO);
        let mut evs = feed(&mut a, Leg::A, HostTime::ZERO, &x[..labelled], rate);
        a.end(HostTime::from_millis(4000), EndCause::HangupA);
        evs.extend(std::iter::from_fn(|| a.poll_event()).map(|e| (HostTime::ZERO, e)));
        let sp = spurts(&evs);
        eprintln!("{name}: {:?}", sp.iter().map(|s| (s.0.as_nanos() / 1_000_000, s.1.as_millis())).collect::<Vec<_>>());
        let (mut raw_ok, mut smooth_ok, mut n) = (0, 0, 0);
        for (i, f) in x[..labelled].chunks_exact(160).enumerate() {
            let t = i as f64 * 0.01 + 0.005;
            let truth = LABELS.iter().any(|&(s, e)| t >= s && t < e);
            let r = raw.raw(f).unwrap();
            let at = HostTime::from_nanos((t * 1e9) as u64);
            let sm = sp.iter().any(|&(s, d, _)| at >= s && at < s.saturating_add(d));
            raw_ok += usize::from(r == truth);
            smooth_ok += usize::from(sm == truth);
            n += 1;
        }
        let (ra, sa) = (raw_ok as f64 / n as f64, smooth_ok as f64 / n as f64);
        eprintln!(
            "train.wav ({name}): frame accuracy raw libfvad {:.1} %, smoothed {:.1} % over {n} frames",
            ra * 100.0,
            sa * 100.0
        );
        accs.push(sa);
        let talk: f64 = sp.iter().map(|s| s.1.as_secs_f64()).sum();
        let truth: f64 = LABELS.iter().map(|(s, e)| e - s).sum();
        eprintln!("talk {talk:.3} s vs labelled {truth:.3} s");
    }
    assert!(accs.iter().all(|&a| a >= 0.93), "smoothed accuracy {accs:?}");
}

/// A leg built from labelled speech cut out of `train.wav`, placed at known times over
/// quiet noise (−70 dBm0); returns the leg's PCM and its speech time.
fn leg_from_segments(
    speech: &[i16],
    rate: u32,
    placements: &[(usize, u64)],
    total_ms: u64,
    seed: u64,
) -> (Vec<i16>, Duration) {
    let mut x = noise(samples(total_ms, rate), 3.0, seed);
    let mut talk = Duration::ZERO;
    for &(seg, at_ms) in placements {
        let (s, e) = LABELS[seg];
        let (s, e) = ((s * f64::from(rate)) as usize, (e * f64::from(rate)) as usize);
        let at = samples(at_ms, rate);
        for (i, &v) in speech[s..e].iter().enumerate() {
            x[at + i] = x[at + i].saturating_add(v);
        }
        talk += SampleRate::new(rate).duration_of((e - s) as u64);
    }
    (x, talk)
}

#[test]
fn talk_time_on_a_generated_call_within_100ms() {
    let Some(dir) = common::shared_data() else { return };
    let (speech, rate) = read_audio(&dir.join("speech/speechbrain/VAD/train.wav"));
    // Leg A speaks segments 2, 0, 1 at 1 s, 6 s, 12 s; leg B segments 1, 2, 0 at 3 s, 6.5 s, 15 s.
    // Overlap: A's segment 0 (6.00–6.33 s) with B's segment 2 (6.50–7.85 s): none; A's
    // segment 2 at 1.00–2.35 s vs B none. So double talk comes only from 6.5–... none: add one.
    let (a_pcm, a_talk) = leg_from_segments(&speech, rate, &[(2, 1000), (0, 6600), (1, 12_000)], 18_000, 1);
    let (b_pcm, b_talk) = leg_from_segments(&speech, rate, &[(1, 3000), (2, 6500), (0, 15_000)], 18_000, 2);
    for rate_used in [rate, 8000] {
        let a_x = if rate_used == rate { a_pcm.clone() } else { analysis_util::resample(&a_pcm, rate, rate_used) };
        let b_x = if rate_used == rate { b_pcm.clone() } else { analysis_util::resample(&b_pcm, rate, rate_used) };
        let mut an = CallAnalyzer::new(AnalysisConfig::default(), HostTime::ZERO);
        an.answer(HostTime::ZERO);
        feed(&mut an, Leg::A, HostTime::ZERO, &a_x, rate_used);
        feed(&mut an, Leg::B, HostTime::ZERO, &b_x, rate_used);
        an.end(HostTime::from_millis(18_000), EndCause::HangupA);
        let s = an.summary(HostTime::from_millis(18_000));
        for (leg, want) in [(0usize, a_talk), (1, b_talk)] {
            let got = s.legs[leg].talk_ms as i64;
            let want = want.as_millis() as i64;
            eprintln!(
                "{rate_used} Hz leg {leg}: talk {got} ms, known {want} ms, {} talkspurts",
                s.legs[leg].talkspurts
            );
            assert!((got - want).abs() <= 100, "{rate_used} Hz leg {leg}: {got} vs {want}");
        }
        // A's segment 0 (6.60–6.93 s) lies inside B's segment 2 (6.50–7.85 s): 330 ms of double talk.
        let dt = s.double_talk_ms as i64;
        eprintln!("{rate_used} Hz double talk {dt} ms (known 330)");
        assert!((dt - 330).abs() <= 100, "double talk {dt}");
    }
}
