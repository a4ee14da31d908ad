"""End to end on real data: ten minutes of SPY (2013-10-07 10:00-10:10 New York, every trade
print and Lean's 1 s quotes) replayed as ticks over TCP into ash-serve serving the default
experiment's model architecture (small size, untrained: parity does not depend on the weights).

- the bars ash-serve builds (``--emit-bars``) equal the Python bar builder's, bit for bit;
- every prediction equals Python ONNX Runtime and PyTorch eager on those bars within 1e-5.
"""

from __future__ import annotations

import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from ash.bars.builder import build_bars
from ash.bars.spec import BarSpec
from ash.bench.graph import SIZES, build
from ash.export.exporter import export_model
from ash.jobs.serve_io import tick_lines
from ash.paths import repo_root
from ash.testing.lean_sample import as_canonical, data_dir, quote_events, trade_ticks
from tests.rust.tcp import exchange

pytestmark = [pytest.mark.rust, pytest.mark.slow, pytest.mark.xdist_group("rust")]

DAY = "20131007"
START_NS = 1_381_154_400_000_000_000  # 2013-10-07 10:00:00 New York
END_NS = START_NS + 600 * 1_000_000_000
TOLERANCE = 1e-5


def _spy_stretch() -> tuple[Any, Any]:
    try:
        data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"SPY sample data not available: {exc}")
    trades = trade_ticks(DAY)
    quotes = quote_events(DAY)
    trades = trades[(trades.ts_ns >= START_NS) & (trades.ts_ns < END_NS)].reset_index(drop=True)
    quotes = quotes[(quotes.ts_ns >= START_NS) & (quotes.ts_ns < END_NS)].reset_index(drop=True)
    return trades, quotes


def test_real_spy_replay_matches_python_bars_onnx_runtime_and_pytorch(
    serve_bin: Path, ort_env: dict[str, str], tmp_path: Path
) -> None:
    trades, quotes = _spy_stretch()
    model, meta = build(repo_root() / "configs" / "default.yaml", SIZES["small"])
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_model(model, path, metadata=meta, optimize=False)
    window = model.window
    t, q = as_canonical(trades, quotes)
    bars = build_bars(t, q, spec=BarSpec())
    assert len(bars) == 600 and list(bars.segment_starts) == [0]
    assert window < len(bars), "the stretch must hold more bars than the model's window"

    port_file = tmp_path / "addr"
    argv = [str(serve_bin), "serve", str(path), "--listen", "127.0.0.1:0", "--emit-bars"]
    argv += ["--port-file", str(port_file), "--log-every", "0"]
    process = subprocess.Popen(argv, env=ort_env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not port_file.is_file() or not port_file.read_text():
            assert process.poll() is None and time.monotonic() < deadline, "ash-serve did not start"
            time.sleep(0.05)
        host, port = port_file.read_text().rsplit(":", 1)
        lines = [*tick_lines(t, q, "SPY"), '{"type":"stats"}']
        messages = exchange((host, int(port)), lines)
    finally:
        process.kill()
        process.wait(timeout=10)

    stats = messages[-1]
    assert stats["type"] == "stats" and stats["rejected"] == {}
    assert stats["ticks_accepted"] == len(trades) + len(quotes)
    # Bars: every finished bar (the last one is still open) equals Python's, bit for bit.
    rust_bars = [m for m in messages if m["type"] == "bar"]
    assert [b["ts"] for b in rust_bars] == list(bars.ts_ns[:-1])
    columns = list(meta.get("ash.bar_columns", model.ctx.bar_columns))
    python_values = bars.values[:-1, [bars.columns.index(c) for c in columns]]
    assert np.array_equal(np.array([b["values"] for b in rust_bars]), python_values)

    # Predictions: one per finished bar once the window is full.
    predictions = [m for m in messages if m["type"] == "prediction"]
    assert len(predictions) == len(bars) - window
    ends = [int(np.flatnonzero(bars.ts_ns == p["bar_ts"])[0]) + 1 for p in predictions]
    x = np.stack([bars.values[e - window : e] for e in ends]).astype(np.float32)
    rust_probs = np.array([[h["probs"] for h in p["horizons"]] for p in predictions])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort_probs, _ = session.run(["probs", "edges"], {"bars": x})
    assert np.abs(rust_probs - ort_probs).max() <= TOLERANCE
    with torch.inference_mode():
        torch_probs, _ = model(torch.from_numpy(x))
    assert np.abs(rust_probs - torch_probs.numpy()).max() <= TOLERANCE
