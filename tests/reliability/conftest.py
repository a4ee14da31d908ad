"""Fixtures for the hostile-input suite: ash-serve started on loopback with chosen bounds,
every process and socket bounded in time (issue 15's probes, each one a test)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rust.conftest import ort_env, serve_bin

__all__ = ["ort_env", "serve_bin"]

MODEL = "valid/w8_c17_h3_k5.onnx"  # window 8 over the 17 core columns, 1 s bars
START_NS = 1_381_154_400_000_000_000  # 2013-10-07 10:00 New York


class Served:
    """A running ash-serve and its address."""

    def __init__(self, process: subprocess.Popen[str], address: tuple[str, int]) -> None:
        self.process = process
        self.address = address

    def connect(self) -> socket.socket:
        return socket.create_connection(self.address, timeout=60)

    def ask(self, lines: list[str], until: str = "stats") -> list[dict[str, Any]]:
        """Send ``lines`` on a fresh connection; the replies up to the first ``until``."""
        with self.connect() as sock:
            sock.sendall(("\n".join(lines) + "\n").encode())
            replies: list[dict[str, Any]] = []
            with sock.makefile("rb") as f:
                for raw in f:
                    replies.append(json.loads(raw))
                    if replies[-1].get("type") == until:
                        return replies
        raise AssertionError(f"no {until!r} reply; got {replies[-3:]}")

    def stats(self) -> dict[str, Any]:
        return self.ask(['{"type":"stats"}'])[-1]


@pytest.fixture
def serve(
    serve_bin: Path, ort_env: dict[str, str], contract_fixtures: Path, tmp_path: Path
) -> Iterator[Callable[..., Served]]:
    """Start ash-serve on 127.0.0.1 with extra options; killed at the end of the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> Served:
        port_file = tmp_path / f"addr{len(started)}"
        argv = [str(serve_bin), "serve", str(contract_fixtures / MODEL), "--listen", "127.0.0.1:0"]
        argv += ["--port-file", str(port_file), "--log-every", "0", *options]
        process = subprocess.Popen(argv, env=ort_env, stderr=subprocess.PIPE, text=True)
        started.append(process)
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "ash-serve did not start listening within 60 s"
            time.sleep(0.05)
        host, port = port_file.read_text().rsplit(":", 1)
        return Served(process, (host, int(port)))

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def trades(symbol: str, bars: int, start_ns: int = START_NS) -> list[str]:
    """One trade per 1 s bar for ``bars`` bars, then a clock closing the last one."""
    lines = [
        json.dumps(
            {
                "type": "trade",
                "symbol": symbol,
                "ts": start_ns + k * 1_000_000_000,
                "price": 100.0,
                "size": 10,
            }
        )
        for k in range(bars)
    ]
    return [*lines, json.dumps({"type": "clock", "ts": start_ns + bars * 1_000_000_000})]
