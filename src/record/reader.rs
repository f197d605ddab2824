//! Reading and checking Ogg Opus files (RFC 7845 over RFC 3533) without decoding them.
//!
//! [`read_ogg_opus`] walks the pages of the first Opus logical stream, reassembles its
//! packets, and reports the headers, page and packet counts, framing faults (CRC
//! failures, sequence gaps, garbage, a truncated last page) and the RFC 7845 §3–4 rules
//! that the stream breaks. It tolerates what crashes and networks leave behind: a
//! partial last page, missing EOS, garbage between pages (it resynchronises on the
//! "OggS" capture pattern, RFC 3533 §6). The audio packets are returned as byte ranges
//! of the input so a caller can decode them with libopus.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use super::ogg_page::{find_capture, OggPage};
use super::opus_head::{OpusHead, OpusTags, OPUS_HEAD_MAGIC, OPUS_TAGS_MAGIC};
use super::opus_toc::opus_packet_samples;
use super::RecordError;

/// Granule positions of Ogg Opus count 48 kHz samples per channel (RFC 7845 §4).
pub const OPUS_GRANULE_RATE: u32 = 48_000;

/// Where the page sequence numbers of the stream first jump (RFC 3533 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceGap {
    /// The sequence number due: previous page's number + 1.
    pub expected: u32,
    /// The sequence number found.
    pub found: u32,
}

/// An RFC 7845 rule the stream breaks. Each kind is reported once, at its first
/// occurrence; counters in [`OggOpusInfo`] give totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OggOpusIssue {
    /// The BOS page holds more than the one complete OpusHead packet (RFC 7845 §3).
    HeadPageNotAlone,
    /// The OpusHead page's granule position is not 0 (RFC 7845 §3).
    HeadPageGranule(u64),
    /// No complete OpusTags packet follows OpusHead (truncated file, or the second
    /// packet is not OpusTags and is then counted as audio) (RFC 7845 §3).
    MissingOpusTags,
    /// The OpusTags packet does not parse; the reason (RFC 7845 §5.2).
    InvalidOpusTags(&'static str),
    /// The page on which OpusTags ends also holds audio data (RFC 7845 §3: the first
    /// audio packet begins a new page).
    AudioOnTagsPage,
    /// The page on which OpusTags ends has a granule position other than 0 (RFC 7845 §3).
    TagsPageGranule(u64),
    /// The first audio page with a completed packet has a granule position below the
    /// samples completed on it and is not the EOS page: RFC 7845 §4.3 says to reject it.
    FirstAudioGranuleTooSmall {
        /// The page's granule position.
        granule: u64,
        /// Samples (48 kHz) of the packets completed on that page.
        samples: u64,
    },
    /// A page's granule position differs from the previous page's plus the samples of
    /// the packets completed on it (RFC 7845 §4.3); the first such page.
    GranuleMismatch {
        /// Sequence number of the page.
        sequence: u32,
        /// Its granule position.
        granule: u64,
        /// Previous granule position plus the samples completed on the page.
        expected: u64,
    },
    /// Packets end on a page whose granule position is -1 (RFC 7845 §4.3).
    MissingGranule {
        /// Sequence number of the page.
        sequence: u32,
    },
    /// The EOS page's granule position is below the previous page's: the end trimming
    /// reaches past the last page (RFC 7845 §4.5).
    EndTrimBeyondPage {
        /// The EOS page's granule position.
        granule: u64,
        /// The previous page's granule position.
        previous: u64,
    },
    /// End trimming removes more samples than the last packet holds; allowed by
    /// RFC 7845 §4.5 but unusual (opusinfo warns "more than one packet of end trimming").
    EndTrimExceedsLastPacket {
        /// Samples trimmed.
        trimmed: u64,
        /// Samples of the last packet.
        last_packet: u32,
    },
    /// The last granule position is below pre-skip plus the start offset: the stream
    /// holds less audio than the decoder must discard (RFC 7845 §4.2).
    PreSkipBeyondEnd,
}

/// One audio packet of the stream: where its bytes are and what its TOC says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AudioPacket {
    /// Samples per channel at 48 kHz from the TOC (RFC 6716 §3.1); 0 when malformed.
    pub samples: u32,
    /// Sequence number of the page on which the packet ends.
    pub page_sequence: u32,
    /// Granule position at the end of this packet, derived from its page's granule
    /// position and the samples of the packets after it on that page (RFC 7845 §4.3);
    /// `None` when that page has no granule position.
    pub granule_end: Option<u64>,
    /// Indices into the reader's byte-range table.
    pieces: Range<u32>,
}

