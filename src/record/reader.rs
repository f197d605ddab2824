//! Reading and checking Ogg Opus files (RFC 7845 over RFC 3533) without decoding them.
//!
//! [`read_ogg_opus`] walks the pages of the first Opus logical stream, reassembles its
//! packets, and reports the headers, page and packet counts, framing faults (CRC
//! failures, sequence gaps, garbage, a truncated last page) and the RFC 7845 §3–4 rules
//! that the stream breaks. It tolerates what crashes and networks leave behind: a
//! partial last page, missing EOS, garbage between pages (it resynchronises on the
//! "OggS" capture pattern, RFC 3533 §6). The audio packets are returned as byte ranges
//! of the input so a caller can decode them with libopus.

use super::ogg::CAPTURE_PATTERN;
use super::ogg_opus_info::{AudioPacket, OggOpusInfo, OggOpusIssue, SequenceGap};
use super::ogg_page::{find_capture, OggPage};
use super::opus_head::{OpusHead, OpusTags, OPUS_HEAD_MAGIC, OPUS_TAGS_MAGIC};
use super::opus_toc::opus_packet_samples;
use super::RecordError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Tags,
    Audio,
}

/// The state of the Opus stream being read.
struct Stream {
    info: OggOpusInfo,
    stage: Stage,
    next_sequence: u32,
    /// Index in `info.ranges` where the unfinished packet starts.
    partial: Option<usize>,
    /// Granule position of the previous audio page, unless a hole broke the chain.
    prev_granule: Option<u64>,
    /// An audio page with a completed packet and a granule position has been seen.
    audio_started: bool,
    eos_seen: bool,
    scratch: Vec<u8>,
}

impl Stream {
    fn note(&mut self, issue: OggOpusIssue) {
        let d = std::mem::discriminant(&issue);
        if !self.info.issues.iter().any(|i| std::mem::discriminant(i) == d) {
            self.info.issues.push(issue);
        }
    }

    fn drop_partial(&mut self) {
        if let Some(start) = self.partial.take() {
            self.info.ranges.truncate(start);
            self.info.dropped_packets += 1;
        }
    }

    /// One complete, CRC-valid page of this stream starting at `at` in `bytes`.
    fn page(&mut self, bytes: &[u8], page: &OggPage<'_>, at: usize, first: bool) {
        if self.eos_seen {
            self.info.pages_after_eos += 1;
            return;
        }
        self.info.pages += 1;
        if !first && page.sequence() != self.next_sequence {
            if self.info.first_sequence_gap.is_none() {
                self.info.first_sequence_gap =
                    Some(SequenceGap { expected: self.next_sequence, found: page.sequence() });
            }
            self.info.sequence_contiguous = false;
            self.drop_partial();
            self.prev_granule = None;
        }
        self.next_sequence = page.sequence().wrapping_add(1);
        let body_at = at + page.body_offset();
        let first_audio = self.info.packets.len();
        let mut samples_on_page = 0u64;
        let mut parts = 0usize;
        let mut tags_ended = false;
        let mut after_tags = false;
        for part in page.parts() {
            parts += 1;
            after_tags |= tags_ended;
            if part.continues_previous {
                if self.partial.is_none() {
                    self.info.dropped_packets += u32::from(part.complete);
                    continue;
                }
            } else {
                self.drop_partial();
                self.partial = Some(self.info.ranges.len());
            }
            let start = body_at + part.body_offset;
            self.info.ranges.push(start..start + part.data.len());
            if !part.complete {
                continue;
            }
            let Some(begin) = self.partial.take() else {
                continue;
            };
            if first && parts == 1 {
                // OpusHead, parsed when the stream was found.
                self.info.ranges.truncate(begin);
            } else if self.stage == Stage::Tags && self.is_tags(bytes, begin) {
                self.info.ranges.truncate(begin);
                self.stage = Stage::Audio;
                tags_ended = true;
            } else {
                self.stage = Stage::Audio;
                samples_on_page += u64::from(self.audio_packet(bytes, begin, page.sequence()));
            }
        }
        if first && (parts != 1 || page.completed_packets() != 1) {
            self.note(OggOpusIssue::HeadPageNotAlone);
        }
        if first && page.granule() != 0 {
            self.note(OggOpusIssue::HeadPageGranule(page.granule()));
        }
        if tags_ended && page.granule() != 0 {
            self.note(OggOpusIssue::TagsPageGranule(page.granule()));
        }
        if after_tags {
            self.note(OggOpusIssue::AudioOnTagsPage);
        }
        if self.info.packets.len() > first_audio {
            self.audio_page(page, first_audio, samples_on_page);
        }
        if page.is_eos() {
            self.eos_seen = true;
            self.drop_partial();
        }
    }

