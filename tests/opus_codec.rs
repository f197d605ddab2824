//! Opus encoder/decoder over libopus: round trips, delay (pre-skip), concealment,
//! in-band FEC, multi-frame packets and hostile payloads.

use jyqq_media::codec::{
    has_inband_fec, CodecError, Decoder, OpusApplication, OpusDecoder, OpusEncoder, OpusEncoderConfig,
};
use jyqq_media::SampleRate;
use std::f64::consts::PI;
use std::time::Duration;

/// Interleaved PCM: `secs` seconds of a 440 Hz sine, amplitude 10 000 on channel 0
/// and 5 000 on channel 1.
fn sine_440(rate: u32, channels: u8, secs: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    let mut v = Vec::with_capacity(n * usize::from(channels));
    for i in 0..n {
        let s = (2.0 * PI * 440.0 * i as f64 / f64::from(rate)).sin();
        for ch in 0..channels {
            v.push((s * if ch == 0 { 10_000.0 } else { 5_000.0 }) as i16);
        }
    }
    v
}

/// A non-periodic test signal: a linear chirp 200 Hz -> 3 kHz over `secs`, amplitude 8 000.
fn chirp(rate: u32, secs: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    let k = (3000.0 - 200.0) / secs;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (8_000.0 * (2.0 * PI * (200.0 * t + 0.5 * k * t * t)).sin()) as i16
        })
        .collect()
}

/// A voice-like signal: a 150 Hz buzz with 12 harmonics, syllable envelope at 4 Hz.
fn voiced(rate: u32, secs: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f0 = 150.0 + 30.0 * (2.0 * PI * 1.3 * t).sin();
            let buzz: f64 = (1..=12).map(|h| (2.0 * PI * f0 * h as f64 * t).sin() / h as f64).sum();
            let env = 0.5 - 0.5 * (2.0 * PI * 4.0 * t).cos();
            (6_000.0 * env * buzz) as i16
        })
        .collect()
}

fn channel(pcm: &[i16], channels: u8, ch: usize) -> Vec<f64> {
    pcm.iter().skip(ch).step_by(usize::from(channels)).map(|&s| f64::from(s)).collect()
}

fn energy(x: &[f64]) -> f64 {
    x.iter().map(|s| s * s).sum::<f64>() / x.len() as f64
}

