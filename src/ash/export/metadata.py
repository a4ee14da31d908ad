"""Encode and check the contract's ``metadata_props`` (every value is a JSON text)."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ash.export.contract import (
    HORIZON_UNIT,
    KEY_PREFIX,
    OPTIONAL_KEYS,
    PLUGIN_ENTRY_FIELDS,
    REFERENCE_PRICES,
    REQUIRED_KEYS,
    SUPPORTED_CONTRACT_VERSIONS,
    ValueKind,
)
from ash.export.violations import Violation


def encode_metadata(values: Mapping[str, Any]) -> dict[str, str]:
    """JSON-encode each value; keys must be in the ``ash.`` namespace."""
    encoded: dict[str, str] = {}
    for key, value in values.items():
        if not key.startswith(KEY_PREFIX):
            raise ValueError(f"metadata key {key!r} must start with {KEY_PREFIX!r}")
        encoded[key] = json.dumps(value, allow_nan=False, sort_keys=True)
    return encoded


# Deepest nesting of arrays/objects accepted in a metadata value (the Rust runtime's
# MAX_JSON_DEPTH): deeper values are bad JSON for both, never a RecursionError or stack overflow.
MAX_JSON_DEPTH = 64
I64_MIN, U64_MAX = -(1 << 63), (1 << 64) - 1


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; standard JSON (and the Rust runtime) does not.
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: serde_json says "number out of range"
        raise ValueError(f"number {text[:40]} out of range")
    return value


def _parse_int(text: str) -> int | float:
    # serde_json keeps integers that fit i64/u64 and reads any other integer as a float.
    value = int(text)
    if I64_MIN <= value <= U64_MAX:
        return value
    try:
        return _parse_float(text)
    except OverflowError:
        raise ValueError(f"number {text[:40]} out of range") from None


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_value(raw: str) -> Any:
    """One metadata value, parsed exactly as the Rust runtime parses it (ValueError if bad)."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(
        raw, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and not isinstance(v, bool) and math.isfinite(v)


def _contract(v: Any) -> str | None:
    return None if _is_int(v) else "must be a JSON integer (the contract version, 1)"


def _columns(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must be a non-empty JSON array of column names"
    if not all(isinstance(c, str) and c for c in v):
        return "every column name must be a non-empty string"
    dupes = sorted({c for c in v if v.count(c) > 1})
    if dupes:
        return f"duplicate column names: {', '.join(dupes)}"
    return None


def _positive_int(v: Any) -> str | None:
    return None if _is_int(v) and v >= 1 else f"must be a JSON integer >= 1, got {v!r}"


def _buckets(v: Any) -> str | None:
    return None if _is_int(v) and v >= 2 else f"must be a JSON integer >= 2, got {v!r}"


def _positive_number(v: Any) -> str | None:
    return None if _is_number(v) and v > 0 else f"must be a JSON number > 0, got {v!r}"


def _horizons(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must be a non-empty JSON array of horizons in seconds"
    if not all(_is_number(h) and h > 0 for h in v):
        return f"every horizon must be a number > 0, got {v!r}"
    if any(b <= a for a, b in itertools.pairwise(v)):
        return f"horizons must be strictly increasing, got {v!r}"
    return None


def _horizon_unit(v: Any) -> str | None:
    return None if v == HORIZON_UNIT else f"must be the JSON string {HORIZON_UNIT!r}, got {v!r}"


def _reference_price(v: Any) -> str | None:
    if v in REFERENCE_PRICES:
        return None
    return f"must be one of {', '.join(repr(r) for r in REFERENCE_PRICES)}, got {v!r}"


def _nonempty_str(v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"must be a non-empty JSON string, got {v!r}"


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else f"must be a JSON string, got {v!r}"


def _plugins(v: Any) -> str | None:
    if not isinstance(v, list):
        return "must be a JSON array of {kind, name, distribution, version} objects"
    for i, entry in enumerate(v):
        if not isinstance(entry, dict):
            return f"entry {i} must be an object, got {entry!r}"
        missing = [f for f in PLUGIN_ENTRY_FIELDS if not isinstance(entry.get(f), str)]
        if missing:
            return f"entry {i} needs string fields {', '.join(missing)}"
    return None


def _object(v: Any) -> str | None:
    return None if isinstance(v, dict) else f"must be a JSON object, got {v!r}"


CHECKS: dict[ValueKind, Callable[[Any], str | None]] = {
    "contract": _contract,
    "columns": _columns,
    "positive_int": _positive_int,
    "buckets": _buckets,
    "positive_number": _positive_number,
    "horizons": _horizons,
    "horizon_unit": _horizon_unit,
    "reference_price": _reference_price,
    "nonempty_str": _nonempty_str,
    "str": _str,
    "plugins": _plugins,
    "object": _object,
}


def _clip(raw: str) -> str:
    return repr(raw) if len(raw) <= 200 else f"{raw[:200]!r}... ({len(raw):,} characters)"


def check_metadata(props: Mapping[str, str]) -> tuple[dict[str, Any], list[Violation]]:
    """Parse the contract keys; return the good values and a violation for every bad one."""
    parsed: dict[str, Any] = {}
    violations: list[Violation] = []
    for key, kind in {**REQUIRED_KEYS, **OPTIONAL_KEYS}.items():
        if key not in props:
            if key in REQUIRED_KEYS:
                violations.append(
                    Violation(f"missing-metadata:{key}", f"required metadata key {key} is absent")
                )
            continue
        raw = props[key]
        try:
            value = parse_value(raw)
        except ValueError as exc:
            violations.append(
                Violation(
                    f"bad-metadata-json:{key}",
                    f"metadata {key} = {_clip(raw)} is not valid JSON ({exc}); values are JSON "
                    'texts, e.g. strings need quotes: "\\"mid\\""',
                )
            )
            continue
        problem = CHECKS[kind](value)
        if problem is not None:
            violations.append(Violation(f"bad-metadata-value:{key}", f"metadata {key} {problem}"))
            continue
        parsed[key] = value
    version = parsed.get("ash.contract")
    if version is not None and version not in SUPPORTED_CONTRACT_VERSIONS:
        violations.append(
            Violation(
                "unsupported-contract",
                f"ash.contract = {version}; this validator supports contract versions "
                f"{sorted(SUPPORTED_CONTRACT_VERSIONS)}",
            )
        )
    return parsed, violations
