//! Capture reading (pcap, pcapng, rtpproxy "adhoc"), RTP stream discovery, call pairing and
//! the SIP/SDP payload maps, without the replay (`capture_replay` runs the whole thing). The
//! input is also parsed as SDP text (RFC 4566 `a=rtpmap`/`a=fmtp` lines).
#![no_main]
use jyqq_media::capture::{find_rtp_streams, pair_calls, read_capture, rtpmaps_for_stream, sdp_payload_maps};
use jyqq_media::rtp::PayloadMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = read_capture(data) {
        let streams = find_rtp_streams(&cap);
        let calls = pair_calls(&streams);
        let sdp = sdp_payload_maps(&cap);
        for s in &streams {
            std::hint::black_box(rtpmaps_for_stream(&sdp, s));
        }
        std::hint::black_box((cap.datagrams.len(), calls.len()));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        std::hint::black_box(PayloadMap::from_sdp(text, "audio").map(|m| m.len()).ok());
    }
});
