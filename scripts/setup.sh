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

# ASH_VENV: where to install (default .venv; scripts/test.sh uses .venv-pyX.Y for other Pythons).
# ASH_PYTHON: the interpreter (default python3.11, else python3). ASH_GPU=1: onnxruntime-gpu.
VENV=${ASH_VENV:-.venv}
PYTHON=${ASH_PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $PYTHON"
    # --seed: pip inside the venv, so `pip install -e plugins/...` works as the README says.
    "$UV" venv --quiet --seed --python "$PYTHON" "$VENV"
elif ! "$VENV/bin/python" -c "import pip" >/dev/null 2>&1; then
    # A venv made before --seed: give it pip too, rather than recreating it.
    log "adding pip to $VENV"
    "$UV" pip install --quiet --python "$VENV/bin/python" pip
fi

if [ "${ASH_GPU:-0}" = 1 ]; then
    extras="dev,gpu" ort_want=onnxruntime-gpu ort_other=onnxruntime
else
    extras="dev" ort_want=onnxruntime ort_other=onnxruntime-gpu
fi
log "installing ash[$extras], dev tools and first-party plugins into $VENV"
plugin_args=()
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && plugin_args+=(-e "$plugin")
done
"$UV" pip install --quiet --python "$VENV/bin/python" -e ".[$extras]" "${plugin_args[@]}"
# Both ONNX Runtime wheels ship the same `onnxruntime` package: keep exactly one of them.
if "$UV" pip show --quiet --python "$VENV/bin/python" "$ort_other" >/dev/null 2>&1; then
    log "keeping $ort_want only: removing $ort_other, reinstalling $ort_want"
    "$UV" pip uninstall --quiet --python "$VENV/bin/python" "$ort_other"
    "$UV" pip install --quiet --python "$VENV/bin/python" --reinstall-package "$ort_want" "$ort_want"
fi
[ -n "${ASH_SKIP_RUST:-}" ] && { log "ready: $VENV/bin/ash (Rust build skipped)"; exit 0; }

if [ -f inference-rs/Cargo.toml ]; then
    if ! command -v cargo >/dev/null 2>&1; then
        echo "setup: cargo not found; install Rust (rustup) to build inference-rs" >&2
        exit 1
    fi
    log "building the Rust runtime (inference-rs)"
    cargo build --quiet --release --manifest-path inference-rs/Cargo.toml
fi
log "ready: $VENV/bin/ash"
