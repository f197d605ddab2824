//! Test and benchmark aids for hosts and for the crate's own tests, benches and
//! examples. Sans-IO like the rest of the core, small, and without dependencies, so it
//! is always compiled (no feature gate to forget in CI).
//!
//! - [`netsim`]: a seeded, sans-IO network simulator that impairs a packet stream
//!   (Gilbert–Elliott loss, jitter with spikes, reordering, duplication, clock skew,
//!   SSRC change), for scenario tests on a simulated clock and the quality bench.

#![forbid(unsafe_code)]

pub mod netsim;
