//! No panics across the public API (issue 9, item 5), part 2: the codec and mix modules fed
//! boundary values (empty and huge buffers, too-small outputs, zero and absurd rates,
//! channel counts 0/3/255, odd stereo lengths, NaN and infinite gains, levels and
//! frequencies, unknown encoding names). Each call must give the documented error variant or
//! the documented clamp, never a panic. "Regression" marks a call that panicked before its fix.

use jyqq_media::codec::{
    alaw_decode_slice, alaw_encode_slice, decoder_for, fmtp_ptime, fmtp_value, has_inband_fec, is_opus_dtx,
    opus_rate_at_least, ulaw_decode_slice, ulaw_encode_slice, CodecError, CodecKind, CodecOptions, CodecRegistry,
    Decoder, Encoder, G711Decoder, G711Encoder, G711Law, G722Decoder, G722Encoder, G722Mode, L16Decoder, L16Encoder,
    OpusDecoder, OpusEncoder, OpusEncoderConfig, OpusMultistreamConfig, OpusMultistreamEncoder, OpusParams,
    ResampleError, Resampler, Transcoder, TranslationPath,
};
use jyqq_media::mix::{
    interleave_stereo, Cadence, CadenceStep, Dbm0, Gain, LimiterConfig, LinearResampler, Listen, MixError, Mixer,
    OutputStage, PlayMode, PlaybackId, Prompt, PromptPlayer, Repeat, Resample, Router, RouterConfig, Schedule, Source,
    TapId, TapKind, Target, ToneGenerator, ToneSpec, MAX_INPUTS,
};
use jyqq_media::rtp::{PayloadFormat, PayloadMap, PayloadType};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::time::Duration;

const MIB: usize = 1 << 20;

fn fmt(pt: u8, name: &str, hz: u32, ch: u8) -> PayloadFormat {
    PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch)
}

// ---------------------------------------------------------------------------------------
// G.711

#[test]
fn g711_slices_and_codecs_check_buffer_sizes() {
    let mut small = [9u8; 2];
    assert_eq!(ulaw_encode_slice(&[1, 2, 3], &mut small), Err(CodecError::BufferTooSmall { needed: 3, available: 2 }));
    assert_eq!(alaw_encode_slice(&[1, 2, 3], &mut small), Err(CodecError::BufferTooSmall { needed: 3, available: 2 }));
    assert_eq!(small, [9, 9], "nothing written");
    let mut pcm = [7i16; 1];
    assert_eq!(ulaw_decode_slice(&[0, 0], &mut pcm), Err(CodecError::BufferTooSmall { needed: 2, available: 1 }));
    assert_eq!(alaw_decode_slice(&[0, 0], &mut pcm), Err(CodecError::BufferTooSmall { needed: 2, available: 1 }));
    assert_eq!(pcm, [7]);
    assert_eq!(ulaw_encode_slice(&[], &mut []), Ok(0));
    assert_eq!(alaw_decode_slice(&[], &mut []), Ok(0));

    for law in [G711Law::Mu, G711Law::A] {
        let mut enc = G711Encoder::new(law);
        assert_eq!(enc.encode(&[], &mut []), Ok(0));
        assert_eq!(
            enc.encode(&[0; 160], &mut [0; 159]),
            Err(CodecError::BufferTooSmall { needed: 160, available: 159 })
        );
        let mut big = vec![0u8; MIB];
        assert_eq!(enc.encode(&vec![i16::MIN; MIB], &mut big), Ok(MIB));

        let mut dec = G711Decoder::new(law);
        assert_eq!(dec.decode(&[], &mut []), Ok(0));
        assert_eq!(dec.samples_in(&[]), Some(0));
        assert_eq!(
            dec.decode(&[0xFF; 160], &mut [0; 10]),
            Err(CodecError::BufferTooSmall { needed: 160, available: 10 })
        );
        assert_eq!(
            dec.conceal(usize::MAX, &mut [0; 160]),
            Err(CodecError::BufferTooSmall { needed: usize::MAX, available: 160 })
        );
        assert_eq!(dec.conceal(0, &mut []), Ok(0));
        // Concealment before any audio is silence, however long.
        let mut out = vec![1i16; 1_000_000];
        assert_eq!(dec.conceal(1_000_000, &mut out), Ok(1_000_000));
        assert!(out.iter().all(|&x| x == 0));
        assert_eq!(
            dec.decode(&big, &mut out[..]),
            Err(CodecError::BufferTooSmall { needed: MIB, available: 1_000_000 })
        );
        let mut out = vec![0i16; MIB];
        assert_eq!(dec.decode(&big, &mut out), Ok(MIB));
        assert_eq!(dec.decode_fec(&[1], 160, &mut out).map_err(|e| matches!(e, CodecError::Unsupported(_))), Err(true));
    }
}

// ---------------------------------------------------------------------------------------
// G.722

