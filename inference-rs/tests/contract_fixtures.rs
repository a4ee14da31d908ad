//! The shared contract fixtures: every model the Python validator rejects, the runtime rejects
//! with the same set of codes; every model it accepts, the runtime serves with the expected
//! outputs (1e-5) and decodes to the expected summaries.

mod common;

use std::collections::BTreeSet;

use ash_runtime::decode::summarize;
use ash_runtime::model::validate_model;
use ash_runtime::npy::read_f32;
use ash_runtime::{PredictorConfig, PricePredictor};

#[test]
fn rejected_fixtures_get_the_same_codes() {
    let lib = common::ort_lib();
    let dir = common::fixtures();
    let manifest = common::manifest();
    let invalid = manifest["invalid"].as_array().expect("invalid list");
    assert!(!invalid.is_empty());
    let mut failures = Vec::new();
    for case in invalid {
        let name = case["name"].as_str().unwrap();
        let want: BTreeSet<String> =
            case["expected"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        let verdict = validate_model(&dir.join(case["model"].as_str().unwrap()), Some(&lib)).expect("ORT loads");
        let got: BTreeSet<String> = match &verdict {
            Ok(_) => BTreeSet::new(),
            Err(v) => v.iter().map(|v| v.code.clone()).collect(),
        };
        if got != want {
            failures.push(format!("{name}: got {got:?}, Python says {want:?} ({verdict:?})"));
        }
        // Loading for serving refuses the model with the same violations.
        let served = PricePredictor::new(
            dir.join(case["model"].as_str().unwrap()),
            PredictorConfig { ort_lib: Some(lib.clone()), ..Default::default() },
        );
        assert!(served.is_err(), "{name}: the predictor served an invalid model");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_fixtures_are_served_with_the_expected_outputs() {
    let lib = common::ort_lib();
    let dir = common::fixtures();
    let manifest = common::manifest();
    let tol = manifest["parity_tolerance"].as_f64().unwrap();
    let valid = manifest["valid"].as_array().expect("valid list");
    assert!(!valid.is_empty());
    for case in valid {
        let name = case["name"].as_str().unwrap();
        let path = |k: &str| dir.join(case[k].as_str().unwrap());
        let mut predictor =
            PricePredictor::new(path("model"), PredictorConfig { ort_lib: Some(lib.clone()), ..Default::default() })
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (shape, inputs) = read_f32(&path("inputs")).unwrap();
        let (_, want_probs) = read_f32(&path("probs")).unwrap();
        let (_, want_edges) = read_f32(&path("edges")).unwrap();
        let (n, nh, k) =
            (shape[0], case["n_horizons"].as_u64().unwrap() as usize, case["n_buckets"].as_u64().unwrap() as usize);
        assert_eq!(predictor.spec().window, case["window"].as_u64().unwrap() as usize, "{name}");
        assert_eq!(predictor.spec().n_columns(), case["n_columns"].as_u64().unwrap() as usize, "{name}");
        let (probs, edges) = predictor.run_raw(&inputs, n).unwrap();
        let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert_eq!(probs.len(), want_probs.len(), "{name}");
        assert!(
            f64::from(max_diff(&probs, &want_probs)) <= tol,
            "{name}: probs differ by {}",
            max_diff(&probs, &want_probs)
        );
        assert!(
            f64::from(max_diff(&edges, &want_edges)) <= tol,
            "{name}: edges differ by {}",
            max_diff(&edges, &want_edges)
        );
        // The decoded summaries of the expected outputs match Python's decoding.
        let summaries = case["summaries"].as_array().unwrap();
        for (i, per_h) in summaries.iter().enumerate() {
            for (h, want) in per_h.as_array().unwrap().iter().enumerate() {
                let row = i * nh + h;
                let levels: Vec<(f64, f64)> = want["quantiles"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(q, v)| (q.parse().unwrap(), v.as_f64().unwrap()))
                    .collect();
                let qs: Vec<f64> = levels.iter().map(|l| l.0).collect();
                let got = summarize(
                    &want_probs[row * k..(row + 1) * k],
                    &want_edges[row * (k + 1)..(row + 1) * (k + 1)],
                    &qs,
                );
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
                assert!(
                    close(got.mean_bps, want["mean_bps"].as_f64().unwrap()),
                    "{name} {i} {h} mean {got:?} vs {want}"
                );
                assert!(close(got.p_up, want["p_up"].as_f64().unwrap()), "{name} {i} {h} p_up");
                assert!(close(got.p_flat, want["p_flat"].as_f64().unwrap()), "{name} {i} {h} p_flat");
                assert!(close(got.p_down, want["p_down"].as_f64().unwrap()), "{name} {i} {h} p_down");
                for ((_, g), (_, w)) in got.quantiles.iter().zip(&levels) {
                    assert!(close(*g, *w), "{name} {i} {h} quantile {g} vs {w}");
                }
            }
        }
    }
}

#[test]
fn synthetic_windows_equal_python_bit_for_bit() {
    // Both validators run models on these windows: they must be the same windows, or the two
    // could disagree about a model that fails only on some inputs.
    let dir = common::fixtures();
    let manifest = common::manifest();
    let cases = manifest["synthetic"].as_array().expect("synthetic list");
    assert!(cases.len() >= 3);
    for case in cases {
        let columns: Vec<String> =
            case["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        let (window, batch) = (case["window"].as_u64().unwrap() as usize, case["batch"].as_u64().unwrap() as usize);
        let got = ash_runtime::contract::synthetic::synthetic_bars(
            &columns,
            window,
            batch,
            case["bar_seconds"].as_f64().unwrap(),
            case["seed"].as_u64().unwrap(),
        );
        let (shape, want) = read_f32(&dir.join(case["bars"].as_str().unwrap())).unwrap();
        assert_eq!(shape, vec![batch, window, columns.len()]);
        let differ = got.iter().zip(&want).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{columns:?}: {differ} of {} values differ from Python's", want.len());
    }
}
