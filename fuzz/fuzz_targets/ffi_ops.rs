//! See [`jyqq_media_fuzz::ffi`] for the operations and the invariants checked.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| jyqq_media_fuzz::ffi::run(data));
