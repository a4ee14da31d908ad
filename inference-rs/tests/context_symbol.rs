//! Serving a model with a context symbol (`ash.context_symbol`, `ctx_*` columns): the context's
//! ticks build its own bars, every served bar's ctx columns follow Python's rules (bar at or
//! before for prices, exact bar for volumes, first bar before it starts), a served bar waits
//! until the context's clock has passed it, and late or missing context ticks are defined.

mod common;

use ash_runtime::bars::columns::{CORE_COLUMNS, N_CORE};
use ash_runtime::bars::{Event, Reject};
use ash_runtime::{PredictorConfig, PricePredictor, Tick, TickError};

const START: i64 = 1_381_154_400_000_000_000; // 2013-10-07 10:00 New York
const S: i64 = 1_000_000_000;
const MODEL: &str = "w8_c22_h2_k3_ctx.onnx"; // core columns + ctx_*, context symbol "IDX"
const CTX: &str = "IDX";

fn predictor(symbols: Option<Vec<String>>) -> PricePredictor {
    let path = common::fixtures().join("valid").join(MODEL);
    PricePredictor::new(path, PredictorConfig { ort_lib: Some(common::ort_lib()), symbols, ..Default::default() })
        .expect("fixture model loads")
}

fn trade(ts: i64, price: f64, size: f64) -> Event<'static> {
    Event::Trade { ts: Some(ts), price, size, side: 1.0 }
}

fn idx_price(k: i64) -> f64 {
    4000.0 + k as f64 * 0.25
}

#[test]
fn ctx_columns_follow_the_context_bars_and_wait_for_its_clock() {
    let mut p = predictor(None);
    p.capture_bars(true);
    assert_eq!(p.context().map(|c| c.symbol()), Some(CTX));
    let mut released = Vec::new();
    // A trades every second at +0.1 s; IDX starts at second 3 and trades at +0.5 s, except
    // second 12 (an empty context bar: prices carried, volumes 0).
    for k in 0..30 {
        let u = p.update(&Tick { symbol: "A", event: trade(START + k * S + S / 10, 100.0 + k as f64 * 0.01, 10.0) });
        let u = u.unwrap();
        if u.bars_closed > 0 && k >= 4 {
            assert!(!u.ready, "second {k}: A's newest bar waits for IDX's bar of the same second");
        }
        if k >= 3 && k != 12 {
            p.update(&Tick { symbol: CTX, event: trade(START + k * S + S / 2, idx_price(k), k as f64) }).unwrap();
        }
        p.take_released(|s| released.push((k, s.to_string())));
    }
    // A gets ready at its 8th bar; from then on every IDX tick releases it (except after the
    // empty second, when the next IDX tick releases it).
    assert!(released.iter().all(|(_, s)| s == "A"));
    assert_eq!(released.first().map(|r| r.0), Some(8));
    assert!(p.is_ready("A"));

    let bars: Vec<(String, i64, Vec<f64>)> = p.drain_bars().into_iter().filter(|b| b.0 == "A").collect();
    assert_eq!(bars.len(), 29, "A's bars 0..=28 are final and covered (bar 29 is open)");
    let ctx = |row: &Vec<f64>| row[N_CORE..].to_vec();
    for (_, ts, row) in &bars {
        let k = (ts - START) / S;
        let want = match k {
            0..=2 => vec![idx_price(3), idx_price(3), 0.0, 0.0, 0.0], // before IDX's first bar
            12 => vec![idx_price(11), idx_price(11), 0.0, 0.0, 0.0],  // IDX's empty bar
            _ => vec![idx_price(k), idx_price(k), k as f64, k as f64, 0.0],
        };
        assert_eq!(ctx(row), want, "A's bar {k}");
        assert_eq!(row[3], 100.0 + k as f64 * 0.01, "A's own close");
    }
    // The served window is exactly those bars (as f32), ctx columns included.
    let window: Vec<f32> = bars[bars.len() - 8..].iter().flat_map(|b| b.2.iter().map(|v| *v as f32)).collect();
    let (probs, _) = p.run_raw(&window, 1).unwrap();
    let served = p.predict("A").unwrap();
    assert_eq!(served.bar_ts, START + 28 * S);
    assert_eq!(served.horizons[0].probs, probs[..3]);
    assert_eq!(CORE_COLUMNS.len(), N_CORE);
}

#[test]
fn the_context_symbol_is_served_too_unless_the_symbol_list_leaves_it_out() {
    let mut both = predictor(None);
    let mut only_a = predictor(Some(vec!["A".into()]));
    for p in [&mut both, &mut only_a] {
        for k in 0..12 {
            for sym in ["A", CTX] {
                p.update(&Tick { symbol: sym, event: trade(START + k * S, 100.0, 1.0) }).unwrap();
            }
        }
        assert!(p.is_ready("A"));
    }
    assert!(both.is_ready(CTX), "the context symbol is served when no symbol list is given");
    assert_eq!(both.symbols().collect::<Vec<_>>(), vec!["A", CTX]);
    assert!(!only_a.is_ready(CTX));
    assert_eq!(only_a.symbols().collect::<Vec<_>>(), vec!["A"]);
    assert_eq!(only_a.context().map(|c| c.stats().accepted_trades), Some(12));
    // Its own ctx columns are its own bars (as Python builds them when it is also in data.symbols).
    both.capture_bars(true);
    both.update(&Tick { symbol: CTX, event: trade(START + 12 * S, 101.0, 3.0) }).unwrap();
    both.update(&Tick { symbol: CTX, event: trade(START + 13 * S, 101.0, 3.0) }).unwrap();
    for (sym, _, row) in both.drain_bars() {
        assert_eq!(sym, CTX);
        assert_eq!(row[N_CORE..], [row[3], row[11], row[5], row[6], row[7]]);
    }
}

#[test]
fn late_context_ticks_are_rejected_and_a_silent_context_holds_predictions_back() {
    let mut p = predictor(None);
    for k in 0..12 {
        p.update(&Tick { symbol: CTX, event: trade(START + k * S, 4000.0, 1.0) }).unwrap();
    }
    let late = p.update(&Tick { symbol: CTX, event: trade(START + 5 * S, 1.0, 1.0) });
    assert_eq!(late.unwrap_err(), TickError::Rejected(Reject::Late));
    assert_eq!(p.context().map(|c| c.stats().rejected(Reject::Late)), Some(1));
    // A runs ahead of a silent context: its bars past the context's clock are not ready.
    for k in 0..20 {
        p.update(&Tick { symbol: "A", event: trade(START + k * S, 100.0, 1.0) }).unwrap();
    }
    assert!(!p.is_ready("A"));
    let err = p.predict("A").unwrap_err().to_string();
    assert!(err.contains("waits for the context symbol \"IDX\""), "{err}");
    assert_eq!(p.context().map(|c| c.waiting()), Some(1));
    // A clock line moves every builder, the context first: A is ready again.
    let mut closed = Vec::new();
    p.advance(START + 20 * S, |s| closed.push(s.to_string()));
    let mut released = Vec::new();
    p.take_released(|s| released.push(s.to_string()));
    assert_eq!(released, vec!["A"]);
    assert!(p.is_ready("A"));
    assert_eq!(p.predict("A").unwrap().bar_ts, START + 19 * S);
}
