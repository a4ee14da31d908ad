#!/usr/bin/env bash
# Installs everything ash needs into a project-local virtual environment (.venv):
# the ash package, its dev tools, every first-party plugin under plugins/, and the Rust runtime.
# Idempotent and quick when nothing changed (uv's cache survives between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
    log "installing uv from PyPI"
    python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

PYTHON=${ASH_PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $PYTHON"
    "$UV" venv --quiet --python "$PYTHON" .venv
fi

log "installing ash, dev tools and first-party plugins"
plugin_args=()
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && plugin_args+=(-e "$plugin")
done
"$UV" pip install --quiet --python .venv/bin/python -e ".[dev]" "${plugin_args[@]}"

if [ -f inference-rs/Cargo.toml ]; then
    if ! command -v cargo >/dev/null 2>&1; then
        echo "setup: cargo not found; install Rust (rustup) to build inference-rs" >&2
        exit 1
    fi
    log "building the Rust runtime (inference-rs)"
    cargo build --quiet --release --manifest-path inference-rs/Cargo.toml
fi
log "ready: .venv/bin/ash"
