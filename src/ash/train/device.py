"""Where and in which precision training runs."""

from __future__ import annotations

import torch


def select_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA GPU is visible; use auto or cpu")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def select_precision(choice: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. CPU always trains in fp32."""
    if device.type != "cuda" or choice == "fp32":
        return None
    if choice == "fp16":
        return torch.float16
    if choice == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16
