"""Make sure the ``synthetic`` source is registered (a no-op once the built-ins register it)."""

from __future__ import annotations

from typing import Any

import ash.registry as registry
from ash import hookimpl
from ash.registry import PluginInfo


class _SyntheticPlugin:
    @hookimpl
    def register_sources(self, register: Any) -> None:
        from ash.synthetic.source import SyntheticSource

        register(SyntheticSource)


def ensure_synthetic() -> registry.Registry:
    current = registry.get_registry()
    if "synthetic" in current.names("source"):
        return current
    info = PluginInfo("synthetic", "tests", "0", __name__)
    registry._DEFAULT = registry.load_registry(extra_plugins=[(_SyntheticPlugin(), info)])
    return registry._DEFAULT
