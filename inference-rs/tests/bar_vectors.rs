//! The language-neutral bar vectors (tests/vectors/bars/*.json): every case, every bar, every
//! count, replayed tick by tick through the streaming builder.

use std::path::{Path, PathBuf};

use ash_runtime::bars::columns::{column_index, context_index, N_ALL, N_OPTION, OPTION_COLUMNS};
use ash_runtime::bars::{BarBuilder, BarSpec, ContextFeed, Event, Reject};
use serde_json::Value;

/// Largest difference tolerated, relative to max(1, |expected|): bars match bit for bit.
const TOLERANCE: f64 = 0.0;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/bars")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        Value::Null => f64::NAN,
        other => panic!("not a number: {other}"),
    }
}

struct Owned {
    kind: String,
    ts: Option<i64>,
    x: [f64; 4],
    surface: [f64; N_OPTION],
}

fn parse_event(e: &Value) -> Owned {
    let kind = e["kind"].as_str().unwrap().to_string();
    let ts = e["ts_ns"].as_i64();
    let f = |k: &str| e.get(k).map(num).unwrap_or(f64::NAN);
    let x = match kind.as_str() {
        "trade" => [f("price"), f("size"), e.get("side").map(num).unwrap_or(0.0), f64::NAN],
        "quote" => [f("bid"), f("ask"), f("bid_size"), f("ask_size")],
        _ => [f64::NAN; 4],
    };
    let mut surface = [f64::NAN; N_OPTION];
    if let Some(values) = e.get("values").and_then(Value::as_object) {
        for (i, name) in OPTION_COLUMNS.iter().enumerate() {
            surface[i] = values.get(*name).map(num).unwrap_or(f64::NAN);
        }
    }
    Owned { kind, ts, x, surface }
}

fn to_event(o: &Owned) -> Result<Event<'_>, String> {
    Ok(match o.kind.as_str() {
        "trade" => Event::Trade { ts: o.ts, price: o.x[0], size: o.x[1], side: o.x[2] },
        "quote" => Event::Quote { ts: o.ts, bid: o.x[0], ask: o.x[1], bid_size: o.x[2], ask_size: o.x[3] },
        "surface" => Event::Surface { ts: o.ts, values: &o.surface },
        other => return Err(format!("unknown kind {other}")),
    })
}

fn run_case(path: &Path) -> Result<(), String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = &case["spec"];
    let spec = BarSpec::new(
        s["seconds"].as_f64().unwrap(),
        s["timezone"].as_str().unwrap(),
        s["gap_seconds"].as_f64().unwrap(),
        s["session"].as_str(),
        s["gap_policy"].as_str().unwrap(),
    )
    .map_err(|e| format!("spec: {e}"))?;
    // A column is a row index of the symbol's own bar, or (ctx_*) N_ALL + its context index.
    let columns: Vec<usize> = case["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let c = c.as_str().unwrap();
            column_index(c).or_else(|| context_index(c).map(|k| N_ALL + k)).unwrap()
        })
        .collect();
    // The context symbol's events build its own bars first (the lookup rules, not the
    // streaming wait, are what this vector pins down; tests/context_symbol.rs covers that).
    let mut context = case.get("context_events").map(|events| {
        let mut feed = ContextFeed::new("CTX", spec.clone(), 1);
        for e in events.as_array().unwrap() {
            let o = parse_event(e);
            let _ = feed.push(&to_event(&o).unwrap());
        }
        feed.finish();
        feed
    });
    let mut builder = BarBuilder::new(spec);
    let mut bars: Vec<(i64, [f64; N_ALL])> = Vec::new();
    let mut segment_starts = Vec::new();
    let mut sink = |row: ash_runtime::bars::BarRow<'_>| {
        if row.segment_start {
            segment_starts.push(bars.len() as i64);
        }
        bars.push((row.ts, *row.values));
    };
    for e in case["events"].as_array().unwrap() {
        let o = parse_event(e);
        let _ = builder.push(&to_event(&o)?, &mut sink);
    }
    builder.finish(&mut sink);

    let expected = &case["expected"];
    let mut problems = Vec::new();
    let stats = builder.stats().clone();
    let acc = &expected["accepted"];
    let got_acc = [stats.accepted_trades, stats.accepted_quotes, stats.accepted_surface];
    let want_acc = ["trades", "quotes", "surface"].map(|k| acc[k].as_u64().unwrap());
    if got_acc != want_acc {
        problems.push(format!("accepted {got_acc:?} != {want_acc:?}"));
    }
    for reason in Reject::ALL {
        let want = expected["rejected"][reason.name()].as_u64().unwrap();
        if stats.rejected(reason) != want {
            problems.push(format!("rejected {}: {} != {want}", reason.name(), stats.rejected(reason)));
        }
    }
    let want_segments: Vec<i64> =
        expected["segment_starts"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    if segment_starts != want_segments {
        problems.push(format!("segment_starts {segment_starts:?} != {want_segments:?}"));
    }
    let want_bars = expected["bars"].as_array().unwrap();
    if want_bars.len() != bars.len() {
        problems.push(format!("{} bars, expected {}", bars.len(), want_bars.len()));
    }
    if let Some(ctx) = &context {
        let want = expected["context_bars"].as_u64().unwrap() as usize;
        if ctx.bars() != want {
            problems.push(format!("context bars {} != {want}", ctx.bars()));
        }
        for reason in Reject::ALL {
            let want = expected["context_rejected"][reason.name()].as_u64().unwrap();
            if ctx.stats().rejected(reason) != want {
                problems.push(format!(
                    "context rejected {}: {} != {want}",
                    reason.name(),
                    ctx.stats().rejected(reason)
                ));
            }
        }
    }
    let names = case["columns"].as_array().unwrap();
    for (i, (want, (ts, row))) in want_bars.iter().zip(&bars).enumerate() {
        if want["ts_ns"].as_i64().unwrap() != *ts {
            problems.push(format!("bar {i}: ts {ts} != {}", want["ts_ns"]));
        }
        let ctx_values = context.as_mut().map(|c| c.lookup(*ts));
        for (c, (src, w)) in columns.iter().zip(want["values"].as_array().unwrap()).enumerate() {
            let g = match (*src).checked_sub(N_ALL) {
                None => row[*src],
                Some(k) => ctx_values.map_or(f64::NAN, |v| v[k]),
            };
            let w = num(w);
            if (g - w).abs() > TOLERANCE * w.abs().max(1.0) || g.is_nan() != w.is_nan() {
                problems.push(format!("bar {i} ({ts}) column {}: {g} != {w}", names[c]));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

#[test]
fn every_bar_vector_matches() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("tests/vectors/bars exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no vectors found in {}", vectors_dir().display());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| run_case(p).err().map(|e| format!("{}:\n  {e}", p.file_name().unwrap().to_string_lossy())))
        .collect();
    assert!(failures.is_empty(), "{} of {} vectors differ:\n{}", failures.len(), paths.len(), failures.join("\n"));
}
