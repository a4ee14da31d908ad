"""User errors on the command line: one clear line on stderr and exit code 1, no traceback.

A bad config, a missing store or file, a folder that is not a run, training before importing
data: the message of ash's own error says what is wrong, where, and what to do; a traceback only
hides it. ``ash --debug ...`` (or ``ASH_DEBUG=1``) re-raises with the traceback. Anything not
listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.markup import escape
from typer.core import TyperGroup

from ash.cli.consoles import err_console

# (module, class) of every error that means "the input is wrong". Looked up only among modules
# already imported (an error can only come from a module that ran), so reporting imports nothing.
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("ash.config.errors", "ConfigError"),
    ("ash.data.sources.report", "DataError"),
    ("ash.pipeline", "DataPipelineError"),
    ("ash.runs", "RunError"),
    ("ash.checkpoint", "CheckpointError"),
    ("ash.runtime", "ServeError"),
    ("ash.runtime_lib", "RuntimeLibraryNotFoundError"),
    ("ash.registry", "PluginError"),
    ("ash.registry", "UnknownComponentError"),
    ("ash.export.exporter", "ExportError"),
    ("ash.export.violations", "ContractViolationError"),
    ("ash.export.parity", "ParityError"),
    ("ash.tune.study", "StorageError"),
    ("ash.tune.study", "StudyMismatchError"),
    ("ash.tune.objective", "ObjectiveMetricError"),
    ("ash.tune.best", "NoCompletedTrialError"),
    ("ash.jobs.replay", "ReplayError"),
    ("ash.ensemble.members", "EnsembleError"),
)
DEBUG_ENV = "ASH_DEBUG"
P = ParamSpec("P")
R = TypeVar("R")


def request_debug() -> None:
    """``ash --debug``: errors keep their traceback (for this process and its children)."""
    os.environ[DEBUG_ENV] = "1"


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV) == "1"


def _report(exc: Exception) -> None:
    """Print a user error as one line and exit 1; re-raise anything else (or under --debug)."""
    message = user_message(exc)
    if message is None or _debug():
        raise exc
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=1) from None


def user_message(exc: BaseException) -> str | None:
    """The one line to print for a user error, or None when ``exc`` is not one."""
    missing = FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError
    if isinstance(exc, missing) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    for module, name in USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            formatted = getattr(exc, "format", None)  # ConfigError: every problem, with its path
            if module == "ash.config.errors" and callable(formatted):
                return str(formatted())
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return text or type(exc).__name__
    return None


def reports_user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A command that reports user errors itself: the same one line when its function is run
    on its own (``typer.Typer`` apps of one command, as the tests do)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            _report(exc)
            raise  # unreachable: _report raises

    return wrapper


class UserErrorGroup(TyperGroup):
    """The ``ash`` group: every sub-command's user errors become one line (see module doc)."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer vendors click in 0.29+)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            _report(exc)
            raise  # unreachable: _report raises
