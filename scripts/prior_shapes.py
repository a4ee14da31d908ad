"""Which prior shape fits real data: each ``model.prior.point_mass`` fitted on training windows and
scored, untrained, on the train, validation and test spans (docs/results.md, "SPY, real data").

    python scripts/prior_shapes.py [CONFIG]          # default configs/spy.yaml

Per shape it prints the NLL of the prior alone and of the untrained model (the prior plus the
head's fitted output bias, what training starts from), next to per-symbol-free climatology (bucket
frequencies of the training windows), and each split's share of zero 1-bar and 5-bar returns per
day. Choose on the validation rows only: the test rows are there to read afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ash.components.discretizers.base import bucketize
from ash.config.resolve import load_experiment
from ash.data.windows import gather_windows, subsample
from ash.evaluate.baselines import climatology
from ash.pipeline import PreparedData, load_bar_data, prepare_data
from ash.prior import prior_summary
from ash.runs import make_model
from ash.train.preparation import fit_data_dependent

SAMPLES = 4000  # strided windows scored per split
SHAPES = ("none", "constant", "zero_fraction")


def nll(logp: torch.Tensor, ids: torch.Tensor) -> list[float]:
    ok = ids >= 0
    picked = logp.gather(-1, ids.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (-(picked * ok).sum(0) / ok.sum(0).clamp(min=1)).tolist()  # type: ignore[no-any-return]


def zero_shares(prepared: PreparedData) -> None:
    day = pd.to_datetime(prepared.bars.ts_ns).date
    r = prepared.returns_bps
    for name, ends in prepared.samples.as_dict().items():
        print(f"{name}: {len(ends)} windows, 1 s zero share {np.mean(r[ends, 0] == 0):.3f}")
    for d in sorted(set(day)):
        sel = day == d
        one, five = np.nanmean(r[sel, 0] == 0), np.nanmean(r[sel, 1] == 0)
        print(f"{d}: zero share 1 s {one:.3f}, 5 s {five:.3f}")


def main(config: str) -> None:
    torch.set_num_threads(1)
    root = Path("experiments")
    rows: list[dict[str, object]] = []
    clim: torch.Tensor | None = None
    for shape in SHAPES:
        resolved = load_experiment(config, [f"model.prior.point_mass={shape}"])
        bar_data = load_bar_data(resolved, root)
        model = make_model(resolved, bar_data.columns)
        prepared = prepare_data(resolved, model.window, root, bar_data=bar_data)
        fit_data_dependent(model, prepared, resolved.experiment.seed)
        model.eval()
        horizons = resolved.experiment.horizons
        values = bar_data.values.astype(np.float32)
        if clim is None:
            zero_shares(prepared)
        for split, all_ends in prepared.samples.as_dict().items():
            ends = subsample(all_ends, SAMPLES)
            windows = torch.as_tensor(gather_windows(values, ends, model.window))
            with torch.no_grad():
                edges = model.edges(windows)
                ids = bucketize(torch.as_tensor(prepared.returns_bps[ends]), edges.double())
                head, prior = model.logit_parts(windows, edges)
                assert prior is not None, "the experiment needs model.prior.kind: ewma_gaussian"
                scored = {
                    "prior": torch.log_softmax(prior.double(), -1),
                    "untrained model": torch.log_softmax(model.combine(head, prior).double(), -1),
                }
            if clim is None and split == "train":
                clim = torch.as_tensor(np.log(climatology(ids.numpy(), model.n_buckets)))
            if shape == SHAPES[0] and clim is not None:
                scored["climatology"] = clim.expand(len(ids), -1, -1)
            for what, logp in scored.items():
                label = "-" if what == "climatology" else shape
                row: dict[str, object] = {"shape": label, "split": split, "what": what}
                row.update({f"{h:g} s": v for h, v in zip(horizons, nll(logp, ids), strict=True)})
                rows.append(row)
        print(shape, prior_summary(model.prior))
    table = pd.DataFrame(rows).sort_values(["split", "what", "shape"], kind="stable")
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "configs/spy.yaml")
