"""Every registered built-in passes ash.testing, and each check can fail (broken components)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from pydantic import Field
from torch import nn

from ash.components.backbones import GRUBackbone, TCNBackbone, TransformerBackbone
from ash.components.discretizers import LogReturnDiscretizer, VolScaledDiscretizer
from ash.components.features import Returns
from ash.components.losses import CrossEntropy
from ash.interfaces import Backbone, ComponentConfig, Discretizer, FeatureBuilder, Loss
from ash.registry import get_registry
from ash.testing import (
    ConformanceError,
    check_backbone,
    check_component,
    check_config_roundtrip,
    check_discretizer,
    check_feature_builder,
    check_loss,
)

BUILTIN_KINDS = ("discretizer", "feature_builder", "loss", "backbone")


def _builtins() -> list[tuple[str, str]]:
    reg = get_registry()
    return [
        (kind, name)
        for kind in BUILTIN_KINDS
        for name in reg.names(kind)
        if reg.get(kind, name).__module__.startswith("ash.")
    ]


def test_all_builtins_are_registered() -> None:
    names = {name for _, name in _builtins()}
    assert {"log_return", "quantile", "vol_scaled", "fixed_width"} <= names
    assert {"cross_entropy", "soft_gaussian", "rps", "focal"} <= names
    assert {"transformer", "gru", "tcn"} <= names
    assert len([k for k, _ in _builtins() if k == "feature_builder"]) == 12


@pytest.mark.parametrize(("kind", "name"), _builtins(), ids=lambda v: str(v))
def test_builtin_passes_conformance(kind: str, name: str) -> None:
    check_component(get_registry().get(kind, name))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (TransformerBackbone, TransformerBackbone.Config(pooling="mean", causal=True, n_heads=8)),
        (TransformerBackbone, TransformerBackbone.Config(pooling="last", d_model=64, n_layers=1)),
        (GRUBackbone, GRUBackbone.Config(n_layers=2, hidden=32)),
        (TCNBackbone, TCNBackbone.Config(n_blocks=2, kernel_size=5)),
        (LogReturnDiscretizer, LogReturnDiscretizer.Config(scaling="none", n_buckets=21)),
        (VolScaledDiscretizer, VolScaledDiscretizer.Config(lookback_bars=30, n_buckets=31)),
    ],
    ids=lambda v: getattr(v, "name", None) or "cfg",
)
def test_non_default_configs_pass(cls: type, config: ComponentConfig) -> None:
    check_component(cls, config)


# --- Broken components: each check must be able to fail, with a message that says why. ---


class Leaky(FeatureBuilder):
    """Looks one bar into the future."""

    name = "leaky"
    required_columns = ("mid",)
    feature_names = ("next_mid",)
    warmup = 0

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        mid = bars[:, :, 11]
        return torch.cat([mid[:, 1:], mid[:, -1:]], dim=1).unsqueeze(-1)


class ShortWarmup(FeatureBuilder):
    """Uses a 20-bar lag but declares a warm-up of 5."""

    name = "short_warmup"
    required_columns = ("mid",)
    feature_names = ("diff20",)
    warmup = 5

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        mid = bars[:, :, 11]
        n = min(20, mid.shape[1])
        lagged = torch.cat([mid[:, :1].expand(-1, n), mid[:, : mid.shape[1] - n]], dim=1)
        return (mid - lagged).unsqueeze(-1)


class BatchMixer(Backbone):
    """Normalizes across the batch: one sample's output depends on the others."""

    name = "batch_mixer"

    def __init__(self, config: ComponentConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.lin = nn.Linear(n_features, 4)

    @property
    def out_dim(self) -> int:
        return 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x[:, -1])
        return h - h.mean(0, keepdim=True)


class UnusedParam(BatchMixer):
    name = "unused_param"

    def __init__(self, config: ComponentConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.spare = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x[:, -1])  # type: ignore[no-any-return]


class IgnoresMask(Loss):
    name = "ignores_mask"

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        k = logits.shape[-1]
        return nn.functional.cross_entropy(logits.reshape(-1, k), targets.clamp(0).reshape(-1))


class Collapsing(Discretizer):
    """Edges all zero inside the sentinels: not strictly increasing."""

    name = "collapsing"

    @property
    def n_buckets(self) -> int:
        return 3

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        e = torch.tensor([-1e4, 0.0, 0.0, 1e4])
        return e.expand(bars.shape[0], len(self.ctx.horizons), 4)


class NoDescriptionConfig(ComponentConfig):
    width: int = 3


class NoDescription(Returns):
    name = "no_description"
    Config: ClassVar[type[ComponentConfig]] = NoDescriptionConfig


class BadNameConfig(ComponentConfig):
    width: int = Field(3, description="A width.")


class BadName(Returns):
    name = "bad-name"
    Config: ClassVar[type[ComponentConfig]] = BadNameConfig


class TooShortForWindow(ShortWarmup):
    name = "too_short"

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        mid = bars[:, :, 11]
        return (mid - torch.cat([mid[:, :1].expand(-1, 20), mid[:, :-20]], dim=1)).unsqueeze(-1)


@pytest.mark.parametrize(
    ("check", "cls", "message"),
    [
        (check_feature_builder, Leaky, "is not causal"),
        (check_feature_builder, ShortWarmup, "declare a larger warmup"),
        (check_feature_builder, TooShortForWindow, "fails on a window of warmup \\+ 1 = 6"),
        (check_backbone, BatchMixer, "depends on the batch"),
        (check_backbone, UnusedParam, r"\['spare.weight', 'spare.bias'\] get no gradient"),
        (check_loss, IgnoresMask, "masked-out entries receive gradient"),
        (check_discretizer, Collapsing, "not strictly increasing"),
        (check_config_roundtrip, NoDescription, "needs a description"),
        (check_config_roundtrip, BadName, "must be a Python identifier"),
    ],
    ids=lambda v: getattr(v, "__name__", "msg"),
)
def test_broken_components_fail_with_a_reason(check: object, cls: type, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check(cls)  # type: ignore[operator]


def test_non_exportable_component_names_the_problem() -> None:
    class Unexportable(Returns):
        name = "unexportable"

        def forward(self, bars: torch.Tensor) -> torch.Tensor:
            return torch.special.i0e(super().forward(bars) * 1e-3)  # no ONNX symbolic

    with pytest.raises(ConformanceError, match=r"feature builder 'unexportable'.*i0e"):
        check_feature_builder(Unexportable)


def test_config_of_wrong_class_is_rejected() -> None:
    with pytest.raises(ConformanceError, match="must be a CrossEntropyConfig"):
        check_component(CrossEntropy, Returns.Config())


class PlainTensorLoss(CrossEntropy):
    """Keeps its horizon weights as a plain attribute: ``.to("cuda")`` would leave them behind."""

    def __init__(self, config: ComponentConfig, n_horizons: int, n_buckets: int) -> None:
        super().__init__(config, n_horizons, n_buckets)
        self.plain_weights = [torch.ones(n_horizons)]


def test_a_tensor_kept_as_a_plain_attribute_fails_conformance() -> None:
    with pytest.raises(ConformanceError, match=r"plain_weights\[0\].*register_buffer"):
        check_loss(PlainTensorLoss)
    check_loss(CrossEntropy)  # the same loss with a registered buffer passes
