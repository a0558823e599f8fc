"""Does bf16-mixed training reach the accuracy of fp32? Two short runs, same seed, same data.

    python scripts/bf16_check.py --steps 300 --size 64

Trains the default model with `trainer.precision=32-true` and then `bf16-mixed` on the scene
engine, validates both on the same fixed engine scenes, and prints their metrics side by side
with the time a step took. On a CPU without native bf16 the bf16 run is emulated (slower), but
its numbers still answer whether bf16 arithmetic trains as well.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from maskdepth.training.config import load_config
from maskdepth.training.fit import fit

METRICS = ("val/mask_iou", "val/mask_bf", "val/depth_rmse", "val/depth_absrel", "val/depth_fg_rmse", "val/loss")


def run(precision: str, steps: int, size: int, batch_size: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(None, [
            f"data.sizes=[{size}]", "data.size_steps=[0]", f"data.batch_size={batch_size}",
            f"trainer.max_steps={steps}", f"trainer.val_every={steps}", "data.val_count=128",
            f"data.val_size={size}", "trainer.checkpoint_every=1000000",
            f"trainer.precision={precision}"])
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            module = fit(config, folder, profile=True)
        seconds = time.perf_counter() - start
        profile = json.loads((Path(folder) / "profile.json").read_text())
    found = module.trainer.callback_metrics
    metrics = {name: float(found[name]) for name in METRICS if name in found}
    return {"precision": precision, "step_ms": profile["step_ms"], "seconds": seconds, **metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = [run(p, args.steps, args.size, args.batch_size) for p in ("32-true", "bf16-mixed")]
    keys = [k for k in results[0] if k != "precision"]
    print(f"{'':20s}" + "".join(f"{r['precision']:>14s}" for r in results))
    for key in keys:
        print(f"{key:20s}" + "".join(f"{r.get(key, float('nan')):14.4f}" for r in results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
