#!/usr/bin/env bash
# One-command GPU check (docs/training.md#gpu): the GPU tests, a short `ash train` + evaluate +
# export on CUDA, and the training benchmark (CPU and GPU rows), with their tables printed.
#
#   scripts/gpu_check.sh            # from the repo root or anywhere; uses .venv if present
#   PYTHON=/usr/bin/python3 scripts/gpu_check.sh   # an environment where ash is NOT installed:
#                                                  # the repo's src/ goes on PYTHONPATH
#
# Exit status: 0 when every part passed (parts that need the ONNX Runtime CUDA provider are
# skipped with a message when it is missing); 1 when a part failed; 2 when no CUDA GPU is visible
# to PyTorch — nothing was checked, so this is never reported as a pass.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PY="$REPO/.venv/bin/python"; else PY="python3"; fi
fi
# Works installed or not: the repo's own sources come first on the path.
export PYTHONPATH="$REPO/src:$REPO${PYTHONPATH:+:$PYTHONPATH}"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/ash-gpu-check.XXXXXX")"
export ASH_EXPERIMENTS="${ASH_EXPERIMENTS:-$OUT/experiments}"

say() { printf '\n== %s\n' "$*"; }

say "environment"
if ! "$PY" -c "import ash, torch, onnxruntime" 2>"$OUT/import.err"; then
  echo "gpu_check: cannot import ash/torch/onnxruntime with $PY:"
  cat "$OUT/import.err"
  exit 1
fi
"$PY" - <<'EOF'
import ash, onnxruntime as ort, torch
print(f"python ash from {ash.__file__}")
print(f"torch {torch.__version__} (CUDA build {torch.version.cuda}), onnxruntime {ort.__version__}")
print(f"ORT providers: {', '.join(ort.get_available_providers())}")
EOF
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo
  echo "gpu_check: NO CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False)."
  echo "gpu_check: nothing was checked; run this on a machine with an NVIDIA GPU. Exit 2."
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L
"$PY" -c "import torch; print('GPU:', torch.cuda.get_device_name(), '| bf16:', torch.cuda.is_bf16_supported())"

ORT_CUDA=1
if ! "$PY" -c "import sys, onnxruntime as o; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())"; then
  ORT_CUDA=0
  echo "ONNX Runtime has no CUDAExecutionProvider here: its GPU parts are SKIPPED (CPU export only)."
fi

declare -A STATUS
run_part() {  # name, command...
  local name="$1"; shift
  say "$name"
  echo "\$ $*"
  if "$@"; then STATUS[$name]=ok; else STATUS[$name]="FAILED ($?)"; fi
}

DESELECT=()
if [[ "$ORT_CUDA" == 0 ]]; then DESELECT=(-k "not onnxruntime_cuda"); fi
run_part "GPU tests (-m gpu)" "$PY" -m pytest -q -p no:cacheprovider -m gpu "${DESELECT[@]}" tests

RUN="$OUT/run"
run_part "ash train on CUDA (short)" "$PY" -m ash.cli.main train "$REPO/configs/default.yaml" \
  --run-dir "$RUN" --no-progress \
  --set train.device=cuda --set "data.source={kind: synthetic, n_days: 6}" \
  --set train.epochs=2 --set train.max_train_samples=20000
if [[ -f "$RUN/meta.json" ]]; then
  "$PY" - "$RUN" <<'EOF'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
meta = json.loads((run / "meta.json").read_text())
print(f"\nmeta.json: device {meta['device']} ({meta.get('device_name')}), precision "
      f"{meta['precision']}, feature cache {meta.get('feature_cache')}")
print("| epoch | samples/s |\n|---:|---:|")
for row in meta.get("samples_per_s", []):
    print(f"| {row['epoch']} | {row['samples_per_s']:,.0f} |")
metrics = run / "metrics.json"
if metrics.is_file():
    test = json.loads(metrics.read_text()).get("test", {})
    print("\ntest metrics:", {k: round(v, 4) for k, v in test.items() if isinstance(v, float)}
          if isinstance(test, dict) else test)
EOF
fi
if [[ "${STATUS["ash train on CUDA (short)"]}" == ok ]]; then
  run_part "ash export (ONNX, parity checked)" "$PY" -m ash.cli.main export "$RUN"
fi

run_part "training benchmark (trainer vs bare loop)" "$PY" -m ash.bench.training --steps 10 --rounds 3

say "summary"
failed=0
for name in "${!STATUS[@]}"; do
  printf '%-55s %s\n' "$name" "${STATUS[$name]}"
  [[ "${STATUS[$name]}" == ok ]] || failed=1
done
[[ "$ORT_CUDA" == 1 ]] || echo "ONNX Runtime CUDA provider: missing (its checks were skipped)"
echo "outputs kept in $OUT"
exit "$failed"
