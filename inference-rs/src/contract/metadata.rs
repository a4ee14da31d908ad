//! The contract's `metadata_props` (every value is a JSON text): parsing and the per-key checks
//! of docs/contract.md §3, mirroring `src/ash/export/metadata.py` code for code.

use std::collections::HashMap;

use serde_json::Value;

use super::Violation;

/// What each key's JSON value must be (contract.py `ValueKind`).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Contract,
    Columns,
    PositiveInt,
    Buckets,
    PositiveNumber,
    Horizons,
    HorizonUnit,
    ReferencePrice,
    NonEmptyStr,
    Str,
    Plugins,
    Object,
}

pub const SUPPORTED_CONTRACT_VERSIONS: &[i64] = &[1];
/// Deepest nesting of arrays/objects accepted in a metadata value (metadata.py
/// `MAX_JSON_DEPTH`; below serde_json's own limit of 128, so both validators agree).
pub const MAX_JSON_DEPTH: usize = 64;
pub const HORIZON_UNIT: &str = "s";
pub const REFERENCE_PRICES: &[&str] = &["mid", "close"];
const PLUGIN_ENTRY_FIELDS: &[&str] = &["kind", "name", "distribution", "version"];

const REQUIRED_KEYS: &[(&str, Kind)] = &[
    ("ash.contract", Kind::Contract),
    ("ash.bar_columns", Kind::Columns),
    ("ash.bar_columns_version", Kind::PositiveInt),
    ("ash.bar_seconds", Kind::PositiveNumber),
    ("ash.window", Kind::PositiveInt),
    ("ash.horizons", Kind::Horizons),
    ("ash.horizon_unit", Kind::HorizonUnit),
    ("ash.n_buckets", Kind::Buckets),
    ("ash.reference_price", Kind::ReferencePrice),
    ("ash.timezone", Kind::NonEmptyStr),
    ("ash.gap_seconds", Kind::PositiveNumber),
    ("ash.gap_policy", Kind::NonEmptyStr),
];

const OPTIONAL_KEYS: &[(&str, Kind)] = &[
    ("ash.plugins", Kind::Plugins),
    ("ash.experiment", Kind::Str),
    ("ash.data_fingerprint", Kind::Str),
    ("ash.metrics", Kind::Object),
    ("ash.created_by", Kind::Str),
    ("ash.context_symbol", Kind::NonEmptyStr),
];

/// JSON integer: no fraction written (Python's `int`), booleans excluded.
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().or(Some(i64::MAX)),
        _ => None,
    }
}

/// JSON number (int or float), finite, booleans excluded.
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn check(kind: Kind, v: &Value) -> Option<String> {
    match kind {
        Kind::Contract => as_int(v).is_none().then(|| "must be a JSON integer (the contract version, 1)".into()),
        Kind::Columns => check_columns(v),
        Kind::PositiveInt => match as_int(v) {
            Some(i) if i >= 1 => None,
            _ => Some(format!("must be a JSON integer >= 1, got {v}")),
        },
        Kind::Buckets => match as_int(v) {
            Some(i) if i >= 2 => None,
            _ => Some(format!("must be a JSON integer >= 2, got {v}")),
        },
        Kind::PositiveNumber => match as_number(v) {
            Some(x) if x > 0.0 => None,
            _ => Some(format!("must be a JSON number > 0, got {v}")),
        },
        Kind::Horizons => check_horizons(v),
        Kind::HorizonUnit => {
            (v.as_str() != Some(HORIZON_UNIT)).then(|| format!("must be the JSON string {HORIZON_UNIT:?}, got {v}"))
        }
        Kind::ReferencePrice => match v.as_str() {
            Some(s) if REFERENCE_PRICES.contains(&s) => None,
            _ => Some(format!("must be one of \"mid\", \"close\", got {v}")),
        },
        Kind::NonEmptyStr => match v.as_str() {
            Some(s) if !s.is_empty() => None,
            _ => Some(format!("must be a non-empty JSON string, got {v}")),
        },
        Kind::Str => (!v.is_string()).then(|| format!("must be a JSON string, got {v}")),
        Kind::Plugins => check_plugins(v),
        Kind::Object => (!v.is_object()).then(|| format!("must be a JSON object, got {v}")),
    }
}

