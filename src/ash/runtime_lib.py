"""Locate the ONNX Runtime shared library inside the installed Python package.

``python -m ash.runtime_lib`` prints the absolute path of ``libonnxruntime.so.*`` (the library the
Rust runtime loads with ``ort``'s ``load-dynamic``; scripts/test.sh exports it as
``ORT_DYLIB_PATH``) and exits non-zero with a clear message when it cannot be found.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATTERNS: tuple[str, ...] = ("libonnxruntime.so.*", "libonnxruntime.*.dylib", "onnxruntime.dll")


class RuntimeLibraryNotFoundError(RuntimeError):
    """The onnxruntime package or its shared library is missing."""


def onnxruntime_library() -> Path:
    """Absolute path of the ONNX Runtime shared library shipped in the onnxruntime(-gpu) wheel."""
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeLibraryNotFoundError(
            "the Python package onnxruntime (or onnxruntime-gpu) is not installed in "
            f"{sys.prefix}; run scripts/setup.sh"
        )
    capi = Path(next(iter(spec.submodule_search_locations))) / "capi"
    candidates = sorted(p for pattern in _PATTERNS for p in capi.glob(pattern) if p.is_file())
    if not candidates:
        raise RuntimeLibraryNotFoundError(
            f"no libonnxruntime shared library in {capi}; reinstall onnxruntime-gpu "
            "(scripts/setup.sh)"
        )
    # Prefer the fully versioned name (libonnxruntime.so.1.31.1) over shorter aliases.
    return max(candidates, key=lambda p: len(p.name)).resolve()


def main() -> int:
    try:
        print(onnxruntime_library())
    except RuntimeLibraryNotFoundError as exc:
        print(f"ash.runtime_lib: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
