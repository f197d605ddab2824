//! G.722 against the ITU-T vectors (`codec/itu-g722`: Appendix II digital test
//! sequences with the QMF bypassed, and the G.191 demo speech files), libg722's
//! checksums (`codec/libg722`) and ffmpeg's decoder on a real G.722 RTP stream.

mod common;

use jyqq_media::codec::{Decoder, Encoder, G722BandDecoder, G722BandEncoder, G722Decoder, G722Encoder, G722Mode};

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
    let (Some(codes), Some(want)) =
        (common::shared_file("codec/libg722/test.g722"), libg722_sha256("test.raw.16k.out"))
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

/// The G.722 stream of sip-rtp-g722.pcap (425 packets of 160 octets, PT 9) decoded by
/// us packet by packet and by ffmpeg's `g722` decoder as one stream.
#[test]
fn decoder_matches_ffmpeg_on_a_real_rtp_stream() {
    use jyqq_media::capture::read_capture;
    use jyqq_media::rtp::RtpPacket;
    let Some(bytes) = common::shared_file("rtp/wireshark-samples/sip-rtp-g722.pcap") else { return };
    if !common::have_tool("ffmpeg") {
        return;
    }
    let cap = read_capture(&bytes).expect("capture reads");
    let packets: Vec<RtpPacket> = cap
        .datagrams
        .iter()
        .filter_map(|d| RtpPacket::parse(&d.payload).ok())
        .filter(|p| p.payload_type().0 == 9)
        .collect();
    assert_eq!(packets.len(), 425);
    assert!(packets.windows(2).all(|w| w[1].sequence() == w[0].sequence().wrapping_add(1)), "in order, no loss");
    assert!(packets.windows(2).all(|w| w[1].timestamp().wrapping_sub(w[0].timestamp()) == 160), "8 kHz RTP clock");

    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut ours = Vec::new();
    let mut frame = [0i16; 320];
    for p in &packets {
        assert_eq!(dec.samples_in(p.payload()), Some(320));
        let n = dec.decode(p.payload(), &mut frame).expect("room for 320 samples");
        ours.extend_from_slice(&frame[..n]);
    }
    assert_eq!(ours.len(), 425 * 320);

    let stream: Vec<u8> = packets.iter().flat_map(|p| p.payload().iter().copied()).collect();
    let path = std::env::temp_dir().join(format!("jyqq-g722-{}.g722", std::process::id()));
    std::fs::write(&path, &stream).expect("temp file");
    let output = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "g722", "-i"])
        .arg(&path)
        .args(["-f", "s16le", "-"])
        .output()
        .expect("ffmpeg runs"); // have_tool said it is installed
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
    let theirs = pcm(&output.stdout);
    assert_eq!(theirs.len(), ours.len());
    let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "first difference at sample {first_diff:?}");
}

/// Frequency (Hz) of a tone from its positive-going zero crossings, interpolated
/// between samples, over the whole signal at `rate` Hz.
fn tone_frequency(pcm: &[i16], rate: f64) -> f64 {
    let mut crossings = Vec::new();
    for (i, w) in pcm.windows(2).enumerate() {
        let (a, b) = (f64::from(w[0]), f64::from(w[1]));
        if a < 0.0 && b >= 0.0 {
            crossings.push(i as f64 + a / (a - b));
        }
    }
    assert!(crossings.len() > 2);
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * rate / span
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / pcm.len() as f64).sqrt()
}

