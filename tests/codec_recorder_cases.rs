//! Codecs at the recorder level: a host codec plugged in through the registry, legs of
//! different rates (CASES B22, PCMA with G.722 or L16/16000), payload-type and ptime switches (B14 a, c), Opus DTX (B12),
//! in-band FEC, packet durations 10–60 ms and multi-frame packets. Every recording is read
//! back by decoding its Ogg Opus packets with libopus.

use jyqq_media::capture::Datagram;
use jyqq_media::codec::{
    mono_descriptor, ulaw_encode, CodecDescriptor, CodecError, CodecFactory, CodecOptions, CodecRegistry, CpuCost,
    Decoder, Encoder, G711Law, OpusEncoder, OpusEncoderConfig,
};
use jyqq_media::record::read_ogg_opus;
use jyqq_media::replay::{record_legs, record_legs_with_registry, CallRecording};
use jyqq_media::rtp::{PayloadFormat, PayloadMap, PayloadType, RtpHeader, Ssrc};
use jyqq_media::{ClockRate, HostTime, SampleRate};
use std::f64::consts::PI;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Helpers.

/// One RTP datagram arriving at `t_ns` from port `port`.
fn dgram(t_ns: u64, port: u16, pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Datagram {
    let mut bytes = Vec::new();
    RtpHeader::new(PayloadType(pt), seq, ts, Ssrc(0x1000 + u32::from(port)))
        .write(payload, &mut bytes)
        .expect("header fits");
    Datagram {
        time: HostTime::from_nanos(1_000_000_000 + t_ns),
        src: format!("10.0.0.1:{port}").parse().expect("addr"),
        dst: "10.0.0.2:4000".parse().expect("addr"),
        payload: bytes,
        record: 0,
    }
}

/// `n` samples of a sine at `hz`, amplitude `amp`, starting at sample `start` of the signal.
fn tone(rate: u32, hz: f64, amp: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n).map(|i| (amp * (2.0 * PI * hz * i as f64 / f64::from(rate)).sin()).round() as i16).collect()
}

/// The recording decoded to 48 kHz: both channels, pre-skip removed, end trimmed.
fn decode(call: &CallRecording) -> [Vec<f64>; 2] {
    let info = read_ogg_opus(&call.ogg).expect("recording reads");
    assert!(info.eos_on_last_page);
    let d = jyqq_media::record::decode_ogg_opus(&call.ogg).expect("decodes");
    [0, 1].map(|ch| d.channel(ch).into_iter().map(f64::from).collect())
}

/// Frequency of a tone by interpolated positive-going zero crossings.
fn freq(x: &[f64], rate: f64) -> f64 {
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0;
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            let t = (i - 1) as f64 + x[i - 1] / (x[i - 1] - x[i]);
            first.get_or_insert(t);
            last = t;
            count += 1;
        }
    }
    let first = first.expect("a tone");
    (count - 1) as f64 * rate / (last - first)
}

/// Power of `x` at `hz` (Goertzel over a Hann window), as the dBFS of a sine with that amplitude.
fn tone_db(x: &[f64], rate: f64, hz: f64) -> f64 {
    let n = x.len();
    let w = 2.0 * PI * hz / rate;
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let s0 = v * win + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    // A sine of amplitude A gives |X| = A * n / 4 under a Hann window.
    let amp = power.sqrt() * 4.0 / n as f64;
    20.0 * (amp.max(1e-9) / 32768.0).log10()
}

/// The frequency of the strongest component within ±`span` Hz of `near`: a 0.02 Hz Goertzel scan.
fn peak_freq(x: &[f64], rate: f64, near: f64, span: f64) -> f64 {
    let steps = (2.0 * span / 0.02) as usize;
    (0..=steps)
        .map(|k| near - span + k as f64 * 0.02)
        .map(|f| (f, tone_db(x, rate, f)))
        .fold((near, f64::MIN), |best, c| if c.1 > best.1 { c } else { best })
        .0
}

fn rms_db(x: &[f64]) -> f64 {
    let e = x.iter().map(|s| s * s).sum::<f64>() / x.len().max(1) as f64;
    10.0 * (e.max(1e-9) / (32768.0 * 32768.0)).log10()
}

