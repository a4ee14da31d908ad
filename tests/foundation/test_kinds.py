"""The one kind table: hooks, labels, bases and slots come from ash.kinds; configs are typed."""

from __future__ import annotations

from typing import Any, ClassVar, get_args

import pytest
import torch

from ash import hookspecs
from ash.components.features import Returns
from ash.components.features.returns import ReturnsConfig
from ash.interfaces import Backbone, ComponentConfig, ComponentKind, FeatureBuilder
from ash.kinds import BY_HOOK, COMPONENT_SLOTS, KINDS
from ash.registry import load_registry


def test_every_kind_has_one_hook_label_base_and_slot() -> None:
    assert {k.name for k in KINDS} == set(get_args(ComponentKind))
    assert set(BY_HOOK) == {
        "register_sources",
        "register_discretizers",
        "register_feature_builders",
        "register_losses",
        "register_backbones",
        "register_families",
    }
    for kind in KINDS:
        assert callable(getattr(hookspecs, kind.hook))
        assert any(slot_kind == kind.name for _, slot_kind, _ in COMPONENT_SLOTS)
    assert [k.plural for k in KINDS if k.name == "loss"] == ["losses"]  # not "losss"


class WideConfig(ComponentConfig):
    width: int = 3


class Typed(Backbone[WideConfig]):
    name = "typed"

    @property
    def out_dim(self) -> int:
        return self.config.width  # typed: WideConfig

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :1].expand(-1, self.config.width)


class OldStyle(Backbone):  # type: ignore[type-arg]  # a plugin written before the bases were generic
    name = "old_style"
    Config: ClassVar[type[ComponentConfig]] = WideConfig

    def __init__(self, config: Any, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        assert isinstance(config, WideConfig)

    @property
    def out_dim(self) -> int:
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :1]


def test_config_class_comes_from_the_type_argument_or_an_explicit_config() -> None:
    assert Typed.Config is WideConfig and Returns.Config is ReturnsConfig
    assert OldStyle.Config is WideConfig
    assert Typed(WideConfig(width=5), 2, 3).out_dim == 5
    assert OldStyle(WideConfig(), 2, 3).out_dim == 1


def test_typed_registry_lookup() -> None:
    registry = load_registry(entry_points=False)
    assert registry.lookup(FeatureBuilder, "returns") is Returns
    with pytest.raises(TypeError, match="not a component kind's base"):
        registry.lookup(ComponentConfig, "returns")  # type: ignore[type-var]
