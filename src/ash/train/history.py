"""Training history on disk: JSON, CSV and a loss-curve PNG (one row per epoch)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ash import runs


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    runs.write_json(run_dir / runs.HISTORY_JSON, history)
    if not history:
        return
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(run_dir / runs.HISTORY_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    plot_loss_curve(history, run_dir / runs.PLOTS / "loss_curve.png")


def plot_loss_curve(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [row["train_loss"] for row in history], "o-", label="train loss")
    ax.plot(epochs, [row["val_nll"] for row in history], "s-", label="validation NLL")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per horizon")
    ax.set_title("Training history")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