#[test]
fn g722_codec_rejects_odd_lengths_and_short_buffers() {
    let mut enc = G722Encoder::new();
    let mut out = [9u8; 160];
    assert_eq!(enc.encode(&[0; 321], &mut out), Err(CodecError::BadLength(321)));
    assert_eq!(enc.encode(&[0; 1], &mut out), Err(CodecError::BadLength(1)));
    assert_eq!(enc.encode(&[0; 322], &mut out), Err(CodecError::BufferTooSmall { needed: 161, available: 160 }));
    assert!(out.iter().all(|&b| b == 9));
    assert_eq!(enc.encode(&[], &mut []), Ok(0));
    let mut big = vec![0u8; 500_000];
    assert_eq!(enc.encode(&vec![i16::MAX; 1_000_000], &mut big), Ok(500_000));

    for mode in [G722Mode::Mode1, G722Mode::Mode2, G722Mode::Mode3] {
        let mut dec = G722Decoder::new(mode);
        assert_eq!(dec.decode(&[], &mut []), Ok(0));
        assert_eq!(
            dec.decode(&[0xFF; 160], &mut [0; 319]),
            Err(CodecError::BufferTooSmall { needed: 320, available: 319 })
        );
        assert_eq!(dec.decode_raw(&[0; 3], &mut [0; 5]), Err(CodecError::BufferTooSmall { needed: 6, available: 5 }));
        assert_eq!(
            dec.conceal(usize::MAX, &mut [0; 10]),
            Err(CodecError::BufferTooSmall { needed: usize::MAX, available: 10 })
        );
        assert_eq!(dec.conceal(0, &mut []), Ok(0));
        let mut out = vec![0i16; 2 * MIB];
        assert_eq!(dec.decode(&vec![0xA5; MIB], &mut out), Ok(2 * MIB));
        assert_eq!(dec.conceal(1_000_000, &mut out), Ok(1_000_000));
        assert_eq!(dec.samples_in(&[0; 7]), Some(14));
    }
    assert_eq!(G722Mode::from_bit_rate(0), None);
    assert_eq!(G722Mode::from_bit_rate(u32::MAX), None);
}

// ---------------------------------------------------------------------------------------
// Opus

#[test]
fn opus_encoder_config_rejects_every_out_of_range_setting() {
    let unsupported = |cfg: OpusEncoderConfig| matches!(OpusEncoder::new(cfg), Err(CodecError::Unsupported(_)));
    for hz in [0, 1, 7, 11_025, 44_100, 96_000, u32::MAX] {
        assert!(unsupported(OpusEncoderConfig::new(SampleRate::new(hz), 1)), "{hz} Hz");
    }
    for ch in [0u8, 3, 255] {
        assert!(unsupported(OpusEncoderConfig::new(SampleRate::HZ_48000, ch)), "{ch} channels");
    }
    for frame in [Duration::ZERO, Duration::from_millis(7), Duration::from_nanos(2_500_001), Duration::MAX] {
        let mut c = OpusEncoderConfig::default();
        c.frame = frame;
        assert!(unsupported(c), "{frame:?}");
    }
    for bps in [0, 499, 512_001, u32::MAX] {
        let mut c = OpusEncoderConfig::default();
        c.bitrate_bps = Some(bps);
        assert!(unsupported(c), "{bps} bit/s");
    }
    let mut c = OpusEncoderConfig::default();
    c.complexity = 11;
    assert!(unsupported(c));
    let mut c = OpusEncoderConfig::default();
    c.packet_loss_perc = 101;
    assert!(unsupported(c));

    let mut enc = OpusEncoder::new(OpusEncoderConfig::new(SampleRate::HZ_8000, 2)).expect("8 kHz stereo");
    assert_eq!(enc.frame_samples(), 160);
    let mut out = [0u8; 4000];
    for len in [0usize, 1, 159, 161, 319, 321, 1_000_000] {
        assert_eq!(enc.encode(&vec![0; len], &mut out), Err(CodecError::BadLength(len)), "{len} samples");
    }
    assert_eq!(enc.encode(&[0; 320], &mut []), Err(CodecError::BufferTooSmall { needed: 1, available: 0 }));
    // One byte is too little for libopus: an Opus error or a 1-byte packet, never a panic.
    assert!(matches!(enc.encode(&[0; 320], &mut [0u8; 1]), Ok(1) | Err(CodecError::Opus(_))));
    assert!(matches!(enc.encode(&[i16::MIN; 320], &mut vec![0u8; MIB]), Ok(n) if n > 0 && n <= 4000));
}

