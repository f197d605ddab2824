//! Evidence tools for recordings: keys, repair, verification, time-stamp requests.
//!
//! ```text
//! evidence keygen DIR                         Ed25519 key pair: DIR/evidence.key (secret), DIR/evidence.pub
//! evidence repair IN OUT                      crash-truncated Ogg Opus -> valid file with an EOS page
//! evidence verify RECORDING [--manifest FILE] --key PUBLIC_KEY
//!                                             exit 0 only when intact; otherwise lists what is wrong
//! evidence timestamp-request MANIFEST OUT [--nonce N]
//!                                             RFC 3161 TimeStampReq (DER) over the manifest, for a TSA
//! ```
//! Key files: a `#` comment line and 64 hex digits (see `jyqq_media::record::keys`).
//! The default manifest of `DIR/call-1.opus` is `DIR/call-1.manifest.json`; further segments
//! and the pcap sidecar are found beside it under the names the manifest gives.
//!
//! A hidden `live` subcommand records the embedded default call paced in real time through
//! the crash-safe file sink, printing progress lines; the crash tests kill it with SIGKILL.

use clap::{Parser, Subcommand};
use jyqq_media::capture::{find_rtp_streams, pair_calls, read_capture, Datagram};
use jyqq_media::record::file_sink::FileSinkConfig;
use jyqq_media::record::keys::{parse_public_key, parse_secret_key, public_key_text, secret_key_text, SigningKey};
use jyqq_media::record::manifest::{LegFacts, SignedManifest};
use jyqq_media::record::metadata::format_utc;
use jyqq_media::record::rotation::RotatingFileSink;
use jyqq_media::record::sink::RecordingSink;
use jyqq_media::record::tsa::timestamp_request;
use jyqq_media::record::{read_ogg_opus, repair, verify_recording, EvidenceLog, Recorder, RecorderConfig};
use jyqq_media::record::{RecordingMetadata, OPUS_GRANULE_RATE};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap};
use jyqq_media::{Leg, SampleRate};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const DEFAULT_CALL: &[u8] = include_bytes!("data/default_call.pcap");

/// Evidence tools for jyqq-media recordings.
#[derive(Parser)]
#[command(name = "evidence", version)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate an Ed25519 key pair: DIR/evidence.key (secret) and DIR/evidence.pub.
    Keygen {
        /// Folder for the key files (created if missing).
        dir: PathBuf,
    },
    /// Turn a crash-truncated Ogg Opus file into a valid one (every complete page, EOS page).
    Repair {
        /// The damaged recording.
        input: PathBuf,
        /// Where to write the repaired file.
        output: PathBuf,
    },
    /// Check a recording against its signed manifest; exit 0 only when intact.
    Verify {
        /// The recording (segment 0).
        recording: PathBuf,
        /// The manifest (default: RECORDING with `.manifest.json` for its extension).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The trusted signer's public key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Write an RFC 3161 time-stamp request (DER) over the manifest file.
    TimestampRequest {
        /// The signed manifest.
        manifest: PathBuf,
        /// Where to write the request (`.tsq`).
        output: PathBuf,
        /// Nonce to put in the request (check it in the TSA's reply).
        #[arg(long)]
        nonce: Option<u64>,
    },
    /// (test helper) Record the embedded default call paced in real time through the file sink.
    #[command(hide = true)]
    Live {
        /// Output recording.
        output: PathBuf,
        /// Media seconds per wall-clock second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Recorder flush interval, ms of media.
        #[arg(long, default_value_t = 1000)]
        flush_ms: u64,
        /// File sink sync interval, ms.
        #[arg(long, default_value_t = 200)]
        sync_ms: u64,
        /// Segment rotation, seconds of media.
        #[arg(long)]
        segment_s: Option<u64>,
        /// Sign a manifest at the end with this secret key.
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn write(p: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))
}

fn keygen(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let secret = dir.join("evidence.key");
    write(&secret, secret_key_text(&key).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600));
    }
    let public = dir.join("evidence.pub");
    write(&public, public_key_text(&key.verifying_key()).as_bytes())?;
    println!("secret key: {}\npublic key: {}", secret.display(), public.display());
    Ok(())
}

