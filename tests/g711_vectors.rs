//! G.711 against the ITU-T G.191 STL vectors (`codec/itu-g711`) and ffmpeg.
//!
//! Layout (shared/data/MANIFEST.md): headerless 16-bit little-endian words;
//! `sweep.src` is every 16-bit value once (-32768..=32767), `sweep-r.u` / `sweep-r.a`
//! hold one code (0..255) per word, `sweep-r.u-u` is `sweep-r.u` decoded by G.191.

mod common;

use jyqq_media::codec::{
    alaw_decode, alaw_encode, ulaw_decode, ulaw_decode_slice, ulaw_encode, Decoder, Encoder, G711Decoder, G711Encoder,
    G711Law,
};

fn words(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|w| i16::from_le_bytes([w[0], w[1]])).collect()
}

fn codes(bytes: &[u8]) -> Vec<u8> {
    words(bytes)
        .into_iter()
        .map(|w| u8::try_from(w).unwrap_or_else(|_| panic!("code word {w} outside 0..=255")))
        .collect()
}

fn sweep() -> Option<Vec<i16>> {
    let src = words(&common::shared_file("codec/itu-g711/sweep.src")?);
    assert_eq!(src.len(), 65_536);
    assert_eq!((src[0], src[65_535]), (i16::MIN, i16::MAX));
    Some(src)
}

#[test]
fn ulaw_encoder_matches_g191_sweep() {
    let Some(src) = sweep() else { return };
    let Some(expected) = common::shared_file("codec/itu-g711/sweep-r.u") else {
        return;
    };
    let expected = codes(&expected);
    assert_eq!(expected.len(), src.len());
    // Through the Encoder trait, in 20 ms frames, as a session would.
    let mut enc = G711Encoder::new(G711Law::Mu);
    let mut got = vec![0u8; src.len()];
    for (pcm, out) in src.chunks(160).zip(got.chunks_mut(160)) {
        assert_eq!(enc.encode(pcm, out), Ok(pcm.len()));
    }
    for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "sample {i} ({}): µ-law {g:#04x}, G.191 {e:#04x}", src[i]);
    }
    assert!(src.iter().zip(&expected).all(|(&s, &e)| ulaw_encode(s) == e));
}

#[test]
fn alaw_encoder_matches_g191_sweep() {
    let Some(src) = sweep() else { return };
    let Some(expected) = common::shared_file("codec/itu-g711/sweep-r.a") else {
        return;
    };
    let expected = codes(&expected);
    assert_eq!(expected.len(), src.len());
    let mut enc = G711Encoder::new(G711Law::A);
    let mut got = vec![0u8; src.len()];
    assert_eq!(enc.encode(&src, &mut got), Ok(src.len()));
    for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "sample {i} ({}): A-law {g:#04x}, G.191 {e:#04x}", src[i]);
    }
    // Every A-law code decodes to a value that re-encodes to the G.191 code.
    assert!(expected.iter().all(|&c| alaw_encode(alaw_decode(c)) == c));
}

/// G.191's `ulaw_expand` output is "14 bit left justified": the 14-bit µ-law
/// reconstruction value (±8031) shifted left by 2, i.e. exactly the standard
/// 16-bit linear scale (±32124). The data shows the relation is the identity:
/// our 16-bit decoder output equals the G.191 file word for word, and every
/// value is a multiple of 4 (the two low bits G.191 leaves empty).
#[test]
fn ulaw_decoder_matches_g191_sweep() {
    let Some(coded) = common::shared_file("codec/itu-g711/sweep-r.u") else {
        return;
    };
    let Some(decoded) = common::shared_file("codec/itu-g711/sweep-r.u-u") else {
        return;
    };
    let coded = codes(&coded);
    let expected = words(&decoded);
    assert_eq!(expected.len(), coded.len());
    let mut dec = G711Decoder::new(G711Law::Mu);
    let mut got = vec![0i16; coded.len()];
    for (payload, out) in coded.chunks(160).zip(got.chunks_mut(160)) {
        assert_eq!(dec.decode(payload, out), Ok(payload.len()));
    }
    for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "word {i}: code {:#04x} decodes to {g}, G.191 {e}", coded[i]);
    }
    assert!(expected.iter().all(|&v| v % 4 == 0));
    assert_eq!((expected.iter().min(), expected.iter().max()), (Some(&-32124), Some(&32124)));
    // The 14-bit right-justified values G.191 works with internally.
    assert!(got.iter().all(|&v| (v >> 2).abs() <= 8031));
}

/// G.711 code sets: every code is a reconstruction level that re-encodes to itself,
/// except µ-law 0x7F ("negative zero"), which decodes to 0 like 0xFF, and 0 encodes
/// to 0xFF. A-law has no zero level: its smallest levels are ±8 (codes 0xD5/0x55).
#[test]
fn every_code_round_trips() {
    for c in 0..=255u8 {
        let back = ulaw_encode(ulaw_decode(c));
        if c == 0x7F {
            assert_eq!((ulaw_decode(c), back), (0, 0xFF));
        } else {
            assert_eq!(back, c, "µ-law {c:#04x} -> {} -> {back:#04x}", ulaw_decode(c));
        }
        let back = alaw_encode(alaw_decode(c));
        assert_eq!(back, c, "A-law {c:#04x} -> {} -> {back:#04x}", alaw_decode(c));
    }
    assert_eq!((alaw_decode(0xD5), alaw_decode(0x55)), (8, -8));
    // Both laws are odd-symmetric: the sign bit (0x80) flips only the sign.
    for c in 0..0x80u8 {
        assert_eq!(ulaw_decode(c), -ulaw_decode(c | 0x80));
        assert_eq!(alaw_decode(c), -alaw_decode(c | 0x80));
    }
}

/// A real 2-minute µ-law stream decoded by us and by ffmpeg's `pcm_mulaw`.
#[test]
fn ulaw_decoder_matches_ffmpeg_on_real_stream() {
    let Some(data) = common::shared_data() else {
        return;
    };
    if !common::have_tool("ffmpeg") {
        return;
    }
    let path = data.join("codec/rtpengine/pcmu.1.8k.raw");
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(raw.len(), 960_000);
    let output = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "mulaw", "-ar", "8000", "-ac", "1", "-i"])
        .arg(&path)
        .args(["-f", "s16le", "-"])
        .output()
        .expect("ffmpeg runs"); // have_tool said it is installed
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
    let theirs = words(&output.stdout);
    assert_eq!(theirs.len(), raw.len());
    let mut ours = vec![0i16; raw.len()];
    assert_eq!(ulaw_decode_slice(&raw, &mut ours), Ok(raw.len()));
    let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "first difference at sample {first_diff:?}");
}
