//! PricePredictor behaviour: one batched call equals per-symbol calls, the streaming window
//! equals the raw-window path, errors name the symbol, unknown symbols are refused.

mod common;

use ash_runtime::bars::Event;
use ash_runtime::bench::synthetic_ticks;
use ash_runtime::{Error, PredictorConfig, PricePredictor, Tick, TickError};

const START: i64 = 1_381_154_400_000_000_000;

fn predictor(model: &str, symbols: Option<Vec<String>>) -> PricePredictor {
    let path = common::fixtures().join("valid").join(model);
    PricePredictor::new(path, PredictorConfig { ort_lib: Some(common::ort_lib()), symbols, ..Default::default() })
        .expect("fixture model loads")
}

fn feed(p: &mut PricePredictor, symbol: &str, seed: u64, n: usize) {
    for e in synthetic_ticks(n, 1_000_000_000, seed, START) {
        let _ = p.update(&Tick { symbol, event: e });
    }
}

#[test]
fn batch_equals_single_predictions_and_summaries_are_consistent() {
    let mut p = predictor("w8_c17_h3_k5.onnx", None);
    let symbols = ["A", "B", "C"];
    for (k, s) in symbols.iter().enumerate() {
        feed(&mut p, s, k as u64 + 10, 200);
    }
    let batch = p.predict_batch(&symbols).unwrap();
    for (s, b) in symbols.iter().zip(&batch) {
        let single = p.predict(s).unwrap();
        assert_eq!(&single.symbol, s);
        for (x, y) in single.horizons.iter().zip(&b.horizons) {
            let diff = x.probs.iter().zip(&y.probs).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(diff <= 1e-6, "{s}: batch vs single differ by {diff}");
            assert!((x.summary.p_up + x.summary.p_flat + x.summary.p_down - 1.0).abs() < 1e-4);
            let q: Vec<f64> = x.summary.quantiles.iter().map(|q| q.1).collect();
            assert!(q.windows(2).all(|w| w[0] <= w[1]), "quantiles must be ordered: {q:?}");
        }
    }
    assert_ne!(batch[0].horizons[0].probs, batch[1].horizons[0].probs, "different windows, different outputs");
}

#[test]
fn streaming_window_equals_the_raw_window_path() {
    let mut p = predictor("w4_c5_h1_k2.onnx", None);
    // 5 s bars: trades every second, so each bar aggregates five trades.
    for k in 0..40i64 {
        let e = Event::Trade {
            ts: Some(START + k * 1_000_000_000),
            price: 100.0 + (k % 7) as f64 * 0.01,
            size: 100.0,
            side: 0.0,
        };
        p.update(&Tick { symbol: "X", event: e }).unwrap();
    }
    let streamed = p.predict("X").unwrap();
    // Rebuild the same window by hand: columns mid, close, volume, spread, session_start.
    let mut window = Vec::new();
    let last_bar = (39 / 5) - 1; // bar 7 is still open; bars 3..=6 are the last four finished
    for bar in (last_bar - 3)..=last_bar {
        let close = 100.0 + ((bar * 5 + 4) % 7) as f64 * 0.01;
        window.extend([close as f32, close as f32, 500.0, 0.0, if bar == 0 { 1.0 } else { 0.0 }]);
    }
    let (probs, _) = p.run_raw(&window, 1).unwrap();
    assert_eq!(streamed.horizons[0].probs, probs);
    assert_eq!(streamed.bar_ts, START + last_bar * 5_000_000_000);
}

#[test]
fn errors_name_the_problem() {
    let mut p = predictor("w8_c17_h3_k5.onnx", Some(vec!["SPY".into()]));
    let trade = Event::Trade { ts: Some(START), price: 100.0, size: 1.0, side: 0.0 };
    assert_eq!(p.update(&Tick { symbol: "QQQ", event: trade }).unwrap_err(), TickError::UnknownSymbol("QQQ".into()));
    p.update(&Tick { symbol: "SPY", event: trade }).unwrap();
    match p.predict("SPY") {
        Err(Error::NotReady { symbol, have, need }) => assert_eq!((symbol.as_str(), have, need), ("SPY", 0, 8)),
        other => panic!("expected NotReady, got {other:?}"),
    }
    assert!(matches!(p.predict("QQQ"), Err(Error::UnknownSymbol(_))));
    let late = Event::Trade { ts: Some(START - 10_000_000_000), price: 100.0, size: 1.0, side: 0.0 };
    assert_eq!(p.update(&Tick { symbol: "SPY", event: late }).unwrap_err().reason(), "late");
}

#[test]
fn the_number_of_tracked_symbols_is_bounded() {
    let path = common::fixtures().join("valid/w8_c17_h3_k5.onnx");
    let mut p = PricePredictor::new(
        path,
        PredictorConfig { ort_lib: Some(common::ort_lib()), max_symbols: 2, ..Default::default() },
    )
    .unwrap();
    let trade = Event::Trade { ts: Some(START), price: 100.0, size: 1.0, side: 0.0 };
    p.update(&Tick { symbol: "A", event: trade }).unwrap();
    p.update(&Tick { symbol: "B", event: trade }).unwrap();
    let err = p.update(&Tick { symbol: "C", event: trade }).unwrap_err();
    assert_eq!(err.reason(), "too_many_symbols");
    assert!(p.update(&Tick { symbol: "A", event: trade }).is_ok(), "known symbols keep being served");
}
