//! Payload-type maps from the SDP bodies (RFC 4566) of the SIP messages
//! (RFC 3261) carried over UDP in a capture, so that a stream's dynamic payload
//! types can be named: e.g. PT 99 to port X is opus/48000/2.

use super::streams::{looks_like_sip, RtpStreamInfo};
use super::Capture;
use crate::time::HostTime;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One `a=rtpmap:` attribute (RFC 4566 §6) with its `a=fmtp:` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpRtpmap {
    /// RTP payload type (0..=127).
    pub pt: u8,
    /// Encoding name as written, e.g. `opus`, `PCMA`, `telephone-event`.
    pub encoding: String,
    /// RTP clock rate in Hz (ticks per second), e.g. 48000 for Opus, 8000 for G.722.
    pub clock_rate: u32,
    /// Channel count from the optional third field (1 when absent).
    pub channels: u8,
    /// The `a=fmtp:` parameters for this payload type, e.g. `useinbandfec=1`.
    pub fmtp: Option<String>,
}

/// One RTP media description (`m=` section) announced in the capture's SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdpMedia {
    /// Where the announcing party receives this media: the media-level `c=`
    /// address (else the session-level one) and the `m=` port.
    pub endpoint: SocketAddr,
    /// Media type from the `m=` line, e.g. `audio`.
    pub media: String,
    /// Transport protocol from the `m=` line, e.g. `RTP/AVP`.
    pub protocol: String,
    /// Payload types listed on the `m=` line, in preference order. Static ones
    /// (RFC 3551 table 4) often have no `a=rtpmap`.
    pub payload_types: Vec<u8>,
    /// The `a=rtpmap` attributes of this media section, in order.
    pub rtpmaps: Vec<SdpRtpmap>,
    /// Packetisation interval from `a=ptime` (media level, else session level).
    pub ptime: Option<Duration>,
    /// The SIP message's Call-ID header, when present.
    pub call_id: Option<String>,
    /// Index into `Capture::datagrams` of the SIP message this came from.
    pub datagram: usize,
    /// Arrival time of that SIP message (ns since the Unix epoch).
    pub time: HostTime,
}

impl SdpMedia {
    /// The rtpmap for payload type `pt`, if one was announced.
    pub fn rtpmap(&self, pt: u8) -> Option<&SdpRtpmap> {
        self.rtpmaps.iter().find(|r| r.pt == pt)
    }

    /// Whether two announcements describe the same media (ignoring where and
    /// when they were seen).
    fn same_description(&self, other: &SdpMedia) -> bool {
        (&self.endpoint, &self.media, &self.protocol, &self.payload_types, &self.rtpmaps, self.ptime)
            == (&other.endpoint, &other.media, &other.protocol, &other.payload_types, &other.rtpmaps, other.ptime)
    }
}

/// The RTP media sections announced by SIP messages (requests or responses with
/// `Content-Type: application/sdp`, compact form `c:` too) carried in the
/// capture's UDP datagrams, in capture order.
///
/// An announcement identical to the previous one for the same endpoint
/// (a retransmission, or the same message seen on both sides of a proxy) is left
/// out; a changed one (a re-INVITE, a new call reusing the port) is kept, so an
/// endpoint may appear several times: [`sdp_announcement`] picks the one in force
/// at a given time. Media sections with port 0 (disabled), a non-RTP protocol, or
/// a connection address that is not an IP literal are left out. SIP over TCP and
/// multipart bodies are not read.
pub fn sdp_payload_maps(capture: &Capture) -> Vec<SdpMedia> {
    let mut out: Vec<SdpMedia> = Vec::new();
    for (i, d) in capture.datagrams.iter().enumerate() {
        let Some((call_id, body)) = sip_sdp_body(&d.payload) else {
            continue;
        };
        for mut m in parse_sdp(&String::from_utf8_lossy(body)) {
            let repeat = out.iter().rev().find(|o| o.endpoint == m.endpoint).is_some_and(|o| o.same_description(&m));
            if !repeat {
                m.call_id = call_id.clone();
                m.datagram = i;
                m.time = d.time;
                out.push(m);
            }
        }
    }
    out
}

/// The announcement for `endpoint` in force at `at`: the latest one sent at or
/// before `at`, else (media that began before its SDP was captured) the earliest.
pub fn sdp_announcement(maps: &[SdpMedia], endpoint: SocketAddr, at: HostTime) -> Option<&SdpMedia> {
    let mut candidates = maps.iter().filter(|m| m.endpoint == endpoint);
    let first = candidates.next();
    candidates.rev().find(|m| m.time <= at).or(first.filter(|m| m.time <= at)).or(first)
}