/// Goertzel power of `x` at `freq` Hz.
fn goertzel(x: &[f64], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency between 100 Hz and 0.45 × `rate`: a 10 Hz scan refined to 1 Hz.
fn dominant_frequency(x: &[f64], rate: u32) -> f64 {
    let best = |freqs: Vec<f64>| {
        freqs
            .into_iter()
            .map(|f| (f, goertzel(x, rate, f)))
            .fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
            .0
    };
    let top = (f64::from(rate) * 0.45) as usize;
    let coarse = best((10..top / 10).map(|k| k as f64 * 10.0).collect());
    best((-10..=10).map(|d| coarse + f64::from(d)).collect())
}

/// Encodes `pcm` frame by frame with `enc` and returns the packets.
fn encode_all(enc: &mut OpusEncoder, pcm: &[i16]) -> Vec<Vec<u8>> {
    let frame = enc.frame_samples() * usize::from(enc.config().channels);
    pcm.chunks_exact(frame)
        .map(|f| {
            let mut out = [0u8; 4000];
            let n = enc.encode(f, &mut out).expect("a whole frame encodes");
            out[..n].to_vec()
        })
        .collect()
}

fn decode_all(dec: &mut OpusDecoder, packets: &[Vec<u8>]) -> Vec<i16> {
    let mut pcm = Vec::new();
    let mut buf = vec![0i16; 5760 * 2];
    for p in packets {
        let expected = dec.samples_in(p).expect("valid TOC");
        let n = dec.decode(p, &mut buf).expect("own packets decode");
        assert_eq!(n, expected);
        pcm.extend_from_slice(&buf[..n * usize::from(dec.channels())]);
    }
    pcm
}

#[test]
fn sine_round_trip_keeps_length_level_and_pitch() {
    for (hz, channels) in [(48_000, 1), (8000, 1), (48_000, 2), (8000, 2)] {
        let rate = SampleRate::new(hz);
        let input = sine_440(hz, channels, 1.0);
        let mut enc = OpusEncoder::new(OpusEncoderConfig::new(rate, channels)).expect("valid config");
        assert_eq!(enc.frame_samples(), hz as usize / 50);
        let packets = encode_all(&mut enc, &input);
        assert_eq!(packets.len(), 50);
        let mut dec = OpusDecoder::new(rate, channels).expect("valid decoder");
        let output = decode_all(&mut dec, &packets);
        assert_eq!(output.len(), input.len(), "{hz} Hz × {channels}");
        for ch in 0..usize::from(channels) {
            // Steady state: 0.1 s .. 0.9 s, well clear of the encoder's start-up and delay.
            let span = hz as usize / 10..hz as usize * 9 / 10;
            let x = &channel(&input, channels, ch)[span.clone()];
            let y = &channel(&output, channels, ch)[span];
            let db = 10.0 * (energy(y) / energy(x)).log10();
            assert!(db.abs() <= 3.0, "{hz} Hz × {channels} ch {ch}: level off by {db:.2} dB");
            let f = dominant_frequency(y, hz);
            assert!((f - 440.0).abs() <= 5.0, "{hz} Hz × {channels} ch {ch}: dominant {f} Hz");
        }
    }
}

/// The delay that best aligns `y` with `x` (cross-correlation peak), in samples.
fn measured_delay(x: &[i16], y: &[i16], max_lag: usize) -> usize {
    let span = x.len() / 10..x.len() * 8 / 10;
    (0..=max_lag)
        .map(|lag| {
            let c: f64 = span.clone().map(|i| f64::from(x[i]) * f64::from(y[i + lag])).sum();
            (lag, c)
        })
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
        .0
}

/// libopus reports 6.5 ms of lookahead (2.5 ms for LowDelay), the RFC 7845 pre-skip is
/// that many 48 kHz samples, and the decoded signal really lags by it: the
/// cross-correlation peak of a chirp and its decode. At 48 kHz VoIP the speech
/// (SILK, 16 kHz internally) layer is resampled in the decoder and the peak lands up
/// to one 16 kHz sample (3 samples at 48 kHz) early.
#[test]
fn pre_skip_is_the_measured_encoder_delay() {
    for (hz, app, lookahead, pre_skip, tolerance) in [
        (48_000, OpusApplication::Voip, 312, 312, 3),
        (16_000, OpusApplication::Voip, 104, 312, 0),
        (8000, OpusApplication::Voip, 52, 312, 0),
        (48_000, OpusApplication::Audio, 312, 312, 0),
        (24_000, OpusApplication::Audio, 156, 312, 0),
        (48_000, OpusApplication::LowDelay, 120, 120, 0),
    ] {
        let mut cfg = OpusEncoderConfig::new(SampleRate::new(hz), 1);
        cfg.application = app;
        cfg.bitrate_bps = Some(64_000);
        let mut enc = OpusEncoder::new(cfg).expect("valid config");
        assert_eq!((enc.lookahead_samples(), enc.pre_skip_48k()), (lookahead, pre_skip), "{hz} Hz {app:?}");
        let input = chirp(hz, 1.0);
        let packets = encode_all(&mut enc, &input);
        let mut dec = OpusDecoder::new(SampleRate::new(hz), 1).expect("valid decoder");
        let output = decode_all(&mut dec, &packets);
        let delay = measured_delay(&input, &output, lookahead * 3);
        assert!(delay.abs_diff(lookahead) <= tolerance, "{hz} Hz {app:?}: delay {delay}, lookahead {lookahead}");
    }
    assert_eq!(OpusEncoder::new(OpusEncoderConfig::default()).map(|e| e.pre_skip_48k()), Ok(312));
}

#[test]
fn conceal_returns_the_requested_length() {
    let input = voiced(48_000, 0.2);
    let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).expect("default config");
    let packets = encode_all(&mut enc, &input);
    for channels in [1u8, 2] {
        let mut dec = OpusDecoder::new(SampleRate::HZ_48000, channels).expect("valid decoder");
        let mut out = vec![i16::MIN; 5760 * 2];
        // Before any packet, and after one.
        assert_eq!(dec.conceal(960, &mut out), Ok(960));
        assert!(dec.decode(&packets[0], &mut out).is_ok());
        for n in [960, 480, 120, 100, 1, 0, 2880] {
            out.fill(i16::MIN);
            assert_eq!(dec.conceal(n, &mut out), Ok(n));
            let written = n * usize::from(channels);
            assert!(out[..written].iter().all(|&s| s != i16::MIN) || n == 0);
            assert!(out[written..].iter().all(|&s| s == i16::MIN), "wrote past {n} samples");
        }
        assert_eq!(
            dec.conceal(961, &mut out[..960 * usize::from(channels)]),
            Err(CodecError::BufferTooSmall {
                needed: 961 * usize::from(channels),
                available: 960 * usize::from(channels)
            })
        );
        // Through the trait object a jitter buffer holds.
        let mut boxed: Box<dyn Decoder> = Box::new(dec);
        assert_eq!(boxed.conceal(960, &mut out), Ok(960));
    }
}

