"""The untrained candidate of a trial: the assembled model and its contract metadata.

Latency depends on the architecture only, so the candidate is built straight from the resolved
experiment without data: the bar columns follow from ``data.options`` / ``data.context_symbol``,
the discretizer and the feature normalisation keep their unfitted defaults. A fitted family
(trees) has no size until it is fitted, so it is fitted on random rows to the largest size its
config allows (``Family.fit_stand_in``): the latency measured bounds the trained model's.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ash.bars.columns import BAR_COLUMNS_VERSION, bar_columns
from ash.config.resolve import ResolvedExperiment
from ash.export.contract import (
    KEY_BAR_COLUMNS_VERSION,
    KEY_CONTEXT_SYMBOL,
    KEY_GAP_POLICY,
    KEY_GAP_SECONDS,
    KEY_REFERENCE_PRICE,
    KEY_TIMEZONE,
)
from ash.interfaces import ModelContext
from ash.runs import make_model


def model_context(resolved: ResolvedExperiment) -> ModelContext:
    exp = resolved.experiment
    columns = bar_columns(options=exp.data.options, context=exp.data.context_symbol is not None)
    return ModelContext(columns, exp.bars.seconds, tuple(float(h) for h in exp.horizons))


def export_metadata(resolved: ResolvedExperiment) -> dict[str, Any]:
    """Contract keys the experiment fixes (the model itself supplies window, columns, buckets)."""
    bars = resolved.experiment.bars
    found: dict[str, Any] = {
        KEY_BAR_COLUMNS_VERSION: BAR_COLUMNS_VERSION,
        KEY_REFERENCE_PRICE: bars.reference,
        KEY_TIMEZONE: bars.timezone,
        KEY_GAP_SECONDS: bars.gap_seconds,
        KEY_GAP_POLICY: bars.gap_policy,
    }
    if resolved.experiment.data.context_symbol is not None:
        found[KEY_CONTEXT_SYMBOL] = resolved.experiment.data.context_symbol
    return found


def build_candidate(resolved: ResolvedExperiment) -> tuple[nn.Module, dict[str, Any]]:
    """The untrained model of ``resolved`` (assembled as the trainer does) and its metadata."""
    model = make_model(resolved, model_context(resolved).bar_columns)
    if model.family is not None:  # a fitted family: its largest stand-in, so it can be timed
        model.family.fit_stand_in(3 * model.n_features)
    return model, export_metadata(resolved)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
