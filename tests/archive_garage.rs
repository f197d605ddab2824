//! The recording archive against a real three-node Garage cluster on loopback (feature
//! `archive-s3`; the tests skip with a printed reason when `garage` is not installed, and
//! fail instead under `JYQQ_REQUIRE_SHARED_DATA=1`).
//!
//! Each test starts its own cluster (fresh ports and folders) and they run one at a time.
#![cfg(feature = "archive-s3")]

#[path = "archive_support/calls.rs"]
mod calls;
mod common;
#[path = "archive_support/garage.rs"]
mod garage;
#[path = "archive_support/store.rs"]
mod store;

use calls::{record_call, signing_key, CallSpec, RecordedCall};
use garage::{fresh_dir, GarageCluster, BUCKET, KEY_ID, KEY_SECRET, REGION};
use jyqq_media::archive::{object_key, ArchiveConfig, ArchiveEvent, Archiver};
use jyqq_media::record::verify_recording;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::{checksum_header, signed_request, Bucket};

/// One cluster at a time: the machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn spool(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jyqq-archive-{tag}-{}", std::process::id()));
    fresh_dir(&p);
    p
}

fn config(spool: &PathBuf, endpoints: &str) -> ArchiveConfig {
    let mut c = ArchiveConfig::new(spool, endpoints, REGION, BUCKET, KEY_ID, KEY_SECRET);
    c.prefix = "prison-07/".into();
    c.retry_initial = Duration::from_millis(100);
    c.retry_max = Duration::from_millis(1000);
    c.request_timeout = Duration::from_secs(20);
    c.connect_timeout = Duration::from_secs(2);
    c
}

