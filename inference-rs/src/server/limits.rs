//! The bounds that keep one server's memory and time per client finite (docs/runtime.md,
//! "Bounds"). Every one is a command-line option of `ash-serve`.

/// Longest accepted input line; longer lines are dropped and counted (`line_too_long`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most distinct symbols one `predict` request may name (or, without a list, find ready);
    /// a larger request is rejected (`predict_too_large`). Bounds the work and the reply of one line.
    pub max_predict_symbols: usize,
    /// Most windows in one ONNX Runtime call; larger predictions are split into batches of
    /// this size. Bounds the input tensor and ONNX Runtime's arena.
    pub max_batch: usize,
    /// Bytes of replies queued for one TCP client before it counts as not reading: it is then
    /// disconnected, counted (`slow_clients_dropped`) and logged. A client holds at most this
    /// plus one reply.
    pub client_queue_bytes: usize,
    /// Bytes of a client's unprocessed input lines held by the server; beyond it the server stops
    /// reading that socket (TCP back-pressure) until the engine catches up.
    pub input_queue_bytes: usize,
    /// Most simultaneous TCP clients; further connections get one error line and are closed
    /// (`connections_refused`).
    pub max_connections: usize,
    /// Ticks and clocks more than this many seconds ahead of the server's wall clock are
    /// rejected (`future_timestamp`), so one far-future line cannot make a symbol's (or, for a
    /// clock, every symbol's) later ticks `late`. `None` turns the check off (replaying data
    /// stamped in the future).
    pub max_clock_skew_s: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_predict_symbols: 256,
            max_batch: 64,
            client_queue_bytes: 16 << 20,
            input_queue_bytes: 1 << 20,
            max_connections: 64,
            max_clock_skew_s: Some(300.0),
        }
    }
}

impl Limits {
    /// Check the values make sense together (all positive).
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("--max-predict-symbols", self.max_predict_symbols),
            ("--max-batch", self.max_batch),
            ("--client-queue-mib", self.client_queue_bytes),
            ("--input-queue-kib", self.input_queue_bytes),
            ("--max-connections", self.max_connections),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        match self.max_clock_skew_s {
            Some(s) if !(s.is_finite() && s >= 0.0) => {
                Err(format!("--max-clock-skew must be a number of seconds >= 0 or \"off\", got {s}"))
            }
            _ => Ok(()),
        }
    }

    /// The clock skew in nanoseconds (saturating).
    pub fn max_clock_skew_ns(&self) -> Option<i64> {
        self.max_clock_skew_s.map(|s| (s * 1e9).min(i64::MAX as f64) as i64)
    }
}
