"""``ash ensemble RUN... --out DIR``: mix trained runs, fit the weights on validation, export one
contract model, and score it against the baselines and each member (docs/families.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ash import runs
from ash.data.windows import gather_windows, subsample
from ash.ensemble.graph import compose_ensemble, member_graph
from ash.ensemble.members import EnsembleError, Member, check_same_edges, load_members
from ash.ensemble.model import EnsembleModel, fit_weights
from ash.ensemble.table import nll_table
from ash.evaluate.predict import (
    SplitForecasts,
    fit_baselines,
    model_forecasts,
)
from ash.evaluate.run import score_with_baselines
from ash.export.contract import KEY_EXPERIMENT, KEY_METRICS
from ash.export.exporter import ExportResult, export_model
from ash.export.parity import ParityError, ParityReport, check_parity
from ash.export.run import MODEL_FILE, PARITY_WINDOWS, run_metadata
from ash.onnx_io import cpu_session
from ash.pipeline import PreparedData, make_source, prepare_data
from ash.run_files import ENSEMBLE_FILE

MODEL = "model"


@dataclass
class EnsembleResult:
    out_dir: Path
    weights: np.ndarray  # [H, M]
    members: list[str]
    export: ExportResult
    parity: ParityReport
    window: int  # bars per input: the largest member window
    evaluation: dict[str, Any] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)


def _member_probs(
    members: list[Member], prepared: PreparedData, ends: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Each member's calibrated probabilities on ``ends``, the first member's edges and ids."""
    probs, edges, ids = [], None, None
    for member in members:
        cal, _, e, i = model_forecasts(
            member.model,
            prepared,
            ends,
            feature_cache=member.resolved.experiment.train.feature_cache,
        )
        probs.append(cal)
        if edges is None:
            edges, ids = e, i
    assert edges is not None and ids is not None
    return probs, edges, ids


