//! Capture reading (pcap, pcapng, rtpproxy) and the whole replay: streams, calls, recordings.
//!
//! Captures spanning more than 300 s are skipped: the replay records silence across
//! every gap between packets (the recording follows the capture's clock, by design), so a
//! capture whose timestamps are hours apart costs hours of Opus encoding — slow, not wrong.
#![no_main]
use jyqq_media::capture::read_capture;
use jyqq_media::replay::{record_capture, ReplayOptions};
use libfuzzer_sys::fuzz_target;

/// Longest capture (first to last datagram) replayed here: 300 s.
const MAX_SPAN_NS: u64 = 300_000_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = read_capture(data) {
        let times = cap.datagrams.iter().map(|d| d.time.as_nanos());
        let (lo, hi) = times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if hi.saturating_sub(lo) > MAX_SPAN_NS {
            return;
        }
        if let Ok(calls) = record_capture(&cap, &ReplayOptions::default()) {
            std::hint::black_box(calls.len());
        }
    }
});
