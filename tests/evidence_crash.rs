//! Crash safety (issue 7, items 1–2, 5): a recording process killed with SIGKILL at random
//! instants leaves a file that repairs and decodes, losing at most the flush interval plus
//! one page; a sink whose disk fills up fails as an event while the call goes on and
//! nothing already written is corrupted; a dual sink survives a failed target.

mod common;
mod evidence_support;

use evidence_support::{ffmpeg_samples, record_tone_call, Rng};
use jyqq_media::record::dual_sink::DualSink;
use jyqq_media::record::file_sink::{FileSink, FileSinkConfig, PageTarget};
use jyqq_media::record::sink::{RecordingSink, SinkEvent, SinkTarget};
use jyqq_media::record::{read_ogg_opus, repair};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jyqq-evidence-crash-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One killed run: what the process said last and what the repaired file holds.
struct Killed {
    flush_ms: u64,
    kill_after: Duration,
    encoded_ms: u64,
    received_ms: u64,
    repaired_ms: u64,
}

/// Starts `evidence live` at 4× real time, kills it (SIGKILL) after `kill_after`, repairs
/// and decodes what it left.
fn run_and_kill(bin: &Path, dir: &Path, n: usize, flush_ms: u64, kill_after: Duration) -> Killed {
    let out = dir.join(format!("kill-{n}.opus"));
    let mut child = Command::new(bin)
        .args(["live", "--speed", "4", "--sync-ms", "100", "--flush-ms", &flush_ms.to_string()])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn evidence live");
    let stdout = child.stdout.take().unwrap();
    let last = Arc::new(Mutex::new(String::new()));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let reader = {
        let last = last.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("progress") {
                    *last.lock().unwrap() = line;
                    let _ = started_tx.send(());
                }
            }
        })
    };
    // The kill instant counts from the call's first packet, not from process start-up
    // (slow under a loaded test run).
    started_rx.recv_timeout(Duration::from_secs(60)).expect("the recorder started");
    std::thread::sleep(kill_after);
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(!status.success(), "run {n}: the process finished before it was killed");
    let line = last.lock().unwrap().clone();
    let field = |k: &str| -> u64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("run {n}: no {k} in {line:?}"))
    };
    let bytes = std::fs::read(&out).unwrap();
    let fixed = repair(&bytes).unwrap_or_else(|e| panic!("run {n}: repair of {} bytes: {e}", bytes.len()));
    let info = read_ogg_opus(&fixed).unwrap();
    assert!(info.is_conformant() && info.eos_on_last_page, "run {n}: {info:?}");
    let repaired_ms = info.duration().as_millis() as u64;
    if let Some(samples) = ffmpeg_samples(&format!("kill-{n}"), &fixed) {
        assert_eq!(samples as u64, info.decoded_samples(), "run {n}: ffmpeg decodes what the granules say");
    }
    let _ = std::fs::remove_file(&out);
    Killed { flush_ms, kill_after, encoded_ms: field("encoded_ms="), received_ms: field("received_ms="), repaired_ms }
}

