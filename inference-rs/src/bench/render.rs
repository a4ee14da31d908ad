//! The bench's tables, as Markdown.

use super::{BenchOptions, ModelFigures, CHUNK, ROUNDS};

/// The table, as Markdown.
pub fn render(rows: &[ModelFigures], o: &BenchOptions) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "ash-serve bench: {} predict/bare pairs in {ROUNDS} rounds, every {CHUNK} pairs beside {} Python calls on the same window (alternately first); times: medians over rounds of each round's percentiles; rust/python: drift-normalised (each chunk pair divided by its common speed) [95 % interval from a bootstrap over chunk pairs] and whether Rust is below, above or tied with Python beyond it, all models in the same rounds, {} ticks, {} intra-op thread(s), {:?}\n\n",
        o.iters, 2 * CHUNK, o.ticks, o.config.session.intra_threads, o.config.session.device
    ));
    s.push_str("| model | update ns/tick | predict p50 µs | predict p99 µs | bare run p50 µs | bare run p99 µs | predict/bare p50 | predict/bare p99 | python ort p50 µs | python ort p99 µs | rust/python p50 [95 % CI] | rust/python p99 [95 % CI] | predict CPU p99 µs | python CPU p99 µs |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let na = || "n/a".to_string();
    for r in rows {
        let (py50, py99) = r.python.map_or((na(), na()), |(a, b)| (format!("{a:.1}"), format!("{b:.1}")));
        let (vs50, vs99) = r.vs_python.map_or((na(), na()), |(p50, p99)| (ratio(&p50), ratio(&p99)));
        let py_cpu = r.cpu_p99.1.map_or_else(na, |v| format!("{v:.1}"));
        s.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3}x | {:.3}x | {} | {} | {} | {} | {:.1} | {} |\n",
            r.model,
            r.update_ns,
            r.predict.0,
            r.predict.1,
            r.bare.0,
            r.bare.1,
            r.overhead.0,
            r.overhead.1,
            py50,
            py99,
            vs50,
            vs99,
            r.cpu_p99.0,
            py_cpu
        ));
    }
    if let Some(last) = rows.last() {
        s.push_str(&format!(
            "\nMemory after loading every model: {}; subnormal floats flushed to zero.\n",
            last.huge_pages
        ));
    }
    s.push_str("\nbatched throughput (predictions/s, one ONNX call per batch):\n\n| model |");
    let batches: Vec<usize> = rows.first().map(|r| r.throughput.iter().map(|t| t.0).collect()).unwrap_or_default();
    for b in &batches {
        s.push_str(&format!(" {b} symbols |"));
    }
    s.push_str("\n|---|");
    for _ in &batches {
        s.push_str("---:|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} |", r.model));
        for (_, t) in &r.throughput {
            s.push_str(&format!(" {t:.0} |"));
        }
        s.push('\n');
    }
    s
}

/// "0.981 [0.962, 0.997] below": a paired ratio, its interval and the verdict against 1.
fn ratio(ci: &super::RatioCi) -> String {
    format!("{:.3} [{:.3}, {:.3}] {}", ci.value, ci.low, ci.high, ci.against_one())
}