/// Longest run of samples with |x| < `thr`, in samples.
fn longest_quiet_run(x: &[f64], thr: f64) -> usize {
    let (mut best, mut run) = (0, 0);
    for &s in x {
        run = if s.abs() < thr { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn refs(l: &[Datagram]) -> Vec<&Datagram> {
    l.iter().collect()
}

fn map_with(extra: &[(u8, &str, u32, u8, Option<&str>)]) -> PayloadMap {
    let mut m = PayloadMap::static_defaults();
    for &(pt, name, hz, ch, fmtp) in extra {
        let mut f = PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch);
        f.fmtp = fmtp.map(str::to_owned);
        m.insert(f).expect("valid PT");
    }
    m
}

fn opus_encoder(rate: SampleRate, frame_ms: u64, fec: bool, dtx: bool) -> OpusEncoder {
    let mut cfg = OpusEncoderConfig::new(rate, 1);
    cfg.frame = Duration::from_millis(frame_ms);
    cfg.inband_fec = fec;
    cfg.packet_loss_perc = if fec { 20 } else { 0 };
    cfg.dtx = dtx;
    cfg.bitrate_bps = Some(24_000);
    OpusEncoder::new(cfg).expect("encoder")
}

// ---------------------------------------------------------------------------------------
// A codec defined here: 8-bit linear PCM, "X-TEST/8000" (sample = byte as i8 << 8).

struct XDec;
struct XEnc;

impl Decoder for XDec {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }
    fn channels(&self) -> u8 {
        1
    }
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if out.len() < payload.len() {
            return Err(CodecError::BufferTooSmall { needed: payload.len(), available: out.len() });
        }
        for (o, &b) in out.iter_mut().zip(payload) {
            *o = i16::from(b as i8) << 8;
        }
        Ok(payload.len())
    }
    fn conceal(&mut self, n: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        out[..n].fill(0);
        Ok(n)
    }
    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        Some(payload.len())
    }
}

impl Encoder for XEnc {
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_8000
    }
    fn channels(&self) -> u8 {
        1
    }
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        for (o, &s) in out.iter_mut().zip(pcm) {
            *o = (s >> 8) as u8;
        }
        Ok(pcm.len().min(out.len()))
    }
}

#[derive(Clone)]
struct XTestFactory(CodecDescriptor);

impl XTestFactory {
    fn new() -> Self {
        XTestFactory(mono_descriptor("X-TEST", 8000, 8000, None, 120, &[20], 10, CpuCost::new(1, 1)))
    }
}

impl CodecFactory for XTestFactory {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.0
    }
    fn decoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(Box::new(XDec))
    }
    fn encoder(&self, _: &PayloadFormat, _: &CodecOptions) -> Result<Box<dyn Encoder>, CodecError> {
        Ok(Box::new(XEnc))
    }
}

#[test]
fn a_codec_registered_by_the_host_carries_a_call() {
    // Leg A: X-TEST/8000 (PT 120) 600 Hz; leg B: PCMU 1 kHz; 2 s each, 20 ms packets.
    let mut legs: [Vec<Datagram>; 2] = [Vec::new(), Vec::new()];
    for k in 0..100u16 {
        let t = u64::from(k) * 20_000_000;
        let ts = u32::from(k) * 160;
        let x: Vec<u8> =
            tone(8000, 600.0, 16_000.0, usize::from(k) * 160, 160).iter().map(|&s| (s >> 8) as u8).collect();
        legs[0].push(dgram(t, 5000, 120, k, ts, &x));
        let u: Vec<u8> = tone(8000, 1000.0, 8000.0, usize::from(k) * 160, 160).into_iter().map(ulaw_encode).collect();
        legs[1].push(dgram(t + 3_000_000, 6000, 0, k, ts, &u));
    }
    let maps = [map_with(&[(120, "X-TEST", 8000, 1, None)]), PayloadMap::static_defaults()];

    // Without the factory the codec is named as unsupported.
    let err = record_legs(1, [refs(&legs[0]), refs(&legs[1])], maps.clone()).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("X-TEST/8000"), "{err}");

    let mut reg = CodecRegistry::with_builtin();
    reg.register(Box::new(XTestFactory::new()));
    let call = record_legs_with_registry(1, [refs(&legs[0]), refs(&legs[1])], maps, &reg).expect("records");
    assert_eq!(call.rate, SampleRate::HZ_8000);
    assert_eq!(call.timeline[0].decoded_frames, 100);
    assert_eq!(call.timeline[0].unknown_payload_type, 0);
    let [l, r] = decode(&call);
    let secs = l.len() as f64 / 48_000.0;
    assert!((secs - 2.003).abs() <= 0.002, "{secs} s: 2 s of leg B starting 3 ms after leg A");
    let (lw, rw) = (&l[4800..91_200], &r[4800..91_200]);
    assert!((peak_freq(lw, 48_000.0, 600.0, 5.0) - 600.0).abs() < 1.0);
    assert!((peak_freq(rw, 48_000.0, 1000.0, 5.0) - 1000.0).abs() < 1.0);
    // 8-bit linear at amplitude 16000 (−6.2 dBFS RMS −9.2): the level survives.
    assert!((rms_db(&l[4800..91_200]) + 9.2).abs() < 1.0, "{}", rms_db(&l[4800..91_200]));
}

