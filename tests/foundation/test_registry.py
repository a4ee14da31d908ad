"""The plugin registry: discovery, broken plugins, validation at load time, ASH_LOAD_PLUGINS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ash.interfaces import Backbone
from ash.registry import PluginError, PluginInfo, UnknownComponentError, load_registry
from tests.foundation import toy_components


def _registry_with_fixtures(site: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(site))
    return load_registry(path=[str(site), *sys.path])


def _broken_by_dist(registry):  # type: ignore[no-untyped-def]
    return {b.plugin.distribution: b for b in registry.broken}


def test_builtins_register_through_the_same_hooks() -> None:
    registry = load_registry(entry_points=False)
    builtin_plugins = [p for p in registry.plugins if p.distribution == "ash"]
    assert {p.module for p in builtin_plugins} >= {"ash.builtins.backbones", "ash.builtins.losses"}


def test_template_plugin_is_discovered_from_its_own_installation(template_site: Path) -> None:
    code = (
        "from ash.registry import load_registry;"
        "import ash_plugin_template, sys;"
        "info = load_registry().info('backbone', 'template_mlp');"
        "print(info.plugin.distribution, info.plugin.version, info.plugin.name);"
        "print(ash_plugin_template.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": str(template_site)}
    env.pop("ASH_LOAD_PLUGINS", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "ash-plugin-template 0.1.0 template"
    assert out[1].startswith(str(template_site)), "imported from the fresh installation"


def test_import_failure_is_reported_with_distribution_entry_point_and_error(
    fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    broken = _broken_by_dist(registry)["ash-fixture-broken-import"]
    assert broken.entry_point == "broken_import = ash_fixture_broken_import"
    assert "ModuleNotFoundError" in broken.error
    assert "ash_nonexistent_dependency" in broken.error
    assert "ash-fixture-broken-import 0.0.1" in broken.describe()
    # Everything else still loads.
    assert "template_mlp" in registry.names("backbone")
    assert {"ash-fixture-broken-import"} < {b.plugin.distribution for b in registry.broken}


def test_unknown_name_mentions_plugins_that_failed_to_load(
    fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    with pytest.raises(UnknownComponentError) as excinfo:
        registry.get("backbone", "broken_backbone")
    message = str(excinfo.value)
    assert "unknown backbone 'broken_backbone'" in message
    assert "ash-fixture-broken-import" in message and "ModuleNotFoundError" in message


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [
        ("ash-fixture-misspelled-hook", "unknown hook 'register_backbone'; did you mean"),
        ("ash-fixture-wrong-args", "invalid hook implementation"),
        ("ash-fixture-wrong-kind", "not a subclass of ash.interfaces.Backbone"),
    ],
)
def test_invalid_plugins_are_rejected_at_load_time_naming_the_plugin(
    fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch, distribution: str, expected: str
) -> None:
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    broken = _broken_by_dist(registry)
    assert distribution in broken, f"{distribution} should be rejected"
    assert expected in broken[distribution].error
    assert distribution in broken[distribution].error  # the message names the plugin
    assert "not_a_backbone" not in registry.names("backbone")


def test_duplicate_name_rejects_the_later_plugin_and_names_both(
    fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plugins load in distribution-name order, so the first claimant keeps a name.
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    owner = registry.info("backbone", "template_mlp").plugin
    assert owner.distribution == "ash-fixture-duplicate"
    rejected = _broken_by_dist(registry)["ash-plugin-template"]
    assert "backbone name 'template_mlp' is already registered by plugin 'duplicate'" in (
        rejected.error
    )
    assert "ash-plugin-template" in rejected.error


def test_builtin_names_cannot_be_taken_over() -> None:
    import ash

    class Plugin:
        @ash.hookimpl
        def register_losses(self, register):  # type: ignore[no-untyped-def]
            register(toy_components.ToyLoss)

    info = PluginInfo("p", "third-party", "1", "m")
    builtin = PluginInfo("b", "ash", "0", "m2")
    with pytest.raises(PluginError, match="already registered by plugin 'b'"):
        load_registry(
            entry_points=False,
            extra_plugins=[(toy_components, builtin), (Plugin(), info)],
        )


def test_wrong_args_message_names_the_argument(
    fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    assert "registrar" in _broken_by_dist(registry)["ash-fixture-wrong-args"].error


@pytest.mark.parametrize(
    ("setting", "expect_template", "expect_broken"),
    [
        (None, True, True),
        ("", False, False),
        ("template", True, False),
        ("ash-plugin-template", True, False),
        ("broken_import", False, True),
    ],
)
def test_ash_load_plugins_restricts_third_party_plugins(
    fixture_plugins: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str | None,
    expect_template: bool,
    expect_broken: bool,
) -> None:
    if setting is None:
        monkeypatch.delenv("ASH_LOAD_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("ASH_LOAD_PLUGINS", setting)
    registry = _registry_with_fixtures(fixture_plugins, monkeypatch)
    assert ("template_mlp" in registry.names("backbone")) == expect_template
    broken = {b.plugin.name for b in registry.broken}
    assert ("broken_import" in broken) == expect_broken
    # Built-ins are never filtered.
    assert any(p.distribution == "ash" for p in registry.plugins)


def test_in_process_plugin_errors_raise() -> None:
    class Unnamed(Backbone):  # no `name`
        @property
        def out_dim(self) -> int:
            return 1

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

    import ash

    class Plugin:
        @ash.hookimpl
        def register_backbones(self, register):  # type: ignore[no-untyped-def]
            register(Unnamed)

    with pytest.raises(PluginError, match="needs a class attribute `name`"):
        load_registry(
            entry_points=False, extra_plugins=[(Plugin(), PluginInfo("p", "d", "1", "m"))]
        )


def test_registering_the_same_name_twice_in_one_plugin_is_rejected() -> None:
    import ash

    class Plugin:
        @ash.hookimpl
        def register_backbones(self, register):  # type: ignore[no-untyped-def]
            register(toy_components.ToyBackbone)
            register(toy_components.ToyBackbone)

    with pytest.raises(PluginError, match="twice"):
        load_registry(
            entry_points=False, extra_plugins=[(Plugin(), PluginInfo("p", "d", "1", "m"))]
        )