    /// Whether the packet from range `begin` is OpusTags; parses it into `info.tags`.
    fn is_tags(&mut self, bytes: &[u8], begin: usize) -> bool {
        self.scratch.clear();
        for r in &self.info.ranges[begin..] {
            self.scratch.extend_from_slice(&bytes[r.clone()]);
        }
        if !self.scratch.starts_with(&OPUS_TAGS_MAGIC) {
            self.note(OggOpusIssue::MissingOpusTags);
            return false;
        }
        match OpusTags::parse(&self.scratch) {
            Ok(t) => self.info.tags = Some(t),
            Err(RecordError::InvalidOpusTags(why)) => self.note(OggOpusIssue::InvalidOpusTags(why)),
            Err(_) => self.note(OggOpusIssue::InvalidOpusTags("unparsable")),
        }
        true
    }

    /// Records the audio packet whose pieces start at range `begin`; returns its samples.
    fn audio_packet(&mut self, bytes: &[u8], begin: usize, page_sequence: u32) -> u32 {
        let first_piece = &bytes[self.info.ranges[begin].clone()];
        let samples = opus_packet_samples(first_piece).unwrap_or_else(|| {
            self.info.malformed_packets += 1;
            0
        });
        self.info.total_samples += u64::from(samples);
        let end = self.info.ranges.len();
        // Ranges beyond u32::MAX pieces cannot occur: each piece is at least one
        // lacing value and inputs are bounded by memory; clamp rather than panic.
        let pieces = u32::try_from(begin).unwrap_or(u32::MAX)..u32::try_from(end).unwrap_or(u32::MAX);
        self.info.packets.push(AudioPacket { samples, page_sequence, granule_end: None, pieces });
        samples
    }

    /// Granule checks of RFC 7845 §4.3–4.5 for a page on which audio packets
    /// `first_audio..` end.
    fn audio_page(&mut self, page: &OggPage<'_>, first_audio: usize, samples: u64) {
        let Some(granule) = page.granule_known() else {
            self.note(OggOpusIssue::MissingGranule { sequence: page.sequence() });
            self.prev_granule = None;
            return;
        };
        let last_packet = self.info.packets.last().map_or(0, |p| p.samples);
        if !self.audio_started {
            self.audio_started = true;
            if granule >= samples {
                self.info.start_offset = granule - samples;
            } else if page.is_eos() {
                self.info.end_trim = samples - granule;
            } else {
                self.note(OggOpusIssue::FirstAudioGranuleTooSmall { granule, samples });
            }
        } else if let Some(prev) = self.prev_granule {
            let expected = prev.saturating_add(samples);
            if page.is_eos() && granule < expected {
                self.info.end_trim = expected - granule;
                if granule < prev {
                    self.note(OggOpusIssue::EndTrimBeyondPage { granule, previous: prev });
                }
            } else if granule != expected {
                self.info.granule_mismatches += 1;
                self.note(OggOpusIssue::GranuleMismatch { sequence: page.sequence(), granule, expected });
            }
        }
        if page.is_eos() && self.info.end_trim > u64::from(last_packet) {
            self.note(OggOpusIssue::EndTrimExceedsLastPacket { trimmed: self.info.end_trim, last_packet });
        }
        self.prev_granule = Some(granule);
        self.info.last_granule = Some(granule);
        let mut end = granule;
        for p in self.info.packets[first_audio..].iter_mut().rev() {
            p.granule_end = Some(end);
            end = end.saturating_sub(u64::from(p.samples));
        }
    }
}

