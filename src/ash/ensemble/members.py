"""Loading ensemble members and refusing runs that cannot be mixed, naming the member."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ash import runs
from ash.config.resolve import ResolvedExperiment
from ash.model import AshModel


class EnsembleError(ValueError):
    """Members that cannot form one model; the message names the member and what differs."""


@dataclass
class Member:
    run_dir: Path
    model: AshModel
    resolved: ResolvedExperiment
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        """A short name: the run folder's name and its family (``default_2026… (lightgbm)``)."""
        family = self.model.family.name if self.model.family is not None else "neural"
        backbone = (
            f" {type(self.model.backbone).__name__}" if self.model.backbone is not None else ""
        )
        return f"{self.run_dir.name} ({family}{backbone})"


def load_members(run_dirs: list[Path]) -> list[Member]:
    if len(run_dirs) < 2:
        raise EnsembleError(f"an ensemble needs at least two runs, got {len(run_dirs)}")
    if len({Path(r).resolve() for r in run_dirs}) != len(run_dirs):
        raise EnsembleError("the same run is given twice; give each member once")
    members = []
    for run_dir in run_dirs:
        model, resolved = runs.load_model(Path(run_dir))
        meta = runs.read_json(Path(run_dir) / runs.META_FILE)
        members.append(Member(Path(run_dir), model, resolved, meta))
    check_compatible(members)
    return members


def _describe(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def check_compatible(members: list[Member]) -> None:
    """Same bar columns, bar seconds, horizons, bucket count, data and bucket edges."""
    first = members[0]
    for member in members[1:]:
        for what, get in (
            ("bar columns", lambda m: list(m.model.ctx.bar_columns)),
            ("bar seconds", lambda m: m.model.ctx.bar_seconds),
            ("horizons", lambda m: list(m.model.horizons)),
            ("number of buckets", lambda m: m.model.n_buckets),
            ("data (fingerprint)", lambda m: m.meta.get("data_fingerprint")),
        ):
            a, b = get(first), get(member)
            if a != b:
                raise EnsembleError(
                    f"member {member.label} has {what} {_describe(b)}, but the first member "
                    f"{first.label} has {_describe(a)}; an ensemble mixes runs that forecast "
                    "the same buckets of the same bars"
                )


def check_same_edges(members: list[Member], windows: np.ndarray) -> None:
    """Every member's bucket edges equal the first member's on ``windows[N, W, C]`` (the
    largest window; each member reads its own last bars)."""
    width = windows.shape[1]
    bars = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
    with torch.no_grad():
        edges = [m.model.edges(bars[:, width - m.model.window :]).numpy() for m in members]
    for member, e in zip(members[1:], edges[1:], strict=True):
        finite = np.isfinite(edges[0]) & np.isfinite(e)
        diff = float(np.abs(np.where(finite, e - edges[0], 0.0)).max())
        if diff > 1e-4 or not np.array_equal(np.isfinite(edges[0]), np.isfinite(e)):
            raise EnsembleError(
                f"member {member.label} has different bucket edges from {members[0].label} "
                f"(max difference {diff:.3g} bps on validation windows); its discretizer or "
                "its training data differ, so its probabilities are over other buckets"
            )
