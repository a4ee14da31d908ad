"""Atomic, checksummed checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is written to ``<name>.tmp`` in the same folder, flushed and fsync'd, then renamed
over the target with :func:`os.replace` (atomic on POSIX), and the folder is fsync'd so the
rename itself survives a crash. A kill at any moment therefore leaves either the previous good
checkpoint or the new one, never a torn file; a stray ``.tmp`` is ignored and overwritten.
Only tensors, numbers, strings and plain containers go in, so no pickled code runs on load.

Integrity: PyTorch's archive carries no checksum of tensor data, so 16 flipped bytes inside a
tensor used to load silently. Every top-level entry's content (tensor dtypes, shapes and bytes,
and every plain value) is hashed with SHA-256 on save, stored in the file, and verified on load;
a mismatch is an error naming the file and the entries that changed. Loading weights into a
model checks every tensor's name and shape first (:func:`load_weights`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "ash-checkpoint"
FORMAT_VERSION = 2
DIGEST_KEY = "sha256"
# Version 1 files (no checksum) still load, with a warning that they are unverified.
READABLE_VERSIONS = (1, 2)


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, truncated, corrupt or of the wrong format."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_value(h: Any, value: Any) -> None:
    """Feed a canonical encoding of ``value`` (tensors, containers, plain values) into ``h``."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(value.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, Mapping):
        h.update(f"D{len(value)}".encode())
        for k, v in value.items():
            _hash_value(h, k)
            _hash_value(h, v)
    elif isinstance(value, list | tuple):
        h.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}".encode())
        for v in value:
            _hash_value(h, v)
    elif isinstance(value, str):
        data = value.encode()
        h.update(f"S{len(data)}:".encode())
        h.update(data)
    elif isinstance(value, bool) or value is None:
        h.update(f"C{value}".encode())
    elif isinstance(value, int):
        h.update(f"I{value};".encode())
    elif isinstance(value, float):
        h.update(f"F{value.hex()};".encode())
    else:  # torch.dtype, torch.Size and the few other types weights_only admits
        h.update(f"R{type(value).__name__}:{value!r};".encode())


def entry_digests(state: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of every top-level entry of ``state`` (the checksum entry itself excluded)."""
    digests = {}
    for key, value in state.items():
        if key == DIGEST_KEY:
            continue
        h = hashlib.sha256()
        _hash_value(h, value)
        digests[key] = h.hexdigest()
    return digests


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` (plus format tags and checksums) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    payload[DIGEST_KEY] = entry_digests(payload)
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _verify(state: dict[str, Any], path: Path) -> None:
    stored = state.get(DIGEST_KEY)
    if not isinstance(stored, dict):
        raise CheckpointError(f"checkpoint {path} has no checksums; it is corrupt or was edited")
    computed = entry_digests(state)
    changed = sorted(k for k in set(stored) | set(computed) if stored.get(k) != computed.get(k))
    if changed:
        raise CheckpointError(
            f"checkpoint {path} is corrupt: the content of {', '.join(changed)} does not match "
            "the checksum written with it (flipped bytes on disk or a truncated copy); resume "
            "from an earlier run folder or retrain"
        )


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify a checkpoint written by :func:`save_checkpoint`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for torn/corrupt zip archives
        raise CheckpointError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); it is truncated or "
            "corrupt — resume from an earlier run folder or retrain"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoint {path} is not an ash checkpoint (format tag {FORMAT!r} missing)"
        )
    version = state.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; this ash reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if version == 1:
        warnings.warn(
            f"checkpoint {path} predates checksums (format version 1); loaded unverified",
            stacklevel=2,
        )
    else:
        _verify(state, path)
    state.pop(DIGEST_KEY, None)
    return state


def load_weights(model: nn.Module, weights: Any, path: Path) -> None:
    """Load ``weights`` into ``model`` after checking every tensor's name and shape, so a
    checkpoint of another model size is an error naming the tensor, not a traceback."""
    if not isinstance(weights, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise CheckpointError(f"checkpoint {path} holds no model weights (a tensor mapping)")
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    wrong = [
        f"{k} is {list(weights[k].shape)} in the checkpoint but {list(v.shape)} in the model"
        for k, v in expected.items()
        # A module's extra state (a fitted family's bytes) has no fixed size.
        if k in weights and weights[k].shape != v.shape and not k.endswith("._extra_state")
    ]
    problems = []
    if wrong:
        problems.append(
            "tensor " + "; tensor ".join(wrong[:3]) + ("; ..." if len(wrong) > 3 else "")
        )
    if missing:
        problems.append(f"{len(missing)} tensor(s) missing, e.g. {missing[0]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]}")
    if problems:
        raise CheckpointError(
            f"checkpoint {path} does not fit the model: {'; '.join(problems)}. It was written for "
            "a different architecture (model size, window, columns or horizons): use the run's "
            "own config.yaml"
        )
    model.load_state_dict(weights)
