//! A fixed-size latency histogram: log-linear buckets with 64 steps per
//! doubling (under 1.6% error), exact below 128 ns, so recording a
//! million samples costs no allocation and a few kilobytes.

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for values up to 2^40 ns (about 18 minutes).
const BUCKETS: usize = ((40 - SUB_BITS as usize) + 2) * SUB as usize;

/// Counts of nanosecond samples.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u128,
    max: u64,
}

/// What a histogram says, in nanoseconds.
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
    /// Largest sample (exact).
    pub max_ns: u64,
    /// Sum of the samples over 100 µs: the time spent waiting on back-pressure.
    pub over_100us_ms: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    (shift as usize * SUB as usize + (v >> shift) as usize).min(BUCKETS - 1)
}

/// The middle of bucket `i`'s range.
fn value(i: usize) -> u64 {
    if i < 2 * SUB as usize {
        return i as u64;
    }
    let shift = (i / SUB as usize - 1) as u32;
    let low = ((i as u64 % SUB) + SUB) << shift;
    low + (1u64 << shift) / 2
}

impl Histogram {
    /// Records one sample of `ns` nanoseconds.
    pub fn record(&mut self, ns: u64) {
        self.counts[index(ns)] += 1;
        self.count += 1;
        self.sum += u128::from(ns);
        self.max = self.max.max(ns);
    }

    /// The sample at quantile `q` (0..=1), to the bucket's precision.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).min(self.max);
            }
        }
        self.max
    }

    /// Mean, percentiles and max.
    pub fn summary(&self) -> Summary {
        let over: u128 = self
            .counts
            .iter()
            .enumerate()
            .filter(|(i, _)| value(*i) > 100_000)
            .map(|(i, c)| u128::from(value(i)) * u128::from(*c))
            .sum();
        Summary {
            count: self.count,
            mean_ns: if self.count == 0 {
                0.0
            } else {
                self.sum as f64 / self.count as f64
            },
            p50_ns: self.quantile(0.50),
            p99_ns: self.quantile(0.99),
            p999_ns: self.quantile(0.999),
            max_ns: self.max,
            over_100us_ms: over as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_continuous_and_tight() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            1_000,
            4_095,
            4_096,
            1 << 20,
            123_456_789,
            1 << 39,
        ] {
            let i = index(v);
            assert!(i >= last, "{v}");
            last = i;
            let back = value(i) as f64;
            assert!(
                (back - v as f64).abs() <= (v as f64 * 0.016).max(0.5),
                "{v} -> {back}"
            );
        }
    }

    #[test]
    fn percentiles() {
        let mut h = Histogram::default();
        for v in 1..=1_000u64 {
            h.record(v * 10);
        }
        let s = h.summary();
        assert_eq!(s.count, 1_000);
        assert!((s.p50_ns as f64 - 5_000.0).abs() < 100.0, "{s:?}");
        assert!((s.p99_ns as f64 - 9_900.0).abs() < 200.0, "{s:?}");
        assert_eq!(s.max_ns, 10_000);
        assert!((s.mean_ns - 5_005.0).abs() < 1e-9);
    }
}
