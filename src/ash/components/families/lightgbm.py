"""LightGBM as a fitted family: per horizon, a multiclass booster over coarse return classes that
corrects the prior (docs/families.md).

Why coarse classes: a booster grows one tree per class and round, so 101 buckets × 8 horizons
would be ~800 trees a round — slow to fit on a CPU and slow to serve. The buckets of each horizon
are grouped into ``classes`` contiguous classes of about equal training mass; the booster
predicts class scores starting from the prior's class masses (``init_score``), and a bucket's
logit is the prior's log-probability plus its class's score. That is exactly the model "the prior
says how mass spreads *within* a class, the trees move mass *between* classes": the softmax over
buckets equals P(class) · P_prior(bucket | class). Without a prior the base is uniform.

Export: onnxmltools converts each booster to an ``ai.onnx.ml`` ``TreeEnsembleClassifier``; its
``post_transform`` is set to ``NONE`` so it outputs the raw class scores LightGBM's
``predict(raw_score=True)`` gives, and a ``Gather`` expands classes to the bucket grid.
"""

from __future__ import annotations

import json
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from pydantic import Field

from ash.interfaces import ComponentConfig, Family, FamilyData

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3
IR_VERSION = 8  # what ONNX Runtime 1.22 loads (onnx's own default is newer)
CONVERTER_OPSET = 15  # the newest opset onnxmltools' LightGBM converter writes


class LightGBMConfig(ComponentConfig):
    classes: int = Field(
        10, ge=2, le=101, description="Coarse return classes per horizon (trees per round)."
    )
    num_leaves: int = Field(15, ge=2, description="Leaves per tree.")
    learning_rate: float = Field(0.05, gt=0, le=1, description="Shrinkage per round.")
    max_rounds: int = Field(300, ge=1, description="Boosting rounds before early stopping.")
    early_stopping: int = Field(
        20, ge=1, description="Stop after this many rounds without a better validation NLL."
    )
    min_data_in_leaf: int = Field(200, ge=1, description="Fewest training windows per leaf.")
    feature_fraction: float = Field(0.8, gt=0, le=1, description="Columns sampled per tree.")
    lambda_l2: float = Field(1.0, ge=0, description="L2 penalty on leaf values.")
    threads: int = Field(1, ge=1, description="LightGBM threads (the machine is shared).")
    seed: int = Field(0, description="Seed of column sampling.")


def class_map(ids: np.ndarray, n_buckets: int, classes: int) -> np.ndarray:
    """Bucket → class (``[K]`` int64): contiguous groups of about equal mass of ``ids``,
    renumbered 0..C-1 without gaps (every class holds at least one bucket)."""
    counts = np.bincount(ids[ids >= 0], minlength=n_buckets).astype(np.float64) + 0.5
    cdf = np.cumsum(counts) / counts.sum()
    mid = cdf - counts / (2 * counts.sum())
    raw = np.minimum((mid * classes).astype(np.int64), classes - 1)
    _, dense = np.unique(raw, return_inverse=True)
    return dense.astype(np.int64)


