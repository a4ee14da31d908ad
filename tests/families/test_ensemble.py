"""Ensembles: refusals naming the member, and a neural + LightGBM ensemble end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ash.bars.columns import bar_columns
from ash.config.resolve import resolve
from ash.ensemble.build import _check_member_exports, build_ensemble
from ash.ensemble.members import EnsembleError, Member, check_compatible, check_same_edges
from ash.ensemble.model import fit_weights
from ash.export.exporter import ExportError
from ash.export.synthetic import synthetic_bars
from ash.export.validate import check_model
from ash.jobs.main_job import replay_test_stretch
from ash.run_files import ENSEMBLE_FILE
from ash.runs import load_model, make_model
from ash.runtime import find_serve_binary
from tests.families.conftest import SMALL, tiny
from tests.families.test_families import _LyingFamily


def member(name: str, **model: object) -> Member:
    """An untrained member built from the tiny experiment with ``model`` overrides."""
    resolved = tiny(**model)
    built = make_model(resolved, bar_columns())
    meta = {"data_fingerprint": "same"}
    return Member(Path(f"/runs/{name}"), built, resolved, meta)


def test_fit_weights_finds_the_better_member_and_stays_on_the_simplex() -> None:
    rng = np.random.default_rng(0)
    good, bad = rng.uniform(0.3, 0.6, 2000), rng.uniform(0.01, 0.2, 2000)
    w = fit_weights(np.stack([bad, good], axis=1))
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all() and w[1] > 0.9
    same = fit_weights(np.stack([good, good], axis=1))
    assert same == pytest.approx([0.5, 0.5])


@pytest.mark.parametrize(
    ("override", "what"),
    [
        ({"discretizer": {"kind": "log_return", "n_buckets": 11, "range_bps": 10.0}}, "buckets"),
        ({"steps": 4}, None),  # another window is fine: members slice their own
    ],
)
def test_incompatible_members_are_refused_by_name(override: dict, what: str | None) -> None:
    first, other = member("first"), member("other_run", **override)
    if what is None:
        check_compatible([first, other])
        return
    with pytest.raises(EnsembleError, match=rf"member other_run .*{what}"):
        check_compatible([first, other])


def test_other_horizons_are_refused_by_name() -> None:
    first = member("first")
    resolved = tiny()
    raw = resolved.to_dict()
    raw["horizons"] = [1, 5]
    other_resolved = resolve(raw)
    other = Member(
        Path("/runs/short"), make_model(other_resolved, bar_columns()), other_resolved, {}
    )
    with pytest.raises(EnsembleError, match=r"member short .*horizons"):
        check_compatible([first, other])


def test_other_data_is_refused_by_name() -> None:
    first, other = member("first"), member("elsewhere")
    other.meta = {"data_fingerprint": "different"}
    with pytest.raises(EnsembleError, match=r"member elsewhere .*data"):
        check_compatible([first, other])


def test_other_edges_are_refused_by_name() -> None:
    first = member("first")
    other = member("wider", discretizer={"kind": "log_return", "n_buckets": 15, "range_bps": 30.0})
    check_compatible([first, other])  # same count of buckets ...
    cols = first.model.ctx.bar_columns
    width = max(first.model.window, other.model.window)
    windows = synthetic_bars(cols, width, 8, bar_seconds=1.0)
    with pytest.raises(EnsembleError, match=r"member wider .*different bucket edges"):
        check_same_edges([first, other], windows)  # ... but other edges


def test_same_run_twice_is_refused(lightgbm_run: Path, in_root: Path) -> None:
    with pytest.raises(EnsembleError, match="twice"):
        build_ensemble([lightgbm_run, lightgbm_run], in_root / "never")


def test_member_whose_export_differs_is_refused_naming_the_family(
    lightgbm_run: Path, in_root: Path
) -> None:
    model, resolved = load_model(lightgbm_run)
    assert model.family is not None
    liar = _LyingFamily(SMALL, model.family.n_horizons, model.family.n_buckets)
    liar.load_state_bytes(model.family.state_bytes())
    model.family = liar
    windows = synthetic_bars(model.ctx.bar_columns, model.window, 4, bar_seconds=1.0)
    bad = Member(lightgbm_run, model, resolved, {})
    with pytest.raises(ExportError, match="lying_lightgbm"):
        _check_member_exports([bad], windows, 17)


def test_neural_and_lightgbm_ensemble_exports_serves_and_scores(
    neural_run: Path, lightgbm_run: Path, in_root: Path
) -> None:
    done = build_ensemble([neural_run, lightgbm_run], in_root / "ensemble")
    check_model(done.export.path)  # contract v1
    assert done.parity.ok and done.parity.max_abs_diff <= 1e-5
    assert np.allclose(done.weights.sum(axis=1), 1.0) and (done.weights >= 0).all()
    summary = json.loads((done.out_dir / ENSEMBLE_FILE).read_text())
    forecasters = {row["forecaster"] for row in summary["test_table"]}
    assert {"model", "climatology", "ewma_gaussian_lattice"} <= forecasters
    assert sum(f.startswith("member ") for f in forecasters) == 2
    if find_serve_binary() is None:
        pytest.skip("ash-serve is not built: the Rust replay needs inference-rs/target/release")
    _, resolved = load_model(neural_run)
    replayed = replay_test_stretch(resolved, done.out_dir, done.window)
    assert replayed.bars_equal and replayed.predictions > 0
    assert replayed.max_prob_diff <= 1e-5