#[test]
fn opus_decoder_rejects_bad_setups_payloads_and_lengths() {
    for hz in [0, 1, 7, 44_100, u32::MAX] {
        assert!(matches!(OpusDecoder::new(SampleRate::new(hz), 1), Err(CodecError::Unsupported(_))), "{hz} Hz");
    }
    for ch in [0u8, 3, 255] {
        assert!(matches!(OpusDecoder::new(SampleRate::HZ_48000, ch), Err(CodecError::Unsupported(_))), "{ch} ch");
    }
    let mut dec = OpusDecoder::new(SampleRate::HZ_48000, 2).expect("48 kHz stereo");
    let mut out = vec![0i16; 5760 * 2];
    assert!(matches!(dec.decode(&[], &mut out), Err(CodecError::Corrupt(_))));
    assert!(matches!(dec.decode(&vec![0xFC; MIB], &mut out), Err(CodecError::Corrupt(_))));
    assert!(matches!(dec.decode(&[0xFF; 7], &mut out), Err(CodecError::Opus(_))), "63 frames of 20 ms");
    assert_eq!(dec.samples_in(&[]), None);
    assert_eq!(dec.samples_in(&vec![0xFC; MIB]), None);
    // A valid 20 ms packet into a buffer one sample short.
    let mut enc = OpusEncoder::new(OpusEncoderConfig::new(SampleRate::HZ_48000, 2)).expect("48 kHz stereo");
    let mut pkt = [0u8; 4000];
    let n = enc.encode(&[0; 1920], &mut pkt).expect("one frame");
    assert_eq!(dec.samples_in(&pkt[..n]), Some(960));
    assert_eq!(
        dec.decode(&pkt[..n], &mut out[..1919]),
        Err(CodecError::BufferTooSmall { needed: 1920, available: 1919 })
    );
    assert_eq!(dec.decode(&pkt[..n], &mut out), Ok(960));
    // Concealment: zero, odd and huge lengths.
    assert_eq!(dec.conceal(0, &mut []), Ok(0));
    assert_eq!(dec.conceal(1, &mut out), Ok(1));
    assert_eq!(
        dec.conceal(usize::MAX, &mut out),
        Err(CodecError::BufferTooSmall { needed: usize::MAX, available: 11_520 })
    );
    let mut long = vec![0i16; 2 * 48_000 * 3];
    assert_eq!(dec.conceal(48_000 * 3, &mut long), Ok(144_000));
    // FEC: empty payload, lengths that are no multiple of 2.5 ms or over 120 ms.
    assert!(matches!(dec.decode_fec(&[], 960, &mut out), Err(CodecError::Corrupt(_))));
    for len in [0usize, 7, 121, 5761, usize::MAX] {
        assert_eq!(dec.decode_fec(&pkt[..n], len, &mut out), Err(CodecError::BadLength(len)), "{len}");
    }
    assert!(!has_inband_fec(&[]));
    assert!(!has_inband_fec(&vec![0x08; MIB]));
    assert!(!has_inband_fec(&[0x08]));
    assert!(!is_opus_dtx(&[]));
    assert!(!is_opus_dtx(&[0; 4]));
}

#[test]
fn opus_multistream_encoder_rejects_bad_channels_rates_and_lengths() {
    let unsupported =
        |c: OpusMultistreamConfig| matches!(OpusMultistreamEncoder::new(c), Err(CodecError::Unsupported(_)));
    for ch in [0u8, 9, 255] {
        assert!(unsupported(OpusMultistreamConfig::new(SampleRate::HZ_48000, ch)), "{ch} channels");
    }
    for hz in [0, 7, 44_100, u32::MAX] {
        assert!(unsupported(OpusMultistreamConfig::new(SampleRate::new(hz), 2)), "{hz} Hz");
    }
    let mut c = OpusMultistreamConfig::new(SampleRate::HZ_16000, 3);
    c.frame = Duration::from_millis(7);
    assert!(unsupported(c));
    let mut c = OpusMultistreamConfig::new(SampleRate::HZ_16000, 3);
    c.bitrate_per_stream = 0;
    assert!(matches!(OpusMultistreamEncoder::new(c), Err(CodecError::Opus(_))), "libopus refuses bitrate 0");
    let mut c = OpusMultistreamConfig::new(SampleRate::HZ_16000, 8);
    c.bitrate_per_stream = u32::MAX;
    c.complexity = u8::MAX;
    let mut enc = OpusMultistreamEncoder::new(c).expect("clamped bitrate and complexity");
    assert_eq!((enc.frame_samples(), enc.mapping().len()), (320, 8));
    let mut out = vec![0u8; 8000];
    for len in [0usize, 320, 2559, 2561] {
        assert_eq!(enc.encode(&vec![0; len], &mut out), Err(CodecError::BadLength(len)));
    }
    assert!(matches!(enc.encode(&[0; 2560], &mut []), Err(CodecError::Opus(_))));
    assert!(matches!(enc.encode(&[i16::MAX; 2560], &mut out), Ok(n) if n > 0));
}

#[test]
fn opus_fmtp_parameters_ignore_garbage() {
    let p = OpusParams::parse(&"=;;;==;maxplaybackrate=NaN;ptime=-1;maxaveragebitrate=99999999999;".repeat(1000));
    assert_eq!(p, OpusParams::default());
    let p = OpusParams::parse("maxplaybackrate=7;sprop-maxcapturerate=4294967296;ptime=0;minptime=121;stereo=2");
    assert_eq!(p, OpusParams::default());
    assert_eq!(p.decode_rate(Some(SampleRate::new(0))).hz(), 8000);
    assert_eq!(p.encode_rate(Some(SampleRate::new(u32::MAX))).hz(), 48_000);
    assert_eq!(fmtp_value("", ""), None);
    assert_eq!(fmtp_value("=x", ""), Some("x"));
    assert_eq!(fmtp_ptime(Some("ptime=0")), None);
    assert_eq!(fmtp_ptime(Some("ptime=121")), None);
    assert_eq!(fmtp_ptime(Some("ptime=18446744073709551616")), None);
    assert_eq!(opus_rate_at_least(0).hz(), 8000);
    assert_eq!(opus_rate_at_least(u32::MAX).hz(), 48_000);
}

// ---------------------------------------------------------------------------------------
// L16