/// The payload-type map for a stream, from the SDP in force when its first
/// packet arrived. The receiver's announcement (endpoint = the stream's
/// destination) names the payload types it expects, so its rtpmaps come first;
/// the sender's announcement (endpoint = the stream's source, symmetric RTP)
/// fills in an `fmtp` the receiver left out for the same payload type, encoding
/// and clock rate, and adds payload types the receiver did not map.
pub fn rtpmaps_for_stream(maps: &[SdpMedia], stream: &RtpStreamInfo) -> Vec<SdpRtpmap> {
    let receiver = sdp_announcement(maps, stream.dst, stream.first_time);
    let sender = sdp_announcement(maps, stream.src, stream.first_time);
    let mut out: Vec<SdpRtpmap> = receiver.map(|m| m.rtpmaps.clone()).unwrap_or_default();
    for s in sender.map(|m| m.rtpmaps.as_slice()).unwrap_or_default() {
        match out.iter_mut().find(|r| r.pt == s.pt) {
            Some(r) => {
                if r.fmtp.is_none() && r.encoding.eq_ignore_ascii_case(&s.encoding) && r.clock_rate == s.clock_rate {
                    r.fmtp = s.fmtp.clone();
                }
            }
            None => out.push(s.clone()),
        }
    }
    out
}

/// The Call-ID and SDP body of a SIP message, or `None` when the payload is not
/// SIP or carries no SDP.
fn sip_sdp_body(payload: &[u8]) -> Option<(Option<String>, &[u8])> {
    if !looks_like_sip(payload) {
        return None;
    }
    let (head_len, sep) = match find(payload, b"\r\n\r\n") {
        Some(p) => (p, 4),
        None => (find(payload, b"\n\n")?, 2),
    };
    let head = String::from_utf8_lossy(&payload[..head_len]);
    let (mut is_sdp, mut content_length, mut call_id) = (false, None, None);
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("c") {
            let mime = value.split(';').next().unwrap_or("").trim();
            is_sdp = mime.eq_ignore_ascii_case("application/sdp");
        } else if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("call-id") || name.eq_ignore_ascii_case("i") {
            call_id = Some(value.to_string());
        }
    }
    if !is_sdp {
        return None;
    }
    let body = &payload[head_len + sep..];
    let body = &body[..content_length.unwrap_or(body.len()).min(body.len())];
    Some((call_id, body))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A media section being read.
struct Section {
    media: String,
    port: u16,
    protocol: String,
    payload_types: Vec<u8>,
    connection: Option<IpAddr>,
    rtpmaps: Vec<SdpRtpmap>,
    fmtps: Vec<(u8, String)>,
    ptime: Option<Duration>,
}

/// Parses an SDP body into its usable RTP media sections (`call_id`,
/// `datagram` and `time` are left for the caller to fill).
fn parse_sdp(text: &str) -> Vec<SdpMedia> {
    let mut session_c: Option<IpAddr> = None;
    let mut session_ptime: Option<Duration> = None;
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("m=") {
            let mut f = v.split_whitespace();
            let media = f.next().unwrap_or("").to_string();
            let port = f.next().and_then(|p| p.split('/').next()).and_then(|p| p.parse::<u16>().ok());
            let protocol = f.next().unwrap_or("").to_string();
            let payload_types = f.filter_map(|p| p.parse::<u8>().ok()).filter(|&p| p <= 127).collect();
            sections.push(Section {
                media,
                port: port.unwrap_or(0),
                protocol,
                payload_types,
                connection: None,
                rtpmaps: Vec::new(),
                fmtps: Vec::new(),
                ptime: None,
            });
        } else if let Some(v) = line.strip_prefix("c=") {
            let addr = connection_address(v);
            match sections.last_mut() {
                Some(s) => s.connection = addr,
                None => session_c = addr,
            }
        } else if let Some(v) = line.strip_prefix("a=ptime:") {
            let ptime = v.trim().parse::<f64>().ok().filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < 10_000.0);
            let ptime = ptime.map(|ms| Duration::from_secs_f64(ms / 1000.0));
            match sections.last_mut() {
                Some(s) => s.ptime = ptime,
                None => session_ptime = ptime,
            }
        } else if let (Some(v), Some(s)) = (line.strip_prefix("a=rtpmap:"), sections.last_mut()) {
            s.rtpmaps.extend(rtpmap(v));
        } else if let (Some(v), Some(s)) = (line.strip_prefix("a=fmtp:"), sections.last_mut()) {
            if let Some((pt, params)) = v.split_once(char::is_whitespace) {
                if let Ok(pt) = pt.parse::<u8>() {
                    s.fmtps.push((pt, params.trim().to_string()));
                }
            }
        }
    }
    sections
        .into_iter()
        .filter(|s| s.port != 0 && s.protocol.to_ascii_uppercase().contains("RTP"))
        .filter_map(|s| {
            let ip = s.connection.or(session_c)?;
            let mut rtpmaps = s.rtpmaps;
            for (pt, params) in s.fmtps {
                if let Some(r) = rtpmaps.iter_mut().find(|r| r.pt == pt) {
                    r.fmtp = Some(params);
                }
            }
            Some(SdpMedia {
                endpoint: SocketAddr::new(ip, s.port),
                media: s.media,
                protocol: s.protocol,
                payload_types: s.payload_types,
                rtpmaps,
                ptime: s.ptime.or(session_ptime),
                call_id: None,
                datagram: 0,
                time: HostTime(0),
            })
        })
        .collect()
}

