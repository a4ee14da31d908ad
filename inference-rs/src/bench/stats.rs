//! Timing and the statistics of the bench: percentiles, and the median of paired ratios with a
//! distribution-free 95 % confidence interval.

use std::hint::black_box;
use std::time::Instant;

use crate::error::Result;

/// CPU time of the calling thread (µs): excludes the time the thread waited for a core.
fn thread_cpu_us() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is always supported on
    // Linux, and on failure `ts` stays zero (the figure is then 0, never undefined).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

/// Wall and thread-CPU time (µs) of one call.
pub(super) fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, f64)> {
    let (t, c) = (Instant::now(), thread_cpu_us());
    black_box(f()?);
    Ok((t.elapsed().as_secs_f64() * 1e6, thread_cpu_us() - c))
}

/// (p50, p99) by nearest rank; NaN for no values.
pub(super) fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    if v.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (at(0.5), at(0.99))
    }
}

/// A ratio with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCi {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl RatioCi {
    /// "below", "tie" or "above" 1, judged on the interval: a side counts only beyond it.
    pub fn against_one(&self) -> &'static str {
        if self.high < 1.0 {
            "below"
        } else if self.low > 1.0 {
            "above"
        } else {
            "tie"
        }
    }
}

/// Two sides' call times, chunk by chunk: chunk i of one side ran right beside chunk i of the
/// other. Why chunks: on a shared machine the speed of a whole stretch of calls moves 2–4×
/// within seconds, so the uncertainty of a comparison lives in the chunks, not in the calls.
#[derive(Debug, Default)]
pub(super) struct PairedChunks {
    first: Vec<Vec<f64>>,
    second: Vec<Vec<f64>>,
}

/// Resamples of the bootstrap over chunks.
const RESAMPLES: usize = 1000;

impl PairedChunks {
    pub(super) fn push(&mut self, first: Vec<f64>, second: Vec<f64>) {
        self.first.push(first);
        self.second.push(second);
    }

    /// first / second of p50 and of p99, drift-normalised, each with the 95 % percentile
    /// interval of a bootstrap that resamples whole chunk pairs. Drift-normalised: every call
    /// of a chunk pair is divided by that pair's common speed (the geometric mean of the two
    /// sides' chunk medians), which both sides share, and the percentiles are taken over the
    /// pooled quotients. Without it a stretch where the machine ran 3× slower would weigh in
    /// the pooled percentiles three times. `None` without chunks.
    pub(super) fn ratios(&self, seed: u64) -> Option<(RatioCi, RatioCi)> {
        let n = self.first.len();
        if n == 0 {
            return None;
        }
        let (first, second): (Vec<Vec<f64>>, Vec<Vec<f64>>) = self
            .first
            .iter()
            .zip(&self.second)
            .map(|(a, b)| {
                let speed = (percentiles(a.clone()).0 * percentiles(b.clone()).0).sqrt();
                let scale = |side: &[f64]| side.iter().map(|v| v / speed).collect::<Vec<f64>>();
                (scale(a), scale(b))
            })
            .unzip();
        let pooled = |pick: &mut dyn FnMut() -> usize| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let k = pick();
                a.extend_from_slice(&first[k]);
                b.extend_from_slice(&second[k]);
            }
            let ((a50, a99), (b50, b99)) = (percentiles(a), percentiles(b));
            (a50 / b50, a99 / b99)
        };
        let mut next = 0;
        let (p50, p99) = pooled(&mut || {
            next += 1;
            next - 1
        });
        let mut rng = crate::contract::synthetic::Rng::new(seed);
        let (mut r50, mut r99): (Vec<f64>, Vec<f64>) =
            (0..RESAMPLES).map(|_| pooled(&mut || rng.int(0, n as i64) as usize)).unzip();
        let interval = |v: &mut Vec<f64>, value: f64| {
            v.sort_by(f64::total_cmp);
            let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
            RatioCi { value, low: at(0.025), high: at(0.975) }
        };
        Some((interval(&mut r50, p50), interval(&mut r99, p99)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(first: &[f64], second: &[f64], n: usize) -> PairedChunks {
        let mut paired = PairedChunks::default();
        for k in 0..n {
            // Each chunk pair shares a machine speed: 1, 2, 3 or 4 times slower.
            let speed = 1.0 + (k % 4) as f64;
            paired.push(first.iter().map(|v| v * speed).collect(), second.iter().map(|v| v * speed).collect());
        }
        paired
    }

    #[test]
    fn a_constant_ratio_survives_the_machine_drift_with_a_narrow_interval() {
        let (p50, p99) = chunks(&[90.0, 91.0, 92.0, 93.0], &[100.0, 101.0, 102.0, 103.0], 40).ratios(1).unwrap();
        assert!(p50.value < 0.92 && p50.high < 1.0, "{p50:?}");
        assert_eq!(p50.against_one(), "below");
        assert!(p99.low <= p99.value && p99.value <= p99.high, "{p99:?}");
    }

    #[test]
    fn equal_sides_tie_and_a_slower_first_side_is_above() {
        let same = [100.0, 110.0, 120.0];
        assert_eq!(chunks(&same, &same, 30).ratios(2).unwrap().0.against_one(), "tie");
        let slower = [130.0, 140.0, 150.0];
        assert_eq!(chunks(&slower, &same, 30).ratios(3).unwrap().0.against_one(), "above");
    }

    #[test]
    fn no_chunks_no_ratio() {
        assert!(PairedChunks::default().ratios(4).is_none());
    }
}
