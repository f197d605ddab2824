//! RTP header parsing (RFC 3550 §5.1): CSRC list, extension elements, padding.
#![no_main]
use jyqq_media::rtp::RtpPacket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        std::hint::black_box((p.payload(), p.padding_len(), p.csrcs().count()));
        if let Some(ext) = p.extension() {
            for e in ext.elements() {
                std::hint::black_box(e.data);
            }
        }
    }
});
