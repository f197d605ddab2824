//! DTMF: RFC 4733 captures yield exactly their digits; in-band digits at −26 dBm0 with
//! 40/40 ms timing are all found and none at ±3.5 % frequency error; speech gives no digit.

mod analysis_util;
mod common;

use analysis_util::{analysable, feed, read_audio};
use jyqq_media::analysis::{dtmf_sequence, AnalysisConfig, CallAnalyzer, DtmfSource, EventKind, InbandMode};
use jyqq_media::capture::{find_rtp_streams, read_capture, rtpmaps_for_stream, sdp_payload_maps};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadFormat, PayloadMap, PayloadType};
use jyqq_media::{ClockRate, HostTime, Leg};
use std::time::Duration;

/// Digits per SSRC found by a CallAnalyzer fed each stream's packets through ingress.
fn capture_digits(rel: &str) -> Option<Vec<(u32, String)>> {
    let bytes = common::shared_file(rel)?;
    let cap = read_capture(&bytes).expect("capture reads");
    let sdp = sdp_payload_maps(&cap);
    let mut out = Vec::new();
    for st in find_rtp_streams(&cap) {
        let mut map = PayloadMap::static_defaults();
        for m in rtpmaps_for_stream(&sdp, &st) {
            let _ = map.insert(PayloadFormat::new(
                PayloadType(m.pt),
                &m.encoding,
                ClockRate::new(m.clock_rate),
                m.channels,
            ));
        }
        // Captures without SDP: PT 101 is the customary telephone-event/8000.
        if map.get(PayloadType(101)).is_none() {
            let _ = map.insert(PayloadFormat::new(PayloadType(101), "telephone-event", ClockRate::HZ_8000, 1));
        }
        let start = cap.datagrams[st.datagrams[0]].time;
        let mut a = CallAnalyzer::new(AnalysisConfig::default(), start);
        a.set_payloads(Leg::A, &map);
        a.answer(start);
        let mut ingress = Ingress::new(IngressConfig::new(map.clone()));
        let mut last = start;
        for &di in &st.datagrams {
            let d = &cap.datagrams[di];
            last = d.time;
            if let Some(t) = a.poll_timeout() {
                if t <= d.time {
                    a.handle_timeout(t);
                }
            }
            if let Ok(p) = ingress.receive(d.time, d.src, &d.payload) {
                a.handle_packet(Leg::A, &p);
            }
        }
        a.end(last, jyqq_media::analysis::EndCause::HangupA);
        let mut digits = String::new();
        while let Some(e) = a.poll_event() {
            if let EventKind::Digit { digit, source, .. } = e.kind {
                assert_eq!(source, DtmfSource::Rfc4733);
                digits.push(digit.as_char());
            }
        }
        assert_eq!(digits, a.summary(last).legs[0].digits);
        out.push((st.ssrc.0, digits));
    }
    out.sort();
    Some(out)
}

#[test]
fn sipp_single_digit_captures() {
    for (file, want) in
        [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5"), ("star", "*"), ("pound", "#")]
    {
        let Some(got) = capture_digits(&format!("rtp/sipp/dtmf_2833_{file}.pcap")) else { return };
        assert_eq!(got, vec![(0x0e05_384e, want.to_string())], "{file}");
    }
}

#[test]
fn wireshark_sip_dtmf2() {
    let Some(got) = capture_digits("rtp/wireshark-samples/SIP_DTMF2.pcap") else { return };
    assert_eq!(got, vec![(0x5711_bf84, "6789123".to_string()), (0x9a7b_5382, String::new())]);
}

#[test]
fn rtpproxy_catch_dtmf() {
    let Some(got) = capture_digits("rtp/rtpproxy/catch_dtmf/dtmf.pcap") else { return };
    assert_eq!(got, vec![(0x37ed_87f3, "123456789*0#5".to_string()), (0xee69_3e61, "54321#".to_string())]);
}

fn inband_digits(pcm: &[i16], rate: u32) -> String {
    let mut cfg = AnalysisConfig::default();
    cfg.dtmf.inband_mode = InbandMode::Always;
    let mut a = CallAnalyzer::new(cfg, HostTime::ZERO);
    a.answer(HostTime::ZERO);
    let mut s = String::new();
    let mut evs = feed(&mut a, Leg::A, HostTime::ZERO, pcm, rate);
    a.end(HostTime::from_millis(1_000_000), jyqq_media::analysis::EndCause::HangupA);
    evs.extend(std::iter::from_fn(|| a.poll_event()).map(|e| (HostTime::ZERO, e)));
    for (_, e) in evs {
        if let EventKind::Digit { digit, source, .. } = e.kind {
            assert_eq!(source, DtmfSource::InBand);
            s.push(digit.as_char());
        }
    }
    s
}

#[test]
fn inband_minus_26_dbm0_40_40_all_found_at_8_and_16_khz() {
    let keys = "0123456789*#ABCD5555";
    let on = Duration::from_millis(40);
    for rate in [8000u32, 16_000] {
        let x = dtmf_sequence(keys, -26.0, on, on, 1.0, rate);
        assert_eq!(inband_digits(&x, rate), keys, "{rate} Hz");
        // Q.24 acceptance: ±1.5 % is still found.
        for scale in [1.015, 0.985] {
            assert_eq!(
                inband_digits(&dtmf_sequence(keys, -26.0, on, on, scale, rate), rate),
                keys,
                "{rate} Hz ×{scale}"
            );
        }
        // Q.24 rejection: ±3.5 % never is.
        for scale in [1.035, 0.965] {
            assert_eq!(inband_digits(&dtmf_sequence(keys, -26.0, on, on, scale, rate), rate), "", "{rate} Hz ×{scale}");
        }
    }
}

#[test]
fn speech_gives_no_false_digit() {
    let Some(dir) = common::shared_data() else { return };
    let mut files = Vec::new();
    for sub in ["mandarin", "pjsip", "silero", "speechbrain", "speechbrain/VAD", "uyghur", "webrtcvad"] {
        for e in std::fs::read_dir(dir.join("speech").join(sub)).expect("speech folder") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "wav" || x == "raw") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 19, "speech files in ../shared/data/speech");
    let mut total = Duration::ZERO;
    for p in &files {
        let (x, rate) = read_audio(p);
        let (x, rate) = analysable(x, rate);
        total += jyqq_media::SampleRate::new(rate).duration_of(x.len() as u64);
        assert_eq!(inband_digits(&x, rate), "", "{}", p.display());
    }
    eprintln!("{} files, {:.1} s of speech: no digit", files.len(), total.as_secs_f64());
}
