//! Offline replay: records the calls found in a packet capture, on the capture's own clock.
//!
//! This is the `record_call` job as a library function, so examples, tests and benches share
//! it. It stays sans-IO: the capture comes in as bytes already read, the recordings go out as
//! bytes; each datagram is handed to the leg's [`Ingress`] and the [`Recorder`] at its capture
//! time, exactly as a live host would.

#![forbid(unsafe_code)]

use crate::analysis::{AnalysisConfig, CallAnalyzer, CdrSummary, EndCause};
use crate::capture::{find_rtp_streams, pair_calls, rtpmaps_for_stream, sdp_payload_maps, Capture, Datagram};
use crate::codec::{opus_rate_at_least, CodecOptions, CodecRegistry};
use crate::leg::Leg;
use crate::record::{LegStats, RecordError, Recorder, RecorderConfig};
use crate::rtp::{Ingress, IngressConfig, PayloadFormat, PayloadMap, PayloadType, RtpPacket, Ssrc};
use crate::ClockRate;
use crate::{HostTime, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;

/// Why a call could not be recorded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A leg carries audio in a codec this build cannot decode; nothing is recorded
    /// rather than a recording with that leg silently missing.
    #[error("call {call}, leg {leg:?}: unsupported codec {name} (payload type {pt}); supported: {supported}")]
    UnsupportedCodec {
        /// Call number (from 1).
        call: usize,
        /// The leg.
        leg: Leg,
        /// Payload type.
        pt: u8,
        /// Encoding name and clock rate from the rtpmap, e.g. `G729/8000`.
        name: String,
        /// The codecs the registry used has, e.g. `PCMU/8000, PCMA/8000, opus/48000/2, …`.
        supported: String,
    },
    /// The capture holds no RTP stream.
    #[error("the capture holds no RTP stream")]
    NoRtp,
    /// `--call N` named a call the capture does not have.
    #[error("call {asked} not found: the capture has {found} call(s)")]
    NoSuchCall {
        /// The call asked for.
        asked: usize,
        /// Calls found.
        found: usize,
    },
    /// The recorder failed.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Options of a replay.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReplayOptions {
    /// Record only this call (numbered from 1 in order of first packet); `None` records all.
    pub call: Option<usize>,
    /// Codecs to decode with; `None`: [`CodecRegistry::with_builtin`] (plus G.729 with the
    /// `g729` feature).
    pub registry: Option<CodecRegistry>,
    /// Record only: skip the call analysis (VAD, DTMF, metering…); `analysis` is then `None`.
    pub skip_analysis: bool,
}

/// The registry a replay uses when none is given: the built-ins, plus G.729 (libbcg729)
/// when the `g729` feature is on.
pub fn default_registry() -> CodecRegistry {
    #[allow(unused_mut)]
    let mut registry = CodecRegistry::with_builtin();
    #[cfg(feature = "g729")]
    registry.register(Box::new(crate::codec::G729Factory::new()));
    registry
}

/// Receive statistics of one RTP stream (one SSRC on one leg), as in RFC 3550 §6.4.1.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamReport {
    /// Source address of the stream.
    pub src: SocketAddr,
    /// Destination address of the stream.
    pub dst: SocketAddr,
    /// SSRC.
    pub ssrc: Ssrc,
    /// Payload types seen, each with its encoding name (`?` when no rtpmap) and packet count.
    pub payload_types: Vec<(u8, String, u64)>,
    /// Packets accepted by ingress (duplicates excluded).
    pub packets: u64,
    /// Packets lost: expected (RFC 3550 A.3, from extended sequence numbers) minus unique packets received.
    pub lost: i64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Packets that arrived after a higher sequence number.
    pub reordered: u64,
    /// First to last arrival.
    pub duration: Duration,
    /// RFC 3550 interarrival jitter at the end of the stream, in ms.
    pub jitter_ms: f64,
}

/// One recorded call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallRecording {
    /// Call number, from 1, in order of the call's first packet.
    pub number: usize,
    /// Stream reports of leg A and leg B (leg B empty for a one-leg call).
    pub streams: [Vec<StreamReport>; 2],
    /// Recorder timeline statistics of leg A and leg B.
    pub timeline: [LegStats; 2],
    /// The complete Ogg Opus file.
    pub ogg: Vec<u8>,
    /// Recorded audio duration (excluding pre-skip).
    pub duration: Duration,
    /// Recording rate (Hz) the legs were mixed at.
    pub rate: SampleRate,
    /// The call analysis (talk time, DTMF, alarms, three-way signals, quality, bill) — `None`
    /// when the replay skipped it — with the
    /// capture's first packet as answer and its last as end (cause `end of capture`).
    pub analysis: Option<CdrSummary>,
}

