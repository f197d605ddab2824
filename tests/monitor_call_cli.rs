//! `monitor_call` as a guard station uses it: a call replayed through `CallSession` with a
//! listen tap and a whisper to leg B; the files it writes hold what each side heard.

mod common;

use std::f64::consts::PI;
use std::process::Command;

fn tone_rms(x: &[i16], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * PI * freq / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (2.0 * (s1 * s1 + s2 * s2 - c * s1 * s2)).sqrt() / x.len() as f64 * 2f64.sqrt()
}

fn wav(path: &std::path::Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let rate = r.spec().sample_rate;
    (r.samples::<i16>().map(|s| s.unwrap()).collect(), rate)
}

#[test]
fn whisper_reaches_leg_b_the_guard_track_and_nobody_else() {
    let Some(bin) = common::example_bin("monitor_call") else { return };
    let dir = std::env::temp_dir().join(format!("jyqq-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The guard says a 3 kHz tone for 2 s.
    let whisper = dir.join("whisper.wav");
    let spec =
        hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&whisper, spec).unwrap();
    for n in 0..16_000 {
        w.write_sample((6000.0 * (2.0 * PI * 3000.0 * f64::from(n) / 8000.0).sin()) as i16).unwrap();
    }
    w.finalize().unwrap();
    let o = Command::new(&bin)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/default_call.pcap"))
        .arg("--out-dir")
        .arg(&dir)
        .args(["--at", "3", "--to", "b", "--whisper"])
        .arg(&whisper)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (b, rb) = wav(&dir.join("leg-b-out.wav"));
    let (a, ra) = wav(&dir.join("leg-a-out.wav"));
    let (tap, rt) = wav(&dir.join("tap.wav"));
    let win = |x: &[i16], r: u32| x[(3.2 * f64::from(r)) as usize..(4.8 * f64::from(r)) as usize].to_vec();
    let (wb, wa, wt) = (win(&b, rb), win(&a, ra), win(&tap, rt));
    assert!(tone_rms(&wb, 3000.0, f64::from(rb)) > 2000.0, "B hears the whisper");
    // −60 dBFS = RMS 32.8.
    assert!(tone_rms(&wa, 3000.0, f64::from(ra)) < 32.8, "A does not: {}", tone_rms(&wa, 3000.0, f64::from(ra)));
    assert!(tone_rms(&wt, 3000.0, f64::from(rt)) < 32.8, "the listening guard does not hear his own whisper");
    let rec = jyqq_media::record::decode_ogg_opus(&std::fs::read(dir.join("recording.opus")).unwrap()).unwrap();
    assert_eq!(rec.channels, 3);
    let ch = |c: usize| rec.channel(c)[(3.2 * 48_000.0) as usize..(4.8 * 48_000.0) as usize].to_vec();
    assert!(tone_rms(&ch(2), 3000.0, 48_000.0) > 2000.0, "guard track holds the whisper");
    assert!(tone_rms(&ch(0), 3000.0, 48_000.0) < 32.8 && tone_rms(&ch(1), 3000.0, 48_000.0) < 32.8);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(events.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
    assert_eq!(events.lines().filter(|l| l.contains("\"tap_joined\"")).count(), 2, "listen tap + whisper tap");
    assert!(events.lines().any(|l| l.contains("\"ended\"")));
}