// ---------------------------------------------------------------------------------------
// B22: PCMA 8 kHz leg + wideband 16 kHz leg (L16/16000 standing in for G.722), stereo at 16 kHz.

#[test]
fn b22_pcma_and_l16_16k_legs_keep_their_pitch_and_length() {
    b22(false);
}

#[test]
fn b22_pcma_and_g722_legs_keep_their_pitch_and_length() {
    b22(true);
}

/// CASES B22 with leg B in G.722 (PT 9: 16 kHz audio, 8 kHz RTP clock) or L16/16000 (PT 97).
fn b22(g722: bool) {
    let secs = 30u32;
    let mut g722_enc = jyqq_media::codec::G722Encoder::new();
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut seed = 0x1234_5678u32;
    for k in 0..(secs * 50) {
        let t = u64::from(k) * 20_000_000;
        let pcma: Vec<u8> = tone(8000, 1000.0, 10_000.0, k as usize * 160, 160)
            .into_iter()
            .map(jyqq_media::codec::alaw_encode)
            .collect();
        a.push(dgram(t, 5000, 8, k as u16, k * 160, &pcma));
        // ±15 ms arrival jitter on leg B.
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let jitter_ms = i64::from(seed >> 16) % 31 - 15;
        let pcm = tone(16_000, 2500.0, 10_000.0, k as usize * 320, 320);
        let arrive = (t as i64 + 20_000_000 + jitter_ms * 1_000_000) as u64;
        if g722 {
            let mut bytes = [0u8; 160];
            let n = g722_enc.encode(&pcm, &mut bytes).expect("G.722 encode");
            b.push(dgram(arrive, 6000, 9, k as u16, k * 160, &bytes[..n]));
        } else {
            let l16: Vec<u8> = pcm.iter().flat_map(|s| s.to_be_bytes()).collect();
            b.push(dgram(arrive, 6000, 97, k as u16, k * 320, &l16));
        }
    }
    b.sort_by_key(|d| d.time);
    let maps = [PayloadMap::static_defaults(), map_with(&[(97, "L16", 16_000, 1, None)])];
    let call = record_legs(1, [a.iter().collect(), b.iter().collect()], maps).expect("records");
    assert_eq!(call.rate, SampleRate::HZ_16000, "the highest leg rate");
    for st in &call.timeline {
        // At most the lead-in before the leg's first packet (leg B starts 20 ms ± 15 ms in).
        assert_eq!((st.late, st.decode_errors, st.concealed_samples), (0, 0, 0), "{st:?}");
        assert!(st.gaps <= 1 && st.silence_samples < 16 * 40, "{st:?}");
    }
    assert_eq!(call.timeline[0].resampled_samples, u64::from(secs) * 8000, "the 8 kHz leg is resampled");
    assert_eq!(call.timeline[1].resampled_samples, 0);
    let [l, r] = decode(&call);
    let dur = l.len() as f64 / 48_000.0;
    // Leg B starts 20 ms (± its jitter) after leg A: the recording is 30.02 s ± 15 ms.
    assert!((dur - 30.02).abs() <= 0.02, "recorded {dur} s");
    let body = 48_000..(l.len() - 48_000);
    // Pitch from the spectrum over 2 s (stereo Opus at 32 kbit/s leaks a little of each tone
    // into the other channel, which spoils zero-crossing counts).
    let mid = l.len() / 2;
    let (lw, rw) = (&l[mid - 48_000..mid + 48_000], &r[mid - 48_000..mid + 48_000]);
    let (fl, fr) = (peak_freq(lw, 48_000.0, 1000.0, 5.0), peak_freq(rw, 48_000.0, 2500.0, 5.0));
    assert!((fl - 1000.0).abs() <= 1.0, "leg A at {fl} Hz");
    assert!((fr - 2500.0).abs() <= 2.0, "leg B at {fr} Hz");
    // Each leg stays in its own channel: the other leg's tone is at least 60 dB lower.
    assert!(tone_db(lw, 48_000.0, 1000.0) > tone_db(lw, 48_000.0, 2500.0) + 60.0);
    assert!(tone_db(rw, 48_000.0, 2500.0) > tone_db(rw, 48_000.0, 1000.0) + 60.0);
    // No dropouts: no run of near-zero samples longer than 1 ms inside the tones.
    assert!(longest_quiet_run(&l[body.clone()], 200.0) < 48, "leg A dropout");
    assert!(longest_quiet_run(&r[body.clone()], 200.0) < 48, "leg B dropout");
    // Levels: amplitude 10 000 is a −10.3 dBFS sine on both legs.
    assert!((tone_db(lw, 48_000.0, 1000.0) + 10.3).abs() < 1.0, "{}", tone_db(lw, 48_000.0, 1000.0));
    assert!((tone_db(rw, 48_000.0, 2500.0) + 10.3).abs() < 1.0, "{}", tone_db(rw, 48_000.0, 2500.0));
}

