//! Conversions between the C constants and the crate's types: legs, policies, tap modes,
//! targets, end causes, codecs, addresses, tones and prompts.

use super::result::jyqq_result;
use super::types::*;
use crate::analysis::EndCause;
use crate::audio::{ClockRate, SampleRate};
use crate::leg::Leg;
use crate::mix::{
    Cadence, Dbm0, Direction, LinearResampler, Listen, ListenLayout, PlayMode, Prompt, PromptPlayer, Source, TapId,
    TapKind, Target, ToneGenerator, ToneSpec,
};
use crate::rtp::{PayloadFormat, PayloadType};
use crate::session::Policy;
use std::net::SocketAddr;
use std::time::Duration;

/// Highest prompt rate accepted (Hz): anything above is surely a mistake.
const MAX_PROMPT_RATE: u32 = 384_000;

pub(crate) fn leg(l: jyqq_leg) -> Result<Leg, jyqq_result> {
    match l {
        JYQQ_LEG_A => Ok(Leg::A),
        JYQQ_LEG_B => Ok(Leg::B),
        _ => Err(jyqq_result::JYQQ_INVALID_LEG),
    }
}

pub(crate) fn leg_code(l: Leg) -> jyqq_leg {
    match l {
        Leg::A => JYQQ_LEG_A,
        Leg::B => JYQQ_LEG_B,
    }
}

pub(crate) fn policy(p: jyqq_policy) -> Result<Policy, jyqq_result> {
    match p {
        JYQQ_POLICY_RECORD => Ok(Policy::RECORD),
        JYQQ_POLICY_NO_MONITOR => Ok(Policy::NO_MONITOR),
        JYQQ_POLICY_NO_RECORD => Ok(Policy::NO_RECORD),
        _ => Err(jyqq_result::JYQQ_INVALID_VALUE),
    }
}

fn listen(l: jyqq_listen) -> Result<Option<Listen>, jyqq_result> {
    Ok(match l {
        JYQQ_LISTEN_NONE => None,
        JYQQ_LISTEN_MONO => Some(Listen::MONO),
        JYQQ_LISTEN_STEREO => Some(Listen::STEREO),
        JYQQ_LISTEN_ONLY_A => Some(Listen::only(Leg::A)),
        JYQQ_LISTEN_ONLY_B => Some(Listen::only(Leg::B)),
        _ => return Err(jyqq_result::JYQQ_INVALID_VALUE),
    })
}

/// A tap mode from its talk and listen parts; listening to nothing and saying nothing is
/// `JYQQ_INVALID_VALUE`.
pub(crate) fn tap_kind(talk: jyqq_talk, l: jyqq_listen) -> Result<TapKind, jyqq_result> {
    let listen = listen(l)?;
    match talk {
        JYQQ_TALK_NONE => listen.map(TapKind::Listen).ok_or(jyqq_result::JYQQ_INVALID_VALUE),
        JYQQ_TALK_WHISPER_A => Ok(TapKind::Whisper { to: Leg::A, listen }),
        JYQQ_TALK_WHISPER_B => Ok(TapKind::Whisper { to: Leg::B, listen }),
        JYQQ_TALK_BARGE => Ok(TapKind::Barge { listen }),
        _ => Err(jyqq_result::JYQQ_INVALID_VALUE),
    }
}

/// The (talk, listen) names of a tap mode, as the event JSON gives them.
pub(crate) fn tap_kind_names(k: TapKind) -> (&'static str, &'static str) {
    let (talk, listen) = match k {
        TapKind::Listen(l) => ("none", Some(l)),
        TapKind::Whisper { to: Leg::A, listen } => ("whisper_a", listen),
        TapKind::Whisper { to: Leg::B, listen } => ("whisper_b", listen),
        TapKind::Barge { listen } => ("barge", listen),
        #[allow(unreachable_patterns)] // TapKind is non_exhaustive: a future mode
        _ => ("other", None),
    };
    let listen = match listen {
        None => "none",
        Some(Listen { layout: ListenLayout::Mono, direction: Direction::Both }) => "mono",
        Some(Listen { layout: ListenLayout::Stereo, direction: Direction::Both }) => "stereo",
        Some(Listen { layout: ListenLayout::Mono, direction: Direction::Only(Leg::A) }) => "only_a",
        Some(Listen { layout: ListenLayout::Mono, direction: Direction::Only(Leg::B) }) => "only_b",
        Some(_) => "other",
    };
    (talk, listen)
}

pub(crate) fn target(t: jyqq_target, tap: u32) -> Result<Target, jyqq_result> {
    match t {
        JYQQ_TARGET_LEG_A => Ok(Target::Leg(Leg::A)),
        JYQQ_TARGET_LEG_B => Ok(Target::Leg(Leg::B)),
        JYQQ_TARGET_BOTH_LEGS => Ok(Target::BothLegs),
        JYQQ_TARGET_TAP => Ok(Target::Tap(TapId(tap))),
        _ => Err(jyqq_result::JYQQ_INVALID_VALUE),
    }
}

