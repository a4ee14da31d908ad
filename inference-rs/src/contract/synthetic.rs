//! Realistic synthetic bar windows, the "valid inputs" of the contract's run checks
//! (docs/contract.md §6; the Rust twin of `ash.export.synthetic`). Prices on a 1-cent lattice,
//! bid < ask, OHLC inside the quotes, integer volumes with buy + sell = volume, and so on. Python
//! draws the same SplitMix64 stream in the same order and builds the same windows bit for bit;
//! the contract fixtures carry Python's windows and `tests/contract_fixtures.rs` compares them.

use crate::bars::columns::CORE_COLUMNS;

const TICK: f64 = 0.01;
const SESSION_START_SECONDS: f64 = 10.0 * 3600.0;

/// A small deterministic generator (SplitMix64): reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in [lo, hi).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo).max(1) as u64) as i64
    }
}

/// Per-bar core series for one window.
struct Path {
    cols: [Vec<f64>; 15],
}

/// The price/volume/quote columns this generator fills: the bar set's first 15 (through
/// `ask_size`); `session_start` and `time_of_day` are handled on their own.
const CORE: &[&str] = CORE_COLUMNS.split_at(15).0;

fn path(rng: &mut Rng, window: usize) -> Path {
    let mut cols: [Vec<f64>; 15] = Default::default();
    for c in cols.iter_mut() {
        c.reserve(window);
    }
    let steps = [-2, -1, 0, 0, 0, 0, 1, 2];
    let mut mid2 = 2 * rng.int(10_000, 50_000); // mid in half ticks: $100 - $500
    for _ in 0..window {
        mid2 += steps[rng.int(0, 8) as usize];
        let spread = rng.int(1, 4);
        let bid_t = ((mid2 - spread) as f64 / 2.0).floor() as i64;
        let ask_t = bid_t + spread;
        let inside = |rng: &mut Rng| (bid_t + rng.int(0, spread + 1)) as f64 * TICK;
        let (o, c, h, l) = (inside(rng), inside(rng), inside(rng), inside(rng));
        let high = o.max(c).max(h);
        let low = o.min(c).min(l);
        let count = rng.int(0, 40) as f64;
        let volume = count * rng.int(1, 5) as f64 * 100.0;
        let buy = (volume * rng.uniform()).floor();
        let vwap = (((o + c) / 2.0 / TICK).round_ties_even() * TICK).clamp(low, high); // NumPy's round
        let (bid, ask) = (bid_t as f64 * TICK, ask_t as f64 * TICK);
        let row = [
            o,
            high,
            low,
            c,
            vwap,
            volume,
            buy,
            volume - buy,
            count,
            bid,
            ask,
            (bid + ask) / 2.0,
            ask - bid,
            rng.int(1, 50) as f64 * 100.0,
            rng.int(1, 50) as f64 * 100.0,
        ];
        for (col, v) in cols.iter_mut().zip(row) {
            col.push(v);
        }
    }
    Path { cols }
}

fn core_value(p: &Path, name: &str, t: usize) -> Option<f64> {
    CORE.iter().position(|c| *c == name).map(|i| p.cols[i][t])
}

/// Float32 `[batch, window, columns.len()]` realistic bars, oldest first; deterministic.
pub fn synthetic_bars(columns: &[String], window: usize, batch: usize, bar_seconds: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let n = columns.len();
    let mut out = vec![0f32; batch * window * n];
    for b in 0..batch {
        let core = path(&mut rng, window);
        let ctx = path(&mut rng, window);
        let iv: Vec<f64> = (0..n).map(|_| 0.1 + 0.4 * rng.uniform()).collect();
        for t in 0..window {
            for (c, name) in columns.iter().enumerate() {
                let v = if let Some(v) = core_value(&core, name, t) {
                    v
                } else if let Some(v) = name.strip_prefix("ctx_").and_then(|base| core_value(&ctx, base, t)) {
                    v
                } else if name == "session_start" {
                    if t == 0 {
                        1.0
                    } else {
                        0.0
                    }
                } else if name == "time_of_day" {
                    SESSION_START_SECONDS + t as f64 * bar_seconds
                } else if name.starts_with("atm_iv_") || name.starts_with("iv_") {
                    iv[c]
                } else if name.ends_with("_ratio") {
                    0.7 + 0.6 * rng.uniform()
                } else if name == "term_slope" {
                    -0.05 + 0.1 * rng.uniform()
                } else if name.starts_with("oi_") {
                    -1e5 + 2e5 * rng.uniform()
                } else {
                    0.5 + rng.uniform()
                };
                out[(b * window + t) * n + c] = v as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_on_the_lattice_and_inside_the_quotes() {
        let cols: Vec<String> = CORE.iter().map(|s| s.to_string()).chain(["session_start".into()]).collect();
        let bars = synthetic_bars(&cols, 32, 4, 1.0, 7);
        let n = cols.len();
        for row in bars.chunks(n) {
            let (low, high, bid, ask) = (row[2], row[1], row[9], row[10]);
            assert!(bid < ask && low >= bid - 1e-3 && high <= ask + 1e-3 && low <= high);
            assert!((row[6] + row[7] - row[5]).abs() < 1e-3);
        }
        assert_eq!(bars, synthetic_bars(&cols, 32, 4, 1.0, 7));
    }
}
