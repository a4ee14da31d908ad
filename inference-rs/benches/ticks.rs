//! `cargo bench`: the bar builder's cost per tick, without ONNX Runtime (a hand-rolled harness:
//! criterion's compile time is not worth it on this project's shared 2-core machines). The full
//! table with models is `ash-serve bench` (docs/runtime.md).

use std::hint::black_box;
use std::time::Instant;

use ash_runtime::bars::{BarBuilder, BarRow, BarSpec, ColumnMap, GapPolicy, WindowRing};
use ash_runtime::bench::synthetic_ticks;

fn main() {
    let spec = match BarSpec::new(1.0, "America/New_York", 300.0, None, "reset") {
        Ok(s) => s,
        Err(e) => return eprintln!("bench: {e}"),
    };
    let columns: Vec<String> = ash_runtime::bars::columns::CORE_COLUMNS.iter().map(|c| c.to_string()).collect();
    let Ok(map) = ColumnMap::new(&columns) else { return };
    let ticks = synthetic_ticks(1_000_000, 1_000_000_000, 11, 1_381_154_400_000_000_000);
    // Median over chunks of 10 000 ticks: a chunk (~0.3 ms) usually escapes the descheduling
    // that a loaded, shared machine inflicts on longer runs (same method as `ash-serve bench`).
    let mut builder = BarBuilder::new(spec);
    let mut ring = WindowRing::new(64, columns.len(), GapPolicy::Reset);
    let mut per_tick = Vec::new();
    for chunk in ticks.chunks(10_000) {
        let start = Instant::now();
        for e in chunk {
            let mut sink = |row: BarRow<'_>| ring.push(&row, &map);
            let _ = black_box(builder.push(black_box(e), &mut sink));
        }
        per_tick.push(start.elapsed().as_secs_f64() * 1e9 / chunk.len() as f64);
    }
    per_tick.sort_by(f64::total_cmp);
    let at = |q: f64| per_tick[((per_tick.len() - 1) as f64 * q).round() as usize];
    println!(
        "bar builder + window ring: {:.1} ns/tick median, {:.1} p10, {:.1} p90 over {} chunks of 10 000 ticks",
        at(0.5),
        at(0.1),
        at(0.9),
        per_tick.len()
    );
}