pub(crate) fn play_mode(m: jyqq_play_mode) -> Result<PlayMode, jyqq_result> {
    match m {
        JYQQ_PLAY_MIX => Ok(PlayMode::Mix),
        JYQQ_PLAY_REPLACE => Ok(PlayMode::Replace),
        _ => Err(jyqq_result::JYQQ_INVALID_VALUE),
    }
}

pub(crate) fn end_cause(c: jyqq_end_cause) -> Result<EndCause, jyqq_result> {
    match c {
        JYQQ_END_HANGUP_A => Ok(EndCause::HangupA),
        JYQQ_END_HANGUP_B => Ok(EndCause::HangupB),
        JYQQ_END_TIME_LIMIT => Ok(EndCause::TimeLimit),
        JYQQ_END_STAFF_CUT => Ok(EndCause::StaffCut),
        JYQQ_END_MEDIA_TIMEOUT => Ok(EndCause::MediaTimeout),
        JYQQ_END_OTHER => Ok(EndCause::Other("host".to_string())),
        _ => Err(jyqq_result::JYQQ_INVALID_VALUE),
    }
}

/// A payload format from the C description (strings already read).
pub(crate) fn payload_format(
    name: &str,
    fmtp: Option<&str>,
    clock_rate: u32,
    payload_type: u8,
    channels: u8,
) -> Result<PayloadFormat, jyqq_result> {
    if name.is_empty() || clock_rate == 0 || payload_type > 127 {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    let mut f = PayloadFormat::new(PayloadType(payload_type), name, ClockRate::new(clock_rate), channels.max(1));
    f.fmtp = fmtp.map(str::to_owned);
    Ok(f)
}

/// `"192.0.2.1:4000"` or `"[2001:db8::1]:4000"`.
pub(crate) fn address(s: &str) -> Result<SocketAddr, jyqq_result> {
    s.parse().map_err(|_| jyqq_result::JYQQ_INVALID_ADDRESS)
}

/// A `struct sockaddr_in` / `sockaddr_in6` of `bytes.len()` bytes, as `recvfrom` fills it.
#[cfg(unix)]
pub(crate) fn sockaddr(bytes: &[u8]) -> Result<SocketAddr, jyqq_result> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    if bytes.len() < std::mem::size_of::<libc::sockaddr_in>() {
        return Err(jyqq_result::JYQQ_INVALID_LENGTH);
    }
    // SAFETY: at least size_of::<sockaddr_in>() bytes; read unaligned, every bit pattern valid.
    let v4: libc::sockaddr_in = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    match i32::from(v4.sin_family) {
        libc::AF_INET => Ok(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
            u16::from_be(v4.sin_port),
        ))),
        libc::AF_INET6 => {
            if bytes.len() < std::mem::size_of::<libc::sockaddr_in6>() {
                return Err(jyqq_result::JYQQ_INVALID_LENGTH);
            }
            // SAFETY: at least size_of::<sockaddr_in6>() bytes; every bit pattern valid.
            let v6: libc::sockaddr_in6 = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                u32::from_be(v6.sin6_flowinfo),
                v6.sin6_scope_id,
            )))
        }
        _ => Err(jyqq_result::JYQQ_INVALID_ADDRESS),
    }
}

/// Not available off Unix: always `JYQQ_INVALID_ADDRESS` (use the string form).
#[cfg(not(unix))]
pub(crate) fn sockaddr(_bytes: &[u8]) -> Result<SocketAddr, jyqq_result> {
    Err(jyqq_result::JYQQ_INVALID_ADDRESS)
}