/// What [`read_ogg_opus`] found in an Ogg Opus file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OggOpusInfo {
    /// The identification header (RFC 7845 §5.1).
    pub head: OpusHead,
    /// The comment header, when a valid one was found (RFC 7845 §5.2).
    pub tags: Option<OpusTags>,
    /// Serial number of the Opus logical stream read (the first one with an OpusHead).
    pub serial: u32,
    /// Complete, CRC-valid pages of that stream, up to and including its EOS page.
    pub pages: u32,
    /// Complete, CRC-valid pages of other logical streams (multiplexed or chained), skipped.
    pub other_pages: u32,
    /// Pages with the BOS flag among all complete, CRC-valid pages of the input.
    pub bos_pages: u32,
    /// Pages with the EOS flag among all complete, CRC-valid pages of the input.
    pub eos_pages: u32,
    /// The last complete, CRC-valid page of the input is this stream's EOS page.
    pub eos_on_last_page: bool,
    /// Page sequence numbers of the stream increase by one from page to page.
    pub sequence_contiguous: bool,
    /// The first jump in page sequence numbers (lost or damaged pages, or a capture
    /// joined mid-stream).
    pub first_sequence_gap: Option<SequenceGap>,
    /// Pages dropped because their CRC did not match (RFC 3533 §6).
    pub crc_failures: u32,
    /// Bytes skipped while resynchronising on "OggS" (leading or interleaved garbage,
    /// damaged pages), excluding the truncated tail.
    pub garbage_bytes: usize,
    /// Bytes of an incomplete page at the end of the input (a crash or a cut file).
    pub truncated_tail_bytes: usize,
    /// Granule position of the last page of the stream that has one; `None` without audio.
    pub last_granule: Option<u64>,
    /// 48 kHz samples before the first audio packet on the stream's time line: the first
    /// audio page's granule minus the samples completed on it (RFC 7845 §4.3); 0 normally.
    pub start_offset: u64,
    /// Samples removed at the end by the EOS page's granule position (RFC 7845 §4.5).
    pub end_trim: u64,
    /// Sum of the TOC durations of all audio packets, 48 kHz samples per channel.
    pub total_samples: u64,
    /// Audio packets whose TOC is malformed (RFC 6716 §3.4; counted with 0 samples).
    pub malformed_packets: u32,
    /// Packets lost because a piece of them is missing (a hole in the pages, a
    /// continuation with no start, or a packet left unfinished at a page break or at
    /// the end of the input).
    pub dropped_packets: u32,
    /// Pages of the stream after its EOS page (ignored).
    pub pages_after_eos: u32,
    /// Pages whose granule position disagrees with the samples on them (RFC 7845 §4.3).
    pub granule_mismatches: u32,
    /// RFC 7845 rules broken, first occurrence of each kind.
    pub issues: Vec<OggOpusIssue>,
    packets: Vec<AudioPacket>,
    ranges: Vec<Range<usize>>,
}

impl OggOpusInfo {
    /// The audio packets, in stream order.
    pub fn packets(&self) -> &[AudioPacket] {
        &self.packets
    }

    /// Number of audio packets.
    pub fn audio_packets(&self) -> usize {
        self.packets.len()
    }

    /// Byte ranges of the input holding `packet`, in order (more than one when it
    /// spans pages).
    pub fn packet_ranges(&self, packet: &AudioPacket) -> &[Range<usize>] {
        let r = packet.pieces.start as usize..packet.pieces.end as usize;
        self.ranges.get(r).unwrap_or(&[])
    }