/// Reads the first Opus logical stream of an Ogg file (RFC 7845, RFC 3533) without
/// decoding: headers, counts, faults and the audio packets' byte ranges.
///
/// Tolerated and reported in the result: garbage before, between or after pages
/// (resynchronisation on "OggS"), pages with a bad CRC (dropped), a truncated last page,
/// a missing EOS, sequence gaps, pages of other logical streams, and the RFC 7845 §3–4
/// rule violations listed in [`OggOpusIssue`].
///
/// Errors: [`RecordError::NoOggPage`] when the input has no complete, CRC-valid page;
/// [`RecordError::NotOggOpus`] when no BOS page starts with an OpusHead packet; the
/// [`RecordError::InvalidOpusHead`] of [`OpusHead::parse`] when that header breaks
/// RFC 7845 §5.1.
pub fn read_ogg_opus(bytes: &[u8]) -> Result<OggOpusInfo, RecordError> {
    let mut stream: Option<Stream> = None;
    let (mut garbage, mut tail, mut crc_failures) = (0usize, 0usize, 0u32);
    let (mut pages_seen, mut other_pages, mut bos, mut eos) = (0u32, 0u32, 0u32, 0u32);
    let mut last_is_our_eos = false;
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(rel) = find_capture(&bytes[pos..]) else {
            // A page cut within its first 3 bytes leaves a prefix of "OggS".
            let rest = &bytes[pos..];
            let k = (1..CAPTURE_PATTERN.len()).rev().find(|&k| rest.ends_with(&CAPTURE_PATTERN[..k])).unwrap_or(0);
            garbage += rest.len() - k;
            tail = k;
            break;
        };
        let at = pos + rel;
        garbage += rel;
        let (page, len) = match OggPage::parse(&bytes[at..]) {
            Ok(ok) => ok,
            Err(RecordError::OggTruncated { .. }) if find_capture(&bytes[at + 1..]).is_none() => {
                tail = bytes.len() - at;
                break;
            }
            Err(e) => {
                crc_failures += u32::from(matches!(e, RecordError::OggCrc { .. }));
                garbage += 1;
                pos = at + 1;
                continue;
            }
        };
        pos = at + len;
        pages_seen += 1;
        bos += u32::from(page.is_bos());
        eos += u32::from(page.is_eos());
        match stream.as_mut() {
            Some(s) if s.info.serial == page.serial() => s.page(bytes, &page, at, false),
            Some(_) => other_pages += 1,
            None => {
                let first = page.parts().next();
                match first {
                    Some(p) if page.is_bos() && p.data.starts_with(&OPUS_HEAD_MAGIC) => {
                        let head = OpusHead::parse(p.data)?;
                        let mut s = new_stream(head, page.serial());
                        s.page(bytes, &page, at, true);
                        stream = Some(s);
                    }
                    _ => other_pages += 1,
                }
            }
        }
        last_is_our_eos = page.is_eos() && stream.as_ref().is_some_and(|s| s.info.serial == page.serial());
    }
    let Some(mut s) = stream else {
        return Err(if pages_seen == 0 {
            RecordError::NoOggPage { crc_failures }
        } else {
            RecordError::NotOggOpus { crc_failures }
        });
    };
    if !s.eos_seen {
        s.drop_partial();
    }
    if s.stage == Stage::Tags && s.info.tags.is_none() {
        s.note(OggOpusIssue::MissingOpusTags);
    }
    if let Some(g) = s.info.last_granule {
        if g < s.info.start_offset.saturating_add(u64::from(s.info.head.pre_skip)) {
            s.note(OggOpusIssue::PreSkipBeyondEnd);
        }
    }
    let mut info = s.info;
    info.other_pages = other_pages;
    info.bos_pages = bos;
    info.eos_pages = eos;
    info.eos_on_last_page = last_is_our_eos;
    info.crc_failures = crc_failures;
    info.garbage_bytes = garbage;
    info.truncated_tail_bytes = tail;
    Ok(info)
}

