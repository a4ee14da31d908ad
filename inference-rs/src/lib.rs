//! ash runtime: load any contract-v1 ONNX model, turn ticks into bars, predict distributions.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod bars;
pub mod contract;
pub mod decode;
pub mod error;
pub mod flush_to_zero;
pub mod huge_pages;
pub mod model;
pub mod predictor;
pub mod runtime;

pub use contract::{ModelSpec, Violation};
pub use error::{Error, Result};
pub use predictor::{HorizonPrediction, Prediction, PredictorConfig, PricePredictor, Tick, TickError, Updated};
pub use runtime::{Device, SessionConfig};
pub mod bench;
pub mod fuzzing;
pub mod npy;
pub mod protocol;
pub mod server;