    /// The bytes of `packet` from `file` (the input given to [`read_ogg_opus`]): a
    /// borrow of `file` when the packet lies on one page, else assembled in `scratch`.
    /// Ranges outside `file` (a different input) yield an empty or partial packet.
    pub fn packet_data<'b>(
        &self,
        packet: &AudioPacket,
        file: &'b [u8],
        scratch: &'b mut Vec<u8>,
    ) -> &'b [u8] {
        match self.packet_ranges(packet) {
            [one] => file.get(one.clone()).unwrap_or(&[]),
            many => {
                scratch.clear();
                for r in many {
                    scratch.extend_from_slice(file.get(r.clone()).unwrap_or(&[]));
                }
                scratch
            }
        }
    }

    /// The audio packets' bytes from `file`, borrowed unless a packet spans pages.
    pub fn packet_iter<'s>(&'s self, file: &'s [u8]) -> impl Iterator<Item = Cow<'s, [u8]>> + 's {
        self.packets
            .iter()
            .map(move |p| match self.packet_ranges(p) {
                [one] => Cow::Borrowed(file.get(one.clone()).unwrap_or(&[])),
                many => Cow::Owned(
                    many.iter()
                        .flat_map(|r| file.get(r.clone()).unwrap_or(&[]).iter().copied())
                        .collect(),
                ),
            })
    }

    /// (last granule position − pre-skip) / 48 kHz, the play time the file announces
    /// (RFC 7845 §4); zero without audio pages.
    pub fn duration(&self) -> Duration {
        let samples = self
            .last_granule
            .unwrap_or(0)
            .saturating_sub(u64::from(self.head.pre_skip));
        samples_to_duration(samples)
    }

    /// Samples per channel at 48 kHz a decoder outputs after pre-skip and end trimming:
    /// last granule − start offset − pre-skip (RFC 7845 §4.2–4.5), saturating at 0.
    pub fn decoded_samples(&self) -> u64 {
        self.last_granule
            .unwrap_or(0)
            .saturating_sub(self.start_offset)
            .saturating_sub(u64::from(self.head.pre_skip))
    }

    /// A complete, conformant stream: no issue, no CRC failure, garbage, truncated tail,
    /// dropped or malformed packet, sequence gap or page after EOS, and it ends with an
    /// EOS page that is the last page of the input.
    pub fn is_conformant(&self) -> bool {
        self.issues.is_empty()
            && self.crc_failures == 0
            && self.garbage_bytes == 0
            && self.truncated_tail_bytes == 0
            && self.dropped_packets == 0
            && self.malformed_packets == 0
            && self.pages_after_eos == 0
            && self.sequence_contiguous
            && self.eos_on_last_page
    }
}

/// `samples` at 48 kHz as a [`Duration`] (exact to the nanosecond, rounded down).
pub fn samples_to_duration(samples: u64) -> Duration {
    let nanos = u128::from(samples) * 1_000_000_000 / u128::from(OPUS_GRANULE_RATE);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

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
        if !self
            .info
            .issues
            .iter()
            .any(|i| std::mem::discriminant(i) == d)
        {
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
                self.info.first_sequence_gap = Some(SequenceGap {
                    expected: self.next_sequence,
                    found: page.sequence(),
                });
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
        let pieces =
            u32::try_from(begin).unwrap_or(u32::MAX)..u32::try_from(end).unwrap_or(u32::MAX);
        self.info.packets.push(AudioPacket {
            samples,
            page_sequence,
            granule_end: None,
            pieces,
        });
        samples
    }

    /// Granule checks of RFC 7845 §4.3–4.5 for a page on which audio packets
    /// `first_audio..` end.
    fn audio_page(&mut self, page: &OggPage<'_>, first_audio: usize, samples: u64) {
        let Some(granule) = page.granule_known() else {
            self.note(OggOpusIssue::MissingGranule {
                sequence: page.sequence(),
            });
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
                    self.note(OggOpusIssue::EndTrimBeyondPage {
                        granule,
                        previous: prev,
                    });
                }
            } else if granule != expected {
                self.info.granule_mismatches += 1;
                self.note(OggOpusIssue::GranuleMismatch {
                    sequence: page.sequence(),
                    granule,
                    expected,
                });
            }
        }
        if page.is_eos() && self.info.end_trim > u64::from(last_packet) {
            self.note(OggOpusIssue::EndTrimExceedsLastPacket {
                trimmed: self.info.end_trim,
                last_packet,
            });
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
            garbage += bytes.len() - pos;
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
        last_is_our_eos = page.is_eos()
            && stream
                .as_ref()
                .is_some_and(|s| s.info.serial == page.serial());
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
        if g < s
            .info
            .start_offset
            .saturating_add(u64::from(s.info.head.pre_skip))
        {
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
        info: OggOpusInfo {
            head,
            tags: None,
            serial,
            pages: 0,
            other_pages: 0,
            bos_pages: 0,
            eos_pages: 0,
            eos_on_last_page: false,
            sequence_contiguous: true,
            first_sequence_gap: None,
            crc_failures: 0,
            garbage_bytes: 0,
            truncated_tail_bytes: 0,
            last_granule: None,
            start_offset: 0,
            end_trim: 0,
            total_samples: 0,
            malformed_packets: 0,
            dropped_packets: 0,
            pages_after_eos: 0,
            granule_mismatches: 0,
            issues: Vec::new(),
            packets: Vec::new(),
            ranges: Vec::new(),
        },
        stage: Stage::Tags,
        next_sequence: 0,
        partial: None,
        prev_granule: None,
        audio_started: false,
        eos_seen: false,
        scratch: Vec::new(),
    }
}
