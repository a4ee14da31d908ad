"""Precise data errors and counted import reports, shared by every source.

A malformed file (wrong column count, a non-numeric or empty field, a corrupt or oversized
archive) is a :class:`DataError` naming the file, the line and the value; every row dropped or
repaired is counted in an :class:`ImportReport` (docs/data.md, "Bad data policy").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Input data that cannot be used as it is: says what, where (file, line, value), what to do."""

    def __init__(
        self,
        what: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        value: object = None,
        fix: str = "",
    ) -> None:
        self.what = what
        self.path = None if path is None else str(path)
        self.line = line
        self.value = value
        self.fix = fix
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        text = f"{where}{what}"
        if value is not None:
            text += f" (value {value!r})"
        if fix:
            text += f". {fix}"
        super().__init__(text)


@dataclass
class ImportReport:
    """What happened to the rows of one input: kept rows and every counted drop or repair."""

    origin: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] += int(count)

    def repair(self, reason: str, count: int) -> None:
        if count:
            self.repaired[reason] += int(count)

    def merge(self, other: ImportReport) -> None:
        self.rows_read += other.rows_read
        self.rows_kept += other.rows_kept
        self.dropped.update(other.dropped)
        self.repaired.update(other.repaired)
        self.notes.extend(other.notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "dropped": dict(self.dropped),
            "repaired": dict(self.repaired),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        parts = [f"{self.rows_kept:,} of {self.rows_read:,} rows kept"]
        if self.dropped:
            parts.append(
                "dropped " + ", ".join(f"{k}={v:,}" for k, v in sorted(self.dropped.items()))
            )
        if self.repaired:
            parts.append(
                "repaired " + ", ".join(f"{k}={v:,}" for k, v in sorted(self.repaired.items()))
            )
        return "; ".join(parts)
