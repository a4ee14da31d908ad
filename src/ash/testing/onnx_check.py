"""Torch → ONNX export of a single module and a parity run in ONNX Runtime (CPU)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ash import onnx_io
from ash.testing.errors import ConformanceError

OPSET = onnx_io.OPSET


def export_onnx(
    module: nn.Module,
    example: torch.Tensor,
    *,
    what: str,
    input_name: str = "input",
    output_names: Sequence[str] = ("output",),
) -> bytes:
    """Export ``module(example)`` with a dynamic batch axis (TorchScript exporter, opset 17)."""
    try:
        return onnx_io.export_onnx(
            module, (example,), input_names=[input_name], output_names=output_names, opset=OPSET
        )
    except Exception as exc:
        raise ConformanceError(
            f"{what}: torch.onnx.export (opset {OPSET}, dynamo=False) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def run_onnx(model_bytes: bytes, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run an ONNX model on one CPU thread."""
    session = onnx_io.cpu_session(model_bytes)
    return [np.asarray(o) for o in session.run(None, inputs)]


def check_onnx_parity(
    module: nn.Module,
    export_input: torch.Tensor,
    test_input: torch.Tensor,
    *,
    what: str,
    output_names: Sequence[str] = ("output",),
    rtol: float = 1e-4,
    atol: float = 1e-4,
) -> float:
    """Export on ``export_input``, run ONNX Runtime on ``test_input`` (another batch size, so the
    batch axis must really be dynamic) and compare with torch. Returns the max abs difference."""
    module = module.eval()
    model_bytes = export_onnx(module, export_input, what=what, output_names=output_names)
    with torch.no_grad():
        expected = module(test_input)
    expected_list = list(expected) if isinstance(expected, tuple) else [expected]
    try:
        got = run_onnx(model_bytes, {"input": test_input.numpy()})
    except Exception as exc:
        raise ConformanceError(
            f"{what}: the exported graph does not run in ONNX Runtime: {type(exc).__name__}: {exc}"
        ) from exc
    worst = 0.0
    for name, ref, out in zip(output_names, expected_list, got, strict=True):
        ref_np = ref.detach().numpy()
        if ref_np.shape != out.shape:
            raise ConformanceError(
                f"{what}: ONNX output {name!r} has shape {out.shape}, torch gives {ref_np.shape}"
            )
        diff = np.abs(ref_np - out)
        scale = atol + rtol * np.abs(ref_np)
        if not np.all(diff <= scale):
            i = np.unravel_index(int(np.argmax(diff - scale)), diff.shape)
            raise ConformanceError(
                f"{what}: ONNX Runtime and torch disagree on {name!r} at index {i}: "
                f"{out[i]!r} vs {ref_np[i]!r} (tolerance atol={atol}, rtol={rtol})"
            )
        worst = max(worst, float(diff.max(initial=0.0)))
    return worst
