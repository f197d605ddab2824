//! Measures the archive (feature `archive-s3`; needs `garage` installed): starts a
//! three-node Garage cluster on loopback (the test harness), then
//!
//! 1. upload throughput: `--calls` recorded calls of `--seconds` each (recording, pcap
//!    sidecar, signed manifest) are put in a spool and uploaded (PUT with checksum, GET
//!    read-back, manifest comparison, local deletion); recordings per second and MB/s of
//!    files stored;
//! 2. media tick times: a media thread runs `--sessions` CallSessions (G.711 both legs,
//!    recorded through ArchiveSinks) in 20 ms ticks for 2 × `--tick-seconds`, in blocks of
//!    2 s with the uploader paused and uploading a large backlog in turn (optionally capped
//!    by `--rate-mb`); p50 / p99 / max of the time one tick takes to process all sessions,
//!    for the paused and the uploading blocks.
//!
//! ```text
//! cargo run --release --features archive-s3 --example archive_throughput -- \
//!     [--calls 100] [--seconds 60] [--sessions 50] [--tick-seconds 20] [--max-concurrent 4] [--rate-mb R] [--nice-store]
//! ```
//! `--nice-store` runs the Garage nodes under `nice -n 10` (on this one machine the store's
//! own CPU use competes with the media thread; in a deployment the store is elsewhere).

#[path = "../tests/archive_support/calls.rs"]
mod calls;
#[path = "../tests/archive_support/garage.rs"]
mod garage;

use clap::Parser;
use jyqq_media::archive::{call_folder, ArchiveConfig, ArchiveEvent, ArchiveQueue, Archiver};
use jyqq_media::codec::ulaw_encode;
use jyqq_media::record::file_sink::FileSinkConfig;
use jyqq_media::record::RecordingSink;
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, LegConfig, Output, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Archive throughput and media tick times against a local three-node Garage cluster.
#[derive(Parser)]
#[command(name = "archive_throughput", version)]
struct Args {
    /// Recordings uploaded in the throughput run.
    #[arg(long, default_value_t = 100)]
    calls: usize,
    /// Length of each recorded call, s.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Calls the media thread runs at once.
    #[arg(long, default_value_t = 50)]
    sessions: usize,
    /// Length of each tick-time run, s.
    #[arg(long, default_value_t = 20)]
    tick_seconds: u64,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4)]
    max_concurrent: usize,
    /// Upload rate limit during the tick-time run, MB/s (0: none; default: the archive's default).
    #[arg(long, default_value_t = 4.0)]
    rate_mb: f64,
    /// Run the Garage nodes under `nice -n 10`.
    #[arg(long)]
    nice_store: bool,
}

fn cfg(spool: &Path, endpoints: &str, max_concurrent: usize) -> ArchiveConfig {
    let mut c =
        ArchiveConfig::new(spool, endpoints, garage::REGION, garage::BUCKET, garage::KEY_ID, garage::KEY_SECRET);
    c.max_concurrent = max_concurrent;
    c.retry_initial = Duration::from_millis(100);
    c.retry_max = Duration::from_secs(2);
    c
}

/// Writes `n` sealed copies of `template` (a recorded call's files) as calls `bulk-i`.
fn fill_spool(spool: &Path, template: &calls::RecordedCall, n: usize, tag: &str) -> u64 {
    let s = jyqq_media::archive::Spool::open(spool).expect("spool");
    let mut bytes = 0;
    for i in 0..n {
        let folder = call_folder(&format!("{tag}-{i}"), &format!("2026-03-02T10:{:02}:{:02}Z", i / 60 % 60, i % 60));
        let dir = s.pending(&folder);
        std::fs::create_dir_all(&dir).expect("folder");
        for (name, b) in &template.files {
            std::fs::write(dir.join(name), b).expect("file");
            bytes += b.len() as u64;
        }
        std::fs::write(dir.join(".sealed"), "ended\n").expect("seal");
    }
    bytes
}

