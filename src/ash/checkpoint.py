"""Atomic checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is written to ``<name>.tmp`` in the same folder, flushed and fsync'd, then renamed
over the target with :func:`os.replace` (atomic on POSIX), and the folder is fsync'd so the
rename itself survives a crash. A kill at any moment therefore leaves either the previous good
checkpoint or the new one, never a torn file; a stray ``.tmp`` is ignored and overwritten.
Only tensors, numbers, strings and plain containers go in, so no pickled code runs on load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

FORMAT = "ash-checkpoint"
FORMAT_VERSION = 1


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


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` (plus format tags) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, with an error naming the file."""
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
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {state.get('format_version')!r}; this ash "
            f"reads version {FORMAT_VERSION}"
        )
    return state
