#!/usr/bin/env bash
# Every check the project has: lint, types, Python tests, Rust tests. Set-up runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check src tests plugins
echo "== ruff format"; ruff format --check src tests plugins
echo "== mypy (strict: src/ash and the template plugin)"; mypy
echo "== import-linter (layers of docs/architecture.md, no cycles)"; lint-imports
if [ -f inference-rs/Cargo.toml ]; then
    ORT_DYLIB_PATH=$(python -m ash.runtime_lib)
    export ORT_DYLIB_PATH
    echo "== cargo clippy"; cargo clippy --quiet --release --manifest-path inference-rs/Cargo.toml --all-targets -- -D warnings
    echo "== cargo test"; cargo test --release --manifest-path inference-rs/Cargo.toml
fi
echo "== pytest"
workers=${ASH_TEST_WORKERS:-2}
pytest -n "$workers" --dist loadgroup "$@"
