"""The cached simulator: latent sessions (:mod:`ash.synthetic.simulate`) and their events.

A session's latent path is simulated once and kept; its quotes, trades and option snapshots are
drawn from it on demand (:mod:`ash.synthetic.ticks`, :mod:`ash.synthetic.options`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pandas as pd

from ash.synthetic import options, ticks
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import Dynamics
from ash.synthetic.simulate import (
    EVENT_FRAMES_KEPT,
    Carry,
    LatentDay,
    initial_carry,
    overnight,
    session_opens_ns,
    simulate_latent,
)


class Simulator:
    """Simulates sessions in order and keeps them (latent paths and events) in memory."""

    def __init__(self, cfg: SyntheticConfig) -> None:
        self.cfg = cfg
        self.dyn = Dynamics.from_config(cfg)
        self.dates, self.opens_ns = session_opens_ns(cfg)
        self._latent: dict[int, LatentDay] = {}
        self._carry: dict[int, Carry] = {}  # closing state of each simulated day
        # the latent paths are kept; event frames are cheap to redraw (seeded), so only a few
        # recent ones are kept to bound memory
        self._events: OrderedDict[tuple[int, str], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def close_ns(self, day: int) -> int:
        return int(self.opens_ns[day]) + round(self.cfg.session_seconds * 1e9)

    def latent(self, day: int) -> LatentDay:
        if not 0 <= day < self.n_days:
            raise IndexError(f"day {day} outside the simulated {self.n_days} sessions")
        with self._lock:
            for d in range(day + 1):
                if d in self._latent:
                    continue
                start = (
                    initial_carry(self.cfg, self.dyn)
                    if d == 0
                    else overnight(self.cfg, self.dyn, self._carry[d - 1], d)
                )
                self._latent[d], self._carry[d] = simulate_latent(
                    self.cfg, self.dyn, d, int(self.opens_ns[d]), start
                )
            return self._latent[day]

    def events(self, day: int, kind: str, symbol: str) -> pd.DataFrame:
        """Canonical events of one session (identical on every call; recent ones cached)."""
        key = (day, f"{kind}:{symbol}")
        with self._lock:
            cached = self._events.get(key)
        if cached is not None:
            return cached
        lat = self.latent(day)
        if kind == "quotes":
            frame = ticks.quotes_frame(self.cfg, self.dyn, lat, symbol)
        elif kind == "trades":
            frame = ticks.trades_frame(self.cfg, self.dyn, lat, symbol)
        elif kind == "options":
            frame = options.chain_frame(self.cfg, self.dyn, lat, self.dates[day], symbol)
        else:
            raise ValueError(f"unknown event kind {kind!r}; use trades, quotes or options")
        with self._lock:
            self._events[key] = frame
            while len(self._events) > EVENT_FRAMES_KEPT:
                self._events.popitem(last=False)
        return frame


_CACHE: OrderedDict[str, Simulator] = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def simulator_for(cfg: SyntheticConfig) -> Simulator:
    """The shared simulator of a config (keyed by its fingerprint; a few kept in memory)."""
    key = cfg.fingerprint()
    with _CACHE_LOCK:
        sim = _CACHE.get(key)
        if sim is None:
            sim = Simulator(cfg)
            _CACHE[key] = sim
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(key)
        return sim
