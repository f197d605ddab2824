//! Ogg pages (RFC 3533): the page CRC, a page writer and a zero-copy page parser.
//!
//! Page layout (RFC 3533 §6), all integers little endian:
//!
//! ```text
//! offset  size  field
//!  0       4    capture pattern "OggS"
//!  4       1    stream_structure_version (0)
//!  5       1    header_type flags: 0x01 continued, 0x02 BOS, 0x04 EOS
//!  6       8    granule_position (u64; all ones = no packet ends on this page)
//! 14       4    bitstream_serial_number
//! 18       4    page_sequence_number
//! 22       4    CRC_checksum (RFC 3533 §6: computed with this field zeroed)
//! 26       1    number_page_segments (0..=255)
//! 27       n    segment_table: lacing values; the body is their sum in bytes
//! ```
//!
//! A packet is cut into 255-byte segments plus one final segment shorter than 255
//! (possibly 0, so a packet whose length is a multiple of 255 ends with a 0 lacing
//! value); a packet that does not fit on a page continues on the next page, whose
//! header has the *continued* flag (RFC 3533 §5, §6).

use super::ogg_page::OggPage;
use super::RecordError;

/// The capture pattern that starts every page (RFC 3533 §6).
pub const CAPTURE_PATTERN: [u8; 4] = *b"OggS";
/// Bytes of the fixed page header before the segment table (RFC 3533 §6).
pub const PAGE_HEADER_LEN: usize = 27;
/// Largest number of segments (lacing values) on one page (RFC 3533 §6).
pub const MAX_PAGE_SEGMENTS: usize = 255;
/// Largest possible page: header, 255 lacing values and 255 full segments (65307 bytes).
pub const MAX_PAGE_LEN: usize = PAGE_HEADER_LEN + MAX_PAGE_SEGMENTS + MAX_PAGE_SEGMENTS * 255;
/// Granule position of a page on which no packet ends: -1 in two's complement
/// (RFC 3533 §6, RFC 7845 §4).
pub const GRANULE_NONE: u64 = u64::MAX;

/// Offset of the CRC field inside the page header (RFC 3533 §6).
pub(super) const CRC_OFFSET: usize = 22;

/// The RFC 3533 §6 CRC table: polynomial 0x04c11db7, MSB first (no reflection).
const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 { (r << 1) ^ 0x04c1_1db7 } else { r << 1 };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
}

/// CRC-32 of `data` as Ogg computes it (RFC 3533 §6): polynomial 0x04c11db7, initial
/// value 0, no reflection, no final XOR. For a page, compute it over the whole page with
/// the CRC field (bytes 22..26) set to zero.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continues an RFC 3533 §6 CRC-32 over more bytes: `crc32_update(crc32(a), b) == crc32(a ++ b)`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = crc;
    for &b in data {
        c = (c << 8) ^ CRC_TABLE[usize::from((c >> 24) as u8 ^ b)];
    }
    c
}

/// The CRC a page should carry: the RFC 3533 §6 CRC-32 of `page` with bytes 22..26
/// taken as zero. `page` must be at least [`PAGE_HEADER_LEN`] bytes long, else the
/// CRC of the bytes given (without zeroing) is returned.
pub fn page_crc(page: &[u8]) -> u32 {
    if page.len() < PAGE_HEADER_LEN {
        return crc32(page);
    }
    let c = crc32_update(0, &page[..CRC_OFFSET]);
    let c = crc32_update(c, &[0; 4]);
    crc32_update(c, &page[CRC_OFFSET + 4..])
}

/// The page `header_type` flags (RFC 3533 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PageFlags(u8);

impl PageFlags {
    /// No flag set.
    pub const NONE: PageFlags = PageFlags(0);
    /// 0x01: the page begins with the continuation of a packet from the previous page.
    pub const CONTINUED: PageFlags = PageFlags(0x01);
    /// 0x02: beginning of stream, the first page of a logical bitstream.
    pub const BOS: PageFlags = PageFlags(0x02);
    /// 0x04: end of stream, the last page of a logical bitstream.
    pub const EOS: PageFlags = PageFlags(0x04);

