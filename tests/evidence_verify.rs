//! Tamper evidence: every mutation of a signed recording is detected and located; an
//! untouched recording always verifies (issue 7, item 4). In memory, seeded.

mod common;
mod evidence_support;

use evidence_support::{record_tone_call, Recorded, Rng};
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::manifest::SignedManifest;
use jyqq_media::record::sidecar_pcap::PcapSidecar;
use jyqq_media::record::verify::Finding;
use jyqq_media::record::{verify_recording, OggPage, VerifyReport};
use jyqq_media::HostTime;

const RUNS: usize = 200;

struct Fixture {
    rec: Recorded,
    file: Vec<u8>,
    /// Offsets where each page starts, plus the file length.
    bounds: Vec<usize>,
    manifest: Vec<u8>,
    key: SigningKey,
    /// Pages of another recording (a different call), for insertion.
    foreign: Vec<Vec<u8>>,
}

fn fixture() -> Fixture {
    {
        // 12 s with 200 ms pages and some loss on leg B: about 60 audio pages.
        let rec = record_tone_call(
            12.0,
            |leg, k| leg == 1 && k % 37 == 5,
            |c| c.flush_interval = std::time::Duration::from_millis(200),
        );
        let key = SigningKey::from_bytes(&[7; 32]);
        let file = rec.segments().remove(0);
        let mut bounds = vec![0];
        for p in &rec.pages {
            bounds.push(bounds.last().unwrap() + p.data.len());
        }
        let manifest = rec.manifest(&key);
        let other = record_tone_call(3.0, |_, _| false, |c| c.serial = 99);
        let foreign = other.pages.iter().map(|p| p.data.clone()).collect();
        Fixture { rec, file, bounds, manifest, key, foreign }
    }
}

fn check(manifest: &[u8], key: &SigningKey, file: &[u8]) -> VerifyReport {
    verify_recording(manifest, &key.verifying_key(), &[Some(file)], None)
}

fn page_of(f: &Fixture, offset: usize) -> usize {
    f.bounds.iter().rposition(|&b| b <= offset).unwrap()
}

#[test]
fn untouched_recording_verifies() {
    let f = &fixture();
    assert!(f.rec.pages.len() > 60, "{}", f.rec.pages.len());
    let r = check(&f.manifest, &f.key, &f.file);
    assert!(r.is_intact(), "{r}");
    assert_eq!(r.pages_checked, f.rec.pages.len() as u64);
    let m = r.manifest.clone().unwrap();
    assert_eq!(m.call_id, "C-7");
    assert_eq!(m.chain.final_hash, hex(&f.rec.pages.last().unwrap().chain_hash));
    assert_eq!(m.recording.duration_ms, 12_000);
    assert_eq!(m.legs[1].gaps, 17, "packets 5, 42, …, 597 of leg B lost");
    assert_eq!(m.legs[1].concealed_intervals_ms.len(), 17);
    assert_eq!(m.legs[1].concealed_intervals_ms[0], [100, 20]);
    assert!(r.to_string().starts_with("OK: call C-7 intact"), "{r}");
}

fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_changed_byte_is_detected_and_located() {
    let f = &fixture();
    let mut rng = Rng(0x1234_5678);
    for run in 0..RUNS {
        let mut b = f.file.clone();
        let at = rng.below(b.len());
        b[at] ^= 1 + rng.below(255) as u8;
        let r = check(&f.manifest, &f.key, &b);
        let k = page_of(f, at);
        let located = r.findings.iter().any(|x| match x {
            Finding::PageChanged { page, count, .. } => (*page..page + count).contains(&k),
            _ => false,
        });
        assert!(located, "run {run}: byte {at} (page {k}) changed: {r}");
    }
}

#[test]
fn every_removed_page_is_detected() {
    let f = &fixture();
    let n = f.rec.pages.len();
    let mut rng = Rng(99);
    for run in 0..RUNS {
        let k = rng.below(n);
        let mut b = f.file[..f.bounds[k]].to_vec();
        b.extend_from_slice(&f.file[f.bounds[k + 1]..]);
        let r = check(&f.manifest, &f.key, &b);
        let want = if k + 1 == n {
            // The last page gone: indistinguishable from a cut at that boundary.
            Finding::Truncated {
                segment: 0,
                pages_kept: n - 1,
                pages_expected: n,
                bytes: b.len() as u64,
                expected_bytes: f.file.len() as u64,
            }
        } else {
            Finding::PageRemoved { segment: 0, page: k, count: 1 }
        };
        assert_eq!(r.findings, vec![want], "run {run}: page {k} removed");
    }
}

