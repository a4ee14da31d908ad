"""Find which plugin component makes an export fail, and which operator it uses.

When ``torch.onnx.export`` fails on a whole model, each plugin component inside it is exported on
its own with the inputs it received in a forward pass; the deepest component that fails alone is
the culprit. Its kind, name and distribution go into the error, with the unsupported operator.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from ash.export.provenance import ComponentRef, find_components
from ash.onnx_io import export_onnx

_OPERATOR = re.compile(r"operator '([\w:.]+)'|(aten::\w+)|(prim::\w+)")


def operator_of(exc: BaseException) -> str | None:
    """The operator an exporter error is about (``aten::cummax``), when the message says."""
    match = _OPERATOR.search(str(exc))
    if match is None:
        return None
    return next(group for group in match.groups() if group)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def try_export(module: nn.Module, args: tuple[Any, ...], opset: int) -> BaseException | None:
    """Export ``module`` to a throw-away buffer; the exception, or None when it exports."""
    try:
        export_onnx(module, args, opset=opset)
    except Exception as exc:  # the exporter raises many types; we only report it
        return exc
    return None


def _capture_inputs(
    model: nn.Module, refs: list[ComponentRef], example: torch.Tensor
) -> dict[str, tuple[Any, ...]]:
    modules = dict(model.named_modules())
    captured: dict[str, tuple[Any, ...]] = {}
    handles = []
    for ref in refs:

        def hook(_m: nn.Module, args: tuple[Any, ...], _path: str = ref.path) -> None:
            captured.setdefault(_path, args)

        handles.append(modules[ref.path].register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return captured


def explain_export_failure(
    model: nn.Module, example: torch.Tensor, opset: int, error: BaseException
) -> str:
    """A message naming the failing component (kind, name, plugin) and the operator."""
    op = operator_of(error)
    op_text = f"operator {op}" if op else "an operation"
    refs = find_components(model)
    captured = _capture_inputs(model, refs, example) if refs else {}
    modules = dict(model.named_modules())
    culprits: list[tuple[ComponentRef, BaseException]] = []
    for ref in refs:
        args = captured.get(ref.path)
        if not ref.path or args is None:
            continue  # the model itself failed already; components never called can't fail
        failure = try_export(modules[ref.path], args, opset)
        if failure is not None:
            culprits.append((ref, failure))
    if culprits:
        ref, failure = max(culprits, key=lambda c: c[0].path.count("."))
        sub_op = operator_of(failure) or op
        return (
            f"cannot export the model to ONNX (opset {opset}): {ref.describe()} uses "
            f"{'operator ' + sub_op if sub_op else 'an operation'} that the ONNX exporter does "
            f"not support ({first_line(failure)}). Rewrite that component with exportable "
            "torch operations (see docs/contract.md)."
        )
    return (
        f"cannot export the model to ONNX (opset {opset}): {op_text} failed "
        f"({first_line(error)}); no single plugin component fails on its own, so the failure is "
        f"in the glue of {type(model).__name__}."
    )
