"""Device checks: a component's tensors must move with ``.to(device)``, and after a move every
parameter, buffer and tensor a module holds must be on the device it was moved to.

Only parameters and registered buffers move with ``module.to()``; a tensor kept as a plain
attribute (``self.w = torch.ones(3)``) stays on the CPU and breaks the first GPU training step
with "Expected all tensors to be on the same device" — invisible on a CPU-only machine. The
checks find such tensors by inspection, so a CPU-only test run catches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from ash.testing.errors import ConformanceError


def _tensors_in(value: Any, path: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Tensors in a plain attribute value, also inside lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _tensors_in(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors_in(item, f"{path}[{key!r}]")


def plain_tensor_attributes(module: nn.Module) -> list[str]:
    """Dotted names of tensors ``module`` (or a submodule) keeps outside parameters and buffers
    (references to its own parameters, such as ``nn.GRU._flat_weights``, are fine: ``.to()``
    keeps a parameter's identity)."""
    registered = {id(t) for t in (*module.parameters(), *module.buffers())}
    found = []
    for prefix, sub in module.named_modules():
        for name, value in vars(sub).items():
            if name in ("_parameters", "_buffers", "_modules") or isinstance(value, nn.Module):
                continue
            for path, t in _tensors_in(value, f"{prefix}.{name}" if prefix else name):
                if id(t) not in registered:
                    found.append(path)
    return found


def check_no_plain_tensors(module: nn.Module, what: str | None = None) -> None:
    """Fail if ``module`` keeps a tensor as a plain attribute (it would not move to the GPU)."""
    found = plain_tensor_attributes(module)
    if found:
        label = what or type(module).__name__
        raise ConformanceError(
            f"{label}: keeps tensor attribute(s) {found} outside parameters and buffers, so "
            "module.to(device) leaves them on their old device (the first GPU step fails); "
            "register them with self.register_buffer(name, tensor) (or nn.Parameter if trained)"
        )


def off_device(modules: Iterable[nn.Module], device: torch.device | str) -> list[str]:
    """Every parameter, gradient, buffer or plain tensor attribute not on ``device``."""
    want = torch.device(device)
    wrong = []
    for i, module in enumerate(modules):
        label = f"{type(module).__name__}#{i}"
        tensors: list[tuple[str, torch.Tensor]] = []
        for name, p in module.named_parameters():
            tensors.append((f"parameter {name}", p))
            if p.grad is not None:
                tensors.append((f"gradient of {name}", p.grad))
        tensors += [(f"buffer {name}", b) for name, b in module.named_buffers()]
        registered = {id(t) for t in (*module.parameters(), *module.buffers())}
        for prefix, sub in module.named_modules():
            for name, value in vars(sub).items():
                if name in ("_parameters", "_buffers", "_modules") or isinstance(value, nn.Module):
                    continue
                where = f"{prefix}.{name}" if prefix else name
                tensors += [
                    (f"attribute {p}", t)
                    for p, t in _tensors_in(value, where)
                    if id(t) not in registered
                ]
        for name, t in tensors:
            if not _same(t.device, want):
                wrong.append(f"{label} {name} on {t.device}")
    return wrong


def optimizer_off_device(optimizer: torch.optim.Optimizer, device: torch.device | str) -> list[str]:
    """Optimizer state tensors (moments, steps) not on ``device`` (CPU scalars are allowed)."""
    want = torch.device(device)
    wrong = []
    for i, state in enumerate(optimizer.state.values()):
        for key, t in state.items():
            if isinstance(t, torch.Tensor) and t.dim() > 0 and not _same(t.device, want):
                wrong.append(f"optimizer state {i}.{key} on {t.device}")
    return wrong


def check_on_device(
    modules: Iterable[nn.Module],
    device: torch.device | str,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Fail, naming each one, if any tensor of ``modules`` (or ``optimizer``) is off ``device``."""
    wrong = off_device(modules, device)
    if optimizer is not None:
        wrong += optimizer_off_device(optimizer, device)
    if wrong:
        raise ConformanceError(
            f"{len(wrong)} tensor(s) not on the training device {device}: {wrong[:10]}; move "
            "every module the training step uses with .to(device)"
        )


def _same(have: torch.device, want: torch.device) -> bool:
    """``cuda`` matches ``cuda:0`` (the current device) and vice versa."""
    if have.type != want.type:
        return False
    return have.index is None or want.index is None or have.index == want.index
