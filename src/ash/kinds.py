"""The one table of component kinds: everything the registry, the hooks, the config resolver and
``ash plugins`` know about a kind is derived from :data:`KINDS`.

Adding a kind is one row here (plus its base class in :mod:`ash.interfaces`, the ``ComponentKind``
literal there, and a built-ins module): the hook ``register_<plural>``, its label, its base, where
its built-ins live and where its blocks sit in an experiment all follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from ash.interfaces import (
    Backbone,
    Component,
    ComponentKind,
    Discretizer,
    Family,
    FeatureBuilder,
    Loss,
    Source,
)


@dataclass(frozen=True)
class Kind:
    """One component kind."""

    name: ComponentKind
    base: type[Component[Any]]
    label: str  # "feature builder"
    plural: str  # "feature builders"
    builtins: str  # module of ash's own components of this kind
    slots: tuple[str, ...]  # where its blocks sit in an experiment (YAML paths)
    is_list: bool = False  # a slot holds a list of blocks (model.features)
    default: str | None = None  # the block an experiment without this slot gets ({kind: ...})

    @property
    def hook(self) -> str:
        """The pluggy hook a plugin implements to register components of this kind."""
        return "register_" + self.plural.replace(" ", "_")


KINDS: tuple[Kind, ...] = (
    Kind("source", Source, "source", "sources", "ash.builtins.sources", ("data.source",)),
    Kind(
        "discretizer",
        Discretizer,
        "discretizer",
        "discretizers",
        "ash.builtins.discretizers",
        ("model.discretizer",),
    ),
    Kind(
        "feature_builder",
        FeatureBuilder,
        "feature builder",
        "feature builders",
        "ash.builtins.features",
        ("model.features",),
        is_list=True,
    ),
    Kind("loss", Loss, "loss", "losses", "ash.builtins.losses", ("loss",), default="cross_entropy"),
    Kind(
        "backbone", Backbone, "backbone", "backbones", "ash.builtins.backbones", ("model.backbone",)
    ),
    Kind(
        "family",
        Family,
        "model family",
        "families",
        "ash.builtins.families",
        ("model.family",),
        default="neural",
    ),
)

BY_NAME: dict[ComponentKind, Kind] = {kind.name: kind for kind in KINDS}
BY_HOOK: dict[str, Kind] = {kind.hook: kind for kind in KINDS}

# Where component blocks live in an experiment: (YAML path, kind, holds a list of blocks).
COMPONENT_SLOTS: tuple[tuple[str, ComponentKind, bool], ...] = tuple(
    (slot, kind.name, kind.is_list) for kind in KINDS for slot in kind.slots
)

# The block a slot gets when an experiment leaves it out: (YAML path, kind, default kind name).
DEFAULT_BLOCKS: tuple[tuple[str, ComponentKind, str], ...] = tuple(
    (slot, kind.name, kind.default) for kind in KINDS for slot in kind.slots if kind.default
)

if {kind.name for kind in KINDS} != set(get_args(ComponentKind)):  # pragma: no cover
    raise RuntimeError("ash.kinds.KINDS and ash.interfaces.ComponentKind list different kinds")