/// Polls events until `done(events)` or the time limit.
fn collect_until(
    a: &mut Archiver,
    limit: Duration,
    events: &mut Vec<ArchiveEvent>,
    done: impl Fn(&[ArchiveEvent]) -> bool,
) {
    let t0 = Instant::now();
    while !done(events) {
        match a.poll_event() {
            Some(e) => events.push(e),
            None => {
                assert!(t0.elapsed() < limit, "timed out; {} events, last: {:?}", events.len(), events.last());
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn archived(events: &[ArchiveEvent]) -> usize {
    events.iter().filter(|e| matches!(e, ArchiveEvent::CallArchived { .. })).count()
}

/// Every file of every call is in the bucket under its key, byte for byte; and nothing else is.
fn assert_stored(bucket: &Bucket, prefix: &str, calls: &[RecordedCall]) {
    let listing = bucket.list();
    let mut expected = BTreeMap::new();
    for c in calls {
        for (name, bytes) in &c.files {
            expected.insert(object_key(prefix, &c.folder, name), bytes);
        }
    }
    assert_eq!(
        listing.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>(),
        "exactly the expected keys, each once"
    );
    for (key, bytes) in &expected {
        assert_eq!(listing[key], bytes.len() as u64, "{key}");
        assert!(bucket.get(key) == **bytes, "{key}: stored bytes differ");
    }
}

/// The stored call verifies against its signed manifest (segments, sidecar, signature).
fn assert_verifies(bucket: &Bucket, prefix: &str, c: &RecordedCall) {
    let get = |name: &str| bucket.get(&object_key(prefix, &c.folder, name));
    let manifest = get("call.manifest.json");
    let segs: Vec<Vec<u8>> = c.files.keys().filter(|n| n.ends_with(".opus")).map(|n| get(n)).collect::<Vec<_>>();
    let seg_refs: Vec<Option<&[u8]>> = segs.iter().map(|s| Some(s.as_slice())).collect();
    let pcap = get("call.pcap");
    let report = verify_recording(&manifest, &signing_key().verifying_key(), &seg_refs, Some(&pcap));
    assert!(report.is_intact(), "{}: {report}", c.folder);
}

#[test]
fn twenty_calls_uploaded_verified_and_checksums_enforced() {
    let _g = serial();
    let Some(cluster) = GarageCluster::start("twenty", 3) else { return };
    let dir = spool("twenty");
    let mut a = Archiver::start(config(&dir, &cluster.nodes[0].endpoint())).expect("archiver");
    let q = a.queue();
    let mut calls = Vec::new();
    for i in 0..20 {
        let mut spec = CallSpec::numbered(i, 3.0);
        if i == 0 {
            // A long call in miniature: rotated every 2 s, its segments leave before it ends.
            spec.seconds = 7.0;
            spec.segment = Some(Duration::from_secs(2));
        }
        calls.push(record_call(&q, &spec));
    }
    assert_eq!(calls[0].files.keys().filter(|n| n.ends_with(".opus")).count(), 4);
    let mut ev = Vec::new();
    collect_until(&mut a, Duration::from_secs(120), &mut ev, |e| archived(e) == 20);
    assert!(a.wait_idle(Duration::from_secs(10)));
    let objects: usize = calls.iter().map(|c| c.files.len()).sum();
    assert_eq!(objects, 20 * 3 + 3);
    let count = |f: fn(&ArchiveEvent) -> bool| ev.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, ArchiveEvent::Queued { recovered: false, .. })), objects);
    assert_eq!(count(|e| matches!(e, ArchiveEvent::Uploaded { .. })), objects);
    assert_eq!(count(|e| matches!(e, ArchiveEvent::Verified { .. })), objects);
    assert!(ev.iter().all(|e| !matches!(e, ArchiveEvent::CallHeld { .. } | ArchiveEvent::SpoolError { .. })));
    // Per key: queued, then started, then uploaded, then verified.
    let k0 = object_key("prison-07/", &calls[3].folder, "call.opus");
    let pos = |f: &dyn Fn(&ArchiveEvent) -> bool| ev.iter().position(|e| f(e)).expect("event");
    let q0 = pos(&|e| matches!(e, ArchiveEvent::Queued { key, .. } if *key == k0));
    let s0 = pos(&|e| matches!(e, ArchiveEvent::Started { key, .. } if *key == k0));
    let u0 = pos(&|e| matches!(e, ArchiveEvent::Uploaded { key, .. } if *key == k0));
    let v0 = pos(&|e| matches!(e, ArchiveEvent::Verified { key, .. } if *key == k0));
    assert!(q0 < s0 && s0 < u0 && u0 < v0);
    // The rotated segments of call 0 were queued before its seal queued the rest.
    let seg0 = pos(
        &|e| matches!(e, ArchiveEvent::Queued { key, .. } if key.ends_with(&format!("{}/call.opus", calls[0].folder))),
    );
    let man0 = pos(
        &|e| matches!(e, ArchiveEvent::Queued { key, .. } if key.ends_with(&format!("{}/call.manifest.json", calls[0].folder))),
    );
    assert!(seg0 < man0);

    let bucket = Bucket::new(&cluster.nodes[1].endpoint());
    assert_stored(&bucket, "prison-07/", &calls);
    for c in &calls {
        assert_verifies(&bucket, "prison-07/", c);
    }
    // Local copies deleted only now: the pending folder is empty.
    assert!(a.queue().spool().scan().unwrap().is_empty());

    // The store checks x-amz-checksum-sha256: the archiver's objects carry it (returned on
    // a GET with checksum mode), and a PUT whose header disagrees with its body is refused.
    let port = cluster.nodes[1].s3_port;
    let key = object_key("prison-07/", &calls[5].folder, "call.opus");
    let get = signed_request("GET", port, &key, &[("x-amz-checksum-mode", "ENABLED".into())], b"");
    assert_eq!(get.status, 200, "{}", String::from_utf8_lossy(&get.body));
    assert_eq!(get.headers.get("x-amz-checksum-sha256"), Some(&checksum_header(&calls[5].files["call.opus"])));
    let probe = "prison-07/probe/checksum.bin";
    let body = b"recording bytes as sent".to_vec();
    let bad = signed_request("PUT", port, probe, &[("x-amz-checksum-sha256", checksum_header(b"other bytes"))], &body);
    let text = String::from_utf8_lossy(&bad.body).into_owned();
    assert_eq!(bad.status, 400, "{text}");
    assert!(text.contains("<Code>InvalidDigest</Code>") || text.contains("<Code>BadDigest</Code>"), "{text}");
    assert!(!bucket.list().contains_key(probe), "nothing stored under a refused PUT");
    let good = signed_request("PUT", port, probe, &[("x-amz-checksum-sha256", checksum_header(&body))], &body);
    assert_eq!(good.status, 200, "{}", String::from_utf8_lossy(&good.body));
    assert_eq!(bucket.get(probe), body);
    a.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_node_killed_mid_upload_everything_still_stored() {
    let _g = serial();
    let Some(mut cluster) = GarageCluster::start("kill1", 3) else { return };
    let dir = spool("kill1");
    let mut cfg = config(&dir, &cluster.endpoints());
    cfg.max_concurrent = 2;
    let mut a = Archiver::start(cfg).expect("archiver");
    let q = a.queue();
    let mut calls = Vec::new();
    let mut ev = Vec::new();
    let mut killed_at = None;
    for i in 0..20 {
        calls.push(record_call(&q, &CallSpec::numbered(i, 3.0)));
        while let Some(e) = a.poll_event() {
            ev.push(e);
        }
        if killed_at.is_none() && archived(&ev) >= 3 {
            // Node 0 is the endpoint in use: SIGKILL it with uploads in flight.
            cluster.kill_node(0);
            killed_at = Some((i, archived(&ev)));
        }
    }
    let (at_call, archived_before) = killed_at.unwrap_or_else(|| {
        cluster.kill_node(0);
        (20, archived(&ev))
    });
    assert!(archived_before < 20, "the kill came after everything was stored");
    collect_until(&mut a, Duration::from_secs(150), &mut ev, |e| archived(e) == 20);
    let failed = ev.iter().filter(|e| matches!(e, ArchiveEvent::Failed { .. })).count();
    eprintln!(
        "node 0 killed after call {at_call} with {archived_before} calls archived; {failed} failed attempts retried"
    );
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for e in &ev {
        if let ArchiveEvent::Failed { error, .. } = e {
            let tail: String = error.rsplit(" - ").next().unwrap_or(error).chars().take(200).collect();
            *errors.entry(tail).or_default() += 1;
        }
    }
    eprintln!("failures by error: {errors:#?}");
    // The degraded cluster (two of three nodes) serves every recording.
    assert!(!cluster.nodes[0].running());
    let bucket = Bucket::new(&cluster.nodes[2].endpoint());
    assert_stored(&bucket, "prison-07/", &calls);
    for c in &calls {
        assert_verifies(&bucket, "prison-07/", c);
    }
    a.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn store_down_recordings_queue_locally_and_all_arrive() {
    let _g = serial();
    let Some(mut cluster) = GarageCluster::start("down", 3) else { return };
    let dir = spool("down");
    let mut a = Archiver::start(config(&dir, &cluster.endpoints())).expect("archiver");
    for i in 0..3 {
        cluster.kill_node(i);
    }
    let q = a.queue();
    let t_rec = Instant::now();
    let calls: Vec<RecordedCall> = (0..10).map(|i| record_call(&q, &CallSpec::numbered(100 + i, 3.0))).collect();
    // Recording was not slowed by the dead store: 10 calls of 3 s recorded in far less.
    let rec_time = t_rec.elapsed();
    let mut ev = Vec::new();
    collect_until(&mut a, Duration::from_secs(30), &mut ev, |e| {
        e.iter().filter(|x| matches!(x, ArchiveEvent::Failed { attempt: 3, .. })).count() >= 2
    });
    std::thread::sleep(Duration::from_secs(1));
    while let Some(e) = a.poll_event() {
        ev.push(e);
    }
    assert_eq!(archived(&ev), 0);
    assert_eq!(a.queue().spool().scan().unwrap().len(), 10, "all ten calls held locally");
    assert!(a.outstanding() >= 30, "{}", a.outstanding());
    eprintln!("recorded 10 calls in {rec_time:?} with the store down");

    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_ready(Duration::from_secs(60));
    collect_until(&mut a, Duration::from_secs(120), &mut ev, |e| archived(e) == 10);
    let bucket = Bucket::new(&cluster.nodes[0].endpoint());
    assert_stored(&bucket, "prison-07/", &calls);
    assert!(a.queue().spool().scan().unwrap().is_empty());
    a.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn media_host_killed_mid_upload_resumes_without_loss_or_duplicates() {
    let _g = serial();
    let Some(cluster) = GarageCluster::start("restart", 3) else { return };
    let Some(bin) = common::example_bin("archive_upload") else { return };
    let dir = spool("restart");
    let env = |c: &mut Command| {
        c.env("JYQQ_ARCHIVE_ENDPOINT", cluster.endpoints())
            .env("JYQQ_ARCHIVE_REGION", REGION)
            .env("JYQQ_ARCHIVE_BUCKET", BUCKET)
            .env("JYQQ_ARCHIVE_PREFIX", "prison-07")
            .env("JYQQ_ARCHIVE_LOCAL", "keep")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", KEY_SECRET)
            .stdin(Stdio::null());
    };
    // 1. Record 20 calls with the store unreachable from the media host: all stay pending.
    let mut rec = Command::new(&bin);
    env(&mut rec);
    let out = rec
        .args(["record", "--spool"])
        .arg(&dir)
        .args(["--calls", "20", "--seconds", "4", "--endpoint", "http://127.0.0.1:9"])
        .output()
        .expect("run archive_upload");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spool = jyqq_media::archive::Spool::open(&dir).unwrap();
    assert_eq!(spool.scan().unwrap().iter().filter(|c| c.sealed).count(), 20);

    // 2. Upload, SIGKILL the process right after the first call is archived.
    let mut up = Command::new(&bin);
    env(&mut up);
    let mut child = up
        .args(["upload", "--spool"])
        .arg(&dir)
        .args(["--max-concurrent", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start archive_upload");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut phase1 = Vec::new();
    for l in lines.by_ref() {
        let l = l.expect("line");
        let done = l.starts_with("archived ");
        phase1.push(l);
        if done {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let started: BTreeSet<&str> = phase1.iter().filter_map(|l| l.strip_prefix("started ")).collect();
    let uploaded: BTreeSet<&str> = phase1.iter().filter_map(|l| l.strip_prefix("uploaded ")).collect();
    eprintln!(
        "killed with {} uploads started, {} confirmed, {} in flight",
        started.len(),
        uploaded.len(),
        started.difference(&uploaded).count()
    );
    // The process may have finished a few more calls between its line and the kill.
    let pending = spool.scan().unwrap().len();
    assert!((1..20).contains(&pending), "{pending} calls pending after the kill");

    // 3. Restart: the queue is rebuilt from the spool and finishes.
    let mut again = Command::new(&bin);
    env(&mut again);
    let out = again.args(["upload", "--spool"]).arg(&dir).output().expect("run archive_upload");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with("archived ")).count(), pending, "{text}");
    assert!(text.lines().any(|l| l.starts_with("queued ") && l.ends_with(" recovered")), "{text}");
    assert!(spool.scan().unwrap().is_empty());

    // Each of the 20 calls' 3 files is in the bucket exactly once, under its key, equal to
    // the kept local copy, and each call verifies against its signed manifest.
    let mut calls = Vec::new();
    for folder in walk_calls(&spool.archived("")) {
        let files = std::fs::read_dir(spool.archived(&folder))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        calls.push(RecordedCall { folder, files });
    }
    assert_eq!(calls.len(), 20);
    let bucket = Bucket::new(&cluster.nodes[1].endpoint());
    assert_stored(&bucket, "prison-07/", &calls);
    assert_eq!(bucket.list().len(), 60);
    for c in &calls {
        assert_verifies(&bucket, "prison-07/", c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Call folders (four levels) under `root`.
fn walk_calls(root: &std::path::Path) -> Vec<String> {
    let mut level = vec![String::new()];
    for _ in 0..4 {
        level = level
            .iter()
            .flat_map(|rel| {
                std::fs::read_dir(root.join(rel))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .map(|n| if rel.is_empty() { n } else { format!("{rel}/{n}") })
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    level.sort();
    level
}