#[test]
fn l16_rejects_zero_channels_partial_frames_and_short_buffers() {
    assert!(matches!(L16Decoder::new(SampleRate::HZ_8000, 0), Err(CodecError::Unsupported(_))));
    assert!(matches!(L16Encoder::new(SampleRate::new(0), 0), Err(CodecError::Unsupported(_))));
    let mut dec = L16Decoder::new(SampleRate::new(u32::MAX), 255).expect("any channel count ≥ 1");
    assert!(matches!(dec.decode(&[0; 509], &mut [0; 255]), Err(CodecError::Corrupt(_))));
    assert_eq!(dec.samples_in(&[0; 509]), None);
    assert_eq!(dec.decode(&[0; 510], &mut [0; 254]), Err(CodecError::BufferTooSmall { needed: 255, available: 254 }));
    assert_eq!(dec.decode(&[0; 510], &mut [0; 255]), Ok(1));
    assert_eq!(dec.decode(&[], &mut []), Ok(0));
    assert_eq!(
        dec.conceal(usize::MAX, &mut [0; 255]),
        Err(CodecError::BufferTooSmall { needed: usize::MAX, available: 255 })
    );
    let mut dec = L16Decoder::new(SampleRate::HZ_16000, 2).expect("stereo");
    assert!(matches!(dec.decode(&[0; 6], &mut [0; 8]), Err(CodecError::Corrupt(_))), "odd stereo sample count");
    let mut enc = L16Encoder::new(SampleRate::HZ_16000, 2).expect("stereo");
    assert_eq!(enc.encode(&[0; 3], &mut [0; 6]), Err(CodecError::BadLength(3)));
    assert_eq!(enc.encode(&[0; 4], &mut [0; 7]), Err(CodecError::BufferTooSmall { needed: 8, available: 7 }));
    let mut enc = L16Encoder::new(SampleRate::HZ_16000, 3).expect("3 channels");
    assert_eq!(enc.encode(&[0; 4], &mut [0; 8]), Err(CodecError::BadLength(4)));
    assert_eq!(enc.encode(&[], &mut []), Ok(0));
}

// ---------------------------------------------------------------------------------------
// Registry, decoder_for, transcoder

#[test]
fn registry_refuses_unknown_codecs() {
    let reg = CodecRegistry::with_builtin();
    let opts = CodecOptions::default();
    for f in [fmt(18, "G729", 8000, 1), fmt(96, "", 0, 0), fmt(96, "PCMU", 16_000, 1), fmt(96, "opus", 48_000, 3)] {
        assert!(matches!(reg.decoder(&f, &opts), Err(CodecError::Unsupported(_))), "{f:?}");
        assert!(matches!(reg.encoder(&f, &opts), Err(CodecError::Unsupported(_))), "{f:?}");
        assert!(matches!(Transcoder::between(&reg, &f, &fmt(0, "PCMU", 8000, 1)), Err(CodecError::Unsupported(_))));
        assert!(matches!(Transcoder::between(&reg, &fmt(0, "PCMU", 8000, 1), &f), Err(CodecError::Unsupported(_))));
    }
    assert!(reg.find("", ClockRate::new(0), 0).is_none());
    assert!(reg.for_payload(&PayloadMap::static_defaults(), PayloadType(200)).is_none());
    assert!(CodecRegistry::empty().decoder(&fmt(0, "PCMU", 8000, 1), &opts).is_err());
    // Channel count 0 reads as mono; odd option values are clamped by the factories.
    assert!(reg.decoder(&fmt(0, "PCMU", 8000, 0), &opts).is_ok());
    let mut o = CodecOptions::at_rate(SampleRate::new(0));
    o.channels = Some(255);
    o.frame = Some(Duration::from_millis(7));
    assert!(matches!(reg.encoder(&fmt(111, "opus", 48_000, 2), &o), Err(CodecError::Unsupported(_))), "7 ms frame");
    o.frame = None;
    let d = reg.decoder(&fmt(111, "opus", 48_000, 2), &o).expect("clamped to 8 kHz stereo");
    assert_eq!((d.sample_rate().hz(), d.channels()), (8000, 2));

    assert_eq!(CodecKind::from_encoding_name(""), None);
    assert_eq!(CodecKind::from_encoding_name("\u{0}ΩPCMU"), None);
    assert!(decoder_for(CodecKind::TelephoneEvent, 1, SampleRate::HZ_8000).is_none());
    assert!(decoder_for(CodecKind::ComfortNoise, 0, SampleRate::new(0)).is_none());
    let d = decoder_for(CodecKind::Opus, 0, SampleRate::new(0)).expect("clamped");
    assert_eq!((d.sample_rate().hz(), d.channels()), (48_000, 1));
    let d = decoder_for(CodecKind::Opus, 255, SampleRate::new(u32::MAX)).expect("clamped");
    assert_eq!((d.sample_rate().hz(), d.channels()), (48_000, 2));
}

