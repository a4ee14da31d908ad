"""Hypothesis strategies: random, messy event streams of one symbol around the NY open."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from ash.bars.columns import OPTION_COLUMNS
from ash.bars.events import NAT, QUOTE, SURFACE, TRADE, EventStream
from ash.bars.spec import BarSpec

BASE_NS = int(pd.Timestamp("2013-10-07 09:29:50", tz="America/New_York").value)
_PRICES = [99.97, 99.98, 99.99, 100.0, 100.01, 100.02, 100.03]
_BAD_PRICES = [float("nan"), 0.0, -1.0, float("inf")]
_SIZES = [1.0, 100.0, 250.0, 1e12]
_BAD_SIZES = [0.0, -5.0, float("nan"), 2e15]


@st.composite
def event_rows(draw: st.DrawFn, clean: bool = False) -> dict[str, object]:
    kind = draw(st.sampled_from([TRADE] * 6 + [QUOTE] * 3 + [SURFACE]))
    step_ms = draw(
        st.one_of(
            st.integers(0, 1500),
            st.just(0),
            st.sampled_from([350_000, 3_000, 86_400_000]) if not clean else st.just(1),
            st.integers(-4000, -1) if not clean else st.just(2),
        )
    )
    bad = not clean and draw(st.integers(0, 9)) == 0
    if kind == TRADE:
        which = draw(st.sampled_from(["price", "size", "side"])) if bad else ""
        price = draw(st.sampled_from(_BAD_PRICES if which == "price" else _PRICES))
        size = draw(st.sampled_from(_BAD_SIZES if which == "size" else _SIZES))
        side = draw(st.sampled_from([2.0, -3.0] if which == "side" else [0.0, 0.0, 0.0, 1.0, -1.0]))
        x = (price, size, side, float("nan"))
    elif kind == QUOTE:
        bid = draw(st.sampled_from(_PRICES[:-1]))
        ask = bid + draw(
            st.sampled_from([0.01, 0.02, 0.0] + ([-0.02, float("nan")] if bad else []))
        )
        x = (bid, ask, draw(st.sampled_from([100.0, 500.0])), draw(st.sampled_from([0.0, 300.0])))
    else:
        x = (float("nan"),) * 4
    surface = [draw(st.sampled_from([0.2, 0.25, float("nan")])) for _ in range(3)]
    nat = not clean and draw(st.integers(0, 40)) == 0
    return {"kind": kind, "step_ms": step_ms, "x": x, "surface": surface, "nat": nat}


def to_stream(rows: list[dict[str, object]]) -> EventStream:
    n = len(rows)
    ts = np.empty(n, dtype=np.int64)
    t = BASE_NS
    xs = np.full((4, n), np.nan)
    kinds = np.empty(n, dtype=np.int8)
    surface = []
    for i, row in enumerate(rows):
        t += int(row["step_ms"]) * 1_000_000 + 137  # type: ignore[call-overload]
        ts[i] = NAT if row["nat"] else t
        kinds[i] = int(row["kind"])  # type: ignore[call-overload]
        xs[:, i] = row["x"]  # type: ignore[assignment]
        if kinds[i] == SURFACE:
            values = np.full(len(OPTION_COLUMNS), np.nan)
            values[:3] = row["surface"]  # type: ignore[assignment]
            values[-1] = 0.5
            surface.append(values)
    return EventStream(
        kind=kinds,
        ts_ns=ts,
        x0=xs[0],
        x1=xs[1],
        x2=xs[2],
        x3=xs[3],
        surface=np.array(surface).reshape(-1, len(OPTION_COLUMNS)),
    )


def streams(
    min_size: int = 0, max_size: int = 60, clean: bool = False
) -> st.SearchStrategy[EventStream]:
    return st.lists(event_rows(clean=clean), min_size=min_size, max_size=max_size).map(to_stream)


specs = st.builds(
    BarSpec,
    seconds=st.sampled_from([1.0, 0.1, 5.0]),
    gap_seconds=st.sampled_from([300.0, 5.0]),
    session=st.sampled_from([None, "09:30-09:45"]),
)
