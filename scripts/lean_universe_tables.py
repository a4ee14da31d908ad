"""Markdown tables of docs/results.md "Four symbols, real data" from evaluated run folders.

    python scripts/lean_universe_tables.py POOLED_RUN [--single SYMBOL=RUN ...]
        [--ctx-without RUN --ctx-with RUN]

Reads each run's metrics.json (``evaluation.test.by_symbol``); prints per symbol and horizon the
test NLL of the model, climatology and the EWMA Gaussian on the lattice, model − better baseline
± 2 se, test ECE before → after calibration and the shrinkage λ; then pooled vs single-symbol
models and with vs without context, each against its own run's better baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

BASELINES = ("climatology", "ewma_gaussian", "ewma_gaussian_lattice")


def load(run: str) -> dict[str, Any]:
    return json.loads((Path(run) / "metrics.json").read_text())  # type: ignore[no-any-return]


def mark(d: float, se: float) -> str:
    sign = " ✓" if d + 2 * se < 0 else (" ✗" if d - 2 * se > 0 else "")
    return f"{d:+.4f} ± {2 * se:.4f}{sign}"


def versus_best(cell: dict[str, Any]) -> tuple[str, float, float]:
    best = min((b for b in BASELINES if b in cell["nll"]), key=lambda b: cell["nll"][b])
    d, se = cell["minus"][best]
    return best, d, se


def by_symbol(metrics: dict[str, Any]) -> dict[str, Any]:
    test = metrics["evaluation"]["test"]
    if test.get("by_symbol"):
        return test["by_symbol"]  # type: ignore[no-any-return]
    raise SystemExit("run has no per-symbol scores: evaluate it with this version of ash")


def per_symbol_tables(metrics: dict[str, Any]) -> None:
    val = metrics["val"]
    for symbol, cells in by_symbol(metrics).items():
        print(f"\n**{symbol}**\n")
        print(
            "| horizon | n | model | climatology | EWMA lattice | model − better baseline "
            "± 2 se | ECE uncal. → cal. | λ |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for key, cell in cells.items():
            best, d, se = versus_best(cell)
            nll = cell["nll"]
            print(
                f"| {key[1:]} s | {cell['n']} | {nll['model']:.4f} | {nll['climatology']:.4f} | "
                f"{nll['ewma_gaussian_lattice']:.4f} | {mark(d, se)} ({best}) | "
                f"{cell['ece_uncalibrated']:.3f} → {cell['ece']:.3f} | "
                f"{val.get('calibration_shrink_' + key, float('nan')):.2f} |"
            )


def comparison(
    title: str, left: dict[str, Any], right: dict[str, Any], names: tuple[str, str]
) -> None:
    print(f"\n{title}\n")
    print(
        f"| symbol | horizon | NLL {names[0]} | NLL {names[1]} | {names[0]} − best baseline "
        f"| {names[1]} − best baseline |"
    )
    print("|---|---|---|---|---|---|")
    for symbol, cells in right.items():
        for key, cell in cells.items():
            other = left.get(symbol, {}).get(key)
            if other is None:
                continue
            _, d0, s0 = versus_best(other)
            _, d1, s1 = versus_best(cell)
            print(
                f"| {symbol} | {key[1:]} s | {other['nll']['model']:.4f} | "
                f"{cell['nll']['model']:.4f} | {mark(d0, s0)} | {mark(d1, s1)} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pooled")
    parser.add_argument("--single", action="extend", nargs="+", default=[], help="SYMBOL=RUN")
    parser.add_argument("--ctx-without")
    parser.add_argument("--ctx-with")
    args = parser.parse_args()
    pooled = load(args.pooled)
    per_symbol_tables(pooled)
    if args.single:
        singles: dict[str, Any] = {}
        for item in args.single:
            symbol, run = item.split("=", 1)
            singles[symbol] = by_symbol(load(run))[symbol]
        comparison(
            "Pooled vs single-symbol models (test 10-09):",
            by_symbol(pooled),
            singles,
            ("pooled", "single"),
        )
    if args.ctx_without and args.ctx_with:
        comparison(
            "Without vs with SPY context (test 10-09):",
            by_symbol(load(args.ctx_without)),
            by_symbol(load(args.ctx_with)),
            ("without", "with"),
        )


if __name__ == "__main__":
    main()
