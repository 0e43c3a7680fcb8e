//! What the bench says about call latency: `track` times go into an
//! [`hdrhistogram`] (three significant digits, so every percentile is
//! within 0.1% of the exact order statistic, from 1 ns to 2^40 ns, about 18
//! minutes), and [`Summary`] is what a run reports of them. Its counts are
//! allocated once, 128 KiB (`u32` counts: a phase records at most a few
//! million calls), so recording costs no allocation between timed calls.

use hdrhistogram::{CreationError, Histogram};
use serde::{Deserialize, Serialize};

/// The largest latency recorded as itself; longer ones count as this.
pub const MAX_NS: u64 = 1 << 40;

/// Significant decimal digits kept of each sample.
pub const DIGITS: u8 = 3;

/// Samples above this count towards [`Summary::over_100us_ms`]: 100 µs.
const SLOW_NS: u64 = 100_000;

/// What a latency histogram says, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Samples recorded.
    pub count: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
    /// Sum of the samples over 100 µs: the time spent waiting on back-pressure.
    pub over_100us_ms: f64,
}

/// Latencies of one kind of call: the histogram for percentiles, and the
/// exact sum and largest sample (a histogram keeps them to its precision).
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u32>,
    sum: u128,
    max: u64,
}

impl Latency {
    /// An empty histogram, its counts allocated.
    pub fn new() -> Result<Latency, CreationError> {
        Ok(Latency {
            histogram: Histogram::new_with_bounds(1, MAX_NS, DIGITS)?,
            sum: 0,
            max: 0,
        })
    }

    /// Records one sample of `ns` nanoseconds (over [`MAX_NS`] counts as
    /// `MAX_NS` in the percentiles; the sum and max keep it whole).
    pub fn record(&mut self, ns: u64) {
        self.histogram.saturating_record(ns.min(MAX_NS));
        self.sum += u128::from(ns);
        self.max = self.max.max(ns);
    }

    /// Mean, percentiles, max and the time spent in slow calls.
    pub fn summary(&self) -> Summary {
        let h = &self.histogram;
        let over: f64 = h
            .iter_recorded()
            .filter(|v| v.value_iterated_to() > SLOW_NS)
            .map(|v| h.median_equivalent(v.value_iterated_to()) as f64 * v.count_at_value() as f64)
            .sum();
        Summary {
            count: h.len(),
            mean_ns: if h.is_empty() {
                0.0
            } else {
                self.sum as f64 / h.len() as f64
            },
            p50_ns: h.value_at_quantile(0.50),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: self.max,
            over_100us_ms: over / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_0_2_percent_of_the_exact_order_statistics() {
        // Spread over 100 ns .. 100 ms, log-uniform, deterministic.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut samples = Vec::new();
        let mut h = Latency::new().unwrap();
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (100.0 * 1e6f64.powf((x >> 11) as f64 / (1u64 << 53) as f64)) as u64;
            samples.push(v);
            h.record(v);
        }
        samples.sort_unstable();
        let s = h.summary();
        let exact =
            |q: f64| samples[((q * samples.len() as f64).ceil() as usize).max(1) - 1] as f64;
        for (got, q) in [(s.p50_ns, 0.5), (s.p99_ns, 0.99), (s.p999_ns, 0.999)] {
            let want = exact(q);
            assert!(
                ((got as f64) - want).abs() <= want * 0.002,
                "q{q}: {got} vs {want}"
            );
        }
        assert_eq!(s.max_ns, *samples.last().unwrap());
        let over: u64 = samples.iter().filter(|v| **v > 100_000).sum();
        let over_ms = over as f64 / 1e6;
        assert!(
            (s.over_100us_ms - over_ms).abs() <= over_ms * 0.002,
            "{} vs {over_ms}",
            s.over_100us_ms
        );
        let mean = samples.iter().map(|v| *v as f64).sum::<f64>() / samples.len() as f64;
        assert!((s.mean_ns - mean).abs() <= mean * 1e-9);
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        let mut h = Latency::new().unwrap();
        for v in 1..=1_000u64 {
            h.record(v * 10);
        }
        let s = h.summary();
        assert_eq!(s.count, 1_000);
        // Each to three significant digits: within 0.1%.
        for (got, want) in [(s.p50_ns, 5_000), (s.p99_ns, 9_900), (s.p999_ns, 9_990)] {
            assert!(got.abs_diff(want) * 1_000 <= want, "{got} vs {want}");
        }
        assert_eq!(s.max_ns, 10_000);
        assert!((s.mean_ns - 5_005.0).abs() < 1e-9);
        assert_eq!(s.over_100us_ms, 0.0);
        assert_eq!(Latency::new().unwrap().summary(), Summary::default());
    }
}
