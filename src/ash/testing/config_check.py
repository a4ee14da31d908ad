"""Checks that apply to every component kind: name, ``Config`` shape and config round-trip."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from ash.interfaces import Component, ComponentConfig
from ash.kinds import BY_NAME
from ash.testing.errors import ConformanceError


def default_config(cls: type[Component[Any]]) -> ComponentConfig:
    """``cls.Config()`` with every default, or a precise error if a field has no default."""
    try:
        return cls.Config()
    except ValidationError as exc:
        raise ConformanceError(
            f"{cls.__name__}.Config() must be valid with no arguments (give every field a "
            f"default): {exc}"
        ) from exc


def check_config_roundtrip(
    cls: type[Component[Any]], config: ComponentConfig | None = None
) -> None:
    """The class is a well-formed component and its config survives dump → validate unchanged.

    Rules: ``name`` is a Python identifier; ``kind`` is one of :data:`ash.kinds.KINDS` and the
    class derives from that kind's base; ``Config`` derives from ``ComponentConfig`` (extra=forbid,
    frozen); every field has a default and a description; ``model_dump_json`` is deterministic
    and ``model_validate_json``/``model_validate`` give back an equal config.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ConformanceError(
            f"{cls.__name__}.name must be a Python identifier (it is the YAML `kind:`); "
            f"got {name!r}"
        )
    kind = getattr(cls, "kind", None)
    if kind not in BY_NAME or not issubclass(cls, BY_NAME[kind].base):
        raise ConformanceError(
            f"{cls.__name__} must subclass one of ash.interfaces "
            f"{', '.join(k.base.__name__ for k in BY_NAME.values())}"
        )
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, ComponentConfig)):
        raise ConformanceError(
            f"{cls.__name__}.Config must subclass ash.interfaces.ComponentConfig"
        )
    for field_name, field in cls.Config.model_fields.items():
        if field.default is PydanticUndefined and field.default_factory is None:
            raise ConformanceError(f"{cls.__name__}.Config.{field_name} needs a default")
        if not field.description:
            raise ConformanceError(
                f"{cls.__name__}.Config.{field_name} needs a description "
                f"(Field(..., description=...)); `ash plugins` shows it to users"
            )
    cfg = config if config is not None else default_config(cls)
    if not isinstance(cfg, cls.Config):
        raise ConformanceError(
            f"config for {cls.__name__} must be a {cls.Config.__name__}, got {type(cfg).__name__}"
        )
    dumped = cfg.model_dump_json()
    if dumped != cfg.model_dump_json():
        raise ConformanceError(f"{cls.__name__}: config JSON dump is not deterministic")
    again = cls.Config.model_validate_json(dumped)
    if again != cfg:
        raise ConformanceError(
            f"{cls.__name__}: config changed in a JSON round-trip: {cfg!r} -> {again!r}"
        )
    python_dump: dict[str, Any] = cfg.model_dump()
    if cls.Config.model_validate(python_dump) != cfg:
        raise ConformanceError(f"{cls.__name__}: config changed in a dict round-trip")
