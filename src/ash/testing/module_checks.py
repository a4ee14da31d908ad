"""Conformance checks for the torch-module kinds: feature builders, discretizers, backbones,
losses, and assembled models."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ash.components.discretizers.base import OUTER_EDGE_BPS, bucketize
from ash.interfaces import (
    Backbone,
    ComponentConfig,
    Discretizer,
    FeatureBuilder,
    Loss,
    ModelContext,
)
from ash.model import AshModel
from ash.testing.bars import ALL_COLUMNS, make_bars, make_extreme_bars, make_returns
from ash.testing.config_check import default_config
from ash.testing.device_checks import check_no_plain_tensors
from ash.testing.errors import ConformanceError
from ash.testing.onnx_check import check_onnx_parity

DEFAULT_HORIZONS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def default_context(columns: tuple[str, ...] | None = None) -> ModelContext:
    """1 s bars with every core, option and context column; the default horizons."""
    return ModelContext(columns or ALL_COLUMNS, 1.0, DEFAULT_HORIZONS)


def _finite(x: torch.Tensor, what: str) -> None:
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).nonzero()[0].tolist()
        raise ConformanceError(f"{what}: non-finite output at index {bad}")


def _close(a: torch.Tensor, b: torch.Tensor, what: str, rtol: float = 1e-6) -> None:
    scale = rtol * (1.0 + torch.maximum(a.abs(), b.abs()))
    bad = (a - b).abs() > scale
    if bad.any():
        i = bad.nonzero()[0].tolist()
        raise ConformanceError(
            f"{what}: at index {i}: {a[tuple(i)].item()!r} vs {b[tuple(i)].item()!r}"
        )


def _check_grads(module: nn.Module, loss: torch.Tensor, what: str, require_all: bool) -> None:
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not params:
        return
    module.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    missing = [n for n, p in params if p.grad is None]
    if require_all and missing:
        raise ConformanceError(
            f"{what}: parameters {missing} get no gradient (unused parameters break "
            f"DistributedDataParallel); create them only when they are used"
        )
    grads = [p.grad for _, p in params if p.grad is not None]
    if any(not torch.isfinite(g).all() for g in grads):
        raise ConformanceError(f"{what}: non-finite gradients")
    if all(float(g.abs().sum()) == 0.0 for g in grads):
        raise ConformanceError(f"{what}: every parameter gradient is zero (no gradient flows)")


def check_feature_builder(
    cls: type[FeatureBuilder[Any]],
    config: ComponentConfig | None = None,
    ctx: ModelContext | None = None,
    *,
    batch: int = 3,
    extra_steps: int = 24,
    onnx: bool = True,
) -> None:
    """Shapes, causality, honest warm-up, batch independence, finiteness, gradients, ONNX."""
    ctx = ctx or default_context()
    cfg = config if config is not None else default_config(cls)
    fb = cls(cfg, ctx).eval()
    what = f"feature builder {cls.name!r}"
    check_no_plain_tensors(fb, what)
    names = fb.feature_names
    if not names or len(set(names)) != len(names) or fb.n_features != len(names):
        raise ConformanceError(f"{what}: feature_names must be non-empty and unique; got {names}")
    missing = [c for c in fb.required_columns if c not in ctx.bar_columns]
    if missing:
        raise ConformanceError(f"{what}: required_columns {missing} are not bar columns")
    warmup = fb.warmup
    if not isinstance(warmup, int) or warmup < 0:
        raise ConformanceError(f"{what}: warmup must be a non-negative int; got {warmup!r}")
    window = warmup + extra_steps
    bars = make_bars(batch, window, ctx.bar_columns, seed=1)
    with torch.no_grad():
        out = fb(bars)
    if tuple(out.shape) != (batch, window, len(names)):
        raise ConformanceError(
            f"{what}: output shape {tuple(out.shape)}, declared {(batch, window, len(names))}"
        )
    if out.dtype != torch.float32:
        raise ConformanceError(f"{what}: output dtype {out.dtype} on float32 bars; want float32")
    _finite(out, f"{what} on realistic bars")
    # Float64 for the exact-dependence checks so rounding cannot hide or fake a leak.
    fb64 = copy.deepcopy(fb).double()
    bars64 = bars.double()
    other = make_bars(batch, window, ctx.bar_columns, seed=2).double() * 1.01
    with torch.no_grad():
        ref = fb64(bars64)
        for t in sorted({0, warmup // 2, window // 2, window - 2}):
            changed = bars64.clone()
            changed[:, t + 1 :] = other[:, t + 1 :]
            _close(
                fb64(changed)[:, : t + 1],
                ref[:, : t + 1],
                f"{what} is not causal: output at steps <= {t} changed when bars after {t} changed",
            )
        try:
            short = fb64(bars64[:, -(warmup + 1) :])[:, -1]
        except Exception as exc:
            raise ConformanceError(
                f"{what}: fails on a window of warmup + 1 = {warmup + 1} bars (declare a larger "
                f"warmup if it needs more): {type(exc).__name__}: {exc}"
            ) from exc
        _close(
            short,
            ref[:, -1],
            f"{what}: output at the last step depends on bars more than warmup={warmup} bars back "
            f"(declare a larger warmup)",
            rtol=1e-5,
        )
        _close(fb64(bars64[1:2]), ref[1:2], f"{what}: a sample's output depends on the batch")
        for scenario, extreme in make_extreme_bars(batch, window, ctx.bar_columns).items():
            _finite(fb(extreme), f"{what} on extreme bars {scenario!r}")
    fb.train()
    _check_grads(fb, fb(bars).square().mean(), what, require_all=False)
    fb.eval()
    if onnx:
        test = make_bars(batch + 2, window, ctx.bar_columns, seed=3)
        check_onnx_parity(fb, bars, test, what=what, atol=1e-3, rtol=1e-4)


def check_discretizer(
    cls: type[Discretizer[Any]],
    config: ComponentConfig | None = None,
    ctx: ModelContext | None = None,
    *,
    batch: int = 3,
    onnx: bool = True,
) -> None:
    """Fit on lattice returns; edges shape, sentinels, strict increase, window-only dependence,
    bucketing of extremes, finiteness on extreme bars, ONNX."""
    ctx = ctx or default_context()
    cfg = config if config is not None else default_config(cls)
    disc = cls(cfg, ctx)
    what = f"discretizer {cls.name!r}"
    check_no_plain_tensors(disc, what)
    k, h = disc.n_buckets, len(ctx.horizons)
    if not isinstance(k, int) or k < 2:
        raise ConformanceError(f"{what}: n_buckets must be an int >= 2; got {k!r}")
    disc.fit(make_returns(ctx.horizons, seed=4))
    disc.eval()
    min_window = int(getattr(disc, "min_window", 1))
    window = max(min_window, 32) + 8
    bars = make_bars(batch, window, ctx.bar_columns, seed=1)

    def edges_of(x: torch.Tensor, label: str) -> torch.Tensor:
        with torch.no_grad():
            e: torch.Tensor = disc(x)
        if tuple(e.shape) != (x.shape[0], h, k + 1):
            raise ConformanceError(
                f"{what}: edges shape {tuple(e.shape)} on {label}, want {(x.shape[0], h, k + 1)}"
            )
        _finite(e, f"{what} edges on {label}")
        if not (e[..., 1:] > e[..., :-1]).all():
            raise ConformanceError(f"{what}: edges not strictly increasing on {label}")
        if not ((e[..., 0] == -OUTER_EDGE_BPS).all() and (e[..., -1] == OUTER_EDGE_BPS).all()):
            raise ConformanceError(
                f"{what}: outer edges must be the sentinels ±{OUTER_EDGE_BPS} bps on {label}"
            )
        return e

    edges = edges_of(bars, "realistic bars")
    _close(edges_of(bars[1:2], "one window"), edges[1:2], f"{what}: edges depend on the batch")
    _close(
        edges_of(bars[:, -min_window:], f"the last min_window={min_window} bars"),
        edges,
        f"{what}: edges depend on bars before the last min_window={min_window} (declare more)",
    )
    for scenario, extreme in make_extreme_bars(batch, window, ctx.bar_columns).items():
        edges_of(extreme, f"extreme bars {scenario!r}")
    returns = torch.tensor([-1e9, -50.0, 0.0, 0.3, 50.0, 1e9])
    grid = returns.view(-1, 1).expand(-1, h)
    ids = bucketize(grid, edges[:1].expand(len(returns), -1, -1))
    if (
        not ((ids >= 0) & (ids < k)).all()
        or not (ids[0] == 0).all()
        or not (ids[-1] == k - 1).all()
    ):
        raise ConformanceError(f"{what}: extreme returns are not caught by the outer buckets")
    if onnx:
        test = make_bars(batch + 2, window, ctx.bar_columns, seed=3)
        check_onnx_parity(disc, bars, test, what=what, atol=1e-3, rtol=1e-5)


def check_backbone(
    cls: type[Backbone[Any]],
    config: ComponentConfig | None = None,
    *,
    n_features: int = 7,
    steps: int = 16,
    batch: int = 3,
    onnx: bool = True,
) -> None:
    """Output shape ``[B, out_dim]``, batch independence, finiteness, every parameter trains,
    gradient reaches the input, ONNX parity with a dynamic batch."""
    cfg = config if config is not None else default_config(cls)
    torch.manual_seed(0)
    bb = cls(cfg, n_features, steps)
    what = f"backbone {cls.name!r}"
    check_no_plain_tensors(bb, what)
    d = bb.out_dim
    if not isinstance(d, int) or d < 1:
        raise ConformanceError(f"{what}: out_dim must be a positive int; got {d!r}")
    x = torch.randn(batch, steps, n_features, generator=torch.Generator().manual_seed(1))
    bb.eval()
    with torch.no_grad():
        out = bb(x)
        if tuple(out.shape) != (batch, d):
            raise ConformanceError(f"{what}: output shape {tuple(out.shape)}, want {(batch, d)}")
        _finite(out, f"{what} on normal inputs")
        _close(bb(x[1:2]), out[1:2], f"{what}: a sample's output depends on the batch", rtol=1e-5)
        for label, extreme in (("zeros", torch.zeros_like(x)), ("±10 (clip)", 10 * x.sign())):
            _finite(bb(extreme), f"{what} on {label} inputs")
    bb.train()
    xg = x.clone().requires_grad_(True)
    _check_grads(bb, bb(xg).square().mean(), what, require_all=True)
    if xg.grad is None or float(xg.grad.abs().sum()) == 0.0:
        raise ConformanceError(f"{what}: no gradient reaches the input features")
    bb.eval()
    if onnx:
        test = torch.randn(batch + 2, steps, n_features, generator=torch.Generator().manual_seed(2))
        check_onnx_parity(bb, x, test, what=what, atol=1e-4, rtol=1e-4)


def check_loss(
    cls: type[Loss[Any]],
    config: ComponentConfig | None = None,
    *,
    n_horizons: int = 3,
    n_buckets: int = 11,
    batch: int = 8,
) -> None:
    """Scalar finite value, gradients, mask respected, all-masked finite, and a confident right
    answer scores better than a confident wrong one."""
    cfg = config if config is not None else default_config(cls)
    loss_fn = cls(cfg, n_horizons, n_buckets)
    what = f"loss {cls.name!r}"
    check_no_plain_tensors(loss_fn, what)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, n_horizons, n_buckets, generator=g, requires_grad=True)
    targets = torch.randint(0, n_buckets, (batch, n_horizons), generator=g)
    inner = torch.linspace(-5.0, 5.0, n_buckets - 1)
    edges = torch.cat([torch.tensor([-OUTER_EDGE_BPS]), inner, torch.tensor([OUTER_EDGE_BPS])])
    edges = edges.expand(batch, n_horizons, -1)
    mask = torch.rand(batch, n_horizons, generator=g) > 0.3
    mask[0, 0] = True
    value = loss_fn(logits, targets, edges, mask)
    if value.dim() != 0:
        raise ConformanceError(f"{what}: must return a scalar, got shape {tuple(value.shape)}")
    _finite(value, what)
    value.backward()
    if logits.grad is None or not torch.isfinite(logits.grad).all():
        raise ConformanceError(f"{what}: gradient to logits missing or non-finite")
    if float(logits.grad[~mask].abs().sum()) != 0.0:
        raise ConformanceError(f"{what}: masked-out entries receive gradient")
    with torch.no_grad():
        scrambled_t = torch.where(mask, targets, (targets + 3) % n_buckets)
        scrambled_l = torch.where(mask.unsqueeze(-1), logits, -logits)
        _close(
            loss_fn(scrambled_l, scrambled_t, edges, mask),
            value.detach(),
            f"{what}: loss changes when masked-out targets/logits change",
        )
        none = loss_fn(logits, torch.full_like(targets, -1), edges, torch.zeros_like(mask))
        _finite(none, f"{what} with every target masked")
        all_mask = torch.ones_like(mask)
        right = 8.0 * torch.nn.functional.one_hot(targets, n_buckets).float()
        wrong_t = (targets + n_buckets // 2) % n_buckets
        wrong = 8.0 * torch.nn.functional.one_hot(wrong_t, n_buckets).float()
        if not loss_fn(right, targets, edges, all_mask) < loss_fn(wrong, targets, edges, all_mask):
            raise ConformanceError(
                f"{what}: a confident correct forecast does not score better than a wrong one"
            )


def check_model(model: nn.Module, *, batch: int = 2, onnx: bool = True, seed: int = 0) -> None:
    """An assembled model (``AshModel``): contract outputs, probabilities sum to 1, edges valid,
    no hidden state between calls, batch independence, gradients, ONNX parity of both outputs."""
    if not isinstance(model, AshModel):
        raise ConformanceError(
            f"check_model wants an ash.model.AshModel, got {type(model).__name__}"
        )
    what = "assembled model"
    check_no_plain_tensors(model, what)
    cols = model.ctx.bar_columns
    h, k = len(model.horizons), model.n_buckets
    model.eval()
    bars = make_bars(batch, model.window, cols, seed=seed)
    other = make_bars(batch, model.window, cols, seed=seed + 1)
    with torch.no_grad():
        probs, edges = model(bars)
        if tuple(probs.shape) != (batch, h, k) or tuple(edges.shape) != (batch, h, k + 1):
            raise ConformanceError(
                f"{what}: outputs {tuple(probs.shape)}/{tuple(edges.shape)}, want "
                f"{(batch, h, k)}/{(batch, h, k + 1)}"
            )
        _finite(probs, what)
        if not torch.allclose(probs.sum(-1), torch.ones(batch, h), atol=1e-5):
            raise ConformanceError(f"{what}: probabilities do not sum to 1")
        if not (edges[..., 1:] > edges[..., :-1]).all():
            raise ConformanceError(f"{what}: edges not strictly increasing")
        model(other)
        again, _ = model(bars)
        _close(again, probs, f"{what}: output depends on earlier calls (hidden state)", rtol=1e-6)
        _close(model(bars[1:2])[0], probs[1:2], f"{what}: output depends on the batch", rtol=1e-5)
        for scenario, extreme in make_extreme_bars(batch, model.window, cols).items():
            p, e = model(extreme)
            _finite(p, f"{what} probs on extreme bars {scenario!r}")
            _finite(e, f"{what} edges on extreme bars {scenario!r}")
    model.train()
    logits = model.logits(bars)
    _check_grads(model, torch.log_softmax(logits, -1)[..., 0].mean(), what, require_all=False)
    model.eval()
    if onnx:
        test = make_bars(batch + 1, model.window, cols, seed=seed + 2)
        check_onnx_parity(
            model, bars, test, what=what, output_names=("probs", "edges"), atol=1e-5, rtol=1e-4
        )


CHECKS: dict[str, Callable[..., None]] = {
    "feature_builder": check_feature_builder,
    "discretizer": check_discretizer,
    "backbone": check_backbone,
    "loss": check_loss,
}
__all__ = [
    "CHECKS",
    "check_backbone",
    "check_discretizer",
    "check_feature_builder",
    "check_loss",
    "check_model",
    "default_context",
]
_ = np  # numpy is re-exported for plugin authors' convenience in doctests
