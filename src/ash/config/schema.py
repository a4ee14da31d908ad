"""The experiment schema (pydantic v2). Component blocks stay raw here (``kind`` + params);
:mod:`ash.config.resolve` validates them against the registry in a second step."""

from __future__ import annotations

import importlib.util
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ash.bars.spec import BarSpec
from ash.data.splits import SplitConfig as DataSplitConfig

DEFAULT_HORIZONS: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600)
NEURAL_FAMILY = "neural"  # the default family: model.backbone + heads, gradient descent


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentSpec(BaseModel):
    """A ``{kind: NAME, ...params}`` block; params are checked by the component's own Config."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="Registered component name (see `ash plugins`).")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DataConfig(StrictModel):
    source: ComponentSpec = Field(description="Where events come from (a source plugin).")
    symbols: list[str] = Field(min_length=1, description="Symbols to model.")
    context_symbol: str | None = Field(
        None, description="Optional second symbol whose bars feed cross-asset features."
    )
    start: str | None = Field(None, description="Inclusive start (ISO date or timestamp).")
    end: str | None = Field(None, description="Exclusive end (ISO date or timestamp).")
    options: bool = Field(False, description="Add option-surface bar columns.")


class BarsConfig(BarSpec):
    """The bar grid (:class:`ash.bars.spec.BarSpec`) plus the reference price of targets."""

    session: str | None = Field(
        "09:30-16:00",
        description='Local trading window "HH:MM-HH:MM"; events outside are dropped before '
        "building. null keeps every event.",
    )
    reference: Literal["mid", "close"] = Field(
        "mid", description="Reference price of targets (mid avoids bid-ask bounce)."
    )

    def spec(self) -> BarSpec:
        """The bar-builder spec (everything but the target reference)."""
        return BarSpec.model_validate(self.model_dump(exclude={"reference"}))


class SplitConfig(DataSplitConfig):
    """Chronological splits (:class:`ash.data.splits.SplitConfig`) and walk-forward folds."""

    walk_forward_folds: int = Field(0, ge=0, description="0: one split; N: N rolling folds.")
    walk_forward_step: Literal["block", "day"] = Field(
        "block",
        description="block: N+1 equal blocks of samples; day: test on each of the last N session "
        "dates, train on the dates before it.",
    )


class HeadConfig(StrictModel):
    hidden: int | None = Field(None, ge=1, description="Hidden width of each horizon head.")
    dropout: float = Field(0.0, ge=0, lt=1)


class PriorConfig(StrictModel):
    """``model.prior``: the parametric forecast the heads correct (``none``: plain logits)."""

    kind: Literal["none", "ewma_gaussian"] = Field(
        "none",
        description="none: heads output logits; ewma_gaussian: heads correct an EWMA Gaussian "
        "computed in the graph (see ash.prior).",
    )
    decay: float = Field(0.99, gt=0, lt=1, description="EWMA decay per bar of squared returns.")
    lookback_bars: int = Field(300, ge=2, description="Bars of history the EWMA reads.")
    price_column: str | None = Field(
        None, description="Price column (default: the target reference, bars.reference)."
    )
    lattice: bool = Field(True, description="Snap bucket edges to the fitted price lattice.")
    point_mass: Literal["none", "constant", "zero_fraction"] = Field(
        "none",
        description="Mix a point mass at the zero-return bucket into the Gaussian (1 s mid "
        "returns are mostly exactly zero): constant: a fitted weight per horizon; "
        "zero_fraction: f^a_h, f the EWMA fraction of zero 1-bar moves in the window, a_h "
        "fitted per horizon (see ash.prior).",
    )


class ModelConfig(StrictModel):
    steps: int = Field(64, ge=1, description="Sequence steps the backbone sees.")
    features: list[ComponentSpec] = Field(min_length=1, description="Feature builders.")
    backbone: ComponentSpec | None = Field(
        None,
        description="Sequence model of the neural family (required by it); a fitted family "
        "such as lightgbm has none and ignores one given.",
    )
    discretizer: ComponentSpec
    family: ComponentSpec = Field(
        default_factory=lambda: ComponentSpec(kind=NEURAL_FAMILY),
        description="Model family turning features into bucket logits (docs/families.md): "
        "neural (backbone + heads, gradient descent) or a fitted family such as lightgbm.",
    )
    head: HeadConfig = Field(default_factory=HeadConfig)
    prior: PriorConfig = Field(
        default_factory=PriorConfig, description="Parametric forecast the heads correct."
    )

    @model_validator(mode="after")
    def _neural_needs_backbone(self) -> ModelConfig:
        if self.backbone is None and self.family.kind == NEURAL_FAMILY:
            raise ValueError(
                "model.backbone is missing: the neural family (model.family.kind: neural, the "
                "default) needs a sequence model, e.g. `backbone: {kind: transformer}`; or "
                "choose a fitted family that has none, e.g. `family: {kind: lightgbm}`"
            )
        return self


class TrainConfig(StrictModel):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(256, ge=1)
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_fraction: float = Field(0.05, ge=0, lt=1, description="Linear warm-up share of steps.")
    grad_clip: float = Field(1.0, gt=0)
    patience: int = Field(3, ge=1, description="Early stopping: epochs without improvement.")
    early_stopping: Literal["mean", "per_horizon"] = Field(
        "mean",
        description="mean: stop on the mean validation NLL over horizons and keep the best "
        "epoch; per_horizon: freeze each horizon's head (drop its loss, restore its best rows) "
        "once its own validation NLL has not improved for `patience` epochs, stop when all "
        "are frozen (see ash.train.horizon_stopping).",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 autocast on a GPU that supports it, fp32 on CPU."
    )
    max_train_samples: int | None = Field(None, ge=1, description="Subsample per epoch.")
    max_val_samples: int | None = Field(
        None,
        ge=1,
        description="Strided validation subsample for early stopping and calibration (None: all).",
    )
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: all).")
    feature_cache: bool = Field(
        True,
        description="Compute features once per bar and gather feature windows (false: per "
        "window, the exported graph's way; builders that cannot be cached always are).",
    )
    checkpoint_every_steps: int = Field(200, ge=1)
    loggers: list[Literal["mlflow", "tensorboard"]] = Field(
        default_factory=list,
        description="Mirror epoch and final metrics to MLflow ($MLFLOW_TRACKING_URI) and/or "
        "TensorBoard (RUN/tensorboard/); the run folder stays the source of truth.",
    )

    @field_validator("loggers")
    @classmethod
    def _loggers_installed(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError(f"each logger at most once, got {names}")
        for name in names:
            if importlib.util.find_spec(name) is None:  # the module is named like the logger
                raise ValueError(f"the {name} logger needs its library: pip install 'ash[{name}]'")
        return names


class EvaluateConfig(StrictModel):
    pnl_threshold: float = Field(0.55, gt=0.5, lt=1, description="Trade when P(up|down) clears.")
    cost_bps: float = Field(0.5, ge=0, description="Round-trip cost per trade in bps.")
    fan_chart_bars: int = Field(600, ge=10)
    reliability_bins: int = Field(10, ge=2)
    max_samples: int | None = Field(
        20000, ge=100, description="Evenly strided subsample of each split scored (None: all)."
    )
    oracle: bool = Field(True, description="Score the source's oracle when it has one.")
    oracle_max_samples: int = Field(
        4000, ge=100, description="Strided subsample of each scored split given to the oracle."
    )


class ExportConfig(StrictModel):
    opset: int = Field(17, ge=13)
    optimize: bool = True
    fp16: bool = False
    validate_parity: bool = True


class LatencyBudget(StrictModel):
    p99_ms: float = Field(1.0, gt=0)
    batch: int = Field(1, ge=1)
    threads: int = Field(1, ge=1)
    measure_on: Literal["rust", "onnxruntime", "auto"] = "auto"


class SearchDimension(StrictModel):
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _complete(self) -> SearchDimension:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical dimension needs non-empty `choices`")
        elif self.low is None or self.high is None or self.low > self.high:
            raise ValueError(f"a {self.type} dimension needs `low` <= `high`")
        return self


class TuneConfig(StrictModel):
    space: dict[str, SearchDimension] = Field(
        default_factory=dict, description="Dotted config path -> search dimension."
    )
    objective: str = Field("nll", description="Validation metric to minimise.")
    multi_objective: bool = Field(
        False, description="Optimise (metric, latency) for a Pareto front."
    )
    budget: LatencyBudget = Field(default_factory=LatencyBudget)
    trials: int = Field(20, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    sampler: Literal["tpe", "random", "nsga2"] = "tpe"
    pruner: Literal["median", "hyperband", "none"] = "median"
    storage: str | None = Field(None, description="Optuna storage URL (default: SQLite file).")
    seed: int = 0
    direction: Literal["minimize", "maximize"] = Field(
        "minimize", description="Whether a larger or smaller objective metric is better."
    )
    study_name: str | None = Field(None, description="Optuna study name (default: experiment).")
    latency_warmup: int = Field(20, ge=0, description="Untimed runs before latency timing.")
    latency_iters: int = Field(300, ge=10, description="Timed runs per latency measurement.")
    heartbeat_interval_s: int = Field(
        10, ge=1, description="RDB storages: seconds between a running trial's heartbeats."
    )
    grace_period_s: int | None = Field(
        None, ge=1, description="Heartbeat silence before a trial is failed (default 2x interval)."
    )
    max_retry: int = Field(2, ge=0, description="Retries of a trial whose worker died.")


class Experiment(StrictModel):
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Experiment name (defaults to the file name); names the run folders.",
    )
    description: str = Field("", description="One line on what the experiment is for.")
    seed: int = Field(0, description="Seed for data order, initialisation and sampling.")
    data: DataConfig = Field(description="Where the events come from.")
    bars: BarsConfig = Field(default_factory=BarsConfig, description="The bar grid.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="Chronological splits.")
    horizons: list[float] = Field(
        default_factory=lambda: list(DEFAULT_HORIZONS),
        min_length=1,
        description="Forecast horizons in seconds, strictly increasing.",
    )
    model: ModelConfig = Field(description="Feature builders, backbone, discretizer, heads.")
    loss: ComponentSpec = Field(
        default_factory=lambda: ComponentSpec(kind="cross_entropy"),
        description="Training loss (a loss plugin).",
    )
    train: TrainConfig = Field(default_factory=TrainConfig, description="Trainer settings.")
    evaluate: EvaluateConfig = Field(
        default_factory=EvaluateConfig, description="Evaluator settings."
    )
    export: ExportConfig = Field(default_factory=ExportConfig, description="ONNX export.")
    tune: TuneConfig | None = Field(None, description="Optuna study settings (`ash tune`).")

    @field_validator("horizons")
    @classmethod
    def _horizons_increasing(cls, value: list[float]) -> list[float]:
        if any(h <= 0 for h in value) or any(b <= a for a, b in pairwise(value)):
            raise ValueError("horizons must be positive and strictly increasing (seconds)")
        return value
