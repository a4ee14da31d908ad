//! Decoding contract outputs into summaries (docs/contract.md §4, the twin of
//! `ash.export.decode`): effective edges, mean in bps, quantiles by CDF interpolation,
//! P(up/flat/down).
//!
//! "Flat" is the bucket a zero return falls into (buckets are half-open `[e[k], e[k+1])`, so the
//! bucket with `e[k] <= 0 < e[k+1]`); its whole mass is P(flat) and it is not split. P(up) is
//! the mass of the buckets above it, P(down) of those below (the one definition of
//! `ash.decoding`, shared with the evaluator and its P&L simulation).

/// Quantile levels reported by default (decode.py `DEFAULT_QUANTILES`).
pub const DEFAULT_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The decoded distribution of one horizon.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub mean_bps: f64,
    pub p_up: f64,
    pub p_flat: f64,
    pub p_down: f64,
    /// `(level, value in bps)` in the order of the requested levels.
    pub quantiles: Vec<(f64, f64)>,
}

/// Replace the ±10000 sentinels by the inner edge ∓ the adjacent inner bucket's width (1 bp if
/// K = 2), writing into `out` (length `edges.len()`).
pub fn effective_edges(edges: &[f32], out: &mut [f64]) {
    let k = edges.len().saturating_sub(1);
    if k < 2 || out.len() != edges.len() {
        return;
    }
    for (o, e) in out.iter_mut().zip(edges) {
        *o = f64::from(*e);
    }
    let (w_lo, w_hi) = if k > 2 { (out[2] - out[1], out[k - 1] - out[k - 2]) } else { (1.0, 1.0) };
    out[0] = out[1] - w_lo;
    out[k] = out[k - 1] + w_hi;
}

/// The q-quantile of the piecewise-uniform distribution on effective edges `f`.
pub fn quantile(probs: &[f32], f: &[f64], q: f64) -> f64 {
    let mut cdf = 0.0;
    for (k, p) in probs.iter().map(|p| f64::from(*p)).enumerate() {
        if cdf + p >= q && p > 0.0 {
            return f[k] + (q - cdf) / p * (f[k + 1] - f[k]);
        }
        cdf += p;
    }
    f.last().copied().unwrap_or(f64::NAN)
}

/// Decode one row: `probs[K]` and `edges[K + 1]`; `scratch` holds K + 1 effective edges.
pub fn summarize_into(probs: &[f32], edges: &[f32], levels: &[f64], scratch: &mut Vec<f64>, out: &mut Summary) {
    scratch.clear();
    scratch.resize(edges.len(), 0.0);
    effective_edges(edges, scratch);
    let f = &scratch[..];
    let (mut mean, mut up, mut flat, mut down) = (0.0, 0.0, 0.0, 0.0);
    for (k, p) in probs.iter().map(|p| f64::from(*p)).enumerate() {
        mean += p * (f[k] + f[k + 1]) / 2.0;
        // The contract's own edges (sentinels included) decide the side, as in ash.decoding.
        if edges[k] > 0.0 {
            up += p;
        } else if edges[k + 1] <= 0.0 {
            down += p;
        } else {
            flat += p;
        }
    }
    out.mean_bps = mean;
    out.p_up = up;
    out.p_flat = flat;
    out.p_down = down;
    out.quantiles.clear();
    out.quantiles.extend(levels.iter().map(|q| (*q, quantile(probs, f, *q))));
}

/// Decode one row into a new summary.
pub fn summarize(probs: &[f32], edges: &[f32], levels: &[f64]) -> Summary {
    let mut out =
        Summary { mean_bps: 0.0, p_up: 0.0, p_flat: 0.0, p_down: 0.0, quantiles: Vec::with_capacity(levels.len()) };
    summarize_into(probs, edges, levels, &mut Vec::with_capacity(edges.len()), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_distribution_has_zero_mean_and_median() {
        let probs = [0.1f32, 0.2, 0.4, 0.2, 0.1];
        let edges = [-10000.0f32, -3.0, -1.0, 1.0, 3.0, 10000.0];
        let s = summarize(&probs, &edges, &DEFAULT_QUANTILES);
        assert!(s.mean_bps.abs() < 1e-6);
        // The central bucket [-1, 1) holds a zero return: P(flat), not split between the sides.
        assert!((s.p_up - 0.3).abs() < 1e-6 && (s.p_down - 0.3).abs() < 1e-6);
        assert!((s.p_flat - 0.4).abs() < 1e-6);
        assert!(s.quantiles[2].1.abs() < 1e-6);
        // effective outer edges: -3 - 2 = -5 and 3 + 2 = 5; 5 % quantile lies in bucket 0.
        assert!((s.quantiles[0].1 - (-5.0 + 0.05 / 0.1 * 2.0)).abs() < 1e-6);
    }

    #[test]
    fn two_buckets_use_one_bp_outer_width() {
        let s = summarize(&[0.25, 0.75], &[-10000.0, 0.5, 10000.0], &[0.5]);
        // f = [-0.5, 0.5, 1.5]
        assert!((s.mean_bps - (0.25 * 0.0 + 0.75 * 1.0)).abs() < 1e-9);
        // (-inf, 0.5) holds a zero return: flat; [0.5, inf) is up.
        assert!((s.p_up - 0.75).abs() < 1e-9 && (s.p_flat - 0.25).abs() < 1e-9 && s.p_down == 0.0);
    }

    #[test]
    fn an_edge_at_zero_makes_the_bucket_above_it_flat() {
        let s = summarize(&[0.1, 0.2, 0.3, 0.4], &[-10000.0, -2.0, 0.0, 2.0, 10000.0], &[]);
        assert!((s.p_down - 0.3).abs() < 1e-6 && (s.p_flat - 0.3).abs() < 1e-6 && (s.p_up - 0.4).abs() < 1e-6);
    }

    #[test]
    fn quantile_above_the_total_mass_returns_the_last_edge() {
        let f = [-2.0, 0.0, 2.0];
        assert_eq!(quantile(&[0.5, 0.4], &f, 0.95), 2.0);
    }
}
