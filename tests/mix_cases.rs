//! CASES B20 (mixing overflow) and B23 (whisper routing), tone levels and cadence, the warning
//! schedule, and the monitoring policy, on the `mix` building blocks.

mod common;

use jyqq_media::mix::{
    Cadence, CadenceStep, Dbm0, Direction, Gain, LimiterConfig, Listen, MixError, Mixer, OutputStage, PlayMode, Prompt,
    PromptPlayer, Repeat, Router, RouterConfig, RouterEvent, Schedule, TapKind, Target, ToneGenerator, ToneSpec,
};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::time::Duration;

const PTIME: Duration = Duration::from_millis(20);

/// Amplitude (dBFS re a full-scale sine of peak 32 768) of the `freq` component of `x`, by the
/// Goertzel recurrence over all of `x` (whole periods of every test tone, so no leakage).
fn goertzel_dbfs(x: &[i16], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    let amp = 2.0 * power.max(0.0).sqrt() / x.len() as f64;
    20.0 * (amp / 32768.0).max(1e-12).log10()
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn sine(freq: f64, peak: f64, rate: f64, len: usize) -> Vec<i16> {
    (0..len).map(|i| (peak * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin()).round() as i16).collect()
}

fn steady_tone(freq: f32, level: f32, rate: SampleRate, len: usize) -> Vec<i16> {
    let mut g = ToneGenerator::new(&ToneSpec::single(freq, Dbm0(level), Cadence::steady()), rate).expect("valid tone");
    let mut v = vec![0; len];
    assert_eq!(g.fill(&mut v), len);
    v
}

// ---------------------------------------------------------------- B20

fn mix_two(stage: OutputStage, a: &[i16], ga: f32, b: &[i16], gb: f32) -> Vec<i16> {
    let mut m = Mixer::new(a.len(), SampleRate::HZ_8000, stage).expect("valid frame");
    let mut out = vec![0; a.len()];
    m.mix(&[(a, Gain::from_linear(ga)), (b, Gain::from_linear(gb))], &mut out).expect("lengths match");
    out
}

#[test]
fn b20_constant_frames_saturate_once_after_summing() {
    let c = |v: i16| vec![v; 160];
    let cases: [(i16, f32, i16, f32, i16); 4] = [
        (30_000, 1.0, 30_000, 1.0, 32_767),
        (-30_000, 1.0, -30_000, 1.0, -32_768),
        (30_000, 1.0, -30_000, 1.0, 0),
        // 32 767 × 2.0 − 16 384 = 49 150 in 32 bits, then clamped; per-input saturation would give 16 383.
        (32_767, 2.0, -16_384, 1.0, 32_767),
    ];
    for (i, (a, ga, b, gb, want)) in cases.into_iter().enumerate() {
        let out = mix_two(OutputStage::Clamp, &c(a), ga, &c(b), gb);
        assert!(out.iter().all(|&s| s == want), "case ({}) gave {}", i + 1, out[0]);
    }
    // Case (4)'s sum, before narrowing, is exact.
    let mut m = Mixer::new(160, SampleRate::HZ_8000, OutputStage::Clamp).expect("valid");
    m.clear();
    m.add(&c(32_767), Gain::from_linear(2.0)).expect("length");
    m.add(&c(-16_384), Gain::UNITY).expect("length");
    assert!(m.sum().iter().all(|&s| s == 49_150));
}

#[test]
fn b20_two_loud_sines_keep_the_sign_of_the_true_sum() {
    let a = sine(1000.0, 24_000.0, 8000.0, 8000);
    let b = sine(1300.0, 24_000.0, 8000.0, 8000);
    let clamp = mix_two(OutputStage::Clamp, &a, 1.0, &b, 1.0);
    let limited = mix_two(OutputStage::Limiter(LimiterConfig::default()), &a, 1.0, &b, 1.0);
    let mut clipped = 0;
    for i in 0..a.len() {
        let sum = i32::from(a[i]) + i32::from(b[i]);
        assert_eq!(i32::from(clamp[i]), sum.clamp(-32_768, 32_767), "clamp is exact at {i}");
        clipped += usize::from(sum.abs() > 32_767);
        assert!(i32::from(limited[i]) * sum >= 0, "limiter flipped the sign at {i}: {} vs {sum}", limited[i]);
        assert!(limited[i].unsigned_abs() <= 29_204, "limiter threshold at {i}: {}", limited[i]);
        assert!(limited[i] != 0 || sum.abs() < 40, "limiter silenced {sum} at {i}");
    }
    assert!(clipped > 100, "the case does overload: {clipped} samples beyond full scale");
    assert_eq!(clamp.iter().map(|s| s.unsigned_abs()).max(), Some(32_768));
}

#[test]
fn b20_whisper_path_saturates_once() {
    let mut r = Router::new(RouterConfig::default()).expect("valid");
    let w = r.add_tap(HostTime::ZERO, TapKind::Whisper { to: Leg::A, listen: None }).expect("allowed");
    r.push_guard_audio(w, &[30_000; 160]).expect("length");
    r.process(HostTime::ZERO, &[-30_000; 160], &[30_000; 160]).expect("lengths");
    assert!(r.outbound(Leg::A).iter().all(|&s| s == 32_767));
    assert!(r.outbound(Leg::B).iter().all(|&s| s == -30_000));
}

// ---------------------------------------------------------------- B23

struct B23 {
    agent_hears: Vec<i16>,
    customer_hears: Vec<i16>,
    monitor_hears: Vec<i16>,
    guard_track: Vec<i16>,
    customer: Vec<i16>,
    agent: Vec<i16>,
    whisper: Vec<i16>,
    events: Vec<RouterEvent>,
}

/// Inbound call: leg A = customer (500 Hz), leg B = agent (1 kHz); a supervisor taps at 100 ms,
/// listens as `listen` says and whispers 3 kHz to the agent; leaves at 1.1 s. 1 s analysed.
fn run_b23(listen: Listen) -> B23 {
    let rate = SampleRate::HZ_8000;
    let len = 8000;
    let customer = steady_tone(500.0, -10.0, rate, len + 1600);
    let agent = steady_tone(1000.0, -10.0, rate, len + 1600);
    let whisper = steady_tone(3000.0, -10.0, rate, len + 1600);
    let mut r = Router::new(RouterConfig::new(rate, PTIME)).expect("valid");
    let t0 = HostTime::from_millis(5_000);
    let mut out = B23 {
        agent_hears: vec![],
        customer_hears: vec![],
        monitor_hears: vec![],
        guard_track: vec![],
        customer: customer[800..800 + len].to_vec(),
        agent: agent[800..800 + len].to_vec(),
        whisper: whisper[800..800 + len].to_vec(),
        events: vec![],
    };
    let mut tap = None;
    for (k, f) in (0..(len + 1600) / 160).map(|k| (k, k * 160..(k + 1) * 160)) {
        let now = t0.saturating_add(PTIME * k as u32);
        if k == 5 {
            tap = Some(r.add_tap(now, TapKind::Whisper { to: Leg::B, listen: Some(listen) }).expect("allowed"));
        }
        if k == 55 {
            r.remove_tap(now, tap.expect("joined at frame 5")).expect("present");
        }
        if let Some(s) = tap.filter(|_| (5..55).contains(&k)) {
            r.push_guard_audio(s, &whisper[f.clone()]).expect("length");
        }
        r.process(now, &customer[f.clone()], &agent[f]).expect("lengths");
        if (5..55).contains(&k) {
            out.agent_hears.extend_from_slice(r.outbound(Leg::B));
            out.customer_hears.extend_from_slice(r.outbound(Leg::A));
            out.monitor_hears.extend_from_slice(r.listen(tap.expect("present")).expect("listens").pcm);
            out.guard_track.extend_from_slice(r.guard_track());
        }
        out.events.extend(std::iter::from_fn(|| r.poll_event()));
    }
    out
}

const FLOOR: f64 = -60.0;

#[test]
fn b23_whisper_reaches_only_the_agent_and_the_guard_track() {
    let run = run_b23(Listen::MONO);
    let g = |x: &[i16], f: f64| goertzel_dbfs(x, f, 8000.0);
    // −10 dBm0 (A-law reference) is −16.15 dBFS peak-referenced.
    let level = -10.0 + 20.0 * (Dbm0(0.0).sine_peak(Default::default()) / 32768.0).log10();
    let near = |v: f64| (v - level).abs() < 0.05;
    // Agent hears the customer and the whisper, sample for sample (no overload at these levels).
    assert!(near(g(&run.agent_hears, 500.0)) && near(g(&run.agent_hears, 3000.0)));
    assert!(g(&run.agent_hears, 1000.0) < FLOOR);
    let expect: Vec<i16> = run.customer.iter().zip(&run.whisper).map(|(&c, &w)| c + w).collect();
    assert_eq!(run.agent_hears, expect);
    // Customer hears only the agent: the 3 kHz whisper is absent.
    assert_eq!(run.customer_hears, run.agent);
    assert!(g(&run.customer_hears, 3000.0) < FLOOR, "3 kHz at {} dBFS", g(&run.customer_hears, 3000.0));
    // Supervisor hears both parties and not the whisper.
    assert!(near(g(&run.monitor_hears, 500.0)) && near(g(&run.monitor_hears, 1000.0)));
    assert!(g(&run.monitor_hears, 3000.0) < FLOOR);
    // The guard track (third channel) holds the whisper only; the legs' recording channels are the
    // legs' own audio (`customer`, `agent`), which the router never writes into.
    assert_eq!(run.guard_track, run.whisper);
    assert!(g(&run.guard_track, 500.0) < FLOOR && g(&run.guard_track, 1000.0) < FLOOR);
    // Audit: joined at frame 5 (5.1 s), left at frame 55 (6.1 s).
    let times: Vec<_> = run
        .events
        .iter()
        .map(|e| match e {
            RouterEvent::TapJoined { at, .. } => ("joined", *at),
            RouterEvent::TapLeft { at, .. } => ("left", *at),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(times, vec![("joined", HostTime::from_millis(5_100)), ("left", HostTime::from_millis(6_100))]);
}

#[test]
fn b23_one_direction_listen_still_delivers_the_whisper() {
    let run = run_b23(Listen { direction: Direction::Only(Leg::A), ..Listen::MONO });
    let g = |x: &[i16], f: f64| goertzel_dbfs(x, f, 8000.0);
    assert!(g(&run.agent_hears, 3000.0) > -16.3, "whisper delivered: {}", g(&run.agent_hears, 3000.0));
    assert!(g(&run.customer_hears, 3000.0) < FLOOR);
    assert_eq!(run.monitor_hears, run.customer, "hears the customer direction only");
    assert!(g(&run.monitor_hears, 1000.0) < FLOOR && g(&run.monitor_hears, 3000.0) < FLOOR);
    assert_eq!(run.guard_track, run.whisper);
}

#[test]
fn monitoring_disallowed_refuses_and_removes_taps() {
    let mut r = Router::new(RouterConfig::default()).expect("valid");
    let s = r.add_tap(HostTime::from_millis(1), TapKind::Whisper { to: Leg::B, listen: Some(Listen::MONO) });
    let s = s.expect("allowed");
    r.set_monitoring_allowed(HostTime::from_millis(2), false);
    assert_eq!(r.add_tap(HostTime::from_millis(3), TapKind::Listen(Listen::MONO)), Err(MixError::MonitoringNotAllowed));
    assert!(r.push_guard_audio(s, &[1000; 160]).is_err());
    r.process(HostTime::from_millis(20), &[5; 160], &[6; 160]).expect("lengths");
    assert!(r.outbound(Leg::B).iter().all(|&x| x == 5));
    assert!(r.listen(s).is_none());
    let left = std::iter::from_fn(|| r.poll_event()).filter(|e| matches!(e, RouterEvent::TapLeft { .. })).count();
    assert_eq!(left, 1);
}

// ---------------------------------------------------------------- tones

#[test]
fn tone_level_in_dbm0() {
    // 0 dBm0 under the A-law reference: a sine of RMS 32 768·10^(−3.14/20)/√2 (G.711 §5).
    #[allow(clippy::approx_constant)] // G.711's +3.14 dBm0 load capacity, not π
    let alaw_tmax_db = 3.14;
    let expected = 32_768.0 * 10f64.powf(-alaw_tmax_db / 20.0) / 2f64.sqrt() * 10f64.powf(-10.0 / 20.0);
    for rate in [8000, 16_000, 48_000] {
        let x = steady_tone(1000.0, -10.0, SampleRate::new(rate), rate as usize);
        let db = 20.0 * (rms(&x) / expected).log10();
        assert!(db.abs() < 0.1, "{rate} Hz: {db:+.4} dB off");
        assert!(db.abs() < 0.01, "{rate} Hz: {db:+.4} dB off (rounding to i16 only)");
    }
}

#[test]
fn cadence_timing_is_exact_to_the_sample() {
    // 16 kHz; 250 ms on, 250 ms off, 100 ms on, 400 ms off; twice. 1 kHz: 16 samples a cycle.
    let rate = SampleRate::HZ_16000;
    let ms = Duration::from_millis;
    let steps = vec![CadenceStep { on: ms(250), off: ms(250) }, CadenceStep { on: ms(100), off: ms(400) }];
    let spec = ToneSpec::single(1000.0, Dbm0(-10.0), Cadence::new(steps, Repeat::Times(2)).expect("valid"));
    let mut g = ToneGenerator::new(&spec, rate).expect("valid");
    assert_eq!(g.total_samples(), Some(32_000));
    let mut x = vec![0i16; 33_600];
    let mut produced = 0;
    for frame in x.chunks_mut(320) {
        produced += g.fill(frame);
    }
    assert_eq!(produced, 32_000);
    assert!(g.is_finished());
    let bursts = [(0, 4000), (8000, 9600), (16_000, 20_000), (24_000, 25_600)];
    let mut on = vec![false; x.len()];
    for &(s, e) in &bursts {
        on[s..e].iter_mut().for_each(|o| *o = true);
        // Each burst starts at phase 0 and its last sample (phase 15/16) is not zero.
        assert_eq!(x[s], 0);
        assert_ne!(x[s + 1], 0, "burst at {s} starts on its second sample");
        assert_ne!(x[e - 1], 0, "burst ending {e} lasts to its last sample");
        let db = Dbm0::of_rms(rms(&x[s..e]), Default::default()).0;
        assert!((db + 10.0).abs() < 0.01, "burst at {s}: {db} dBm0");
    }
    for (i, (&v, &o)) in x.iter().zip(&on).enumerate() {
        assert!(o || v == 0, "sample {i} should be silent, is {v}");
    }
}

// ---------------------------------------------------------------- schedule

#[test]
fn warnings_start_in_the_frame_of_their_instant() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Item {
        Warn120,
        Warn60,
        Limit,
    }
    let limit = Duration::from_secs(300);
    let mut s = Schedule::new();
    s.add(limit, Item::Limit);
    s.add_before(limit, Duration::from_secs(60), Item::Warn60).expect("fits");
    s.add_before(limit, Duration::from_secs(120), Item::Warn120).expect("fits");
    // Frames on a grid that is not aligned with the answer time.
    let grid0 = HostTime::from_nanos(1_000_003_000);
    let answered = HostTime::from_nanos(1_234_567_891);
    s.start(answered);
    let mut r = Router::new(RouterConfig::default()).expect("valid");
    let beep = ToneSpec::single(440.0, Dbm0(-15.0), Cadence::once(Duration::from_millis(300)));
    let mut seen = Vec::new();
    let silence = [0i16; 160];
    for k in 0..16_000u32 {
        let now = grid0.saturating_add(PTIME * k);
        while let Some(due) = s.poll_due(now, PTIME) {
            let frame = (due.at.as_nanos() - grid0.as_nanos()) / 20_000_000;
            assert_eq!(u64::from(k), frame, "{:?} at {:?} started in frame {k}", due.item, due.at);
            if due.item != Item::Limit {
                let tone = ToneGenerator::new(&beep, SampleRate::HZ_8000).expect("valid");
                r.play(due.at, tone, Target::BothLegs, PlayMode::Mix, Gain::UNITY).expect("8 kHz");
            }
            seen.push((due.item, due.at));
        }
        r.process(now, &silence, &silence).expect("lengths");
        while let Some(ev) = r.poll_event() {
            if let RouterEvent::PlaybackStarted { at, .. } = ev {
                let want = seen.last().expect("a warning was played").1;
                let off = at.as_nanos().abs_diff(want.as_nanos());
                assert!(off <= 62_500, "first sample {off} ns from its instant (half a sample at most)");
            }
        }
    }
    let at = |secs: u64| answered.saturating_add(Duration::from_secs(secs));
    assert_eq!(seen, vec![(Item::Warn120, at(180)), (Item::Warn60, at(240)), (Item::Limit, at(300))]);
}

// ---------------------------------------------------------------- prompts from WAV files

fn read_wav(rel: &str) -> Option<Prompt> {
    let bytes = common::shared_file(rel)?;
    let mut reader = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("a WAV file");
    let spec = reader.spec();
    let pcm: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().expect("16-bit samples");
    Some(Prompt::from_interleaved(&pcm, spec.channels, SampleRate::new(spec.sample_rate)).expect("mono PCM"))
}

#[test]
fn wav_prompt_plays_to_both_legs_for_its_length() {
    let Some(p8) = read_wav("speech/pjsip/input.8.wav") else { return };
    let Some(p16) = read_wav("speech/pjsip/input.16.wav") else { return };
    let len = p8.samples().len();
    assert_eq!(len, 33_627, "4.20 s at 8 kHz (MANIFEST), 33 627 samples");
    let mut r = Router::new(RouterConfig::default()).expect("valid");
    assert_eq!(
        r.play(HostTime::ZERO, PromptPlayer::new(p16.clone()), Target::BothLegs, PlayMode::Mix, Gain::UNITY),
        Err(MixError::RateMismatch { source_hz: 16_000, mixer_hz: 8000 })
    );
    let id = r.play(HostTime::ZERO, PromptPlayer::new(p8.clone()), Target::BothLegs, PlayMode::Replace, Gain::UNITY);
    let id = id.expect("8 kHz");
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    let mut ended = None;
    for k in 0..220u32 {
        let now = HostTime::ZERO.saturating_add(PTIME * k);
        r.process(now, &[1000; 160], &[-1000; 160]).expect("lengths");
        to_a.extend_from_slice(r.outbound(Leg::A));
        to_b.extend_from_slice(r.outbound(Leg::B));
        while let Some(ev) = r.poll_event() {
            if let RouterEvent::PlaybackEnded { playback, at, stopped: false } = ev {
                assert_eq!(playback, id);
                ended = Some(at);
            }
        }
    }
    assert_eq!(ended, Some(HostTime::from_nanos(4_203_375_000)), "33 627 samples / 8 kHz after the start");
    assert_eq!(&to_a[..len], p8.samples(), "replace mode: the prompt alone");
    assert_eq!(&to_b[..len], p8.samples());
    assert!(to_a[len..].iter().all(|&s| s == -1000) && to_b[len..].iter().all(|&s| s == 1000));

    // The 8 kHz prompt brought to 16 kHz by linear interpolation follows sox's resampler (the
    // linear method's sinc² droop, −4.2 dB at 3 kHz, keeps it from matching closely at the top).
    let up = p8.resampled(SampleRate::HZ_16000, &mut jyqq_media::mix::LinearResampler).expect("resample");
    assert_eq!(up.samples().len(), 2 * len);
    assert_eq!(p16.samples().len(), 2 * len);
    if !common::have_tool("sox") {
        return;
    }
    let wav = common::shared_data().expect("present").join("speech/pjsip/input.8.wav");
    let sox = std::process::Command::new("sox").arg(&wav).args(["-t", "wav", "-r", "16000", "-"]).output();
    let sox = sox.expect("sox runs");
    assert!(sox.status.success(), "sox failed: {}", String::from_utf8_lossy(&sox.stderr));
    let mut reader = hound::WavReader::new(std::io::Cursor::new(sox.stdout)).expect("sox writes a WAV");
    let reference: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().expect("16-bit");
    assert_eq!(reference.len(), 2 * len);
    let x = up.samples();
    let dot: f64 = x.iter().zip(&reference).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    let corr = dot / (rms(x) * rms(&reference) * x.len() as f64);
    let err: f64 = x.iter().zip(&reference).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
    let snr = 10.0 * (rms(&reference).powi(2) * x.len() as f64 / err).log10();
    assert!(corr > 0.98 && snr > 14.0, "correlation {corr:.4}, SNR {snr:.2} dB against sox");
}