#[test]
fn every_inserted_page_is_detected() {
    let f = &fixture();
    let n = f.rec.pages.len();
    let mut rng = Rng(7);
    for run in 0..RUNS {
        let k = rng.below(n + 1);
        let page = &f.foreign[rng.below(f.foreign.len())];
        let mut b = f.file[..f.bounds[k]].to_vec();
        b.extend_from_slice(page);
        b.extend_from_slice(&f.file[f.bounds[k]..]);
        let r = check(&f.manifest, &f.key, &b);
        let offset = f.bounds[k] as u64;
        let bytes = page.len() as u64;
        let want = if k == n {
            Finding::BytesAppended { segment: 0, offset, bytes }
        } else {
            Finding::PageInserted { segment: 0, before_page: k, offset, bytes }
        };
        assert_eq!(r.findings, vec![want], "run {run}: page inserted before {k}");
    }
}

#[test]
fn every_reordered_page_is_detected() {
    let f = &fixture();
    let n = f.rec.pages.len();
    let mut rng = Rng(31337);
    for run in 0..RUNS {
        // Move page j to before page k (k < j), or swap neighbours.
        let j = 1 + rng.below(n - 1);
        let k = if run % 2 == 0 { j - 1 } else { rng.below(j) };
        let mut order: Vec<usize> = (0..n).collect();
        order.remove(j);
        order.insert(k, j);
        let b: Vec<u8> = order.iter().flat_map(|&i| f.file[f.bounds[i]..f.bounds[i + 1]].iter().copied()).collect();
        let r = check(&f.manifest, &f.key, &b);
        assert_eq!(r.findings.len(), 1, "run {run}: page {j} moved before {k}: {r}");
        assert!(
            matches!(r.findings[0], Finding::PageReordered { segment: 0, page, .. } if page == j || (j - k == 1 && page == k)),
            "run {run}: page {j} moved before {k}: {r}"
        );
    }
}

#[test]
fn every_truncation_is_detected() {
    let f = &fixture();
    let mut rng = Rng(4242);
    for run in 0..RUNS {
        let cut = rng.below(f.file.len());
        let r = check(&f.manifest, &f.key, &f.file[..cut]);
        let kept = f.bounds.iter().filter(|&&b| b > 0 && b <= cut).count();
        assert_eq!(
            r.findings,
            vec![Finding::Truncated {
                segment: 0,
                pages_kept: kept,
                pages_expected: f.rec.pages.len(),
                bytes: cut as u64,
                expected_bytes: f.file.len() as u64
            }],
            "run {run}: cut at {cut}"
        );
    }
}

#[test]
fn every_wrong_key_is_detected() {
    let f = &fixture();
    let trusted = f.key.verifying_key();
    for run in 0..RUNS as u8 {
        let mut seed = [0xEE; 32];
        seed[0] = run;
        let other = SigningKey::from_bytes(&seed);
        // Verified against the wrong key, and signed by the wrong key.
        let r = check(&f.manifest, &other, &f.file);
        assert!(matches!(&r.findings[..], [Finding::WrongKey { .. }]), "run {run}: {r}");
        let forged = f.rec.manifest(&other);
        let r = verify_recording(&forged, &trusted, &[Some(&f.file)], None);
        assert!(matches!(&r.findings[..], [Finding::WrongKey { .. }]), "run {run}: {r}");
    }
}

#[test]
fn every_manifest_edit_is_detected() {
    let f = &fixture();
    let mut rng = Rng(5);
    for run in 0..RUNS {
        let mut m = f.manifest.clone();
        let at = rng.below(m.len());
        m[at] ^= 1 + rng.below(255) as u8;
        let r = check(&m, &f.key, &f.file);
        assert!(
            r.findings.iter().any(|x| matches!(x, Finding::ManifestEdited | Finding::ManifestUnreadable(_))),
            "run {run}: manifest byte {at} changed: {r}"
        );
    }
    // A semantic edit that keeps the JSON valid: another call id.
    let text = String::from_utf8(f.manifest.clone()).unwrap().replace("\"C-7\"", "\"C-8\"");
    let r = check(text.as_bytes(), &f.key, &f.file);
    assert_eq!(r.findings, vec![Finding::ManifestEdited]);
}