    /// The raw `header_type` byte.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Flags from a raw `header_type` byte (reserved bits are kept as they are).
    pub const fn from_bits(bits: u8) -> PageFlags {
        PageFlags(bits)
    }
    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: PageFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with the flags of `other` added.
    pub const fn with(self, other: PageFlags) -> PageFlags {
        PageFlags(self.0 | other.0)
    }
    /// `self` with the flags of `other` removed.
    pub const fn without(self, other: PageFlags) -> PageFlags {
        PageFlags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for PageFlags {
    type Output = PageFlags;
    fn bitor(self, rhs: PageFlags) -> PageFlags {
        self.with(rhs)
    }
}

/// Number of lacing values (segments) a packet of `len` bytes needs: `len / 255 + 1`
/// (RFC 3533 §5: a length that is a multiple of 255 ends with a 0 lacing value).
pub const fn lacing_segments(len: usize) -> usize {
    len / 255 + 1
}

/// Appends the 27-byte header and the segment table, CRC field zero (RFC 3533 §6).
fn push_header(out: &mut Vec<u8>, flags: PageFlags, granule: u64, serial: u32, sequence: u32, lacing: &[u8]) {
    out.extend_from_slice(&CAPTURE_PATTERN);
    out.push(0); // stream_structure_version
    out.push(flags.bits());
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    // Invariant: callers pass at most MAX_PAGE_SEGMENTS (255) lacing values.
    out.push(lacing.len() as u8);
    out.extend_from_slice(lacing);
}

/// Writes the RFC 3533 §6 CRC into a complete page (header, segment table and body).
fn store_crc(page: &mut [u8]) {
    let crc = page_crc(page);
    page[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Appends one page built from raw parts (RFC 3533 §6) to `out`, computing its CRC.
///
/// `lacing` is the segment table (at most 255 values) and `body` the bytes it
/// describes. Errors: [`RecordError::InvalidSegmentTable`] when `lacing` is longer than
/// 255 values or does not sum to `body.len()`; nothing is written then.
pub fn push_page(
    out: &mut Vec<u8>,
    flags: PageFlags,
    granule: u64,
    serial: u32,
    sequence: u32,
    lacing: &[u8],
    body: &[u8],
) -> Result<(), RecordError> {
    let sum: usize = lacing.iter().map(|&v| usize::from(v)).sum();
    if lacing.len() > MAX_PAGE_SEGMENTS || sum != body.len() {
        return Err(RecordError::InvalidSegmentTable { segments: lacing.len(), body_len: body.len() });
    }
    let start = out.len();
    out.reserve(PAGE_HEADER_LEN + lacing.len() + body.len());
    push_header(out, flags, granule, serial, sequence, lacing);
    out.extend_from_slice(body);
    store_crc(&mut out[start..]);
    Ok(())
}

/// Rewrites the flags and granule position of a complete page in place and recomputes
/// its CRC (RFC 3533 §6). This is how a writer marks an already written last page as
/// end of stream after a clean stop.
///
/// Errors: those of [`OggPage::parse_ignoring_crc`], or [`RecordError::NotOnePage`] when
/// `page` holds more than one page; `page` is unchanged then.
pub fn patch_page(page: &mut [u8], flags: PageFlags, granule: u64) -> Result<(), RecordError> {
    let (_, len) = OggPage::parse_ignoring_crc(page)?;
    if len != page.len() {
        return Err(RecordError::NotOnePage { page_len: len, given: page.len() });
    }
    page[5] = flags.bits();
    page[6..14].copy_from_slice(&granule.to_le_bytes());
    store_crc(page);
    Ok(())
}

/// Writes the pages of one logical bitstream (RFC 3533 §4): it owns the serial number
/// and the page sequence number, which starts at 0 and increases by one per page.
///
/// Pages are appended to a caller-supplied `Vec<u8>`, so a recorder reuses one buffer;
/// apart from growing that buffer nothing is allocated.
#[derive(Debug, Clone)]
pub struct OggPageWriter {
    serial: u32,
    sequence: u32,
}

impl OggPageWriter {
    /// A writer for the logical bitstream `serial`, next page sequence number 0.
    pub fn new(serial: u32) -> OggPageWriter {
        OggPageWriter { serial, sequence: 0 }
    }

    /// A writer that resumes a stream: the next page gets sequence number `next_sequence`.
    pub fn resume(serial: u32, next_sequence: u32) -> OggPageWriter {
        OggPageWriter { serial, sequence: next_sequence }
    }

    /// The bitstream serial number written on every page.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The sequence number the next page will carry (RFC 3533 §6, wraps at 2^32).
    pub fn next_sequence(&self) -> u32 {
        self.sequence
    }

    /// Writes whole `packets` ending on one page with granule position `granule`.
    ///
    /// The packets (Opus packets, headers…) must fit on one page — at most 255 lacing
    /// values in total, see [`lacing_segments`] — or be a single packet of any size,
    /// which is spread over as many pages as needed: pages on which it does not end get
    /// granule [`GRANULE_NONE`] and the continued flag is set on pages that begin with
    /// the rest of it (RFC 3533 §5–6). With no packets one empty page (0 segments) is
    /// written. `flags`: [`PageFlags::BOS`] goes on the first page written and
    /// [`PageFlags::EOS`] on the last; [`PageFlags::CONTINUED`] is ignored (it is
    /// derived). Returns the number of pages appended to `out`.
    ///
    /// Errors: [`RecordError::PageOverflow`] when several packets need more than one
    /// page (their intermediate granule positions are unknown here; use
    /// [`write_packets`](Self::write_packets)); nothing is written then.
    pub fn write_page<P: AsRef<[u8]>>(
        &mut self,
        out: &mut Vec<u8>,
        packets: &[P],
        granule: u64,
        flags: PageFlags,
    ) -> Result<u32, RecordError> {
        if packets.is_empty() {
            let f = flags.without(PageFlags::CONTINUED);
            push_header(out, f, granule, self.serial, self.sequence, &[]);
            let start = out.len() - PAGE_HEADER_LEN;
            store_crc(&mut out[start..]);
            self.sequence = self.sequence.wrapping_add(1);
            return Ok(1);
        }
        let segments: usize = packets.iter().map(|p| lacing_segments(p.as_ref().len())).sum();
        if packets.len() > 1 && segments > MAX_PAGE_SEGMENTS {
            return Err(RecordError::PageOverflow { segments });
        }
        Ok(self.write_packets(out, packets, |_| granule, flags))
    }

    /// Writes whole `packets` as one or more pages, filling each page up to 255 lacing
    /// values (RFC 3533 §5–6).
    ///
    /// `granule_at(i)` is the granule position at the end of packet `i` (for Opus: 48 kHz
    /// samples including pre-skip, RFC 7845 §4); each page carries the value of the last
    /// packet that ends on it, or [`GRANULE_NONE`] if none does. `flags` as for
    /// [`write_page`](Self::write_page). Returns the number of pages appended to `out`
    /// (0 when `packets` is empty).
    pub fn write_packets<P: AsRef<[u8]>, G: FnMut(usize) -> u64>(
        &mut self,
        out: &mut Vec<u8>,
        packets: &[P],
        mut granule_at: G,
        flags: PageFlags,
    ) -> u32 {
        let mut pages = 0u32;
        let mut lacing = [0u8; MAX_PAGE_SEGMENTS];
        let (mut p, mut off) = (0usize, 0usize);
        while p < packets.len() {
            let (first_p, first_off) = (p, off);
            let mut n = 0;
            let mut body_len = 0;
            let mut last_ended = None;
            while n < MAX_PAGE_SEGMENTS && p < packets.len() {
                let rest = packets[p].as_ref().len() - off;
                if rest >= 255 {
                    lacing[n] = 255;
                    off += 255;
                    body_len += 255;
                } else {
                    lacing[n] = rest as u8; // rest < 255
                    body_len += rest;
                    last_ended = Some(p);
                    p += 1;
                    off = 0;
                }
                n += 1;
            }
            let mut f = PageFlags::NONE;
            if first_off > 0 {
                f = f.with(PageFlags::CONTINUED);
            }
            if pages == 0 && flags.contains(PageFlags::BOS) {
                f = f.with(PageFlags::BOS);
            }
            if p == packets.len() && flags.contains(PageFlags::EOS) {
                f = f.with(PageFlags::EOS);
            }
            let granule = last_ended.map_or(GRANULE_NONE, &mut granule_at);
            let start = out.len();
            out.reserve(PAGE_HEADER_LEN + n + body_len);
            push_header(out, f, granule, self.serial, self.sequence, &lacing[..n]);
            // Copy the body: walk the same segments again from the page's first byte.
            let (mut q, mut o) = (first_p, first_off);
            for &v in &lacing[..n] {
                let v = usize::from(v);
                // Invariant: the loop above produced these lacing values from these
                // packets, so `o + v <= len` of packet `q`.
                out.extend_from_slice(&packets[q].as_ref()[o..o + v]);
                if v == 255 {
                    o += 255;
                } else {
                    q += 1;
                    o = 0;
                }
            }
            store_crc(&mut out[start..]);
            self.sequence = self.sequence.wrapping_add(1);
            pages += 1;
        }
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(bytes: &[u8]) -> Vec<OggPage<'_>> {
        let mut v = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (p, n) = OggPage::parse(&bytes[at..]).expect("writer output parses");
            v.push(p);
            at += n;
        }
        v
    }

    #[test]
    fn crc_check_value() {
        // CRC-32/CKSUM without its final XOR: check value 0x765e7680 ^ 0xffffffff.
        assert_eq!(crc32(b"123456789"), 0x89a1_897f);
        assert_eq!(crc32_update(crc32(b"1234"), b"56789"), 0x89a1_897f);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn lacing_of_edge_lengths() {
        for (len, want) in [
            (0usize, vec![0u8]),
            (1, vec![1]),
            (254, vec![254]),
            (255, vec![255, 0]),
            (256, vec![255, 1]),
            (510, vec![255, 255, 0]),
        ] {
            let mut w = OggPageWriter::new(7);
            let mut out = Vec::new();
            assert_eq!(w.write_page(&mut out, &[vec![0xAB; len]], 5, PageFlags::NONE).unwrap(), 1);
            let ps = pages(&out);
            assert_eq!(ps[0].segment_table(), &want[..], "len {len}");
            assert_eq!(ps[0].body().len(), len);
            assert_eq!(out.len(), 27 + want.len() + len);
        }
    }

    #[test]
    fn header_fields_round_trip() {
        let mut w = OggPageWriter::resume(0xDEAD_BEEF, 41);
        let mut out = Vec::new();
        w.write_page(&mut out, &[&b"abc"[..], &b"de"[..]], 0x0102_0304_0506_0708, PageFlags::BOS | PageFlags::EOS)
            .unwrap();
        assert_eq!(&out[..6], b"OggS\x00\x06");
        let (p, n) = OggPage::parse(&out).unwrap();
        assert_eq!(n, out.len());
        assert_eq!((p.serial(), p.sequence(), p.granule()), (0xDEAD_BEEF, 41, 0x0102_0304_0506_0708));
        assert!(p.is_bos() && p.is_eos() && !p.is_continued());
        assert_eq!(w.next_sequence(), 42);
        let parts: Vec<_> = p.parts().map(|x| (x.data, x.complete)).collect();
        assert_eq!(parts, vec![(&b"abc"[..], true), (&b"de"[..], true)]);
        assert_eq!(p.completed_packets(), 2);
    }

    #[test]
    fn big_packet_spans_pages_with_continued_and_no_granule() {
        // 255*255 + 300 bytes: 255 full segments on page 0, then 300 = 255 + 45 on page 1.
        let big: Vec<u8> = (0..255 * 255 + 300).map(|i| (i % 251) as u8).collect();
        let mut w = OggPageWriter::new(1);
        let mut out = Vec::new();
        assert_eq!(w.write_page(&mut out, &[&big], 999, PageFlags::BOS | PageFlags::EOS).unwrap(), 2);
        let ps = pages(&out);
        assert_eq!(ps[0].granule(), GRANULE_NONE);
        assert_eq!(ps[0].granule_known(), None);
        assert!(ps[0].is_bos() && !ps[0].is_eos() && !ps[0].is_continued());
        assert_eq!(ps[0].segment_table().len(), 255);
        assert_eq!(ps[0].completed_packets(), 0);
        assert_eq!((ps[1].granule(), ps[1].sequence()), (999, 1));
        assert!(!ps[1].is_bos() && ps[1].is_eos() && ps[1].is_continued());
        assert_eq!(ps[1].segment_table(), &[255, 45]);
        let part = ps[1].parts().next().unwrap();
        assert!(part.continues_previous && part.complete);
        let joined: Vec<u8> = [ps[0].body(), ps[1].body()].concat();
        assert_eq!(joined, big);
    }

    #[test]
    fn multiple_of_255_across_page_boundary_ends_with_zero_lacing() {
        let big = vec![1u8; 255 * 255];
        let mut w = OggPageWriter::new(1);
        let mut out = Vec::new();
        w.write_page(&mut out, &[&big], 7, PageFlags::NONE).unwrap();
        let ps = pages(&out);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[1].segment_table(), &[0]);
        assert!(ps[1].is_continued());
        assert_eq!(ps[1].granule(), 7);
    }

    #[test]
    fn write_packets_gives_each_page_its_last_packet_granule() {
        // 100 packets of 600 bytes = 3 segments each: 85 packets per page.
        let pk: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 600]).collect();
        let mut w = OggPageWriter::new(3);
        let mut out = Vec::new();
        let n = w.write_packets(&mut out, &pk, |i| 312 + 960 * (i as u64 + 1), PageFlags::EOS);
        assert_eq!(n, 2);
        let ps = pages(&out);
        assert_eq!((ps[0].completed_packets(), ps[0].granule()), (85, 312 + 960 * 85));
        assert_eq!((ps[1].completed_packets(), ps[1].granule()), (15, 312 + 960 * 100));
        assert!(!ps[0].is_eos() && ps[1].is_eos() && !ps[1].is_continued());
        let mut too_many = Vec::new();
        assert_eq!(
            w.write_page(&mut too_many, &pk, 1, PageFlags::NONE),
            Err(RecordError::PageOverflow { segments: 300 })
        );
        assert!(too_many.is_empty());
    }

    #[test]
    fn empty_page() {
        let mut w = OggPageWriter::new(9);
        let mut out = Vec::new();
        w.write_page::<&[u8]>(&mut out, &[], 48312, PageFlags::EOS).unwrap();
        let (p, n) = OggPage::parse(&out).unwrap();
        assert_eq!((n, p.granule(), p.parts().count()), (27, 48312, 0));
        assert!(p.is_eos());
    }

    #[test]
    fn patch_sets_eos_and_keeps_crc_valid() {
        let mut w = OggPageWriter::new(9);
        let mut out = Vec::new();
        w.write_page(&mut out, &[b"xyz"], 960, PageFlags::NONE).unwrap();
        patch_page(&mut out, PageFlags::EOS, 900).unwrap();
        let (p, _) = OggPage::parse(&out).unwrap();
        assert!(p.is_eos());
        assert_eq!(p.granule(), 900);
        assert!(patch_page(&mut out[..20], PageFlags::EOS, 0).is_err());
    }

    #[test]
    fn push_page_checks_segment_table() {
        let mut out = Vec::new();
        assert!(push_page(&mut out, PageFlags::NONE, 0, 1, 2, &[3], b"ab").is_err());
        assert!(out.is_empty());
        push_page(&mut out, PageFlags::NONE, 0, 1, 2, &[2], b"ab").unwrap();
        assert_eq!(OggPage::parse(&out).unwrap().1, 30);
    }
}
