"""The five component kinds: abstract base classes every plugin component derives from.

Each component class has a ``name`` (its YAML ``kind:``), a nested pydantic ``Config`` holding its
parameters, and a few methods. The trainer, evaluator and exporter only ever talk to these
interfaces, never to a concrete component.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EventKind = Literal["trades", "quotes", "options"]
ComponentKind = Literal["source", "discretizer", "feature_builder", "loss", "backbone"]


class ComponentConfig(BaseModel):
    """Base of every component's ``Config``: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ModelContext:
    """What a model component needs to know about its inputs when it is built."""

    bar_columns: tuple[str, ...]
    bar_seconds: float
    horizons: tuple[float, ...]  # seconds

    def column(self, name: str) -> int:
        """Index of a bar column, with an error that lists the columns the bars do have."""
        try:
            return self.bar_columns.index(name)
        except ValueError:
            raise KeyError(
                f"bar column {name!r} is not in this model's bars; available: "
                f"{', '.join(self.bar_columns)}"
            ) from None

    def horizon_bars(self) -> tuple[int, ...]:
        """Each horizon in whole bars (horizons shorter than a bar round up to one bar)."""
        return tuple(max(1, round(h / self.bar_seconds)) for h in self.horizons)


class Component:
    """Mixin shared by all kinds: the registry reads ``name``, ``kind`` and ``Config``."""

    kind: ClassVar[ComponentKind]
    name: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig


class Source(Component, ABC):
    """Yields raw market events in the canonical schemas of :mod:`ash.data.schema`."""

    kind: ClassVar[ComponentKind] = "source"

    def __init__(self, config: ComponentConfig) -> None:
        self.config = config

    @abstractmethod
    def event_kinds(self) -> frozenset[EventKind]:
        """Which event tables this source can produce."""

    @abstractmethod
    def symbols(self) -> list[str]:
        """Symbols available from this source."""

    @abstractmethod
    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield events of ``kind`` for ``symbols`` in ``[start, end)``, in chunks.

        Each chunk is a DataFrame in the canonical schema for ``kind``, sorted by ``ts``;
        chunks come in time order so a year of ticks never has to fit in memory.
        """

    def oracle(self) -> Any | None:
        """The true conditional return distribution, for sources that know it (synthetic)."""
        return None


class Discretizer(nn.Module, Component, ABC):
    """Maps forward log returns (bps) to buckets; as a module, maps a bar window to bucket edges.

    ``forward(bars[B, W, C]) -> edges[B, H, K + 1]`` in basis points, strictly increasing, with
    outer edges at the contract's sentinels. Edges live in the graph so they export to ONNX.
    """

    kind: ClassVar[ComponentKind] = "discretizer"

    def __init__(self, config: ComponentConfig, ctx: ModelContext) -> None:
        super().__init__()
        self.config = config
        self.ctx = ctx

    @property
    @abstractmethod
    def n_buckets(self) -> int:
        """Number of buckets K."""

    def fit(self, returns_bps: np.ndarray) -> None:
        """Fit on training targets ``[N, H]`` (NaN where a target is missing). Default: no-op."""

    @abstractmethod
    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        """Bucket edges ``[B, H, K + 1]`` for each window in ``bars[B, W, C]``."""


class FeatureBuilder(nn.Module, Component, ABC):
    """A causal feature module: ``bars[B, W, C] -> features[B, W, F]``.

    The output at step ``t`` may depend only on bars ``<= t``. The first ``warmup`` steps may be
    unreliable (but must be finite); the model only uses steps after the warm-up.
    """

    kind: ClassVar[ComponentKind] = "feature_builder"
    cacheable: ClassVar[bool] = True
    """Training and evaluation may compute this builder once per bar over each session segment
    and gather feature windows (``ash.feature_cache``): right for a causal builder whose output
    at a step depends only on the last ``warmup`` bars. Set False for one whose output depends on
    where the window starts; a builder with trainable parameters is never cached."""

    def __init__(self, config: ComponentConfig, ctx: ModelContext) -> None:
        super().__init__()
        self.config = config
        self.ctx = ctx

    @property
    @abstractmethod
    def required_columns(self) -> tuple[str, ...]:
        """Bar columns this builder reads."""

    @property
    @abstractmethod
    def feature_names(self) -> tuple[str, ...]:
        """Names of the F output features, in order."""

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Bars of history needed before the first fully valid output step."""

    @abstractmethod
    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        """Features ``[B, W, F]``."""


class Backbone(nn.Module, Component, ABC):
    """Sequence model: ``features[B, S, F] -> representation[B, D]``."""

    kind: ClassVar[ComponentKind] = "backbone"

    def __init__(self, config: ComponentConfig, n_features: int, steps: int) -> None:
        super().__init__()
        self.config = config
        self.n_features = n_features
        self.steps = steps

    @property
    @abstractmethod
    def out_dim(self) -> int:
        """Size D of the representation."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Representation ``[B, D]``."""


class Loss(nn.Module, Component, ABC):
    """Training-only score of logits against bucket targets."""

    kind: ClassVar[ComponentKind] = "loss"

    def __init__(self, config: ComponentConfig, n_horizons: int, n_buckets: int) -> None:
        super().__init__()
        self.config = config
        self.n_horizons = n_horizons
        self.n_buckets = n_buckets

    @abstractmethod
    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        edges: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Scalar loss from ``logits[B, H, K]``, integer ``targets[B, H]``, ``edges[B, H, K+1]``
        and a boolean ``mask[B, H]`` of targets that exist (horizon inside the session)."""


KIND_BASES: dict[ComponentKind, type[Component]] = {
    "source": Source,
    "discretizer": Discretizer,
    "feature_builder": FeatureBuilder,
    "loss": Loss,
    "backbone": Backbone,
}

__all__ = [
    "KIND_BASES",
    "Backbone",
    "Component",
    "ComponentConfig",
    "ComponentKind",
    "Discretizer",
    "EventKind",
    "FeatureBuilder",
    "Loss",
    "ModelContext",
    "Source",
]
