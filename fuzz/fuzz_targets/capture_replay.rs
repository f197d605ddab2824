//! Capture reading (pcap, pcapng, rtpproxy) and the whole replay: streams, calls, recordings.
#![no_main]
use jyqq_media::capture::read_capture;
use jyqq_media::replay::{record_capture, ReplayOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = read_capture(data) {
        if let Ok(calls) = record_capture(&cap, &ReplayOptions::default()) {
            std::hint::black_box(calls.len());
        }
    }
});
