//! Test and benchmark aids, compiled only with the `testing` feature (the crate's own
//! tests, benches and examples enable it through a dev-dependency on itself).
//!
//! - [`netsim`]: a seeded, sans-IO network simulator that impairs a packet stream
//!   (Gilbert–Elliott loss, jitter with spikes, reordering, duplication, clock skew,
//!   SSRC change), for scenario tests on a simulated clock and the quality bench.

pub mod netsim;
