"""The plugin registry: discovers components through pluggy and entry points.

Built-in modules are registered first, then every entry point in the group ``ash``. Each plugin is
loaded and asked for its components on its own, so a plugin that fails to import, implements a
misspelled hook, registers a duplicate name or a class of the wrong kind is recorded as *broken*
with a message naming it, and never affects experiments that do not use it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, distributions
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from ash import __version__, hookspecs
from ash.interfaces import Component, ComponentKind
from ash.kinds import BY_HOOK, BY_NAME, KINDS

ENTRY_POINT_GROUP = "ash"
ComponentT = TypeVar("ComponentT", bound=Component[Any])
LOAD_PLUGINS_ENV = "ASH_LOAD_PLUGINS"

# Built-ins go through the very same hooks as third-party plugins (cf. pytest's default plugins).
BUILTIN_MODULES: tuple[str, ...] = tuple(kind.builtins for kind in KINDS)


class PluginError(Exception):
    """A plugin broke one of the registry's rules; the message names the plugin."""


class UnknownComponentError(KeyError):
    """A YAML ``kind:`` that no loaded plugin provides."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin came from, for messages and ``ash plugins``."""

    name: str  # entry point name, or the module name of a built-in
    distribution: str
    version: str
    module: str

    def describe(self) -> str:
        return f"plugin {self.name!r} (distribution {self.distribution} {self.version})"


@dataclass(frozen=True)
class ComponentInfo:
    kind: ComponentKind
    name: str
    cls: type[Component[Any]]
    plugin: PluginInfo


@dataclass(frozen=True)
class BrokenPlugin:
    plugin: PluginInfo
    entry_point: str  # "name = module:attr"
    error: str
    details: str = ""

    def describe(self) -> str:
        return (
            f"{self.plugin.describe()}, entry point '{self.entry_point}', failed to load: "
            f"{self.error}"
        )


@dataclass
class Registry:
    """All components by kind and name, plus the plugins that could not be loaded."""

    components: dict[ComponentKind, dict[str, ComponentInfo]] = field(
        default_factory=lambda: {kind.name: {} for kind in KINDS}
    )
    broken: list[BrokenPlugin] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)

    def get(self, kind: ComponentKind, name: str) -> type[Component[Any]]:
        return self.info(kind, name).cls

    def lookup(self, base: type[ComponentT], name: str) -> type[ComponentT]:
        """The component ``name`` of the kind whose base is ``base``, typed as that base
        (``registry.lookup(FeatureBuilder, "returns")``)."""
        kind = next((k for k in KINDS if k.base is base), None)
        if kind is None:
            raise TypeError(f"{base.__name__} is not a component kind's base class")
        cls = self.get(kind.name, name)
        if not issubclass(cls, base):  # the registry admits only subclasses of the kind's base
            raise TypeError(f"{kind.label} {name!r} is not a {base.__name__}")
        return cls

    def info(self, kind: ComponentKind, name: str) -> ComponentInfo:
        known = self.components[kind]
        if name in known:
            return known[name]
        raise UnknownComponentError(self.unknown_message(kind, name))

    def unknown_message(self, kind: ComponentKind, name: str) -> str:
        known = sorted(self.components[kind])
        label = BY_NAME[kind].label
        message = f"unknown {label} {name!r}"
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            message += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        message += f" (known {BY_NAME[kind].plural}: {', '.join(known) or 'none'})"
        # A component from a plugin that failed to load looks unknown: say which plugins failed.
        for broken in self.broken:
            message += f"\n  note: {broken.describe()}"
        return message

    def names(self, kind: ComponentKind) -> list[str]:
        return sorted(self.components[kind])


def _distribution_index(path: list[str] | None) -> list[tuple[EntryPoint, str, str]]:
    """Entry points of the ``ash`` group with their distribution's name and version."""
    found: list[tuple[EntryPoint, str, str]] = []
    seen: set[tuple[str, str]] = set()
    dists = distributions(path=path) if path is not None else distributions()
    for dist in dists:
        dist_name = dist.metadata["Name"] or "unknown"
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            key = (dist_name, ep.name)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            found.append((ep, dist_name, dist.version))
    return sorted(found, key=lambda item: (item[1], item[0].name))