#[test]
fn transcoder_reports_short_buffers_and_bounds_lost_frames() {
    let reg = CodecRegistry::with_builtin();
    // Passthrough: a 1 MiB payload comes back whole, once the buffer is big enough.
    let pcmu = fmt(0, "PCMU", 8000, 1);
    let mut t = Transcoder::between(&reg, &pcmu, &pcmu).expect("same codec");
    assert_eq!(t.pull(&mut [0; 10]), Ok(None));
    assert_eq!(t.push(&vec![0xFF; MIB]), Ok(()));
    assert_eq!(t.push(&[]), Ok(()));
    assert_eq!(t.push_lost(usize::MAX), Ok(()));
    assert_eq!(t.pull(&mut [0; 10]), Err(CodecError::BufferTooSmall { needed: MIB, available: 10 }));
    let mut big = vec![0u8; MIB];
    assert_eq!(t.pull(&mut big), Ok(Some(MIB)));
    assert_eq!(t.pull(&mut []), Ok(Some(0)), "the empty payload");
    assert_eq!(t.pull(&mut big), Ok(None));

    // PCMU → L16/48000 with 255 channels, 1 ms frames: upsampled, channels copied.
    let mut l16 = fmt(99, "L16", 48_000, 255);
    l16.fmtp = Some("ptime=1".into());
    let mut t = Transcoder::between(&reg, &pcmu, &l16).expect("a plan");
    assert_eq!(t.frame_duration(), Duration::from_millis(1));
    assert_eq!(t.push(&[0xFF; 160]), Ok(()));
    assert_eq!(t.push_lost(usize::MAX), Ok(()), "capped at one decoded packet");
    let frame_bytes = 48 * 255 * 2;
    assert_eq!(
        t.pull(&mut vec![0; frame_bytes - 1]),
        Err(CodecError::BufferTooSmall { needed: frame_bytes, available: frame_bytes - 1 })
    );
    let mut out = vec![0u8; frame_bytes];
    let mut frames = 0;
    while let Some(n) = t.pull(&mut out).expect("big enough") {
        assert_eq!(n, frame_bytes);
        frames += 1;
    }
    assert!(frames > 0);
    // Regression: a plan whose destination ptime is huge sized the frame buffers by it
    // (`usize::MAX` samples: "capacity overflow"); zero or over 120 ms is refused.
    let path = reg.translation_path(&pcmu, &fmt(8, "PCMA", 8000, 1)).expect("a plan");
    let TranslationPath::Transcode(mut plan) = path else { panic!("PCMU -> PCMA transcodes") };
    for ptime in [Duration::ZERO, Duration::from_millis(121), Duration::MAX] {
        plan.dst_ptime = ptime;
        let p = TranslationPath::Transcode(plan.clone());
        assert!(matches!(Transcoder::new(&reg, &p), Err(CodecError::Unsupported(_))), "{ptime:?}");
    }
    plan.dst_ptime = Duration::from_millis(120);
    let t = Transcoder::new(&reg, &TranslationPath::Transcode(plan)).expect("120 ms");
    assert_eq!(t.frame_duration(), Duration::from_millis(120));
    // Garbage into an Opus decoder: the packet's error, the transcoder goes on.
    let mut t = Transcoder::between(&reg, &fmt(111, "opus", 48_000, 2), &pcmu).expect("a plan");
    assert!(matches!(t.push(&[]), Err(CodecError::Corrupt(_))));
    assert!(matches!(t.push(&[0xFF; 7]), Err(CodecError::Opus(_))));
    assert_eq!(t.push_lost(0), Ok(()));
    assert_eq!(t.pull(&mut [0; 160]), Ok(None));
}

#[test]
fn resampler_rejects_absurd_setups_and_short_outputs() {
    let unsupported = |from: u32, to: u32, ch: u8| {
        matches!(Resampler::new(SampleRate::new(from), SampleRate::new(to), ch), Err(ResampleError::Unsupported(_)))
    };
    assert!(unsupported(8000, 16_000, 0));
    // Regression: u32::MAX Hz made rubato plan an FFT of ~10^9 points (gigabytes; the test
    // process was killed). Rates above 384 kHz are refused.
    assert!(unsupported(u32::MAX, 8000, 1));
    assert!(unsupported(8000, u32::MAX, 1));
    assert!(unsupported(384_001, 48_000, 2));
    // Rate 0 is 1 Hz (SampleRate's clamp): absurd but well defined.
    let mut r = Resampler::new(SampleRate::new(0), SampleRate::new(7), 1).expect("1 Hz -> 7 Hz");
    let mut out = vec![0i16; 1000];
    let n = r.process(&[1000; 10], &mut out).expect("room");
    assert!(n <= 70);
    let same = Resampler::new(SampleRate::new(0), SampleRate::new(0), 255).expect("identity");
    assert_eq!(same.max_output_frames(usize::MAX), usize::MAX);

    let mut r = Resampler::new(SampleRate::HZ_8000, SampleRate::HZ_48000, 2).expect("8 -> 48 kHz stereo");
    assert_eq!(r.process(&[0; 3], &mut out), Err(ResampleError::BadLength(3)), "odd stereo length");
    assert_eq!(r.process(&[], &mut []), Ok(0));
    let input = vec![100i16; 2 * 160];
    let needed = r.max_output_frames(160) * 2;
    assert_eq!(r.process(&input, &mut []), Err(ResampleError::BufferTooSmall { needed, available: 0 }));
    assert_eq!(r.totals(), (0, 0), "nothing consumed");
    let mut out = vec![0i16; needed];
    let n = r.process(&input, &mut out).expect("room");
    let pending = r.pending_frames();
    assert_eq!(n as u64 + pending as u64, 960);
    assert_eq!(r.flush(&mut [0; 1]), Err(ResampleError::BufferTooSmall { needed: pending * 2, available: 1 }));
    let mut tail = vec![0i16; pending * 2];
    assert_eq!(r.flush(&mut tail), Ok(pending));
    assert_eq!(r.flush(&mut []), Ok(0), "nothing owed after a flush");
    // A million frames at once.
    let mut r = Resampler::new(SampleRate::HZ_48000, SampleRate::HZ_8000, 1).expect("48 -> 8 kHz");
    let mut out = vec![0i16; r.max_output_frames(1_000_000)];
    let n = r.process(&vec![0; 1_000_000], &mut out).expect("room");
    assert_eq!(n + r.pending_frames(), 1_000_000 / 6);
}

