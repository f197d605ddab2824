//! Repair of crash-truncated or damaged Ogg Opus recordings (RFC 7845, RFC 3533).
//!
//! A recorder killed mid-call leaves complete pages followed by a partial one and no
//! end-of-stream page. [`repair`] keeps the longest valid prefix of the first Opus
//! logical stream and closes it with an EOS page, so strict players accept the file.

use super::ogg::{push_page, OggPageWriter, PageFlags, GRANULE_NONE};
use super::ogg_page::{find_capture, OggPage};
use super::opus_head::OpusTags;
use super::reader::read_ogg_opus;
use super::RecordError;

/// Vendor string of the OpusTags packet [`repair`] writes when the original is lost.
pub const REPAIR_VENDOR: &str = concat!("jyqq-media ", env!("CARGO_PKG_VERSION"), " (repaired)");

/// A kept page: offset and length in the input.
#[derive(Debug, Clone, Copy)]
struct Kept {
    at: usize,
    len: usize,
}

/// Rewrites `bytes` as a complete Ogg Opus stream (RFC 7845 §3) that ends with an EOS
/// page.
///
/// Keeps, from the first Opus BOS page on, the pages of that logical stream for as long
/// as they are complete, CRC-valid and numbered in sequence; it stops at the first
/// damaged, partial or missing page (everything after it is dropped) or after the EOS
/// page. Pages of other logical streams are left out. Then:
/// - pages on which no packet ends (granule -1) are dropped from the end, and a packet
///   left unfinished on the new last page is cut off its segment table;
/// - the last page gets the EOS flag and a new CRC (RFC 3533 §6); if it carries packets
///   but granule -1 (a faulty writer), its granule position is computed as the previous
///   page's plus the TOC durations of the packets ending on it (RFC 7845 §4.3);
/// - when no complete OpusTags packet survives, one with vendor [`REPAIR_VENDOR`] is
///   written as the second page.
///
/// A stream that already ends correctly comes back byte for byte (minus any garbage
/// and other streams).
///
/// Errors: those of [`read_ogg_opus`] when the input has no Opus stream to keep.
pub fn repair(bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
    let info = read_ogg_opus(bytes)?;
    let kept = kept_pages(bytes, info.serial);
    let page = |k: &Kept| OggPage::parse_ignoring_crc(&bytes[k.at..k.at + k.len]).map(|(p, _)| p);

    // Find the last page on which a packet ends, and how many packets end up to there.
    let mut last_end = None;
    let mut completed = 0usize;
    let mut last_known_granule = 0u64;
    let mut granule_before_last = 0u64;
    for (i, k) in kept.iter().enumerate() {
        let p = page(k)?;
        let n = p.completed_packets();
        if n > 0 {
            granule_before_last = last_known_granule;
            last_end = Some(i);
            completed += n;
        }
        if let Some(g) = p.granule_known() {
            last_known_granule = g;
        }
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    // Invariant: read_ogg_opus succeeded, so the OpusHead BOS page is complete, valid and
    // kept, and a packet (OpusHead) ends on it.
    let Some(last) = last_end else {
        return Err(RecordError::NotOggOpus { crc_failures: info.crc_failures });
    };
    if completed < 2 {
        // Only OpusHead survived: keep it and write a fresh OpusTags page.
        let head = page(&kept[0])?;
        close_page(&mut out, &head, head.flags().without(PageFlags::EOS), head.granule())?;
        let tags = OpusTags::new(REPAIR_VENDOR).to_bytes()?;
        OggPageWriter::resume(head.serial(), head.sequence().wrapping_add(1)).write_page(
            &mut out,
            &[tags],
            0,
            PageFlags::EOS,
        )?;
        return Ok(out);
    }
    for k in &kept[..last] {
        out.extend_from_slice(&bytes[k.at..k.at + k.len]);
    }
    let p = page(&kept[last])?;
    let granule = match p.granule_known() {
        Some(g) => g,
        None => {
            let seq = p.sequence();
            let samples: u64 =
                info.packets().iter().filter(|a| a.page_sequence == seq).map(|a| u64::from(a.samples)).sum();
            granule_before_last.saturating_add(samples)
        }
    };
    close_page(&mut out, &p, p.flags().with(PageFlags::EOS), granule)?;
    Ok(out)
}

/// Appends `page` with `flags` and `granule`, its segment table cut after the last
/// packet that ends on it, and a fresh CRC.
fn close_page(out: &mut Vec<u8>, page: &OggPage<'_>, flags: PageFlags, granule: u64) -> Result<(), RecordError> {
    let lacing = page.segment_table();
    let cut = lacing.iter().rposition(|&v| v < 255).map_or(0, |i| i + 1);
    let body_len: usize = lacing[..cut].iter().map(|&v| usize::from(v)).sum();
    let g = if granule == GRANULE_NONE { 0 } else { granule };
    push_page(out, flags, g, page.serial(), page.sequence(), &lacing[..cut], &page.body()[..body_len])
}

/// The pages of stream `serial` from its BOS page on, while they are complete, valid
/// and in sequence; stops after the EOS page.
fn kept_pages(bytes: &[u8], serial: u32) -> Vec<Kept> {
    let mut kept = Vec::new();
    let mut pos = 0;
    // Find the BOS page of the stream, resynchronising over garbage.
    while let Some(rel) = find_capture(&bytes[pos..]) {
        let at = pos + rel;
        match OggPage::parse(&bytes[at..]) {
            Ok((p, len)) if p.serial() == serial && p.is_bos() => {
                kept.push(Kept { at, len });
                pos = at + len;
                break;
            }
            Ok((_, len)) => pos = at + len,
            Err(_) => pos = at + 1,
        }
    }
    let Some(first) = kept.first() else {
        return kept;
    };
    let Ok((head, _)) = OggPage::parse(&bytes[first.at..]) else {
        return kept;
    };
    let mut next = head.sequence().wrapping_add(1);
    while pos < bytes.len() {
        let Ok((p, len)) = OggPage::parse(&bytes[pos..]) else {
            break;
        };
        if p.serial() == serial {
            if p.sequence() != next || p.is_bos() {
                break;
            }
            next = next.wrapping_add(1);
            kept.push(Kept { at: pos, len });
            if p.is_eos() {
                break;
            }
        }
        pos += len;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::opus_head::OpusHead;

    /// A 20 ms SILK NB packet (TOC config 1, code 0): 960 samples.
    const PKT: [u8; 3] = [0x08, 0xAA, 0xBB];

    fn headers(w: &mut OggPageWriter, out: &mut Vec<u8>) {
        let head = OpusHead::new(1, 312, 0).unwrap().to_bytes();
        w.write_page(out, &[head], 0, PageFlags::BOS).unwrap();
        let tags = OpusTags::new("orig").to_bytes().unwrap();
        w.write_page(out, &[tags], 0, PageFlags::NONE).unwrap();
    }

    #[test]
    fn unknown_granule_on_the_last_page_is_computed() {
        let mut w = OggPageWriter::new(9);
        let mut b = Vec::new();
        headers(&mut w, &mut b);
        w.write_page(&mut b, &[PKT, PKT], 1920, PageFlags::NONE).unwrap();
        // A faulty writer: three packets end here but the granule is -1.
        w.write_page(&mut b, &[PKT, PKT, PKT], GRANULE_NONE, PageFlags::NONE).unwrap();
        let fixed = repair(&b).unwrap();
        assert_eq!(fixed.len(), b.len());
        let info = read_ogg_opus(&fixed).unwrap();
        assert!(info.is_conformant(), "{info:?}");
        assert_eq!(info.last_granule, Some(1920 + 3 * 960));
    }

    #[test]
    fn pages_without_a_packet_end_are_dropped_and_the_partial_packet_cut() {
        let mut w = OggPageWriter::new(9);
        let mut b = Vec::new();
        headers(&mut w, &mut b);
        let big = vec![0x08u8; 100_000]; // spans 2+ pages
        let n = w.write_packets(&mut b, &[&PKT[..], &big, &PKT], |i| 960 * (i as u64 + 1), PageFlags::EOS);
        assert_eq!(n, 2);
        let first_audio = {
            let (_, a) = OggPage::parse(&b).unwrap();
            let (_, t) = OggPage::parse(&b[a..]).unwrap();
            a + t
        };
        let (p, len) = OggPage::parse(&b[first_audio..]).unwrap();
        // Only PKT ends on the first audio page; the big packet starts there.
        assert_eq!(p.granule(), 960);
        // Cut inside the second audio page: the big packet never ends.
        let cut = first_audio + len + 1000;
        let fixed = repair(&b[..cut]).unwrap();
        // Header pages, then the first audio page cut to its first 3-byte packet.
        assert_eq!(fixed.len(), first_audio + 27 + 1 + 3);
        let info = read_ogg_opus(&fixed).unwrap();
        assert!(info.is_conformant(), "{info:?}");
        assert_eq!((info.audio_packets(), info.last_granule), (1, Some(960)));
    }

    #[test]
    fn garbage_other_streams_and_pages_after_damage_are_left_out() {
        let mut w = OggPageWriter::new(9);
        let mut other = OggPageWriter::new(77);
        let mut b = b"garbage".to_vec();
        headers(&mut w, &mut b);
        other.write_page(&mut b, &[b"other"], 0, PageFlags::BOS).unwrap();
        w.write_page(&mut b, &[PKT], 960, PageFlags::NONE).unwrap();
        let damaged_at = b.len();
        w.write_page(&mut b, &[PKT], 1920, PageFlags::NONE).unwrap();
        w.write_page(&mut b, &[PKT], 2880, PageFlags::EOS).unwrap();
        b[damaged_at + 30] ^= 0xFF;
        let fixed = repair(&b).unwrap();
        let info = read_ogg_opus(&fixed).unwrap();
        assert!(info.is_conformant(), "{info:?}");
        assert_eq!((info.pages, info.other_pages, info.last_granule), (3, 0, Some(960)));
        assert_eq!(info.tags.map(|t| t.vendor), Some("orig".to_owned()));
    }
}