/// A milliseconds count as a duration; zero is `JYQQ_INVALID_VALUE`.
pub(crate) fn millis(ms: u64) -> Result<Duration, jyqq_result> {
    if ms == 0 {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    Ok(Duration::from_millis(ms))
}

/// A single-frequency tone of `duration_ms` at `level_dbm0` (each G.711 A-law referenced
/// dBm0, ITU-T G.711 §5), generated at the session's `rate`.
pub(crate) fn tone(rate: SampleRate, freq_hz: f32, level_dbm0: f32, duration_ms: u32) -> Result<Source, jyqq_result> {
    let on = millis(u64::from(duration_ms))?;
    if !freq_hz.is_finite() || !level_dbm0.is_finite() {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    let spec = ToneSpec::single(freq_hz, Dbm0(level_dbm0), Cadence::once(on));
    Ok(Source::Tone(ToneGenerator::new(&spec, rate)?))
}

/// A prompt from interleaved PCM (`channels` channels, downmixed to mono) at `pcm_rate`,
/// resampled (linear interpolation) to the session's `rate`.
pub(crate) fn prompt(rate: SampleRate, pcm: &[i16], channels: u32, pcm_rate: u32) -> Result<Source, jyqq_result> {
    if pcm.is_empty() {
        return Err(jyqq_result::JYQQ_INVALID_LENGTH);
    }
    let channels = u16::try_from(channels).ok().filter(|&c| c > 0).ok_or(jyqq_result::JYQQ_INVALID_VALUE)?;
    if pcm_rate == 0 || pcm_rate > MAX_PROMPT_RATE {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    let p = Prompt::from_interleaved(pcm, channels, SampleRate::new(pcm_rate))?;
    let p = p.resampled(rate, &mut LinearResampler)?;
    Ok(Source::Prompt(PromptPlayer::new(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_map_both_ways() {
        assert_eq!(leg(0), Ok(Leg::A));
        assert_eq!(leg(1), Ok(Leg::B));
        assert_eq!(leg(2), Err(jyqq_result::JYQQ_INVALID_LEG));
        assert_eq!(leg_code(Leg::B), JYQQ_LEG_B);
        assert_eq!(policy(2), Ok(Policy::NO_RECORD));
        assert_eq!(policy(3), Err(jyqq_result::JYQQ_INVALID_VALUE));
        assert_eq!(tap_kind(JYQQ_TALK_NONE, JYQQ_LISTEN_NONE), Err(jyqq_result::JYQQ_INVALID_VALUE));
        let k = tap_kind(JYQQ_TALK_WHISPER_B, JYQQ_LISTEN_STEREO).expect("valid");
        assert_eq!(k, TapKind::Whisper { to: Leg::B, listen: Some(Listen::STEREO) });
        assert_eq!(tap_kind_names(k), ("whisper_b", "stereo"));
        assert_eq!(tap_kind_names(TapKind::Listen(Listen::only(Leg::A))), ("none", "only_a"));
        assert_eq!(target(JYQQ_TARGET_TAP, 7), Ok(Target::Tap(TapId(7))));
        assert_eq!(end_cause(JYQQ_END_STAFF_CUT), Ok(EndCause::StaffCut));
        assert_eq!(end_cause(6), Err(jyqq_result::JYQQ_INVALID_VALUE));
    }

    #[test]
    fn tones_and_prompts_are_checked() {
        let r = SampleRate::HZ_8000;
        assert!(tone(r, 1000.0, -10.0, 200).is_ok());
        assert_eq!(tone(r, 4000.0, -10.0, 200).err(), Some(jyqq_result::JYQQ_INVALID_VALUE));
        assert_eq!(tone(r, f32::NAN, -10.0, 200).err(), Some(jyqq_result::JYQQ_INVALID_VALUE));
        assert_eq!(tone(r, 1000.0, -10.0, 0).err(), Some(jyqq_result::JYQQ_INVALID_VALUE));
        // 16 kHz stereo, 10 ms → 80 mono samples at 8 kHz.
        let pcm = vec![1000i16; 320];
        let Ok(Source::Prompt(p)) = prompt(r, &pcm, 2, 16_000) else { panic!("prompt") };
        assert_eq!(p.rate(), r);
        assert_eq!(prompt(r, &pcm[..3], 2, 16_000).err(), Some(jyqq_result::JYQQ_INVALID_LENGTH));
        assert_eq!(prompt(r, &pcm, 0, 16_000).err(), Some(jyqq_result::JYQQ_INVALID_VALUE));
        assert_eq!(prompt(r, &pcm, 1, 0).err(), Some(jyqq_result::JYQQ_INVALID_VALUE));
    }

    #[cfg(unix)]
    #[test]
    fn sockaddrs_parse() {
        // SAFETY (test): zeroed sockaddr structs are valid; transmutes are between equal sizes.
        let mut v4: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        v4.sin_family = libc::AF_INET as libc::sa_family_t;
        v4.sin_port = 4000u16.to_be();
        v4.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::new(192, 0, 2, 1)).to_be();
        let bytes: [u8; std::mem::size_of::<libc::sockaddr_in>()] = unsafe { std::mem::transmute(v4) };
        assert_eq!(sockaddr(&bytes), Ok("192.0.2.1:4000".parse().expect("literal")));
        assert_eq!(sockaddr(&bytes[..8]), Err(jyqq_result::JYQQ_INVALID_LENGTH));
        let mut v6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        v6.sin6_port = 5004u16.to_be();
        v6.sin6_addr.s6_addr = "2001:db8::1".parse::<std::net::Ipv6Addr>().expect("literal").octets();
        let bytes6: [u8; std::mem::size_of::<libc::sockaddr_in6>()] = unsafe { std::mem::transmute(v6) };
        assert_eq!(sockaddr(&bytes6), Ok("[2001:db8::1]:5004".parse().expect("literal")));
        // An IPv6 family in a buffer only long enough for IPv4.
        assert_eq!(sockaddr(&bytes6[..16]), Err(jyqq_result::JYQQ_INVALID_LENGTH));
        v4.sin_family = libc::AF_UNIX as libc::sa_family_t;
        let unix: [u8; std::mem::size_of::<libc::sockaddr_in>()] = unsafe { std::mem::transmute(v4) };
        assert_eq!(sockaddr(&unix), Err(jyqq_result::JYQQ_INVALID_ADDRESS));
    }
}