def class_init(base: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """The prior's log mass of each class, ``[N, C]``, from its bucket log-probs ``[N, K]``."""
    p = np.exp(base - base.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(int(mapping.max()) + 1)[mapping]  # [K, C]
    return np.asarray(np.log(np.maximum(p @ onehot, 1e-12)))


def _splits(node: dict[str, Any], out: dict[tuple[int, float], set[float]]) -> None:
    if "split_feature" not in node:
        return
    t = float(node["threshold"])
    out.setdefault((int(node["split_feature"]), float(np.float32(t))), set()).add(t)
    _splits(node["left_child"], out)
    _splits(node["right_child"], out)


def round_down(t: float) -> float:
    """The largest float32 ≤ ``t``: for a float32 ``x``, ``x <= t`` ⟺ ``x <= round_down(t)``."""
    f = np.float32(t)
    return float(f if float(f) <= t else np.nextafter(f, np.float32(-np.inf)))


def exact_thresholds(tree: onnx.NodeProto, booster: lgb.Booster) -> None:
    """Make the ONNX trees route float32 rows exactly as LightGBM does.

    LightGBM compares a row with a double threshold; the converter stores it rounded to the
    *nearest* float32, so a float32 feature equal to that rounding (features computed in float32
    often differ by one ulp) can go the other way. Storing the largest float32 ≤ the threshold
    instead makes ``x <= t`` exact for every float32 ``x``. Thresholds are matched by
    (feature, float32 value); an ambiguous match is left alone (the export's parity check
    would then refuse it).
    """
    splits: dict[tuple[int, float], set[float]] = {}
    for info in booster.dump_model()["tree_info"]:
        _splits(info["tree_structure"], splits)
    attrs = {a.name: a for a in tree.attribute}
    values, features = attrs["nodes_values"].floats, attrs["nodes_featureids"].ints
    for i, (value, feature) in enumerate(zip(list(values), list(features), strict=True)):
        found = splits.get((int(feature), float(np.float32(value))))
        if found and len({round_down(t) for t in found}) == 1:
            values[i] = round_down(next(iter(found)))


class LightGBMFamily(Family[LightGBMConfig]):
    """Per horizon, a LightGBM multiclass booster over coarse classes, correcting the prior."""

    name = "lightgbm"

    def __init__(self, config: LightGBMConfig, n_horizons: int, n_buckets: int) -> None:
        super().__init__(config, n_horizons, n_buckets)
        self.boosters: list[lgb.Booster] = []
        self.maps: list[np.ndarray] = []

    # ------------------------------------------------------------------ fit

    def fit(self, train: FamilyData, val: FamilyData) -> dict[str, float]:
        cfg = self.config
        params = {
            "objective": "multiclass",
            "num_leaves": cfg.num_leaves,
            "learning_rate": cfg.learning_rate,
            "min_data_in_leaf": cfg.min_data_in_leaf,
            "feature_fraction": cfg.feature_fraction,
            "lambda_l2": cfg.lambda_l2,
            "num_threads": cfg.threads,
            "seed": cfg.seed,
            "deterministic": True,
            "verbose": -1,
        }
        boosters, maps, report = [], [], {}
        for h in range(self.n_horizons):
            keep = np.flatnonzero(train.y[:, h] >= 0)
            vkeep = np.flatnonzero(val.y[:, h] >= 0)
            if len(keep) == 0 or len(vkeep) == 0:
                raise ValueError(f"horizon {h}: no training or validation targets to fit on")
            mapping = class_map(train.y[keep, h], self.n_buckets, cfg.classes)
            n_class = int(mapping.max()) + 1
            if n_class < 2:
                raise ValueError(f"horizon {h}: all training targets fall in one class")
            sets: list[lgb.Dataset] = []
            for data, rows, ref in ((train, keep, None), (val, vkeep, "train")):
                init = class_init(data.base[rows, h].astype(np.float64), mapping)
                sets.append(
                    lgb.Dataset(
                        data.x[rows],
                        mapping[data.y[rows, h]],
                        init_score=init.reshape(-1, order="F"),
                        reference=sets[0] if ref else None,
                        free_raw_data=True,
                    )
                )
            booster = lgb.train(
                {**params, "num_class": n_class},
                sets[0],
                num_boost_round=cfg.max_rounds,
                valid_sets=[sets[1]],
                callbacks=[lgb.early_stopping(cfg.early_stopping, verbose=False)],
            )
            best = booster.best_iteration or booster.current_iteration()
            # Keep exactly the rounds that are exported: re-read the trimmed model.
            boosters.append(lgb.Booster(model_str=booster.model_to_string(num_iteration=best)))
            maps.append(mapping)
            report[f"rounds_h{h}"] = float(best)
            report[f"classes_h{h}"] = float(n_class)
        self.boosters, self.maps = boosters, maps
        return report

    def fit_stand_in(self, n_inputs: int, rows: int = 2000, seed: int = 0) -> None:
        """The largest booster this config grows: every round (no early stopping), full trees
        (one row per leaf allowed) on random rows — what tuning times before fitting."""
        cfg = self.config
        self.config = cfg.model_copy(
            update={"early_stopping": cfg.max_rounds + 1, "min_data_in_leaf": 1}
        )
        try:
            super().fit_stand_in(n_inputs, rows, seed)
        finally:
            self.config = cfg

    # -------------------------------------------------------------- predict

    def _check_fitted(self) -> None:
        if len(self.boosters) != self.n_horizons:
            raise RuntimeError("the lightgbm family is not fitted (train the run first)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        rows = x.detach().cpu().numpy().astype(np.float32)
        out = np.empty((len(rows), self.n_horizons, self.n_buckets), dtype=np.float32)
        for h, (booster, mapping) in enumerate(zip(self.boosters, self.maps, strict=True)):
            scores = np.asarray(booster.predict(rows, raw_score=True), dtype=np.float64)
            out[:, h] = scores.reshape(len(rows), -1)[:, mapping]
        return torch.from_numpy(out).to(x.device)

    # ---------------------------------------------------------------- state

    def state_bytes(self) -> bytes:
        if not self.boosters:
            return b""
        state = [
            {"map": m.tolist(), "model": b.model_to_string()}
            for b, m in zip(self.boosters, self.maps, strict=True)
        ]
        return json.dumps(state).encode()

    def load_state_bytes(self, state: bytes) -> None:
        if not state:
            self.boosters, self.maps = [], []
            return
        items = json.loads(state.decode())
        if len(items) != self.n_horizons:
            raise ValueError(
                f"the lightgbm state holds {len(items)} horizons, the model has {self.n_horizons}"
            )
        self.boosters = [lgb.Booster(model_str=item["model"]) for item in items]
        self.maps = [np.asarray(item["map"], dtype=np.int64) for item in items]

    # ----------------------------------------------------------------- ONNX

    def to_onnx(self, n_inputs: int, opset: int) -> Any:
        self._check_fitted()
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        nodes: list[onnx.NodeProto] = []
        inits: list[onnx.TensorProto] = [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "family_axis1")
        ]
        pieces = []
        for h, (booster, mapping) in enumerate(zip(self.boosters, self.maps, strict=True)):
            converted = convert_lightgbm(
                booster,
                initial_types=[("x", FloatTensorType([None, n_inputs]))],
                zipmap=False,
                target_opset=min(opset, CONVERTER_OPSET),
            )
            trees = [n for n in converted.graph.node if n.op_type == "TreeEnsembleClassifier"]
            if len(trees) != 1:
                raise RuntimeError(
                    f"horizon {h}: onnxmltools wrote {len(trees)} TreeEnsembleClassifier nodes"
                )
            tree = trees[0]
            for attr in tree.attribute:
                if attr.name == "post_transform":
                    attr.s = b"NONE"  # raw scores, as predict(raw_score=True)
            exact_thresholds(tree, booster)
            del tree.output[:]
            tree.output.extend([f"family_h{h}_label", f"family_h{h}_scores"])
            tree.name = f"family_h{h}_trees"
            inits.append(numpy_helper.from_array(mapping, f"family_h{h}_map"))
            nodes += [
                tree,
                helper.make_node(
                    "Gather",
                    [f"family_h{h}_scores", f"family_h{h}_map"],
                    [f"family_h{h}_k"],
                    axis=1,
                ),
                helper.make_node(
                    "Unsqueeze", [f"family_h{h}_k", "family_axis1"], [f"family_h{h}_hk"]
                ),
            ]
            pieces.append(f"family_h{h}_hk")
        nodes.append(helper.make_node("Concat", pieces, ["head"], axis=1))
        graph = helper.make_graph(
            nodes,
            "lightgbm_family",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_inputs])],
            [
                helper.make_tensor_value_info(
                    "head", TensorProto.FLOAT, ["batch", self.n_horizons, self.n_buckets]
                )
            ],
            inits,
        )
        return helper.make_model(
            graph,
            opset_imports=[
                helper.make_opsetid("", opset),
                helper.make_opsetid(ML_DOMAIN, ML_OPSET),
            ],
            ir_version=IR_VERSION,
        )
