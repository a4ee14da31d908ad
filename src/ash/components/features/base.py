"""Shared plumbing of the built-in feature builders: column lookup and declared metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import AfterValidator

from ash.interfaces import ConfigT, FeatureBuilder, ModelContext


class ColumnFeatureBuilder(FeatureBuilder[ConfigT]):
    """Resolves its required columns to indices once, at build time (fails fast if missing).

    Subclasses call :meth:`declare` in ``__init__`` and implement ``forward`` with
    :meth:`col` to read a ``[B, W]`` column series.
    """

    def __init__(self, config: ConfigT, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self._columns: tuple[str, ...] = ()
        self._names: tuple[str, ...] = ()
        self._warmup = 0
        self._index: dict[str, int] = {}

    def declare(self, columns: Sequence[str], names: Sequence[str], warmup: int) -> None:
        missing = [c for c in columns if c not in self.ctx.bar_columns]
        if missing:
            raise KeyError(
                f"feature builder {self.name!r} needs bar columns {missing} that these bars "
                f"lack; available: {', '.join(self.ctx.bar_columns)}"
            )
        self._columns = tuple(columns)
        self._names = tuple(names)
        self._warmup = int(warmup)
        self._index = {c: self.ctx.column(c) for c in columns}

    def col(self, bars: torch.Tensor, name: str) -> torch.Tensor:
        """Column ``name`` as ``[B, W]``, with NaN/inf replaced (bars may carry holes)."""
        x = bars[:, :, self._index[name]]
        return torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def warmup(self) -> int:
        return self._warmup


def stack(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """``F`` series ``[B, W]`` → ``[B, W, F]``."""
    return torch.stack(list(features), dim=-1)


def _check_lookbacks(values: tuple[int, ...]) -> tuple[int, ...]:
    if not values or any(v < 1 for v in values) or len(set(values)) != len(values):
        raise ValueError(f"must be a non-empty list of distinct positive bar counts; got {values}")
    return values


Lookbacks = Annotated[tuple[int, ...], AfterValidator(_check_lookbacks)]
"""A config field type: distinct positive lookbacks in bars."""
