"""What a run's meta.json says about the hardware: the device and training throughput."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ash import runs


def device_name(device: torch.device) -> str:
    """The accelerator's model name (``NVIDIA H200``), or the device type for the CPU/meta."""
    if device.type == "cuda" and torch.cuda.is_available():
        return str(torch.cuda.get_device_name(device))
    return device.type


def record_throughput(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Rewrite meta.json's ``samples_per_s`` (training samples per second of each epoch)."""
    path = run_dir / runs.META_FILE
    meta = runs.read_json(path)
    meta["samples_per_s"] = [
        {"epoch": row["epoch"], "samples_per_s": row["samples_per_s"]}
        for row in history
        if "samples_per_s" in row
    ]
    runs.write_json(path, meta)
