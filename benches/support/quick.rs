//! Short measurement for CI: with `JYQQ_BENCH_QUICK=1` every group measures for 1 s after a
//! 0.3 s warm-up with 10 samples, so `.ci/bench_ratios.py` can run the pipelines and their
//! bare-codec baselines in a few minutes. The figures it checks are ratios measured in the
//! same run, which stay meaningful on a short, noisy run; absolute times do not.

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion};
use std::time::Duration;

/// Whether CI asked for the short mode.
pub fn quick() -> bool {
    std::env::var("JYQQ_BENCH_QUICK").as_deref() == Ok("1")
}

/// The Criterion configuration: criterion's defaults, or the short mode.
#[allow(dead_code)]
pub fn criterion() -> Criterion {
    let c = Criterion::default();
    if quick() {
        c.sample_size(10).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300))
    } else {
        c
    }
}

/// Sets a group's sample count and measurement time (warm-up 1 s), or the short mode.
#[allow(dead_code)]
pub fn tune<M: Measurement>(g: &mut BenchmarkGroup<'_, M>, samples: usize, measure: Duration) {
    if quick() {
        g.sample_size(10).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300));
    } else {
        g.sample_size(samples).measurement_time(measure).warm_up_time(Duration::from_secs(1));
    }
}
