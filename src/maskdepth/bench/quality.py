"""The shipped models' quality on the real evaluation sets, as users get it (what `predict`
writes: background alignment, working size, scene prior), with the classical baselines beside
them: the one table of quality figures, docs/QUALITY.md, that README links to.

    maskdepth bench quality --shared ../shared --out docs/QUALITY.md     (about 15 minutes)

shared: the folder holding realdev/ (clean, noisy, light, shift, shadow, room), realvideo/ and
realdepth/. Quality figures do not depend on the CPU (the same to the third decimal on any
x86-64), so unlike speeds they need no quiet machine.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.evaluation.suite import Request, run_suite

CONDITIONS = ("clean", "noisy", "light", "shift", "shadow", "room")  # realdev's sets
SEQUENCES = ("Board", "CAVIAR1", "CaVignal", "HumanBody2")  # realvideo's, in its order
MASK_BASELINES = ("absdiff", "mog2")
DEPTH_BASELINES = ("constant 2.7 m", "median plane")


def check_shared(shared: Path) -> None:
    """Refuse a --shared folder without the three evaluation sets, naming what is missing."""
    missing = [str(shared / name) for name in (*(f"realdev/{c}" for c in CONDITIONS),
                                               "realvideo", "realdepth")
               if not (shared / name).is_dir()]
    if missing:
        raise UserError(f"--shared {shared}: missing {', '.join(missing)}; give the folder that "
                        f"holds realdev/, realvideo/ and realdepth/")


def measure_quality(shared: Path, models: list[str], progress=print) -> dict:
    """{"models": {name: results}, "baselines": results, "date"}: each results dict holds
    evaluate's rows ("set: method" -> metric -> value) on realdev, realvideo and realdepth."""
    from maskdepth.inference.api import MaskDepth

    check_shared(shared)
    photos = [shared / "realdev" / c for c in CONDITIONS] + [shared / "realdepth"]

    def everything(model, baselines: bool) -> dict:
        request = Request(datasets=photos, videos=[shared / "realvideo"], baselines=baselines)
        return run_suite(model, request)[0]

    measured = {}
    for name in models:
        progress(f"measuring {name} ...")
        measured[name] = everything(MaskDepth.load(name), False)
    progress("measuring the baselines ...")
    return {"models": measured, "baselines": everything(None, True),
            "date": time.strftime("%Y-%m-%d")}


def _cell(rows: dict, row: str, key: str, digits: int = 3) -> str:
    value = rows.get(row, {}).get(key)
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def render_quality(measured: dict, command: str) -> str:
    """docs/QUALITY.md for measure_quality's figures."""
    from maskdepth.inference.profiles import PHOTO, PROFILES, VIDEO

    models, baselines = measured["models"], measured["baselines"]
    methods = [(name, rows, "model") for name, rows in models.items()]
    about = (f"Written by `{command}` on {measured['date']}. Each model as `maskdepth predict` "
             f"runs it by default (background aligned, working size {PROFILES[PHOTO]} px for "
             f"photos and {PROFILES[VIDEO]} for video, the built-in scene prior), beside the "
             "classical baselines (`maskdepth evaluate --baselines`). realdev, realvideo and "
             "realdepth are evaluation sets: nothing was trained or chosen on them. Speeds are "
             "in [BENCHMARKS.md](BENCHMARKS.md).")
    lines = ["# Quality of the shipped models", "", about, "",
             "## Masks on real photos (realdev: real cut-outs over real photos, 160x160)", "",
             "Mask IoU per capture condition; room: the photo-textured rooms.", "",
             "| method | " + " | ".join(CONDITIONS) + " |", "| --- |" + " --- |" * len(CONDITIONS)]
    rows_of = methods + [(b, baselines, b) for b in MASK_BASELINES]
    for label, rows, method in rows_of:
        lines.append(f"| {label} | " + " | ".join(_cell(rows, f"{c}: {method}", "mask_iou")
                                                for c in CONDITIONS) + " |")
    lines += ["", "## Metric depth on real rooms", "",
              ("realdepth: 20 real RGB-D frames of empty rooms and tables; realdev/room: the "
               "photo-textured rooms with a foreground (fg: the foreground's pixels). Constant "
               "2.7 m: one depth everywhere; median plane: a flat map at each frame's true "
               "median depth, an oracle scale no method without the truth has."), "",
              "| method | realdepth δ<1.25 | AbsRel | RMSE (m) | room δ<1.25 | AbsRel | fg δ<1.25 |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, rows, method in methods + [(b, baselines, b) for b in DEPTH_BASELINES]:
        lines.append(f"| {label} | {_cell(rows, f'realdepth: {method}', 'depth_d1')} | "
                     f"{_cell(rows, f'realdepth: {method}', 'depth_absrel')} | "
                     f"{_cell(rows, f'realdepth: {method}', 'depth_rmse')} | "
                     f"{_cell(rows, f'room: {method}', 'depth_d1')} | "
                     f"{_cell(rows, f'room: {method}', 'depth_absrel')} | "
                     f"{_cell(rows, f'room: {method}', 'depth_fg_d1')} |")
    lines += ["", "## Real footage (realvideo: four sequences in CDnet-2014's layout)", "",
              ("F-measure per sequence, pooled over its frames in order through the stream "
               "session `predict --video` runs; boundary F: outlines within 2 px; CDnet's "
               "unknown pixels not scored."), "",
              "| method | " + " | ".join(SEQUENCES) + " | mean F | mean boundary F | mean precision | mean recall |",
              "| --- |" + " --- |" * (len(SEQUENCES) + 4)]
    for label, rows, method in rows_of:
        lines.append(f"| {label} | " + " | ".join(_cell(rows, f"{s}: {method}", "f_measure")
                                                for s in SEQUENCES) + " | " + " | ".join(
            _cell(rows, f"mean: {method}", key) for key in ("f_measure", "boundary_f", "precision", "recall")) + " |")
    return "\n".join(lines) + "\n"
