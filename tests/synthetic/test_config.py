"""Config: presets, overrides, validation errors with precise messages, fingerprints."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from ash.synthetic.config import PRESETS, SyntheticConfig, preset


def test_presets_apply_and_explicit_fields_win() -> None:
    calm, default, stressed = (SyntheticConfig(preset=p) for p in ("calm", "default", "stressed"))
    assert calm.annual_vol < default.annual_vol < stressed.annual_vol
    assert stressed.jump_std_bps == PRESETS["stressed"]["jump_std_bps"]
    assert preset("stressed", annual_vol=0.5).annual_vol == 0.5
    assert preset("stressed", annual_vol=0.5).jump_std_bps == stressed.jump_std_bps


def test_every_field_has_a_default_and_description() -> None:
    for name, field in SyntheticConfig.model_fields.items():
        assert field.description, name
        assert not field.is_required(), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preset": "wild"}, "unknown preset 'wild'"),
        ({"regime_vol_mult": (1.0, 2.0)}, "one value per regime"),
        ({"regime_vol_mult": ()}, "one value per regime"),
        ({"jump_rate_per_hour": (0.1, -1.0, 0.2)}, "non-negative"),
        ({"vol_step_s": 0.25}, "whole multiple of fine_step_s"),
        ({"session_close": dt.time(9, 0)}, "must be after session_open"),
        ({"context_symbol": "SYN"}, "context_symbol must differ"),
        ({"context_correlation": 1.0}, "context_correlation must be in [0, 1)"),
        ({"oracle_samples": 33}, "oracle_samples must be even"),
        ({"option_tenors_days": (30, 7)}, "increasing positive days"),
        ({"annual_vol": -0.1}, "greater than 0"),
        ({"hawkes_branching": 1.0}, "less than 1"),
        ({"volatility": 0.2}, "Extra inputs are not permitted"),
        ({"regime_mean_duration_s": (7200.0, 0.5, 1800.0)}, "must exceed vol_step_s"),
    ],
)
def test_invalid_configs_fail_with_precise_messages(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace(")", r"\)")):
        SyntheticConfig(**kwargs)


def test_config_is_frozen_and_fingerprint_tracks_fields() -> None:
    a = SyntheticConfig(seed=1)
    with pytest.raises(ValidationError):
        a.seed = 2  # type: ignore[misc]
    assert a.fingerprint() == SyntheticConfig(seed=1).fingerprint()
    assert a.fingerprint() != SyntheticConfig(seed=2).fingerprint()
    assert a.fingerprint() != SyntheticConfig(seed=1, tick_size=0.05).fingerprint()
