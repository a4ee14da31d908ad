"""Config errors that say where (file, line, YAML path), what, and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class ConfigIssue:
    path: str  # dotted YAML path, e.g. "model.backbone.n_layers" ("" for the document root)
    message: str
    value: Any = _MISSING
    location: str | None = None  # "file.yaml:12" or "--set"

    def format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        path = self.path or "<root>"
        text = f"{where}{path}: {self.message}"
        if self.value is not _MISSING:
            text += f" (got {self.value!r})"
        return text


class ConfigError(Exception):
    """One or more problems in an experiment; ``issues`` lists every one of them."""

    def __init__(self, issues: list[ConfigIssue], source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        super().__init__(self.format())

    def format(self) -> str:
        head = f"{len(self.issues)} problem(s) in experiment"
        if self.source:
            head += f" {self.source}"
        return head + ":\n" + "\n".join(f"  - {issue.format()}" for issue in self.issues)


def join_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """Dotted path from pydantic/YAML location parts (list indices stay numeric)."""
    return ".".join(str(p) for p in parts)
