//! The call analyzer as a whole: three-way signals on a generated family leg (and none on
//! real speech), metering of a 10 min 30 s call and of a call inside the grace, alarms, CDR JSON.

mod analysis_util;
mod common;

use analysis_util::{analysable, feed, noise, read_audio, resample, samples};
use jyqq_media::analysis::level::sine_peak_for_dbm0;
use jyqq_media::analysis::{
    AlarmKind, AnalysisConfig, AnalysisEvent, BillingPolicy, CallAnalyzer, CdrSummary, EndCause, EventKind,
    ToneCadence, ToneFreqs,
};
use jyqq_media::{HostTime, Leg};
use std::time::Duration;

fn tone(n: usize, freq: f64, dbm0: f64, rate: u32) -> Vec<i16> {
    let amp = sine_peak_for_dbm0(dbm0);
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

fn signals(evs: &[(HostTime, AnalysisEvent)]) -> Vec<(HostTime, &AnalysisEvent)> {
    evs.iter().filter(|(_, e)| e.kind.is_three_way_signal()).map(|(s, e)| (*s, e)).collect()
}

/// Family leg: speech, quiet, a 30 ms click, quiet, 3 s of 450 Hz dial tone, new speech.
/// Returns the PCM (8 kHz) and the click and tone onsets.
fn family_leg(speech: &[i16]) -> (Vec<i16>, HostTime, HostTime) {
    let rate = 8000;
    let quiet = |ms, seed| noise(samples(ms, rate), 3.0, seed);
    let mut x = quiet(500, 1);
    let mix_start = x.len();
    x.extend(noise(speech.len(), 3.0, 2));
    for (i, &v) in speech.iter().enumerate() {
        x[mix_start + i] = x[mix_start + i].saturating_add(v);
    }
    x.extend(quiet(400, 3));
    let click_at = x.len();
    // A switch-hook click: a decaying broadband burst, 30 ms, peak around −5 dBm0.
    let burst = noise(samples(30, rate), 6000.0, 4);
    x.extend(burst.iter().enumerate().map(|(i, &v)| (f64::from(v) * (-(i as f64) / 120.0).exp()) as i16));
    x.extend(quiet(600, 5));
    let tone_at = x.len();
    x.extend(tone(samples(3000, rate), 450.0, -10.0, rate));
    x.extend(quiet(300, 6));
    let again = x.len();
    x.extend(noise(speech.len(), 3.0, 7));
    for (i, &v) in speech.iter().enumerate() {
        x[again + i] = x[again + i].saturating_add(v);
    }
    let t = |n: usize| HostTime::from_nanos(n as u64 * 125_000);
    (x, t(click_at), t(tone_at))
}

fn answered(three_way: bool) -> CallAnalyzer {
    let mut a = CallAnalyzer::new(AnalysisConfig::default(), HostTime::ZERO);
    a.set_three_way(three_way);
    a.answer(HostTime::ZERO);
    a
}

#[test]
fn flash_then_dial_tone_raises_both_signals_within_200ms() {
    let Some(dir) = common::shared_data() else { return };
    let (speech, rate) = read_audio(&dir.join("speech/pjsip/input.8.wav"));
    assert_eq!(rate, 8000);
    let (x, click_at, tone_at) = family_leg(&speech);
    let mut a = answered(true);
    let evs = feed(&mut a, Leg::B, HostTime::ZERO, &x, 8000);
    let sig = signals(&evs);
    eprintln!("{sig:#?}");
    let flash: Vec<_> = sig.iter().filter(|(_, e)| matches!(e.kind, EventKind::HookFlash { .. })).collect();
    assert_eq!(flash.len(), 1, "{flash:?}");
    let (seen, e) = flash[0];
    assert_eq!(e.leg, Some(Leg::B));
    assert!(
        e.at.saturating_since(click_at) <= Duration::from_millis(5)
            && click_at.saturating_since(e.at) <= Duration::from_millis(5)
    );
    assert!(seen.saturating_since(click_at) <= Duration::from_millis(200), "flash surfaced at {seen:?}");
    let EventKind::HookFlash { score, burst, .. } = e.kind else { unreachable!() };
    assert!(score >= 0.8, "{score}");
    assert!((Duration::from_millis(20)..=Duration::from_millis(40)).contains(&burst), "{burst:?}");
    let tones: Vec<_> = sig.iter().filter(|(_, e)| matches!(e.kind, EventKind::ProgressTone { .. })).collect();
    assert_eq!(tones.len(), 2, "{tones:?}");
    let (seen, e) = tones[0];
    let EventKind::ProgressTone { freqs, cadence, score, level_dbm0 } = e.kind else { unreachable!() };
    assert_eq!((freqs, cadence), (ToneFreqs(450.0, 0.0), ToneCadence::Onset));
    assert!(e.at.saturating_since(tone_at) <= Duration::from_millis(40));
    assert!(seen.saturating_since(tone_at) <= Duration::from_millis(200), "tone surfaced at {seen:?}");
    assert!(score > 0.5 && (level_dbm0 + 10.0).abs() < 1.0, "{score} {level_dbm0}");
    let EventKind::ProgressTone { cadence, .. } = tones[1].1.kind else { unreachable!() };
    assert_eq!(cadence, ToneCadence::Continuous);
    // Nothing else: no noise-floor drop (the floor did not fall).
    assert_eq!(sig.len(), 3);
    // In the CDR.
    let cdr = a.summary(HostTime::from_millis(20_000));
    assert_eq!(
        cdr.three_way_signals.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        ["hook_flash", "progress_tone", "progress_tone"]
    );
    // Switched off for this call: nothing.
    let mut off = answered(false);
    assert!(signals(&feed(&mut off, Leg::B, HostTime::ZERO, &x, 8000)).is_empty());
    // Before the answer: nothing either.
    let mut early = CallAnalyzer::new(AnalysisConfig::default(), HostTime::ZERO);
    assert!(signals(&feed(&mut early, Leg::B, HostTime::ZERO, &x, 8000)).is_empty());
    // On a 16 kHz leg too.
    let x16 = resample(&x, 8000, 16_000);
    let mut w = answered(true);
    let kinds: Vec<_> = signals(&feed(&mut w, Leg::B, HostTime::ZERO, &x16, 16_000))
        .iter()
        .map(|(_, e)| std::mem::discriminant(&e.kind))
        .collect();
    assert_eq!(kinds.len(), 3);
}

#[test]
fn noise_floor_drop_is_a_scored_signal() {
    // Line hiss at −45 dBm0 for 12 s, then −70 dBm0: a drop of 25 dB.
    let rate = 8000;
    let hiss = jyqq_media::analysis::level::dbm0_to_mean_square(-45.0).sqrt();
    let quiet = jyqq_media::analysis::level::dbm0_to_mean_square(-70.0).sqrt();
    let mut x = noise(samples(12_000, rate), hiss, 9);
    x.extend(noise(samples(6000, rate), quiet, 10));
    let mut a = answered(true);
    let sig: Vec<_> =
        signals(&feed(&mut a, Leg::B, HostTime::ZERO, &x, rate)).into_iter().map(|(s, e)| (s, e.clone())).collect();
    assert_eq!(sig.len(), 1, "{sig:?}");
    let EventKind::NoiseFloorDrop { before_dbm0, after_dbm0, score } = sig[0].1.kind else { panic!("{sig:?}") };
    assert_eq!(sig[0].1.at, HostTime::from_millis(12_000));
    assert!(before_dbm0 > -52.0 && after_dbm0 < -68.0, "{before_dbm0} {after_dbm0}");
    assert!(score > 0.9);
}

#[test]
fn speech_files_raise_no_three_way_signal() {
    let Some(dir) = common::shared_data() else { return };
    let mut n = 0;
    for sub in ["mandarin", "pjsip", "silero", "speechbrain", "speechbrain/VAD", "uyghur", "webrtcvad"] {
        for e in std::fs::read_dir(dir.join("speech").join(sub)).expect("speech folder") {
            let p = e.expect("entry").path();
            if !p.extension().is_some_and(|x| x == "wav" || x == "raw") {
                continue;
            }
            let (x, rate) = read_audio(&p);
            let (x, rate) = analysable(x, rate);
            let mut a = answered(true);
            let sig: Vec<_> =
                signals(&feed(&mut a, Leg::B, HostTime::ZERO, &x, rate)).into_iter().map(|(_, e)| e.clone()).collect();
            assert!(sig.is_empty(), "{}: {sig:?}", p.display());
            n += 1;
        }
    }
    assert_eq!(n, 19);
}

#[test]
fn metering_ten_and_a_half_minutes_and_grace() {
    let mut a = CallAnalyzer::new(AnalysisConfig::default(), HostTime::from_millis(1000));
    a.answer(HostTime::from_millis(5000));
    a.end(HostTime::from_millis(5000 + 630_000), EndCause::HangupB);
    let s = a.summary(HostTime::from_millis(700_000));
    assert_eq!((s.connected_ms, s.bill.units, s.bill.charge_fen, s.charge_yuan.as_str()), (630_000, 11, 165, "1.65"));
    assert_eq!((s.answer_ms, s.end_ms, s.end_cause.clone()), (Some(4000), Some(634_000), Some(EndCause::HangupB)));
    let ended: Vec<_> =
        std::iter::from_fn(|| a.poll_event()).filter(|e| matches!(e.kind, EventKind::Ended { .. })).collect();
    assert_eq!(ended.len(), 1);

    let mut cfg = AnalysisConfig::default();
    let mut policy = BillingPolicy::default();
    policy.grace = Duration::from_secs(3);
    cfg.billing = policy;
    let mut g = CallAnalyzer::new(cfg, HostTime::ZERO);
    g.answer(HostTime::ZERO);
    g.end(HostTime::from_millis(2900), EndCause::HangupA);
    let s = g.summary(HostTime::from_millis(10_000));
    assert_eq!((s.connected_ms, s.bill.units, s.bill.charge_fen), (2900, 0, 0));

    // A time limit: the session's clock decides, a late host cannot overrun it.
    let mut cfg = AnalysisConfig::default();
    cfg.time_limit = Some(Duration::from_secs(600));
    // Only the limit is timed here (no media is fed).
    cfg.alarms.media_timeout = None;
    cfg.alarms.long_silence = None;
    let mut l = CallAnalyzer::new(cfg, HostTime::ZERO);
    l.answer(HostTime::from_millis(2000));
    assert_eq!(l.poll_timeout(), Some(HostTime::from_millis(602_000)));
    l.handle_timeout(HostTime::from_millis(602_000));
    let limit: Vec<_> = std::iter::from_fn(|| l.poll_event()).filter(|e| e.kind == EventKind::LimitReached).collect();
    assert_eq!(limit.len(), 1);
    l.end(HostTime::from_millis(650_000), EndCause::TimeLimit);
    let s = l.summary(HostTime::from_millis(650_000));
    assert_eq!((s.connected_ms, s.bill.units, s.end_ms), (600_000, 10, Some(602_000)));
}

#[test]
fn one_way_audio_and_cdr_json() {
    let Some(dir) = common::shared_data() else { return };
    let (speech, rate) = read_audio(&dir.join("speech/silero/en_num.wav"));
    let (speech, rate) = (resample(&speech, rate, 8000), 8000);
    // Leg A talks for 24 s (the file twice); leg B sends only quiet noise.
    let mut a_pcm = speech.clone();
    a_pcm.extend(&speech);
    let b_pcm = noise(a_pcm.len(), 3.0, 11);
    // PCM only (no packets): the media-timeout alarm is not under test.
    let mut cfg = AnalysisConfig::default();
    cfg.alarms.media_timeout = None;
    let mut a = CallAnalyzer::new(cfg, HostTime::ZERO);
    a.answer(HostTime::ZERO);
    let mut evs = feed(&mut a, Leg::A, HostTime::ZERO, &a_pcm, rate);
    evs.extend(feed(&mut a, Leg::B, HostTime::ZERO, &b_pcm, rate));
    let raised: Vec<_> = evs
        .iter()
        .filter_map(|(_, e)| match e.kind {
            EventKind::Alarm { alarm, raised: true } => Some((e.leg, alarm)),
            _ => None,
        })
        .collect();
    assert!(raised.contains(&(Some(Leg::B), AlarmKind::OneWayAudio)), "{raised:?}");
    assert!(!raised.iter().any(|r| r.0 == Some(Leg::A)), "{raised:?}");
    a.end(HostTime::from_millis(24_000), EndCause::HangupA);
    let s = a.summary(HostTime::from_millis(24_000));
    assert!(s.legs[0].talk_ms > 10_000 && s.legs[1].talk_ms == 0, "{} {}", s.legs[0].talk_ms, s.legs[1].talk_ms);
    let json = s.to_json();
    let back: CdrSummary = serde_json::from_str(&json).expect("CDR JSON reads back");
    assert_eq!(back, s);
    assert!(json.contains("\"OneWayAudio\""));
}