fn new_stream(head: OpusHead, serial: u32) -> Stream {
    Stream {
        info: OggOpusInfo::new(head, serial),
        stage: Stage::Tags,
        next_sequence: 0,
        partial: None,
        prev_granule: None,
        audio_started: false,
        eos_seen: false,
        scratch: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ogg::{push_page, OggPageWriter, PageFlags, GRANULE_NONE};

    /// A 20 ms SILK NB packet (TOC config 1, code 0): 960 samples.
    const PKT: [u8; 3] = [0x08, 0xAA, 0xBB];

    fn headers(w: &mut OggPageWriter, out: &mut Vec<u8>) {
        let head = OpusHead::new(1, 312, 8000).unwrap().to_bytes();
        w.write_page(out, &[head], 0, PageFlags::BOS).unwrap();
        let tags = OpusTags::new("t").to_bytes().unwrap();
        w.write_page(out, &[tags], 0, PageFlags::NONE).unwrap();
    }

    /// Headers and `pages` audio pages of two packets each, EOS on the last.
    fn stream(pages: usize) -> Vec<u8> {
        let mut w = OggPageWriter::new(5);
        let mut out = Vec::new();
        headers(&mut w, &mut out);
        for k in 0..pages {
            let f = if k + 1 == pages { PageFlags::EOS } else { PageFlags::NONE };
            w.write_page(&mut out, &[PKT, PKT], 1920 * (k as u64 + 1), f).unwrap();
        }
        out
    }

    #[test]
    fn clean_stream() {
        let b = stream(3);
        let info = read_ogg_opus(&b).unwrap();
        assert!(info.is_conformant(), "{info:?}");
        assert_eq!((info.pages, info.audio_packets(), info.total_samples), (5, 6, 5760));
        assert_eq!(info.last_granule, Some(5760));
        assert_eq!(info.decoded_samples(), 5760 - 312);
        let ends: Vec<_> = info.packets().iter().map(|p| p.granule_end).collect();
        assert_eq!(ends, [960, 1920, 2880, 3840, 4800, 5760].map(Some));
        let data: Vec<_> = info.packet_iter(&b).collect();
        assert!(data.iter().all(|d| d[..] == PKT));
    }

    #[test]
    fn garbage_and_partial_capture_pattern_are_counted() {
        let clean = stream(2);
        let (p0, p1) = (47, 47 + 27 + 1 + 17);
        let mut b = b"junk!".to_vec();
        b.extend_from_slice(&clean[..p1]);
        b.extend_from_slice(b"xyz");
        b.extend_from_slice(&clean[p1..]);
        b.extend_from_slice(b"Og");
        assert_eq!(&clean[p0..p0 + 4], b"OggS");
        let info = read_ogg_opus(&b).unwrap();
        assert_eq!((info.garbage_bytes, info.truncated_tail_bytes), (8, 2));
        assert_eq!((info.pages, info.audio_packets()), (4, 4));
        assert!(!info.eos_on_last_page || info.truncated_tail_bytes > 0);
        assert!(!info.is_conformant());
    }

    #[test]
    fn header_layout_rules() {
        // OpusHead and OpusTags on one page, audio with granule -1 then a wrong granule,
        // a malformed (empty) packet, and a page after EOS.
        let mut w = OggPageWriter::new(5);
        let mut b = Vec::new();
        let head = OpusHead::new(1, 0, 0).unwrap().to_bytes();
        let tags = OpusTags::new("t").to_bytes().unwrap();
        w.write_page(&mut b, &[head, tags], 0, PageFlags::BOS).unwrap();
        w.write_page(&mut b, &[PKT], 960, PageFlags::NONE).unwrap();
        w.write_page(&mut b, &[PKT], GRANULE_NONE, PageFlags::NONE).unwrap();
        w.write_page(&mut b, &[PKT], 5000, PageFlags::NONE).unwrap();
        w.write_page(&mut b, &[PKT], 7000, PageFlags::NONE).unwrap();
        w.write_page(&mut b, &[&PKT[..], &[]], 7960, PageFlags::EOS).unwrap();
        w.write_page(&mut b, &[PKT], 9999, PageFlags::NONE).unwrap();
        let info = read_ogg_opus(&b).unwrap();
        assert_eq!(info.tags.as_ref().map(|t| t.vendor.as_str()), Some("t"));
        assert_eq!(
            info.issues,
            vec![
                OggOpusIssue::HeadPageNotAlone,
                OggOpusIssue::MissingGranule { sequence: 2 },
                OggOpusIssue::GranuleMismatch { sequence: 4, granule: 7000, expected: 5960 },
            ]
        );
        assert_eq!((info.malformed_packets, info.pages_after_eos, info.granule_mismatches), (1, 1, 1));
        assert_eq!((info.audio_packets(), info.last_granule), (6, Some(7960)));
        assert!(!info.eos_on_last_page);
    }

    #[test]
    fn tags_page_rules_and_orphan_continuation() {
        let mut w = OggPageWriter::new(5);
        let mut b = Vec::new();
        let head = OpusHead::new(2, 312, 0).unwrap().to_bytes();
        w.write_page(&mut b, &[head], 0, PageFlags::BOS).unwrap();
        let tags = OpusTags::new("t").to_bytes().unwrap();
        w.write_page(&mut b, &[&tags[..], &PKT], 960, PageFlags::NONE).unwrap();
        // Sequence 3 is missing; page 4 starts with the end of a packet we never saw.
        push_page(&mut b, PageFlags::CONTINUED, 5, 5, 3 + 1, &[5, 3], &[1, 2, 3, 4, 5, 8, 9, 9]).unwrap();
        let info = read_ogg_opus(&b).unwrap();
        assert_eq!(
            info.issues,
            vec![
                OggOpusIssue::TagsPageGranule(960),
                OggOpusIssue::AudioOnTagsPage,
                // After the gap the granule chain restarts (no mismatch is judged), and
                // granule 5 is below the 312 samples of pre-skip.
                OggOpusIssue::PreSkipBeyondEnd,
            ]
        );
        assert_eq!(info.first_sequence_gap, Some(SequenceGap { expected: 2, found: 4 }));
        assert_eq!((info.dropped_packets, info.audio_packets()), (1, 2));
    }

    #[test]
    fn errors_for_non_opus_input() {
        assert_eq!(read_ogg_opus(b"").unwrap_err(), RecordError::NoOggPage { crc_failures: 0 });
        let mut b = Vec::new();
        OggPageWriter::new(1).write_page(&mut b, &[b"fLaC-ish"], 0, PageFlags::BOS).unwrap();
        assert_eq!(read_ogg_opus(&b).unwrap_err(), RecordError::NotOggOpus { crc_failures: 0 });
        let mut bad = stream(1);
        bad[30] ^= 1;
        assert_eq!(read_ogg_opus(&bad).unwrap_err(), RecordError::NotOggOpus { crc_failures: 1 });
        let mut b = Vec::new();
        OggPageWriter::new(1).write_page(&mut b, &[b"OpusHead\x01"], 0, PageFlags::BOS).unwrap();
        assert!(matches!(read_ogg_opus(&b), Err(RecordError::InvalidOpusHead(_))));
    }
}
