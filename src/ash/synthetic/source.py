"""The ``synthetic`` source: simulated trades, quotes and option chains, plus the oracle."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import pandas as pd

from ash.data.schema import SCHEMAS
from ash.interfaces import EventKind, Source
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.oracle import Oracle
from ash.synthetic.simulator import Simulator, simulator_for


class SyntheticSource(Source[SyntheticConfig]):
    """A market with known dynamics (docs/synthetic.md); deterministic given ``seed``."""

    name: ClassVar[str] = "synthetic"

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        if config is not None and not isinstance(config, SyntheticConfig):  # untyped callers
            raise TypeError(f"SyntheticSource needs a SyntheticConfig, got {type(config).__name__}")
        super().__init__(config or SyntheticConfig())
        self.cfg = self.config

    @property
    def simulator(self) -> Simulator:
        """The shared, cached simulator of this config."""
        return simulator_for(self.cfg)

    def event_kinds(self) -> frozenset[EventKind]:
        kinds: set[EventKind] = {"trades", "quotes"}
        if self.cfg.options:
            kinds.add("options")
        return frozenset(kinds)

    def symbols(self) -> list[str]:
        out = [self.cfg.symbol]
        if self.cfg.context_symbol is not None:
            out.append(self.cfg.context_symbol)
        return out

    def oracle(self) -> Oracle:
        return Oracle(self.simulator)

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield events of ``kind`` in ``[start, end)`` in time-ordered chunks (per session)."""
        if kind not in SCHEMAS:
            raise ValueError(f"unknown event kind {kind!r}; use one of {sorted(SCHEMAS)}")
        if kind not in self.event_kinds():
            raise ValueError(
                f"this synthetic source has no {kind!r} events (options: false in its config)"
            )
        if isinstance(symbols, str):
            raise TypeError(f"symbols must be a list of names, got the string {symbols!r}")
        unknown = [s for s in symbols if s not in self.symbols()]
        if unknown:
            raise KeyError(f"unknown symbols {unknown}; the synthetic source has {self.symbols()}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        lo = _utc_ns(start, "start")
        hi = _utc_ns(end, "end")
        wanted = list(dict.fromkeys(symbols))
        if kind == "options":
            wanted = [s for s in wanted if s == self.cfg.symbol]  # only the stock has options
        if not wanted:
            return
        sim = self.simulator
        for day in range(sim.n_days):
            if (hi is not None and sim.opens_ns[day] >= hi) or (
                lo is not None and sim.close_ns(day) < lo
            ):
                continue
            frames = [sim.events(day, kind, s) for s in wanted]
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            if len(frames) > 1:
                frame = frame.sort_values("ts", kind="stable", ignore_index=True)
            ts = pd.DatetimeIndex(frame["ts"]).asi8
            keep = None
            if lo is not None:
                keep = ts >= lo
            if hi is not None:
                keep = (ts < hi) if keep is None else keep & (ts < hi)
            if keep is not None:
                frame = frame.loc[keep].reset_index(drop=True)
            for s in range(0, len(frame), chunk_rows):
                # a copy: callers may modify chunks, the cached frame must not change
                yield frame.iloc[s : s + chunk_rows].reset_index(drop=True).copy()


def _utc_ns(ts: pd.Timestamp | None, what: str) -> int | None:
    if ts is None:
        return None
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise ValueError(
            f"{what}={stamp} has no time zone; pass a tz-aware timestamp (e.g. tz='UTC')"
        )
    return int(stamp.tz_convert("UTC").value)