/// Records every call of `capture` (or the one `opts.call` names).
///
/// Errors: [`ReplayError::NoRtp`], [`ReplayError::NoSuchCall`], [`ReplayError::UnsupportedCodec`].
pub fn record_capture(capture: &Capture, opts: &ReplayOptions) -> Result<Vec<CallRecording>, ReplayError> {
    let calls = capture_calls(capture)?;
    if let Some(n) = opts.call {
        if n == 0 || n > calls.len() {
            return Err(ReplayError::NoSuchCall { asked: n, found: calls.len() });
        }
    }
    let registry = opts.registry.clone().unwrap_or_else(default_registry);
    let mut out = Vec::new();
    for call in calls {
        if opts.call.is_some_and(|n| n != call.number) {
            continue;
        }
        out.push(record_legs_inner(call.number, call.legs, call.payloads, &registry, !opts.skip_analysis)?);
    }
    Ok(out)
}

/// One call found in a capture: its legs' datagrams in arrival order and payload maps.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallInput<'a> {
    /// Call number, from 1, in order of the call's first packet.
    pub number: usize,
    /// Leg A's and leg B's datagrams (leg B empty for a one-leg call).
    pub legs: [Vec<&'a Datagram>; 2],
    /// Each leg's payload types: RFC 3551 static ones plus the capture's SDP rtpmaps.
    pub payloads: [PayloadMap; 2],
}

/// The calls of a capture: RTP streams paired by reversed address/port, with the payload
/// types each leg's SDP announced.
///
/// Errors: [`ReplayError::NoRtp`].
pub fn capture_calls(capture: &Capture) -> Result<Vec<CallInput<'_>>, ReplayError> {
    let streams = find_rtp_streams(capture);
    if streams.is_empty() {
        return Err(ReplayError::NoRtp);
    }
    let calls = pair_calls(&streams);
    let sdp = sdp_payload_maps(capture);
    let mut out = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let mut legs: [Vec<&Datagram>; 2] = [Vec::new(), Vec::new()];
        let mut payloads = [PayloadMap::static_defaults(), PayloadMap::static_defaults()];
        for (li, leg) in [Some(&call.leg_a), call.leg_b.as_ref()].into_iter().enumerate() {
            let Some(leg) = leg else { continue };
            legs[li] = leg.datagrams.iter().map(|&d| &capture.datagrams[d]).collect();
            for &si in &leg.streams {
                for m in rtpmaps_for_stream(&sdp, &streams[si]) {
                    let mut f =
                        PayloadFormat::new(PayloadType(m.pt), &m.encoding, ClockRate::new(m.clock_rate), m.channels);
                    f.fmtp = m.fmtp.clone();
                    let _ = payloads[li].insert(f);
                }
            }
        }
        out.push(CallInput { number: i + 1, legs, payloads });
    }
    Ok(out)
}

/// The sampling rate the codec of `pt` on a leg decodes to, `Ok(None)` for non-audio (CN,
/// telephone-event) and for payload types with no rtpmap, an error for a named codec that the
/// registry cannot decode.
fn audio_rate(
    registry: &CodecRegistry,
    map: &PayloadMap,
    pt: u8,
    call: usize,
    leg: Leg,
) -> Result<Option<SampleRate>, ReplayError> {
    let Some(fmt) = map.get(PayloadType(pt)) else { return Ok(None) };
    if fmt.is("CN") || fmt.is("telephone-event") {
        return Ok(None);
    }
    match registry.find_format(fmt) {
        Some(f) => Ok(Some(f.descriptor().sample_rate())),
        None => Err(ReplayError::UnsupportedCodec {
            call,
            leg,
            pt,
            name: format!("{}/{}", fmt.encoding_name, fmt.clock_rate.hz()),
            supported: registry.names().join(", "),
        }),
    }
}

/// Records one call from each leg's datagrams (in capture order) with each leg's payload map,
/// decoding with [`default_registry`].
///
/// Leg B may be empty (a one-leg call: its channel is silent). The call timeline starts at
/// the first datagram of either leg.
pub fn record_legs(
    number: usize,
    legs: [Vec<&Datagram>; 2],
    payloads: [PayloadMap; 2],
) -> Result<CallRecording, ReplayError> {
    record_legs_with_registry(number, legs, payloads, &default_registry())
}

