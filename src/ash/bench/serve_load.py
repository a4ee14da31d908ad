"""``ash bench --only serve-load``: ash-serve under saturating load and under hostile clients.

1. **Load**: ``--clients`` TCP clients each stream one symbol's ticks (one quote and 99 trades per
   1 s bar, timestamps rising) as fast as the server takes them (TCP back-pressure), for
   ``--seconds``; every finished bar is predicted (``--emit bar``). Reports ticks/s sustained,
   ticks accepted against ticks sent (must be equal), the server's RSS at start, middle and end,
   and the ONNX call latency percentiles (the server's own HDR histogram).
2. **Hostile**: beside an observer that asks for ``stats`` every 100 ms, one client sends
   predict bombs (256 distinct ready symbols per line, and the 16,370-symbol line of the issue)
   and reads its replies, and one client sends predict requests but never reads. Reports the
   observer's ``stats`` round trip (the stated bound: under 2 s at the 99th percentile), the peak
   RSS (the stated budget: under 512 MB), and whether the slow reader was dropped.

The reference is the same server with the same model, idle (RSS at start, latency of a lone
``stats``). Figures go to docs/runtime.md ("Bounds").
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ash.export.fixtures import write_fixtures
from ash.runtime import serve_binary
from ash.runtime_lib import onnxruntime_library

MODEL = "valid/w8_c17_h3_k5.onnx"
START_NS = 1_381_154_400_000_000_000  # 2013-10-07 10:00 New York
TICKS_PER_BAR = 100
BAR_NS = 1_000_000_000
TS_DIGITS = 19
STATS_BOUND_S = 2.0
RSS_BUDGET_MB = 512.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class TickBlock:
    """``bars`` bars of one symbol's ticks as JSON lines whose 19-digit timestamps are
    rewritten in place (NumPy) for every block sent, so the generator outruns the server."""

    def __init__(self, symbol: str, bars: int) -> None:
        lines, offsets, self.ts_offsets = [], [], []
        pos = 0
        for bar in range(bars):
            for k in range(TICKS_PER_BAR):
                t = bar * BAR_NS + k * (BAR_NS // TICKS_PER_BAR)
                if k == 0:
                    body = f'{{"type":"quote","symbol":"{symbol}","bid":100.0,"ask":100.02,'
                    body += '"bid_size":100,"ask_size":200,"ts":'
                else:
                    price = 100.0 + 0.01 * ((bar * 7 + k) % 3)
                    body = f'{{"type":"trade","symbol":"{symbol}","price":{price:.2f},"size":100,'
                    body += '"ts":'
                line = body + "0" * TS_DIGITS + "}\n"
                offsets.append(pos + len(body))
                self.ts_offsets.append(t)
                lines.append(line)
                pos += len(line)
        self.buffer = np.frombuffer("".join(lines).encode(), dtype=np.uint8).copy()
        self.positions = np.asarray(offsets, dtype=np.int64)
        self.relative = np.asarray(self.ts_offsets, dtype=np.int64)
        self.span_ns = bars * BAR_NS
        self.lines = len(lines)
        self.sent_blocks = 0

    def next(self) -> bytes:
        ts = START_NS + self.sent_blocks * self.span_ns + self.relative
        for digit in range(TS_DIGITS):
            place = TS_DIGITS - 1 - digit
            self.buffer[self.positions + place] = (ts // 10**digit % 10 + 48).astype(np.uint8)
        self.sent_blocks += 1
        return self.buffer.tobytes()


class Server:
    def __init__(self, model: Path, extra: list[str]) -> None:
        self.port_file = Path(tempfile.mkdtemp()) / "addr"
        argv = [str(serve_binary()), "serve", str(model), "--listen", "127.0.0.1:0"]
        argv += ["--port-file", str(self.port_file), "--log-every", "0", "--no-reject-replies"]
        argv += extra
        env = {"ORT_DYLIB_PATH": str(onnxruntime_library()), "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not self.port_file.is_file() or not self.port_file.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ash-serve did not start: {self.stderr()}")
            time.sleep(0.05)
        host, port = self.port_file.read_text().rsplit(":", 1)
        self.address = (host, int(port))

    def stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        return self.process.stderr.read() if self.process.stderr else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Drain(threading.Thread):
    """Reads a socket's replies; keeps the ``stats`` lines, counts the rest."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.lines = 0
        self.stats: list[tuple[float, dict[str, Any]]] = []

    def run(self) -> None:
        with self.sock.makefile("rb") as f:
            for raw in f:
                self.lines += 1
                if b'"type":"stats"' in raw:
                    self.stats.append((time.monotonic(), json.loads(raw)))


