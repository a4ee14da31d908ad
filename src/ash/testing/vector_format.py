"""The file format of the bar-builder test vectors (tests/vectors/bars/*.json, docs/bars.md
"Test vectors"): events in and out of JSON, one case built from the Python builder, and the
canonical text. The cases themselves are in :mod:`ash.testing.bar_vectors`.

Non-finite input numbers are the strings "NaN", "Infinity", "-Infinity"; a missing timestamp is
null.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import numpy as np
import pandas as pd

from ash.bars.builder import build_bars_from_stream
from ash.bars.columns import BAR_COLUMNS_VERSION, OPTION_COLUMNS
from ash.bars.events import KIND_NAMES, NAT, QUOTE, SURFACE, TRADE, EventStream
from ash.bars.spec import BarSpec

FORMAT: Final[str] = "ash.bars.vectors/1"
_TZ: Final[str] = "America/New_York"
Json = dict[str, Any]


def local_ns(local: str) -> int:
    """UTC ns of a New York wall-clock time like '2013-10-07 09:30:00.250'."""
    return int(pd.Timestamp(local).tz_localize(_TZ).value)


def _num(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _parse_num(value: float | int | str | None) -> float:
    if value is None or value == "NaN":
        return math.nan
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    if isinstance(value, str):
        raise ValueError(f"unexpected number encoding {value!r} in a bar vector")
    return float(value)


class Events:
    """Builds an arrival-ordered stream event by event (the order given is the arrival order)."""

    def __init__(self) -> None:
        self.rows: list[Json] = []

    def trade(self, t: str | int | None, price: float, size: float, side: int = 0) -> Events:
        self.rows.append(
            {"kind": "trade", "ts_ns": _ts(t), "price": price, "size": size, "side": side}
        )
        return self

    def quote(
        self,
        t: str | int | None,
        bid: float,
        ask: float,
        bid_size: float = 100.0,
        ask_size: float = 100.0,
    ) -> Events:
        self.rows.append(
            {
                "kind": "quote",
                "ts_ns": _ts(t),
                "bid": bid,
                "ask": ask,
                "bid_size": bid_size,
                "ask_size": ask_size,
            }
        )
        return self

    def surface(self, t: str | int | None, **values: float) -> Events:
        unknown = set(values) - set(OPTION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown option columns {sorted(unknown)}")
        self.rows.append({"kind": "surface", "ts_ns": _ts(t), "values": values})
        return self


def _ts(t: str | int | None) -> int | None:
    if t is None:
        return None
    return t if isinstance(t, int) else local_ns(t)


def events_to_json(rows: list[Json]) -> list[Json]:
    """Encode event rows with the vector number encoding (all option columns listed)."""
    out = []
    for row in rows:
        encoded: Json = {"kind": row["kind"], "ts_ns": row["ts_ns"]}
        if row["kind"] == "surface":
            encoded["values"] = {c: _num(row["values"].get(c, math.nan)) for c in OPTION_COLUMNS}
        else:
            for key, value in row.items():
                if key not in ("kind", "ts_ns"):
                    encoded[key] = _num(float(value))
        out.append(encoded)
    return out


def stream_from_json(events: list[Json]) -> EventStream:
    """The EventStream of a vector's ``events`` list."""
    n = len(events)
    kinds = {v: k for k, v in KIND_NAMES.items()}
    kind = np.empty(n, dtype=np.int8)
    ts = np.empty(n, dtype=np.int64)
    xs = np.full((4, n), np.nan)
    surface = []
    fields = {TRADE: ("price", "size", "side"), QUOTE: ("bid", "ask", "bid_size", "ask_size")}
    for i, event in enumerate(events):
        try:
            k = kinds[event["kind"]]
        except KeyError:
            raise ValueError(f"event {i}: unknown kind {event.get('kind')!r}") from None
        kind[i] = k
        ts[i] = NAT if event["ts_ns"] is None else int(event["ts_ns"])
        if k == SURFACE:
            surface.append([_parse_num(event["values"][c]) for c in OPTION_COLUMNS])
        else:
            for j, name in enumerate(fields[k]):
                xs[j, i] = _parse_num(event[name])
    return EventStream(
        kind=kind,
        ts_ns=ts,
        x0=xs[0],
        x1=xs[1],
        x2=xs[2],
        x3=xs[3],
        surface=np.array(surface, dtype=np.float64).reshape(-1, len(OPTION_COLUMNS)),
    )


def make_case(
    name: str,
    description: str,
    spec: BarSpec,
    events: list[Json],
    context_events: list[Json] | None = None,
) -> Json:
    """A complete vector: inputs plus what the Python builder produces for them.

    ``context_events`` are a context symbol's events: its bars (same spec) fill the ctx_*
    columns of the expected bars, as ``data.context_symbol`` does in the pipeline.
    """
    encoded = events_to_json(events)
    stream = stream_from_json(encoded)
    context = None
    extra: Json = {}
    if context_events is not None:
        extra["context_events"] = events_to_json(context_events)
        context = build_bars_from_stream(stream_from_json(extra["context_events"]), spec)
    bars = build_bars_from_stream(stream, spec, options=bool(len(stream.surface)), context=context)
    if not np.isfinite(bars.values).all():
        raise AssertionError(f"vector {name}: the builder produced non-finite bar values")
    return {
        "format": FORMAT,
        "bar_columns_version": BAR_COLUMNS_VERSION,
        "name": name,
        "description": description,
        "spec": spec.model_dump(mode="json"),
        "columns": list(bars.columns),
        "events": encoded,
        **extra,
        "expected": {
            "bars": [
                {"ts_ns": int(t), "values": [float(v) for v in row]}
                for t, row in zip(bars.ts_ns, bars.values, strict=True)
            ],
            "segment_starts": [int(i) for i in bars.segment_starts],
            "accepted": {
                "trades": bars.stats.accepted_trades,
                "quotes": bars.stats.accepted_quotes,
                "surface": bars.stats.accepted_surface,
            },
            "rejected": dict(bars.stats.rejected),
            **(
                {}
                if context is None
                else {
                    "context_bars": len(context),
                    "context_rejected": dict(context.stats.rejected),
                }
            ),
        },
    }


def dumps(case: Json) -> str:
    """Canonical text of a vector file: stable key order, one event and one bar per line."""

    def one(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    def rows(values: list[Any]) -> str:
        return "[\n" + ",\n".join("  " + one(v) for v in values) + "\n ]" if values else "[]"

    expected = case["expected"]
    lists = ("events", "context_events")
    parts = [f" {one(k)}: {one(v)}" for k, v in case.items() if k not in (*lists, "expected")]
    parts += [f" {one(k)}: {rows(case[k])}" for k in lists if k in case]
    inner = [f"  {one(k)}: {one(v)}" for k, v in expected.items() if k != "bars"]
    inner.append(f'  "bars": {rows(expected["bars"])}')
    parts.append(' "expected": {\n' + ",\n".join(inner) + "\n }")
    return "{\n" + ",\n".join(parts) + "\n}\n"
