"""ash-serve end to end: real SPY ticks (2013-10-07, the bar vectors' capture) replayed over TCP
on 127.0.0.1; predictions must equal Python ONNX Runtime on the Python bar builder's bars.
Bad lines are rejected with reasons while other symbols keep being served; SIGTERM shuts the
server down cleanly. Every subprocess is bounded by timeouts."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from ash.decoding import summarize
from ash.paths import repo_root
from tests.rust.tcp import exchange

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]

SPY_VECTOR = repo_root() / "tests" / "vectors" / "bars" / "spy_20131007_1000.json"
MODEL = "valid/w8_c17_h3_k5.onnx"  # window 8 over the 17 core columns, 1 s bars


def _tick_lines(events: list[dict[str, Any]], symbol: str) -> list[str]:
    lines = []
    for event in events:
        line = {k: v for k, v in event.items() if k not in ("kind", "ts_ns")}
        line.update(type=event["kind"], symbol=symbol, ts=event["ts_ns"])
        lines.append(json.dumps(line))
    return lines


@pytest.fixture
def server(
    serve_bin: Path, ort_env: dict[str, str], contract_fixtures: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], tuple[str, int]]]:
    port_file = tmp_path / "addr"
    argv = [str(serve_bin), "serve", str(contract_fixtures / MODEL), "--listen", "127.0.0.1:0"]
    argv += ["--port-file", str(port_file), "--symbols", "SPY,QQQ", "--log-every", "0"]
    process = subprocess.Popen(argv, env=ort_env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not port_file.is_file() or not port_file.read_text():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "ash-serve did not start listening within 60 s"
        time.sleep(0.05)
    host, port = port_file.read_text().rsplit(":", 1)
    try:
        yield process, (host, int(port))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_spy_replay_over_tcp_matches_python_onnx_runtime(
    server: tuple[subprocess.Popen[str], tuple[str, int]], contract_fixtures: Path
) -> None:
    process, address = server
    case = json.loads(SPY_VECTOR.read_text())
    bars = np.array([b["values"] for b in case["expected"]["bars"]], dtype=np.float64)
    bar_ts = [b["ts_ns"] for b in case["expected"]["bars"]]
    assert case["expected"]["segment_starts"] == [0]
    messages = exchange(address, [*_tick_lines(case["events"], "SPY"), '{"type":"stats"}'])
    predictions = [m for m in messages if m["type"] == "prediction"]
    stats = messages[-1]
    assert stats["rejected"] == {} and stats["ticks_accepted"] == len(case["events"])

    session = ort.InferenceSession(
        str(contract_fixtures / MODEL), providers=["CPUExecutionProvider"]
    )
    window = session.get_inputs()[0].shape[1]
    # Bars 0..window-2 fill the window; each later bar closed by a tick gives one prediction
    # (the last bar is still open when the stream stops).
    assert len(predictions) == len(bars) - window
    for p in predictions:
        end = bar_ts.index(p["bar_ts"]) + 1
        x = bars[end - window : end].astype(np.float32)[None]
        probs, edges = session.run(["probs", "edges"], {"bars": x})
        got = np.array([h["probs"] for h in p["horizons"]], dtype=np.float32)
        assert np.abs(got - probs[0]).max() <= 1e-5, p["bar_ts"]
        assert np.abs(np.array([h["edges"] for h in p["horizons"]]) - edges[0]).max() <= 1e-4
        h0 = p["horizons"][0]
        assert p["protocol"] == 2
        assert abs(h0["p_up"] + h0["p_flat"] + h0["p_down"] - 1.0) < 1e-4
        want = summarize(probs[0, 0], edges[0, 0])
        assert (h0["p_up"], h0["p_flat"], h0["p_down"]) == pytest.approx(
            (want.p_up, want.p_flat, want.p_down), abs=1e-6
        )
        assert list(h0["quantiles"]) == ["0.05", "0.25", "0.5", "0.75", "0.95"]
        assert p["reference_price"] == pytest.approx(bars[end - 1][11])  # mid

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    err = process.stderr.read() if process.stderr else ""
    assert "SIGTERM received" in err and "final counters" in err


def test_bad_lines_are_rejected_with_reasons_and_other_symbols_keep_being_served(
    server: tuple[subprocess.Popen[str], tuple[str, int]],
) -> None:
    process, address = server
    t0 = 1_381_154_400_000_000_000  # 10:00 New York

    def trade(symbol: str, ts: int, **fields: Any) -> str:
        return json.dumps({"type": "trade", "symbol": symbol, "ts": ts, **fields})

    bad = [
        "this is not json",
        trade("SPY", t0, price="NaN", size=100),
        trade("SPY", t0, price=100.0, size=-5),
        json.dumps(
            {"type": "quote", "symbol": "SPY", "ts": t0, "bid": 101, "ask": 100}
            | {"bid_size": 1, "ask_size": 1}
        ),
        trade("MSFT", t0, price=30.0, size=1),
        trade("SPY", t0, side=1),
    ]
    good = [trade("QQQ", t0 + k * 10**9, price=80 + k / 100, size=100) for k in range(12)]
    late = trade("QQQ", t0, price=80.0, size=1)
    messages = exchange(address, [*bad, *good[:6], late, *good[6:], '{"type":"stats"}'])
    reasons = [m["reason"] for m in messages if m["type"] == "reject"]
    assert reasons == [
        "malformed_json",
        "bad_price",
        "bad_size",
        "crossed_quote",
        "unknown_symbol",
        "malformed",
        "late",
    ]
    predictions = [m for m in messages if m["type"] == "prediction"]
    assert predictions and all(p["symbol"] == "QQQ" for p in predictions)
    # window 8: bars 0..7 fill it; ticks 8..11 each close one more bar.
    assert len(predictions) == 12 - 8
    assert messages[-1]["rejected"]["unknown_symbol"] == 1
    assert process.poll() is None  # still serving


def test_stdin_mode_finishes_the_last_bar_at_end_of_input(
    serve_bin: Path, ort_env: dict[str, str], contract_fixtures: Path
) -> None:
    case = json.loads(SPY_VECTOR.read_text())
    lines = _tick_lines(case["events"], "SPY")
    argv = [str(serve_bin), str(contract_fixtures / MODEL), "--stdin", "--log-every", "0"]
    done = subprocess.run(
        argv,
        input="\n".join(lines) + "\n",
        env=ort_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    predictions = [json.loads(line) for line in done.stdout.splitlines()]
    bars = case["expected"]["bars"]
    # At end of input the open bar is finished (as the batch builder's last bar) and predicted.
    assert len(predictions) == len(bars) - 8 + 1
    assert predictions[-1]["bar_ts"] == bars[-1]["ts_ns"]
    assert "final counters" in done.stderr
