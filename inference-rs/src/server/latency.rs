//! Latency statistics of ONNX Runtime calls in fixed memory: two HDR histograms (since start
//! and since the last log line), 3 significant digits from 1 µs to 1 hour, whatever the rate.

use hdrhistogram::Histogram;

const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 3_600_000_000;
const SIGFIG: u8 = 3;

#[derive(Debug, Clone)]
pub struct LatencyStats {
    all: Histogram<u64>,
    recent: Histogram<u64>,
}

// The bounds are constants inside hdrhistogram's documented range (a unit test builds them), so
// creation cannot fail at run time.
#[allow(clippy::expect_used)]
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("constant histogram bounds are valid")
}

impl Default for LatencyStats {
    fn default() -> Self {
        LatencyStats { all: histogram(), recent: histogram() }
    }
}

/// Percentiles of one histogram, in µs (NaN when empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles { count: 0, p50: f64::NAN, p90: f64::NAN, p99: f64::NAN, p999: f64::NAN, max: f64::NAN };
    }
    let q = |q: f64| h.value_at_quantile(q) as f64;
    Percentiles { count: h.len(), p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: h.max() as f64 }
}

impl LatencyStats {
    /// Record one call of `micros` µs (clamped into the histogram's range).
    pub fn record(&mut self, micros: f64) {
        let v = (micros.round().max(0.0) as u64).clamp(LOWEST_US, HIGHEST_US);
        self.all.saturating_record(v);
        self.recent.saturating_record(v);
    }

    pub fn all(&self) -> Percentiles {
        percentiles(&self.all)
    }

    /// Percentiles since the last call, then start a new period.
    pub fn take_recent(&mut self) -> Percentiles {
        let p = percentiles(&self.recent);
        self.recent.reset();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_fixed_and_percentiles_are_close() {
        let mut s = LatencyStats::default();
        let before = s.all.distinct_values();
        for i in 1..=100_000u64 {
            s.record(i as f64);
        }
        assert_eq!(s.all.distinct_values(), before, "the histogram never grows");
        let p = s.all();
        assert_eq!(p.count, 100_000);
        assert!((p.p50 - 50_000.0).abs() / 50_000.0 < 1e-3, "{p:?}");
        assert!((p.p99 - 99_000.0).abs() / 99_000.0 < 1e-3, "{p:?}");
        assert_eq!(s.take_recent().count, 100_000);
        assert_eq!(s.take_recent().count, 0);
        assert_eq!(s.all().count, 100_000);
        s.record(1e12); // beyond the range: clamped, not lost
        assert_eq!(s.all().count, 100_001);
    }
}