// ---------------------------------------------------------------------------------------
// B14 (a): PCMU → PCMA → PCMU on one SSRC.

#[test]
fn b14a_payload_type_switches_keep_3_seconds_without_gaps() {
    let mut pkts = Vec::new();
    for k in 0..150u32 {
        let pcm = tone(8000, 1000.0, 8000.0, k as usize * 160, 160);
        let (pt, payload): (u8, Vec<u8>) = if (50..100).contains(&k) {
            (8, pcm.into_iter().map(jyqq_media::codec::alaw_encode).collect())
        } else {
            (0, pcm.into_iter().map(ulaw_encode).collect())
        };
        pkts.push(dgram(u64::from(k) * 20_000_000, 5000, pt, k as u16, k * 160, &payload));
    }
    let call = record_legs(1, [pkts.iter().collect(), Vec::new()], [PayloadMap::static_defaults(), PayloadMap::new()])
        .expect("records");
    assert_eq!(call.duration, Duration::from_secs(3));
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.gaps, st.silence_samples, st.late), (150, 0, 0, 0));
    let [l, _] = decode(&call);
    assert_eq!(l.len(), 144_000);
    assert!(longest_quiet_run(&l[480..143_000], 200.0) < 24, "no gap at the switches");
    assert!((freq(&l[480..143_000], 48_000.0) - 1000.0).abs() < 0.5);
    let _ = G711Law::A;
}

// ---------------------------------------------------------------------------------------
// B14 (c) and packet durations: Opus 20 → 40 → 20 ms, then each ptime 10..60 ms.

fn opus_stream(frames_ms: &[u64], fec: bool) -> (Vec<Datagram>, Vec<i16>) {
    let mut encs: Vec<(u64, OpusEncoder)> = Vec::new();
    let mut out = Vec::new();
    let (mut t_ms, mut ts, mut pos) = (0u64, 0u32, 0usize);
    let mut pcm_all = Vec::new();
    let mut buf = [0u8; 1500];
    for (seq, &ms) in frames_ms.iter().enumerate() {
        if !encs.iter().any(|e| e.0 == ms) {
            encs.push((ms, opus_encoder(SampleRate::HZ_48000, ms, fec, false)));
        }
        let enc = &mut encs.iter_mut().find(|e| e.0 == ms).expect("created").1;
        let n = 48 * ms as usize;
        let pcm = tone(48_000, 440.0, 8000.0, pos, n);
        let len = enc.encode(&pcm, &mut buf).expect("encode");
        out.push(dgram(t_ms * 1_000_000, 5000, 111, seq as u16, ts, &buf[..len]));
        pcm_all.extend(pcm);
        t_ms += ms;
        ts += n as u32;
        pos += n;
    }
    (out, pcm_all)
}

fn record_opus(pkts: &[Datagram]) -> CallRecording {
    let maps = [map_with(&[(111, "opus", 48_000, 2, None)]), PayloadMap::new()];
    record_legs(1, [pkts.iter().collect(), Vec::new()], maps).expect("records")
}

