//! The duration of an Opus packet from its table-of-contents byte (RFC 6716 §3.1),
//! without decoding it. Ogg Opus granule positions count these samples (RFC 7845 §4).

/// Largest duration of one Opus packet: 120 ms at 48 kHz (RFC 6716 §3.2.5).
pub const MAX_PACKET_SAMPLES_48K: u32 = 5760;

/// Duration of one frame for a TOC `config` (RFC 6716 §3.1, Table 2), in 48 kHz samples.
///
/// Configs 0–11 are SILK-only (10, 20, 40, 60 ms), 12–15 hybrid (10, 20 ms) and
/// 16–31 CELT-only (2.5, 5, 10, 20 ms).
pub const fn frame_samples_48k(config: u8) -> u32 {
    match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    }
}

/// Samples per channel at 48 kHz that an Opus packet decodes to, from its TOC byte and,
/// for code 3, its frame count byte (RFC 6716 §3.1–3.2): code 0 = 1 frame, codes 1 and
/// 2 = 2 frames, code 3 = `M` frames (low six bits of byte 1).
///
/// This also holds for the Ogg packets of a multistream (mapping family ≠ 0): every
/// stream in a packet has the same duration and the first one begins the packet.
///
/// Returns `None` for a packet that RFC 6716 §3.4 rules malformed on these bytes: empty
/// (R1), code 2 without its length byte (R4), code 3 without a count byte or with
/// `M = 0` (R5), or a total above 120 ms (R5). It does not check the frame lengths.
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let frame = frame_samples_48k(toc >> 3);
    let frames = match toc & 0x3 {
        0 => 1,
        1 => 2,
        2 => {
            packet.get(1)?;
            2
        }
        _ => u32::from(packet.get(1)? & 0x3F),
    };
    let total = frame * frames;
    (frames > 0 && total <= MAX_PACKET_SAMPLES_48K).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_table() {
        let want: [u32; 32] = [
            480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, // SILK NB/MB/WB
            480, 960, 480, 960, // hybrid SWB/FB
            120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, // CELT
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(frame_samples_48k(c as u8), *w, "config {c}");
        }
    }

    #[test]
    fn frame_count_codes() {
        // config 1 (SILK NB 20 ms) = 0b00001 << 3.
        assert_eq!(opus_packet_samples(&[0x08]), Some(960));
        assert_eq!(opus_packet_samples(&[0x09, 0, 0]), Some(1920));
        assert_eq!(opus_packet_samples(&[0x0A, 1, 0]), Some(1920));
        assert_eq!(opus_packet_samples(&[0x0A]), None);
        // code 3 with 3 frames of 20 ms, VBR and padding bits set in the count byte.
        assert_eq!(opus_packet_samples(&[0x0B, 0xC3]), Some(2880));
        assert_eq!(opus_packet_samples(&[0x0B, 0x00]), None);
        assert_eq!(opus_packet_samples(&[0x0B]), None);
        // 7 frames of 20 ms = 140 ms > 120 ms.
        assert_eq!(opus_packet_samples(&[0x0B, 7]), None);
        // 48 frames of CELT 2.5 ms (config 16) = 120 ms exactly.
        assert_eq!(opus_packet_samples(&[0x83, 48]), Some(5760));
        assert_eq!(opus_packet_samples(&[]), None);
        // 60 ms SILK (config 3) code 1: two frames = 120 ms.
        assert_eq!(opus_packet_samples(&[0x19]), Some(5760));
    }
}
