//! The analysis in the offline replay (`record_call`): digits, talk time and quality per leg
//! land in `CallRecording::analysis`, which serialises as the call's JSON summary.

mod common;

use jyqq_media::analysis::CdrSummary;
use jyqq_media::capture::read_capture;
use jyqq_media::replay::{record_capture, ReplayOptions};

const DEFAULT_CALL: &[u8] = include_bytes!("../examples/data/default_call.pcap");

#[test]
fn default_call_has_talk_time_and_mos_on_both_legs() {
    let cap = read_capture(DEFAULT_CALL).expect("embedded capture");
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("records");
    let a = calls[0].analysis.as_ref().unwrap();
    assert_eq!(a.legs.len(), 2);
    for l in &a.legs {
        assert!(l.talk_ms > 3000 && l.talk_ms < 18_800, "{:?} talk {}", l.leg, l.talk_ms);
        assert!(l.talkspurts >= 1);
        assert_eq!(l.digits, "");
        assert_eq!(l.quality.codec.as_deref(), Some("PCMU"));
        let mos = l.quality.mos.expect("MOS");
        assert!((3.5..=4.41).contains(&mos), "{mos}");
    }
    // Answer at the first packet, end at the last: the call's length, one started minute.
    assert_eq!(a.answer_ms, Some(0));
    assert!((a.connected_ms as i64 - 18_776).abs() < 100, "{}", a.connected_ms);
    assert_eq!((a.bill.units, a.charge_yuan.as_str()), (1, "0.15"));
    let back: CdrSummary = serde_json::from_str(&a.to_json()).expect("JSON reads back");
    assert_eq!(&back, a);
}

#[test]
fn sip_dtmf2_digits_in_the_summary() {
    let Some(bytes) = common::shared_file("rtp/wireshark-samples/SIP_DTMF2.pcap") else { return };
    let cap = read_capture(&bytes).expect("capture");
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("records");
    assert_eq!(calls.len(), 1);
    let digits: Vec<&str> = calls[0].analysis.as_ref().unwrap().legs.iter().map(|l| l.digits.as_str()).collect();
    assert!(digits.contains(&"6789123") && digits.contains(&""), "{digits:?}");
    let leg = calls[0].analysis.as_ref().unwrap().legs.iter().find(|l| l.digits == "6789123").expect("leg with digits");
    assert!(leg.digit_events.iter().all(|d| d.duration_ms > 0 && d.duration_ms < 1000));
    assert!(leg.talk_ms > 1000);
}

#[test]
fn rtpproxy_catch_dtmf_without_sdp() {
    let Some(bytes) = common::shared_file("rtp/rtpproxy/catch_dtmf/dtmf.pcap") else { return };
    let cap = read_capture(&bytes).expect("capture");
    let calls = record_capture(&cap, &ReplayOptions::default()).expect("records");
    let mut digits: Vec<String> = calls
        .iter()
        .flat_map(|c| c.analysis.as_ref().unwrap().legs.iter().map(|l| l.digits.clone()))
        .filter(|d| !d.is_empty())
        .collect();
    digits.sort();
    assert_eq!(digits, ["123456789*0#5", "54321#"]);
}
