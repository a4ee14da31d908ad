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