fn check_columns(v: &Value) -> Option<String> {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        return Some("must be a non-empty JSON array of column names".into());
    };
    let names: Vec<&str> = items.iter().filter_map(|c| c.as_str().filter(|s| !s.is_empty())).collect();
    if names.len() != items.len() {
        return Some("every column name must be a non-empty string".into());
    }
    let mut dupes: Vec<&str> = names.iter().copied().filter(|c| names.iter().filter(|d| *d == c).count() > 1).collect();
    dupes.sort_unstable();
    dupes.dedup();
    (!dupes.is_empty()).then(|| format!("duplicate column names: {}", dupes.join(", ")))
}

fn check_horizons(v: &Value) -> Option<String> {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        return Some("must be a non-empty JSON array of horizons in seconds".into());
    };
    let values: Vec<f64> = items.iter().filter_map(as_number).filter(|h| *h > 0.0).collect();
    if values.len() != items.len() {
        return Some(format!("every horizon must be a number > 0, got {v}"));
    }
    values.windows(2).any(|w| w[1] <= w[0]).then(|| format!("horizons must be strictly increasing, got {v}"))
}

fn check_plugins(v: &Value) -> Option<String> {
    let Some(items) = v.as_array() else {
        return Some("must be a JSON array of {kind, name, distribution, version} objects".into());
    };
    for (i, entry) in items.iter().enumerate() {
        let Some(obj) = entry.as_object() else {
            return Some(format!("entry {i} must be an object, got {entry}"));
        };
        let missing: Vec<&str> =
            PLUGIN_ENTRY_FIELDS.iter().copied().filter(|f| !obj.get(*f).is_some_and(Value::is_string)).collect();
        if !missing.is_empty() {
            return Some(format!("entry {i} needs string fields {}", missing.join(", ")));
        }
    }
    None
}

/// Deepest nesting of `[`/`{` in a JSON text (brackets inside strings do not count).
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for ch in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if ch == '"' {
            in_string = true;
        } else if ch == '[' || ch == '{' {
            depth += 1;
            deepest = deepest.max(depth);
        } else if ch == ']' || ch == '}' {
            depth = depth.saturating_sub(1);
        }
    }
    deepest
}