/// Waits until `n` calls are archived; returns the time it took.
fn drain(a: &mut Archiver, n: usize, t0: Instant) -> Duration {
    let mut done = 0;
    let mut failed = 0;
    while done < n {
        match a.poll_event() {
            Some(ArchiveEvent::CallArchived { .. }) => done += 1,
            Some(ArchiveEvent::Failed { .. }) => failed += 1,
            Some(ArchiveEvent::CallHeld { folder, reason }) => panic!("{folder} held: {reason}"),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(2)),
        }
        assert!(t0.elapsed() < Duration::from_secs(900), "upload did not finish");
    }
    if failed > 0 {
        eprintln!("  ({failed} failed attempts retried)");
    }
    t0.elapsed()
}

/// Ticks per block of the interleaved comparison (2 s), and ticks skipped after each switch.
const BLOCK: u64 = 100;
const SETTLE: u64 = 10;

/// Runs `sessions` calls for `seconds` of 20 ms ticks, recording through sinks of `a`'s
/// queue, with the uploader paused in even blocks of [`BLOCK`] ticks and running in odd
/// ones; returns the processing times of the ticks of paused and of running blocks (the
/// first [`SETTLE`] ticks after a switch left out), each sorted.
fn media_loop(a: &Archiver, sessions: usize, seconds: u64, tag: &str) -> (Vec<Duration>, Vec<Duration>) {
    let q: ArchiveQueue = a.queue();
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let (aa, ba): (SocketAddr, SocketAddr) = ("192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap());
    let mut calls: Vec<(CallSession, jyqq_media::archive::ArchiveSink)> = (0..sessions)
        .map(|i| {
            let c = SessionConfig::new(
                format!("{tag}-{i}"),
                LegConfig::new(pcmu.clone(), Ssrc(1)),
                LegConfig::new(pcmu.clone(), Ssrc(2)),
            );
            let mut s = CallSession::new(c, HostTime::ZERO).expect("session");
            s.answer(HostTime::ZERO);
            let sink = q.sink(&format!("{tag}-{i}"), "2026-03-03T09:00:00Z", FileSinkConfig::default()).expect("sink");
            (s, sink)
        })
        .collect();
    let tone = |f: f64, k: u64| -> Vec<u8> {
        (0..160)
            .map(|i| {
                let n = (k * 160 + i) as f64;
                ulaw_encode((8000.0 * (2.0 * std::f64::consts::PI * f * n / 8000.0).sin()) as i16)
            })
            .collect()
    };
    let (pa, pb) = (tone(300.0, 0), tone(450.0, 0));
    let ticks = seconds * 50;
    let (mut idle, mut busy) = (Vec::new(), Vec::new());
    let mut pkt = Vec::with_capacity(200);
    let t0 = Instant::now();
    for k in 0..ticks {
        if k % BLOCK == 0 {
            a.set_paused((k / BLOCK) % 2 == 0);
        }
        let due = t0 + Duration::from_millis(20 * k);
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let start = Instant::now();
        let now = HostTime::from_millis(k * 20 + 5);
        for (s, sink) in calls.iter_mut() {
            for (leg, addr, payload, ssrc) in [(Leg::A, aa, &pa, 11), (Leg::B, ba, &pb, 22)] {
                pkt.clear();
                RtpHeader::new(PayloadType(0), k as u16, (k * 160) as u32, Ssrc(ssrc))
                    .write(payload, &mut pkt)
                    .expect("rtp");
                let _ = s.handle_rtp(now, leg, addr, &pkt);
            }
            let _ = s.handle_timeout(HostTime::from_millis(k * 20 + 20));
            while let Some(o) = s.poll_output(now) {
                match o {
                    Output::Recording(p) => sink.write_page(&p),
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
            while sink.poll_event().is_some() {}
        }
        let took = start.elapsed();
        if k % BLOCK >= SETTLE {
            if (k / BLOCK) % 2 == 0 { &mut idle } else { &mut busy }.push(took);
        }
    }
    for (_, sink) in calls.iter_mut() {
        sink.close();
    }
    idle.sort();
    busy.sort();
    (idle, busy)
}

fn pct(t: &[Duration], p: f64) -> Duration {
    t[((t.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args = Args::parse();
    let prefix = if args.nice_store { vec!["nice".into(), "-n".into(), "10".into()] } else { Vec::new() };
    let Some(cluster) = garage::GarageCluster::start_with("throughput", 3, prefix) else {
        std::process::exit(1);
    };
    let eps = cluster.endpoints();
    let root = std::env::temp_dir().join(format!("jyqq-archive-throughput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let tmpl_spool: PathBuf = root.join("template");

    // A template call, recorded with the store unreachable (it stays in its spool).
    let a = Archiver::start(cfg(&tmpl_spool, "http://127.0.0.1:9", 1)).expect("archiver");
    let template = calls::record_call(&a.queue(), &calls::CallSpec::numbered(0, args.seconds));
    a.shutdown();
    let per_call: usize = template.bytes();
    println!(
        "call of {} s: {} files, {} bytes ({})",
        args.seconds,
        template.files.len(),
        per_call,
        template.files.iter().map(|(n, b)| format!("{n} {}", b.len())).collect::<Vec<_>>().join(", ")
    );

    // 1. Throughput.
    let spool = root.join("throughput");
    let bytes = fill_spool(&spool, &template, args.calls, "bulk");
    let t0 = Instant::now();
    let mut c = cfg(&spool, &eps, args.max_concurrent);
    c.max_bytes_per_sec = None;
    let mut a = Archiver::start(c).expect("archiver");
    let t = drain(&mut a, args.calls, t0);
    a.shutdown();
    let secs = t.as_secs_f64();
    println!(
        "throughput: {} recordings ({:.1} MB) in {:.2} s = {:.1} recordings/s, {:.2} MB/s (max_concurrent {}, read-back on, no rate limit)",
        args.calls,
        bytes as f64 / 1e6,
        secs,
        args.calls as f64 / secs,
        bytes as f64 / 1e6 / secs,
        args.max_concurrent
    );

    // 2. Tick times: blocks of 2 s with the uploader paused and running in turn, so that
    // the machine's other load falls on both alike.
    let busy_spool = root.join("busy");
    // Enough work to keep the uploader busy in every running block (at the rate measured above).
    let need = ((args.calls as f64 / secs) * args.tick_seconds as f64 * 1.2).ceil() as usize + 10;
    fill_spool(&busy_spool, &template, need, "flood");
    let mut c = cfg(&busy_spool, &eps, args.max_concurrent);
    c.max_bytes_per_sec = (args.rate_mb > 0.0).then(|| (args.rate_mb * 1e6) as u64);
    let mut a = Archiver::start(c).expect("archiver");
    a.set_paused(true);
    let t_run = Instant::now();
    let (idle, busy) = media_loop(&a, args.sessions, 2 * args.tick_seconds, "media");
    let mut archived = 0;
    while let Some(e) = a.poll_event() {
        archived += usize::from(matches!(e, ArchiveEvent::CallArchived { .. }));
    }
    println!(
        "uploads during the running blocks: {archived} recordings ({:.1} MB) archived in {:.1} s of running blocks (rate limit {})",
        archived as f64 * per_call as f64 / 1e6,
        t_run.elapsed().as_secs_f64() / 2.0,
        if args.rate_mb > 0.0 { format!("{} MB/s", args.rate_mb) } else { "none".to_owned() },
    );
    a.shutdown();
    for (name, t) in [("uploader paused", &idle), ("uploading", &busy)] {
        println!(
            "tick ({} sessions, {} ticks) {name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            args.sessions,
            t.len(),
            pct(t, 0.5).as_secs_f64() * 1e3,
            pct(t, 0.99).as_secs_f64() * 1e3,
            t.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
    }
    println!("p99 ratio uploading/paused: {:.3}", pct(&busy, 0.99).as_secs_f64() / pct(&idle, 0.99).as_secs_f64());
    let _ = std::fs::remove_dir_all(&root);
}
