//! G.722 against the ITU-T vectors (`codec/itu-g722`) and libg722's checksums (`codec/libg722`).

mod common;

use jyqq_media::codec::{G722BandDecoder, G722BandEncoder, G722Decoder, G722Encoder, G722Mode, Decoder, Encoder};

fn words(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|w| u16::from_le_bytes([w[0], w[1]])).collect()
}

/// Appendix II reset word (an odd value: data words have bit 0 clear).
const RESET: u16 = 0x0001;

/// Splits an Appendix II sequence into its data words, checking it opens and closes with 16 reset words and has none inside.
fn data_words(bytes: &[u8]) -> Vec<u16> {
    let w = words(bytes);
    assert!(w.len() > 32);
    assert!(w[..16].iter().chain(&w[w.len() - 16..]).all(|&x| x == RESET), "16 reset words at both ends");
    let data = w[16..w.len() - 16].to_vec();
    assert!(data.iter().all(|&x| x & 1 == 0), "no reset inside the data");
    data
}

fn appendix(name: &str) -> Option<Vec<u16>> {
    Some(data_words(&common::shared_file(&format!("codec/itu-g722/appendix2/{name}"))?))
}

fn encoder_sequence(xmt: &str, cod: &str) {
    let (Some(input), Some(expected)) = (appendix(xmt), appendix(cod)) else { return };
    assert_eq!(input.len(), expected.len());
    let mut enc = G722BandEncoder::new();
    for (i, (&x, &c)) in input.iter().zip(&expected).enumerate() {
        // 15-bit sub-band sample in bits 15..1; the same sample feeds both bands.
        let s = (x as i16) >> 1;
        let code = enc.encode(s, s);
        let got = u16::from(code) << 8;
        assert_eq!(got, c, "{xmt} word {i}: input {s}: code {got:#06x}, expected {c:#06x}");
    }
}

#[test]
fn appendix2_encoder_sequence_1() {
    encoder_sequence("bt1c1.xmt", "bt2r1.cod");
}

#[test]
fn appendix2_encoder_sequence_2() {
    encoder_sequence("bt1c2.xmt", "bt2r2.cod");
}

fn decoder_sequence(cod: &str, low: &str, high: &str) {
    let Some(codes) = appendix(cod) else { return };
    let Some(high) = appendix(high) else { return };
    for (mode, ext) in [(G722Mode::Mode1, "rc1"), (G722Mode::Mode2, "rc2"), (G722Mode::Mode3, "rc3")] {
        let Some(low) = appendix(&format!("{low}.{ext}")) else { return };
        assert_eq!(low.len(), codes.len());
        let mut dec = G722BandDecoder::new(mode);
        for (i, &c) in codes.iter().enumerate() {
            assert_eq!(c & 0xFF, 0);
            let (rl, rh) = dec.decode((c >> 8) as u8);
            assert_eq!(((rl as u16) << 1, (rh as u16) << 1), (low[i], high[i]), "{cod} {mode:?} word {i}");
        }
    }
}

#[test]
fn appendix2_decoder_sequence_1() {
    decoder_sequence("bt2r1.cod", "bt3l1", "bt3h1.rc0");
}

#[test]
fn appendix2_decoder_sequence_2() {
    decoder_sequence("bt2r2.cod", "bt3l2", "bt3h2.rc0");
}

fn pcm(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|w| i16::from_le_bytes([w[0], w[1]])).collect()
}

/// G.191 demo: codsp.cod decoded in mode 1 equals outsp1.bin.
#[test]
fn g191_speech_decodes_to_outsp1() {
    let (Some(cod), Some(out)) = (
        common::shared_file("codec/itu-g722/speech/codsp.cod"),
        common::shared_file("codec/itu-g722/speech/outsp1.bin"),
    ) else {
        return;
    };
    let expected = pcm(&out);
    assert_eq!(expected.len(), 2 * cod.len());
    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut got = vec![0i16; expected.len()];
    for (payload, out) in cod.chunks(160).zip(got.chunks_mut(320)) {
        assert_eq!(dec.decode(payload, out), Ok(2 * payload.len()));
    }
    let first_bad = got.iter().zip(&expected).position(|(g, e)| g != e);
    assert_eq!(first_bad, None, "first difference at sample {first_bad:?}");
}