fn fec_config(inband_fec: bool) -> OpusEncoderConfig {
    let mut cfg = OpusEncoderConfig::default();
    cfg.bitrate_bps = Some(24_000);
    cfg.inband_fec = inband_fec;
    cfg.packet_loss_perc = if inband_fec { 20 } else { 0 };
    cfg
}

fn squared_error(a: &[i16], b: &[i16]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum()
}

#[test]
fn inband_fec_recovers_a_lost_frame_better_than_plc() {
    let input = voiced(48_000, 1.0);
    let packets = encode_all(&mut OpusEncoder::new(fec_config(true)).expect("valid config"), &input);
    let with_fec = packets.iter().filter(|p| has_inband_fec(p)).count();
    assert!(with_fec >= 40, "only {with_fec} of 50 packets carry FEC");
    let plain = encode_all(&mut OpusEncoder::new(fec_config(false)).expect("valid config"), &input);
    assert_eq!(plain.iter().filter(|p| has_inband_fec(p)).count(), 0);

    let lost = 30;
    let reference = decode_all(&mut OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder"), &packets);
    let truth = &reference[lost * 960..(lost + 1) * 960];
    let mut by_fec = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    let mut by_plc = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    decode_all(&mut by_fec, &packets[..lost]);
    decode_all(&mut by_plc, &packets[..lost]);
    let (mut fec_out, mut plc_out) = (vec![0i16; 960], vec![0i16; 960]);
    assert!(has_inband_fec(&packets[lost + 1]));
    assert_eq!(by_fec.decode_fec(&packets[lost + 1], 960, &mut fec_out), Ok(960));
    assert_eq!(by_plc.conceal(960, &mut plc_out), Ok(960));
    let signal: f64 = truth.iter().map(|&s| f64::from(s).powi(2)).sum();
    let (fec_err, plc_err) = (squared_error(truth, &fec_out), squared_error(truth, &plc_out));
    let fec_snr = 10.0 * (signal / fec_err).log10();
    // Measured with libopus 1.5: FEC 12 dB SNR, PLC -1 dB.
    assert!(fec_err < plc_err / 4.0, "FEC error {fec_err:.3e} vs PLC {plc_err:.3e}");
    assert!(fec_snr > 6.0, "FEC SNR {fec_snr:.1} dB");
    // The next packet then decodes normally.
    let mut next = vec![0i16; 960];
    assert_eq!(by_fec.decode(&packets[lost + 1], &mut next), Ok(960));

    // Without FEC data, decode_fec is libopus' PLC, sample for sample.
    let mut a = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    let mut b = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    decode_all(&mut a, &plain[..lost]);
    decode_all(&mut b, &plain[..lost]);
    assert_eq!(a.decode_fec(&plain[lost + 1], 960, &mut fec_out), Ok(960));
    assert_eq!(b.conceal(960, &mut plc_out), Ok(960));
    assert_eq!(fec_out, plc_out);
    // Lengths libopus cannot recover.
    assert_eq!(a.decode_fec(&plain[lost + 1], 100, &mut fec_out), Err(CodecError::BadLength(100)));
    assert_eq!(a.decode_fec(&[], 960, &mut fec_out).map_err(|e| matches!(e, CodecError::Corrupt(_))), Err(true));
}

#[test]
fn samples_in_counts_multi_frame_packets() {
    let input = voiced(48_000, 0.1);
    let mut cfg = OpusEncoderConfig::default();
    cfg.bitrate_bps = Some(32_000);
    let packets = encode_all(&mut OpusEncoder::new(cfg).expect("valid config"), &input);
    let dec48 = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    let dec8 = OpusDecoder::new(SampleRate::HZ_8000, 2).expect("decoder");
    let one = &packets[1];
    assert_eq!(one[0] & 0x03, 0, "libopus emits code-0 packets");
    assert_eq!((dec48.samples_in(one), dec8.samples_in(one)), (Some(960), Some(160)));

    // Code 1: two frames of equal size (the same frame twice), RFC 6716 §3.2.2.
    let mut code1 = vec![one[0] | 0x01];
    code1.extend_from_slice(&one[1..]);
    code1.extend_from_slice(&one[1..]);
    assert_eq!((dec48.samples_in(&code1), dec8.samples_in(&code1)), (Some(1920), Some(320)));

    // Codes 2 and 3 from libopus' repacketizer: 2 and 3 frames of different sizes.
    let mut rp = opus::Repacketizer::new().expect("repacketizer");
    let mut buf = [0u8; 4000];
    let n = rp.combine(&[&packets[1], &packets[2]], &mut buf).expect("combine 2");
    let code2 = buf[..n].to_vec();
    let n = rp.combine(&[&packets[1], &packets[2], &packets[3]], &mut buf).expect("combine 3");
    let code3 = buf[..n].to_vec();
    assert_ne!(packets[1].len(), packets[2].len(), "VBR frames differ in size");
    assert_eq!((code2[0] & 3, code3[0] & 3), (2, 3));
    assert_eq!(dec48.samples_in(&code2), Some(1920));
    assert_eq!((dec48.samples_in(&code3), dec8.samples_in(&code3)), (Some(2880), Some(480)));

    // They decode to that many samples; a buffer one frame short is refused untouched.
    let mut dec = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    let mut out = vec![0i16; 2880];
    assert_eq!(dec.decode(&code1, &mut out), Ok(1920));
    assert_eq!(dec.decode(&code3, &mut out), Ok(2880));
    out.fill(7);
    assert_eq!(dec.decode(&code3, &mut out[..1920]), Err(CodecError::BufferTooSmall { needed: 2880, available: 1920 }));
    assert!(out.iter().all(|&s| s == 7));

    // Over 120 ms (code 3 with 3 × 60 ms frames) is invalid (RFC 6716 §3.2.5).
    let silk_60ms_toc = 3 << 3; // config 3: SILK NB 60 ms
    assert_eq!(dec48.samples_in(&[silk_60ms_toc, 2]), Some(2880));
    assert_eq!(dec48.samples_in(&[silk_60ms_toc | 3, 2]), Some(5760), "120 ms is the limit");
    assert_eq!(dec48.samples_in(&[silk_60ms_toc | 3, 3]), None);
    assert_eq!(dec48.samples_in(&[silk_60ms_toc | 3]), None, "code 3 without its count byte");
    assert_eq!(dec48.samples_in(&[]), None);
}

#[test]
fn garbage_payloads_are_errors_not_panics() {
    let mut dec = OpusDecoder::new(SampleRate::HZ_48000, 2).expect("decoder");
    let mut out = vec![0i16; 5760 * 2];
    let mut x = 0x9E37_79B9u32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let (mut ok, mut err) = (0, 0);
    for _ in 0..2000 {
        let len = (next() % 300) as usize;
        let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match dec.decode(&payload, &mut out) {
            Ok(n) => {
                ok += 1;
                assert_eq!(dec.samples_in(&payload), Some(n));
            }
            Err(CodecError::Opus(_) | CodecError::Corrupt(_)) => err += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
        let _ = dec.decode_fec(&payload, 960, &mut out);
        let _ = has_inband_fec(&payload);
    }
    assert!(err > 0 && ok > 0, "ok {ok}, err {err}");
    // Specific malformed packets (RFC 6716 §3.4 R1-R7).
    for bad in [&[][..], &[0x03][..], &[0x03, 0x00][..], &[0x02, 0xFF][..], &[0x0B, 0x83, 0xFF, 0xFF][..]] {
        assert!(dec.decode(bad, &mut out).is_err(), "{bad:02x?} decoded");
    }
    // The decoder is still usable.
    let mut enc = OpusEncoder::new(OpusEncoderConfig::new(SampleRate::HZ_48000, 2)).expect("encoder");
    let packets = encode_all(&mut enc, &sine_440(48_000, 2, 0.04));
    assert_eq!(dec.decode(&packets[1], &mut out), Ok(960));
}

#[test]
fn encoder_rejects_wrong_frames_and_configs() {
    let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).expect("default config");
    let mut out = [0u8; 4000];
    assert_eq!(enc.encode(&[0; 959], &mut out), Err(CodecError::BadLength(959)));
    assert!(matches!(enc.encode(&[0; 960], &mut []), Err(CodecError::BufferTooSmall { .. })));
    assert!(matches!(enc.encode(&[0; 960], &mut out), Ok(n) if n >= 1));

    let bad = |f: fn(&mut OpusEncoderConfig)| {
        let mut cfg = OpusEncoderConfig::default();
        f(&mut cfg);
        matches!(OpusEncoder::new(cfg), Err(CodecError::Unsupported(_)))
    };
    assert!(bad(|c| c.sample_rate = SampleRate::new(44_100)));
    assert!(bad(|c| c.channels = 3));
    assert!(bad(|c| c.frame = Duration::from_millis(30)));
    assert!(bad(|c| c.frame = Duration::from_micros(2_501)));
    assert!(bad(|c| c.complexity = 11));
    assert!(bad(|c| c.bitrate_bps = Some(100)));
    assert!(bad(|c| c.packet_loss_perc = 101));
    assert!(!bad(|c| c.frame = Duration::from_micros(2_500)));

    // 60 ms frames at 8 kHz: 480 samples per channel, one packet of 2880 48 kHz samples.
    let mut cfg = OpusEncoderConfig::new(SampleRate::HZ_8000, 1);
    cfg.frame = Duration::from_millis(60);
    let mut enc = OpusEncoder::new(cfg).expect("valid config");
    assert_eq!(enc.frame_samples(), 480);
    let n = enc.encode(&sine_440(8000, 1, 0.06), &mut out).expect("one frame");
    let dec = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("decoder");
    assert_eq!(dec.samples_in(&out[..n]), Some(2880));
    assert!(matches!(OpusDecoder::new(SampleRate::new(44_100), 1), Err(CodecError::Unsupported(_))));
    assert!(matches!(OpusDecoder::new(SampleRate::HZ_48000, 0), Err(CodecError::Unsupported(_))));
}

/// The deep-learning PLC (decoder complexity 5, the default) is built in and active: for the
/// same decoder state its concealment of three lost 20 ms frames of voiced speech differs from
/// the classic PLC's (complexity 0), continues the voice at a plausible level, and the
/// decoder returns to the real packets.
#[test]
fn deep_plc_is_the_default_and_differs_from_the_classic_plc() {
    let rate = 16_000u32;
    let input = voiced(rate, 1.0);
    let mut cfg = fec_config(false);
    cfg.sample_rate = SampleRate::HZ_16000;
    let packets = encode_all(&mut OpusEncoder::new(cfg).expect("valid config"), &input);
    let frame = 320;
    let mut deep = OpusDecoder::new(SampleRate::HZ_16000, 1).expect("decoder");
    let mut classic = OpusDecoder::new(SampleRate::HZ_16000, 1).expect("decoder");
    assert_eq!((deep.complexity(), OpusDecoder::DEFAULT_COMPLEXITY), (5, 5));
    classic.set_complexity(0).expect("0 is valid");
    assert_eq!(classic.complexity(), 0);
    assert!(matches!(classic.set_complexity(11), Err(CodecError::Unsupported(_))));
    let lost = 20;
    let truth = decode_all(&mut OpusDecoder::new(SampleRate::HZ_16000, 1).expect("decoder"), &packets);
    decode_all(&mut deep, &packets[..lost]);
    decode_all(&mut classic, &packets[..lost]);
    let (mut d, mut c) = (vec![0i16; 3 * frame], vec![0i16; 3 * frame]);
    assert_eq!(deep.conceal(3 * frame, &mut d), Ok(3 * frame));
    assert_eq!(classic.conceal(3 * frame, &mut c), Ok(3 * frame));
    assert_ne!(d, c, "the deep PLC produced the classic PLC's samples");
    let e = |x: &[i16]| x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
    let t = e(&truth[lost * frame..(lost + 3) * frame]);
    let ratio = e(&d) / t;
    assert!((0.05..5.0).contains(&ratio), "deep PLC energy {ratio:.3} × the lost speech's");
    let mut next = vec![0i16; frame];
    assert_eq!(deep.decode(&packets[lost + 3], &mut next), Ok(frame));
}
