"""ash-serve against the probes of issue 15, on loopback with the real binary: every one is a
clear rejection or a bounded, counted recovery. Sockets and processes are bounded in time;
nothing asserts wall-clock durations (ordering and counts carry the proof)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import MODEL, START_NS, Served, trades

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]

Serve = Callable[..., Served]


def rejects(replies: list[dict[str, Any]]) -> list[str]:
    return [r["reason"] for r in replies if r["type"] == "reject"]


def test_a_predict_bomb_line_is_one_deduplicated_batch(serve: Serve) -> None:
    server = serve("--emit", "request")
    bomb = json.dumps({"type": "predict", "symbols": ["X"] * 16_370}, separators=(",", ":"))
    assert len(bomb) < 64 * 1024  # the 65,510-byte line, under the line limit
    replies = server.ask([*trades("X", 10), bomb, '{"type":"stats"}'])
    predictions = [r for r in replies if r["type"] == "prediction"]
    assert len(predictions) == 1 and predictions[0]["batch"] == 1
    assert replies[-1]["onnx_calls"] == 1


def test_too_many_distinct_symbols_in_one_predict_is_refused(serve: Serve) -> None:
    server = serve("--emit", "request", "--max-predict-symbols", "8")
    names = [f"S{i}" for i in range(9)]
    replies = server.ask([json.dumps({"type": "predict", "symbols": names}), '{"type":"stats"}'])
    assert rejects(replies) == ["predict_too_large"]
    assert "--max-predict-symbols" in next(r["detail"] for r in replies if r["type"] == "reject")


def test_large_predictions_are_split_into_bounded_batches(serve: Serve) -> None:
    server = serve("--emit", "request", "--max-batch", "4")
    lines = [line for s in ("A", "B", "C", "D", "E") for line in trades(s, 10)]
    replies = server.ask([*lines, '{"type":"predict"}', '{"type":"stats"}'])
    batches = sorted(r["batch"] for r in replies if r["type"] == "prediction")
    assert batches == [1, 4, 4, 4, 4]  # five symbols: one call of 4 and one of 1
    assert replies[-1]["onnx_calls"] == 2


def test_long_symbol_names_are_refused_and_cost_nothing(serve: Serve) -> None:
    server = serve()
    long_name = "Y" * 60_000
    tick = {"type": "trade", "symbol": long_name, "ts": START_NS, "price": 100.0, "size": 1}
    predict = {"type": "predict", "symbols": [long_name]}
    replies = server.ask([json.dumps(tick), json.dumps(predict), '{"type":"stats"}'])
    assert rejects(replies) == ["symbol_too_long", "symbol_too_long"]
    assert replies[-1]["symbols"] == 0


def test_a_far_future_tick_or_clock_cannot_poison_later_ticks(serve: Serve) -> None:
    server = serve()
    future = 7_258_118_400_000_000_000  # 2200-01-01
    poison = {"type": "trade", "symbol": "Z", "ts": future, "price": 100.0, "size": 1}
    clock = {"type": "clock", "ts": future}
    replies = server.ask(
        [json.dumps(poison), json.dumps(clock), *trades("Z", 10)[:-1], '{"type":"stats"}']
    )
    assert rejects(replies) == ["future_timestamp", "future_timestamp"]
    stats = replies[-1]
    assert stats["ticks_accepted"] == 10 and "late" not in stats["rejected"]


def test_values_that_are_not_finite_in_float32_are_rejected(serve: Serve) -> None:
    server = serve()
    bad = [
        {"type": "trade", "symbol": "F", "price": 1e300, "size": 1e15},
        {"type": "trade", "symbol": "F", "price": 1.7e308, "size": 1},
        {"type": "trade", "symbol": "F", "price": 5e-324, "size": 1},
        {"type": "trade", "symbol": "F", "price": 100.0, "size": 1e-300},
        {"type": "quote", "symbol": "F", "bid": 1e-300, "ask": 1e300, "bid_size": 1, "ask_size": 1},
    ]
    lines = [json.dumps({**b, "ts": START_NS + 1_000_000}) for b in bad]
    replies = server.ask([*lines, *trades("F", 10), '{"type":"stats"}'])
    assert rejects(replies) == ["bad_price", "bad_price", "bad_price", "bad_size", "bad_quote"]
    assert replies[-1]["ticks_accepted"] == 10


def test_a_final_unterminated_over_long_line_is_counted(
    serve_bin: Path, ort_env: dict[str, str], contract_fixtures: Path
) -> None:
    argv = [str(serve_bin), "serve", str(contract_fixtures / MODEL), "--stdin", "--log-every", "0"]
    data = b'{"type":"stats"}\n' + b"x" * (10 << 20)  # 10 MB, no newline, then EOF
    done = subprocess.run(argv, input=data, env=ort_env, capture_output=True, timeout=120)
    assert done.returncode == 0
    final = json.loads(done.stderr.decode().split("final counters ", 1)[1].splitlines()[0])
    assert final["lines"] == 2 and final["rejected"] == {"line_too_long": 1}


def test_connections_beyond_the_cap_get_an_error_line(serve: Serve) -> None:
    server = serve("--max-connections", "2")
    first, second = server.connect(), server.connect()
    try:
        first.sendall(b'{"type":"stats"}\n')
        with first.makefile("rb") as f:
            json.loads(f.readline())  # both are accepted and registered
        with server.connect() as third, third.makefile("rb") as f:
            refused = json.loads(f.readline())
            assert refused["type"] == "error" and "too many connections" in refused["message"]
            assert f.readline() == b""  # and closed
        first.sendall(b'{"type":"stats"}\n')
        with first.makefile("rb") as f:
            stats = json.loads(f.readline())
        assert stats["connections"]["refused"] == 1 and stats["connections"]["open"] == 2
    finally:
        first.close()
        second.close()


def _ready(server: Served, n: int) -> list[str]:
    names = [f"R{i:03d}" for i in range(n)]
    lines = []
    for k in range(10):
        ts = START_NS + k * 1_000_000_000
        lines += [
            json.dumps({"type": "trade", "symbol": s, "ts": ts, "price": 100.0, "size": 1})
            for s in names
        ]
    assert server.ask([*lines, '{"type":"stats"}'])[-1]["ticks_accepted"] == 10 * n
    return names


def test_a_client_that_stops_reading_is_dropped_and_others_are_served(serve: Serve) -> None:
    server = serve("--emit", "request", "--client-queue-mib", "1")
    names = _ready(server, 64)
    request = (json.dumps({"type": "predict", "symbols": names}) + "\n").encode()
    slow = server.connect()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        for _ in range(400):  # ~64 KB of replies each: far beyond 1 MiB, never read
            slow.sendall(request)
    except OSError:
        pass  # the server dropped it while we were still writing
    deadline = time.monotonic() + 60
    while server.stats()["connections"]["slow_clients_dropped"] == 0:
        assert time.monotonic() < deadline, "the slow reader was never dropped"
        time.sleep(0.1)
    slow.close()
    replies = server.ask(
        [json.dumps({"type": "predict", "symbols": names[:2]}), '{"type":"stats"}']
    )
    assert sum(r["type"] == "prediction" for r in replies) == 2


def test_a_backlog_of_predict_bombs_does_not_hold_up_another_clients_stats(serve: Serve) -> None:
    server = serve("--emit", "request")
    names = _ready(server, 256)
    bomb = (json.dumps({"type": "predict", "symbols": names}) + "\n").encode()
    bomber = server.connect()
    drained = threading.Event()

    def drain() -> None:
        with bomber.makefile("rb") as f:
            for _ in f:
                pass
        drained.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        bomber.sendall(bomb * 100)  # 25,600 predictions queued behind one another
        stats = server.stats()
        # Fair turns: the observer's stats came after a few bomb lines, not after all 100.
        assert stats["predictions"] < 100 * 256 / 4
        assert stats["connections"]["slow_clients_dropped"] == 0
    finally:
        bomber.shutdown(socket.SHUT_RDWR)
        bomber.close()
        reader.join(timeout=30)


def test_sigterm_to_the_ash_serve_wrapper_leaves_no_server_behind(
    serve_bin: Path, ort_env: dict[str, str], contract_fixtures: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**ort_env, "ASH_SERVE_BIN": str(serve_bin)}
    argv = [sys.executable, "-m", "ash.cli.main", "serve", str(contract_fixtures / MODEL)]
    wrapper = subprocess.Popen(
        [*argv, "--listen", f"127.0.0.1:{port}", "--log-every", "0"],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        # Generous: the wrapper imports ash before exec'ing, slow on a loaded machine.
        deadline = time.monotonic() + 180
        while True:
            assert wrapper.poll() is None, wrapper.stderr.read() if wrapper.stderr else b""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "ash serve did not start listening"
                time.sleep(0.1)
        # The wrapper *is* the server (exec): the signal reaches ash-serve itself.
        assert "ash-serve" in Path(f"/proc/{wrapper.pid}/cmdline").read_bytes().decode()
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait(timeout=10)
