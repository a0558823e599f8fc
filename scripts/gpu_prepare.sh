#!/usr/bin/env bash
# Prepare what scripts/gpu_train.sh needs on a lent GPU machine, which has PyTorch, Lightning,
# numba and OpenCV but no internet and not every dependency of maskdepth. Run here, from the
# repository root, before the device call; both folders are git-ignored (.git/info/exclude):
#   .whl/          the wheels of the dependencies missing there (kornia, kornia-rs), for
#                  CPython 3.12 on x86-64 (maskdepth itself runs from the working tree, which
#                  travels with every call, so it is never out of date)
#   .gpu/photos/   the training photos (../shared/photos: backgrounds and cut-outs)
#   .gpu/init.safetensors   optional: weights a run continues from (e.g. an earlier GPU run's)
# Then call the device tool's run with carry [".whl", ".gpu"] and the command
#   bash scripts/gpu_train.sh "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
photos="${1:-../shared/photos}"

for ignored in /.whl/ /.gpu/; do
    grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
done
rm -rf .whl && mkdir -p .whl .gpu
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "kornia==0.9.0" "kornia-rs==0.2.0"
if [ ! -d "$photos/backgrounds" ] || [ ! -d "$photos/foregrounds" ]; then
    echo "gpu_prepare: $photos must hold backgrounds/ and foregrounds/ (the training photos)" >&2
    exit 2
fi
rm -rf .gpu/photos && cp -r "$photos" .gpu/photos
du -sh .whl .gpu | sed 's/^/gpu_prepare: /'
ls .whl | sed 's/^/gpu_prepare: wheel /'