#[test]
fn segment_rotation_chains_files_and_each_verifies() {
    let rec = record_tone_call(10.0, |_, _| false, |c| c.segment = Some(std::time::Duration::from_secs(4)));
    let segs = rec.segments();
    assert_eq!(segs.len(), 3);
    let mut serials = Vec::new();
    let mut total = 0u64;
    for s in &segs {
        let info = jyqq_media::record::read_ogg_opus(s).unwrap();
        assert!(info.is_conformant(), "{info:?}");
        assert!(info.eos_on_last_page);
        serials.push(info.serial);
        total += info.decoded_samples();
        let tags = info.tags.unwrap().comments;
        assert!(tags.contains(&"JYQQ_CALL_ID=C-7".to_owned()), "{tags:?}");
        assert!(tags.contains(&"JYQQ_LEG_B=+86 138 0000 0007".to_owned()), "{tags:?}");
    }
    assert_eq!(serials, [0x4a59_5151, 0x4a59_5152, 0x4a59_5153]);
    assert_eq!(
        segs.iter().map(|s| jyqq_media::record::read_ogg_opus(s).unwrap().decoded_samples()).collect::<Vec<_>>(),
        [192_000, 192_000, 96_000]
    );
    assert_eq!(total, 480_000, "10 s at 48 kHz, no sample lost or repeated at the boundaries");
    assert_eq!(rec.recorder.segment_bounds(), [(0, 32_000), (32_000, 64_000), (64_000, 80_000)]);
    // One chain through all segments: each page's chain value follows the previous page's.
    let mut prev = jyqq_media::record::CHAIN_GENESIS;
    for p in &rec.pages {
        assert_eq!(p.chain_hash, jyqq_media::record::hash_chain::chain_step(&prev, &p.page_hash));
        prev = p.chain_hash;
    }
    let key = SigningKey::from_bytes(&[1; 32]);
    let manifest = rec.manifest(&key);
    let m = SignedManifest::parse(&manifest).unwrap().manifest;
    assert_eq!(
        m.segments.iter().map(|s| s.file.as_str()).collect::<Vec<_>>(),
        ["call-7.opus", "call-7.seg1.opus", "call-7.seg2.opus"]
    );
    assert_eq!(m.segments[1].chain_start, m.segments[0].chain_final);
    assert_eq!(m.segments.iter().map(|s| s.duration_ms).collect::<Vec<_>>(), [4000, 4000, 2000]);
    let refs: Vec<Option<&[u8]>> = segs.iter().map(|s| Some(s.as_slice())).collect();
    let pk = key.verifying_key();
    assert!(verify_recording(&manifest, &pk, &refs, None).is_intact());
    // A missing segment, and two segments swapped.
    let r = verify_recording(&manifest, &pk, &[refs[0], None, refs[2]], None);
    assert!(matches!(&r.findings[..], [Finding::SegmentMissing { segment: 1, .. }]), "{r}");
    let r = verify_recording(&manifest, &pk, &[refs[0], refs[2], refs[1]], None);
    assert!(!r.is_intact() && r.findings.len() >= 2, "{r}");
}

#[test]
fn sidecar_is_covered_by_the_manifest() {
    // A sidecar of 3000 datagrams (3 checkpoint blocks).
    let a = "10.0.0.1:4000".parse().unwrap();
    let b = "10.0.0.2:5000".parse().unwrap();
    let mut sc = PcapSidecar::new(HostTime::ZERO, 1_772_352_000_000_000_000);
    let mut pcap = sc.header().to_vec();
    for k in 0..3000u32 {
        let payload: Vec<u8> = (0..172).map(|i| (i as u32 * 7 + k) as u8).collect();
        pcap.extend_from_slice(sc.record(HostTime::from_millis(u64::from(k) * 10), a, b, &payload).unwrap());
    }
    let f = &fixture();
    let mut log = jyqq_media::record::EvidenceLog::new();
    for p in &f.rec.pages {
        log.add_page(p).unwrap();
    }
    let mut m = log.to_manifest(&f.rec.meta, "2026-03-01T08:00:10Z", "call-7.opus", f.rec.recorder.rate());
    m.sidecar = Some(sc.facts("call-7.pcap"));
    let manifest = SignedManifest::sign(&m, &f.key);
    let pk = f.key.verifying_key();
    let v = |pcap: Option<&[u8]>| verify_recording(&manifest, &pk, &[Some(&f.file)], pcap);
    assert!(v(Some(&pcap)).is_intact());
    assert!(matches!(&v(None).findings[..], [Finding::SidecarMissing { .. }]));
    let mut rng = Rng(77);
    for run in 0..RUNS {
        let mut p = pcap.clone();
        let at = rng.below(p.len());
        p[at] ^= 1 + rng.below(255) as u8;
        let r = v(Some(&p));
        assert!(
            r.findings.iter().any(|x| matches!(x, Finding::SidecarChanged { .. } | Finding::SidecarTruncated { .. })),
            "run {run}: byte {at}: {r}"
        );
        let cut = rng.below(pcap.len());
        let r = v(Some(&pcap[..cut]));
        assert!(!r.is_intact(), "run {run}: cut {cut}");
    }
    let mut longer = pcap.clone();
    longer.extend_from_slice(&pcap[24..24 + 16 + 200]);
    assert_eq!(v(Some(&longer)).findings, vec![Finding::SidecarAppended { bytes: 216 }]);
}

#[test]
fn pages_of_the_file_match_the_recorder_pages() {
    let f = &fixture();
    let mut at = 0;
    for p in &f.rec.pages {
        let (page, len) = OggPage::parse(&f.file[at..]).unwrap();
        assert_eq!(page.as_bytes(), &p.data[..]);
        at += len;
    }
    assert_eq!(at, f.file.len());
}
