"""Which plugin components a model is made of: for ``ash.plugins`` and for export errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ash.interfaces import Component
from ash.registry import get_registry


@dataclass(frozen=True)
class ComponentRef:
    """A component found inside a model, with the plugin distribution that provides it."""

    path: str  # dotted submodule path inside the model ("" for the model itself)
    kind: str
    name: str
    distribution: str
    version: str

    def describe(self) -> str:
        where = f" at {self.path!r}" if self.path else ""
        return (
            f"{self.kind} {self.name!r}{where} (plugin distribution {self.distribution} "
            f"{self.version})"
        )

    def as_metadata(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
        }


def _origin(cls: type[Component[Any]]) -> tuple[str, str]:
    """(distribution, version) of the plugin that registered ``cls``; the module when unknown."""
    registry = get_registry()
    for by_name in registry.components.values():
        for info in by_name.values():
            if info.cls is cls:
                return info.plugin.distribution, info.plugin.version
    return f"unregistered ({cls.__module__})", "unknown"


def find_components(model: nn.Module) -> list[ComponentRef]:
    """Every plugin component inside ``model``, outermost first, in module order."""
    found: list[ComponentRef] = []
    for path, module in model.named_modules():
        cls = type(module)
        if isinstance(module, Component) and isinstance(getattr(cls, "name", None), str):
            distribution, version = _origin(cls)
            found.append(ComponentRef(path, str(cls.kind), cls.name, distribution, version))
    return found


def plugins_metadata(model: nn.Module) -> list[dict[str, str]]:
    """``ash.plugins``: one entry per distinct (kind, name) component in the model."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for ref in find_components(model):
        seen.setdefault((ref.kind, ref.name), ref.as_metadata())
    return list(seen.values())