// ---------------------------------------------------------------------------------------
// mix: mixer and gains

#[test]
fn gains_clamp_nan_and_infinities() {
    assert_eq!(Gain::from_linear(f32::NAN), Gain::MUTE);
    assert_eq!(Gain::from_linear(f32::NEG_INFINITY), Gain::MUTE);
    assert_eq!(Gain::from_linear(-0.0), Gain::MUTE);
    assert_eq!(Gain::from_linear(f32::INFINITY).q15(), 8 * 32_768);
    assert_eq!(Gain::from_db(f32::NAN), Gain::MUTE);
    assert_eq!(Gain::from_db(f32::NEG_INFINITY), Gain::MUTE);
    assert_eq!(Gain::from_db(f32::MAX).q15(), 8 * 32_768);
    assert_eq!(Gain::from_q15(u32::MAX).q15(), 8 * 32_768);
    assert_eq!(Gain::from_q15(u32::MAX).then(Gain::from_q15(u32::MAX)).q15(), 8 * 32_768);
}

#[test]
fn mixer_checks_lengths_offsets_channels_and_input_count() {
    for n in [0usize, 48_001, usize::MAX] {
        assert!(matches!(Mixer::new(n, SampleRate::HZ_8000, OutputStage::Clamp), Err(MixError::BadConfig(_))));
    }
    let mut m = Mixer::new(4, SampleRate::new(0), OutputStage::Clamp).expect("4 samples");
    assert_eq!(m.add(&[1; 3], Gain::UNITY), Err(MixError::FrameLength { expected: 4, got: 3 }));
    assert_eq!(m.add(&vec![1; MIB], Gain::UNITY), Err(MixError::FrameLength { expected: 4, got: MIB }));
    assert_eq!(m.add_at(usize::MAX, &[1], Gain::UNITY), Err(MixError::FrameLength { expected: 4, got: usize::MAX }));
    assert_eq!(m.add_at(3, &[1, 1], Gain::UNITY), Err(MixError::FrameLength { expected: 4, got: 5 }));
    assert_eq!(m.sum(), &[0; 4], "nothing added on error");
    m.zero_range(usize::MAX..usize::MAX);
    m.zero_range(std::ops::Range { start: 3, end: 1 }); // reversed: empty
    for _ in 0..MAX_INPUTS {
        m.add_at(0, &[], Gain::MUTE).expect("within MAX_INPUTS");
    }
    assert_eq!(m.add(&[1; 4], Gain::UNITY), Err(MixError::TooManyInputs));
    let mut out = [7i16; 4];
    assert_eq!(m.finish(&mut out[..3]), Err(MixError::FrameLength { expected: 4, got: 3 }));
    assert_eq!(m.finish_channel(&mut out, 0, 0), Err(MixError::BadPcm("channel index out of range")));
    assert_eq!(m.finish_channel(&mut out, 5, 2), Err(MixError::BadPcm("channel index out of range")));
    // Regression: a channel count of usize::MAX overflowed `samples × channels` (a panic in
    // debug builds); the expected length now saturates.
    assert_eq!(m.finish_channel(&mut out, 0, usize::MAX), Err(MixError::FrameLength { expected: usize::MAX, got: 4 }));
    assert_eq!(out, [7; 4], "nothing written");
    assert_eq!(
        m.mix(&[(&[1, 2, 3, 4], Gain::UNITY), (&[1], Gain::UNITY)], &mut out),
        Err(MixError::FrameLength { expected: 4, got: 1 })
    );
    assert_eq!(out, [7; 4]);
    assert_eq!(interleave_stereo(&[1, 2], &[3], &mut [0; 4]), Err(MixError::FrameLength { expected: 2, got: 1 }));
    assert_eq!(interleave_stereo(&[1, 2], &[3, 4], &mut [0; 3]), Err(MixError::FrameLength { expected: 4, got: 3 }));
    assert_eq!(interleave_stereo(&[], &[], &mut []), Ok(()));

    // A limiter with a nonsense threshold and release still bounds the output.
    for (threshold, release) in [(i16::MIN, Duration::ZERO), (0, Duration::MAX), (1, Duration::from_nanos(1))] {
        let mut cfg = LimiterConfig::default();
        cfg.threshold = threshold;
        cfg.release = release;
        let mut m = Mixer::new(4, SampleRate::new(u32::MAX), OutputStage::Limiter(cfg)).expect("4 samples");
        let mut out = [0i16; 4];
        m.mix(&[(&[i16::MAX; 4], Gain::from_linear(8.0)), (&[i16::MAX; 4], Gain::UNITY)], &mut out).expect("fits");
        assert!(out.iter().all(|&x| (0..=1).contains(&x)), "threshold {threshold}: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------
// mix: router

#[test]
fn router_rejects_bad_frames_taps_and_targets() {
    let bad = |rate: u32, ptime: Duration| {
        matches!(Router::new(RouterConfig::new(SampleRate::new(rate), ptime)), Err(MixError::BadConfig(_)))
    };
    assert!(bad(8000, Duration::ZERO));
    assert!(bad(44_100, Duration::from_millis(7)), "308.7 samples");
    assert!(bad(0, Duration::from_millis(20)), "0.02 samples at 1 Hz");
    assert!(bad(u32::MAX, Duration::from_nanos(1)));
    assert!(bad(48_000, Duration::from_millis(1001)), "more than 48 000 samples");
    assert!(bad(8000, Duration::MAX));
    let mut c = RouterConfig::new(SampleRate::HZ_8000, Duration::from_millis(20));
    c.max_taps = 257;
    assert!(matches!(Router::new(c), Err(MixError::BadConfig(_))));
    c.max_taps = 0;
    let mut r = Router::new(c).expect("no taps allowed");
    let t0 = HostTime::ZERO;
    assert_eq!(r.add_tap(t0, TapKind::Listen(Listen::MONO)), Err(MixError::TooManyTaps(0)));

    let mut r = Router::new(RouterConfig::new(SampleRate::HZ_8000, Duration::from_millis(7))).expect("56 samples");
    assert_eq!(r.samples_per_frame(), 56);
    let ghost = TapId(99);
    assert_eq!(r.push_guard_audio(ghost, &[0; 56]), Err(MixError::UnknownTap(ghost)));
    assert_eq!(r.set_tap_gains(ghost, Default::default()), Err(MixError::UnknownTap(ghost)));
    assert_eq!(r.remove_tap(t0, ghost), Err(MixError::UnknownTap(ghost)));
    assert_eq!(r.change_tap(t0, ghost, TapKind::Barge { listen: None }), Err(MixError::UnknownTap(ghost)));
    let tap = r.add_tap(t0, TapKind::Whisper { to: Leg::A, listen: None }).expect("a tap");
    for len in [0usize, 55, 57, MIB] {
        assert_eq!(r.push_guard_audio(tap, &vec![0; len]), Err(MixError::FrameLength { expected: 56, got: len }));
    }
    let tone = ToneGenerator::new(&ToneSpec::single(400.0, Dbm0(-10.0), Cadence::steady()), SampleRate::HZ_8000)
        .expect("a tone");
    assert_eq!(
        r.play(t0, tone.clone(), Target::Tap(ghost), PlayMode::Mix, Gain::UNITY),
        Err(MixError::UnknownTap(ghost))
    );
    let wrong_rate = ToneGenerator::new(&ToneSpec::single(400.0, Dbm0(-10.0), Cadence::steady()), SampleRate::HZ_16000)
        .expect("a tone");
    assert_eq!(
        r.play(t0, wrong_rate, Target::BothLegs, PlayMode::Mix, Gain::UNITY),
        Err(MixError::RateMismatch { source_hz: 16_000, mixer_hz: 8000 })
    );
    assert_eq!(r.stop(t0, PlaybackId(u32::MAX)), Err(MixError::UnknownPlayback(PlaybackId(u32::MAX))));
    assert_eq!(r.process(t0, &[0; 56], &[0; 55]), Err(MixError::FrameLength { expected: 56, got: 55 }));
    assert_eq!(r.process(t0, &[], &[0; 56]), Err(MixError::FrameLength { expected: 56, got: 0 }));
    // A playback at the end of time never starts; frames still flow.
    let id = r.play(HostTime(u64::MAX), tone, Target::Leg(Leg::B), PlayMode::Replace, Gain::UNITY).expect("queued");
    assert_eq!(r.process(HostTime::ZERO, &[100; 56], &[100; 56]), Ok(()));
    assert!(r.is_playing(id));
    assert_eq!(r.outbound(Leg::B), &[100; 56][..]);
}

// ---------------------------------------------------------------------------------------
// mix: tones, cadences, prompts, schedule

#[test]
fn tones_reject_bad_frequencies_and_levels() {
    let rate = SampleRate::HZ_8000;
    let bad = |spec: ToneSpec| matches!(ToneGenerator::new(&spec, rate), Err(MixError::BadTone(_)));
    for f in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -1.0, 4000.0, f32::MAX] {
        assert!(bad(ToneSpec::single(f, Dbm0(-10.0), Cadence::steady())), "{f} Hz");
        assert!(bad(ToneSpec::dual(400.0, f, Dbm0(-10.0), Cadence::steady())), "second tone {f} Hz");
    }
    for l in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3.01] {
        assert!(bad(ToneSpec::single(400.0, Dbm0(l), Cadence::steady())), "{l} dBm0");
    }
    // 1 Hz sampling (rate 0): a 0.25 Hz tone is below Nyquist and plays.
    let mut g =
        ToneGenerator::new(&ToneSpec::single(0.25, Dbm0(f32::MIN), Cadence::once(Duration::ZERO)), SampleRate::new(0))
            .expect("0.25 Hz at 1 Hz");
    let mut out = [5i16; 4];
    assert_eq!(g.fill(&mut out), 1, "a zero-length burst is one sample");
    assert_eq!(out, [0; 4]);
    assert!(g.is_finished());

    assert_eq!(Cadence::new(vec![], Repeat::Forever), Err(MixError::BadCadence("no steps")));
    let step = |on: Duration, off: Duration| CadenceStep { on, off };
    assert_eq!(
        Cadence::new(vec![step(Duration::ZERO, Duration::MAX)], Repeat::Forever),
        Err(MixError::BadCadence("a step has no on-time"))
    );
    assert_eq!(
        Cadence::new(vec![step(Duration::MAX, Duration::MAX)], Repeat::Times(0)),
        Err(MixError::BadCadence("zero repeats"))
    );
    // Regression: huge on/off times overflowed `on + off` in `fill` and `total_samples`.
    let c = Cadence::new(vec![step(Duration::MAX, Duration::MAX); 3], Repeat::Times(u32::MAX)).expect("valid");
    let mut spec = ToneSpec::single(400.0, Dbm0(3.0), c);
    spec.ramp = Duration::MAX;
    let mut g = ToneGenerator::new(&spec, SampleRate::new(u32::MAX)).expect("a tone");
    assert_eq!(g.total_samples(), Some(u64::MAX));
    let mut out = vec![0i16; 10_000];
    assert_eq!(g.fill(&mut out), 10_000);
    assert_eq!(g.fill(&mut []), 0);
    assert!(!g.is_finished());
}

#[test]
fn prompts_reject_empty_or_ragged_pcm_and_absurd_resampling() {
    let r = SampleRate::HZ_8000;
    assert!(matches!(Prompt::from_mono(vec![], r), Err(MixError::BadPcm(_))));
    assert!(matches!(Prompt::from_interleaved(&[], 1, r), Err(MixError::BadPcm(_))));
    assert!(matches!(Prompt::from_interleaved(&[1, 2], 0, r), Err(MixError::BadPcm(_))));
    assert!(matches!(Prompt::from_interleaved(&[1, 2, 3], 2, r), Err(MixError::BadPcm(_))), "odd stereo");
    assert!(matches!(Prompt::from_interleaved(&[1; 254], 255, r), Err(MixError::BadPcm(_))));
    // Garbage "WAV bytes" read as samples still make a prompt: 65 535 channels mixed to one.
    let garbage: Vec<i16> = (0..u16::MAX).map(|k| k as i16).collect();
    let p = Prompt::from_interleaved(&garbage, u16::MAX, SampleRate::new(0)).expect("one frame");
    assert_eq!((p.samples().len(), p.duration()), (1, Duration::from_secs(1)));
    assert!(matches!(LinearResampler.resample(&[], r, SampleRate::HZ_16000), Err(MixError::BadPcm(_))));
    // Regression: 1 Hz → 4 294 967 295 Hz asked for ~4·10^9 samples (8.6 GB) and could abort
    // the process; output longer than one hour at 48 kHz is refused.
    assert!(matches!(p.resampled(SampleRate::new(u32::MAX), &mut LinearResampler), Err(MixError::BadPcm(_))));
    let p = Prompt::from_mono(vec![100; 1_000_000], r).expect("125 s");
    let up = p.resampled(SampleRate::HZ_48000, &mut LinearResampler).expect("750 s at 48 kHz");
    assert_eq!(up.samples().len(), 6_000_000);
    let down = p.resampled(SampleRate::new(1), &mut LinearResampler).expect("125 samples");
    assert_eq!(down.samples().len(), 125);
    let mut player = PromptPlayer::new(down);
    assert_eq!(player.fill(&mut []), 0);
    assert_eq!(player.fill(&mut vec![0; MIB]), 125);
    assert!(player.is_finished());
    let mut src = Source::from(player);
    assert_eq!(src.fill(&mut [1; 3]), 0);

    let mut s: Schedule<u8> = Schedule::new();
    assert_eq!(
        s.add_before(Duration::ZERO, Duration::MAX, 1),
        Err(MixError::LeadExceedsLimit { lead_ms: Duration::MAX.as_millis(), limit_ms: 0 })
    );
    s.add(Duration::MAX, 2);
    s.add_before(Duration::MAX, Duration::MAX, 3).expect("lead == limit is at the answer");
    assert_eq!(s.poll_due(HostTime(u64::MAX), Duration::MAX), None, "not started");
    s.start(HostTime::ZERO);
    assert_eq!(s.next_at(), Some(HostTime::ZERO));
    assert_eq!(s.poll_due(HostTime::ZERO, Duration::ZERO), None, "the frame [0, 0) is empty");
    assert_eq!(s.poll_due(HostTime::ZERO, Duration::from_nanos(1)).map(|d| (d.item, d.at)), Some((3, HostTime::ZERO)));
    // An offset past the end of the clock saturates there, and so never falls inside a frame.
    assert_eq!(s.next_at(), Some(HostTime(u64::MAX)));
    assert_eq!(s.poll_due(HostTime(u64::MAX), Duration::MAX), None);
    assert_eq!(s.len(), 1);
}
