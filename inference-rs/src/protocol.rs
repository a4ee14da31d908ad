//! The JSON-lines protocol of `ash-serve` (docs/runtime.md): parsing input lines into messages
//! and writing predictions, rejections and stats as JSON lines. Parsing never panics: any
//! input yields a message or a `ProtocolError` with a reason code.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::bars::columns::{N_OPTION, OPTION_COLUMNS};
use crate::bars::Event;
use crate::predictor::{Prediction, Tick};

/// A line the server could not use: `reason` is the counter it is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub reason: &'static str,
    pub detail: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

fn malformed(detail: impl Into<String>) -> ProtocolError {
    ProtocolError { reason: "malformed", detail: detail.into() }
}

/// A JSON number, or one of the strings "NaN", "Infinity", "-Infinity" (JSON has no NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Num(f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or \"NaN\"/\"Infinity\"/\"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                match v {
                    "NaN" | "nan" => Ok(Num(f64::NAN)),
                    "Infinity" | "inf" => Ok(Num(f64::INFINITY)),
                    "-Infinity" | "-inf" => Ok(Num(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(f64::NAN))
            }
        }
        d.deserialize_any(V)
    }
}

/// A timestamp: integer UTC nanoseconds, or an RFC 3339 string ("2013-10-07T13:30:00.5Z").
#[derive(Debug, Clone, PartialEq)]
enum Ts<'a> {
    Ns(i64),
    Text(Cow<'a, str>),
    Null,
}

