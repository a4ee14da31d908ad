"""Model assembly: window derivation, normalization, temperature, errors, contract outputs."""

from __future__ import annotations

import pytest
import torch

from ash.components.backbones import GRUBackbone, TransformerBackbone
from ash.components.discretizers import LogReturnDiscretizer, VolScaledDiscretizer
from ash.components.features import OrderFlow, RealizedVol, Returns, TimeOfDay
from ash.model import AshModel, build_model
from ash.testing import check_model, default_context, make_bars

CTX = default_context()


def small_model(**kw: object) -> AshModel:
    return build_model(
        CTX,
        8,
        [
            (Returns, Returns.Config(lookbacks=(1, 5, 30))),
            (OrderFlow, OrderFlow.Config(lookbacks=(10,))),
        ],
        (TransformerBackbone, TransformerBackbone.Config(d_model=32, n_layers=1)),
        (LogReturnDiscretizer, LogReturnDiscretizer.Config(n_buckets=21)),
        **kw,  # type: ignore[arg-type]
    )


def test_window_is_max_warmup_plus_steps_or_discretizer_lookback() -> None:
    model = small_model()
    assert model.window == 30 + 8
    assert model.n_buckets == 21 and model.horizons == CTX.horizons
    assert model.n_features == 3 + 2 * 1 + 1
    assert model.feature_names[0] == "returns.ret_1"
    vol = build_model(
        CTX,
        8,
        [(Returns, Returns.Config(lookbacks=(1,)))],
        (GRUBackbone, GRUBackbone.Config(hidden=8)),
        (VolScaledDiscretizer, VolScaledDiscretizer.Config(lookback_bars=100)),
    )
    assert vol.window == 101


def test_forward_outputs_match_the_contract_and_temperature_scales_logits() -> None:
    model = small_model().eval()
    bars = make_bars(4, model.window, CTX.bar_columns, seed=1)
    probs, edges = model(bars)
    assert probs.shape == (4, len(CTX.horizons), 21) and edges.shape == (4, len(CTX.horizons), 22)
    assert torch.allclose(probs.sum(-1), torch.ones(4, len(CTX.horizons)))
    logits = model.logits(bars)
    model.temperature.fill_(2.0)
    assert torch.allclose(model.logits(bars), logits / 2.0)


def test_fit_normalization_standardizes_training_features() -> None:
    model = small_model()
    windows = make_bars(32, model.window, CTX.bar_columns, seed=2)
    model.fit_normalization(windows, batch_size=7)
    z = model.features(windows).reshape(-1, model.n_features)
    assert torch.allclose(z.mean(0), torch.zeros(model.n_features), atol=1e-4)
    assert torch.allclose(z.std(0, unbiased=False), torch.ones(model.n_features), atol=1e-3)


def test_constant_feature_gets_unit_std() -> None:
    model = build_model(
        CTX,
        4,
        [(TimeOfDay, TimeOfDay.Config())],
        (GRUBackbone, GRUBackbone.Config(hidden=8)),
        (LogReturnDiscretizer, LogReturnDiscretizer.Config(n_buckets=11)),
    )
    windows = make_bars(4, model.window, CTX.bar_columns, seed=3)
    windows[:, :, CTX.column("session_start")] = 0.0  # recent_session_start is constant 0
    model.fit_normalization(windows)
    assert model.feature_std[-1].item() == 1.0


def test_bad_inputs_fail_with_precise_messages() -> None:
    model = small_model()
    with pytest.raises(ValueError, match=r"bars must be \[batch, 38, 47\]"):
        model(make_bars(2, 20, CTX.bar_columns))
    with pytest.raises(ValueError, match="at least one training window"):
        model.fit_normalization(torch.zeros(0, model.window, 47))
    with pytest.raises(ValueError, match="at least one feature builder"):
        build_model(
            CTX,
            4,
            [],
            (GRUBackbone, GRUBackbone.Config()),
            (LogReturnDiscretizer, LogReturnDiscretizer.Config()),
        )
    f = Returns(Returns.Config(), CTX)
    with pytest.raises(ValueError, match="was built for 3 features"):
        AshModel(
            CTX,
            4,
            [f],
            GRUBackbone(GRUBackbone.Config(), 3, 4),
            LogReturnDiscretizer(LogReturnDiscretizer.Config(), CTX),
        )


def test_missing_bar_column_names_builder_and_columns() -> None:
    ctx = default_context(("open", "close", "mid"))
    with pytest.raises(KeyError, match=r"'order_flow' needs bar columns \['buy_volume'"):
        OrderFlow(OrderFlow.Config(), ctx)


@pytest.mark.parametrize("backbone", [TransformerBackbone, GRUBackbone], ids=lambda c: c.name)
def test_assembled_model_passes_check_model(backbone: type) -> None:
    model = build_model(
        CTX,
        6,
        [
            (Returns, Returns.Config(lookbacks=(1, 5))),
            (RealizedVol, RealizedVol.Config(windows=(10,))),
        ],
        (backbone, backbone.Config()),
        (VolScaledDiscretizer, VolScaledDiscretizer.Config(lookback_bars=20, n_buckets=15)),
        head_hidden=16,
    )
    model.fit_normalization(make_bars(8, model.window, CTX.bar_columns, seed=4))
    check_model(model)
