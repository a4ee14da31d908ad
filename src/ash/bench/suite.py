"""``ash bench``: run every benchmark in one go, print the tables, write docs/benchmarks.md.

Each section is its own module (or script) that measures ash against a reference in the same
run and prints a Markdown table; the suite runs them one after another in fresh processes, so a
figure in the page is traceable to the exact command printed above its table.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ash.paths import repo_root

REPO = repo_root()


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    argv: tuple[str, ...]
    reference: str


SECTIONS: tuple[Section, ...] = (
    Section(
        "bars",
        "Bar building (ticks/s)",
        ("-m", "ash.bench.bars", "--repeats", "5"),
        "a naive pandas resample of the same ticks",
    ),
    Section(
        "synthetic",
        "Synthetic market: seconds per simulated session",
        ("-m", "ash.bench.synthetic", "--repeats", "3"),
        "drawing the session's random numbers alone",
    ),
    Section(
        "training",
        "Training throughput (samples/s)",
        ("-m", "ash.bench.training", "--steps", "10", "--rounds", "3"),
        "a bare PyTorch loop over the same backbone fed precomputed random features, same "
        "device and run (CPU with 2 threads; CUDA rows when a GPU is present)",
    ),
    Section(
        "graph",
        "Exported graph: ONNX Runtime latency before/after optimisation, parity",
        ("-m", "ash.bench.graph", "--iters", "300", "--rounds", "3"),
        "the raw exported graph with ORT optimisation off, and PyTorch eager",
    ),
    Section(
        "runtime",
        "Rust runtime vs bare ONNX Runtime vs Python ONNX Runtime vs PyTorch eager",
        ("inference-rs/scripts/bench_sizes.py", "--iters", "3000"),
        "bare ort Session::run, Python onnxruntime and PyTorch eager, same model and input",
    ),
    Section(
        "serve-load",
        "ash-serve under saturating load and hostile clients (bounded memory and time)",
        ("-m", "ash.bench.serve_load", "--seconds", "60", "--hostile-seconds", "20"),
        "the same server idle: its RSS and a lone stats round trip",
    ),
    Section(
        "tuning",
        "Tuning: does the latency constraint steer the sampler",
        ("-m", "tests.tune.bench_constraints"),
        "the same study without the feasibility constraint",
    ),
    Section(
        "tuning-throughput",
        "Tuning: trials/hour of a real study",
        ("-m", "ash.bench.tuning", "--trials", "12"),
        "plain training runs/hour of the study's base configuration",
    ),
    Section(
        "quality",
        "Forecast quality against the baselines (train + evaluate)",
        ("-m", "ash.bench.quality", "configs/default.yaml", "configs/spy.yaml"),
        "climatology, EWMA Gaussian on the tick lattice, and the oracle (synthetic)",
    ),
)


def machine_description() -> str:
    import onnxruntime
    import torch

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; load average at start "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (shared machine: read ratios, not absolutes)"
    )


def run_section(section: Section) -> tuple[str, float, int]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *section.argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    output = completed.stdout.strip()
    if completed.returncode != 0:
        output += f"\n\n(exit {completed.returncode})\n{completed.stderr.strip()[-3000:]}"
    return output, time.perf_counter() - started, completed.returncode


def run_suite(only: list[str], skip: list[str], out: Path | None) -> int:
    chosen = [s for s in SECTIONS if (not only or s.name in only) and s.name not in skip]
    header = [
        "# Benchmarks",
        "",
        f"Produced by `ash bench{''.join(f' --only {s}' for s in only)}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine_description()}.",
        "",
        "Every section measures ash against a reference in the same run; each table comes with "
        "the command that produced it.",
        "",
    ]
    print("\n".join(header))
    body: list[str] = []
    failures = 0
    for section in chosen:
        command = "python " + " ".join(section.argv)
        print(f"## {section.title}\n\n`{command}` (reference: {section.reference})\n", flush=True)
        output, seconds, code = run_section(section)
        failures += code != 0
        text = f"## {section.title}\n\n`{command}` — reference: {section.reference}; took "
        text += f"{seconds:.0f} s.\n\n{output}\n"
        body.append(text)
        print(output + "\n", flush=True)
    if out is not None:
        out.write_text("\n".join(header + body), encoding="utf-8")
        print(f"wrote {out}")
    return 1 if failures else 0
