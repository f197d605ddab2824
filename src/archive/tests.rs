//! The archive end to end against `object_store`'s in-memory store (the Garage cluster
//! tests are in tests/archive_garage.rs).

use super::s3::ArchiveConfig;
use super::sink::ArchiveSink;
use super::uploader::retry_delay;
use super::{ArchiveEvent, Archiver, LocalCopy};
use crate::record::file_sink::FileSinkConfig;
use crate::record::hash_chain::{chain_step, sha256, Hash32, CHAIN_GENESIS};
use crate::record::keys::SigningKey;
use crate::record::manifest::SignedManifest;
use crate::record::sink::{RecordingSink, SinkEvent};
use crate::record::{EvidenceLog, PcapSidecar, RecordingMetadata, RecordingPage};
use crate::{HostTime, SampleRate};
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jyqq-archive-unit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn cfg(spool: &Path, local: LocalCopy) -> ArchiveConfig {
    let mut c = ArchiveConfig::new(spool, "http://127.0.0.1:9", "garage", "b", "k", "s");
    c.local = local;
    c.prefix = "host-1/".into();
    c
}

/// Pages (arbitrary bytes, correct hashes and chain) of segment 0.
fn pages(n: u8) -> Vec<RecordingPage> {
    let mut chain: Hash32 = CHAIN_GENESIS;
    (0..n)
        .map(|i| {
            let data = vec![i; 50 + usize::from(i)];
            let ph = sha256(&data);
            chain = chain_step(&chain, &ph);
            RecordingPage {
                data,
                granule: 0,
                sequence: u32::from(i),
                eos: false,
                segment: 0,
                page_hash: ph,
                chain_hash: chain,
            }
        })
        .collect()
}

