//! Parsing Ogg pages (RFC 3533 §6) without copying: [`OggPage`] borrows the input and
//! iterates the packet pieces of its body.

use super::ogg::{page_crc, PageFlags, CAPTURE_PATTERN, CRC_OFFSET, GRANULE_NONE, PAGE_HEADER_LEN};
use super::RecordError;

/// Offset of the first [`CAPTURE_PATTERN`] in `bytes`, if any (resynchronisation after
/// garbage, RFC 3533 §6 "capture pattern").
pub fn find_capture(bytes: &[u8]) -> Option<usize> {
    bytes.windows(CAPTURE_PATTERN.len()).position(|w| w == CAPTURE_PATTERN)
}

/// One page of an Ogg stream, borrowed from the input (RFC 3533 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OggPage<'a> {
    /// The whole page: header, segment table and body.
    bytes: &'a [u8],
    /// `27 + number_page_segments`.
    header_len: usize,
}

impl<'a> OggPage<'a> {
    /// Parses the page at the start of `bytes` and checks its CRC (RFC 3533 §6).
    /// Returns the page and the number of bytes it occupies.
    ///
    /// Errors: [`RecordError::OggCapturePattern`] (no "OggS" at offset 0),
    /// [`RecordError::OggVersion`] (version ≠ 0), [`RecordError::OggTruncated`] (the
    /// header, segment table or body runs past the input) and [`RecordError::OggCrc`].
    pub fn parse(bytes: &'a [u8]) -> Result<(OggPage<'a>, usize), RecordError> {
        let (page, len) = Self::parse_ignoring_crc(bytes)?;
        let computed = page_crc(page.bytes);
        if computed != page.stored_crc() {
            return Err(RecordError::OggCrc { stored: page.stored_crc(), computed, page_len: len });
        }
        Ok((page, len))
    }

    /// As [`parse`](Self::parse) but without the CRC check (for repair tools and for
    /// locating the end of a damaged page); see [`crc_is_valid`](Self::crc_is_valid).
    pub fn parse_ignoring_crc(bytes: &'a [u8]) -> Result<(OggPage<'a>, usize), RecordError> {
        let head = &bytes[..bytes.len().min(CAPTURE_PATTERN.len())];
        if head != &CAPTURE_PATTERN[..head.len()] {
            return Err(RecordError::OggCapturePattern);
        }
        if bytes.len() < PAGE_HEADER_LEN {
            return Err(RecordError::OggTruncated { needed: PAGE_HEADER_LEN, available: bytes.len() });
        }
        if bytes[4] != 0 {
            return Err(RecordError::OggVersion(bytes[4]));
        }
        let header_len = PAGE_HEADER_LEN + usize::from(bytes[26]);
        if bytes.len() < header_len {
            return Err(RecordError::OggTruncated { needed: header_len, available: bytes.len() });
        }
        let body_len: usize = bytes[PAGE_HEADER_LEN..header_len].iter().map(|&v| usize::from(v)).sum();
        let len = header_len + body_len;
        if bytes.len() < len {
            return Err(RecordError::OggTruncated { needed: len, available: bytes.len() });
        }
        Ok((OggPage { bytes: &bytes[..len], header_len }, len))
    }

    /// Whether the stored CRC matches the page (RFC 3533 §6).
    pub fn crc_is_valid(&self) -> bool {
        page_crc(self.bytes) == self.stored_crc()
    }
    /// The whole page as it appears in the stream.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Page length in bytes (header, segment table and body).
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }
    /// The `header_type` flags.
    pub fn flags(&self) -> PageFlags {
        PageFlags::from_bits(self.bytes[5])
    }
    /// Beginning-of-stream flag (0x02).
    pub fn is_bos(&self) -> bool {
        self.flags().contains(PageFlags::BOS)
    }
    /// End-of-stream flag (0x04).
    pub fn is_eos(&self) -> bool {
        self.flags().contains(PageFlags::EOS)
    }
    /// Continued-packet flag (0x01): the body starts with the rest of a packet.
    pub fn is_continued(&self) -> bool {
        self.flags().contains(PageFlags::CONTINUED)
    }
    /// The raw granule position ([`GRANULE_NONE`] when no packet ends on the page).
    pub fn granule(&self) -> u64 {
        u64::from_le_bytes(self.field::<8>(6))
    }
    /// The granule position, or `None` when it is -1 (RFC 3533 §6).
    pub fn granule_known(&self) -> Option<u64> {
        Some(self.granule()).filter(|&g| g != GRANULE_NONE)
    }
    /// The bitstream serial number.
    pub fn serial(&self) -> u32 {
        u32::from_le_bytes(self.field::<4>(14))
    }
    /// The page sequence number.
    pub fn sequence(&self) -> u32 {
        u32::from_le_bytes(self.field::<4>(18))
    }
    /// The CRC stored in the header.
    pub fn stored_crc(&self) -> u32 {
        u32::from_le_bytes(self.field::<4>(CRC_OFFSET))
    }
    /// The segment table (lacing values).
    pub fn segment_table(&self) -> &'a [u8] {
        &self.bytes[PAGE_HEADER_LEN..self.header_len]
    }
    /// Offset of the body from the start of the page.
    pub fn body_offset(&self) -> usize {
        self.header_len
    }
    /// The page body: the packet data the segment table describes.
    pub fn body(&self) -> &'a [u8] {
        &self.bytes[self.header_len..]
    }
    /// Number of packets that end on this page (lacing values below 255).
    pub fn completed_packets(&self) -> usize {
        self.segment_table().iter().filter(|&&v| v < 255).count()
    }
    /// The packet pieces on this page, in order.
    pub fn parts(&self) -> PacketParts<'a> {
        PacketParts { lacing: self.segment_table(), body: self.body(), seg: 0, pos: 0, continued: self.is_continued() }
    }

    fn field<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.bytes[at..at + N]);
        a
    }
}

