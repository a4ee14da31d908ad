//! Bounded fuzzing of the tick/JSON ingestion path (no nightly needed): structured random lines,
//! then byte-level mutations of them, through the parser and the bar builders; then a smaller
//! run through the full serving engine with a real model. Nothing may panic, every line is
//! accounted for. The unbounded version is `cargo +nightly fuzz run ingest` (fuzz/).

mod common;

use ash_runtime::bars::BarSpec;
use ash_runtime::contract::synthetic::Rng;
use ash_runtime::fuzzing::Ingest;
use ash_runtime::server::{Engine, ServeOptions};
use ash_runtime::{PredictorConfig, PricePredictor};

const BASE_NS: i64 = 1_381_154_400_000_000_000;

fn number(rng: &mut Rng) -> String {
    match rng.int(0, 12) {
        0 => "\"NaN\"".into(),
        1 => "\"Infinity\"".into(),
        2 => "-1".into(),
        3 => "0".into(),
        4 => "1e308".into(),
        5 => "null".into(),
        6 => "\"x\"".into(),
        7 => "1e999".into(),
        _ => format!("{:.2}", 50.0 + 100.0 * rng.uniform()),
    }
}

fn ts(rng: &mut Rng, clock: &mut i64) -> String {
    *clock += rng.int(-300_000_000, 700_000_000);
    match rng.int(0, 20) {
        0 => "null".into(),
        1 => "\"2013-10-07T14:00:00.25Z\"".into(),
        2 => "\"yesterday\"".into(),
        3 => "-9223372036854775808".into(),
        4 => "9223372036854775807".into(),
        5 => "1.5".into(),
        _ => clock.to_string(),
    }
}

/// A random, mostly plausible protocol line.
fn random_line(rng: &mut Rng, clock: &mut i64) -> String {
    let sym = ["SPY", "QQQ", "IWM", "", "\u{1F600}"][rng.int(0, 5) as usize];
    match rng.int(0, 9) {
        0..=3 => format!(
            r#"{{"type":"trade","symbol":"{sym}","ts":{},"price":{},"size":{},"side":{}}}"#,
            ts(rng, clock),
            number(rng),
            number(rng),
            ["0", "1", "-1", "3", "\"NaN\""][rng.int(0, 5) as usize]
        ),
        4..=6 => format!(
            r#"{{"type":"quote","symbol":"{sym}","ts":{},"bid":{},"ask":{},"bid_size":{},"ask_size":{}}}"#,
            ts(rng, clock),
            number(rng),
            number(rng),
            number(rng),
            number(rng)
        ),
        7 => format!(
            r#"{{"type":"surface","symbol":"{sym}","ts":{},"values":{{"atm_iv_7d":{},"term_slope":{}}}}}"#,
            ts(rng, clock),
            number(rng),
            number(rng)
        ),
        _ => format!(r#"{{"type":"clock","ts":{}}}"#, ts(rng, clock)),
    }
}

fn mutate(rng: &mut Rng, line: &str) -> Vec<u8> {
    let mut b = line.as_bytes().to_vec();
    for _ in 0..rng.int(1, 4) {
        if b.is_empty() {
            break;
        }
        let i = rng.int(0, b.len() as i64) as usize;
        match rng.int(0, 4) {
            0 => b[i] = rng.next_u64() as u8,
            1 => b.truncate(i),
            2 => b.insert(i, b"{}[]\",:\\\xff\x00"[rng.int(0, 10) as usize]),
            _ => {
                let j = rng.int(0, b.len() as i64) as usize;
                b.swap(i, j);
            }
        }
    }
    b
}

fn spec() -> BarSpec {
    BarSpec::new(1.0, "America/New_York", 300.0, None, "reset").unwrap()
}

#[test]
fn parser_and_bar_builders_survive_random_and_mutated_lines() {
    let mut rng = Rng::new(2024);
    // `clean` sees only generated lines; `dirty` also sees their mutations and pure noise (a
    // mutated far-future timestamp legitimately makes every later tick of that symbol late).
    let mut clean = Ingest::new(spec());
    let mut ingest = Ingest::new(spec());
    let mut clock = BASE_NS;
    let cases = 20_000;
    for _ in 0..cases {
        let line = random_line(&mut rng, &mut clock);
        clean.feed(line.as_bytes());
        ingest.feed(line.as_bytes());
        ingest.feed(&mutate(&mut rng, &line));
    }
    for _ in 0..2_000 {
        let n = rng.int(0, 200) as usize;
        let noise: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        ingest.feed(&noise);
    }
    // Every line is either an accepted tick, a rejection, or a clock line.
    assert!(ingest.accepted + ingest.rejected <= ingest.lines);
    assert!(ingest.rejected > 10_000, "mutations must be rejected ({} rejected)", ingest.rejected);
    assert!(clean.accepted > 1_000, "the generator must produce valid ticks too ({} accepted)", clean.accepted);
    assert!(clean.bars > 0);
    assert!(ingest.bars > 0);
}

#[test]
fn serving_engine_survives_random_lines_and_keeps_serving() {
    let lib = common::ort_lib();
    let fixtures = common::fixtures();
    let model = fixtures.join("valid/w4_c5_h1_k2.onnx");
    let predictor =
        PricePredictor::new(&model, PredictorConfig { ort_lib: Some(lib), ..Default::default() }).expect("model loads");
    let mut engine = Engine::new(predictor, ServeOptions { log_every: 0.0, ..Default::default() });
    let mut rng = Rng::new(7);
    let mut clock = BASE_NS;
    for _ in 0..3_000 {
        let line = random_line(&mut rng, &mut clock);
        engine.handle_line(&line);
        let mutated = String::from_utf8_lossy(&mutate(&mut rng, &line)).into_owned();
        engine.handle_line(&mutated);
        engine.handle_line(r#"{"type":"predict"}"#);
        let _ = engine.take_output();
    }
    // After all that, a clean symbol still gets predictions.
    let mut out = Vec::new();
    for k in 0..40i64 {
        let t = BASE_NS + 3_600_000_000_000 + k * 5_000_000_000;
        engine.handle_line(&format!(r#"{{"type":"trade","symbol":"CLEAN","ts":{t},"price":100.0,"size":10}}"#));
        out.extend(engine.take_output());
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().any(|l| l.contains("\"prediction\"") && l.contains("CLEAN")), "{text}");
    assert!(engine.counters.rejected.values().sum::<u64>() > 0);
}
