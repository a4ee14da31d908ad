"""Conformance checks for a model family (docs/families.md).

A fitted family is fitted on a small synthetic problem whose answer depends on the first design
column, then must: predict finite float32 ``[B, H, K]`` logits; predict the same after its state
went through ``state_bytes``/``load_state_bytes`` (what a checkpoint does); and export an ONNX
fragment with input ``x`` and output ``head`` that ONNX Runtime evaluates to its Python
prediction within the contract's parity tolerance. The neural family only needs its marker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ash.export.contract import EXPORT_OPSET, PARITY_TOLERANCE
from ash.interfaces import ComponentConfig, Family, FamilyData
from ash.onnx_io import cpu_session
from ash.testing.config_check import default_config
from ash.testing.errors import ConformanceError


def family_problem(n: int, n_inputs: int, n_horizons: int, n_buckets: int, seed: int) -> FamilyData:
    """Rows whose bucket moves with ``x[:, 0]`` (a family that learns must beat the base)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_inputs)).astype(np.float32)
    centre = (n_buckets - 1) / 2 + x[:, :1] * n_buckets / 5
    y = np.clip(np.round(centre + rng.normal(size=(n, n_horizons))), 0, n_buckets - 1)
    y = y.astype(np.int64)
    y[rng.random(y.shape) < 0.02] = -1  # a few missing targets, as at session ends
    base = np.full((n, n_horizons, n_buckets), -np.log(n_buckets), dtype=np.float32)
    return FamilyData(x, y, base)


def _nll(logits: np.ndarray, data: FamilyData) -> float:
    z = data.base + logits
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    mask = data.y >= 0
    picked = np.take_along_axis(logp, np.clip(data.y, 0, None)[..., None], -1)[..., 0]
    return float(-(picked * mask).sum() / mask.sum())


def check_family(
    cls: type[Family[Any]],
    config: ComponentConfig | None = None,
    *,
    n_inputs: int = 6,
    n_horizons: int = 2,
    n_buckets: int = 7,
    rows: int = 3000,
    learns: bool = True,
) -> None:
    """Fit, predict, state round-trip and ONNX parity of a fitted family (see module doc);
    ``learns``: the fitted family must beat the uniform base on held-out rows."""
    cfg = config if config is not None else default_config(cls)
    family = cls(cfg, n_horizons, n_buckets)
    if family.gradient:
        return  # the backbone + heads are checked by check_backbone and check_model
    train = family_problem(rows, n_inputs, n_horizons, n_buckets, 0)
    val = family_problem(rows // 3, n_inputs, n_horizons, n_buckets, 1)
    test = family_problem(rows // 3, n_inputs, n_horizons, n_buckets, 2)
    report = family.fit(train, val)
    if not isinstance(report, dict):
        raise ConformanceError(f"family {cls.name!r}: fit must return a dict of scalars")
    with torch.no_grad():
        out = family(torch.from_numpy(test.x))
    want = (len(test.x), n_horizons, n_buckets)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConformanceError(f"family {cls.name!r}: forward must return {want}, got {got}")
    if out.dtype != torch.float32 or not torch.isfinite(out).all():
        raise ConformanceError(f"family {cls.name!r}: forward must return finite float32 logits")
    logits = out.numpy()
    if learns and _nll(logits, test) >= _nll(np.zeros_like(logits), test) - 1e-3:
        raise ConformanceError(
            f"family {cls.name!r}: after fit it does not beat the base on held-out rows whose "
            "bucket depends on x[:, 0] (does fit use the targets?)"
        )
    twin = cls(cfg, n_horizons, n_buckets)
    twin.load_state_bytes(family.state_bytes())
    with torch.no_grad():
        again = twin(torch.from_numpy(test.x)).numpy()
    if not np.array_equal(again, logits):
        raise ConformanceError(
            f"family {cls.name!r}: predictions change after state_bytes → load_state_bytes "
            f"(max diff {np.abs(again - logits).max():.3g}); the checkpoint would not restore it"
        )
    check_family_onnx(family, test.x)


def check_family_onnx(family: Family[Any], x: np.ndarray) -> float:
    """ONNX Runtime on the family's fragment vs its Python prediction; returns the max abs
    difference of the bucket probabilities (uniform base), raising beyond the tolerance."""
    fragment = family.to_onnx(x.shape[1], EXPORT_OPSET)
    names = ([i.name for i in fragment.graph.input], [o.name for o in fragment.graph.output])
    if names != (["x"], ["head"]):
        raise ConformanceError(
            f"family {family.name!r}: to_onnx must give input ['x'] and output ['head'], got "
            f"inputs {names[0]} and outputs {names[1]}"
        )
    onnx_head = cpu_session(fragment.SerializeToString()).run(["head"], {"x": x})[0]
    with torch.no_grad():
        py_head = family(torch.from_numpy(x)).numpy()
    diff = float(
        np.abs(
            torch.softmax(torch.from_numpy(onnx_head).double(), -1).numpy()
            - torch.softmax(torch.from_numpy(py_head).double(), -1).numpy()
        ).max()
    )
    if diff > PARITY_TOLERANCE:
        raise ConformanceError(
            f"family {family.name!r}: its ONNX fragment and its Python prediction differ by "
            f"{diff:.3g} in probability (> {PARITY_TOLERANCE:g}); the export would be refused"
        )
    return diff