/// [`record_legs`] decoding with the codecs of `registry` (a host's own codecs included).
///
/// The recording rate is the highest rate any leg's codec decodes to, rounded up to an Opus
/// rate (8, 12, 16, 24 or 48 kHz); legs at other rates are resampled to it.
///
/// Errors: [`ReplayError::UnsupportedCodec`] when a leg uses a named codec the registry lacks;
/// [`ReplayError::Record`].
pub fn record_legs_with_registry(
    number: usize,
    legs: [Vec<&Datagram>; 2],
    payloads: [PayloadMap; 2],
    registry: &CodecRegistry,
) -> Result<CallRecording, ReplayError> {
    record_legs_inner(number, legs, payloads, registry, true)
}

fn record_legs_inner(
    number: usize,
    legs: [Vec<&Datagram>; 2],
    payloads: [PayloadMap; 2],
    registry: &CodecRegistry,
    analyze: bool,
) -> Result<CallRecording, ReplayError> {
    let leg_ids = [Leg::A, Leg::B];
    // Which codecs are in use decides the recording rate; a named codec we lack is an error.
    let mut rate = SampleRate::HZ_8000;
    for (li, datagrams) in legs.iter().enumerate() {
        let mut seen = [false; 128];
        for d in datagrams {
            if let Ok(p) = RtpPacket::parse(&d.payload) {
                let pt = usize::from(p.payload_type().0);
                if !seen[pt] {
                    seen[pt] = true;
                    if let Some(r) = audio_rate(registry, &payloads[li], p.payload_type().0, number, leg_ids[li])? {
                        rate = rate.max(opus_rate_at_least(r.hz()));
                    }
                }
            }
        }
    }
    let start = legs.iter().filter_map(|l| l.first().map(|d| d.time)).min().unwrap_or(HostTime::ZERO);
    let mut cfg = RecorderConfig::new(rate, payloads[0].clone(), payloads[1].clone()).with_registry(registry.clone());
    cfg.serial = 0x4a59_0000 | (number as u32 & 0xFFFF);
    cfg.tags.push(format!("CALL_NUMBER={number}"));
    let mut recorder = Recorder::new(cfg, start)?;
    let mut ingress = [0, 1].map(|li| Ingress::new(IngressConfig::new(payloads[li].clone())));
    let mut analysis = analyze.then(|| LegDecoders::new(&payloads, start, registry.clone()));
    let mut ogg = Vec::new();
    let mut idx = [0usize, 0usize];
    let mut last = start;
    loop {
        // Merge the legs in arrival order.
        let next = (0..2).filter_map(|li| legs[li].get(idx[li]).map(|d| (d.time, li))).min();
        let Some((t, li)) = next else { break };
        let d = legs[li][idx[li]];
        idx[li] += 1;
        last = last.max(t);
        recorder.handle_timeout(t)?;
        if let Ok(p) = ingress[li].receive(t, d.src, &d.payload) {
            if let Some(a) = analysis.as_mut() {
                a.packet(leg_ids[li], &p, &payloads[li]);
            }
            recorder.push(leg_ids[li], p);
        }
        while let Some(page) = recorder.poll_page() {
            ogg.extend_from_slice(&page.data);
        }
    }
    recorder.finish(last)?;
    while let Some(page) = recorder.poll_page() {
        ogg.extend_from_slice(&page.data);
    }
    let streams = [0, 1].map(|li| stream_reports(&ingress[li], &legs[li], &payloads[li]));
    let analysis = analysis.map(|a| a.finish(last));
    Ok(CallRecording {
        number,
        streams,
        timeline: [recorder.leg_stats(Leg::A).clone(), recorder.leg_stats(Leg::B).clone()],
        ogg,
        duration: recorder.duration(),
        rate,
        analysis,
    })
}

/// The call analysis of a replay: a [`CallAnalyzer`] fed every accepted packet, and each
/// leg's audio decoded in packet order (with the replay's registry: fixed-rate codecs at their
/// rate, Opus at 16 kHz, mono) and placed on the leg's RTP timeline (first packet of each
/// numbering epoch at its arrival time).
struct LegDecoders {
    analyzer: CallAnalyzer,
    registry: CodecRegistry,
    decoders: [Option<(u8, Box<dyn crate::codec::Decoder>)>; 2],
    /// Per leg: (epoch, clock, timestamp, host time) of the timeline's anchor packet.
    anchors: [Option<(crate::rtp::StreamEpoch, ClockRate, u64, HostTime)>; 2],
    pcm: Vec<i16>,
    te_fallback: [bool; 2],
}

