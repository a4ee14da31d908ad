"""The trading window a replay uses for a run folder, and for an ensemble folder (which has no
config of its own: its members' window)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ash.jobs.replay import run_session
from ash.run_files import CONFIG_FILE, ENSEMBLE_FILE


def _run(folder: Path, session: str | None) -> Path:
    folder.mkdir(parents=True)
    bars = {"seconds": 1.0} if session is None else {"seconds": 1.0, "session": session}
    (folder / CONFIG_FILE).write_text(yaml.safe_dump({"bars": bars}))
    return folder


def _ensemble(folder: Path, members: list[Path]) -> Path:
    folder.mkdir(parents=True)
    (folder / ENSEMBLE_FILE).write_text(json.dumps({"members": [str(m) for m in members]}))
    return folder


def test_a_run_uses_its_own_session_and_an_ensemble_its_members(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "09:30-16:00")
    b = _run(tmp_path / "b", "09:30-16:00")
    other = _run(tmp_path / "c", "10:00-15:00")
    assert run_session(a) == "09:30-16:00"
    assert run_session(_run(tmp_path / "none", None)) is None
    assert run_session(_ensemble(tmp_path / "ab", [a, b])) == "09:30-16:00"
    # Members that disagree leave the window open (every event), as a bare model file does.
    assert run_session(_ensemble(tmp_path / "ac", [a, other])) is None
    assert run_session(tmp_path / "a" / "missing") is None
