"""Score models on change-detection sequences in the CDnet-2014 layout (e.g. ../shared/realvideo)
with CDnet's measures, each frame predicted against the sequence's background.png through the
Python API (alignment and resizing as users get them), next to absdiff + Otsu.

    python scripts/cdnet_eval.py ../shared/realvideo --checkpoint small runs/x/model.safetensors
    python scripts/cdnet_eval.py ../shared/realvideo --checkpoint small --json scores.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from maskdepth import MaskDepth
from maskdepth.evaluation.baselines import absdiff_otsu
from maskdepth.evaluation.cdnet import cdnet_measures, find_sequences, score_sequence
from maskdepth.io.images import read_rgb


def predictor(model: MaskDepth | None, background: np.ndarray):
    """frame path -> (H, W) bool: the model's mask, or absdiff + Otsu's when model is None."""
    if model is None:
        return lambda frame: absdiff_otsu(read_rgb(frame), background)
    return lambda frame: model.predict(read_rgb(frame), background).mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="a CDnet sequence folder or a folder of them")
    parser.add_argument("--checkpoint", nargs="+", default=["small"], help="models to score")
    parser.add_argument("--json", type=Path, help="also write the measures here")
    args = parser.parse_args()
    sequences = find_sequences(args.root)
    missing = [s.name for s in sequences if s.background is None]
    if missing:
        raise SystemExit(f"cdnet_eval: {', '.join(missing)} lack background.png (an empty view of "
                         f"the scene, which maskdepth needs); add one or leave them out")
    methods = {"absdiff+otsu": None, **{str(c): MaskDepth.load(c) for c in args.checkpoint}}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, model in methods.items():
        results[name] = {}
        for sequence in sequences:
            predict = predictor(model, read_rgb(sequence.background))
            results[name][sequence.name] = cdnet_measures(score_sequence(sequence, predict))
        results[name]["mean"] = {k: float(np.mean([r[k] for r in results[name].values()]))
                                 for k in results[name][sequences[0].name]}
    names = [s.name for s in sequences] + ["mean"]
    print(f"F-measure (pooled per sequence)\n{'method':<40}" + "".join(f"{n:>12}" for n in names))
    for method, rows in results.items():
        print(f"{method[-40:]:<40}" + "".join(f"{rows[n]['f_measure']:>12.3f}" for n in names))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
