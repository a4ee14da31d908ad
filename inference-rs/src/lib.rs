//! ash runtime: load any contract-v1 ONNX model, turn ticks into bars, predict distributions.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod contract;
pub mod error;
pub mod runtime;
pub mod bars;
pub mod decode;