#[test]
fn b14c_opus_ptime_changes_keep_every_frame() {
    let frames: Vec<u64> = [vec![20; 50], vec![40; 25], vec![20; 50]].concat();
    let (pkts, _) = opus_stream(&frames, false);
    let call = record_opus(&pkts);
    assert_eq!(call.rate, SampleRate::HZ_48000);
    assert_eq!(call.duration, Duration::from_secs(3));
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.gaps, st.late, st.decode_errors), (125, 0, 0, 0));
    let [l, _] = decode(&call);
    assert_eq!(l.len(), 144_000);
    assert!((freq(&l[4800..139_000], 48_000.0) - 440.0).abs() < 0.5);
}

#[test]
fn opus_packet_durations_10_to_60_ms_are_counted_exactly() {
    for ms in [10u64, 20, 40, 60] {
        let n = (3000 / ms) as usize;
        let (pkts, _) = opus_stream(&vec![ms; n], false);
        let call = record_opus(&pkts);
        assert_eq!(call.duration, Duration::from_secs(3), "{ms} ms packets");
        let st = &call.timeline[0];
        assert_eq!((st.decoded_frames, st.gaps, st.late), (n as u64, 0, 0), "{ms} ms packets");
    }
}

/// Joins code-0 packets of one TOC config into one code-3 VBR packet (RFC 6716 §3.2.5).
fn code3(frames: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![(frames[0][0] & 0xFC) | 0x03, 0x80 | frames.len() as u8];
    for f in &frames[..frames.len() - 1] {
        let len = f.len() - 1;
        assert!(len < 252, "one-byte frame length");
        p.push(len as u8);
    }
    for f in frames {
        p.extend_from_slice(&f[1..]);
    }
    p
}

#[test]
fn multi_frame_code3_packets_count_all_their_frames() {
    // 3 s as 50 packets of three 20 ms frames each (TOC code 3, VBR).
    let mut enc = opus_encoder(SampleRate::HZ_48000, 20, false, false);
    let mut pkts = Vec::new();
    let mut buf = [[0u8; 400]; 3];
    for k in 0..50usize {
        let mut lens = [0; 3];
        for (f, len) in lens.iter_mut().enumerate() {
            *len = enc.encode(&tone(48_000, 440.0, 8000.0, (k * 3 + f) * 960, 960), &mut buf[f]).expect("encode");
        }
        let frames: Vec<&[u8]> = (0..3).map(|f| &buf[f][..lens[f]]).collect();
        if frames.iter().any(|f| f[0] >> 3 != frames[0][0] >> 3) {
            continue; // a mode switch inside the packet: skip (cannot share a TOC)
        }
        let p = code3(&frames);
        assert_eq!(jyqq_media::record::opus_packet_samples(&p), Some(2880));
        pkts.push(dgram(k as u64 * 60_000_000, 5000, 111, k as u16, (k * 2880) as u32, &p));
    }
    assert!(pkts.len() >= 48, "TOC stays the same for a steady tone");
    let call = record_opus(&pkts);
    let st = &call.timeline[0];
    assert_eq!((st.decoded_frames, st.late, st.decode_errors), (pkts.len() as u64, 0, 0));
    assert_eq!(call.duration, Duration::from_secs(3));
}

// ---------------------------------------------------------------------------------------
// Opus in-band FEC on a single loss.

/// A voice-like signal: a 150 Hz ± 30 Hz buzz with 8 harmonics and a 4 Hz syllable envelope
/// that never falls below 40 % (so SILK's VAD keeps it active).
fn voiced(rate: u32, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f0 = 150.0 + 30.0 * (2.0 * PI * 1.3 * t).sin();
            let buzz: f64 = (1..=8).map(|h| (2.0 * PI * f0 * h as f64 * t).sin() / h as f64).sum();
            let env = 0.4 + 0.6 * (0.5 - 0.5 * (2.0 * PI * 4.0 * t).cos());
            (5000.0 * env * buzz) as i16
        })
        .collect()
}

