"""The names of the files in a run folder (and an ensemble folder). Bottom layer and import-free,
so code that only needs a name (``ash replay``'s session lookup) need not load torch through
:mod:`ash.runs`."""

from __future__ import annotations

CONFIG_FILE = "config.yaml"
PLUGINS_FILE = "plugins.json"
META_FILE = "meta.json"
METRICS_FILE = "metrics.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
REPORT_FILE = "report.md"
CHECKPOINTS = "checkpoints"
ENSEMBLE_FILE = "ensemble.json"
