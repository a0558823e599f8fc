#!/usr/bin/env bash
# Regenerate every figure that README.md and docs/ quote, on this machine, into one folder:
#   bash scripts/regenerate_figures.sh [OUT]          (default figures/; about 45 minutes on 2 cores)
# with the shared evaluation data beside the repository (../shared: realdev, realvideo,
# realdepth, photos). Each figure in the docs names the command below that produced it.
#
# Which figures depend on the CPU: every speed (images/s, frames/s, samples/s, ms) moves with
# the CPU model, its vector width (AVX2 or AVX-512; the default video command measured 39.5
# frames/s at 720p on one 2-core AMD EPYC and 49.9 on another with AVX-512) and whatever else
# runs. Quality figures (IoU, F, delta1, AbsRel, rank) do not: they are the same to the
# third decimal on any x86-64 CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-figures}"
shared="${SHARED:-../shared}"
model="${MODEL:-small}"
mkdir -p "$out"

# The machine, written beside the figures.
python - > "$out/machine.txt" <<'PY'
from maskdepth.bench.rates import machine
print(machine())
PY

# Speeds (CPU-dependent): the whole benchmark report, the video targets included.
maskdepth bench all --out "$out/BENCHMARKS.md" --photos "$shared/photos"

# Quality (CPU-independent): realdev on the product path and bare (--raw), real footage,
# real RGB-D frames with the depth baselines, the demo's engine scenes.
sets=("$shared"/realdev/{clean,noisy,light,shift,shadow,room})
maskdepth evaluate --checkpoint "$model" --data "${sets[@]}" --baselines --json "$out/realdev.json" > "$out/realdev.txt"
maskdepth evaluate --checkpoint "$model" --data "${sets[@]}" --raw --json "$out/realdev-raw.json" > "$out/realdev-raw.txt"
maskdepth evaluate --checkpoint "$model" --data "$shared/realvideo" --baselines --json "$out/realvideo.json" > "$out/realvideo.txt"
maskdepth evaluate --checkpoint "$model" --data "$shared/realvideo" --raw --json "$out/realvideo-raw.json" > "$out/realvideo-raw.txt"
maskdepth evaluate --checkpoint "$model" --data "$shared/realdepth" --baselines --json "$out/realdepth.json" \
    --save-predictions "$out/realdepth-predictions" > "$out/realdepth.txt"
# The scene prior (docs/scene-prior.md): the network alone on real RGB-D frames and rendered
# rooms, and engine scenes with their exact empty-scene depth (the RGB-D case).
maskdepth evaluate --checkpoint "$model" --data "$shared/realdepth" "$shared/realdev/room" \
    --scene-depth-model none --json "$out/network-alone.json" > "$out/network-alone.txt"
maskdepth evaluate --checkpoint "$model" --engine-count 256 --background-depth engine \
    --json "$out/engine-exact-prior.json" > "$out/engine-exact-prior.txt"
maskdepth demo --checkpoint "$model" --out "$out/demo" > "$out/demo.txt"
for variant in fast lite0 original; do
    maskdepth summary --variant "$variant" --size 160 > "$out/summary-$variant.txt"
done
echo "figures in $out (machine: $(cat "$out/machine.txt"))"
