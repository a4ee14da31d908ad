"""Run ``ash train`` in a subprocess (or under torchrun) with the synthetic source registered.

Usage: python tests/train/cli_entry.py EXPERIMENT.yaml [ash train options...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import typer

from ash.cli.train import app
from tests.train.helpers import ensure_synthetic_registered

if __name__ == "__main__":
    ensure_synthetic_registered()
    typer.main.get_command(app)(sys.argv[1:], standalone_mode=True)
