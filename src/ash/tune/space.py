"""Search space: ``tune.space`` dimensions -> Optuna suggestions -> a concrete raw experiment.

Each dimension is keyed by a dotted config path (``model.backbone.d_model``, ``train.lr``,
``model.features.0.lookbacks``) and becomes an Optuna parameter of the same name, so studies read
naturally in optuna-dashboard. Values are applied to the raw experiment dict with the same rules
as ``--set`` and ``extends``: setting a component's ``kind`` to a different component replaces the
block whole, so the old component's parameters do not leak into the new one.

The space is conditional where components make it so: a dimension whose parent block is a
component that has no such parameter (``model.backbone.heads`` while the trial picked a GRU) is
not suggested at all in that trial.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import optuna

from ash.config.errors import ConfigError, ConfigIssue
from ash.config.loader import KIND_KEY, apply_override
from ash.config.schema import Experiment, SearchDimension
from ash.kinds import COMPONENT_SLOTS
from ash.registry import Registry, UnknownComponentError

# Optuna stores these natively as categorical choices; anything else is stored as its JSON text.
_PRIMITIVE = (str, int, float, bool, type(None))


def _depth_order(paths: Iterable[str]) -> list[str]:
    """Shorter paths first: a whole component block (or its ``kind``) before its parameters."""
    return sorted(paths, key=lambda path: (path.count("."), not path.endswith(f".{KIND_KEY}")))


def _choice_label(choice: Any) -> Any:
    return choice if isinstance(choice, _PRIMITIVE) else json.dumps(choice, sort_keys=True)


def _choice_value(label: Any, choices: list[Any]) -> Any:
    for choice in choices:
        if _choice_label(choice) == label:
            return copy.deepcopy(choice)
    raise ValueError(f"categorical value {label!r} is not one of {choices!r}")


def suggest_value(trial: optuna.Trial, path: str, dim: SearchDimension) -> Any:
    """Ask the trial for the value of one dimension (Optuna parameter name = config path)."""
    if dim.type == "categorical":
        choices = dim.choices or []
        label = trial.suggest_categorical(path, [_choice_label(c) for c in choices])
        return _choice_value(label, choices)
    assert dim.low is not None and dim.high is not None  # checked by SearchDimension
    if dim.type == "int":
        step = int(dim.step) if dim.step is not None else 1
        return trial.suggest_int(path, int(dim.low), int(dim.high), step=step, log=dim.log)
    return trial.suggest_float(path, dim.low, dim.high, step=dim.step, log=dim.log)


def _slot_of(parts: list[str]) -> tuple[str, str] | None:
    """The component slot (``model.backbone``) and component kind a path's parent block is."""
    parent = ".".join(parts[:-1])
    for slot, kind, is_list in COMPONENT_SLOTS:
        if is_list and len(parts) >= 2 and ".".join(parts[:-2]) == slot and parts[-2].isdigit():
            return parent, kind
        if not is_list and parent == slot:
            return parent, kind
    return None


