#![no_main]
//! Arbitrary bytes through the line splitter, JSON parser and per-symbol bar builders.

use ash_runtime::bars::BarSpec;
use ash_runtime::fuzzing::Ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = BarSpec::new(1.0, "America/New_York", 300.0, Some("09:30-16:00"), "reset") {
        Ingest::new(spec).feed(data);
    }
});
