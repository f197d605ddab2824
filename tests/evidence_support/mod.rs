//! Helpers shared by the evidence tests: a synthetic two-leg call through ingress and the
//! recorder, and the signed manifest of its pages.
#![allow(dead_code)]

use jyqq_media::codec::ulaw_encode;
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::manifest::{LegFacts, SignedManifest};
use jyqq_media::record::{EvidenceLog, Recorder, RecorderConfig, RecordingMetadata, RecordingPage};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap, PayloadType, RtpHeader, Ssrc};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

/// A recorded synthetic call: its pages in order and the recorder after `finish`.
pub struct Recorded {
    pub pages: Vec<RecordingPage>,
    pub recorder: Recorder,
    pub meta: RecordingMetadata,
}

impl Recorded {
    /// The bytes of each segment file.
    pub fn segments(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for p in &self.pages {
            let k = p.segment as usize;
            if out.len() <= k {
                out.resize(k + 1, Vec::new());
            }
            out[k].extend_from_slice(&p.data);
        }
        out
    }

    /// The signed manifest file for these pages.
    pub fn manifest(&self, key: &SigningKey) -> Vec<u8> {
        let mut log = EvidenceLog::new();
        for p in &self.pages {
            log.add_page(p).expect("recorder pages chain");
        }
        let rate = self.recorder.rate();
        let mut m = log.to_manifest(&self.meta, "2026-03-01T08:00:10Z", "call-7.opus", rate);
        m.legs = [Leg::A, Leg::B]
            .iter()
            .map(|&l| LegFacts::from_stats(l, &self.meta.legs[l.index()], self.recorder.leg_stats(l), rate))
            .collect();
        SignedManifest::sign(&m, key)
    }
}

/// 20 ms PCMU frames of a tone (leg A 440 Hz, leg B 660 Hz), `seconds` long on both legs;
/// `drop(leg, k)` says whether packet k of a leg is lost. The recorder is configured by `tune`.
pub fn record_tone_call(
    seconds: f64,
    drop: impl Fn(usize, usize) -> bool,
    tune: impl FnOnce(&mut RecorderConfig),
) -> Recorded {
    let map = PayloadMap::static_defaults();
    let meta = RecordingMetadata::new("C-7", "0571-1001", "+86 138 0000 0007", "2026-03-01T08:00:00Z", "record");
    let mut cfg = RecorderConfig::new(SampleRate::HZ_8000, map.clone(), map.clone()).with_metadata(&meta);
    tune(&mut cfg);
    let start = HostTime::from_millis(1_000);
    let mut rec = Recorder::new(cfg, start).expect("recorder");
    let mut ingress = [Ingress::new(IngressConfig::new(map.clone())), Ingress::new(IngressConfig::new(map))];
    let addrs: [SocketAddr; 2] = ["10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap()];
    let frames = (seconds * 50.0).round() as usize;
    let mut pages = Vec::new();
    let mut buf = Vec::new();
    let mut payload = [0u8; 160];
    for k in 0..frames {
        let now = start.saturating_add(Duration::from_millis(20 * k as u64));
        rec.handle_timeout(now).expect("timeout");
        for leg in 0..2 {
            if drop(leg, k) {
                continue;
            }
            let f = [440.0, 660.0][leg];
            for (i, b) in payload.iter_mut().enumerate() {
                let t = (k * 160 + i) as f64 / 8000.0;
                *b = ulaw_encode((8000.0 * (2.0 * std::f64::consts::PI * f * t).sin()) as i16);
            }
            buf.clear();
            RtpHeader::new(PayloadType(0), 1000 + k as u16, 160 * k as u32, Ssrc(0x1000 + leg as u32))
                .write(&payload, &mut buf)
                .unwrap();
            if let Ok(p) = ingress[leg].receive(now, addrs[leg], &buf) {
                rec.push(if leg == 0 { Leg::A } else { Leg::B }, p);
            }
        }
        while let Some(p) = rec.poll_page() {
            pages.push(p);
        }
    }
    let end = start.saturating_add(Duration::from_millis(20 * frames as u64));
    rec.finish(end).expect("finish");
    while let Some(p) = rec.poll_page() {
        pages.push(p);
    }
    Recorded { pages, recorder: rec, meta }
}

/// A small deterministic generator (xorshift64*), for seeded mutations.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Decoded sample count (per channel, 48 kHz) of an Ogg Opus file with ffmpeg, or `None`
/// when ffmpeg is missing. Panics when ffmpeg reports an error.
pub fn ffmpeg_samples(name: &str, bytes: &[u8]) -> Option<usize> {
    let dir = std::env::temp_dir().join(format!("jyqq-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{name}.opus"));
    std::fs::write(&path, bytes).ok()?;
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "s16le", "-ac", "2", "-ar", "48000", "-"])
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{name}: ffmpeg: {err}");
    Some(out.stdout.len() / 4)
}

/// See `common::example_bin`.
pub fn example_bin(name: &str) -> Option<std::path::PathBuf> {
    crate::common::example_bin(name)
}