def _allowed_plugins() -> set[str] | None:
    """``ASH_LOAD_PLUGINS``: unset loads all; empty loads none; a comma list loads those."""
    raw = os.environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class _Loader:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("ash")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()

    def load_builtins(self) -> None:
        for module_name in BUILTIN_MODULES:
            module = importlib.import_module(module_name)
            info = PluginInfo(module_name, "ash", __version__, module_name)
            # A broken built-in is a bug in ash itself: fail loudly rather than record it.
            self.add_plugin(module, info)

    def load_entry_points(self, path: list[str] | None) -> None:
        allowed = _allowed_plugins()
        for ep, dist_name, dist_version in _distribution_index(path):
            if allowed is not None and ep.name not in allowed and dist_name not in allowed:
                continue
            info = PluginInfo(ep.name, dist_name, dist_version, ep.value)
            spec = f"{ep.name} = {ep.value}"
            try:
                module = ep.load()
            except Exception as exc:  # any import-time failure of a third-party plugin
                self.registry.broken.append(
                    BrokenPlugin(info, spec, f"{type(exc).__name__}: {exc}", traceback.format_exc())
                )
                continue
            try:
                self.add_plugin(module, info)
            except PluginError as exc:
                self.registry.broken.append(BrokenPlugin(info, spec, str(exc)))

    def add_plugin(self, module: ModuleType | object, info: PluginInfo) -> None:
        """Register one plugin atomically: all of its components, or none of them."""
        if self.pm.is_registered(module):
            return
        try:
            self.pm.register(module, name=info.name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{info.describe()}: invalid hook implementation: {exc}") from exc
        except ValueError as exc:  # pluggy: name already registered
            raise PluginError(f"{info.describe()}: {exc}") from exc
        try:
            self._check_hook_names(module, info)
            staged = self._collect(module, info)
        except PluginError:
            self.pm.unregister(module)
            raise
        for component in staged:
            self.registry.components[component.kind][component.name] = component
        self.registry.plugins.append(info)

    def _check_hook_names(self, module: object, info: PluginInfo) -> None:
        for caller in self.pm.get_hookcallers(module) or []:
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, list(BY_HOOK), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise PluginError(
                    f"{info.describe()}: implements unknown hook {caller.name!r}{hint} "
                    f"(hooks: {', '.join(BY_HOOK)})"
                )

    def _collect(self, module: object, info: PluginInfo) -> list[ComponentInfo]:
        staged: list[ComponentInfo] = []
        staged_names: set[tuple[ComponentKind, str]] = set()
        for hook_name, kind in ((k.hook, k.name) for k in KINDS):
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin is not module:
                    continue

                def register(cls: type[Any], _kind: ComponentKind = kind) -> None:
                    component = self._validate_class(cls, _kind, info)
                    key = (component.kind, component.name)
                    if key in staged_names:
                        raise PluginError(
                            f"{info.describe()}: registers {BY_NAME[_kind].label} "
                            f"{component.name!r} twice"
                        )
                    staged_names.add(key)
                    staged.append(component)

                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"{info.describe()}: hook {hook_name} raised {type(exc).__name__}: {exc}"
                    ) from exc
        return staged

    def _validate_class(
        self, cls: type[Any], kind: ComponentKind, info: PluginInfo
    ) -> ComponentInfo:
        base = BY_NAME[kind].base
        label = BY_NAME[kind].label
        if not (inspect.isclass(cls) and issubclass(cls, base)):
            what = cls.__name__ if inspect.isclass(cls) else repr(cls)
            raise PluginError(
                f"{info.describe()}: registered {what} as a {label}, but it is not a subclass "
                f"of ash.interfaces.{base.__name__}"
            )
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise PluginError(
                f"{info.describe()}: {label} class {cls.__name__} needs a class attribute "
                f"`name` that is a plain identifier, got {name!r}"
            )
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
            raise PluginError(
                f"{info.describe()}: {label} {name!r} ({cls.__name__}) leaves abstract "
                f"methods unimplemented: {missing}"
            )
        existing = self.registry.components[kind].get(name)
        if existing is not None:
            raise PluginError(
                f"{info.describe()}: {label} name {name!r} is already registered by "
                f"{existing.plugin.describe()}"
            )
        return ComponentInfo(kind, name, cls, info)


def load_registry(
    *,
    entry_points: bool = True,
    path: Iterable[str] | None = None,
    extra_plugins: Iterable[tuple[object, PluginInfo]] = (),
) -> Registry:
    """Build a registry: built-ins, then third-party entry points (filtered by ASH_LOAD_PLUGINS).

    ``path`` restricts entry-point discovery to distributions found on those directories
    (tests use it to install fixture plugins into a temporary folder). ``extra_plugins`` are
    in-process plugin objects registered after the built-ins (errors raise PluginError).
    """
    loader = _Loader()
    loader.load_builtins()
    for plugin, info in extra_plugins:
        loader.add_plugin(plugin, info)
    if entry_points:
        loader.load_entry_points(list(path) if path is not None else None)
    return loader.registry


_DEFAULT: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_registry()
    return _DEFAULT


def reset_registry() -> None:
    """Forget the cached registry (after installing a plugin in-process, or in tests)."""
    global _DEFAULT
    _DEFAULT = None