impl<'de: 'a, 'a> Deserialize<'de> for Ts<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ts<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("integer UTC nanoseconds or an RFC 3339 string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts<'de>, E> {
                Ok(Ts::Ns(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts<'de>, E> {
                i64::try_from(v).map(Ts::Ns).map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Ts<'de>, E> {
                Err(E::custom("timestamps are integer nanoseconds (or RFC 3339 strings), not floats"))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Ts<'de>, E> {
                Ok(Ts::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts<'de>, E> {
                Ok(Ts::Text(Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Ts<'de>, E> {
                Ok(Ts::Null)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
struct RawLine<'a> {
    #[serde(rename = "type", alias = "kind", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow, alias = "underlying")]
    symbol: Option<Cow<'a, str>>,
    #[serde(default, borrow, alias = "ts_ns")]
    ts: Option<Ts<'a>>,
    #[serde(default)]
    price: Option<Num>,
    #[serde(default)]
    size: Option<Num>,
    #[serde(default)]
    side: Option<Num>,
    #[serde(default)]
    bid: Option<Num>,
    #[serde(default)]
    ask: Option<Num>,
    #[serde(default)]
    bid_size: Option<Num>,
    #[serde(default)]
    ask_size: Option<Num>,
    #[serde(default, borrow)]
    values: Option<std::collections::BTreeMap<Cow<'a, str>, Num>>,
    #[serde(default, borrow)]
    symbols: Option<Vec<Cow<'a, str>>>,
}

/// One parsed input line.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    Trade {
        symbol: Cow<'a, str>,
        ts: Option<i64>,
        price: f64,
        size: f64,
        side: f64,
    },
    Quote {
        symbol: Cow<'a, str>,
        ts: Option<i64>,
        bid: f64,
        ask: f64,
        bid_size: f64,
        ask_size: f64,
    },
    Surface {
        symbol: Cow<'a, str>,
        ts: Option<i64>,
        values: Box<[f64; N_OPTION]>,
    },
    /// No event earlier than `ts` will come: finish open bars before it (all symbols).
    Clock {
        ts: i64,
    },
    /// Predict now for these symbols (all ready symbols when `None`).
    Predict {
        symbols: Option<Vec<Cow<'a, str>>>,
    },
    Stats,
}

impl<'a> Message<'a> {
    /// The tick this message carries, if it is a trade, quote or surface update.
    pub fn tick(&self) -> Option<Tick<'_>> {
        let (symbol, event) = match self {
            Message::Trade { symbol, ts, price, size, side } => {
                (symbol, Event::Trade { ts: *ts, price: *price, size: *size, side: *side })
            }
            Message::Quote { symbol, ts, bid, ask, bid_size, ask_size } => {
                (symbol, Event::Quote { ts: *ts, bid: *bid, ask: *ask, bid_size: *bid_size, ask_size: *ask_size })
            }
            Message::Surface { symbol, ts, values } => (symbol, Event::Surface { ts: *ts, values }),
            _ => return None,
        };
        Some(Tick { symbol, event })
    }
}

fn parse_ts(ts: Option<Ts<'_>>) -> Result<Option<i64>, ProtocolError> {
    match ts {
        None | Some(Ts::Null) => Ok(None),
        Some(Ts::Ns(v)) => Ok(Some(v)),
        Some(Ts::Text(s)) => chrono::DateTime::parse_from_rfc3339(&s)
            .ok()
            .and_then(|d| d.timestamp_nanos_opt())
            .map(Some)
            .ok_or_else(|| malformed(format!("ts {s:?} is not an RFC 3339 timestamp or integer nanoseconds"))),
    }
}

/// Parse one line (without its newline).
pub fn parse_line(line: &str) -> Result<Message<'_>, ProtocolError> {
    let raw: RawLine<'_> =
        serde_json::from_str(line).map_err(|e| ProtocolError { reason: "malformed_json", detail: e.to_string() })?;
    let need =
        |v: Option<Num>, field: &str| v.map(|n| n.0).ok_or_else(|| malformed(format!("{} needs {field}", raw.kind)));
    let symbol = || match &raw.symbol {
        Some(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err(malformed(format!("{} needs a non-empty symbol", raw.kind))),
    };
    match raw.kind.as_ref() {
        "trade" => Ok(Message::Trade {
            symbol: symbol()?,
            ts: parse_ts(raw.ts.clone())?,
            price: need(raw.price, "price")?,
            size: need(raw.size, "size")?,
            side: raw.side.map_or(0.0, |s| s.0),
        }),
        "quote" => Ok(Message::Quote {
            symbol: symbol()?,
            ts: parse_ts(raw.ts.clone())?,
            bid: need(raw.bid, "bid")?,
            ask: need(raw.ask, "ask")?,
            bid_size: need(raw.bid_size, "bid_size")?,
            ask_size: need(raw.ask_size, "ask_size")?,
        }),
        "surface" => {
            let mut values = Box::new([f64::NAN; N_OPTION]);
            for (name, v) in raw.values.iter().flatten() {
                let i = OPTION_COLUMNS
                    .iter()
                    .position(|c| *c == name.as_ref())
                    .ok_or_else(|| malformed(format!("surface value {name:?} is not an option column")))?;
                values[i] = v.0;
            }
            Ok(Message::Surface { symbol: symbol()?, ts: parse_ts(raw.ts.clone())?, values })
        }
        "clock" => match parse_ts(raw.ts.clone())? {
            Some(ts) => Ok(Message::Clock { ts }),
            None => Err(malformed("clock needs ts")),
        },
        "predict" => Ok(Message::Predict { symbols: raw.symbols }),
        "stats" => Ok(Message::Stats),
        other => {
            Err(malformed(format!("unknown type {other:?}; expected trade, quote, surface, clock, predict or stats")))
        }
    }
}

/// The version of the output lines, written as `"protocol"` on every prediction. Version 2 added
/// `p_flat` and gave `p_up`/`p_down` the one definition of `decode.rs` (the zero bucket is flat,
/// not split); lines without the field come from an older `ash-serve` (version 1).
pub const PROTOCOL_VERSION: u32 = 2;

/// What a prediction line carries per horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PredictionDetail {
    /// Summaries plus the bucket `probs` and `edges` (the default).
    #[default]
    Full,
    /// Summaries only (mean, P(up/flat/down), quantiles): lines a few times shorter.
    Summary,
}

/// Append `prediction` as one JSON line (with `latency_us` and `batch`) to `out`.
pub fn write_prediction(out: &mut Vec<u8>, p: &Prediction, latency_us: f64, batch: usize, detail: PredictionDetail) {
    let horizons: Vec<serde_json::Value> = p
        .horizons
        .iter()
        .map(|h| {
            let quantiles: serde_json::Map<String, serde_json::Value> =
                h.summary.quantiles.iter().map(|(q, v)| (format!("{q}"), json_f64(*v))).collect();
            let mut one = serde_json::json!({
                "horizon_s": h.horizon_s,
                "mean_bps": json_f64(h.summary.mean_bps),
                "p_up": json_f64(h.summary.p_up),
                "p_flat": json_f64(h.summary.p_flat),
                "p_down": json_f64(h.summary.p_down),
                "quantiles": quantiles,
            });
            if detail == PredictionDetail::Full {
                one["probs"] = serde_json::json!(h.probs);
                one["edges"] = serde_json::json!(h.edges);
            }
            one
        })
        .collect();
    let line = serde_json::json!({
        "type": "prediction",
        "protocol": PROTOCOL_VERSION,
        "symbol": p.symbol,
        "bar_ts": p.bar_ts,
        "reference_price": json_f64(p.reference_price),
        "latency_us": latency_us,
        "batch": batch,
        "horizons": horizons,
    });
    write_json(out, &line);
}

fn json_f64(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Append any JSON value as one line.
pub fn write_json(out: &mut Vec<u8>, value: &serde_json::Value) {
    if serde_json::to_writer(&mut *out, value).is_ok() {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_message_type() {
        let t = parse_line(r#"{"type":"trade","symbol":"SPY","ts":1381152600100000000,"price":100.01,"size":100}"#)
            .unwrap();
        assert_eq!(
            t,
            Message::Trade {
                symbol: "SPY".into(),
                ts: Some(1_381_152_600_100_000_000),
                price: 100.01,
                size: 100.0,
                side: 0.0
            }
        );
        let q = parse_line(r#"{"type":"quote","symbol":"SPY","ts":"2013-10-07T13:30:00.5Z","bid":1,"ask":2,"bid_size":3,"ask_size":4}"#)
            .unwrap();
        assert!(matches!(q, Message::Quote { ts: Some(1_381_152_600_500_000_000), .. }));
        let s = parse_line(r#"{"type":"surface","symbol":"SPY","ts":1,"values":{"atm_iv_7d":0.2,"term_slope":"NaN"}}"#)
            .unwrap();
        let Message::Surface { values, .. } = s else { panic!("surface") };
        assert_eq!(values[0], 0.2);
        assert!(values[24].is_nan() && values[1].is_nan());
        assert_eq!(parse_line(r#"{"type":"clock","ts":5}"#).unwrap(), Message::Clock { ts: 5 });
        assert_eq!(parse_line(r#"{"type":"predict"}"#).unwrap(), Message::Predict { symbols: None });
        assert_eq!(parse_line(r#"{"type":"stats"}"#).unwrap(), Message::Stats);
        // A missing timestamp is a tick with no ts: the bar builder rejects it as bad_timestamp.
        let no_ts = parse_line(r#"{"type":"trade","symbol":"SPY","price":1,"size":1}"#).unwrap();
        assert!(matches!(no_ts, Message::Trade { ts: None, .. }));
        // NaN prices parse, and the bar builder rejects them as bad_price.
        assert!(matches!(
            parse_line(r#"{"type":"trade","symbol":"S","ts":1,"price":"NaN","size":1}"#).unwrap(),
            Message::Trade { price, .. } if price.is_nan()
        ));
    }

    #[test]
    fn bad_lines_give_reasons() {
        let reason = |l: &str| parse_line(l).unwrap_err().reason;
        assert_eq!(reason("not json"), "malformed_json");
        assert_eq!(reason(r#"{"symbol":"SPY"}"#), "malformed_json");
        assert_eq!(reason(r#"{"type":"trade","symbol":"SPY","ts":1,"size":1}"#), "malformed");
        assert_eq!(reason(r#"{"type":"trade","symbol":"","ts":1,"price":1,"size":1}"#), "malformed");
        assert_eq!(reason(r#"{"type":"trade","symbol":"S","ts":1.5,"price":1,"size":1}"#), "malformed_json");
        assert_eq!(reason(r#"{"type":"trade","symbol":"S","ts":"yesterday","price":1,"size":1}"#), "malformed");
        assert_eq!(reason(r#"{"type":"order","symbol":"S"}"#), "malformed");
        assert_eq!(reason(r#"{"type":"surface","symbol":"S","ts":1,"values":{"vix":1}}"#), "malformed");
        assert_eq!(reason(r#"{"type":"clock"}"#), "malformed");
    }
}
