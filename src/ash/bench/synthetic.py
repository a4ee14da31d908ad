"""Benchmark: seconds per simulated session and events per session, plus oracle throughput.

``python -m ash.bench.synthetic [--repeats 5] [--preset default]`` prints medians over repeats,
next to a reference measured in the same run (drawing the session's fine-grid normal variates
with numpy), so the figure can be read as a ratio on a noisy machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.oracle import Oracle
from ash.synthetic.simulator import Simulator
from ash.synthetic.validate import DEFAULT_HORIZONS, bar_ends, uniform_edges


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def simulate_session(cfg: SyntheticConfig) -> dict[str, int]:
    """Simulate session 0 from scratch: latent paths and every event table."""
    sim = Simulator(cfg)
    counts = {}
    for symbol in [cfg.symbol, *([cfg.context_symbol] if cfg.context_symbol else [])]:
        for kind in ("quotes", "trades"):
            counts[f"{kind}:{symbol}"] = len(sim.events(0, kind, symbol))
    if cfg.options:
        counts[f"options:{cfg.symbol}"] = len(sim.events(0, "options", cfg.symbol))
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default="default", choices=["calm", "default", "stressed"])
    parser.add_argument("--oracle-rows", type=int, default=500)
    args = parser.parse_args(argv)
    cfg = SyntheticConfig(preset=args.preset, n_days=1)
    sim = Simulator(cfg)
    n_fine = sim.dyn.n_fine

    def reference() -> None:  # the floor: the session's fine-grid normals (price, drift, index)
        np.random.default_rng(0).standard_normal(4 * n_fine)

    counts = simulate_session(cfg)
    t_ref = _median_time(reference, args.repeats)
    t_latent = _median_time(lambda: Simulator(cfg).latent(0), args.repeats)
    t_day = _median_time(lambda: simulate_session(cfg), args.repeats)

    oracle = Oracle(sim)
    ts = bar_ends(sim, [0], 1.0)[:: max(1, len(bar_ends(sim, [0], 1.0)) // args.oracle_rows)]
    ts = ts[: args.oracle_rows]
    edges = uniform_edges(DEFAULT_HORIZONS, len(ts))
    t_oracle = _median_time(
        lambda: oracle.probabilities(cfg.symbol, ts, DEFAULT_HORIZONS, edges),
        max(1, args.repeats // 2),
    )
    events = sum(counts.values())
    print(
        f"synthetic market benchmark (preset={args.preset}, session {cfg.session_seconds:.0f} s, "
        f"median of {args.repeats})"
    )
    rows = [
        ("reference: 4 x fine-grid normals (numpy)", t_ref),
        ("latent paths, one session", t_latent),
        ("one session, all events (both symbols + chain)", t_day),
    ]
    print(f"{'what':<48} {'seconds':>9} {'x reference':>12}")
    for label, t in rows:
        print(f"{label:<48} {t:>9.4f} {t / t_ref:>12.1f}")
    print(f"events per session: {events:,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())})")
    n_pred = len(ts) * len(DEFAULT_HORIZONS)
    print(
        f"oracle: {len(ts)} bar ends x {len(DEFAULT_HORIZONS)} horizons x "
        f"{edges.shape[2] - 1} buckets, {cfg.oracle_samples} MC paths: {t_oracle:.3f} s "
        f"({n_pred / t_oracle:,.0f} distributions/s)"
    )


if __name__ == "__main__":
    main()
