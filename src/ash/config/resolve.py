"""Two-step validation: the experiment's structure, then every component block.

Step one checks the experiment against :class:`ash.config.schema.Experiment`. Step two looks each
component block's ``kind`` up in the registry and validates its parameters with that class's own
``Config``. All problems from both steps are reported together, each with its YAML path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from ash.config.errors import ConfigError, ConfigIssue, join_path
from ash.config.loader import LoadedExperiment, load_experiment_dict
from ash.config.schema import Experiment
from ash.interfaces import Component, ComponentConfig, ComponentKind
from ash.kinds import COMPONENT_SLOTS, DEFAULT_BLOCKS
from ash.registry import ComponentInfo, Registry, UnknownComponentError, get_registry

ComponentT = TypeVar("ComponentT", bound=Component[Any])


@dataclass(frozen=True)
class ResolvedComponent:
    path: str
    info: ComponentInfo
    config: ComponentConfig

    @property
    def cls(self) -> type[Component[Any]]:
        return self.info.cls

    def component_class(self, base: type[ComponentT]) -> type[ComponentT]:
        """The component's class as a ``base`` (the registry checked its kind already)."""
        cls = self.info.cls
        if not issubclass(cls, base):
            raise TypeError(f"{self.path}: {self.info.name!r} is not a {base.__name__}")
        return cls


@dataclass(frozen=True)
class ResolvedExperiment:
    experiment: Experiment
    components: dict[str, ResolvedComponent]  # by YAML path, e.g. "model.features.0"
    files: tuple[Path, ...] = ()

    def component(self, path: str) -> ResolvedComponent:
        return self.components[path]

    @property
    def features(self) -> list[ResolvedComponent]:
        count = len(self.experiment.model.features)
        return [self.components[f"model.features.{i}"] for i in range(count)]

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved experiment: every default filled in, components included."""
        data = self.experiment.model_dump(mode="json", exclude_none=False)
        for path, resolved in self.components.items():
            block = {"kind": resolved.info.name, **resolved.config.model_dump(mode="json")}
            _set_path(data, path.split("."), block)
        return data

    def plugin_versions(self) -> list[dict[str, str]]:
        seen: dict[tuple[str, str], dict[str, str]] = {}
        for resolved in self.components.values():
            info = resolved.info
            seen[(info.kind, info.name)] = {
                "kind": info.kind,
                "name": info.name,
                "distribution": info.plugin.distribution,
                "version": info.plugin.version,
            }
        return list(seen.values())


def _set_path(data: Any, parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if isinstance(data, list):
        data[int(parts[-1])] = value
    else:
        data[parts[-1]] = value


def _get_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def _component_blocks(raw: dict[str, Any]) -> list[tuple[str, ComponentKind, Any]]:
    blocks: list[tuple[str, ComponentKind, Any]] = []
    for path, kind, is_list in COMPONENT_SLOTS:
        value = _get_path(raw, path)
        if value is None:
            continue
        if is_list:
            if isinstance(value, list):
                blocks.extend((f"{path}.{i}", kind, item) for i, item in enumerate(value))
        else:
            blocks.append((path, kind, value))
    for path, kind, default in DEFAULT_BLOCKS:  # the schema's defaults are components too
        if _get_path(raw, path) is None:
            blocks.append((path, kind, {"kind": default}))
    return blocks


def _issues_from_validation(
    exc: ValidationError, prefix: str, loaded: LoadedExperiment | None
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = ".".join(p for p in (prefix, join_path(loc)) if p)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown parameter; remove it or check the spelling"
        location = loaded.location(path) if loaded else None
        value = error.get("input")
        if error["type"] in ("missing", "extra_forbidden") or isinstance(value, dict):
            issues.append(ConfigIssue(path, message, location=location))
        else:
            issues.append(ConfigIssue(path, message, value, location))
    return issues


def _unknown_param_hint(params: dict[str, Any], config_cls: type[ComponentConfig]) -> str:
    import difflib

    known = list(config_cls.model_fields)
    hints = []
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            if close:
                hints.append(f"{key!r} -> did you mean {close[0]!r}?")
    return "; ".join(hints)


def resolve(
    raw: dict[str, Any],
    registry: Registry | None = None,
    loaded: LoadedExperiment | None = None,
) -> ResolvedExperiment:
    """Validate a raw experiment dict; raise :class:`ConfigError` listing every problem."""
    registry = registry or get_registry()
    issues: list[ConfigIssue] = []
    experiment: Experiment | None = None
    try:
        experiment = Experiment.model_validate(raw)
    except ValidationError as exc:
        issues.extend(_issues_from_validation(exc, "", loaded))

    components: dict[str, ResolvedComponent] = {}
    for path, kind, block in _component_blocks(raw):
        location = loaded.location(path) if loaded else None
        if not isinstance(block, dict) or not isinstance(block.get("kind"), str):
            if not any(i.path.startswith(path) for i in issues):
                issues.append(ConfigIssue(path, "needs a `kind:` naming a component", block))
            continue
        params = {k: v for k, v in block.items() if k != "kind"}
        try:
            info = registry.info(kind, block["kind"])
        except UnknownComponentError as exc:
            kind_path = f"{path}.kind"
            issues.append(
                ConfigIssue(
                    kind_path,
                    exc.message,
                    location=(loaded.location(kind_path) if loaded else location),
                )
            )
            continue
        try:
            config = info.cls.Config.model_validate(params)
        except ValidationError as exc:
            found = _issues_from_validation(exc, path, loaded)
            hint = _unknown_param_hint(params, info.cls.Config)
            if hint:
                found = [
                    ConfigIssue(i.path, f"{i.message} ({hint})", location=i.location)
                    if "unknown parameter" in i.message
                    else i
                    for i in found
                ]
            issues.extend(found)
            continue
        components[path] = ResolvedComponent(path, info, config)

    # Structural errors inside a component block were reported by the component's own Config.
    issues = _dedupe(issues)
    if issues or experiment is None:
        source = str(loaded.files[-1]) if loaded and loaded.files else None
        raise ConfigError(issues, source)
    files = tuple(loaded.files) if loaded else ()
    return ResolvedExperiment(experiment, components, files)


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for issue in issues:
        key = (issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return sorted(unique, key=lambda i: i.path)


def load_experiment(
    path: str | Path, overrides: list[str] | None = None, registry: Registry | None = None
) -> ResolvedExperiment:
    """Load, merge, override and validate an experiment file."""
    loaded = load_experiment_dict(path, overrides)
    return resolve(loaded.data, registry, loaded)
