"""A minimal third-party model family: multinomial logistic regression on the design rows.

Per horizon, bucket logits ``(x - mean) / std @ W + b`` correct the prior's log-probabilities
(``x``: the last step's features and their summaries over the window, see
``ash.components.families.design``). Fitted full-batch by L-BFGS with an L2 penalty, keeping the
weights of the round with the best validation NLL; exported as ``Sub``/``Div``/``MatMul``/``Add``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper
from pydantic import Field

from ash.interfaces import ComponentConfig, Family, FamilyData


class SoftmaxRegressionConfig(ComponentConfig):
    l2: float = Field(1e-3, ge=0, description="L2 penalty on the weights (per row).")
    rounds: int = Field(20, ge=1, description="L-BFGS rounds; validation NLL after each.")
    iterations: int = Field(10, ge=1, description="L-BFGS iterations per round.")


class SoftmaxRegression(Family[SoftmaxRegressionConfig]):
    """Multinomial logistic regression over all buckets, per horizon, correcting the prior."""

    name = "softmax_regression"

    def __init__(self, config: SoftmaxRegressionConfig, n_horizons: int, n_buckets: int) -> None:
        super().__init__(config, n_horizons, n_buckets)
        self.params: dict[str, np.ndarray] = {}
        self._mean = torch.zeros(0, dtype=torch.float64)
        self._std = torch.ones(0, dtype=torch.float64)

    def _nll(self, data: FamilyData, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x = (torch.from_numpy(data.x).double() - self._mean) / self._std
        logits = (x @ w + b).view(len(x), self.n_horizons, self.n_buckets)
        logp = torch.log_softmax(torch.from_numpy(data.base).double() + logits, dim=-1)
        y = torch.from_numpy(data.y)
        mask = y >= 0
        picked = logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return -(picked * mask).sum() / mask.sum().clamp(min=1)

    def fit(self, train: FamilyData, val: FamilyData) -> dict[str, float]:
        x = torch.from_numpy(train.x).double()
        self._mean = x.mean(0)
        self._std = x.std(0).clamp(min=1e-6)
        d, out = x.shape[1], self.n_horizons * self.n_buckets
        w = torch.zeros(d, out, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(out, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [w, b], max_iter=self.config.iterations, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = self._nll(train, w, b) + self.config.l2 * w.square().sum()
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        best, best_round = float("inf"), 0
        for r in range(self.config.rounds):
            opt.step(closure)  # type: ignore[no-untyped-call]
            with torch.no_grad():
                score = float(self._nll(val, w, b))
            if score < best:
                best, best_round = score, r + 1
                self.params = {
                    "mean": self._mean.numpy().astype(np.float32),
                    "std": self._std.numpy().astype(np.float32),
                    "w": w.detach().numpy().astype(np.float32),
                    "b": b.detach().numpy().astype(np.float32),
                }
        return {"best_round": float(best_round), "val_nll": best}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.params:
            raise RuntimeError("softmax_regression is not fitted")
        p = {k: torch.from_numpy(v).to(x.device) for k, v in self.params.items()}
        z = ((x.float() - p["mean"]) / p["std"]) @ p["w"] + p["b"]
        return z.view(len(x), self.n_horizons, self.n_buckets)

    def state_bytes(self) -> bytes:
        if not self.params:
            return b""
        buffer = io.BytesIO()
        p = self.params
        np.savez(buffer, mean=p["mean"], std=p["std"], w=p["w"], b=p["b"])
        return buffer.getvalue()

    def load_state_bytes(self, state: bytes) -> None:
        if not state:
            self.params = {}
            return
        with np.load(io.BytesIO(state)) as data:
            self.params = {k: data[k] for k in ("mean", "std", "w", "b")}

    def to_onnx(self, n_inputs: int, opset: int) -> Any:
        if not self.params:
            raise RuntimeError("softmax_regression is not fitted")
        inits = [numpy_helper.from_array(v, f"sr_{k}") for k, v in self.params.items()]
        shape = np.array([-1, self.n_horizons, self.n_buckets], dtype=np.int64)
        inits.append(numpy_helper.from_array(shape, "sr_shape"))
        nodes = [
            helper.make_node("Sub", ["x", "sr_mean"], ["sr_centred"]),
            helper.make_node("Div", ["sr_centred", "sr_std"], ["sr_scaled"]),
            helper.make_node("MatMul", ["sr_scaled", "sr_w"], ["sr_product"]),
            helper.make_node("Add", ["sr_product", "sr_b"], ["sr_flat"]),
            helper.make_node("Reshape", ["sr_flat", "sr_shape"], ["head"]),
        ]
        graph = helper.make_graph(
            nodes,
            "softmax_regression",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_inputs])],
            [helper.make_tensor_value_info("head", TensorProto.FLOAT, None)],
            inits,
        )
        # IR 8 (ONNX 1.10+) loads in every ONNX Runtime ash supports; onnx's default is newer.
        opsets = [helper.make_opsetid("", opset)]
        return helper.make_model(graph, opset_imports=opsets, ir_version=8)