def stats_of(address: tuple[str, int]) -> dict[str, Any]:
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(b'{"type":"stats"}\n')
        with sock.makefile("rb") as f:
            for raw in f:
                reply: dict[str, Any] = json.loads(raw)
                if reply.get("type") == "stats":
                    return reply
    raise RuntimeError("no stats reply")


def run_load(model: Path, seconds: float, clients: int) -> dict[str, Any]:
    server = Server(model, [])
    try:
        pid = server.process.pid
        rss: list[tuple[float, float]] = []
        blocks = [TickBlock(f"S{i}", bars=40) for i in range(clients)]
        socks = [socket.create_connection(server.address, timeout=120) for _ in range(clients)]
        drains = [Drain(s) for s in socks]
        for d in drains:
            d.start()
        sent = [0] * clients
        stop = threading.Event()

        def send(i: int) -> None:
            while not stop.is_set():
                socks[i].sendall(blocks[i].next())
                sent[i] += blocks[i].lines
            socks[i].sendall(b'{"type":"stats"}\n')

        senders = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(clients)]
        started = time.monotonic()
        rss.append((0.0, rss_mb(pid)))
        for t in senders:
            t.start()
        while time.monotonic() - started < seconds:
            time.sleep(1.0)
            rss.append((time.monotonic() - started, rss_mb(pid)))
        stop.set()
        for t in senders:
            t.join(timeout=120)
        for d in drains:
            deadline = time.monotonic() + 120
            while not d.stats and time.monotonic() < deadline:
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        final = max((d.stats[-1][1] for d in drains if d.stats), key=lambda s: s["lines"])
        for s in socks:
            s.close()
        return {
            "seconds": elapsed,
            "sent": sum(sent),
            "accepted": final["ticks_accepted"],
            "rejected": sum(final["rejected"].values()),
            "predictions": final["predictions"],
            "rss": rss,
            "latency": final["latency_us"],
        }
    finally:
        server.stop()


def _ready_symbols(address: tuple[str, int], n: int, window: int) -> list[str]:
    names = [f"R{i:03d}" for i in range(n)]
    lines = []
    for bar in range(window + 2):
        ts = START_NS + bar * BAR_NS
        lines += [
            f'{{"type":"trade","symbol":"{s}","ts":{ts},"price":100.0,"size":1}}' for s in names
        ]
    lines.append('{"type":"stats"}')
    with socket.create_connection(address, timeout=120) as sock:
        drain = Drain(sock)
        drain.start()
        sock.sendall(("\n".join(lines) + "\n").encode())
        while not drain.stats:
            time.sleep(0.05)
    return names


