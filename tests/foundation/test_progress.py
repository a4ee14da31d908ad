"""The one progress helper: a summary line per step that stays, nothing for silent steps."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ash import progress


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(
        progress,
        "console",
        Console(file=buffer, width=200, force_terminal=True, color_system=None, highlight=False),
    )
    return buffer


def test_a_step_leaves_its_summary_line(output: io.StringIO) -> None:
    with progress.step("epoch 1/2", total=3) as bar:
        for _ in range(3):
            bar.advance(detail="loss 1.0 [x]")
        bar.summary = "train 1.0000  val nll 0.9000 [best]"
    lines = [line for line in output.getvalue().splitlines() if "✓" in line]
    assert len(lines) == 1
    assert "epoch 1/2: train 1.0000  val nll 0.9000 [best]" in lines[0]  # markup-safe


def test_a_nested_step_prints_only_its_line_and_a_silent_step_nothing(
    output: io.StringIO,
) -> None:
    with progress.step("outer") as outer:
        with progress.step("inner") as inner:
            inner.summary = "done"
        with progress.step("hidden", show=False) as hidden:
            hidden.summary = "never shown"
        outer.summary = "all"
    text = output.getvalue()
    assert "inner: done" in text and "outer: all" in text and "hidden" not in text


def test_a_failed_step_prints_no_success_line(output: io.StringIO) -> None:
    with pytest.raises(RuntimeError), progress.step("export"):
        raise RuntimeError("boom")
    assert "✓" not in output.getvalue()
