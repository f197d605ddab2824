//! CASES.md B27 (Ogg Opus granule positions, short single-page clips) and the writer
//! half of B29 (EOS page, crash-truncated recordings), built with our Ogg writer from
//! real Opus packets (libopus through the `opus` crate, 48 kHz mono VoIP, 20 ms).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use jyqq_media::record::{read_ogg_opus, repair, OggPage, OggPageWriter, OpusHead, OpusTags, PageFlags, GRANULE_NONE};

const FRAME: usize = 960; // 20 ms at 48 kHz
const SERIAL: u32 = 0x4A59_5151;

/// `samples` of a 440 Hz tone with a slow 3 Hz amplitude wobble, mono 48 kHz.
fn tone(samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|n| {
            let t = n as f64 / 48_000.0;
            let a = 6000.0 + 3000.0 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
            (a * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect()
}

/// Encodes `pcm` as 20 ms packets, enough of them that the decoder, after dropping
/// pre-skip samples, yields every input sample (the last frame is padded with zeros).
/// Returns the packets and the pre-skip (the encoder's lookahead).
fn encode(pcm: &[i16], bitrate: Option<i32>) -> (Vec<Vec<u8>>, u16) {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    if let Some(b) = bitrate {
        enc.set_bitrate(opus::Bitrate::Bits(b)).unwrap();
        enc.set_vbr(false).unwrap();
    }
    let pre_skip = u16::try_from(enc.get_lookahead().unwrap()).unwrap();
    let frames = (pcm.len() + usize::from(pre_skip)).div_ceil(FRAME);
    let mut padded = pcm.to_vec();
    padded.resize(frames * FRAME, 0);
    let packets = padded.chunks(FRAME).map(|f| enc.encode_vec(f, 4000).unwrap()).collect();
    (packets, pre_skip)
}

/// The two header pages (RFC 7845 §3).
fn headers(w: &mut OggPageWriter, out: &mut Vec<u8>, pre_skip: u16) {
    let head = OpusHead::new(1, pre_skip, 48_000).unwrap().to_bytes();
    w.write_page(out, &[head], 0, PageFlags::BOS).unwrap();
    let mut tags = OpusTags::new("jyqq-media test");
    tags.push("LEG", "inmate");
    w.write_page(out, &[tags.to_bytes().unwrap()], 0, PageFlags::NONE).unwrap();
}

/// Granule position after packet `i` (0-based) for a clip of `len` input samples:
/// 960·(i+1), except the last packet, which ends at pre-skip + len (end trimming,
/// RFC 7845 §4.5).
fn granule_after(i: usize, count: usize, pre_skip: u16, len: usize) -> u64 {
    if i + 1 == count {
        u64::from(pre_skip) + len as u64
    } else {
        ((i + 1) * FRAME) as u64
    }
}

/// All pages of a file (each parse checks the CRC).
fn pages(bytes: &[u8]) -> Vec<OggPage<'_>> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (p, n) = OggPage::parse(&bytes[at..]).unwrap_or_else(|e| panic!("page at {at}: {e}"));
        v.push(p);
        at += n;
    }
    v
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jyqq-ogg-{}-{name}.opus", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Mono 48 kHz samples ffmpeg decodes from `bytes` (pre-skip and end trim applied), or
/// `None` when ffmpeg is absent.
fn ffmpeg_samples(name: &str, bytes: &[u8]) -> Option<u64> {
    if !common::have_tool("ffmpeg") {
        return None;
    }
    let path = temp_file(name, bytes);
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "ffmpeg complained: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout.len() as u64 / 2)
}

/// opusinfo's report, when opusinfo is installed.
fn opusinfo(name: &str, bytes: &[u8]) -> Option<String> {
    if !common::have_tool("opusinfo") {
        return None;
    }
    let path = temp_file(name, bytes);
    let out = Command::new("opusinfo").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    Some(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// Decodes every packet the reader returns with libopus; returns the samples decoded.
fn decode_all(bytes: &[u8]) -> u64 {
    let info = read_ogg_opus(bytes).unwrap();
    let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
    let mut pcm = vec![0i16; 5760];
    info.packet_iter(bytes).map(|p| dec.decode(&p, &mut pcm, false).unwrap() as u64).sum()
}

/// B27 (a): 1.000 s, pre-skip 312, one packet per page.
fn b27a_file() -> (Vec<u8>, usize) {
    let pcm = tone(48_000);
    let (packets, pre_skip) = encode(&pcm, None);
    let mut w = OggPageWriter::new(SERIAL);
    let mut out = Vec::new();
    headers(&mut w, &mut out, pre_skip);
    for (i, p) in packets.iter().enumerate() {
        let last = i + 1 == packets.len();
        let flags = if last { PageFlags::EOS } else { PageFlags::NONE };
        w.write_page(&mut out, &[p], granule_after(i, packets.len(), pre_skip, pcm.len()), flags).unwrap();
    }
    (out, packets.len())
}

#[test]
fn b27a_one_second_one_packet_per_page() {
    let (bytes, count) = b27a_file();
    assert_eq!(count, 51, "ceil((48000 + 312) / 960) packets");
    let ps = pages(&bytes);
    assert_eq!(ps.len(), 2 + 51);
    // Page 0: OpusHead alone, BOS, granule 0; page 1: OpusTags, granule 0.
    assert!(ps[0].is_bos() && !ps[0].is_eos());
    assert_eq!((ps[0].granule(), ps[0].segment_table()), (0, &[19u8][..]));
    let head = OpusHead::parse(ps[0].body()).unwrap();
    assert_eq!((head.version, head.channels, head.pre_skip, head.input_sample_rate), (1, 1, 312, 48_000));
    assert_eq!(ps[1].granule(), 0);
    assert_eq!(OpusTags::parse(ps[1].body()).unwrap().get("leg"), Some("inmate"));
    // Audio pages: 960, 1920, … 48000, then the EOS page at 312 + 48000.
    for (k, p) in ps[2..52].iter().enumerate() {
        assert_eq!(p.granule(), 960 * (k as u64 + 1), "audio page {k}");
        assert!(!p.is_bos() && !p.is_eos());
    }
    assert_eq!(ps[52].granule(), 48_312);
    assert_eq!(ps[52].flags(), PageFlags::EOS);
    for (i, p) in ps.iter().enumerate() {
        assert_eq!((p.serial(), p.sequence()), (SERIAL, i as u32));
    }

    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!((info.audio_packets(), info.total_samples), (51, 48_960));
    assert_eq!((info.last_granule, info.end_trim, info.start_offset), (Some(48_312), 648, 0));
    assert_eq!(info.duration(), Duration::from_secs(1));
    assert_eq!(info.decoded_samples(), 48_000);
    assert_eq!(decode_all(&bytes), 48_960);
    if let Some(n) = ffmpeg_samples("b27a", &bytes) {
        assert_eq!(n, 48_000);
    }
    if let Some(report) = opusinfo("b27a", &bytes) {
        assert!(report.contains("Pre-skip: 312"), "{report}");
        assert!(report.contains("Playback length: 0m:01.000s"), "{report}");
        assert!(!report.contains("WARNING") && !report.contains("ERROR"), "{report}");
    }
}

#[test]
fn b27b_half_second_clip_on_one_page() {
    let pcm = tone(24_000);
    let (packets, pre_skip) = encode(&pcm, None);
    assert_eq!((packets.len(), pre_skip), (26, 312));
    let mut w = OggPageWriter::new(SERIAL);
    let mut bytes = Vec::new();
    headers(&mut w, &mut bytes, pre_skip);
    w.write_page(&mut bytes, &packets, 312 + 24_000, PageFlags::EOS).unwrap();
    let ps = pages(&bytes);
    assert_eq!(ps.len(), 3);
    assert_eq!((ps[2].completed_packets(), ps[2].granule()), (26, 24_312));
    assert!(ps[2].is_eos());

    // A granule (24312) below the samples on the first audio page (24960) is allowed
    // because that page is the EOS page (RFC 7845 §4.3): it is end trimming.
    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!((info.audio_packets(), info.total_samples, info.end_trim), (26, 24_960, 648));
    assert_eq!(info.duration(), Duration::from_millis(500));
    assert_eq!(info.decoded_samples(), 24_000);
    if let Some(n) = ffmpeg_samples("b27b", &bytes) {
        assert_eq!(n, 24_000);
    }
    if let Some(report) = opusinfo("b27b", &bytes) {
        assert!(report.contains("Playback length: 0m:00.500s"), "{report}");
    }
}

#[test]
fn b27_a_first_audio_granule_of_zero_is_rejected() {
    // The LMS bug: the first audio page says 0 where 960 is due (not an EOS page).
    let (packets, pre_skip) = encode(&tone(4 * FRAME), None);
    let mut w = OggPageWriter::new(SERIAL);
    let mut bytes = Vec::new();
    headers(&mut w, &mut bytes, pre_skip);
    for (i, p) in packets.iter().enumerate() {
        let flags = if i + 1 == packets.len() { PageFlags::EOS } else { PageFlags::NONE };
        w.write_page(&mut bytes, &[p], (i * FRAME) as u64, flags).unwrap();
    }
    let info = read_ogg_opus(&bytes).unwrap();
    assert_eq!(
        info.issues.first(),
        Some(&jyqq_media::record::OggOpusIssue::FirstAudioGranuleTooSmall { granule: 0, samples: 960 })
    );
    assert!(!info.is_conformant());
}

/// B29 (a): 10.0 s, pages flushed every second (50 packets), EOS on the last page.
/// Returns the file and the offsets where each page starts.
fn b29_file(bitrate: Option<i32>) -> (Vec<u8>, Vec<usize>) {
    let pcm = tone(480_000);
    let (packets, pre_skip) = encode(&pcm, bitrate);
    let count = packets.len();
    let mut w = OggPageWriter::new(SERIAL);
    let mut out = Vec::new();
    let mut starts = vec![0];
    headers(&mut w, &mut out, pre_skip);
    starts.push(pages(&out)[0].byte_len());
    for (c, chunk) in packets.chunks(50).enumerate() {
        starts.push(out.len());
        let last = (c + 1) * 50 >= count;
        let flags = if last { PageFlags::EOS } else { PageFlags::NONE };
        let g = granule_after(c * 50 + chunk.len() - 1, count, pre_skip, pcm.len());
        w.write_page(&mut out, chunk, g, flags).unwrap();
    }
    (out, starts)
}

#[test]
fn b29a_clean_stop_has_one_bos_one_eos_and_exact_granule() {
    let (bytes, starts) = b29_file(None);
    let ps = pages(&bytes); // every CRC checked here
    assert_eq!(ps.len(), starts.len());
    assert_eq!(ps.len(), 2 + 11, "501 packets at 50 per page");
    assert_eq!(ps.iter().filter(|p| p.is_bos()).count(), 1);
    assert_eq!(ps.iter().filter(|p| p.is_eos()).count(), 1);
    assert!(ps[0].is_bos());
    assert_eq!(ps.last().unwrap().as_bytes()[5], 0x04);
    assert!(ps.iter().enumerate().all(|(i, p)| p.sequence() == i as u32));
    assert_eq!(ps.last().unwrap().granule(), 312 + 480_000);

    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!((info.bos_pages, info.eos_pages, info.crc_failures), (1, 1, 0));
    assert_eq!(info.first_sequence_gap, None);
    assert_eq!(info.duration(), Duration::from_secs(10));
    assert_eq!(info.audio_packets(), 501);
    if let Some(n) = ffmpeg_samples("b29a", &bytes) {
        assert_eq!(n, 480_000);
    }
    if let Some(report) = opusinfo("b29a", &bytes) {
        assert!(report.contains("Playback length: 0m:10.000s"), "{report}");
        assert!(!report.contains("WARNING") && !report.contains("ERROR"), "{report}");
    }
}

/// Checks the reader and repair on `bytes[..cut]` against the page starts.
fn check_cut(bytes: &[u8], starts: &[usize], cut: usize) {
    let prefix = &bytes[..cut];
    let complete = starts.iter().skip(1).chain([&bytes.len()]).filter(|&&end| end <= cut).count();
    let info = read_ogg_opus(prefix).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
    assert_eq!(info.pages as usize, complete, "cut {cut}");
    let boundary = if complete == starts.len() { bytes.len() } else { starts[complete] };
    assert_eq!(info.truncated_tail_bytes, cut - boundary, "cut {cut}");
    assert_eq!(info.garbage_bytes, 0, "cut {cut}");
    let audio_pages = complete.saturating_sub(2);
    assert_eq!(info.audio_packets(), (audio_pages * 50).min(501), "cut {cut}");
    let whole = cut == bytes.len();
    assert_eq!(info.eos_on_last_page, whole, "cut {cut}");
    if audio_pages > 0 && !whole {
        assert_eq!(info.last_granule, Some((audio_pages * 50 * FRAME) as u64), "cut {cut}");
    }
    let fixed = repair(prefix).unwrap_or_else(|e| panic!("repair at cut {cut}: {e}"));
    let again = read_ogg_opus(&fixed).unwrap();
    assert!(again.is_conformant(), "cut {cut}: {again:?}");
    assert_eq!((again.pages as usize, again.audio_packets()), (complete.max(2), info.audio_packets()), "cut {cut}");
    assert_eq!(again.last_granule, info.last_granule, "cut {cut}");
    if complete >= 2 {
        assert_eq!(fixed.len(), boundary, "cut {cut}");
    }
}

#[test]
fn b29b_cut_anywhere_reads_complete_pages_and_repairs() {
    let (bytes, starts) = b29_file(None);
    let first_audio = starts[2];
    // Every byte around every page boundary, and a stride through the rest.
    let mut cuts: Vec<usize> = starts[1..]
        .iter()
        .chain([&bytes.len()])
        .flat_map(|&b| b.saturating_sub(40)..(b + 40).min(bytes.len() + 1))
        .filter(|&c| c >= starts[1])
        .collect();
    cuts.extend((first_audio..bytes.len()).step_by(97));
    for cut in cuts {
        check_cut(&bytes, &starts, cut);
    }
    // Killed at t = 6.5 s: six one-second pages flushed, the seventh half written.
    let cut = starts[2 + 6] + (starts[2 + 7] - starts[2 + 6]) / 2;
    let info = read_ogg_opus(&bytes[..cut]).unwrap();
    assert_eq!(info.eos_pages, 0);
    assert!(info.duration() >= Duration::from_millis(5500), "{:?}", info.duration());
    assert_eq!(info.last_granule, Some(300 * 960));
    let fixed = repair(&bytes[..cut]).unwrap();
    if let Some(n) = ffmpeg_samples("b29b", &fixed) {
        assert_eq!(n, 300 * 960 - 312);
    }
    if let Some(report) = opusinfo("b29b", &fixed) {
        assert!(!report.contains("WARNING") && !report.contains("ERROR"), "{report}");
    }
}

#[test]
fn b29_a_cut_inside_the_headers_still_repairs() {
    let (bytes, starts) = b29_file(None);
    // Inside the OpusTags page: only OpusHead survives; repair writes a new OpusTags.
    let fixed = repair(&bytes[..starts[1] + 10]).unwrap();
    let info = read_ogg_opus(&fixed).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!(info.tags.map(|t| t.vendor), Some(jyqq_media::record::REPAIR_VENDOR.to_owned()));
    // Inside the OpusHead page: nothing to keep.
    assert!(read_ogg_opus(&bytes[..starts[1] - 1]).is_err());
    assert!(repair(&bytes[..starts[1] - 1]).is_err());
}

#[test]
fn packets_across_pages_round_trip_through_ffmpeg() {
    // 128 kbit/s CBR: 320-byte packets of 2 lacing values each, so a page of 255 values
    // ends in the middle of a packet every other page.
    let pcm = tone(480_000);
    let (packets, pre_skip) = encode(&pcm, Some(128_000));
    assert!(packets.iter().all(|p| p.len() > 255 && p.len() < 510));
    let count = packets.len();
    let mut w = OggPageWriter::new(SERIAL);
    let mut bytes = Vec::new();
    headers(&mut w, &mut bytes, pre_skip);
    let n = w.write_packets(&mut bytes, &packets, |i| granule_after(i, count, pre_skip, pcm.len()), PageFlags::EOS);
    assert_eq!(n as usize, (2 * count).div_ceil(255));
    let ps = pages(&bytes);
    assert!(ps[3].is_continued(), "the second audio page continues a packet");
    // Each page's granule is the end of the last packet completed on it.
    let mut done = 0;
    for p in &ps[2..] {
        done += p.completed_packets();
        assert_eq!(p.granule(), granule_after(done - 1, count, pre_skip, pcm.len()));
        assert_ne!(p.granule(), GRANULE_NONE);
    }
    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.is_conformant(), "{info:?}");
    assert_eq!(info.audio_packets(), count);
    // 1002 lacing values: pages of 255, 255, 255, 237; the packets cut at the first and
    // third page boundaries lie in two pieces.
    assert_eq!(info.packets().iter().filter(|p| info.packet_ranges(p).len() == 2).count(), 2);
    for (a, b) in info.packet_iter(&bytes).zip(&packets) {
        assert_eq!(&a[..], &b[..]);
    }
    assert_eq!(decode_all(&bytes), count as u64 * 960);
    if let Some(n) = ffmpeg_samples("spanning", &bytes) {
        assert_eq!(n, 480_000);
    }
    // Cut inside the second audio page: the first one ends with the start of a packet,
    // which repair drops from its segment table.
    let cut = ps[..3].iter().map(|p| p.byte_len()).sum::<usize>() + 50;
    let fixed = repair(&bytes[..cut]).unwrap();
    assert_eq!(fixed.len(), cut - 50 - 1 - 255);
    let again = read_ogg_opus(&fixed).unwrap();
    assert!(again.is_conformant(), "{again:?}");
    assert_eq!(again.audio_packets(), 127);
    assert_eq!(again.last_granule, Some(127 * 960));
    assert_eq!(decode_all(&fixed), again.total_samples);
}