def _get(data: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def _applies(raw: dict[str, Any], parts: list[str], registry: Registry) -> bool:
    """False when the path is a parameter the trial's chosen component does not have."""
    slot = _slot_of(parts)
    if slot is None or parts[-1] == KIND_KEY:
        return True
    block = _get(raw, slot[0].split("."))
    if not isinstance(block, dict) or not isinstance(block.get(KIND_KEY), str):
        return True  # let validation report the broken block
    try:
        info = registry.info(slot[1], block[KIND_KEY])  # type: ignore[arg-type]
    except UnknownComponentError:
        return True  # validation reports the unknown kind with its own message
    return parts[-1] in info.cls.Config.model_fields


def set_value(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in ``raw``; a changed component ``kind`` replaces its block whole."""
    parts = path.split(".")
    if parts[-1] == KIND_KEY and len(parts) > 1:
        block = _get(raw, parts[:-1])
        if isinstance(block, dict) and block.get(KIND_KEY) != value:
            apply_override(raw, parts[:-1], {KIND_KEY: value})
            return
    apply_override(raw, parts, copy.deepcopy(value))


def sample_experiment(
    trial: optuna.Trial,
    base: Mapping[str, Any],
    space: Mapping[str, SearchDimension],
    registry: Registry,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Suggest every applicable dimension; return (raw experiment for the trial, chosen values).

    The trial's raw experiment is the base with the chosen values applied and no ``tune`` block.
    """
    raw = copy.deepcopy(dict(base))
    raw.pop("tune", None)
    chosen: dict[str, Any] = {}
    for path in _depth_order(space):
        if not _applies(raw, path.split("."), registry):
            continue
        value = suggest_value(trial, path, space[path])
        set_value(raw, path, value)
        chosen[path] = value
    return raw, chosen


def apply_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The raw experiment for known values (a finished trial's), without the ``tune`` block."""
    raw = copy.deepcopy(dict(base))
    raw.pop("tune", None)
    for path in _depth_order(values):
        set_value(raw, path, values[path])
    return raw


def decode_params(
    params: Mapping[str, Any], space: Mapping[str, SearchDimension]
) -> dict[str, Any]:
    """Optuna's stored parameters (JSON labels for structured choices) -> config values."""
    values: dict[str, Any] = {}
    for path, label in params.items():
        dim = space.get(path)
        if dim is not None and dim.type == "categorical":
            values[path] = _choice_value(label, dim.choices or [])
        else:
            values[path] = label
    return values


def _known_paths(data: Any, prefix: str = "") -> set[str]:
    paths = {prefix} if prefix else set()
    if isinstance(data, dict):
        for key, value in data.items():
            paths |= _known_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths |= _known_paths(value, f"{prefix}.{index}" if prefix else str(index))
    return paths


def check_space(
    space: Mapping[str, SearchDimension],
    resolved_base: Mapping[str, Any],
    registry: Registry,
) -> None:
    """Fail fast on paths that cannot name a config field (typos), before any trial runs.

    ``resolved_base`` is the base experiment with every default filled in
    (:meth:`ResolvedExperiment.to_dict`). A path below a component block may also name a
    parameter of any other component a ``kind`` dimension of the space can choose.
    """
    if not space:
        raise ConfigError(
            [ConfigIssue("tune.space", "is empty; add at least one dimension to search")]
        )
    known = _known_paths(resolved_base)
    issues: list[ConfigIssue] = []
    for path, dim in space.items():
        if path in known:
            continue
        parts = path.split(".")
        if parts[0] not in Experiment.model_fields or parts[0] == "tune":
            issues.append(ConfigIssue(f"tune.space.{path}", "is not an experiment field"))
            continue
        if _reachable_through_kind(parts, space, registry) or _new_block(parts, dim, known):
            continue
        close = difflib.get_close_matches(path, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        issues.append(ConfigIssue(f"tune.space.{path}", f"names no config field{hint}"))
    if issues:
        raise ConfigError(issues)


def incomparable_objective(space: Mapping[str, SearchDimension], objective: str) -> list[str]:
    """Paths that make a bucket-NLL objective incomparable between trials.

    NLL over buckets depends on the buckets themselves (fewer, wider buckets score lower for
    free) and its mean on the horizons it averages, so trials that change the discretizer or the
    horizons cannot be ranked by it.
    """
    if not objective.startswith("nll"):
        return []
    return sorted(p for p in space if p.startswith(("model.discretizer", "horizons")))


def _new_block(parts: list[str], dim: SearchDimension, known: set[str]) -> bool:
    """A whole component block chosen from mappings (``model.backbone: {choices: [{kind..}]}``)."""
    parent = ".".join(parts[:-1])
    return (
        (parent in known or not parent)
        and dim.type == "categorical"
        and all(isinstance(c, dict) and KIND_KEY in c for c in dim.choices or [])
    )


def _reachable_through_kind(
    parts: list[str], space: Mapping[str, SearchDimension], registry: Registry
) -> bool:
    slot = _slot_of(parts)
    if slot is None:
        return False
    kind_dim = space.get(f"{slot[0]}.{KIND_KEY}")
    block_dim = space.get(slot[0])
    kinds: list[Any] = []
    if kind_dim is not None and kind_dim.choices:
        kinds += kind_dim.choices
    if block_dim is not None and block_dim.choices:
        kinds += [c.get(KIND_KEY) for c in block_dim.choices if isinstance(c, dict)]
    for kind in kinds:
        try:
            info = registry.info(slot[1], str(kind))  # type: ignore[arg-type]
        except UnknownComponentError:
            continue
        if parts[-1] in info.cls.Config.model_fields:
            return True
    return False


def baseline_params(
    space: Mapping[str, SearchDimension], resolved_base: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Optuna parameters that reproduce the base experiment, and the paths it cannot express.

    A path whose base value lies outside its dimension (or is absent) cannot be enqueued; the
    caller then knows the default configuration is not a point of this search space.
    """
    params: dict[str, Any] = {}
    outside: list[str] = []
    for path, dim in space.items():
        parts = path.split(".")
        value = _get(resolved_base, parts)
        parent = _get(resolved_base, parts[:-1])
        if value is None and isinstance(parent, dict) and KIND_KEY in parent:
            continue  # a parameter of another component kind: not asked for the base kind
        if dim.type == "categorical":
            labels = [_choice_label(c) for c in dim.choices or []]
            label = _choice_label(value)
            if label in labels:
                params[path] = label
            else:
                outside.append(path)
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and dim.low is not None
            and dim.high is not None
            and dim.low <= value <= dim.high
        ):
            params[path] = int(value) if dim.type == "int" else float(value)
        else:
            outside.append(path)
    return params, outside
