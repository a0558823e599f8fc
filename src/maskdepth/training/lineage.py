"""This run's lineage entry (see models/lineage.py for the format), from its config and progress."""

from __future__ import annotations

import dataclasses
import datetime

from maskdepth.data.config import SourceConfig
from maskdepth.models.lineage import config_changes, config_digest, hardware_name
from maskdepth.models.registry import pretrained_provenance
from maskdepth.training.config import TrainConfig


def sizes_used(config: TrainConfig, steps: int) -> list[int]:
    """The training sizes the progressive-resizing schedule had reached by `steps`."""
    data = config.data
    return [size for size, start in zip(data.sizes, data.size_steps) if start == 0 or start < steps]


def recipe_changes(config: TrainConfig) -> dict:
    """A run's config as its lineage stores it: the values that differ from the defaults, each
    data source's against a default source, so config fields added later leave it unchanged."""
    return config_changes(config.to_dict(), TrainConfig().to_dict(),
                          {"sources": dataclasses.asdict(SourceConfig())})


def recipe_digest(config: TrainConfig) -> str:
    """The lineage's digest of a run's config: of recipe_changes (models/lineage.config_digest)."""
    return config_digest(recipe_changes(config))


def run_entry(config: TrainConfig, run: str, steps: int, world: int, precision: str,
              seconds: float, init: str | None) -> dict:
    """One lineage entry for a run at optimizer step `steps` on `world` processes (samples =
    steps x batch size x accumulation x world). init: SHA-256 of the weights it started from;
    a run started from ImageNet weights (model.pretrained) records their package, version,
    file, SHA-256 and licence under "pretrained"."""
    recipe = recipe_changes(config)
    entry = {
        "run": run,
        "config_sha256": config_digest(recipe),
        "init": init,
        "steps": int(steps),
        "samples": int(steps) * config.data.batch_size * config.trainer.accumulate * world,
        "sizes": sizes_used(config, steps),
        "precision": precision,
        "hardware": hardware_name(),
        "train_hours": round(seconds / 3600, 3),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "recipe": recipe,
    }
    if config.model.pretrained:
        entry["pretrained"] = pretrained_provenance(config.model)
    return entry
