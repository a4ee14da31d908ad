"""``ash tune`` as a worker process for the distributed tests: ``python -m tests.tune.worker``."""

from __future__ import annotations

from tests.tune.synthetic_plugin import ensure_synthetic

if __name__ == "__main__":
    ensure_synthetic()
    from ash.cli.tune import app

    app()