fn parse_value(raw: &str) -> Result<Value, String> {
    if json_depth(raw) > MAX_JSON_DEPTH {
        return Err(format!("nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    serde_json::from_str(raw).map_err(|e| e.to_string())
}

/// At most 200 characters of a raw value for messages.
fn clip(raw: &str) -> String {
    match raw.char_indices().nth(200) {
        Some((i, _)) => format!("{:?}... ({} characters)", &raw[..i], raw.chars().count()),
        None => format!("{raw:?}"),
    }
}

/// Parse the contract keys: the good values, and a violation for every bad or missing one.
pub fn check_metadata(props: &HashMap<String, String>) -> (HashMap<&'static str, Value>, Vec<Violation>) {
    let mut parsed = HashMap::new();
    let mut violations = Vec::new();
    let required = REQUIRED_KEYS.iter().map(|(k, kind)| (*k, *kind, true));
    let optional = OPTIONAL_KEYS.iter().map(|(k, kind)| (*k, *kind, false));
    for (key, kind, is_required) in required.chain(optional) {
        let Some(raw) = props.get(key) else {
            if is_required {
                violations.push(Violation::new(
                    format!("missing-metadata:{key}"),
                    format!("required metadata key {key} is absent"),
                ));
            }
            continue;
        };
        let value: Value = match parse_value(raw) {
            Ok(v) => v,
            Err(e) => {
                violations.push(Violation::new(
                    format!("bad-metadata-json:{key}"),
                    format!(
                        "metadata {key} = {} is not valid JSON ({e}); values are JSON texts, e.g. strings \
                         need quotes: \"\\\"mid\\\"\"",
                        clip(raw)
                    ),
                ));
                continue;
            }
        };
        if let Some(problem) = check(kind, &value) {
            violations.push(Violation::new(format!("bad-metadata-value:{key}"), format!("metadata {key} {problem}")));
            continue;
        }
        parsed.insert(key, value);
    }
    if let Some(version) = parsed.get("ash.contract").and_then(as_int) {
        if !SUPPORTED_CONTRACT_VERSIONS.contains(&version) {
            violations.push(Violation::new(
                "unsupported-contract",
                format!(
                    "ash.contract = {version}; this runtime supports contract versions {SUPPORTED_CONTRACT_VERSIONS:?}"
                ),
            ));
        }
    }
    (parsed, violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> HashMap<String, String> {
        [
            ("ash.contract", "1"),
            ("ash.bar_columns", r#"["open","close"]"#),
            ("ash.bar_columns_version", "1"),
            ("ash.bar_seconds", "1.0"),
            ("ash.window", "8"),
            ("ash.horizons", "[1, 5]"),
            ("ash.horizon_unit", "\"s\""),
            ("ash.n_buckets", "5"),
            ("ash.reference_price", "\"mid\""),
            ("ash.timezone", "\"America/New_York\""),
            ("ash.gap_seconds", "300"),
            ("ash.gap_policy", "\"reset\""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn codes(props: &HashMap<String, String>) -> Vec<String> {
        let mut c: Vec<String> = check_metadata(props).1.into_iter().map(|v| v.code).collect();
        c.sort();
        c
    }

    #[test]
    fn good_metadata_has_no_violations() {
        assert!(codes(&good()).is_empty());
    }

    #[test]
    fn each_bad_value_is_reported_with_its_code() {
        let cases = [
            ("ash.window", "8.0", "bad-metadata-value:ash.window"),
            ("ash.window", "true", "bad-metadata-value:ash.window"),
            ("ash.n_buckets", "1", "bad-metadata-value:ash.n_buckets"),
            ("ash.reference_price", "mid", "bad-metadata-json:ash.reference_price"),
            ("ash.reference_price", "\"last\"", "bad-metadata-value:ash.reference_price"),
            ("ash.horizons", "[5, 1]", "bad-metadata-value:ash.horizons"),
            ("ash.horizons", "[1, NaN]", "bad-metadata-json:ash.horizons"),
            ("ash.bar_columns", r#"["a","a"]"#, "bad-metadata-value:ash.bar_columns"),
            ("ash.bar_columns", r#"["a",""]"#, "bad-metadata-value:ash.bar_columns"),
            ("ash.bar_seconds", "0", "bad-metadata-value:ash.bar_seconds"),
            ("ash.plugins", r#"[{"kind":"x"}]"#, "bad-metadata-value:ash.plugins"),
            ("ash.metrics", "[]", "bad-metadata-value:ash.metrics"),
            ("ash.context_symbol", "\"\"", "bad-metadata-value:ash.context_symbol"),
            ("ash.context_symbol", "5", "bad-metadata-value:ash.context_symbol"),
            ("ash.contract", "2", "unsupported-contract"),
        ];
        for (key, raw, want) in cases {
            let mut props = good();
            props.insert(key.into(), raw.into());
            assert_eq!(codes(&props), vec![want.to_string()], "{key} = {raw}");
        }
    }

    #[test]
    fn deep_nesting_is_bad_json_and_brackets_in_strings_do_not_count() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let mut props = good();
        props.insert("ash.metrics".into(), format!(r#"{{"a":{deep}}}"#));
        assert_eq!(codes(&props), vec!["bad-metadata-json:ash.metrics".to_string()]);
        assert_eq!(json_depth(r#"{"a":"[[[[\"[[["}"#), 1);
        assert_eq!(json_depth(&"[".repeat(64)), 64);
    }

    #[test]
    fn missing_required_key_is_reported() {
        let mut props = good();
        props.remove("ash.gap_policy");
        assert_eq!(codes(&props), vec!["missing-metadata:ash.gap_policy".to_string()]);
    }
}
