"""Read experiment YAML: ``extends`` inheritance, ``--set`` overrides, and line tracking.

Every value keeps the place it came from (file and line, or ``--set``) so validation errors can
point at it. Reading is bounded (:mod:`ash.config.safe_yaml`): a file that is not UTF-8, nests
too deeply, expands through aliases into a huge document (billion laughs) or repeats a key is a
clear error with the line, never a crash, a hang or a silent "last key wins".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ash.config.errors import ConfigError, ConfigIssue
from ash.config.safe_yaml import load_yaml_text, read_yaml_file

# Keys of a component block: when a child changes `kind`, the parent's parameters must not leak.
KIND_KEY = "kind"
MAX_EXTENDS_DEPTH = 16


@dataclass
class LoadedExperiment:
    data: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)  # dotted path -> "file:line"
    files: list[Path] = field(default_factory=list)

    def location(self, path: str) -> str | None:
        """The most specific known origin of ``path`` or of one of its parents."""
        parts = path.split(".") if path else []
        while True:
            key = ".".join(parts)
            if key in self.origins:
                return self.origins[key]
            if not parts:
                return None
            parts.pop()


def _node_origins(node: yaml.Node, file: Path, prefix: str, out: dict[str, str]) -> None:
    out[prefix] = f"{file}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{prefix}.{key}" if prefix else key
            out[child] = f"{file}:{key_node.start_mark.line + 1}"
            _node_origins(value_node, file, child, out)
            out[child] = f"{file}:{key_node.start_mark.line + 1}"
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{prefix}.{index}" if prefix else str(index)
            _node_origins(item, file, child, out)


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    if not path.is_file():
        raise ConfigError(
            [ConfigIssue("", f"experiment file not found: {path}", location=str(path))]
        )
    data, node = read_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigIssue(
                    "",
                    f"an experiment must be a YAML mapping, not a {type(data).__name__}",
                    location=f"{path}:1",
                )
            ]
        )
    origins: dict[str, str] = {}
    if node is not None:
        _node_origins(node, path, "", origins)
    return data, origins


def deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child values win; mappings merge recursively; lists and scalars are replaced whole.

    A component block whose ``kind`` changes is replaced whole, so the parameters of the base
    component do not leak into a different component.
    """
    merged = copy.deepcopy(base)
    for key, value in child.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            kind_changed = KIND_KEY in value and old.get(KIND_KEY) != value[KIND_KEY]
            merged[key] = copy.deepcopy(value) if kind_changed else deep_merge(old, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _load_with_extends(path: Path, chain: tuple[Path, ...]) -> LoadedExperiment:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError([ConfigIssue("extends", f"circular extends: {cycle}")])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(
            [
                ConfigIssue(
                    "extends",
                    f"extends chain deeper than {MAX_EXTENDS_DEPTH} files; flatten it",
                    location=str(path),
                )
            ]
        )
    data, origins = _read_yaml(path)
    parents = data.pop("extends", None)
    if parents is None:
        return LoadedExperiment(data, origins, [path])
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConfigError(
            [
                ConfigIssue(
                    "extends",
                    "must be a file path or a list of file paths",
                    parents,
                    origins.get("extends"),
                )
            ]
        )
    merged: dict[str, Any] = {}
    merged_origins: dict[str, str] = {}
    files: list[Path] = []
    for parent in parents:
        parent_path = (path.parent / parent).resolve()
        if not parent_path.is_file():
            raise ConfigError(
                [
                    ConfigIssue(
                        "extends",
                        f"base experiment not found: {parent_path}",
                        parent,
                        origins.get("extends"),
                    )
                ]
            )
        loaded = _load_with_extends(parent_path, (*chain, path))
        merged = deep_merge(merged, loaded.data)
        merged_origins.update(loaded.origins)
        files.extend(loaded.files)
    merged = deep_merge(merged, data)
    merged_origins.update(origins)
    return LoadedExperiment(merged, merged_origins, [*files, path])


def parse_override(text: str) -> tuple[list[str], Any]:
    """``model.backbone.d_model=128`` -> (["model", "backbone", "d_model"], 128).

    The value is parsed as YAML, so numbers, booleans, lists and null work as in the file.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            [
                ConfigIssue(
                    "",
                    f"override {text!r} must look like dotted.path=value, "
                    "e.g. model.backbone.d_model=128",
                    location="--set",
                )
            ]
        )
    value = load_yaml_text(raw, where="--set", path=key) if raw.strip() else ""
    return key.split("."), value


def apply_override(data: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set a dotted path in nested dicts/lists, creating mappings as needed."""
    target: Any = data
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(parts[: depth + 1])
        if isinstance(target, list):
            target = target[_list_index(target, part, here)]
        else:
            if not isinstance(target.get(part), dict | list):
                target[part] = {}
            target = target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[_list_index(target, last, ".".join(parts))] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise ConfigError([ConfigIssue(".".join(parts), "cannot set a key inside a scalar")])


def _list_index(items: list[Any], part: str, path: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(
            [
                ConfigIssue(
                    path,
                    f"list index must be an integer below {len(items)}",
                    part,
                    "--set",
                )
            ]
        )
    return int(part)


def load_experiment_dict(path: str | Path, overrides: list[str] | None = None) -> LoadedExperiment:
    """Load a YAML experiment with its ``extends`` chain and apply ``--set`` overrides."""
    loaded = _load_with_extends(Path(path), ())
    for text in overrides or []:
        parts, value = parse_override(text)
        apply_override(loaded.data, parts, value)
        loaded.origins[".".join(parts)] = "--set"
    loaded.data.setdefault("name", Path(path).stem)
    return loaded
