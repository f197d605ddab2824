//! Evidence on real files and through the command-line tools: the third-party Ogg files of
//! ../shared/data/ogg through the repair/verify reader, CASES B29 through the recorder,
//! and `evidence` / `record_call --sign-key` as a user runs them.

mod common;
mod evidence_support;

use evidence_support::{ffmpeg_samples, record_tone_call};
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::verify::Finding;
use jyqq_media::record::{read_ogg_opus, repair, verify_recording, EvidenceLog, OggPage, PageFlags};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Durations MANIFEST.md lists for the readable files (the invalid-header, zero-length and
/// broken-segment files are left out): (last granule − pre-skip) / 48 kHz, in
/// 10 ms (its two decimals).
const LISTED: &[(&str, u64)] = &[
    ("ogg/tinytag/8khz_5s.opus", 500),
    ("ogg/tinytag/test.opus", 99),
    ("ogg/mutagen/example.opus", 1135),
    ("ogg/audioscan/test-1-mono.opus", 104),
    ("ogg/audioscan/test-2-stereo.opus", 293),
    ("ogg/audioscan/failure-end_gp_before_last_packet1.opus", 11),
    ("ogg/audioscan/broken.phobosstream.opus", 49685),
    ("ogg/opustags/gobble.opus", 103),
    ("ogg/silero/test.opus", 806),
    ("ogg/rtpengine/opus.1.8k.11k.speech.ogg", 12000),
];

fn ogg_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(ogg_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn shared_ogg_files_go_through_the_repair_and_verify_reader_without_panic() {
    let Some(data) = common::shared_data() else { return };
    let files = ogg_files(&data.join("ogg"));
    assert!(files.len() >= 14, "{files:?}");
    let key = SigningKey::from_bytes(&[3; 32]);
    // A manifest of another recording: every shared file must fail against it, cleanly.
    let rec = record_tone_call(1.0, |_, _| false, |_| {});
    let manifest = rec.manifest(&key);
    let mut valid = 0;
    for path in &files {
        let rel = path.strip_prefix(&data).unwrap().to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(path).unwrap();
        let r = verify_recording(&manifest, &key.verifying_key(), &[Some(&bytes)], None);
        assert!(!r.is_intact(), "{rel}");
        // The evidence log over whatever pages frame.
        let mut log = EvidenceLog::new();
        let mut at = 0;
        while let Ok((p, len)) = OggPage::parse_ignoring_crc(&bytes[at..]) {
            log.add_page_bytes(0, p.as_bytes()).unwrap();
            at += len;
        }
        let read = read_ogg_opus(&bytes);
        let fixed = repair(&bytes);
        match LISTED.iter().find(|(f, _)| *f == rel) {
            Some(&(_, centis)) => {
                let info = read.unwrap_or_else(|e| panic!("{rel}: {e}"));
                let g = info.last_granule.unwrap();
                let got = ((g - u64::from(info.head.pre_skip)) as f64 / 480.0).round() as u64;
                assert_eq!(got, centis, "{rel}: duration in 10 ms");
                let again = read_ogg_opus(&fixed.unwrap_or_else(|e| panic!("{rel}: repair: {e}"))).unwrap();
                assert!(again.eos_on_last_page, "{rel}");
                valid += 1;
            }
            None => eprintln!("{rel}: read {:?}, repair {:?}", read.map(|i| i.pages), fixed.map(|f| f.len())),
        }
    }
    assert_eq!(valid, LISTED.len());
}

/// 20 ms PCMU tone call through the recorder with 1 s pages (B29 input).
fn b29_call() -> evidence_support::Recorded {
    record_tone_call(10.0, |_, _| false, |c| c.flush_interval = Duration::from_secs(1))
}

#[test]
fn b29a_recorder_clean_stop() {
    let rec = b29_call();
    let bytes: Vec<u8> = rec.pages.iter().flat_map(|p| p.data.iter().copied()).collect();
    let mut pages = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (p, len) = OggPage::parse(&bytes[at..]).expect("every CRC valid");
        pages.push(p);
        at += len;
    }
    assert_eq!(pages.iter().filter(|p| p.is_bos()).count(), 1);
    assert_eq!(pages.iter().filter(|p| p.is_eos()).count(), 1);
    assert!(pages[0].is_bos() && pages.last().unwrap().is_eos());
    assert_eq!(pages.last().unwrap().as_bytes()[5] & PageFlags::EOS.bits(), 0x04);
    assert!(pages.iter().enumerate().all(|(i, p)| p.sequence() == i as u32));
    let pre_skip = u64::from(rec.recorder.pre_skip());
    assert_eq!(pages.last().unwrap().granule(), pre_skip + 480_000);
    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!(info.duration(), Duration::from_secs(10));
    if let Some(n) = ffmpeg_samples("b29a-rec", &bytes) {
        assert_eq!(n, 480_000);
    }
}

#[test]
fn b29b_recorder_killed_at_6_5_s() {
    let rec = b29_call();
    // What a writer killed at t = 6.5 s leaves: the pages emitted while the recorder had
    // encoded at most 6.5 s, then half of the next page. The recorder lags the network by
    // its reorder window and jitter margin, so t = 6.5 s of call time is ≤ 6.24 s encoded.
    let granule_at_kill = u64::from(rec.recorder.pre_skip()) + 6_240 * 48;
    let whole: Vec<&[u8]> =
        rec.pages.iter().take_while(|p| p.granule <= granule_at_kill).map(|p| p.data.as_slice()).collect();
    let next = &rec.pages[whole.len()].data;
    let mut bytes = whole.concat();
    bytes.extend_from_slice(&next[..next.len() / 2]);
    let info = read_ogg_opus(&bytes).unwrap();
    assert_eq!(info.eos_pages, 0);
    assert!(info.truncated_tail_bytes > 0);
    assert!(info.duration() >= Duration::from_millis(5_500), "{:?}", info.duration());
    let fixed = repair(&bytes).unwrap();
    let again = read_ogg_opus(&fixed).unwrap();
    assert!(again.is_conformant() && again.eos_on_last_page, "{again:?}");
    assert_eq!(again.duration(), info.duration());
    if let Some(n) = ffmpeg_samples("b29b-rec", &fixed) {
        assert_eq!(n as u64, again.decoded_samples());
    }
}

fn run(bin: &Path, args: &[&Path]) -> Output {
    Command::new(bin).args(args).output().expect("run example")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn cli_keygen_sign_verify_tamper_repair() {
    let (Some(ev), Some(rc)) =
        (evidence_support::example_bin("evidence"), evidence_support::example_bin("record_call"))
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("jyqq-evidence-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = dir.join("keys");
    let o = run(&ev, &[Path::new("keygen"), &keys]);
    assert!(o.status.success(), "{}", text(&o));
    let (secret, public) = (keys.join("evidence.key"), keys.join("evidence.pub"));
    assert!(std::fs::read_to_string(&secret).unwrap().starts_with("# jyqq-media Ed25519 secret key"));

    let out = dir.join("rec");
    let o = Command::new(&rc).arg("--out-dir").arg(&out).arg("--sign-key").arg(&secret).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rec = out.join("call-1.opus");
    let (manifest, pcap) = (out.join("call-1.manifest.json"), out.join("call-1.pcap"));
    assert!(manifest.is_file() && pcap.is_file());
    let verify = |args: &[&Path]| {
        let mut a = vec![Path::new("verify")];
        a.extend_from_slice(args);
        run(&ev, &a)
    };
    let k = Path::new("--key");
    let o = verify(&[&rec, k, &public]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("OK: call embedded default call#1 intact: 1 segment(s)"), "{}", text(&o));
    assert!(text(&o).contains("sidecar 1868 records"), "{}", text(&o));
    let o = verify(&[&rec, Path::new("--manifest"), &manifest, k, &public]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The sidecar is the legs' RTP as received: tshark reads all 1868 datagrams as RTP.
    if common::have_tool("tshark") {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields", "-e", "rtp.ssrc"])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&o.stdout);
        assert_eq!(s.lines().filter(|l| l.trim() == "0x1a2b3c4d").count(), 938, "leg A incl. its duplicate");
        assert_eq!(s.lines().filter(|l| l.trim() == "0x5e6f7081").count(), 930);
    }

    // A changed byte in the recording: exit 1, the page named.
    let good = std::fs::read(&rec).unwrap();
    let mut bad = good.clone();
    bad[20_000] ^= 0x10;
    std::fs::write(&rec, &bad).unwrap();
    let o = verify(&[&rec, k, &public]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("NOT INTACT") && text(&o).contains("changed"), "{}", text(&o));
    // Truncated, and repaired: still not the signed recording, but a valid file.
    std::fs::write(&rec, &good[..30_000]).unwrap();
    let o = verify(&[&rec, k, &public]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("truncated"), "{}", text(&o));
    let fixed = dir.join("fixed.opus");
    let o = run(&ev, &[Path::new("repair"), &rec, &fixed]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("EOS added"), "{}", text(&o));
    assert!(read_ogg_opus(&std::fs::read(&fixed).unwrap()).unwrap().is_conformant());
    std::fs::write(&rec, &good).unwrap();
    // Another key: exit 1, "wrong key".
    let other = dir.join("other");
    assert!(run(&ev, &[Path::new("keygen"), &other]).status.success());
    let o = verify(&[&rec, k, &other.join("evidence.pub")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("wrong key"), "{}", text(&o));
    // A changed pcap record.
    let pgood = std::fs::read(&pcap).unwrap();
    let mut pbad = pgood.clone();
    pbad[100_000] ^= 1;
    std::fs::write(&pcap, &pbad).unwrap();
    let o = verify(&[&rec, k, &public]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("pcap sidecar changed"), "{}", text(&o));
    std::fs::write(&pcap, &pgood).unwrap();
    // A manifest edit.
    let m = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, m.replacen("\"record\"", "\"no-record\"", 1)).unwrap();
    let o = verify(&[&rec, k, &public]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("manifest edited"), "{}", text(&o));
    std::fs::write(&manifest, &m).unwrap();
    assert_eq!(verify(&[&rec, k, &public]).status.code(), Some(0));
    // A missing key file is an error (exit 2), not a verdict.
    let o = verify(&[&rec, k, &dir.join("nope.pub")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // An RFC 3161 request over the manifest, as openssl reads it.
    let tsq = dir.join("call-1.tsq");
    let o = run(&ev, &[Path::new("timestamp-request"), &manifest, &tsq, Path::new("--nonce"), Path::new("4660")]);
    assert!(o.status.success(), "{}", text(&o));
    if Command::new("openssl").arg("version").output().is_ok() {
        let o = Command::new("openssl").args(["ts", "-query", "-text", "-in"]).arg(&tsq).output().unwrap();
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(t.contains("Hash Algorithm: sha256") && t.contains("Nonce: 0x1234"), "{t}");
        let digest = jyqq_media::record::hash_chain::sha256(m.as_bytes());
        let first = digest[..8].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>();
        assert!(t.contains(&format!("0000 - {}-", first.join(" "))), "{t}");
    }
}

#[test]
fn verify_reports_missing_segments_from_the_cli_run() {
    let Some(ev) = evidence_support::example_bin("evidence") else { return };
    let dir = std::env::temp_dir().join(format!("jyqq-evidence-seg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run(&ev, &[Path::new("keygen"), &dir]).status.success());
    let rec = dir.join("long.opus");
    let o = Command::new(&ev)
        .args(["live", "--speed", "1000", "--segment-s", "5", "--sign-key"])
        .arg(dir.join("evidence.key"))
        .arg(&rec)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let k = Path::new("--key");
    let public = dir.join("evidence.pub");
    let o = run(&ev, &[Path::new("verify"), &rec, k, &public]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("4 segment(s)"), "{}", text(&o));
    std::fs::remove_file(dir.join("long.seg2.opus")).unwrap();
    let o = run(&ev, &[Path::new("verify"), &rec, k, &public]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("segment 2: file long.seg2.opus missing"), "{}", text(&o));
    let _ = Finding::ManifestEdited;
}