/// CASES.md B15, codec half: a 1 kHz tone in 2000 packets of 20 ms (160 octets, RTP
/// timestamp +160 at 8000 Hz) decodes to 640000 samples at 16 kHz and measures 1000 Hz.
#[test]
fn b15_tone_in_2000_packets_decodes_to_640000_samples_at_1000_hz() {
    use jyqq_media::audio::SampleRate;
    use jyqq_media::codec::{decoder_for, CodecKind};
    let kind = CodecKind::from_encoding_name("G722").expect("known");
    assert_eq!(kind.clock_rate().hz(), 8000, "RFC 3551: G.722's RTP clock is 8000 Hz");
    let mut enc = G722Encoder::new();
    let mut dec = decoder_for(kind, 1, SampleRate::HZ_16000).expect("G.722 decoder");
    assert_eq!(dec.sample_rate(), SampleRate::HZ_16000);

    let mut packets = Vec::with_capacity(2000);
    let mut timestamps = Vec::with_capacity(2000);
    let tone = |n: usize| (10_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 16_000.0).sin()).round() as i16;
    for p in 0..2000usize {
        let frame: Vec<i16> = (p * 320..(p + 1) * 320).map(tone).collect();
        let mut payload = [0u8; 160];
        assert_eq!(enc.encode(&frame, &mut payload), Ok(160));
        packets.push(payload);
        timestamps.push(p as u32 * 160);
    }
    assert_eq!(timestamps[1999] + 160, 320_000, "40 s of RTP clock at 8000 Hz");

    let mut pcm = Vec::with_capacity(640_000);
    let mut out = [0i16; 320];
    for payload in &packets {
        let n = dec.samples_in(payload).expect("fixed ratio");
        assert_eq!(dec.decode(payload, &mut out), Ok(n));
        pcm.extend_from_slice(&out[..n]);
    }
    assert_eq!(pcm.len(), 640_000);
    // Skip the first 10 ms (QMF delay and ADPCM adaptation).
    let f = tone_frequency(&pcm[160..], 16_000.0);
    assert!((f - 1000.0).abs() <= 1.0, "tone measures {f} Hz");
    // Level within 0.5 dB of the input's 7071 RMS.
    let level = 20.0 * (rms(&pcm[160..]) / (10_000.0 / 2f64.sqrt())).log10();
    eprintln!("B15: tone {f:.4} Hz, level {level:+.3} dB");
    assert!(level.abs() < 0.5, "level {level} dB");
}

fn snr_db(got: &[i16], want: &[i16]) -> f64 {
    let signal: f64 = want.iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = got.iter().zip(want).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
    10.0 * (signal / noise.max(1.0)).log10()
}

/// Concealment on the G.191 speech: one 20 ms frame lost at each of the loud frames in
/// turn (every other frame from 0.4 s). The frame after the one following the loss is
/// compared with the loss-free decoding, for the decoder that concealed the loss
/// (re-encoding the concealment into its ADPCM state), one that simply skipped it
/// (state from before the gap) and one reset at the loss.
#[test]
fn concealment_keeps_the_adpcm_state_in_step_on_speech() {
    let Some(cod) = common::shared_file("codec/itu-g722/speech/codsp.cod") else { return };
    let frames: Vec<&[u8]> = cod.chunks_exact(160).collect();
    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut reference = Vec::new();
    let mut out = [0i16; 320];
    for f in &frames {
        assert_eq!(dec.decode(f, &mut out), Ok(320));
        reference.push(out);
    }
    let (mut concealed, mut skipped, mut reset, mut count) = (0.0, 0.0, 0.0, 0);
    let mut before = G722Decoder::new(G722Mode::Mode1);
    for k in 0..frames.len() - 3 {
        let loud = reference[k].iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 320.0 > 1e5;
        if k >= 20 && k % 2 == 0 && loud {
            let after_two = |mut d: G722Decoder, conceal: bool| {
                let mut out = [0i16; 320];
                if conceal {
                    assert_eq!(d.conceal(320, &mut out), Ok(320));
                }
                for f in &frames[k + 1..k + 3] {
                    assert_eq!(d.decode(f, &mut out), Ok(320));
                }
                snr_db(&out, &reference[k + 2])
            };
            concealed += after_two(before.clone(), true);
            skipped += after_two(before.clone(), false);
            reset += after_two(G722Decoder::new(G722Mode::Mode1), false);
            count += 1;
        }
        assert_eq!(before.decode(frames[k], &mut out), Ok(320));
    }
    let n = f64::from(count);
    let (concealed, skipped, reset) = (concealed / n, skipped / n, reset / n);
    eprintln!("{count} losses: SNR of the 2nd frame after: concealed {concealed:.1} dB, skipped {skipped:.1} dB, reset {reset:.1} dB");
    assert_eq!(count, 86);
    assert!(concealed >= 10.0, "{concealed} dB");
    assert!(concealed >= skipped, "{concealed} dB < {skipped} dB");
    assert!(concealed >= reset + 6.0, "{concealed} dB vs {reset} dB");
}
