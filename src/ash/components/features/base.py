"""Shared plumbing of the built-in feature builders: column lookup and declared metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import AfterValidator

from ash.components.ops import bar_major, finite
from ash.interfaces import ConfigT, FeatureBuilder, ModelContext


class ColumnFeatureBuilder(FeatureBuilder[ConfigT]):
    """Resolves its required columns to indices once, at build time (fails fast if missing).

    Subclasses call :meth:`declare` in ``__init__`` and implement ``forward`` with
    :meth:`columns` (several columns at once, one ``Gather``: the lean graph) or :meth:`col`.
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

    def columns(self, bars: torch.Tensor, names: Sequence[str] | None = None) -> torch.Tensor:
        """Columns ``names`` (default: every required column) as float64 series, time last:
        ``[B, n, W]`` (the layout of :mod:`ash.components.ops`), NaN/inf replaced by 0.

        The cleaning and the transpose act on the whole bar window first, then whole rows are
        gathered: every builder of a model does the same first two steps on the same bars, so
        in the exported graph they are one shared set of nodes (common-subexpression
        elimination), and each builder adds one ``Gather`` and one ``Cast``.
        """
        index = [self._index[c] for c in (names or self._columns)]
        return finite(bars).transpose(1, 2)[:, index].double()

    def first_position(self, bars: torch.Tensor) -> int:
        """The first position whose features are computed: the end of the warm-up (or the last
        bar of a shorter window). The warm-up positions before it are output as 0, which the
        interface allows ("unreliable but finite") and no model reads: a model feeds a builder
        ``warmup + steps`` bars and reads the last ``steps``, exactly these positions."""
        return max(0, min(self.warmup, int(bars.shape[1]) - 1))

    def output(self, features: torch.Tensor, bars: torch.Tensor) -> torch.Tensor:
        """Time-last float64 features from :meth:`first_position` on, ``[B, F, m]`` → the
        builder's output ``[B, W, F]`` in the bars' dtype (warm-up positions 0)."""
        return bar_major(features, int(bars.shape[1]), bars.dtype)

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
