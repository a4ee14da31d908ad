"""`ash plugins`: every component by kind, where it comes from, and its parameters."""

from __future__ import annotations

import json
from typing import Any

from pydantic.fields import FieldInfo
from rich.console import Console
from rich.table import Table

from ash.kinds import BY_NAME
from ash.registry import Registry


def _describe_field(name: str, field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    return f"{name}={default!r}" if not field.is_required() else f"{name} (required)"


def plugins_as_dict(registry: Registry) -> dict[str, Any]:
    return {
        "components": {
            kind: [
                {
                    "name": info.name,
                    "distribution": info.plugin.distribution,
                    "version": info.plugin.version,
                    "plugin": info.plugin.name,
                    "parameters": {
                        name: {
                            "default": repr(field.get_default(call_default_factory=True))
                            if not field.is_required()
                            else None,
                            "description": field.description,
                        }
                        for name, field in info.cls.Config.model_fields.items()
                    },
                }
                for info in sorted(by_name.values(), key=lambda i: i.name)
            ]
            for kind, by_name in registry.components.items()
        },
        "broken": [
            {
                "plugin": b.plugin.name,
                "distribution": b.plugin.distribution,
                "version": b.plugin.version,
                "entry_point": b.entry_point,
                "error": b.error,
            }
            for b in registry.broken
        ],
    }


def print_plugins(registry: Registry, console: Console, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(plugins_as_dict(registry)))
        return
    for kind, by_name in registry.components.items():
        table = Table(title=BY_NAME[kind].plural, title_justify="left", expand=False)
        table.add_column("name", style="bold cyan", no_wrap=True)
        table.add_column("distribution", no_wrap=True)
        table.add_column("version", no_wrap=True)
        table.add_column("parameters")
        for info in sorted(by_name.values(), key=lambda i: i.name):
            fields = info.cls.Config.model_fields
            params = ", ".join(_describe_field(n, f) for n, f in fields.items()) or "-"
            table.add_row(info.name, info.plugin.distribution, info.plugin.version, params)
        if not by_name:
            table.add_row("(none)", "", "", "")
        console.print(table)
    if registry.broken:
        table = Table(title="broken plugins", title_justify="left", title_style="bold red")
        table.add_column("plugin", style="red", no_wrap=True)
        table.add_column("distribution", no_wrap=True)
        table.add_column("entry point", no_wrap=True)
        table.add_column("error")
        for broken in registry.broken:
            table.add_row(
                broken.plugin.name,
                f"{broken.plugin.distribution} {broken.plugin.version}",
                broken.entry_point,
                broken.error,
            )
        console.print(table)
