"""The six component kinds: abstract base classes every plugin component derives from.

Each component class has a ``name`` (its YAML ``kind:``), a pydantic config class holding its
parameters, and a few methods. The bases are generic in that config class, so a component names
it once and gets a typed ``self.config``::

    class MyConfig(ComponentConfig):
        hidden: int = 64

    class MyBackbone(Backbone[MyConfig]):   # MyBackbone.Config is MyConfig
        name = "my_backbone"

The trainer, evaluator and exporter only ever talk to these interfaces, never to a concrete
component. :mod:`ash.kinds` is the one table of kinds (hooks, labels, built-ins, YAML slots).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, get_args

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EventKind = Literal["trades", "quotes", "options"]
ComponentKind = Literal["source", "discretizer", "feature_builder", "loss", "backbone", "family"]


class ComponentConfig(BaseModel):
    """Base of every component's ``Config``: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def horizon_bars(horizons_seconds: Sequence[float], bar_seconds: float) -> tuple[int, ...]:
    """Each horizon in whole bars: ``round(h / bar)``, at least one bar (the one conversion that
    targets, the model context, discretizers and the prior all use)."""
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be positive, got {bar_seconds}")
    bad = [h for h in horizons_seconds if not h > 0]
    if bad:
        raise ValueError(f"horizons must be positive seconds; got {bad}")
    return tuple(max(1, round(h / bar_seconds)) for h in horizons_seconds)


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
        """Each horizon in whole bars (see :func:`horizon_bars`)."""
        return horizon_bars(self.horizons, self.bar_seconds)


ConfigT = TypeVar("ConfigT", bound=ComponentConfig)
"""The config class a component is generic in (``Backbone[MyConfig]``)."""


class Component(Generic[ConfigT]):
    """Mixin shared by all kinds: the registry reads ``name``, ``kind`` and ``Config``.

    ``Config`` is the config class given as the generic argument (``FeatureBuilder[MyConfig]``);
    a class may still set ``Config = MyConfig`` itself, as plugins written before the bases were
    generic do.
    """

    kind: ClassVar[ComponentKind]
    name: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    config: ConfigT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Config" in cls.__dict__:
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            for arg in get_args(base):
                if isinstance(arg, type) and issubclass(arg, ComponentConfig):
                    cls.Config = arg
                    return


class Source(Component[ConfigT], ABC):
    """Yields raw market events in the canonical schemas of :mod:`ash.data.schema`."""

    kind: ClassVar[ComponentKind] = "source"

    def __init__(self, config: ConfigT) -> None:
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


class Discretizer(nn.Module, Component[ConfigT], ABC):
    """Maps forward log returns (bps) to buckets; as a module, maps a bar window to bucket edges.

    ``forward(bars[B, W, C]) -> edges[B, H, K + 1]`` in basis points, strictly increasing, with
    outer edges at the contract's sentinels. Edges live in the graph so they export to ONNX.
    ``min_window``: bars of history ``forward`` needs (a discretizer that looks back, e.g. to
    scale its edges by recent volatility, raises it; the model's window is at least this).
    """

    kind: ClassVar[ComponentKind] = "discretizer"
    min_window: int = 1

    def __init__(self, config: ConfigT, ctx: ModelContext) -> None:
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


class FeatureBuilder(nn.Module, Component[ConfigT], ABC):
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

    def __init__(self, config: ConfigT, ctx: ModelContext) -> None:
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


class Backbone(nn.Module, Component[ConfigT], ABC):
    """Sequence model: ``features[B, S, F] -> representation[B, D]``."""

    kind: ClassVar[ComponentKind] = "backbone"

    def __init__(self, config: ConfigT, n_features: int, steps: int) -> None:
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


class Loss(nn.Module, Component[ConfigT], ABC):
    """Training-only score of logits against bucket targets (docs/plugins.md: conventions)."""

    kind: ClassVar[ComponentKind] = "loss"

    def __init__(self, config: ConfigT, n_horizons: int, n_buckets: int) -> None:
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