#[test]
fn sigkill_at_random_instants_loses_at_most_flush_plus_one_page() {
    let Some(bin) = evidence_support::example_bin("evidence") else { return };
    if !common::have_tool("ffmpeg") {
        return;
    }
    let dir = tmp("kill");
    let mut rng = Rng(0xC0FFEE);
    let plan: Vec<(usize, u64, Duration)> = (0..50)
        .map(|n| {
            let flush = [200, 500, 1000][rng.below(3)];
            (n, flush, Duration::from_millis(500 + rng.below(2000) as u64))
        })
        .collect();
    let started = Instant::now();
    // Two processes at a time: more starved the file sinks' writer threads on 2 loaded cores.
    let results: Vec<Killed> = plan
        .chunks(2)
        .flat_map(|batch| {
            let handles: Vec<_> = batch
                .iter()
                .map(|&(n, flush, after)| {
                    let (bin, dir) = (bin.clone(), dir.clone());
                    std::thread::spawn(move || run_and_kill(&bin, &dir, n, flush, after))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        })
        .collect();
    let mut worst = 0i64;
    for (n, k) in results.iter().enumerate() {
        // One page holds at most `flush` of audio: the bound is flush + one page, plus one
        // 20 ms frame for the progress line printed just before the kill.
        let bound = 2 * k.flush_ms + 20;
        let lost = k.encoded_ms as i64 - k.repaired_ms as i64;
        worst = worst.max(lost - k.flush_ms as i64);
        assert!(
            lost <= bound as i64,
            "run {n}: killed after {:?}: recorder had encoded {} ms, repaired file holds {} ms (flush {} ms)",
            k.kill_after,
            k.encoded_ms,
            k.repaired_ms,
            k.flush_ms
        );
        // Against the media received, the recorder's reorder window and jitter margin
        // (60 + 200 ms) come on top.
        assert!(k.received_ms as i64 - k.repaired_ms as i64 <= bound as i64 + 260, "run {n}");
        assert!(k.repaired_ms > 0, "run {n}: nothing recorded after {:?}", k.kill_after);
    }
    eprintln!(
        "50 kills in {:?}; worst loss beyond the flush interval: {worst} ms; mean loss {} ms",
        started.elapsed(),
        results.iter().map(|k| k.encoded_ms as i64 - k.repaired_ms as i64).sum::<i64>() / 50
    );
}

/// A target that accepts `budget` bytes and then fails like a full disk.
#[derive(Clone)]
struct SmallDisk {
    data: Arc<Mutex<Vec<u8>>>,
    budget: usize,
}

impl Write for SmallDisk {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let mut d = self.data.lock().unwrap();
        if d.len() >= self.budget {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let n = b.len().min(self.budget - d.len());
        d.extend_from_slice(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PageTarget for SmallDisk {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> io::Result<bool> {
        self.data.lock().unwrap().truncate(len as usize);
        Ok(true)
    }
}

#[test]
fn disk_full_is_an_event_the_call_goes_on_and_written_pages_stay_intact() {
    let rec = record_tone_call(20.0, |_, _| false, |c| c.flush_interval = Duration::from_millis(500));
    let full: Vec<u8> = rec.pages.iter().flat_map(|p| p.data.iter().copied()).collect();
    let disk = SmallDisk { data: Arc::default(), budget: 20_000 };
    let mut sink = FileSink::with_target(disk.clone(), FileSinkConfig::default());
    let mut events = Vec::new();
    for p in &rec.pages {
        sink.write_page(p); // never blocks, never fails: the call goes on
        events.extend(std::iter::from_fn(|| sink.poll_event()));
    }
    events.extend(sink.close_and_wait());
    let kept = disk.data.lock().unwrap().clone();
    // The failure is one event, with the bytes of whole pages kept.
    let failures: Vec<_> = events.iter().filter(|e| matches!(e, SinkEvent::WriteFailed { .. })).collect();
    assert_eq!(failures.len(), 1, "{events:?}");
    let SinkEvent::WriteFailed { target, error, kept_bytes } = failures[0] else { unreachable!() };
    assert_eq!(*target, SinkTarget::Primary);
    assert!(error.contains("No space left on device"), "{error}");
    let boundary = rec.pages.iter().scan(0, |a, p| {
        *a += p.data.len();
        Some(*a)
    });
    let expected_kept = boundary.take_while(|&b| b <= 20_000).last().unwrap();
    assert_eq!(*kept_bytes, expected_kept as u64);
    assert!(events.contains(&SinkEvent::RecordingIncomplete { failed: vec![SinkTarget::Primary] }));
    // Nothing written is corrupted: the file is an exact prefix of whole pages.
    assert_eq!(kept.len(), expected_kept);
    assert_eq!(kept[..], full[..expected_kept]);
    let info = read_ogg_opus(&kept).unwrap();
    assert_eq!((info.crc_failures, info.truncated_tail_bytes, info.garbage_bytes), (0, 0, 0));
    assert!(info.duration() > Duration::from_secs(4), "{:?}", info.duration());
    let fixed = repair(&kept).unwrap();
    assert!(read_ogg_opus(&fixed).unwrap().is_conformant());
}

#[test]
fn dual_sink_with_a_full_backup_completes_the_primary_and_reports_the_failure() {
    let rec = record_tone_call(6.0, |_, _| false, |c| c.flush_interval = Duration::from_millis(200));
    let dir = tmp("dual");
    let primary = dir.join("call.opus");
    let mut cfg = FileSinkConfig::default();
    let p = FileSink::create(&primary, cfg.clone()).unwrap();
    cfg.target = SinkTarget::Backup;
    // /dev/full: every write fails with ENOSPC, a real full device.
    let backup: Box<dyn RecordingSink + Send> = match std::fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(f) => Box::new(FileSink::with_target(f, cfg)),
        Err(_) => Box::new(FileSink::with_target(SmallDisk { data: Arc::default(), budget: 0 }, cfg)),
    };
    let mut dual = DualSink::new(Box::new(p), backup);
    let mut events = Vec::new();
    for page in &rec.pages {
        dual.write_page(page);
        events.extend(std::iter::from_fn(|| dual.poll_event()));
    }
    dual.close();
    let t = Instant::now();
    while !events
        .iter()
        .any(|e| matches!(e, SinkEvent::RecordingComplete { .. } | SinkEvent::RecordingIncomplete { .. }))
    {
        assert!(t.elapsed() < Duration::from_secs(10), "{events:?}");
        events.extend(std::iter::from_fn(|| dual.poll_event()));
        std::thread::sleep(Duration::from_millis(2));
    }
    let total: usize = rec.pages.iter().map(|p| p.data.len()).sum();
    assert!(
        events.iter().any(|e| matches!(e, SinkEvent::WriteFailed { target: SinkTarget::Backup, .. })),
        "{events:?}"
    );
    assert!(events.contains(&SinkEvent::TargetComplete {
        target: SinkTarget::Primary,
        bytes: total as u64,
        pages: rec.pages.len() as u64
    }));
    assert_eq!(events.last(), Some(&SinkEvent::RecordingIncomplete { failed: vec![SinkTarget::Backup] }));
    assert!(!events.iter().any(|e| matches!(e, SinkEvent::RecordingComplete { .. })));
    let written = std::fs::read(&primary).unwrap();
    assert_eq!(written.len(), total);
    assert!(read_ogg_opus(&written).unwrap().is_conformant());
}

#[test]
fn dual_sink_reports_complete_only_when_both_copies_are() {
    let rec = record_tone_call(3.0, |_, _| false, |_| {});
    let dir = tmp("dual-ok");
    let mut cfg = FileSinkConfig::default();
    let a = FileSink::create(&dir.join("a.opus"), cfg.clone()).unwrap();
    cfg.target = SinkTarget::Backup;
    let b = FileSink::create(&dir.join("b.opus"), cfg).unwrap();
    let mut dual = DualSink::new(Box::new(a), Box::new(b));
    for page in &rec.pages {
        dual.write_page(page);
    }
    dual.close();
    let mut events = Vec::new();
    let t = Instant::now();
    while !events.iter().any(|e| matches!(e, SinkEvent::RecordingComplete { .. })) {
        assert!(t.elapsed() < Duration::from_secs(10), "{events:?}");
        events.extend(std::iter::from_fn(|| dual.poll_event()));
        std::thread::sleep(Duration::from_millis(2));
    }
    let completes = events.iter().filter(|e| matches!(e, SinkEvent::TargetComplete { .. })).count();
    assert_eq!(completes, 2, "both targets completed before the recording: {events:?}");
    assert_eq!(std::fs::read(dir.join("a.opus")).unwrap(), std::fs::read(dir.join("b.opus")).unwrap());
}

#[test]
fn real_small_tmpfs_fills_up_when_mounting_is_permitted() {
    let dir = tmp("tmpfs");
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: cannot mount a tmpfs here (the fault-injecting target covers disk full)");
        return;
    }
    let rec = record_tone_call(20.0, |_, _| false, |_| {});
    let path = dir.join("call.opus");
    let mut sink = FileSink::create(&path, FileSinkConfig::default()).unwrap();
    for p in &rec.pages {
        sink.write_page(p);
    }
    let events = sink.close_and_wait();
    let kept = std::fs::read(&path).unwrap();
    let _ = Command::new("umount").arg(&dir).status();
    assert!(events.iter().any(|e| matches!(e, SinkEvent::WriteFailed { .. })), "{events:?}");
    let info = read_ogg_opus(&kept).unwrap();
    assert_eq!((info.crc_failures, info.truncated_tail_bytes), (0, 0));
}
