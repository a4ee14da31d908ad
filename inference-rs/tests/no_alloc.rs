//! `update` allocates nothing in steady state: a counting global allocator watches a stream of
//! trades and quotes (bars closing, empty bars forward-filled) for a symbol already seen. Nor
//! does `predict_into` on the Rust side (ONNX Runtime's own C++ allocations are not Rust's).
//! Counts are per thread, so the tests can run in parallel.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ash_runtime::bench::synthetic_ticks;
use ash_runtime::{PredictorConfig, PricePredictor, Tick};

struct Counting;
thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    // `try_with`: a thread being torn down has no counter left; its allocations are not ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn update_does_not_allocate_in_steady_state() {
    let model = common::fixtures().join("valid/w8_c17_h3_k5.onnx");
    let mut p = PricePredictor::new(&model, PredictorConfig { ort_lib: Some(common::ort_lib()), ..Default::default() })
        .expect("model loads");
    let ticks = synthetic_ticks(50_000, 1_000_000_000, 3, 1_381_154_400_000_000_000);
    // Warm up: the symbol's state is created on its first tick.
    for e in &ticks[..100] {
        let _ = p.update(&Tick { symbol: "SPY", event: *e });
    }
    let before = allocations();
    let mut closed = 0u32;
    for e in &ticks[100..] {
        if let Ok(u) = p.update(&Tick { symbol: "SPY", event: *e }) {
            closed += u.bars_closed;
        }
    }
    let allocations = allocations() - before;
    assert!(closed > 5_000, "the stream must close many bars ({closed})");
    assert!(p.is_ready("SPY"));
    assert_eq!(allocations, 0, "update allocated {allocations} times over {} ticks", ticks.len() - 100);
}

#[test]
fn update_with_a_context_symbol_does_not_allocate_in_steady_state() {
    let model = common::fixtures().join("valid/w8_c22_h2_k3_ctx.onnx"); // context symbol "IDX"
    let mut p = PricePredictor::new(&model, PredictorConfig { ort_lib: Some(common::ort_lib()), ..Default::default() })
        .expect("model loads");
    let ticks = synthetic_ticks(50_000, 1_000_000_000, 5, 1_381_154_400_000_000_000);
    let mut released = 0u32;
    let mut feed = |p: &mut PricePredictor, ticks: &[ash_runtime::bars::Event<'static>]| {
        for e in ticks {
            for symbol in ["A", "IDX"] {
                let _ = p.update(&Tick { symbol, event: *e });
                p.take_released(|_| released += 1);
            }
        }
    };
    feed(&mut p, &ticks[..100]);
    let before = allocations();
    feed(&mut p, &ticks[100..]);
    let allocated = allocations() - before;
    assert!(released > 5_000, "the context must release A's bars ({released})");
    assert!(p.is_ready("A") && p.context().is_some_and(|c| c.bars() > 5_000));
    assert_eq!(allocated, 0, "update allocated {allocated} times with a context symbol");
    // predict_into writes the ctx_* columns into the bound input tensor without allocating.
    let mut out = ash_runtime::Prediction::default();
    for k in 0..3 {
        let before = allocations();
        p.predict_into("A", &mut out).expect("predicts");
        let allocated = allocations() - before;
        if k >= 1 {
            assert_eq!(allocated, 0, "predict_into allocated {allocated} times with a context symbol");
        }
    }
}

#[test]
fn predict_into_does_not_allocate_in_steady_state() {
    let model = common::fixtures().join("valid/w8_c17_h3_k5.onnx");
    let mut p = PricePredictor::new(&model, PredictorConfig { ort_lib: Some(common::ort_lib()), ..Default::default() })
        .expect("model loads");
    let ticks = synthetic_ticks(400, 1_000_000_000, 5, 1_381_154_400_000_000_000);
    let mut out = ash_runtime::Prediction::default();
    let mut predicted = 0;
    for (n, e) in ticks.iter().enumerate() {
        let _ = p.update(&Tick { symbol: "SPY", event: *e });
        if !p.is_ready("SPY") {
            continue;
        }
        // The first calls size `out`'s buffers; every later one must reuse them.
        let before = allocations();
        p.predict_into("SPY", &mut out).expect("predicts");
        let allocated = allocations() - before;
        if predicted >= 2 {
            assert_eq!(allocated, 0, "predict_into allocated {allocated} times at tick {n}");
        }
        predicted += 1;
    }
    assert!(predicted > 100, "the stream must fill the window early ({predicted} predictions)");
    assert!(out.horizons.iter().all(|h| (h.probs.iter().sum::<f32>() - 1.0).abs() < 1e-4));
}