class Family(nn.Module, Component[ConfigT], ABC):
    """A model family: how a window's features become per-horizon bucket logits, and how that
    mapping is fitted (docs/families.md).

    ``gradient = True`` (the built-in ``neural`` family): the model's backbone and heads are an
    ``nn.Module`` the generic trainer fits by gradient descent; the methods below are not used.
    ``gradient = False``: the family is *fitted* in one call on cached feature windows.
    ``forward(x[B, D]) -> head[B, H, K]`` (float32, on ``x``'s device) is the family's Python
    prediction of logits added to the prior's log-probabilities (or used alone without a
    prior); :meth:`to_onnx` is the same mapping as an ONNX graph fragment, and the export refuses
    a family whose fragment disagrees with ``forward``. The fitted state travels in the model's
    ``state_dict`` through :meth:`get_extra_state` / :meth:`set_extra_state` (bytes as a uint8
    tensor, so checkpoints still load with ``weights_only=True``).
    """

    kind: ClassVar[ComponentKind] = "family"
    gradient: ClassVar[bool] = False

    def __init__(self, config: ConfigT, n_horizons: int, n_buckets: int) -> None:
        super().__init__()
        self.config = config
        self.n_horizons = n_horizons
        self.n_buckets = n_buckets

    @abstractmethod
    def fit(self, train: FamilyData, val: FamilyData) -> dict[str, float]:
        """Fit on training windows, early-stopping on ``val``; returns a few scalars for
        ``meta.json`` (e.g. rounds kept per horizon)."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, H, K]`` added to the prior's log-probabilities (float32)."""

    @abstractmethod
    def to_onnx(self, n_inputs: int, opset: int) -> Any:
        """An ``onnx.ModelProto`` with one input ``x`` (float ``[batch, n_inputs]``) and one
        output ``head`` (float ``[batch, H, K]``), equal to :meth:`forward`."""

    @abstractmethod
    def state_bytes(self) -> bytes:
        """The fitted state (empty before :meth:`fit`)."""

    @abstractmethod
    def load_state_bytes(self, state: bytes) -> None:
        """Restore what :meth:`state_bytes` wrote."""

    def fit_stand_in(self, n_inputs: int, rows: int = 2000, seed: int = 0) -> None:
        """Fit on random rows, so that an untrained candidate can be exported and timed before
        it is fitted (tuning's latency-first pruning). A family whose size depends on the data
        (trees) overrides this to grow the largest model its config allows."""
        import numpy as np

        rng = np.random.default_rng(seed)
        x = rng.normal(size=(rows, n_inputs)).astype(np.float32)
        y = rng.integers(0, self.n_buckets, size=(rows, self.n_horizons))
        base = np.zeros((rows, self.n_horizons, self.n_buckets), dtype=np.float32)
        data = FamilyData(x, y, base)
        self.fit(data, data)

    def get_extra_state(self) -> torch.Tensor:
        data = self.state_bytes()
        if not data:  # frombuffer refuses an empty buffer
            return torch.zeros(0, dtype=torch.uint8)
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()

    def set_extra_state(self, state: Any) -> None:
        data = state.numpy().tobytes() if isinstance(state, torch.Tensor) else bytes(state)
        self.load_state_bytes(data)


@dataclass(frozen=True)
class FamilyData:
    """What a fitted family trains on: design rows ``x[N, D]`` (float32, the last step's
    features and summaries of the window's feature steps), bucket ids ``y[N, H]`` (-1: no
    target), and the prior's log-probabilities ``base[N, H, K]`` (zeros without a prior)."""

    x: np.ndarray
    y: np.ndarray
    base: np.ndarray


__all__ = [
    "Backbone",
    "Component",
    "ComponentConfig",
    "ComponentKind",
    "ConfigT",
    "Discretizer",
    "EventKind",
    "Family",
    "FamilyData",
    "FeatureBuilder",
    "Loss",
    "ModelContext",
    "Source",
    "horizon_bars",
]