/// G.191 demo: inpsp.bin encoded equals codsp.cod.
#[test]
fn g191_speech_encodes_to_codsp() {
    let (Some(inp), Some(cod)) = (
        common::shared_file("codec/itu-g722/speech/inpsp.bin"),
        common::shared_file("codec/itu-g722/speech/codsp.cod"),
    ) else {
        return;
    };
    let input = pcm(&inp);
    assert_eq!(input.len(), 2 * cod.len());
    let mut enc = G722Encoder::new();
    let mut got = vec![0u8; cod.len()];
    for (frame, out) in input.chunks(320).zip(got.chunks_mut(160)) {
        assert_eq!(enc.encode(frame, out), Ok(frame.len() / 2));
    }
    let first_bad = got.iter().zip(&cod).position(|(g, e)| g != e);
    assert_eq!(first_bad, None, "first difference at octet {first_bad:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pcm_le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn md5(bytes: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(bytes))
}

/// The SHA-256 that libg722's `test.checksum` lists for `name` ("<hex> *<name>" lines).
fn libg722_sha256(name: &str) -> Option<String> {
    let text = String::from_utf8(common::shared_file("codec/libg722/test.checksum")?).expect("ASCII");
    let hash = text
        .lines()
        .find_map(|l| l.strip_suffix(&format!(" *{name}")))
        .unwrap_or_else(|| panic!("{name} not in test.checksum"));
    Some(hash.to_owned())
}

fn decode_all(codes: &[u8]) -> Vec<i16> {
    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut pcm = vec![0i16; 2 * codes.len()];
    for (payload, out) in codes.chunks(160).zip(pcm.chunks_mut(320)) {
        assert_eq!(dec.decode(payload, out), Ok(2 * payload.len()));
    }
    pcm
}

fn encode_all(pcm: &[i16]) -> Vec<u8> {
    let mut enc = G722Encoder::new();
    let mut codes = vec![0u8; pcm.len() / 2];
    for (frame, out) in pcm.chunks(320).zip(codes.chunks_mut(160)) {
        assert_eq!(enc.encode(frame, out), Ok(frame.len() / 2));
    }
    codes
}

/// libg722's C test: test.g722 decoded at 16 kHz (16-bit little-endian output).
#[test]
fn libg722_test_g722_decodes_to_its_checksum() {
    let (Some(codes), Some(want)) = (common::shared_file("codec/libg722/test.g722"), libg722_sha256("test.raw.16k.out"))
    else {
        return;
    };
    assert_eq!(codes.len(), 48_000);
    let pcm = decode_all(&codes);
    assert_eq!(pcm.len(), 96_000);
    assert_eq!(sha256(&pcm_le_bytes(&pcm)), want);
}

/// libg722's C test: fullscale.g722 (outputs at the clipping limits) decoded at 16 kHz.
#[test]
fn libg722_fullscale_decodes_to_its_checksum() {
    let (Some(codes), Some(want)) =
        (common::shared_file("codec/libg722/fullscale.g722"), libg722_sha256("fullscale.raw.out"))
    else {
        return;
    };
    let pcm = decode_all(&codes);
    assert!(pcm.iter().any(|&s| s == i16::MAX || s == i16::MIN), "the receive QMF saturates somewhere");
    assert_eq!(sha256(&pcm_le_bytes(&pcm)), want);
}

/// libg722's C tests read pcminb.dat big-endian: its 64 kbit/s encoding and that decoded.
#[test]
fn libg722_pcminb_big_endian_round_trip_checksums() {
    let Some(dat) = common::shared_file("codec/libg722/pcminb.dat") else { return };
    let (Some(want_cod), Some(want_pcm)) = (libg722_sha256("pcminb.g722.out"), libg722_sha256("pcminb.raw.16k.out"))
    else {
        return;
    };
    let input: Vec<i16> = dat.chunks_exact(2).map(|w| i16::from_be_bytes([w[0], w[1]])).collect();
    assert_eq!(input.len(), 49_602);
    let codes = encode_all(&input);
    assert_eq!(sha256(&codes), want_cod);
    // ... and writes the decoded PCM back big-endian.
    let decoded: Vec<u8> = decode_all(&codes).iter().flat_map(|s| s.to_be_bytes()).collect();
    assert_eq!(sha256(&decoded), want_pcm);
}

/// libg722's Python tests read pcminb.dat little-endian: the `64000_16000` row of
/// pcminb.checksum (size of the encoding, MD5 of it, MD5 of it decoded).
#[test]
fn libg722_pcminb_little_endian_64k_row() {
    let (Some(dat), Some(table)) =
        (common::shared_file("codec/libg722/pcminb.dat"), common::shared_file("codec/libg722/pcminb.checksum"))
    else {
        return;
    };
    let table = String::from_utf8(table).expect("ASCII");
    let row: Vec<&str> = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"64000_16000"))
        .expect("64000_16000 row");
    let input: Vec<i16> = dat.chunks_exact(2).map(|w| i16::from_le_bytes([w[0], w[1]])).collect();
    let codes = encode_all(&input);
    assert_eq!(codes.len().to_string(), row[1]);
    assert_eq!(md5(&codes), row[2]);
    assert_eq!(md5(&pcm_le_bytes(&decode_all(&codes))), row[3]);
}
