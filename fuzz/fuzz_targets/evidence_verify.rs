//! Evidence verification on arbitrary input: the manifest parser, the page/piece matcher
//! and the pcap sidecar splitter must never panic. The input is split in three: manifest,
//! recording, sidecar.
#![no_main]
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::verify_recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = data.len() / 3;
    let (manifest, rest) = data.split_at(a);
    let (recording, sidecar) = rest.split_at(rest.len() / 2);
    let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
    let r = verify_recording(manifest, &key, &[Some(recording)], Some(sidecar));
    std::hint::black_box(r.is_intact());
});
