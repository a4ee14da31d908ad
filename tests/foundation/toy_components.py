"""Tiny components registered in-process by the foundation tests (names start with ``toy_``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import pandas as pd
import torch
from pydantic import Field

import ash
from ash.hookspecs import Register
from ash.interfaces import (
    Backbone,
    ComponentConfig,
    Discretizer,
    EventKind,
    FeatureBuilder,
    Loss,
    Source,
)
from ash.registry import PluginInfo


class ToySourceConfig(ComponentConfig):
    rows: int = Field(10, ge=1)


class ToySource(Source[ToySourceConfig]):
    name = "toy_source"

    def event_kinds(self) -> frozenset[EventKind]:
        return frozenset({"trades"})

    def symbols(self) -> list[str]:
        return ["TOY"]

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        yield pd.DataFrame()


class ToyFeatureConfig(ComponentConfig):
    lookback: int = Field(1, ge=1)
    mode: Literal["log", "simple"] = "log"


class ToyFeature(FeatureBuilder[ToyFeatureConfig]):
    name = "toy_returns"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return ("close",)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("ret",)

    @property
    def warmup(self) -> int:
        return 1

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return bars[..., :1]


class ToyDiscretizerConfig(ComponentConfig):
    n_buckets: int = Field(11, ge=2)


class ToyDiscretizer(Discretizer[ToyDiscretizerConfig]):
    name = "toy_uniform"

    @property
    def n_buckets(self) -> int:
        return 11

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return torch.zeros(bars.shape[0], 1, 12)


class ToyBackboneConfig(ComponentConfig):
    d_model: int = Field(16, ge=1)
    n_layers: int = Field(1, ge=1, le=4)


class ToyBackbone(Backbone[ToyBackboneConfig]):
    name = "toy_transformer"

    @property
    def out_dim(self) -> int:
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :1]


class ToyLoss(Loss[ComponentConfig]):
    name = "toy_ce"

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        return logits.sum() * 0


@ash.hookimpl
def register_sources(register: Register) -> None:
    register(ToySource)


@ash.hookimpl
def register_feature_builders(register: Register) -> None:
    register(ToyFeature)


@ash.hookimpl
def register_discretizers(register: Register) -> None:
    register(ToyDiscretizer)


@ash.hookimpl
def register_backbones(register: Register) -> None:
    register(ToyBackbone)


@ash.hookimpl
def register_losses(register: Register) -> None:
    register(ToyLoss)


PLUGIN = (
    __import__(__name__, fromlist=["_"]),
    PluginInfo("toys", "ash-tests", "0", __name__),
)
