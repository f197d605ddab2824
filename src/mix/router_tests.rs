//! Unit tests of the router: routing rules on constant frames, events, policy, replace mode.

use super::*;
use crate::mix::taps::{Direction, Listen};
use crate::mix::{Prompt, PromptPlayer};

const N: usize = 160;

fn router() -> Router {
    Router::new(RouterConfig::default()).expect("8 kHz × 20 ms = 160 samples")
}

fn t(ms: u64) -> HostTime {
    HostTime::from_millis(ms)
}

fn events(r: &mut Router) -> Vec<RouterEvent> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

fn prompt(value: i16, len: usize) -> PromptPlayer {
    PromptPlayer::new(Prompt::from_mono(vec![value; len], SampleRate::HZ_8000).expect("not empty"))
}

#[test]
fn tap_lifecycle_is_audited_with_times() {
    let mut r = router();
    let listen = TapKind::Listen(Listen::MONO);
    let whisper = TapKind::Whisper { to: Leg::B, listen: Some(Listen::MONO) };
    let a = r.add_tap(t(10), listen).expect("allowed");
    let b = r.add_tap(t(11), listen).expect("allowed");
    assert_ne!(a, b);
    r.change_tap(t(12), a, whisper).expect("exists");
    r.remove_tap(t(13), a).expect("exists");
    assert_eq!(r.remove_tap(t(14), a), Err(MixError::UnknownTap(a)));
    assert_eq!(
        events(&mut r),
        vec![
            RouterEvent::TapJoined { tap: a, kind: listen, at: t(10) },
            RouterEvent::TapJoined { tap: b, kind: listen, at: t(11) },
            RouterEvent::TapChanged { tap: a, from: listen, to: whisper, at: t(12) },
            RouterEvent::TapLeft { tap: a, kind: whisper, reason: LeaveReason::Removed, at: t(13) },
        ]
    );
    let c = r.add_tap(t(15), listen).expect("allowed");
    assert!(c.0 > b.0, "ids are not reused");
}

#[test]
fn policy_is_fail_closed() {
    let mut r = Router::new(RouterConfig { max_taps: 2, ..RouterConfig::default() }).expect("valid");
    let w = r.add_tap(t(0), TapKind::Whisper { to: Leg::A, listen: None }).expect("allowed");
    let l = r.add_tap(t(0), TapKind::Listen(Listen::MONO)).expect("allowed");
    assert_eq!(r.add_tap(t(0), TapKind::Listen(Listen::MONO)), Err(MixError::TooManyTaps(2)));
    let p = r.play(t(0), prompt(5, 1000), Target::Tap(l), PlayMode::Mix, Gain::UNITY).expect("tap exists");
    let _ = events(&mut r);
    r.set_monitoring_allowed(t(40), false);
    assert_eq!(
        events(&mut r),
        vec![
            RouterEvent::MonitoringPolicy { allowed: false, at: t(40) },
            RouterEvent::TapLeft {
                tap: w,
                kind: TapKind::Whisper { to: Leg::A, listen: None },
                reason: LeaveReason::PolicyRevoked,
                at: t(40)
            },
            RouterEvent::PlaybackEnded { playback: p, stopped: true, at: t(40) },
            RouterEvent::TapLeft {
                tap: l,
                kind: TapKind::Listen(Listen::MONO),
                reason: LeaveReason::PolicyRevoked,
                at: t(40)
            },
        ]
    );
    assert_eq!(r.add_tap(t(41), TapKind::Listen(Listen::MONO)), Err(MixError::MonitoringNotAllowed));
    assert_eq!(r.push_guard_audio(w, &[9_000; N]), Err(MixError::UnknownTap(w)));
    assert!(r.listen(l).is_none());
    r.process(t(60), &[100; N], &[200; N]).expect("lengths match");
    assert!(r.outbound(Leg::A).iter().all(|&s| s == 200), "only the other party");
    assert!(r.guard_track().iter().all(|&s| s == 0));
    r.set_monitoring_allowed(t(80), true);
    assert!(r.add_tap(t(81), TapKind::Listen(Listen::MONO)).is_ok());
}

