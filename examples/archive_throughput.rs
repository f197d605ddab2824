//! Measures the archive (feature `archive-s3`; needs `garage` installed): starts a
//! three-node Garage cluster on loopback (the test harness), then
//!
//! 1. upload throughput: `--calls` recorded calls of `--seconds` each (recording, pcap
//!    sidecar, signed manifest) are put in a spool and uploaded (PUT with checksum, GET
//!    read-back, manifest comparison, local deletion); recordings per second and MB/s of
//!    files stored;
//! 2. media tick times: a media thread runs `--sessions` CallSessions (G.711 both legs,
//!    recorded through ArchiveSinks) in 20 ms ticks for `--tick-seconds`, first with the
//!    uploader idle, then while the throughput spool is being uploaded; p50 / p99 / max of
//!    the time one tick takes to process all sessions.
//!
//! ```text
//! cargo run --release --features archive-s3 --example archive_throughput -- \
//!     [--calls 100] [--seconds 60] [--sessions 50] [--tick-seconds 20] [--max-concurrent 4] [--nice-store]
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

/// Runs `sessions` calls for `seconds` of 20 ms ticks, recording through sinks of `q`;
/// returns each tick's processing time, sorted.
fn media_loop(q: &ArchiveQueue, sessions: usize, seconds: u64, tag: &str) -> Vec<Duration> {
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
    let mut times = Vec::with_capacity(ticks as usize);
    let mut pkt = Vec::with_capacity(200);
    let t0 = Instant::now();
    for k in 0..ticks {
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
        times.push(start.elapsed());
    }
    for (_, sink) in calls.iter_mut() {
        sink.close();
    }
    times.sort();
    times
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
    let mut a = Archiver::start(cfg(&spool, &eps, args.max_concurrent)).expect("archiver");
    let t = drain(&mut a, args.calls, t0);
    a.shutdown();
    let secs = t.as_secs_f64();
    println!(
        "throughput: {} recordings ({:.1} MB) in {:.2} s = {:.1} recordings/s, {:.2} MB/s (max_concurrent {}, read-back on)",
        args.calls,
        bytes as f64 / 1e6,
        secs,
        args.calls as f64 / secs,
        bytes as f64 / 1e6 / secs,
        args.max_concurrent
    );

    // 2. Tick times, idle uploader then heavy uploading.
    let idle_spool = root.join("idle");
    let a = Archiver::start(cfg(&idle_spool, &eps, args.max_concurrent)).expect("archiver");
    let idle = media_loop(&a.queue(), args.sessions, args.tick_seconds, "idle");
    a.shutdown();
    let busy_spool = root.join("busy");
    // Enough work to keep the uploader busy for the whole run (at the rate measured above).
    let need = ((args.calls as f64 / secs) * args.tick_seconds as f64 * 1.5).ceil() as usize + 10;
    fill_spool(&busy_spool, &template, need, "flood");
    let mut a = Archiver::start(cfg(&busy_spool, &eps, args.max_concurrent)).expect("archiver");
    let t_busy = Instant::now();
    let busy = media_loop(&a.queue(), args.sessions, args.tick_seconds, "busy");
    let mut archived = 0;
    while let Some(e) = a.poll_event() {
        archived += usize::from(matches!(e, ArchiveEvent::CallArchived { .. }));
    }
    println!(
        "during the busy run: {archived} recordings archived in {:.1} s, {} files still outstanding",
        t_busy.elapsed().as_secs_f64(),
        a.outstanding()
    );
    a.shutdown();
    for (name, t) in [("idle uploader", &idle), ("heavy uploading", &busy)] {
        println!(
            "tick ({} sessions, {} ticks) with {name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            args.sessions,
            t.len(),
            pct(t, 0.5).as_secs_f64() * 1e3,
            pct(t, 0.99).as_secs_f64() * 1e3,
            t.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
    }
    println!("p99 ratio heavy/idle: {:.3}", pct(&busy, 0.99).as_secs_f64() / pct(&idle, 0.99).as_secs_f64());
    let _ = std::fs::remove_dir_all(&root);
}
