//! The ingestion path without a model, for fuzzing: bytes → lines → messages → bar builders.
//! Used by the bounded fuzz test (`cargo test --test fuzz_ingest`) and the cargo-fuzz target
//! in `fuzz/` (`cargo +nightly fuzz run ingest`). Must never panic, whatever the bytes.

use std::collections::HashMap;

use crate::bars::{BarBuilder, BarRow, BarSpec};
use crate::protocol::parse_line;

/// Per-symbol builders fed from raw input; counts what happened.
pub struct Ingest {
    spec: BarSpec,
    builders: HashMap<String, BarBuilder>,
    pub lines: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub bars: u64,
}

impl Ingest {
    pub fn new(spec: BarSpec) -> Self {
        Ingest { spec, builders: HashMap::new(), lines: 0, accepted: 0, rejected: 0, bars: 0 }
    }

    /// Feed raw bytes (split on newlines, invalid UTF-8 rejected per line).
    pub fn feed(&mut self, data: &[u8]) {
        for raw in data.split(|b| *b == b'\n') {
            self.lines += 1;
            let Ok(line) = std::str::from_utf8(raw) else {
                self.rejected += 1;
                continue;
            };
            let Ok(message) = parse_line(line) else {
                self.rejected += 1;
                continue;
            };
            let mut bars = 0u64;
            let mut sink = |row: BarRow<'_>| {
                // Finished bars have finite prices: a bad tick can never poison a bar.
                debug_assert!(row.values[..5].iter().all(|v| v.is_finite()));
                bars += 1;
            };
            if let Some(tick) = message.tick() {
                if self.builders.len() >= 64 && !self.builders.contains_key(tick.symbol) {
                    self.rejected += 1;
                    continue;
                }
                let builder =
                    self.builders.entry(tick.symbol.to_string()).or_insert_with(|| BarBuilder::new(self.spec.clone()));
                match builder.push(&tick.event, &mut sink) {
                    Ok(()) => self.accepted += 1,
                    Err(_) => self.rejected += 1,
                }
            } else if let crate::protocol::Message::Clock { ts } = message {
                for b in self.builders.values_mut() {
                    b.advance(ts, &mut sink);
                }
            }
            self.bars += bars;
        }
    }
}