#[test]
fn listen_only_tap_never_reaches_the_call() {
    let mut r = router();
    let l = r.add_tap(t(0), TapKind::Listen(Listen::MONO)).expect("allowed");
    r.push_guard_audio(l, &[5_000; N]).expect("accepted and ignored");
    r.process(t(0), &[100; N], &[-300; N]).expect("lengths match");
    assert!(r.outbound(Leg::A).iter().all(|&s| s == -300));
    assert!(r.outbound(Leg::B).iter().all(|&s| s == 100));
    assert!(r.guard_track().iter().all(|&s| s == 0));
    let out = r.listen(l).expect("listens");
    assert_eq!(out.channels, 1);
    assert!(out.pcm.len() == N && out.pcm.iter().all(|&s| s == -200));
}

#[test]
fn stereo_listen_hears_other_barges_but_not_itself() {
    let mut r = router();
    let me = r.add_tap(t(0), TapKind::Barge { listen: Some(Listen::STEREO) }).expect("allowed");
    let other = r.add_tap(t(0), TapKind::Barge { listen: None }).expect("allowed");
    let whisperer = r.add_tap(t(0), TapKind::Whisper { to: Leg::A, listen: Some(Listen::MONO) }).expect("allowed");
    r.push_guard_audio(me, &[7; N]).expect("talks");
    r.push_guard_audio(other, &[300; N]).expect("talks");
    r.push_guard_audio(whisperer, &[50; N]).expect("talks");
    r.process(t(0), &[1000; N], &[-2000; N]).expect("lengths match");
    let out = r.listen(me).expect("listens");
    assert_eq!(out.channels, 2);
    assert_eq!(out.pcm.len(), 2 * N);
    assert!(out.pcm.chunks_exact(2).all(|f| f == [1300, -1700]), "{:?}", &out.pcm[..2]);
    assert!(r.listen(other).is_none(), "talk-only tap");
    // The whisperer hears both legs and both barges, not its own whisper.
    assert!(r.listen(whisperer).expect("listens").pcm.iter().all(|&s| s == -1000 + 307));
    assert!(r.outbound(Leg::A).iter().all(|&s| s == -2000 + 307 + 50));
    assert!(r.outbound(Leg::B).iter().all(|&s| s == 1000 + 307));
    assert!(r.guard_track().iter().all(|&s| s == 357));
    // Guard audio is consumed by the frame: nothing pushed next frame is silence.
    r.process(t(20), &[1000; N], &[-2000; N]).expect("lengths match");
    assert!(r.outbound(Leg::B).iter().all(|&s| s == 1000));
    assert!(r.guard_track().iter().all(|&s| s == 0));
}

#[test]
fn one_direction_listen_keeps_its_whisper() {
    let mut r = router();
    let listen = Listen { direction: Direction::Only(Leg::A), ..Listen::MONO };
    let s = r.add_tap(t(0), TapKind::Whisper { to: Leg::B, listen: Some(listen) }).expect("allowed");
    r.push_guard_audio(s, &[40; N]).expect("talks");
    r.process(t(0), &[1000; N], &[-2000; N]).expect("lengths match");
    assert!(r.listen(s).expect("listens").pcm.iter().all(|&x| x == 1000));
    assert!(r.outbound(Leg::B).iter().all(|&x| x == 1040));
    assert!(r.outbound(Leg::A).iter().all(|&x| x == -2000));
}

#[test]
fn replace_prompt_is_sample_exact_and_mutes_only_the_conversation() {
    let mut r = router();
    let w = r.add_tap(t(0), TapKind::Whisper { to: Leg::A, listen: None }).expect("allowed");
    // 30 samples into the frame at 8 kHz = 3.75 ms.
    let at = HostTime::from_nanos(3_750_000);
    let p = r.play(at, prompt(7, 50), Target::Leg(Leg::A), PlayMode::Replace, Gain::UNITY).expect("8 kHz");
    let _ = events(&mut r);
    r.push_guard_audio(w, &[2; N]).expect("talks");
    r.process(t(0), &[100; N], &[1000; N]).expect("lengths match");
    let a = r.outbound(Leg::A);
    assert!(a[..30].iter().all(|&s| s == 1002), "{:?}", &a[..31]);
    assert!(a[30..80].iter().all(|&s| s == 9), "prompt 7 + whisper 2, conversation muted");
    assert!(a[80..].iter().all(|&s| s == 1002));
    assert!(r.outbound(Leg::B).iter().all(|&s| s == 100), "leg B hears neither");
    let g = r.guard_track();
    assert!(g[..30].iter().all(|&s| s == 2) && g[30..80].iter().all(|&s| s == 9) && g[80..].iter().all(|&s| s == 2));
    assert_eq!(
        events(&mut r),
        vec![
            RouterEvent::PlaybackStarted { playback: p, target: Target::Leg(Leg::A), at },
            RouterEvent::PlaybackEnded { playback: p, stopped: false, at: HostTime::from_nanos(10_000_000) },
        ]
    );
    assert!(!r.is_playing(p));
    assert_eq!(r.stop(t(20), p), Err(MixError::UnknownPlayback(p)));
}

