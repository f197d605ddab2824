//! What the Ogg Opus reader reports: [`OggOpusInfo`], its packets and the RFC 7845
//! rules a stream breaks.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use super::opus_head::{OpusHead, OpusTags};

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
    pub(super) pieces: Range<u32>,
}

/// What [`read_ogg_opus`](super::read_ogg_opus) found in an Ogg Opus file.
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
    pub(super) packets: Vec<AudioPacket>,
    pub(super) ranges: Vec<Range<usize>>,
}

impl OggOpusInfo {
    /// An empty report for stream `serial` with header `head`.
    pub(super) fn new(head: OpusHead, serial: u32) -> OggOpusInfo {
        OggOpusInfo {
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
        }
    }

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

    /// The bytes of `packet` from `file` (the input given to
    /// [`read_ogg_opus`](super::read_ogg_opus)): a borrow of `file` when the packet lies
    /// on one page, else assembled in `scratch`.
    /// Ranges outside `file` (a different input) yield an empty or partial packet.
    pub fn packet_data<'b>(&self, packet: &AudioPacket, file: &'b [u8], scratch: &'b mut Vec<u8>) -> &'b [u8] {
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
        self.packets.iter().map(move |p| match self.packet_ranges(p) {
            [one] => Cow::Borrowed(file.get(one.clone()).unwrap_or(&[])),
            many => Cow::Owned(many.iter().flat_map(|r| file.get(r.clone()).unwrap_or(&[]).iter().copied()).collect()),
        })
    }

    /// (last granule position − pre-skip) / 48 kHz, the play time the file announces
    /// (RFC 7845 §4); zero without audio pages.
    pub fn duration(&self) -> Duration {
        let samples = self.last_granule.unwrap_or(0).saturating_sub(u64::from(self.head.pre_skip));
        samples_to_duration(samples)
    }

    /// Samples per channel at 48 kHz a decoder outputs after pre-skip and end trimming:
    /// last granule − start offset − pre-skip (RFC 7845 §4.2–4.5), saturating at 0.
    pub fn decoded_samples(&self) -> u64 {
        self.last_granule.unwrap_or(0).saturating_sub(self.start_offset).saturating_sub(u64::from(self.head.pre_skip))
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