impl LegDecoders {
    fn new(payloads: &[PayloadMap; 2], start: HostTime, registry: CodecRegistry) -> Self {
        let mut analyzer = CallAnalyzer::new(AnalysisConfig::default(), start);
        for (li, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
            analyzer.set_payloads(leg, &payloads[li]);
        }
        analyzer.answer(start);
        LegDecoders {
            analyzer,
            registry,
            decoders: [None, None],
            anchors: [None, None],
            pcm: vec![0; 5760 * 2],
            te_fallback: [false; 2],
        }
    }

    fn packet(&mut self, leg: Leg, p: &crate::rtp::MediaPacket, map: &PayloadMap) {
        if let Some(t) = self.analyzer.poll_timeout() {
            if t <= p.arrival {
                self.analyzer.handle_timeout(t);
            }
        }
        // Captures without SDP: PT 101 with no rtpmap is taken as the customary
        // telephone-event/8000 once the leg carries it (which also stops in-band DTMF there).
        if p.payload_type == PayloadType(101) && map.get(p.payload_type).is_none() && !self.te_fallback[leg.index()] {
            self.te_fallback[leg.index()] = true;
            let mut m = map.clone();
            let _ = m.insert(PayloadFormat::new(PayloadType(101), "telephone-event", ClockRate::HZ_8000, 1));
            self.analyzer.set_payloads(leg, &m);
        }
        self.analyzer.handle_packet(leg, p);
        let li = leg.index();
        let pt = p.payload_type.0;
        let Some(fmt) = map.get(p.payload_type) else { return };
        if self.decoders[li].as_ref().map_or(true, |(d_pt, _)| *d_pt != pt) {
            let opts = CodecOptions { channels: Some(1), ..CodecOptions::at_rate(SampleRate::HZ_16000) };
            self.decoders[li] = self.registry.decoder(fmt, &opts).ok().map(|d| (pt, d));
        }
        let Some((_, dec)) = self.decoders[li].as_mut() else { return };
        let Ok(n) = dec.decode(&p.payload, &mut self.pcm) else { return };
        let clock = fmt.clock_rate;
        let anchor = match self.anchors[li] {
            Some(a) if a.0 == p.epoch && a.1 == clock && p.timestamp.0 >= a.2 => a,
            _ => {
                let a = (p.epoch, clock, p.timestamp.0, p.arrival);
                self.anchors[li] = Some(a);
                a
            }
        };
        let at = anchor.3.saturating_add(clock.duration_of(p.timestamp.0 - anchor.2));
        let rate = dec.sample_rate();
        let channels = usize::from(dec.channels().max(1));
        let n = n.min(self.pcm.len() / channels);
        if channels > 1 {
            // Down-mix to the mono the analyzer takes (the mean of i16 values fits in i16).
            for i in 0..n {
                let sum: i32 = self.pcm[i * channels..(i + 1) * channels].iter().map(|&s| i32::from(s)).sum();
                self.pcm[i] = (sum / channels as i32) as i16;
            }
        }
        let _ = self.analyzer.handle_pcm(leg, at, &self.pcm[..n], rate);
    }

    fn finish(mut self, last: HostTime) -> CdrSummary {
        self.analyzer.handle_timeout(last);
        self.analyzer.end(last, EndCause::Other("end of capture".to_string()));
        self.analyzer.summary(last)
    }
}

fn stream_reports(ingress: &Ingress, datagrams: &[&Datagram], payloads: &PayloadMap) -> Vec<StreamReport> {
    let mut out: Vec<StreamReport> = Vec::new();
    for st in ingress.all_stats() {
        let mine: Vec<&&Datagram> =
            datagrams.iter().filter(|d| RtpPacket::parse(&d.payload).is_ok_and(|p| p.ssrc() == st.ssrc)).collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else { continue };
        let mut pts: Vec<(u8, String, u64)> = Vec::new();
        for d in &mine {
            if let Ok(p) = RtpPacket::parse(&d.payload) {
                let pt = p.payload_type().0;
                match pts.iter_mut().find(|e| e.0 == pt) {
                    Some(e) => e.2 += 1,
                    None => {
                        let name = payloads.get(PayloadType(pt)).map_or("?".to_string(), |f| f.encoding_name.clone());
                        pts.push((pt, name, 1));
                    }
                }
            }
        }
        out.push(StreamReport {
            src: first.src,
            dst: first.dst,
            ssrc: st.ssrc,
            payload_types: pts,
            packets: st.received - st.duplicates,
            lost: st.lost() + st.duplicates as i64,
            duplicates: st.duplicates,
            reordered: st.reordered,
            duration: last.time.saturating_since(first.time),
            jitter_ms: st.jitter.ms(),
        });
    }
    out
}
