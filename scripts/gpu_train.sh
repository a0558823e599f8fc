#!/usr/bin/env bash
# Train the large model on one GPU for a fixed wall time (configs/gpu.yaml) and write what comes
# back to OUT: the weights (fp16, split into parts under 15 MiB: join them with
# `cat OUT/model.safetensors.part-* > model.safetensors`), the training log, the throughput
# (images/s), the resolved config and the GPU test log.
#   bash scripts/gpu_prepare.sh              # here, first: wheels and photos to carry
#   bash scripts/gpu_train.sh "$OUT"         # on the GPU machine, from the repository root
#   bash scripts/gpu_train.sh /tmp/dry --dry-run   # the same path on the CPU for 3 steps (CI)
# Environment: GPU_SECONDS (the whole script's budget, default 540, inside the device's 600 s a
# command: training gets what installing and the GPU tests leave, less 75 s for start-up and
# saving; GPU_MINUTES sets the training minutes directly instead), GPU_INIT (weights to continue from; default
# .gpu/init.safetensors when present, else the shipped large model when present, else scratch),
# GPU_RUN (the run folder; default runs/gpu-DATE).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/gpu_train.sh OUT [--dry-run]}"
dry_run=false
[ "${2:-}" = "--dry-run" ] && dry_run=true
mkdir -p "$out"
log() { echo "gpu_train: $*" | tee -a "$out/gpu_train.log"; }
started=$(date +%s)

# 1. The dependencies the machine lacks, from the carried wheels (scripts/gpu_prepare.sh);
#    maskdepth itself runs from the working tree, which travels with every call (always current).
# (Each check looks modules up without importing them: an import of torch costs seconds.)
has() { python3 -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in sys.argv[1:]))" "$@"; }
if ! has kornia 2> /dev/null && ls .whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/maskdepth-site .whl/*.whl
    export PYTHONPATH=/tmp/maskdepth-site${PYTHONPATH:+:$PYTHONPATH}
    log "installed $(ls .whl | tr '\n' ' ')"
fi
has maskdepth 2> /dev/null || export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
for module in torch kornia lightning safetensors torchvision yaml numba; do
    has "$module" || { log "$module, which training needs, is missing: run scripts/gpu_prepare.sh and carry .whl"; exit 2; }
done
has tensorboard || has tensorboardX || { log "tensorboard is missing: run scripts/gpu_prepare.sh and carry .whl"; exit 2; }

# 2. Photos: carried in .gpu/photos (../shared does not travel), else beside the repository.
photos=.gpu/photos
[ -d "$photos/backgrounds" ] || photos=../shared/photos
sets=()
if [ -d "$photos/backgrounds" ] && [ -d "$photos/foregrounds" ]; then
    sets+=("data.sources=[{kind: photos, weight: 0.5, backgrounds: $photos/backgrounds, foregrounds: $photos/foregrounds}, {kind: engine, weight: 0.5, foregrounds: $photos/foregrounds, textures: $photos/backgrounds}]")
else
    log "no training photos found (.gpu/photos or ../shared/photos): engine scenes only"
    sets+=("data.sources=[{kind: engine, weight: 1.0}]")
fi

init="${GPU_INIT:-}"
if [ -z "$init" ] && [ -f .gpu/init.safetensors ]; then init=.gpu/init.safetensors; fi
if [ -z "$init" ] && python3 -c "from maskdepth.models.zoo import resolve_model; resolve_model('large')" 2>/dev/null; then
    init=large
fi
init_args=()
if [ -n "$init" ]; then init_args=(--init "$init"); log "continuing from $init"; fi

if $dry_run; then
    sets+=("trainer.accelerator=cpu" "trainer.precision=32-true" "data.render_device=torch-cpu"
           "data.batch_size=4" "data.sizes=[64]" "data.val_count=8" "data.val_size=64"
           "trainer.max_steps=3" "trainer.max_minutes=0" "trainer.val_every=3"
           "trainer.checkpoint_every=3" "trainer.image_every=0" "trainer.log_every=1")
else
    nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
    # The GPU checks first (about half a minute); their failure is reported, not fatal.
    timeout 90 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py > "$out/gpu_tests.log" 2>&1 \
        && log "GPU tests passed" || log "GPU tests FAILED: see gpu_tests.log"
    left=$(( ${GPU_SECONDS:-540} - ($(date +%s) - started) - 75 ))
    minutes=${GPU_MINUTES:-$(python3 -c "print(round(max(1.0, $left / 60), 2))")}
    sets+=("trainer.max_minutes=$minutes")
    log "training for $minutes minutes"
fi

# 3. Train.
run="${GPU_RUN:-runs/gpu-$(date -u +%Y%m%d-%H%M%S)}"
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1 || true)
log "training into $run (${device:-CPU})"
# A hard stop a little after the budget (SIGINT: Lightning stops cleanly; the last checkpoint
# is returned below).
stop_after=$(python3 -c "print(int(${minutes:-60} * 60 + 120))")
set +e
PYTHONUNBUFFERED=1 timeout -s INT "$stop_after" python3 -m maskdepth train --config configs/gpu.yaml \
    --run "$run" ${init_args[@]+"${init_args[@]}"} --set "${sets[@]}" > "$out/train.log" 2>&1
status=$?
set -e
tail -n 5 "$out/train.log" | tr '\r' '\n' | tail -n 5 >> "$out/gpu_train.log"

# 4. What comes back: fp16 weights in parts, throughput, config (the last checkpoint if the run
#    stopped early, so no minute of training is lost).
weights="$run/model.safetensors"
[ -f "$weights" ] || weights="$run/checkpoints/last.ckpt"
if [ -f "$weights" ]; then
    if python3 - "$weights" "$out/model.safetensors" <<'PY'
import sys
from maskdepth.models.weights import save_model
from maskdepth.runtime.loader import load_torch_model
loaded = load_torch_model(sys.argv[1])
save_model(loaded.network, sys.argv[2], half=True, lineage=loaded.lineage)
PY
    then
        split -b 15m -d "$out/model.safetensors" "$out/model.safetensors.part-"
        rm "$out/model.safetensors"
    else
        log "could not convert $weights to fp16 safetensors"
    fi
fi
for file in throughput.json config.yaml; do
    [ -f "$run/$file" ] && cp "$run/$file" "$out/$file"
done
log "exit $status after $(( $(date +%s) - started )) s; $(cat "$out/throughput.json" 2>/dev/null | tr -d '\n ' || echo 'no throughput')"
exit $status