/// Records `pages` and a two-record sidecar into `sink`, with a manifest over `listed`
/// pages; returns (recording bytes, sidecar bytes, manifest bytes).
fn record(sink: &mut ArchiveSink, pages: &[RecordingPage], listed: &[RecordingPage]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut log = EvidenceLog::new();
    for p in listed {
        log.add_page(p).unwrap();
    }
    let mut sc = PcapSidecar::new(HostTime::ZERO, 0);
    let mut pcap = sc.header().to_vec();
    let (a, b) = ("10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap());
    for k in 0..2u64 {
        pcap.extend_from_slice(sc.record(HostTime::from_millis(20 * k), a, b, &[0x80, 0, 0, k as u8]).unwrap());
    }
    sink.write_sidecar(&pcap);
    for p in pages {
        sink.write_page(p);
    }
    let meta = RecordingMetadata::new("C-1", "1", "2", "2026-03-01T08:00:00Z", "record");
    let mut m = log.to_manifest(&meta, "2026-03-01T08:01:00Z", sink.recording_file(), SampleRate::HZ_8000);
    m.sidecar = Some(sc.facts("call.pcap"));
    let manifest = SignedManifest::sign(&m, &SigningKey::from_bytes(&[3; 32]));
    assert!(sink.attach_manifest(manifest.clone()));
    sink.close();
    let t0 = Instant::now();
    loop {
        match sink.poll_event() {
            Some(SinkEvent::RecordingComplete { .. }) => break,
            Some(e @ SinkEvent::RecordingIncomplete { .. }) => panic!("{e:?}"),
            _ => assert!(t0.elapsed() < Duration::from_secs(10)),
        }
    }
    (pages.iter().flat_map(|p| p.data.clone()).collect(), pcap, manifest)
}

fn events(a: &mut Archiver) -> Vec<ArchiveEvent> {
    assert!(a.wait_idle(Duration::from_secs(20)));
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn get(store: &InMemory, key: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async { store.get(&ObjectPath::from(key)).await.unwrap().bytes().await.unwrap() }).to_vec()
}

#[test]
fn call_is_stored_checked_against_its_manifest_then_moved() {
    let root = tmp("keep");
    let store = Arc::new(InMemory::new());
    let mut a = Archiver::start_with(cfg(&root, LocalCopy::Keep), vec![store.clone()]).unwrap();
    let mut sink = a.sink("C-1", "2026-03-01T08:00:00Z", FileSinkConfig::default()).unwrap();
    let folder = sink.folder().to_owned();
    let ps = pages(5);
    let (rec, pcap, manifest) = record(&mut sink, &ps, &ps);
    let ev = events(&mut a);
    let key = |f: &str| format!("host-1/2026/03/01/20260301T080000Z_C-1/{f}");
    assert_eq!(get(&store, &key("call.opus")), rec);
    assert_eq!(get(&store, &key("call.pcap")), pcap);
    assert_eq!(get(&store, &key("call.manifest.json")), manifest);
    assert!(ev.contains(&ArchiveEvent::CallArchived { folder: folder.clone(), objects: 3, local: LocalCopy::Keep }));
    assert_eq!(ev.iter().filter(|e| matches!(e, ArchiveEvent::Verified { .. })).count(), 3);
    let spool = a.queue().spool().clone();
    assert!(spool.scan().unwrap().is_empty());
    assert_eq!(std::fs::read(spool.archived(&folder).join("call.opus")).unwrap(), rec);
    a.shutdown();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_call_that_disagrees_with_its_manifest_is_held_locally() {
    let root = tmp("held");
    let store = Arc::new(InMemory::new());
    let mut a = Archiver::start_with(cfg(&root, LocalCopy::Delete), vec![store.clone()]).unwrap();
    let mut sink = a.sink("C-2", "2026-03-01T08:00:00Z", FileSinkConfig::default()).unwrap();
    let folder = sink.folder().to_owned();
    let ps = pages(5);
    // The manifest lists four pages; the file has five.
    let _ = record(&mut sink, &ps, &ps[..4]);
    let ev = events(&mut a);
    let held = ev.iter().find_map(|e| match e {
        ArchiveEvent::CallHeld { folder: f, reason } if *f == folder => Some(reason.clone()),
        _ => None,
    });
    assert!(held.as_deref().is_some_and(|r| r.contains("call.opus")), "{ev:?}");
    assert!(!ev.iter().any(|e| matches!(e, ArchiveEvent::CallArchived { .. })));
    assert_eq!(a.queue().spool().scan().unwrap().len(), 1, "the local copy stays");
    a.shutdown();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_restart_finds_what_the_last_process_left() {
    let root = tmp("restart");
    let spool = super::Spool::open(&root).unwrap();
    let cut = "2026/03/01/20260301T090000Z_cut";
    std::fs::create_dir_all(spool.pending(cut)).unwrap();
    std::fs::write(spool.pending(cut).join("call.opus"), b"OggS-truncated").unwrap();
    let store = Arc::new(InMemory::new());
    let mut a = Archiver::start_with(cfg(&root, LocalCopy::Delete), vec![store.clone()]).unwrap();
    let ev = events(&mut a);
    assert_eq!(ev[0], ArchiveEvent::Recovered { folder: cut.into() });
    let key = format!("host-1/{cut}/call.opus");
    assert!(ev.contains(&ArchiveEvent::Queued { key: key.clone(), bytes: 14, recovered: true }));
    assert!(ev.contains(&ArchiveEvent::CallArchived { folder: cut.into(), objects: 1, local: LocalCopy::Delete }));
    assert_eq!(get(&store, &key), b"OggS-truncated");
    assert!(spool.scan().unwrap().is_empty());
    a.shutdown();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn retry_delay_doubles_with_jitter_and_is_capped() {
    let mut c = cfg(Path::new("/x"), LocalCopy::Delete);
    c.retry_initial = Duration::from_millis(500);
    c.retry_max = Duration::from_secs(60);
    for (attempt, nominal) in [(1u32, 0.5f64), (2, 1.0), (3, 2.0), (8, 60.0), (40, 60.0)] {
        let d = retry_delay(&c, "k", attempt).as_secs_f64();
        assert!(d >= nominal * 0.75 && d < nominal * 1.25, "attempt {attempt}: {d}");
    }
    assert_ne!(retry_delay(&c, "a", 1), retry_delay(&c, "b", 1), "different files spread out");
    assert_eq!(retry_delay(&c, "a", 1), retry_delay(&c, "a", 1));
}

#[test]
fn paused_uploads_wait_and_resume() {
    let root = tmp("pause");
    let store = Arc::new(InMemory::new());
    let mut c = cfg(&root, LocalCopy::Delete);
    c.max_bytes_per_sec = Some(1_000_000);
    let mut a = Archiver::start_with(c, vec![store.clone()]).unwrap();
    a.set_paused(true);
    let mut sink = a.sink("C-3", "2026-03-01T08:00:00Z", FileSinkConfig::default()).unwrap();
    let ps = pages(3);
    let _ = record(&mut sink, &ps, &ps);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.outstanding(), 3, "three files queued, none started");
    let ev: Vec<ArchiveEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(ev.iter().filter(|e| matches!(e, ArchiveEvent::Queued { .. })).count(), 3);
    assert!(!ev.iter().any(|e| matches!(e, ArchiveEvent::Started { .. })), "{ev:?}");
    a.set_paused(false);
    let ev = events(&mut a);
    assert_eq!(ev.iter().filter(|e| matches!(e, ArchiveEvent::Uploaded { .. })).count(), 3);
    a.shutdown();
    std::fs::remove_dir_all(&root).unwrap();
}