#[test]
fn playback_spanning_frames_and_tap_target() {
    let mut r = router();
    let l = r.add_tap(t(0), TapKind::Listen(Listen::MONO)).expect("allowed");
    let p = r.play(t(30), prompt(11, 200), Target::Tap(l), PlayMode::Replace, Gain::UNITY).expect("ok");
    let mut heard = Vec::new();
    for k in 0..4 {
        r.process(t(20 * k), &[100; N], &[200; N]).expect("lengths match");
        heard.extend_from_slice(r.listen(l).expect("listens").pcm);
        assert!(r.outbound(Leg::A).iter().all(|&s| s == 200), "legs do not hear a tap prompt");
    }
    // Starts at 30 ms = sample 240, lasts 200 samples, replacing the call audio.
    assert!(heard[..240].iter().all(|&s| s == 300));
    assert!(heard[240..440].iter().all(|&s| s == 11));
    assert!(heard[440..].iter().all(|&s| s == 300));
    let ev = events(&mut r);
    assert!(ev.contains(&RouterEvent::PlaybackEnded {
        playback: p,
        stopped: false,
        at: HostTime::from_nanos(55_000_000)
    }));
}

#[test]
fn bad_inputs_are_errors() {
    let mut r = router();
    assert_eq!(r.process(t(0), &[0; N], &[0; N - 1]), Err(MixError::FrameLength { expected: N, got: N - 1 }));
    let p16 = PromptPlayer::new(Prompt::from_mono(vec![1; 10], SampleRate::HZ_16000).expect("ok"));
    assert_eq!(
        r.play(t(0), p16, Target::BothLegs, PlayMode::Mix, Gain::UNITY),
        Err(MixError::RateMismatch { source_hz: 16_000, mixer_hz: 8000 })
    );
    assert_eq!(
        r.play(t(0), prompt(1, 5), Target::Tap(TapId(9)), PlayMode::Mix, Gain::UNITY),
        Err(MixError::UnknownTap(TapId(9)))
    );
    let w = r.add_tap(t(0), TapKind::Barge { listen: None }).expect("allowed");
    assert!(r.push_guard_audio(w, &[0; 3]).is_err());
    assert!(Router::new(RouterConfig::new(SampleRate::new(44_100), Duration::from_micros(10_001))).is_err());
    assert!(Router::new(RouterConfig { max_taps: 1000, ..RouterConfig::default() }).is_err());
}

#[test]
fn gains_apply_per_link() {
    let mut r = router();
    let l = r.add_tap(t(0), TapKind::Listen(Listen::STEREO)).expect("allowed");
    let w = r.add_tap(t(0), TapKind::Whisper { to: Leg::A, listen: None }).expect("allowed");
    r.set_leg_gain(Leg::B, Gain::from_linear(0.5));
    r.set_tap_gains(l, TapGains { listen: Gain::from_linear(2.0), talk: Gain::UNITY }).expect("exists");
    r.set_tap_gains(w, TapGains { listen: Gain::UNITY, talk: Gain::from_linear(0.25) }).expect("exists");
    r.push_guard_audio(w, &[400; N]).expect("talks");
    r.process(t(0), &[1000; N], &[-2000; N]).expect("lengths match");
    assert!(r.outbound(Leg::A).iter().all(|&s| s == -1000 + 100));
    assert!(r.outbound(Leg::B).iter().all(|&s| s == 1000));
    assert!(r.listen(l).expect("listens").pcm.chunks_exact(2).all(|f| f == [2000, -2000]));
    assert!(r.guard_track().iter().all(|&s| s == 100));
}
