"""Language-neutral test vectors for other contract implementations (the Rust runtime).

``python -m ash.export.fixtures OUTDIR`` writes tiny valid models with input windows, expected
ONNX Runtime outputs and decoded summaries, one deliberately broken model per violation with
the exact set of codes a validator must report (including hostile files: a declared window of
1e9 bars, metadata nested 5,000 deep, tensors in an external data file), and the validator's
synthetic windows for a few column sets (both validators must draw them bit for bit alike).
Format: docs/contract.md, "Test vectors".
Every fixture is checked against :func:`ash.export.validate.validate_model` as it is written, so
the manifest is what the Python validator really reports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ash.export.contract import (
    CONTRACT_VERSION,
    INPUT_NAME,
    OUTPUT_NAMES,
    PARITY_TOLERANCE,
    PROBS_SUM_TOLERANCE,
)
from ash.export.decode import DEFAULT_QUANTILES, summarize
from ash.export.fixture_models import (
    BASE,
    FORMAT_VERSION,
    N_WINDOWS,
    SERVING_METADATA,
    SYNTHETIC_CASES,
    VALID_EXTRA_METADATA,
    VALID_MODELS,
    save_valid,
)
from ash.export.fixtures_invalid import write_invalid
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel
from ash.export.validate import validate_model
from ash.onnx_io import cpu_session

__all__ = ["SERVING_METADATA", "main", "write_fixtures"]


def _write_valid(out: Path) -> list[dict[str, Any]]:
    entries = []
    for seed, (name, params) in enumerate(VALID_MODELS.items()):
        model = ToyContractModel(seed=seed, **params)
        path = out / "valid" / f"{name}.onnx"
        save_valid(model, path, VALID_EXTRA_METADATA.get(name))
        columns = model.ctx.bar_columns
        bars = synthetic_bars(
            columns, model.window, N_WINDOWS, bar_seconds=model.ctx.bar_seconds, seed=100 + seed
        )
        probs, edges = cpu_session(path).run(list(OUTPUT_NAMES), {INPUT_NAME: bars})
        for suffix, array in (("inputs", bars), ("probs", probs), ("edges", edges)):
            np.save(out / "valid" / f"{name}.{suffix}.npy", np.ascontiguousarray(array, "<f4"))
        summaries = [
            [_summary_json(probs[i, h], edges[i, h]) for h in range(probs.shape[1])]
            for i in range(len(bars))
        ]
        entries.append(
            {
                "name": name,
                "model": f"valid/{name}.onnx",
                **{k: f"valid/{name}.{k}.npy" for k in ("inputs", "probs", "edges")},
                "window": model.window,
                "n_columns": len(columns),
                "n_horizons": len(model.ctx.horizons),
                "n_buckets": model.n_buckets,
                "summaries": summaries,
            }
        )
    return entries


def _write_synthetic(out: Path) -> list[dict[str, Any]]:
    """The validator's synthetic windows for each case of SYNTHETIC_CASES."""
    entries = []
    for i, (columns, window, batch, bar_seconds, seed) in enumerate(SYNTHETIC_CASES):
        bars = synthetic_bars(columns, window, batch, bar_seconds=bar_seconds, seed=seed)
        name = f"synthetic/case{i}.npy"
        np.save(out / name, np.ascontiguousarray(bars, "<f4"))
        entries.append(
            {
                "columns": list(columns),
                "window": window,
                "batch": batch,
                "bar_seconds": bar_seconds,
                "seed": seed,
                "bars": name,
            }
        )
    return entries


def _summary_json(probs: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    s = summarize(probs, edges, DEFAULT_QUANTILES)
    return {
        "mean_bps": s.mean_bps,
        "p_up": s.p_up,
        "p_flat": s.p_flat,
        "p_down": s.p_down,
        "quantiles": {str(q): v for q, v in s.quantiles.items()},
    }


def write_fixtures(out: str | Path) -> dict[str, Any]:
    """Write all fixtures and ``manifest.json`` under ``out``; verify them with the validator."""
    out = Path(out)
    (out / "valid").mkdir(parents=True, exist_ok=True)
    (out / "invalid").mkdir(parents=True, exist_ok=True)
    (out / "synthetic").mkdir(parents=True, exist_ok=True)
    valid = _write_valid(out)
    invalid = write_invalid(out, out / "valid" / f"{BASE}.onnx")
    manifest = {
        "format": FORMAT_VERSION,
        "contract": CONTRACT_VERSION,
        "probs_sum_tolerance": PROBS_SUM_TOLERANCE,
        "parity_tolerance": PARITY_TOLERANCE,
        "valid": valid,
        "invalid": invalid,
        "synthetic": _write_synthetic(out),
    }
    _self_check(out, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _self_check(out: Path, manifest: dict[str, Any]) -> None:
    """Fail loudly if the Python validator does not report exactly the manifest's codes."""
    problems = []
    for entry in manifest["valid"]:
        got = validate_model(out / entry["model"])
        if got:
            problems.append(f"valid fixture {entry['name']} is rejected: {got}")
    for entry in manifest["invalid"]:
        codes = sorted(v.code for v in validate_model(out / entry["model"]))
        if codes != entry["expected"]:
            problems.append(
                f"invalid fixture {entry['name']}: expected {entry['expected']}, "
                f"validator reports {codes}"
            )
    if problems:
        raise RuntimeError("fixture self-check failed:\n" + "\n".join(problems))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ash.export.fixtures OUTDIR", file=sys.stderr)
        return 2
    manifest = write_fixtures(argv[0])
    print(
        f"wrote {len(manifest['valid'])} valid and {len(manifest['invalid'])} invalid models "
        f"to {argv[0]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