def _weights(probs: list[np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Per-horizon mixture weights ``[H, M]`` by validation NLL."""
    n_h = ids.shape[1]
    out = np.zeros((n_h, len(probs)))
    for h in range(n_h):
        rows = np.flatnonzero(ids[:, h] >= 0)
        target = np.stack([p[rows, h, ids[rows, h]] for p in probs], axis=1)
        out[h] = fit_weights(target)
    return out


def _check_member_exports(members: list[Member], windows: np.ndarray, opset: int) -> None:
    """Each member's graph must equal its Python predictions before it is mixed."""
    width = windows.shape[1]
    for member in members:
        graph = member_graph(member.model, opset)
        session = cpu_session(graph.SerializeToString())
        ours = windows[:, width - member.model.window :]
        with torch.no_grad():
            want = member.model(torch.from_numpy(ours))[0].numpy()
        got = session.run(["probs"], {"bars": ours})[0]
        diff = float(np.abs(got.astype(np.float64) - want).max())
        if diff > 1e-5:
            raise EnsembleError(
                f"member {member.label}: its exported graph differs from its Python "
                f"predictions by {diff:.3g} (> 1e-05) on validation windows; fix its export "
                "(ash export RUN reports the parity per horizon) before mixing it"
            )


def build_ensemble(
    run_dirs: list[Path], out_dir: Path, *, max_samples: int | None = None
) -> EnsembleResult:
    """Fit the weights on the validation span, export ``OUT/model.onnx``, check parity, and
    score val and test against the baselines and every member (never fitted on test)."""
    started = time.time()
    members = load_members([Path(r) for r in run_dirs])
    widest = max(members, key=lambda m: m.model.window)
    exp = members[0].resolved.experiment
    cfg = exp.evaluate
    max_samples = max_samples or cfg.max_samples
    prepared = prepare_data(widest.resolved, widest.model.window, runs.experiments_root())
    if prepared.fingerprint != members[0].meta.get("data_fingerprint"):
        raise EnsembleError(
            f"the members were trained on data {members[0].meta.get('data_fingerprint')}, but "
            f"the source now builds {prepared.fingerprint}; the data changed since training"
        )
    width = widest.model.window
    val_ends = subsample(prepared.samples.val, max_samples)
    bars = prepared.bars.values.astype(np.float32)
    probe = val_ends[np.linspace(0, len(val_ends) - 1, PARITY_WINDOWS).round().astype(int)]
    windows = np.asarray(gather_windows(bars, probe, width), dtype=np.float32)
    check_same_edges(members, windows)
    _check_member_exports(members, windows[:32], int(exp.export.opset))
    val_probs, _, val_ids = _member_probs(members, prepared, val_ends)
    weights = _weights(val_probs, val_ids)
    ensemble = EnsembleModel([m.model for m in members], weights).eval()

    evaluation = evaluate_ensemble(members, ensemble, prepared, max_samples, val_ends, val_probs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = run_metadata(members[0].run_dir, members[0].resolved)
    metadata[KEY_EXPERIMENT] = f"ensemble of {len(members)}: " + ", ".join(
        m.run_dir.name for m in members
    )
    metadata[KEY_METRICS] = {
        f"val_nll_h{s:g}": evaluation["val"]["forecasters"][MODEL][f"h{s:g}"]["nll"]
        for s in prepared.horizons_s
    }
    opset = int(exp.export.opset)
    result = export_model(
        ensemble,
        out_dir / MODEL_FILE,
        metadata=metadata,
        opset=opset,
        optimize=False,
        graph=lambda _model, _example, op: compose_ensemble(
            [m.model for m in members], weights, op
        ),
    )
    parity = check_parity(ensemble, result.path, windows, raise_on_failure=False)
    if not parity.ok:
        raise ParityError(parity, list(ensemble.horizons))
    table = nll_table(evaluation["forecasts"]["test"], prepared.horizons_s)
    labels = [m.label for m in members]
    summary = {
        "members": [str(m.run_dir) for m in members],
        "labels": labels,
        "window": width,
        "horizons_s": list(prepared.horizons_s),
        "weights": {
            f"h{s:g}": dict(zip(labels, w.tolist(), strict=True))
            for s, w in zip(prepared.horizons_s, weights, strict=True)
        },
        "parity_max_abs_diff": parity.max_abs_diff,
        "test_table": table,
        "seconds": time.time() - started,
    }
    runs.write_json(out_dir / ENSEMBLE_FILE, summary)
    del evaluation["forecasts"]
    runs.write_json(out_dir / runs.METRICS_FILE, {"evaluation": evaluation})
    return EnsembleResult(out_dir, weights, labels, result, parity, width, evaluation, table)


def evaluate_ensemble(
    members: list[Member],
    ensemble: EnsembleModel,
    prepared: PreparedData,
    max_samples: int | None,
    val_ends: np.ndarray,
    val_probs: list[np.ndarray],
) -> dict[str, Any]:
    """Val and test scores of the ensemble (``model``), each member and the baselines."""
    exp = members[0].resolved.experiment
    cfg = exp.evaluate
    fitted = fit_baselines(members[0].model, prepared, max_samples)
    oracle = make_source(members[0].resolved).oracle() if cfg.oracle else None
    evaluation: dict[str, Any] = {"horizons_s": list(prepared.horizons_s), "forecasts": {}}
    for split in ("val", "test"):
        if split == "val":
            ends, probs = val_ends, val_probs
            _, edges, ids = _member_probs(members[:1], prepared, ends)
        else:
            ends = subsample(prepared.samples.test, max_samples)
            probs, edges, ids = _member_probs(members, prepared, ends)
        fc = SplitForecasts(split, ends, edges, prepared.returns_bps[ends], ids)
        w = ensemble.weights.numpy().astype(np.float64)  # [H, M]
        fc.probs[MODEL] = sum(w[None, :, i, None] * p for i, p in enumerate(probs))
        for member, p in zip(members, probs, strict=True):
            fc.probs[f"member {member.label}"] = p
        evaluation[split] = score_with_baselines(fc, prepared, fitted, oracle, cfg)
        evaluation["forecasts"][split] = fc
    return evaluation