/// `IN IP4 192.0.2.1[/ttl[/n]]` or `IN IP6 2001:db8::1` to an address.
fn connection_address(v: &str) -> Option<IpAddr> {
    let mut f = v.split_whitespace();
    let (_net, _kind, addr) = (f.next()?, f.next()?, f.next()?);
    addr.split('/').next()?.parse().ok()
}

/// `<pt> <encoding>/<clock rate>[/<channels>]`.
fn rtpmap(v: &str) -> Option<SdpRtpmap> {
    let (pt, rest) = v.trim().split_once(char::is_whitespace)?;
    let pt = pt.parse::<u8>().ok().filter(|&p| p <= 127)?;
    let mut f = rest.trim().split('/');
    let encoding = f.next()?.trim().to_string();
    let clock_rate = f.next()?.trim().parse::<u32>().ok()?;
    let channels = match f.next() {
        Some(c) => c.trim().parse::<u8>().ok()?,
        None => 1,
    };
    Some(SdpRtpmap { pt, encoding, clock_rate, channels, fmtp: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK_200: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.2.15:5060\r\nCall-ID: abc@host\r\n\
        Content-Type: application/sdp\r\n\r\n\
        v=0\r\no=- 1 1 IN IP4 10.0.2.20\r\ns=-\r\nc=IN IP4 10.0.2.20\r\nt=0 0\r\n\
        m=audio 6000 RTP/AVP 99 101\r\na=rtpmap:99 opus/48000/2\r\na=fmtp:99 useinbandfec=1\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n\
        m=video 0 RTP/AVP 96\r\n";

    #[test]
    fn sip_200_with_sdp() {
        let (call_id, body) = sip_sdp_body(OK_200.as_bytes()).expect("SIP with SDP");
        assert_eq!(call_id.as_deref(), Some("abc@host"));
        let m = parse_sdp(&String::from_utf8_lossy(body));
        assert_eq!(m.len(), 1, "the disabled video section is left out");
        let m = &m[0];
        assert_eq!(m.endpoint, "10.0.2.20:6000".parse().expect("literal"));
        assert_eq!(m.payload_types, vec![99, 101]);
        assert_eq!(m.ptime, Some(Duration::from_millis(20)));
        let opus = m.rtpmap(99).expect("PT 99");
        assert_eq!((opus.encoding.as_str(), opus.clock_rate, opus.channels), ("opus", 48_000, 2));
        assert_eq!(opus.fmtp.as_deref(), Some("useinbandfec=1"));
        assert_eq!(m.rtpmap(101).map(|r| (r.channels, r.fmtp.as_deref())), Some((1, Some("0-16"))));
    }

    #[test]
    fn content_length_bounds_the_body_and_compact_headers_work() {
        let msg = "INVITE sip:a@b SIP/2.0\r\ni: x1\r\nc: application/sdp\r\nl: 60\r\n\r\n\
            c=IN IP6 2001:db8::5\r\nm=audio 7078 RTP/AVP 0\r\nm=audio 7080 RTP/AVP 8\r\n";
        let (id, body) = sip_sdp_body(msg.as_bytes()).expect("SDP");
        assert_eq!(id.as_deref(), Some("x1"));
        let m = parse_sdp(&String::from_utf8_lossy(body));
        assert_eq!(m.len(), 1, "the second m= line is past Content-Length");
        assert_eq!(m[0].endpoint, "[2001:db8::5]:7078".parse().expect("literal"));
        assert!(m[0].rtpmaps.is_empty());
    }

    #[test]
    fn non_sdp_and_malformed_inputs() {
        assert!(sip_sdp_body(b"SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n").is_none());
        assert!(sip_sdp_body(b"\x80\x08\x00\x01").is_none());
        assert!(sip_sdp_body(b"INVITE x SIP/2.0\r\nContent-Type: application/sdp\r\n").is_none());
        let m = parse_sdp("c=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n");
        assert!(m.is_empty(), "an FQDN is not an endpoint");
        let m = parse_sdp(
            "c=IN IP4 224.2.1.1/127/3\r\nm=audio 4000/2 RTP/AVP 0 x 300\r\na=rtpmap:0 PCMU\r\na=rtpmap:x\r\n",
        );
        assert_eq!(m[0].endpoint, "224.2.1.1:4000".parse().expect("literal"));
        assert_eq!(m[0].payload_types, vec![0]);
        assert!(m[0].rtpmaps.is_empty());
        let m = parse_sdp("m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\na=ptime:0\r\n");
        assert_eq!(m[0].ptime, None);
    }
    fn sip(ip: &str, port: u16, pts: &str, extra: &str) -> Vec<u8> {
        format!(
            "INVITE sip:x SIP/2.0\r\nCall-ID: c1\r\nContent-Type: application/sdp\r\n\r\n\
             c=IN IP4 {ip}\r\nm=audio {port} RTP/AVP {pts}\r\n{extra}"
        )
        .into_bytes()
    }

    fn datagram(t: u64, payload: Vec<u8>) -> crate::capture::Datagram {
        let any: SocketAddr = "10.9.9.9:5060".parse().expect("literal");
        crate::capture::Datagram { time: HostTime(t), src: any, dst: any, payload, record: 0 }
    }

    #[test]
    fn announcements_in_force_and_merged_maps() {
        let mut c = Capture::empty(crate::capture::CaptureFormat::PcapNg);
        c.datagrams = vec![
            datagram(10, sip("10.0.0.2", 6000, "0", "a=rtpmap:0 PCMU/8000\r\n")),
            datagram(11, sip("10.0.0.2", 6000, "0", "a=rtpmap:0 PCMU/8000\r\n")), // retransmission
            datagram(
                12,
                sip(
                    "10.0.0.1",
                    4000,
                    "99 101",
                    "a=rtpmap:99 opus/48000/2\r\na=fmtp:99 useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\n",
                ),
            ),
            datagram(50, sip("10.0.0.2", 6000, "99", "a=rtpmap:99 opus/48000/2\r\n")),
        ];
        let maps = sdp_payload_maps(&c);
        assert_eq!(maps.len(), 3, "the retransmission is dropped");
        assert_eq!((maps[0].datagram, maps[0].time, maps[0].call_id.as_deref()), (0, HostTime(10), Some("c1")));
        let ep: SocketAddr = "10.0.0.2:6000".parse().expect("literal");
        assert_eq!(sdp_announcement(&maps, ep, HostTime(5)).map(|m| m.datagram), Some(0));
        assert_eq!(sdp_announcement(&maps, ep, HostTime(49)).map(|m| m.datagram), Some(0));
        assert_eq!(sdp_announcement(&maps, ep, HostTime(50)).map(|m| m.datagram), Some(3));
        let stream = RtpStreamInfo {
            src: "10.0.0.1:4000".parse().expect("literal"),
            dst: ep,
            ssrc: crate::rtp::Ssrc(1),
            payload_types: vec![],
            first_time: HostTime(60),
            last_time: HostTime(90),
            packet_count: 0,
            datagrams: vec![],
        };
        let r = rtpmaps_for_stream(&maps, &stream);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].pt, r[0].fmtp.as_deref()), (99, Some("useinbandfec=1")), "fmtp filled from the sender");
        assert_eq!((r[1].pt, r[1].encoding.as_str()), (101, "telephone-event"), "added from the sender");
        let early = RtpStreamInfo { first_time: HostTime(20), ..stream };
        let r = rtpmaps_for_stream(&maps, &early);
        assert_eq!(r.iter().map(|m| m.pt).collect::<Vec<_>>(), vec![0, 99, 101]);
    }
}
