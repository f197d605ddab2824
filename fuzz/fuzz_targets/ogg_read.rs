//! The Ogg Opus reader/validator and repair.
#![no_main]
use jyqq_media::record::{read_ogg_opus, repair};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = read_ogg_opus(data) {
        std::hint::black_box(info.duration());
    }
    if let Ok(fixed) = repair(data) {
        let info = read_ogg_opus(&fixed).expect("a repaired file reads back");
        assert!(info.eos_on_last_page);
    }
});