#[test]
fn a_single_lost_opus_frame_is_recovered_from_the_next_packets_fec() {
    // Frame 56 (1.12 s) sits at a syllable peak.
    const LOST: usize = 56;
    let mut results = Vec::new();
    for fec in [false, true] {
        let mut enc = opus_encoder(SampleRate::HZ_16000, 20, fec, false);
        let mut pkts = Vec::new();
        let mut buf = [0u8; 1500];
        let mut fec_flags = Vec::new();
        for k in 0..100usize {
            let len = enc.encode(&voiced(16_000, k * 320, 320), &mut buf).expect("encode");
            fec_flags.push(jyqq_media::codec::has_inband_fec(&buf[..len]));
            if k != LOST {
                pkts.push(dgram(k as u64 * 20_000_000, 5000, 111, k as u16, (k * 960) as u32, &buf[..len]));
            }
        }
        assert_eq!(fec_flags[LOST + 1], fec, "the next packet carries FEC for the lost one exactly when enabled");
        let call = record_opus(&pkts);
        assert_eq!(call.duration, Duration::from_secs(2));
        let st = call.timeline[0].clone();
        let [l, _] = decode(&call);
        // The lost frame's place (plus Opus' 6.5 ms delay, already removed by pre-skip).
        let lost = &l[LOST * 960..(LOST + 1) * 960];
        let reference = &l[(LOST - 1) * 960..LOST * 960];
        results.push((st, rms_db(lost) - rms_db(reference)));
    }
    let (plain, with_fec) = (&results[0], &results[1]);
    assert_eq!((plain.0.fec_recovered, plain.0.gaps, plain.0.concealed_samples), (0, 1, 960));
    assert_eq!((with_fec.0.fec_recovered, with_fec.0.gaps, with_fec.0.concealed_samples), (1, 0, 0));
    assert!(with_fec.1.abs() < 3.0, "FEC frame level within 3 dB of speech: {} dB", with_fec.1);
}

// ---------------------------------------------------------------------------------------
// B12: Opus DTX gap (contiguous seq, 400 ms timestamp steps) keeps its length, is no loss.

#[test]
fn b12_dtx_gap_keeps_its_length_and_is_not_loss() {
    let mut enc = opus_encoder(SampleRate::HZ_48000, 20, false, false);
    let mut buf = [0u8; 1500];
    let mut pkts = Vec::new();
    let mut seq = 0u16;
    for k in 0..150usize {
        let len = enc.encode(&voiced(48_000, k * 960, 960), &mut buf).expect("encode");
        pkts.push(dgram(k as u64 * 20_000_000, 5000, 111, seq, (k * 960) as u32, &buf[..len]));
        seq += 1;
    }
    // 8 DTX frames: TOC only (SILK WB 20 ms, config 9), 400 ms apart.
    let mut ts = 144_000u32;
    for _ in 0..8 {
        pkts.push(dgram(u64::from(ts) * 1_000_000 / 48, 5000, 111, seq, ts, &[0x48]));
        seq += 1;
        ts += 19_200;
    }
    for k in 0..150usize {
        let len = enc.encode(&voiced(48_000, k * 960, 960), &mut buf).expect("encode");
        let t = ts + (k * 960) as u32;
        pkts.push(dgram(u64::from(t) * 1_000_000 / 48, 5000, 111, seq, t, &buf[..len]));
        seq += 1;
    }
    let call = record_opus(&pkts);
    let st = &call.timeline[0];
    assert_eq!(st.dtx_frames, 8);
    assert_eq!((st.gaps, st.concealed_samples, st.silence_samples, st.late), (0, 0, 0, 0), "{st:?}");
    // Each DTX frame and the gap after it are silence: written by the timeline, or by the
    // encoder catching up with the write point during the gap (then not counted here).
    assert!(st.dtx_silence_samples >= 8 * 960 && st.dtx_silence_samples <= 8 * 19_200, "{st:?}");
    assert_eq!(call.duration, Duration::from_millis(9200), "3 s + 3.2 s gap + 3 s");
    let [l, _] = decode(&call);
    let speech = rms_db(&l[48_000..140_000]);
    let gap = rms_db(&l[(3.1 * 48_000.0) as usize..(6.1 * 48_000.0) as usize]);
    assert!(gap < speech - 60.0, "the gap is silence, not replayed speech: {gap} vs {speech} dB");
    let resumed = rms_db(&l[(6.3 * 48_000.0) as usize..(9.1 * 48_000.0) as usize]);
    assert!((resumed - speech).abs() < 1.0, "speech resumes at the same level");
    let onset = (6 * 48_000..l.len()).find(|&i| l[i].abs() > 1000.0).expect("speech after the gap");
    let onset = onset as f64 / 48_000.0;
    assert!((6.2..6.22).contains(&onset), "speech resumes at 6.2 s, not {onset} s");
}
