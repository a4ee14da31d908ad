"""Features computed once per bar (ash.feature_cache) equal the graph's per-window features.

For every built-in feature builder, on random session segments (windows that start at a session
start included) and random chunk sizes, the cached ``[B, steps, F]`` features equal
``model.raw_features`` of the same bar windows in fp32 (within 1e-5), and the whole model —
normalization, backbone, discretizer edges and the prior reading only the last
``tail_window`` bars — gives the same logits and edges through the cache.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ash.config.schema import PriorConfig
from ash.data.windows import gather_windows
from ash.feature_cache import (
    BarWindows,
    CachedFeatures,
    bar_features,
    chunk_plan,
    not_cacheable,
    window_source,
)
from ash.interfaces import ComponentConfig, FeatureBuilder, ModelContext
from ash.model import AshModel, build_model
from ash.registry import get_registry
from ash.testing import default_config, default_context, make_bars
from ash.testing.bars import ALL_COLUMNS

TOL = 1e-5
STEPS = 4


def _builtin_builders() -> list[str]:
    reg = get_registry()
    return [
        n
        for n in reg.names("feature_builder")
        if reg.get("feature_builder", n).__module__.startswith("ash.")
    ]


def _model(builder: str, ctx: ModelContext) -> AshModel:
    reg = get_registry()
    fb = reg.get("feature_builder", builder)
    gru = reg.get("backbone", "gru")
    disc = reg.get("discretizer", "log_return")
    torch.manual_seed(0)
    model = build_model(
        ctx,
        STEPS,
        [(fb, default_config(fb))],  # type: ignore[arg-type]
        (gru, gru.Config(hidden=8)),  # type: ignore[attr-defined]
        (disc, default_config(disc)),  # type: ignore[arg-type]
        prior=PriorConfig(kind="ewma_gaussian", lookback_bars=30),
    )
    return model.eval()


MODELS: dict[str, AshModel] = {}


def _cached_model(builder: str) -> AshModel:
    if builder not in MODELS:
        MODELS[builder] = _model(builder, default_context())
    return MODELS[builder]


def _series(model: AshModel, lengths: list[int], seed: int) -> tuple[torch.Tensor, np.ndarray]:
    bars = make_bars(1, sum(lengths), ALL_COLUMNS, seed=seed)[0]
    segment_id = np.repeat(np.arange(len(lengths)), lengths).astype(np.int64)
    return bars, segment_id


def _ends(lengths: list[int], window: int, rng: np.random.Generator) -> np.ndarray:
    ends, start = [], 0
    for n in lengths:
        if n >= window:
            valid = np.arange(start + window - 1, start + n)
            ends += [valid[0], valid[-1]]  # a window at the session start, one at its end
            ends += list(rng.choice(valid, size=min(len(valid), 12), replace=False))
        start += n
    return np.asarray(ends, dtype=np.int64)


@pytest.mark.parametrize("builder", _builtin_builders())
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=st.lists(st.integers(-20, 700), min_size=1, max_size=3),
    rows=st.integers(1, 400),
    seed=st.integers(0, 10_000),
)
def test_cached_features_equal_the_graphs_per_window_features(
    builder: str, extra: list[int], rows: int, seed: int
) -> None:
    model = _cached_model(builder)
    lengths = [max(1, model.window + e) for e in extra]
    bars, segment_id = _series(model, lengths, seed)
    ends = _ends(lengths, model.window, np.random.default_rng(seed))
    if len(ends) == 0:
        return
    cache = bar_features(model, bars, segment_id, ends, rows=rows)
    idx = torch.as_tensor(ends)
    with torch.no_grad():
        expected = model.raw_features(gather_windows(bars, idx, model.window))
    torch.testing.assert_close(gather_windows(cache, idx, STEPS), expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("builder", _builtin_builders())
def test_the_model_gives_the_same_logits_and_edges_through_the_cache(builder: str) -> None:
    model = _cached_model(builder)
    lengths = [model.window + 900, model.window - 1, model.window, 2 * model.window]
    bars, segment_id = _series(model, lengths, seed=5)
    ends = _ends(lengths, model.window, np.random.default_rng(5))
    idx = torch.as_tensor(ends)
    windows = gather_windows(bars, idx, model.window)
    model.fit_normalization(windows, returns_bps=torch.randn(len(ends), len(model.horizons)))
    cached = window_source(model, bars, segment_id, cache=True, ends=ends)
    plain = window_source(model, bars, segment_id, cache=False)
    assert isinstance(cached, CachedFeatures) and isinstance(plain, BarWindows)
    assert cached.gather(idx)[1].shape[1] == model.tail_window  # prior/discretizer bars only
    with torch.no_grad():
        for source in (plain, cached):
            inputs = source.gather(idx)
            head, prior = source.logit_parts(model, *inputs)
            logits = model.combine(head, prior)
            torch.testing.assert_close(logits, model.logits(windows), rtol=TOL, atol=TOL)
            torch.testing.assert_close(source.edges(model, *inputs), model.edges(windows))


@given(
    start=st.integers(0, 50),
    length=st.integers(1, 3000),
    history=st.integers(0, 400),
    rows=st.integers(1, 500),
)
def test_chunk_plan_covers_each_bar_once_with_enough_history(
    start: int, length: int, history: int, rows: int
) -> None:
    plan = chunk_plan(start, start + length, history, rows)
    kept = np.concatenate([np.arange(lo, hi) for _, _, lo, hi in plan])
    assert np.array_equal(kept, np.arange(start, start + length))
    for first, n, lo, hi in plan:
        assert start <= first and first + n <= start + length
        assert first <= lo <= hi <= first + n
        assert first == start or lo - first >= history


class Trainable(FeatureBuilder):
    """A builder with a trainable scale: its features change while training, never cached."""

    name = "trainable_scale"

    def __init__(self, config: ComponentConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.scale = torch.nn.Parameter(torch.ones(1))

    required_columns = ("mid",)  # type: ignore[assignment]
    feature_names = ("scaled_mid",)  # type: ignore[assignment]
    warmup = 0  # type: ignore[assignment]

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return bars[:, :, self.ctx.column("mid") : self.ctx.column("mid") + 1] * self.scale


class WindowStart(Trainable):
    name = "window_start"
    cacheable = False

    def __init__(self, config: ComponentConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.scale.requires_grad_(False)


@pytest.mark.parametrize(
    ("cls", "reason"),
    [(Trainable, "has trainable parameters"), (WindowStart, "declares cacheable = False")],
)
def test_builders_that_cannot_be_cached_keep_the_per_window_path(
    cls: type[FeatureBuilder], reason: str
) -> None:
    ctx = default_context()
    base = _model("returns", ctx)
    model = AshModel(ctx, STEPS, [cls(ComponentConfig(), ctx)], _gru(1), base.discretizer)
    assert reason in (not_cacheable(model) or "")
    bars, segment_id = _series(model, [model.window + 10], seed=0)
    assert isinstance(window_source(model, bars, segment_id, cache=True), BarWindows)
    with pytest.raises(ValueError, match=reason):
        CachedFeatures(model, bars, segment_id)


def _gru(n_features: int) -> torch.nn.Module:
    gru = get_registry().get("backbone", "gru")
    return gru(gru.Config(hidden=8), n_features, STEPS)  # type: ignore[call-arg,attr-defined,no-any-return]
