//! The Ogg Opus reader/validator (RFC 3533 pages, RFC 7845 headers, granule positions), the
//! page parser walked over the whole input, the Opus TOC parser on every audio packet, and
//! repair: a repaired file always reads back, ending with an EOS page.
#![no_main]
use jyqq_media::record::{find_capture, opus_packet_samples, read_ogg_opus, repair, OggPage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Some(at) = find_capture(rest) {
        rest = &rest[at..];
        match OggPage::parse(rest) {
            Ok((page, _)) => {
                std::hint::black_box((page.granule(), page.flags()));
                rest = &rest[page.byte_len().max(1)..];
            }
            Err(_) => rest = &rest[1..],
        }
    }
    if let Ok(info) = read_ogg_opus(data) {
        for p in info.packet_iter(data) {
            std::hint::black_box(opus_packet_samples(&p));
        }
        std::hint::black_box(info.duration());
    }
    if let Ok(fixed) = repair(data) {
        let info = read_ogg_opus(&fixed).expect("a repaired file reads back");
        assert!(info.eos_on_last_page);
    }
});