def run_hostile(model: Path, seconds: float) -> dict[str, Any]:
    server = Server(model, ["--emit", "request"])
    try:
        pid = server.process.pid
        names = _ready_symbols(server.address, 256, window=8)
        bomb = json.dumps({"type": "predict", "symbols": names}) + "\n"
        issue_bomb = '{"type":"predict","symbols":[' + ",".join(['"X"'] * 16370) + "]}\n"
        stop = threading.Event()
        idle_rss = rss_mb(pid)
        idle_stats = stats_of(server.address)  # warm: one lone stats round trip below
        t0 = time.monotonic()
        stats_of(server.address)
        lone_rtt = time.monotonic() - t0

        bomber = socket.create_connection(server.address, timeout=120)
        bomber_drain = Drain(bomber)
        bomber_drain.start()
        slow = socket.create_connection(server.address, timeout=120)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        bombs = [0]

        def bomb_loop() -> None:
            try:
                while not stop.is_set():
                    bomber.sendall((bomb * 4 + issue_bomb).encode())
                    bombs[0] += 5
            except OSError:
                pass  # it reads slower than its bombs produce replies: dropped as a slow reader

        def slow_loop() -> None:
            try:
                while not stop.is_set():
                    slow.sendall(bomb.encode())
            except OSError:
                pass  # dropped by the server: expected

        threads = [threading.Thread(target=f, daemon=True) for f in (bomb_loop, slow_loop)]
        for t in threads:
            t.start()
        rtts: list[float] = []
        peak = idle_rss
        observer = socket.create_connection(server.address, timeout=120)
        with observer.makefile("rb") as replies:
            started = time.monotonic()
            last: dict[str, Any] = idle_stats
            while time.monotonic() - started < seconds:
                t0 = time.monotonic()
                observer.sendall(b'{"type":"stats"}\n')
                last = json.loads(replies.readline())
                rtts.append(time.monotonic() - t0)
                peak = max(peak, rss_mb(pid))
                time.sleep(0.1)
        stop.set()
        for s in (bomber, slow, observer):
            s.close()
        return {
            "idle_rss": idle_rss,
            "peak_rss": peak,
            "lone_rtt": lone_rtt,
            "rtts": rtts,
            "bomb_lines": bombs[0],
            "stats": last,
        }
    finally:
        server.stop()


def render(load: dict[str, Any], hostile: dict[str, Any], clients: int) -> str:
    rss = load["rss"]
    start = rss[1][1] if len(rss) > 1 else rss[0][1]  # after the first second: buffers warm
    middle = rss[len(rss) // 2][1]
    end = rss[-1][1]
    lat = load["latency"]
    rtts = np.asarray(hostile["rtts"]) * 1e3
    conns = hostile["stats"]["connections"]
    drift = (max(r for _, r in rss[1:]) - min(r for _, r in rss[1:])) / start * 100
    rows = [
        "| load | value |",
        "|---|---|",
        f"| duration | {load['seconds']:.1f} s, {clients} clients (a symbol each, TCP loopback) |",
        f"| ticks/s sustained | {load['sent'] / load['seconds']:,.0f} |",
        f"| ticks sent / accepted / rejected | {load['sent']:,} / {load['accepted']:,} / "
        f"{load['rejected']:,} ({'equal' if load['sent'] == load['accepted'] else 'NOT EQUAL'}) |",
        f"| predictions (one per finished bar) | {load['predictions']:,} |",
        f"| RSS start (1 s) / middle / end | {start:.1f} / {middle:.1f} / {end:.1f} MB "
        f"(spread over the run {drift:.1f} %; idle server {rss[0][1]:.1f} MB) |",
        f"| ONNX call latency p50 / p90 / p99 / p99.9 / max | {lat['p50']:.0f} / {lat['p90']:.0f}"
        f" / {lat['p99']:.0f} / {lat['p999']:.0f} / {lat['max']:.0f} us |",
        "",
        "| hostile clients | value |",
        "|---|---|",
        f"| predict-bomb lines sent (256 distinct symbols, or 16,370 x the same) | "
        f"{hostile['bomb_lines']:,} |",
        f"| observer `stats` round trip p50 / p99 / max | {np.median(rtts):.1f} / "
        f"{np.quantile(rtts, 0.99):.1f} / {rtts.max():.1f} ms over {len(rtts)} requests "
        f"(lone, idle: {hostile['lone_rtt'] * 1e3:.1f} ms; bound {STATS_BOUND_S:.0f} s: "
        f"{'met' if np.quantile(rtts, 0.99) < STATS_BOUND_S * 1e3 else 'MISSED'}) |",
        f"| RSS idle / peak | {hostile['idle_rss']:.1f} / {hostile['peak_rss']:.1f} MB (budget "
        f"{RSS_BUDGET_MB:.0f} MB: {'met' if hostile['peak_rss'] < RSS_BUDGET_MB else 'MISSED'}) |",
        f"| slow readers dropped | {conns['slow_clients_dropped']} |",
        f"| predictions served meanwhile | {hostile['stats']['predictions']:,} |",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hostile-seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_fixtures(tmp)
        model = Path(tmp) / MODEL
        load = run_load(model, args.seconds, args.clients)
        hostile = run_hostile(model, args.hostile_seconds)
    print(render(load, hostile, args.clients))


if __name__ == "__main__":
    main()
