"""PyTorch vs ONNX Runtime parity of an exported model, per horizon, at batch 1 and batch 64."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ash.export.contract import INPUT_NAME, OUTPUT_NAMES, PARITY_TOLERANCE
from ash.onnx_io import cpu_session

BATCH_SIZES: tuple[int, ...] = (1, 64)


@dataclass(frozen=True)
class HorizonParity:
    horizon: int  # index into the model's horizons
    max_abs_diff: float  # of probs, over every window and batch size
    worst_window: int  # index into ``windows`` where it occurs
    worst_batch_size: int
    edges_max_abs_diff: float


@dataclass(frozen=True)
class ParityReport:
    tolerance: float
    windows: int
    horizons: list[HorizonParity]

    @property
    def max_abs_diff(self) -> float:
        return max(h.max_abs_diff for h in self.horizons)

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def worst(self) -> HorizonParity:
        return max(self.horizons, key=lambda h: h.max_abs_diff)

    def describe(self) -> str:
        rows = [
            f"  horizon {h.horizon}: max |Δprobs| {h.max_abs_diff:.2e} (window {h.worst_window}, "
            f"batch size {h.worst_batch_size}), max |Δedges| {h.edges_max_abs_diff:.2e}"
            for h in self.horizons
        ]
        verdict = "ok" if self.ok else "FAILED"
        return "\n".join(
            [f"parity {verdict} (tolerance {self.tolerance:g}, {self.windows} windows)", *rows]
        )


class ParityError(AssertionError):
    """ONNX Runtime and PyTorch disagree beyond the tolerance; names horizon and window."""

    def __init__(self, report: ParityReport, horizons: list[float] | None = None) -> None:
        self.report = report
        worst = report.worst()
        label = f"{horizons[worst.horizon]}s" if horizons else f"index {worst.horizon}"
        super().__init__(
            f"ONNX Runtime and PyTorch probabilities differ by {worst.max_abs_diff:.3g} > "
            f"{report.tolerance:g} at horizon {worst.horizon} ({label}), worst input window "
            f"{worst.worst_window} (batch size {worst.worst_batch_size})\n{report.describe()}"
        )


def cpu_model(model: nn.Module) -> nn.Module:
    """The model itself when it lives on the CPU, else a CPU copy (the caller's stays put)."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        return model
    return copy.deepcopy(model).cpu()


def _batches(n: int, size: int) -> list[np.ndarray]:
    """Indices of ``n`` windows in consecutive batches of ``size`` (at most 16 singles)."""
    if size == 1:
        return [np.array([i]) for i in range(min(n, 16))]
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]


def check_parity(
    model: nn.Module,
    onnx_path: str | Path,
    windows: np.ndarray,
    *,
    tolerance: float = PARITY_TOLERANCE,
    raise_on_failure: bool = True,
) -> ParityReport:
    """Compare ``model`` and the ONNX file on ``windows[N, W, C]`` at batch 1 and batch 64.

    The model is switched to eval mode (a GPU model is compared through a CPU copy).
    Batch 1 runs the first 16 windows one by one; batch 64 runs all windows in chunks of 64.
    Raises :class:`ParityError` (naming the horizon and the worst window) when the max absolute
    difference of probs exceeds ``tolerance``.
    """
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    if windows.ndim != 3 or len(windows) == 0:
        raise ValueError(
            f"windows must be a non-empty [N, window, columns] array, got "
            f"shape {list(windows.shape)}"
        )
    session = cpu_session(onnx_path)
    model = cpu_model(model).eval()
    n_h: int | None = None
    worst: dict[int, tuple[float, int, int]] = {}
    edges_worst: dict[int, float] = {}
    for size in BATCH_SIZES:
        for idx in _batches(len(windows), size):
            batch = windows[idx]
            with torch.no_grad():
                t_probs, t_edges = (t.numpy() for t in model(torch.from_numpy(batch)))
            o_probs, o_edges = session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})
            diff = np.abs(o_probs.astype(np.float64) - t_probs).max(axis=2)  # [b, H]
            ediff = np.abs(o_edges.astype(np.float64) - t_edges).max(axis=(0, 2))
            n_h = diff.shape[1]
            for h in range(n_h):
                row = int(np.argmax(diff[:, h]))
                value = float(diff[row, h])
                if h not in worst or value > worst[h][0]:
                    worst[h] = (value, int(idx[row]), size)
                edges_worst[h] = max(edges_worst.get(h, 0.0), float(ediff[h]))
    report = ParityReport(
        tolerance=tolerance,
        windows=len(windows),
        horizons=[
            HorizonParity(h, *worst[h], edges_max_abs_diff=edges_worst[h]) for h in range(n_h or 0)
        ],
    )
    if raise_on_failure and not report.ok:
        ctx = getattr(model, "ctx", None)
        raise ParityError(report, list(ctx.horizons) if ctx is not None else None)
    return report
