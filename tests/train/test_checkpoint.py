"""Checkpoints: atomic replacement, weights_only loading, precise errors, RNG round trip."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ash import checkpoint as ckpt
from ash.train.schedule import lr_factor
from ash.train.seeding import capture_rng, restore_rng


def test_round_trip_loads_with_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    state = {"model": {"w": torch.arange(3.0)}, "step": 7, "history": [{"a": 1.0}]}
    ckpt.save_checkpoint(state, path)
    raw = torch.load(path, weights_only=True)
    assert raw["step"] == 7
    loaded = ckpt.load_checkpoint(path)
    assert torch.equal(loaded["model"]["w"], torch.arange(3.0))
    assert not path.with_name("c.pt.tmp").exists()


def test_a_crash_while_writing_never_replaces_the_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.pt"
    ckpt.save_checkpoint({"step": 1}, path)

    def torn_save(obj: object, handle: object) -> None:
        handle.write(b"PK\x03\x04 truncated")  # type: ignore[attr-defined]
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert path.with_name("c.pt.tmp").exists()  # the torn temporary is left behind …
    assert ckpt.load_checkpoint(path)["step"] == 1  # … and never replaced the good one
    ckpt.save_checkpoint({"step": 3}, path)  # the next save overwrites the stray tmp
    assert ckpt.load_checkpoint(path)["step"] == 3


def test_truncated_checkpoint_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    ckpt.save_checkpoint({"model": {"w": torch.randn(100)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match=r"c\.pt is unreadable .*truncated or corrupt"):
        ckpt.load_checkpoint(path)


def test_missing_and_foreign_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "nope.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(ckpt.CheckpointError, match="not an ash checkpoint"):
        ckpt.load_checkpoint(foreign)


def test_rng_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1)
    random.seed(2)
    np.random.seed(3)
    ckpt.save_checkpoint({"rng": capture_rng()}, tmp_path / "r.pt")
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(99)
    random.seed(99)
    np.random.seed(99)
    restore_rng(ckpt.load_checkpoint(tmp_path / "r.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1]
    assert np.random.rand() == expected[2]


def test_warmup_then_cosine() -> None:
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10) == pytest.approx(0.5)
    assert lr_factor(100, 100, 10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="total_steps must be positive"):
        lr_factor(0, 0, 0)
