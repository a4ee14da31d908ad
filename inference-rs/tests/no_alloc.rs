//! `update` allocates nothing in steady state: a counting global allocator watches a stream of
//! trades and quotes (bars closing, empty bars forward-filled) for a symbol already seen.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use ash_runtime::bench::synthetic_ticks;
use ash_runtime::{PredictorConfig, PricePredictor, Tick};

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: the tests of this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn update_does_not_allocate_in_steady_state() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = common::fixtures().join("valid/w8_c17_h3_k5.onnx");
    let mut p = PricePredictor::new(&model, PredictorConfig { ort_lib: Some(common::ort_lib()), ..Default::default() })
        .expect("model loads");
    let ticks = synthetic_ticks(50_000, 1_000_000_000, 3, 1_381_154_400_000_000_000);
    // Warm up: the symbol's state is created on its first tick.
    for e in &ticks[..100] {
        let _ = p.update(&Tick { symbol: "SPY", event: *e });
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut closed = 0u32;
    for e in &ticks[100..] {
        if let Ok(u) = p.update(&Tick { symbol: "SPY", event: *e }) {
            closed += u.bars_closed;
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(closed > 5_000, "the stream must close many bars ({closed})");
    assert!(p.is_ready("SPY"));
    assert_eq!(allocations, 0, "update allocated {allocations} times over {} ticks", ticks.len() - 100);
}

#[test]
fn update_with_a_context_symbol_does_not_allocate_in_steady_state() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    feed(&mut p, &ticks[100..]);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(released > 5_000, "the context must release A's bars ({released})");
    assert!(p.is_ready("A") && p.context().is_some_and(|c| c.bars() > 5_000));
    assert_eq!(allocations, 0, "update allocated {allocations} times with a context symbol");
}
