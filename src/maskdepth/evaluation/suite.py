"""One evaluation run: the sets a request names (dataset folders, CDnet-layout videos, engine
scenes), the scene prior each is given, every method scored on them, and the results as tables
and JSON. `maskdepth evaluate` parses the request; this file does the rest.

    request = Request(datasets=[Path("realdev/clean")], engine_count=256)
    results, extra = run_suite(model, request)      # {"clean: model": {"mask_iou": ...}, ...}
    for rows in tables(results):                    # videos' CDnet measures, masks, depth
        print(format_table(rows))
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from maskdepth.errors import UserError

# The depth columns the evaluate table shows, in order (the JSON holds every metric).
SHOWN_DEPTH = ("depth_rmse", "depth_absrel", "depth_log10", "depth_d1", "depth_d2", "depth_d3",
               "depth_si_rmse", "depth_si_d1", "depth_rank", "depth_fg_rmse", "depth_fg_absrel",
               "depth_fg_d1", "depth_bg_rmse", "depth_bg_absrel", "depth_bg_d1", "depth_ssi_mae",
               "depth_ssi_rmse")
ENGINE = "engine"  # background_depth's word for the engine scenes' exact empty-scene depth


@dataclass
class Request:
    """What to evaluate. datasets: dataset folders (or manifest files); videos: CDnet-layout
    roots; engine_count: engine scenes (0: training's validation count when nothing else is
    asked); size: (height, width) of engine scenes; background_depth: ENGINE, a folder of
    <id>_depth.png, or None (the model's scene prior); raw: the bare network, not what predict
    writes; max_side: the working size (None: predict's profile); background: the empty scene
    of CDnet videos (None: each video's own)."""

    datasets: list[Path] = field(default_factory=list)
    videos: list[Path] = field(default_factory=list)
    engine_count: int = 0
    engine_seed: int | None = None
    size: tuple[int, int] = (160, 160)
    baselines: bool = False
    save_predictions: Path | None = None
    background_depth: str | None = None
    raw: bool = False
    max_side: int | None = None
    background: Path | None = None


def run_suite(model, request: Request) -> tuple[dict[str, dict[str, float]], dict | None]:
    """(results: "set: method" -> metric -> value, extra rows for the JSON: the scene prior's
    source, None without a model). model: a MaskDepth, or None for the baselines alone."""
    from maskdepth.evaluation.evaluate import evaluate_set

    sets = _sets(request)
    depths = _background_depths(request, sets)
    extra = None
    if model is not None:
        prior = model.scene_depth_source if not depths else \
            f"background depth ({request.background_depth}), else {model.scene_depth_source}"
        print(f"scene prior: {prior}")
        extra = {"scene prior": {"source": prior}}
    results: dict[str, dict[str, float]] = {}
    for name, make in sets.items():
        total, batches = make()
        save_dir = request.save_predictions / name if request.save_predictions else None
        for method, values in evaluate_set(model, batches, total, request.baselines, save_dir, name,
                                           request.raw, depths.get(name)).items():
            results[f"{name}: {method}"] = values
    if request.videos:
        results.update(evaluate_videos(model, request))
    return results, extra


def _sets(request: Request) -> dict[str, Callable]:
    """Set name -> a function giving (count, batches), for the datasets and engine scenes."""
    from maskdepth.data.config import DataConfig
    from maskdepth.evaluation.evaluate import engine_set, manifest_set

    sets = {name: (lambda p=path: manifest_set(p))
            for name, path in zip(set_names(request.datasets), request.datasets)}
    height, width = request.size
    if request.engine_count > 0 or not (sets or request.videos):
        count = request.engine_count or DataConfig.val_count
        seed = DataConfig.val_seed if request.engine_seed is None else request.engine_seed
        name = f"engine{height}" if height == width else f"engine{height}x{width}"
        sets[name] = lambda: engine_set(count, seed, request.size)
    return sets


def _background_depths(request: Request, sets: dict) -> dict[str, Callable]:
    """Set name -> the empty-scene depth for its samples, as request.background_depth asks."""
    from maskdepth.evaluation.evaluate import engine_background_depth, folder_background_depth

    if request.background_depth is None:
        return {}
    if request.background_depth == ENGINE:
        depths = {name: engine_background_depth for name in sets if name.startswith("engine")}
        if not depths:
            raise UserError("--background-depth engine is the engine scenes' own depth; add "
                            "--engine-count N, or give a folder of <id>_depth.png for --data")
        return depths
    folder = Path(request.background_depth)
    if not folder.is_dir():
        raise UserError(f"--background-depth {folder}: not a folder; give a folder of "
                        f"<id>_depth.png or 'engine'")
    return {name: folder_background_depth(folder) for name in sets if not name.startswith("engine")}


def evaluate_videos(model, request: Request) -> dict[str, dict[str, float]]:
    """CDnet's measures of the model (the frames in order through the stream session `maskdepth
    predict --video` runs: video's working size unless max_side, the empty scene aligned once
    and checked again; raw: not aligned) and, with baselines, of the classical baselines, on
    every sequence under request.videos."""
    from maskdepth.evaluation.baselines import BASELINES
    from maskdepth.evaluation.cdnet import evaluate_sequences, find_sequences, per_pair
    from maskdepth.inference.session import StreamSession

    def stream(empty):
        session = StreamSession(model, empty, align=not request.raw, steady=False,
                                max_side=request.max_side)
        return lambda frame: session.predict([frame], session.frames)[0].mask

    methods = {"model": stream} if model is not None else {}
    if request.baselines:
        methods.update({name: per_pair(mask_of) for name, mask_of in BASELINES.items()})
    sequences = [sequence for root in request.videos for sequence in find_sequences(root)]
    return evaluate_sequences(sequences, methods, request.background)


def tables(results: dict[str, dict[str, float]]) -> list[dict]:
    """The results as the tables evaluate prints, the empty ones left out: the videos' CDnet
    measures, every mask metric of the other sets, and their SHOWN_DEPTH columns."""
    def scored(values: dict) -> bool:
        return any(k.startswith(("mask", "depth")) for k in values)

    video_rows = {row: values for row, values in results.items() if not scored(values)}
    mask_rows = {row: {k: v for k, v in values.items() if k.startswith("mask")}
                 for row, values in results.items() if any(k.startswith("mask") for k in values)}
    depth_rows = {row: {k: values[k] for k in SHOWN_DEPTH if k in values}
                  for row, values in results.items() if any(k.startswith("depth") for k in values)}
    return [rows for rows in (video_rows, mask_rows, depth_rows) if rows]


def set_names(paths: list[Path]) -> list[str]:
    """Each data set's name in tables, JSON and --save-predictions: its folder's name (a
    manifest file's folder), with as many parent folders as it takes to tell the sets apart
    (a/x, b/x). The same set given twice is a UserError."""
    folders = [Path(os.path.abspath(p.parent if p.suffix.lower() == ".csv" else p)) for p in paths]
    for k, folder in enumerate(folders):
        if folder in folders[:k]:
            raise UserError(f"--data {paths[k]}: the same data set as {paths[folders.index(folder)]}; "
                            f"give each set once")

    def name(folder: Path) -> str:
        others = [f for f in folders if f != folder]
        depth = 1
        while any(f.parts[-depth:] == folder.parts[-depth:] for f in others):
            depth += 1
        return "/".join(folder.parts[-depth:])

    return [name(folder) for folder in folders]


def check_json_path(path: Path | None) -> None:
    """Refuse a --json path that cannot be written, before the work (not after it)."""
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"--json {path} is a folder; give the file to write, e.g. {path / 'metrics.json'}")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UserError(f"--json {path}: cannot write under {folder}; choose another path")


def write_json(path: Path | None, results: dict, extra: dict | None = None) -> None:
    """The results as JSON; a value that could not be measured (NaN) is written as null, which
    every JSON reader accepts (a bare NaN is not JSON). extra: rows that are not metrics (the
    scene prior's source)."""
    from maskdepth.io.atomic import atomic_write_bytes

    if path is not None:
        clean = {row: {k: (None if isinstance(v, float) and math.isnan(v) else v)
                       for k, v in values.items()} for row, values in results.items()}
        clean.update(extra or {})
        atomic_write_bytes(path, json.dumps(clean, indent=2, allow_nan=False).encode())