/// A piece of a packet on one page: a whole packet, or the start, middle or end of one
/// that spans pages (RFC 3533 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketPart<'a> {
    /// The bytes of this piece.
    pub data: &'a [u8],
    /// Offset of `data` from the start of the page body.
    pub body_offset: usize,
    /// The piece continues a packet begun on an earlier page.
    pub continues_previous: bool,
    /// The packet ends on this page (its last lacing value is below 255).
    pub complete: bool,
}

/// Iterator over the [`PacketPart`]s of a page; see [`OggPage::parts`].
#[derive(Debug, Clone)]
pub struct PacketParts<'a> {
    lacing: &'a [u8],
    body: &'a [u8],
    seg: usize,
    pos: usize,
    continued: bool,
}

impl<'a> Iterator for PacketParts<'a> {
    type Item = PacketPart<'a>;
    fn next(&mut self) -> Option<PacketPart<'a>> {
        if self.seg >= self.lacing.len() {
            return None;
        }
        let start = self.pos;
        let mut complete = false;
        while self.seg < self.lacing.len() {
            let v = self.lacing[self.seg];
            self.seg += 1;
            self.pos += usize::from(v);
            if v < 255 {
                complete = true;
                break;
            }
        }
        let continues_previous = std::mem::replace(&mut self.continued, false) && start == 0;
        // Invariant: OggPage::parse checked that the lacing values sum to body.len().
        Some(PacketPart { data: &self.body[start..self.pos], body_offset: start, continues_previous, complete })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ogg::OggPageWriter;

    #[test]
    fn parse_errors_are_values() {
        let mut w = OggPageWriter::new(9);
        let mut out = Vec::new();
        w.write_page(&mut out, &[vec![5u8; 300]], 1, PageFlags::BOS).unwrap();
        for cut in 0..out.len() {
            match OggPage::parse(&out[..cut]) {
                Err(RecordError::OggTruncated { needed, available }) => {
                    assert_eq!(available, cut);
                    assert!(needed > cut);
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        let mut bad = out.clone();
        bad[100] ^= 1;
        let crc_err = OggPage::parse(&bad);
        assert!(matches!(crc_err, Err(RecordError::OggCrc { page_len, .. }) if page_len == out.len()));
        assert!(!OggPage::parse_ignoring_crc(&bad).unwrap().0.crc_is_valid());
        bad = out.clone();
        bad[4] = 1;
        assert_eq!(OggPage::parse(&bad), Err(RecordError::OggVersion(1)));
        assert_eq!(OggPage::parse(b"OggX"), Err(RecordError::OggCapturePattern));
        assert_eq!(OggPage::parse(b"Ox"), Err(RecordError::OggCapturePattern));
    }

    #[test]
    fn parts_of_a_continued_page() {
        // Page: continued, lacing [255, 10, 3] = end of a spanning packet (265 bytes
        // here), then a 3-byte packet.
        let mut out = Vec::new();
        let body: Vec<u8> = (0..268u32).map(|i| i as u8).collect();
        crate::record::ogg::push_page(&mut out, PageFlags::CONTINUED, 7, 1, 2, &[255, 10, 3], &body).unwrap();
        let (p, _) = OggPage::parse(&out).unwrap();
        let parts: Vec<_> = p.parts().collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].continues_previous && parts[0].complete);
        assert_eq!((parts[0].body_offset, parts[0].data.len()), (0, 265));
        assert!(!parts[1].continues_previous && parts[1].complete);
        assert_eq!((parts[1].body_offset, parts[1].data), (265, &body[265..]));
        assert_eq!(find_capture(b"xxOggSyy"), Some(2));
        assert_eq!(find_capture(b"OggxS"), None);
    }
}
