//! Evidence verification on arbitrary input: the manifest parser, the page/piece matcher
//! and the pcap sidecar splitter must never panic. Input layout: manifest length (u32 LE),
//! recording length (u32 LE), then the manifest, the recording and the sidecar (the rest;
//! none when empty). Lengths past the end take what is there.
#![no_main]
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::verify_recording;
use libfuzzer_sys::fuzz_target;

/// The key the seed corpus's manifests are signed with (make_corpus.rs).
const SEED_KEY: [u8; 32] = [7; 32];

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (a, b) = rest.split_at(n.min(rest.len()));
    *rest = b;
    a
}

fn len(rest: &mut &[u8]) -> usize {
    let b = take(rest, 4);
    let mut w = [0u8; 4];
    w[..b.len()].copy_from_slice(b);
    u32::from_le_bytes(w) as usize
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (m, r) = (len(&mut rest), len(&mut rest));
    let manifest = take(&mut rest, m);
    let recording = take(&mut rest, r);
    let sidecar = (!rest.is_empty()).then_some(rest);
    let key = SigningKey::from_bytes(&SEED_KEY).verifying_key();
    let report = verify_recording(manifest, &key, &[Some(recording)], sidecar);
    std::hint::black_box(report.is_intact());
});
