"""Progress of long steps, the one way ash shows it (rich): a live bar or spinner on stderr while
the work runs, then one summary line that stays on screen, e.g.

    ✓ epoch 3/10: train 2.1432  val nll 2.0871 *  (41.2 s)

The live part draws only on a terminal; the summary line is always printed, so logs and CI
output keep a record of every step. Only one live display can run at a time: a step started
inside another shows no live part of its own, just its summary line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

# stderr: progress never mixes into what a command prints for a pipe (YAML, JSON, paths).
console = Console(stderr=True, soft_wrap=True, highlight=False)

_live = False  # whether a step's live display is running (rich allows one at a time)


class Step:
    """A running step: advance its bar, show a detail beside it, set its summary line."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self.summary = ""

    def advance(self, steps: float = 1, detail: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            if detail is None:
                self._progress.update(self._task, advance=steps)
            else:
                self._progress.update(self._task, advance=steps, detail=escape(detail))

    def detail(self, text: str) -> None:
        """A short status beside the bar (e.g. the last loss), replaced by the next one."""
        self.advance(0, text)


@contextmanager
def step(
    title: str, *, total: int | None = None, done: int = 0, show: bool = True
) -> Iterator[Step]:
    """Run a step under a live bar (``total`` known) or a spinner; on success print
    ``✓ title: summary (seconds)``. ``show=False``: nothing at all (workers, quiet runs).
    On an exception nothing is printed here: the caller reports the error."""
    global _live
    if not show:
        yield Step(None, None)
        return
    started = time.perf_counter()
    if _live or not console.is_terminal:  # logs get the summary line only
        shown = Step(None, None)
        yield shown
    else:
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TimeElapsedColumn(), TextColumn("{task.fields[detail]}")]
        progress = Progress(*columns, console=console, transient=True)
        _live = True
        try:
            with progress:
                task = progress.add_task(escape(title), total=total, completed=done, detail="")
                shown = Step(progress, task)
                yield shown
        finally:
            _live = False
    seconds = time.perf_counter() - started
    summary = f": {escape(shown.summary)}" if shown.summary else ""
    console.print(f"[green]✓[/] {escape(title)}{summary}  [dim]({seconds:.1f} s)[/]")
