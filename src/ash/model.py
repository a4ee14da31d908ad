"""Model assembly: feature builders → normalization → backbone → horizon heads → probabilities.

:class:`AshModel` has exactly the inputs and outputs of the ONNX contract v1:
``forward(bars[B, W, C]) -> (probs[B, H, K], edges[B, H, K + 1])``. Feature computation,
normalization constants and per-horizon temperatures are all inside the graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ash.components.discretizers.base import bucketize
from ash.components.families.design import design_matrix
from ash.config.schema import PriorConfig
from ash.interfaces import (
    Backbone,
    ComponentConfig,
    Discretizer,
    Family,
    FeatureBuilder,
    ModelContext,
)
from ash.prior import Prior, build_prior, fit_bucket_bias


class AshModel(nn.Module):
    """One ``nn.Module`` from bars to per-horizon bucket probabilities and bucket edges.

    Attributes: ``ctx`` (bar columns, bar seconds, horizons), ``steps`` (positions fed to the
    backbone), ``window`` (bars per input: max feature warm-up + steps, at least the discretizer's
    ``min_window``), ``horizons`` (seconds), ``n_buckets``, ``n_features``, ``feature_names``.
    Buffers: ``feature_mean``/``feature_std`` ``[F]`` (see :meth:`fit_normalization`) and
    ``temperature`` ``[H]`` (1 until calibrated). ``prior`` (optional, :mod:`ash.prior`): the
    heads then output residual logits added to the prior's log-probabilities.
    """

    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    temperature: torch.Tensor
    residual_weight: torch.Tensor  # only with a prior

    def __init__(
        self,
        ctx: ModelContext,
        steps: int,
        features: Sequence[FeatureBuilder[Any]],
        backbone: Backbone[Any] | None,
        discretizer: Discretizer[Any],
        *,
        head_hidden: int | None = None,
        dropout: float = 0.0,
        feature_clip: float = 10.0,
        prior: Prior | None = None,
        family: Family[Any] | None = None,
    ) -> None:
        super().__init__()
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not features:
            raise ValueError("a model needs at least one feature builder")
        self.ctx = ctx
        self.steps = steps
        self.horizons = tuple(ctx.horizons)
        self.feature_builders = nn.ModuleList(features)
        if family is not None and family.gradient:
            family = None  # the neural family is the backbone + heads below
        if (family is None) == (backbone is None):
            raise ValueError("a model has either a backbone (neural family) or a fitted family")
        self.family = family
        self.backbone = backbone
        self.discretizer = discretizer
        self.n_buckets = discretizer.n_buckets
        self.feature_clip = feature_clip
        self.feature_names = _unique_names(features)
        self.n_features = len(self.feature_names)
        if backbone is not None and (
            backbone.n_features != self.n_features or backbone.steps != steps
        ):
            raise ValueError(
                f"backbone {backbone.name!r} was built for {backbone.n_features} features × "
                f"{backbone.steps} steps; the features give {self.n_features} × {steps}"
            )
        warmup = max(f.warmup for f in features)
        self.prior = prior
        self.window = max(
            warmup + steps,
            discretizer.min_window,
            prior.min_window if prior is not None else 1,
        )
        n_out = len(self.horizons) * self.n_buckets
        if backbone is None:
            self.head: nn.Module | None = None
        elif head_hidden:
            self.head = nn.Sequential(
                nn.Linear(backbone.out_dim, head_hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(head_hidden, n_out),
            )
        else:
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(backbone.out_dim, n_out))
        if prior is not None:
            if self.head is not None:
                # An untrained model is exactly the prior; training learns the correction.
                last = self.head[-1]
                assert isinstance(last, nn.Linear)
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
            # Validation shrinks (or grows) the correction per horizon, like a temperature.
            self.register_buffer("residual_weight", torch.ones(len(self.horizons)))
        self.register_buffer("feature_mean", torch.zeros(self.n_features))
        self.register_buffer("feature_std", torch.ones(self.n_features))
        self.register_buffer("temperature", torch.ones(len(self.horizons)))

    def _check(self, bars: torch.Tensor) -> None:
        if torch.jit.is_tracing():  # type: ignore[no-untyped-call,attr-defined]
            return
        if bars.dim() != 3 or bars.shape[1:] != (self.window, len(self.ctx.bar_columns)):
            raise ValueError(
                f"bars must be [batch, {self.window}, {len(self.ctx.bar_columns)}] "
                f"(window × bar columns of this model); got {tuple(bars.shape)}"
            )

    def raw_features(self, bars: torch.Tensor) -> torch.Tensor:
        """Un-normalized features of the last ``steps`` positions: ``[B, steps, F]``.

        Each builder sees only the last ``its warmup + steps`` bars: the positions the backbone
        reads plus what their warm-up needs (a builder is causal and its warm-up honest, so the
        values there are the same as over the whole window, and a built-in builder computes
        exactly those last ``steps`` positions). Outputs are joined time-last (``[B, F, W]``):
        the built-ins compute time-last and transpose at the end, and the exporter cancels each
        transpose pair and the warm-up padding, leaving one transpose for the feature block.
        """
        width = int(bars.shape[1])
        builders = [cast(FeatureBuilder[Any], f) for f in self.feature_builders]
        pieces = []
        for span, group in itertools.groupby(
            builders, key=lambda f: min(width, int(f.warmup) + self.steps)
        ):
            x = bars if span == width else bars[:, width - span :]
            out = torch.cat([f(x).transpose(1, 2) for f in group], dim=1)  # [B, F, span]
            pieces.append(out if span == self.steps else out[:, :, span - self.steps :])
        joined = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)
        return joined.transpose(1, 2)

    def normalize(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw features ``[B, steps, F]`` → normalized, clipped backbone input."""
        z = (raw - self.feature_mean) / self.feature_std
        return torch.clamp(z, -self.feature_clip, self.feature_clip)

    def features(self, bars: torch.Tensor) -> torch.Tensor:
        """Normalized, clipped features ``[B, steps, F]`` (the backbone's input)."""
        return self.normalize(self.raw_features(bars))

    @property
    def tail_window(self) -> int:
        """Bars the discretizer and the prior read: the last ``tail_window`` of a window."""
        prior = self.prior.min_window if self.prior is not None else 1
        return max(self.discretizer.min_window, prior)

    def logit_parts(
        self, bars: torch.Tensor, edges: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Uncalibrated head logits ``[B, H, K]`` and the prior's log-probabilities (or None);
        ``edges`` are :meth:`edges` of ``bars`` when the caller has them already."""
        self._check(bars)
        return self.logit_parts_from(self.raw_features(bars), bars, edges)

    def logit_parts_from(
        self, raw: torch.Tensor, bars: torch.Tensor, edges: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`logit_parts` from raw features ``[B, steps, F]`` (e.g. precomputed once per
        bar, :mod:`ash.feature_cache`) and bars of which only the last :attr:`tail_window` are
        read (by the discretizer and the prior)."""
        if self.family is not None:
            head: torch.Tensor = self.family(design_matrix(raw))
        else:
            assert self.backbone is not None and self.head is not None
            rep = self.backbone(self.normalize(raw))
            head = self.head(rep).view(-1, len(self.horizons), self.n_buckets)
        if self.prior is None:
            return head, None
        prior: torch.Tensor = self.prior(bars, self.edges(bars) if edges is None else edges)
        return head, prior

    def combine(
        self, head: torch.Tensor, prior: torch.Tensor | None, *, calibrated: bool = True
    ) -> torch.Tensor:
        """Logits from :meth:`logit_parts`; ``calibrated`` applies the residual weights and
        temperatures fitted on validation (both 1 until calibrated)."""
        if prior is None:
            logits = head
        elif calibrated:
            logits = self.residual_weight.view(1, -1, 1) * head + prior
        else:
            logits = head + prior
        return logits / self.temperature.view(1, -1, 1) if calibrated else logits

    def logits(self, bars: torch.Tensor, edges: torch.Tensor | None = None) -> torch.Tensor:
        """Calibrated logits ``[B, H, K]`` (what losses train on)."""
        return self.combine(*self.logit_parts(bars, edges))

    def edges(self, bars: torch.Tensor) -> torch.Tensor:
        """Bucket edges ``[B, H, K + 1]`` in bps from the discretizer."""
        edges: torch.Tensor = self.discretizer(bars)
        return edges

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(probs[B, H, K], edges[B, H, K + 1])`` — the ONNX contract's outputs."""
        edges = self.edges(bars)  # once: the prior reads the same edges
        return torch.softmax(self.logits(bars, edges), dim=-1), edges

    @torch.no_grad()
    def fit_normalization(
        self,
        windows: torch.Tensor | np.ndarray[Any, Any],
        batch_size: int = 256,
        returns_bps: torch.Tensor | np.ndarray[Any, Any] | None = None,
    ) -> None:
        """Fit ``feature_mean``/``feature_std`` on training windows ``[N, window, C]``.

        Statistics pool every window's last ``steps`` positions; a (near-)constant feature gets
        std 1 so it normalizes to 0 instead of blowing up. A prior fits its own constants here
        too, its per-horizon scales from the windows' forward returns ``returns_bps[N, H]``.
        """
        data = torch.as_tensor(windows, dtype=torch.float32)
        if len(data) == 0:
            raise ValueError("fit_normalization needs at least one training window")
        self._check(data[:1])
        # Accumulate on the windows' device (a CUDA model fitted on CUDA windows stays there).
        total = torch.zeros(self.n_features, dtype=torch.float64, device=data.device)
        total_sq = torch.zeros(self.n_features, dtype=torch.float64, device=data.device)
        count = 0
        for start in range(0, len(data), batch_size):
            f = (
                self.raw_features(data[start : start + batch_size])
                .double()
                .reshape(-1, self.n_features)
            )
            total += f.sum(0)
            total_sq += (f * f).sum(0)
            count += f.shape[0]
        mean = total / count
        std = torch.sqrt(torch.clamp(total_sq / count - mean * mean, min=0.0))
        std = torch.where(std < 1e-6 * (1.0 + mean.abs()), torch.ones_like(std), std)
        self.feature_mean.copy_(mean.float())
        self.feature_std.copy_(std.float())
        if self.prior is not None:
            self._fit_prior(data, returns_bps)

    def _fit_prior(
        self, windows: torch.Tensor, returns_bps: torch.Tensor | np.ndarray[Any, Any] | None
    ) -> None:
        """The prior's constants, then the head's output bias relative to the prior."""
        assert self.prior is not None
        if returns_bps is None:
            self.prior.fit(windows)
            return
        edges = self.edges(windows)
        targets = torch.as_tensor(returns_bps, device=windows.device).double()
        self.prior.fit(windows, targets, edges)
        logp = self.prior(windows, edges)
        if self.head is None:  # a fitted family starts from the prior itself
            return
        bias = fit_bucket_bias(logp, bucketize(targets, edges.double()))
        last = list(self.head.children())[-1]
        assert isinstance(last, nn.Linear)
        last.bias.copy_(bias.reshape(-1))


def _unique_names(features: Sequence[FeatureBuilder[Any]]) -> tuple[str, ...]:
    names: list[str] = []
    for i, f in enumerate(features):
        prefix = f.name if sum(g.name == f.name for g in features) == 1 else f"{f.name}{i}"
        names += [f"{prefix}.{n}" for n in f.feature_names]
    return tuple(names)


def build_model(
    ctx: ModelContext,
    steps: int,
    features: Sequence[tuple[type[FeatureBuilder[Any]], ComponentConfig]],
    backbone: tuple[type[Backbone[Any]], ComponentConfig] | None,
    discretizer: tuple[type[Discretizer[Any]], ComponentConfig],
    *,
    head_hidden: int | None = None,
    dropout: float = 0.0,
    feature_clip: float = 10.0,
    prior: PriorConfig | None = None,
    reference: str = "mid",
    family: tuple[type[Family[Any]], ComponentConfig] | None = None,
) -> AshModel:
    """Assemble an :class:`AshModel` from registry-resolved ``(class, config)`` pairs;
    ``reference`` is the target's price column (the prior's default price); ``family``: a
    fitted family replaces ``backbone`` (which is then not built, and may be None)."""
    if not features:
        raise ValueError("a model needs at least one feature builder")
    builders = [cls(cfg, ctx) for cls, cfg in features]
    n_features = sum(b.n_features for b in builders)
    disc_cls, disc_cfg = discretizer
    fitted = None
    if family is not None and not family[0].gradient:
        fitted = family[0](family[1], len(ctx.horizons), disc_cls(disc_cfg, ctx).n_buckets)
    elif backbone is None:
        name = family[0].name if family is not None else "neural"
        raise ValueError(
            f"model family {name!r} is trained by gradient descent through model.backbone, "
            "and the experiment has none: add e.g. `backbone: {kind: transformer}`"
        )
    return AshModel(
        ctx,
        steps,
        builders,
        None
        if backbone is None or fitted is not None
        else backbone[0](backbone[1], n_features, steps),
        disc_cls(disc_cfg, ctx),
        head_hidden=head_hidden,
        dropout=dropout,
        feature_clip=feature_clip,
        prior=build_prior(prior or PriorConfig(), ctx, reference),
        family=fitted,
    )
