"""A contract violation: a stable code (shared with the Rust runtime) and a precise message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One way a model breaks the contract; ``code`` is stable (docs/contract.md §6)."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ContractViolationError(ValueError):
    """Raised by :func:`ash.export.validate.check_model` with every violation found."""

    def __init__(self, path: str, violations: list[Violation]) -> None:
        self.path = path
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(
            f"{path} violates the ash ONNX contract v1 ({len(violations)} violation"
            f"{'s' if len(violations) != 1 else ''}; see docs/contract.md):\n{lines}"
        )
