//! Synthetic recorded calls for the archive tests and examples: a two-leg PCMU call (a
//! tone per leg) through ingress and the recorder into an [`ArchiveSink`], with its pcap
//! sidecar and signed manifest, returning the bytes every file must have.
#![allow(dead_code)]

use jyqq_media::archive::sink::{MANIFEST_FILE, SIDECAR_FILE};
use jyqq_media::archive::{ArchiveQueue, ArchiveSink};
use jyqq_media::codec::ulaw_encode;
use jyqq_media::record::file_sink::FileSinkConfig;
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::manifest::{LegFacts, SignedManifest};
use jyqq_media::record::{
    EvidenceLog, PcapSidecar, Recorder, RecorderConfig, RecordingMetadata, RecordingSink, SinkEvent,
};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadMap, PayloadType, RtpHeader, Ssrc};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The signing key of the test manifests.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// One call to record.
#[derive(Clone, Debug)]
pub struct CallSpec {
    pub call_id: String,
    pub start_utc: String,
    pub seconds: f64,
    /// Segment rotation (recorder `segment`), if any.
    pub segment: Option<Duration>,
}

impl CallSpec {
    /// Call `call-{i}` starting at 2026-03-01T08:MM:SS.000Z (i seconds apart), `seconds` long.
    pub fn numbered(i: usize, seconds: f64) -> CallSpec {
        CallSpec {
            call_id: format!("call-{i}"),
            start_utc: format!("2026-03-01T08:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
            seconds,
            segment: None,
        }
    }
}

/// A recorded call: its spool folder and the expected bytes of each file by name.
pub struct RecordedCall {
    pub folder: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl RecordedCall {
    /// Total bytes of the call's files.
    pub fn bytes(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }
}

/// Records `spec` into a new sink of `queue`, sealing it with its manifest. Blocks until the
/// sink reports the local recording complete (the upload goes on in the uploader).
pub fn record_call(queue: &ArchiveQueue, spec: &CallSpec) -> RecordedCall {
    let sink = queue.sink(&spec.call_id, &spec.start_utc, FileSinkConfig::default()).expect("sink");
    record_into(sink, spec)
}

/// As [`record_call`], into a given sink.
pub fn record_into(mut sink: ArchiveSink, spec: &CallSpec) -> RecordedCall {
    let map = PayloadMap::static_defaults();
    let meta = RecordingMetadata::new(&spec.call_id, "0571-1001", "+86 138 0000 0007", &spec.start_utc, "record");
    let mut cfg = RecorderConfig::new(SampleRate::HZ_8000, map.clone(), map.clone()).with_metadata(&meta);
    cfg.segment = spec.segment;
    let start = HostTime::from_millis(1_000);
    let mut rec = Recorder::new(cfg, start).expect("recorder");
    let mut ingress = [Ingress::new(IngressConfig::new(map.clone())), Ingress::new(IngressConfig::new(map))];
    let addrs: [SocketAddr; 2] = ["10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap()];
    let server: SocketAddr = "10.0.0.9:30000".parse().unwrap();
    let mut sidecar = PcapSidecar::new(start, 1_772_352_000_000_000_000);
    let mut log = EvidenceLog::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut pcap = sidecar.header().to_vec();
    sink.write_sidecar(&pcap);
    let seed = spec.call_id.bytes().map(u32::from).sum::<u32>() % 50;
    let freqs = [300.0 + f64::from(seed) * 7.0, 500.0 + f64::from(seed) * 5.0];
    let frames = (spec.seconds * 50.0).round() as usize;
    let mut buf = Vec::new();
    let mut payload = [0u8; 160];
    let mut take_pages = |rec: &mut Recorder, sink: &mut ArchiveSink, files: &mut BTreeMap<String, Vec<u8>>| {
        while let Some(p) = rec.poll_page() {
            if p.is_bos() && p.segment > 0 {
                // A rotation: give the previous segment's file sink time to finish, as the
                // media time between two rotations would, so it leaves for the store now.
                std::thread::sleep(Duration::from_millis(300));
                while sink.poll_event().is_some() {}
            }
            sink.write_page(&p);
            log.add_page(&p).expect("chain");
            let name = jyqq_media::record::manifest::segment_file_name(sink.recording_file(), p.segment);
            files.entry(name).or_default().extend_from_slice(&p.data);
        }
    };
    for k in 0..frames {
        let now = start.saturating_add(Duration::from_millis(20 * k as u64));
        rec.handle_timeout(now).expect("timeout");
        for leg in 0..2 {
            for (i, b) in payload.iter_mut().enumerate() {
                let t = (k * 160 + i) as f64 / 8000.0;
                *b = ulaw_encode((8000.0 * (2.0 * std::f64::consts::PI * freqs[leg] * t).sin()) as i16);
            }
            buf.clear();
            RtpHeader::new(PayloadType(0), 1000 + k as u16, 160 * k as u32, Ssrc(0x1000 + leg as u32))
                .write(&payload, &mut buf)
                .unwrap();
            let rec_bytes = sidecar.record(now, addrs[leg], server, &buf).expect("sidecar").to_vec();
            sink.write_sidecar(&rec_bytes);
            pcap.extend_from_slice(&rec_bytes);
            if let Ok(p) = ingress[leg].receive(now, addrs[leg], &buf) {
                rec.push(if leg == 0 { Leg::A } else { Leg::B }, p);
            }
        }
        take_pages(&mut rec, &mut sink, &mut files);
        // A host polls its sink as it goes.
        while let Some(e) = sink.poll_event() {
            assert!(!matches!(e, SinkEvent::WriteFailed { .. } | SinkEvent::RecordingIncomplete { .. }), "{e:?}");
        }
    }
    let end = start.saturating_add(Duration::from_millis(20 * frames as u64));
    rec.finish(end).expect("finish");
    take_pages(&mut rec, &mut sink, &mut files);
    let rate = rec.rate();
    let mut m = log.to_manifest(&meta, "2026-03-01T09:00:00.000Z", sink.recording_file(), rate);
    m.legs = [Leg::A, Leg::B]
        .iter()
        .map(|&l| LegFacts::from_stats(l, &meta.legs[l.index()], rec.leg_stats(l), rate))
        .collect();
    m.sidecar = Some(sidecar.facts(SIDECAR_FILE));
    let manifest = SignedManifest::sign(&m, &signing_key());
    assert!(sink.attach_manifest(manifest.clone()));
    files.insert(SIDECAR_FILE.to_owned(), pcap);
    files.insert(MANIFEST_FILE.to_owned(), manifest);
    sink.close();
    let t0 = Instant::now();
    let mut seen = Vec::new();
    loop {
        match sink.poll_event() {
            Some(SinkEvent::RecordingComplete { .. }) => break,
            Some(SinkEvent::RecordingIncomplete { failed }) => {
                panic!("local recording failed: {failed:?} after {seen:?}")
            }
            Some(e) => seen.push(e),
            None => {
                assert!(t0.elapsed() < Duration::from_secs(30), "local recording did not complete");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    RecordedCall { folder: sink.folder().to_owned(), files }
}
