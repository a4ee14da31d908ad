"""Python ONNX Runtime A/B diagnostics behind issue 18's "Third pass" (docs/runtime.md): what a
session option, huge pages, or other sessions in the process do to batch-1 latency, and how far
identical processes drift apart on a shared machine. Every comparison is paired: the two arms
run in alternating chunks, and the figure is the median over chunks of their ratio.

    python inference-rs/scripts/ort_diagnostics.py option MODEL session.set_denormal_as_zero=1
    python inference-rs/scripts/ort_diagnostics.py processes MODEL --arm collapse
    python inference-rs/scripts/ort_diagnostics.py processes MODEL --arm other-sessions --others A B
    python inference-rs/scripts/ort_diagnostics.py processes MODEL --arm none   # the spread alone
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from ash.export.synthetic import synthetic_bars

MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20


def session(path: Path, entries: list[str]) -> ort.InferenceSession:
    """The bench's session options (1 thread, sequential, full optimisation) plus ``entries``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    for entry in entries:
        key, value = entry.split("=", 1)
        options.add_session_config_entry(key, value)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def window(path: Path) -> dict[str, np.ndarray]:
    """One realistic window for ``path``, from its contract metadata."""
    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    bars = synthetic_bars(json.loads(meta["ash.bar_columns"]), int(meta["ash.window"]), 1)
    return {"bars": bars}


def chunk_p50(s: ort.InferenceSession, feed: dict[str, np.ndarray], calls: int) -> float:
    """p50 (µs) of ``calls`` timed runs after one untimed run (it warms the caches)."""
    s.run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        s.run(None, feed)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def collapse_heap() -> int:
    """MADV_COLLAPSE over this process's anonymous memory, a 2 MiB page per call (as
    inference-rs/src/huge_pages.rs): the MiB collapsed."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = 0
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        anonymous = fields[4] == "0" and (len(fields) < 6 or fields[5] == "[heap]")
        if not (anonymous and fields[1].startswith("rw") and fields[1].endswith("p")):
            continue
        low, high = (int(v, 16) for v in fields[0].split("-"))
        first = -(-low // HUGE_PAGE) * HUGE_PAGE
        for page in range(first, high // HUGE_PAGE * HUGE_PAGE, HUGE_PAGE):
            done += libc.madvise(page, HUGE_PAGE, MADV_COLLAPSE) == 0
    return done * 2


def child(args: argparse.Namespace) -> None:
    """A timing process: loads ``model`` (and ``others``), optionally collapses its memory,
    then answers each line "N" on stdin with the p50 of N runs of ``model``."""
    sessions = [session(p, []) for p in [args.model, *args.others]]
    feed = window(args.model)
    for _ in range(3):
        sessions[0].run(None, feed)
    if args.collapse:
        print(f"collapsed {collapse_heap()} MiB", file=sys.stderr)
    print("ready", flush=True)
    for line in sys.stdin:
        print(chunk_p50(sessions[0], feed, int(line)), flush=True)


def option(args: argparse.Namespace) -> None:
    """Two sessions in one process, with and without ``entries``, in alternating chunks."""
    plain, treated = session(args.model, []), session(args.model, args.entries)
    feed = window(args.model)
    ratios: list[float] = []
    plain_p50: list[float] = []
    treated_p50: list[float] = []
    for r in range(args.rounds):
        order = [(plain, plain_p50), (treated, treated_p50)]
        for s, out in order if r % 2 else order[::-1]:
            out.append(chunk_p50(s, feed, args.chunk))
        ratios.append(treated_p50[-1] / plain_p50[-1])
    print(
        f"{args.model}: plain p50 {statistics.median(plain_p50):.1f} µs, with {args.entries} "
        f"{statistics.median(treated_p50):.1f} µs; "
        f"paired ratio median {statistics.median(ratios):.3f}"
    )


def processes(args: argparse.Namespace) -> None:
    """Four timing processes, the odd ones given ``--arm``, run a chunk each per round in
    rotating order; prints each process's median p50 and the paired ratio treated / plain."""
    procs = []
    for i in range(4):
        treated = i % 2 == 1 and args.arm != "none"
        argv = [sys.executable, __file__, "child", str(args.model)]
        if treated and args.arm == "collapse":
            argv.append("--collapse")
        if treated and args.arm == "other-sessions":
            argv += ["--others", *map(str, args.others)]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"timing process {i} did not start: {' '.join(argv)}")
        procs.append(proc)
    p50s: list[list[float]] = [[] for _ in procs]
    for r in range(args.rounds):
        for j in range(len(procs)):
            k = (r + j) % len(procs)
            stdin, stdout = procs[k].stdin, procs[k].stdout
            assert stdin is not None and stdout is not None
            stdin.write(f"{args.chunk}\n")
            stdin.flush()
            p50s[k].append(float(stdout.readline()))
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    for k, values in enumerate(p50s):
        arm = args.arm if k % 2 and args.arm != "none" else "plain"
        print(
            f"process {k} ({arm}): median p50 {statistics.median(values):.1f} µs, rounds "
            f"{min(values):.1f}–{max(values):.1f} µs"
        )
    if args.arm != "none":
        ratios = sorted(
            (p50s[1][r] + p50s[3][r]) / (p50s[0][r] + p50s[2][r]) for r in range(args.rounds)
        )
        q1, q3 = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
        print(
            f"{args.arm} / plain, paired by round: median {statistics.median(ratios):.3f}, "
            f"quartiles {q1:.3f}–{q3:.3f}"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("option", help="a session config entry, A/B in one process")
    p.add_argument("model", type=Path)
    p.add_argument("entries", nargs="+", help="key=value session config entries")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--chunk", type=int, default=25)
    p.set_defaults(run=option)
    p = sub.add_parser("processes", help="a process-wide change, A/B over four processes")
    p.add_argument("model", type=Path)
    p.add_argument("--arm", choices=["none", "collapse", "other-sessions"], default="none")
    p.add_argument("--others", type=Path, nargs="*", default=[])
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--chunk", type=int, default=10)
    p.set_defaults(run=processes)
    p = sub.add_parser("child")
    p.add_argument("model", type=Path)
    p.add_argument("--others", type=Path, nargs="*", default=[])
    p.add_argument("--collapse", action="store_true")
    p.set_defaults(run=child)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
