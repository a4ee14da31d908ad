#!/usr/bin/env bash
# Every check the project has: lint, types, Python tests, Rust tests. Set-up runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'echo "== make test took $SECONDS s"' EXIT
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
echo "== pytest ($(python --version))"
workers=${ASH_TEST_WORKERS:-2}
started=$SECONDS
pytest -n "$workers" --dist loadgroup "$@"
echo "== pytest ($(python --version)) took $((SECONDS - started)) s"

# The suite again on each newer Python in ASH_EXTRA_PYTHONS (default 3.12; "" skips), each in its
# own venv beside .venv; the Rust binary built above is shared.
# A working pythonX.Y: on PATH, else in pyenv's versions (a pyenv shim for a version that is
# installed but not selected exists on PATH and fails when run).
find_python() {
    local candidate
    for candidate in "$(command -v "python$1" 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1"*/bin/"python$1"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c "" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

for version in ${ASH_EXTRA_PYTHONS-3.12}; do
    interpreter=$(find_python "$version" || true)
    if [ -z "$interpreter" ]; then
        echo "test.sh: python$version is not on PATH; install it (pyenv install $version) or set ASH_EXTRA_PYTHONS" >&2
        exit 1
    fi
    venv=".venv-py$version"
    ASH_VENV="$venv" ASH_PYTHON="$interpreter" ASH_SKIP_RUST=1 scripts/setup.sh
    echo "== pytest ($("$venv/bin/python" --version))"
    started=$SECONDS
    PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pytest -n "$workers" --dist loadgroup "$@"
    echo "== pytest ($("$venv/bin/python" --version)) took $((SECONDS - started)) s"
done
