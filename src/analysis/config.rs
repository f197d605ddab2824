//! Settings of a [`super::CallAnalyzer`]. Every part has defaults for a Chinese
//! family-call platform; all are serde-(de)serialisable so hosts can keep them in their config.

use super::alarms::AlarmConfig;
use super::dtmf_inband::InbandDtmfConfig;
use super::flash::FlashConfig;
use super::metering::BillingPolicy;
use super::noise::NoiseDropConfig;
use super::progress::ProgressToneConfig;
use super::vad::VadConfig;
use crate::leg::Leg;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// When the in-band DTMF detector runs on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InbandMode {
    /// Only on legs whose payload map has no telephone-event type (default): a sender that
    /// negotiates RFC 4733 would otherwise have some presses counted twice.
    Auto,
    /// On every leg.
    Always,
    /// Never.
    Never,
}

/// DTMF settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DtmfConfig {
    /// When to run the in-band detector.
    pub inband_mode: InbandMode,
    /// In-band detector limits.
    pub inband: InbandDtmfConfig,
    /// An RFC 4733 event without packets for this long is closed (default 1 s).
    pub event_timeout: Duration,
}

impl Default for DtmfConfig {
    fn default() -> Self {
        DtmfConfig {
            inband_mode: InbandMode::Auto,
            inband: InbandDtmfConfig::default(),
            event_timeout: Duration::from_secs(1),
        }
    }
}

/// Three-way-call signal settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreeWayConfig {
    /// Master switch (off for TTY or privileged calls; also [`super::CallAnalyzer::set_three_way`]).
    pub enabled: bool,
    /// The leg watched (default B, the family leg).
    pub leg: Leg,
    /// Hook-flash clicks; `None` switches them off.
    pub flash: Option<FlashConfig>,
    /// Call-progress tones; `None` switches them off.
    pub tones: Option<ProgressToneConfig>,
    /// Noise-floor drop; `None` switches it off.
    pub noise_drop: Option<NoiseDropConfig>,
}

impl Default for ThreeWayConfig {
    fn default() -> Self {
        ThreeWayConfig {
            enabled: true,
            leg: Leg::B,
            flash: Some(FlashConfig::default()),
            tones: Some(ProgressToneConfig::default()),
            noise_drop: Some(NoiseDropConfig::default()),
        }
    }
}

/// E-model settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QualityConfig {
    /// One-way delay the engine cannot see (network, terminals), added to playout and
    /// packetisation delay for the E-model's Ta (default 0).
    pub extra_delay: Duration,
    /// Whether lost frames are concealed (G.711 Bpl 25.1 instead of 4.3; default true).
    pub concealment: bool,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig { extra_delay: Duration::ZERO, concealment: true }
    }
}

/// All settings of a call's analysis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnalysisConfig {
    /// Voice activity.
    pub vad: VadConfig,
    /// DTMF.
    pub dtmf: DtmfConfig,
    /// Billing policy.
    pub billing: BillingPolicy,
    /// Connected-time limit (`None`: unlimited).
    pub time_limit: Option<Duration>,
    /// Alarms.
    pub alarms: AlarmConfig,
    /// Three-way-call signals.
    pub three_way: ThreeWayConfig,
    /// Quality / E-model.
    pub quality: QualityConfig,
}

/// Rust's `Leg` as serde sees it.
impl Serialize for Leg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Leg::A => "A",
            Leg::B => "B",
        })
    }
}

impl<'de> Deserialize<'de> for Leg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "A" | "a" => Ok(Leg::A),
            "B" | "b" => Ok(Leg::B),
            other => Err(serde::de::Error::custom(format!("leg must be A or B, not {other:?}"))),
        }
    }
}