fn do_repair(input: &Path, output: &Path) -> Result<(), String> {
    let bytes = read(input)?;
    let before = read_ogg_opus(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    let fixed = repair(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    let after = read_ogg_opus(&fixed).map_err(|e| format!("repaired file does not read back: {e}"))?;
    write(output, &fixed)?;
    println!(
        "{} -> {}: {} pages kept ({} bytes dropped), {:.3} s of audio, EOS {}",
        input.display(),
        output.display(),
        after.pages,
        bytes.len().saturating_sub(fixed.len()),
        after.duration().as_secs_f64(),
        if before.eos_on_last_page { "already present" } else { "added" }
    );
    Ok(())
}

/// `DIR/NAME.opus` -> `DIR/NAME.manifest.json`.
fn default_manifest(recording: &Path) -> PathBuf {
    recording.with_extension("manifest.json")
}

fn verify(recording: &Path, manifest: Option<&Path>, key: &Path) -> Result<bool, String> {
    let key_text = String::from_utf8_lossy(&read(key)?).into_owned();
    let trusted = parse_public_key(&key_text).map_err(|e| format!("{}: {e}", key.display()))?;
    let mpath = manifest.map_or_else(|| default_manifest(recording), Path::to_path_buf);
    let mbytes = read(&mpath)?;
    let dir = mpath.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    // The manifest names the other files; its content is trusted only once verified below.
    let (segments, sidecar): (Vec<Option<Vec<u8>>>, Option<Vec<u8>>) = match SignedManifest::parse(&mbytes) {
        Ok(sm) => (
            sm.manifest
                .segments
                .iter()
                .enumerate()
                .map(|(k, s)| std::fs::read(if k == 0 { recording.to_path_buf() } else { dir.join(&s.file) }).ok())
                .collect(),
            sm.manifest.sidecar.as_ref().and_then(|s| std::fs::read(dir.join(&s.file)).ok()),
        ),
        Err(_) => (vec![std::fs::read(recording).ok()], None),
    };
    let seg_refs: Vec<Option<&[u8]>> = segments.iter().map(|s| s.as_deref()).collect();
    let report = verify_recording(&mbytes, &trusted, &seg_refs, sidecar.as_deref());
    println!("{}: {report}", recording.display());
    Ok(report.is_intact())
}

/// The datagrams of the first call of the embedded capture, both legs, in arrival order.
fn default_call_datagrams(capture: &jyqq_media::capture::Capture) -> Result<Vec<(Leg, &Datagram)>, String> {
    let streams = find_rtp_streams(capture);
    let call = pair_calls(&streams).into_iter().next().ok_or("embedded capture holds no call")?;
    let mut v: Vec<(Leg, &Datagram)> = call.leg_a.datagrams.iter().map(|&i| (Leg::A, &capture.datagrams[i])).collect();
    if let Some(b) = &call.leg_b {
        v.extend(b.datagrams.iter().map(|&i| (Leg::B, &capture.datagrams[i])));
    }
    v.sort_by_key(|(_, d)| (d.time, d.record));
    Ok(v)
}

/// Audio covered by the pages handed to the sink so far.
#[derive(Default)]
struct Progress {
    paged_ms: u64,
    segment_base_ms: u64,
    pre_skip_ms: u64,
}

/// Hands every page the recorder has to the sink and the evidence log; prints sink events.
fn drain(
    rec: &mut Recorder,
    sink: &mut RotatingFileSink,
    log: &mut EvidenceLog,
    p: &mut Progress,
) -> Result<(), String> {
    while let Some(page) = rec.poll_page() {
        if page.is_bos() && page.segment > 0 {
            p.segment_base_ms = p.paged_ms;
        }
        if page.is_bos() {
            p.pre_skip_ms = u64::from(rec.pre_skip()) / 48;
        }
        sink.write_page(&page);
        log.add_page(&page).map_err(|e| e.to_string())?;
        if page.granule > 0 && page.granule != u64::MAX {
            let ms = page.granule * 1000 / u64::from(OPUS_GRANULE_RATE);
            p.paged_ms = p.segment_base_ms + ms.saturating_sub(p.pre_skip_ms);
        }
    }
    while let Some(ev) = sink.poll_event() {
        eprintln!("sink: {ev:?}");
    }
    Ok(())
}

struct LiveOpts {
    speed: f64,
    flush: Duration,
    sync: Duration,
    segment: Option<Duration>,
    sign_key: Option<SigningKey>,
}

fn live(output: &Path, o: LiveOpts) -> Result<(), String> {
    let capture = read_capture(DEFAULT_CALL).map_err(|e| e.to_string())?;
    let items = default_call_datagrams(&capture)?;
    let start = items.first().map(|(_, d)| d.time).ok_or("empty call")?;
    let meta = RecordingMetadata::new("default-call", "10.0.0.1", "10.0.0.2", &format_utc(start.as_nanos()), "record");
    let map = PayloadMap::static_defaults();
    let mut cfg = RecorderConfig::new(SampleRate::HZ_8000, map.clone(), map.clone()).with_metadata(&meta);
    cfg.flush_interval = o.flush;
    cfg.segment = o.segment;
    let mut rec = Recorder::new(cfg, start).map_err(|e| e.to_string())?;
    let mut ingress = [Ingress::new(IngressConfig::new(map.clone())), Ingress::new(IngressConfig::new(map))];
    let mut sink_cfg = FileSinkConfig::default();
    sink_cfg.sync_interval = o.sync;
    let mut sink = RotatingFileSink::new(output, sink_cfg);
    let mut log = EvidenceLog::new();
    let mut stdout = std::io::stdout().lock();
    let t0 = Instant::now();
    let mut progress = Progress::default();
    let mut last = start;
    for (leg, d) in items {
        let media = d.time.saturating_since(start);
        let due = t0 + Duration::from_secs_f64(media.as_secs_f64() / o.speed);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        rec.handle_timeout(d.time).map_err(|e| e.to_string())?;
        if let Ok(p) = ingress[leg.index()].receive(d.time, d.src, &d.payload) {
            rec.push(leg, p);
        }
        drain(&mut rec, &mut sink, &mut log, &mut progress)?;
        last = d.time;
        // Progress: media received, encoded by the recorder, and covered by pages handed to the sink.
        let _ = writeln!(
            stdout,
            "progress received_ms={} encoded_ms={} paged_ms={}",
            media.as_millis(),
            rec.duration().as_millis(),
            progress.paged_ms
        );
        let _ = stdout.flush();
    }
    rec.finish(last).map_err(|e| e.to_string())?;
    drain(&mut rec, &mut sink, &mut log, &mut progress)?;
    sink.close();
    let done = Instant::now();
    loop {
        match sink.poll_event() {
            Some(jyqq_media::record::SinkEvent::RecordingComplete { bytes, pages }) => {
                let _ = writeln!(stdout, "complete bytes={bytes} pages={pages}");
                break;
            }
            Some(jyqq_media::record::SinkEvent::RecordingIncomplete { failed }) => {
                return Err(format!("recording incomplete: {failed:?}"))
            }
            Some(ev) => eprintln!("sink: {ev:?}"),
            None if done.elapsed() > Duration::from_secs(30) => return Err("sink did not complete".into()),
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    if let Some(key) = o.sign_key {
        let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut m = log.to_manifest(&meta, &format_utc(last.as_nanos()), &name, SampleRate::HZ_8000);
        m.legs = [Leg::A, Leg::B]
            .iter()
            .map(|&l| LegFacts::from_stats(l, &meta.legs[l.index()], rec.leg_stats(l), SampleRate::HZ_8000))
            .collect();
        write(&default_manifest(output), &SignedManifest::sign(&m, &key))?;
    }
    let _ = writeln!(stdout, "finished encoded_ms={}", rec.duration().as_millis());
    Ok(())
}

fn load_secret(p: &Path) -> Result<SigningKey, String> {
    let text = String::from_utf8_lossy(&read(p)?).into_owned();
    parse_secret_key(&text).map_err(|e| format!("{}: {e}", p.display()))
}

fn run(args: Args) -> Result<bool, String> {
    match args.cmd {
        Cmd::Keygen { dir } => keygen(&dir).map(|()| true),
        Cmd::Repair { input, output } => do_repair(&input, &output).map(|()| true),
        Cmd::Verify { recording, manifest, key } => verify(&recording, manifest.as_deref(), &key),
        Cmd::TimestampRequest { manifest, output, nonce } => {
            let m = read(&manifest)?;
            write(&output, &timestamp_request(&m, nonce))?;
            println!("{}: RFC 3161 request over SHA-256 of {}", output.display(), manifest.display());
            Ok(true)
        }
        Cmd::Live { output, speed, flush_ms, sync_ms, segment_s, sign_key } => {
            if speed <= 0.0 || speed.is_nan() {
                return Err("--speed must be positive".into());
            }
            let sign_key = sign_key.as_deref().map(load_secret).transpose()?;
            let o = LiveOpts {
                speed,
                flush: Duration::from_millis(flush_ms),
                sync: Duration::from_millis(sync_ms),
                segment: segment_s.map(Duration::from_secs),
                sign_key,
            };
            live(&output, o).map(|()| true)
        }
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
