"""Lineage: the training runs that shaped a weights file, oldest first.

Every weights file (safetensors metadata key `maskdepth.lineage`, JSON) and every training
checkpoint (`checkpoint["maskdepth"]["lineage"]`) carries a list of run entries. A run that
starts from trained weights (`maskdepth train --init W`) copies W's lineage and appends itself,
so compute spent on a model is never forgotten. One entry:

    {"run": "gpu-2026-11-26", "config_sha256": "3f2a...", "init": "sha256 of the start file or null",
     "steps": 2400, "samples": 38400, "sizes": [160], "precision": "32-true",
     "hardware": "2x CPU (AMD EPYC ...)", "train_hours": 0.75, "date": "2026-11-26",
     "recipe": {"optim": {"lr": 0.001}, ...}}

"recipe" is the resolved config's values that differ from the defaults of the version that
trained it: what config_sha256 is the digest of (runs recorded before it was kept lack it).

A run started from ImageNet weights (model.pretrained) also holds "pretrained": {"package",
"version", "file", "sha256", "licence"} (models/pretrained.py). A file averaged from runs of one
model (scripts/average_weights.py) holds each input's runs once and then {"run": "average",
"averaged": [SHA-256 of each input], "steps": 0, ...}.

An entry recorded by hand (the model card's history of a file written before lineage was
kept) says so in "note_source".
"""

from __future__ import annotations

import hashlib
import json
import os
import platform

from maskdepth.errors import UserError

LINEAGE_KEY = "maskdepth.lineage"


def config_digest(config: dict, defaults: dict | None = None,
                  item_defaults: dict[str, dict] | None = None) -> str:
    """SHA-256 (hex, 16 characters) of a config dict: the same recipe gives the same digest.
    With `defaults` (the dict of a default config), values equal to their default are left
    out, so the digest of a recipe file survives new config fields that keep the old behaviour
    by default. item_defaults: for a list of dicts under a key (e.g. {"sources": SourceConfig's
    dict}), each item's values equal to that default are left out the same way."""
    if defaults is not None:
        config = config_changes(config, defaults, item_defaults)
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_changes(config: dict, defaults: dict, item_defaults: dict[str, dict] | None = None) -> dict:
    """The entries of a config dict that differ from `defaults` (see config_digest)."""
    return _changed(config, defaults, item_defaults or {})


def _changed(values: dict, defaults: dict, item_defaults: dict[str, dict]) -> dict:
    """The entries of `values` that differ from `defaults`, nested dicts compared key by key,
    lists of dicts under item_defaults' keys item by item."""
    changed = {}
    for key, value in values.items():
        default = defaults.get(key, object())
        if key in item_defaults and isinstance(value, list):
            value = _changed_items(value, item_defaults[key])
            if isinstance(default, list):
                default = _changed_items(default, item_defaults[key])
        if isinstance(value, dict) and isinstance(default, dict):
            value = _changed(value, default, item_defaults)
            if value:
                changed[key] = value
        elif value != default:
            changed[key] = value
    return changed


def _changed_items(items: list, item_default: dict) -> list:
    """Each dict of `items` reduced to its entries that differ from `item_default`."""
    return [_changed(item, item_default, {}) if isinstance(item, dict) else item for item in items]


def hardware_name() -> str:
    """What trains here, e.g. '1x NVIDIA H100 80GB HBM3' or '2x CPU (AMD EPYC 7B13)'."""
    import torch  # here: the rest of this module is read by the torch-free inference path

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            names = [line.split(":", 1)[1].strip() for line in file if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}x CPU ({cpu})"


# The types of a run entry's fields, where present (None is allowed for any).
_ENTRY_TYPES = {"run": (str,), "config_sha256": (str,), "init": (str,), "steps": (int,),
                "samples": (int,), "precision": (str,), "hardware": (str,), "date": (str,),
                "train_hours": (int, float), "pretrained": (dict,), "recipe": (dict,)}


def lineage_entries(value, where) -> list[dict]:
    """`value` (decoded JSON, None = no lineage) checked to be a list of run entries; anything
    else is a UserError naming `where` (a file)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise UserError(f"{where}: its lineage must be a list of run entries; the file is damaged")
    for number, entry in enumerate(value, 1):
        for key, types in _ENTRY_TYPES.items():
            if entry.get(key) is not None and (not isinstance(entry[key], types)
                                               or isinstance(entry[key], bool)):
                raise UserError(f"{where}: lineage entry {number} has {key}={entry[key]!r}, not "
                                f"{' or '.join(t.__name__ for t in types)}; the file is damaged")
        sizes = entry.get("sizes")
        if sizes is not None and not (isinstance(sizes, list) and all(
                isinstance(s, int) and not isinstance(s, bool) for s in sizes)):
            raise UserError(f"{where}: lineage entry {number} has sizes={sizes!r}, not a list of "
                            f"whole numbers; the file is damaged")
    return value


def parse_lineage(text: str | None, where) -> list[dict]:
    """The entries stored as JSON text in a file's metadata (None or empty = no lineage)."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{where}: its lineage is not valid JSON ({error}); the file is "
                        f"damaged") from None
    return lineage_entries(value, where)


def totals(entries: list[dict]) -> dict:
    """Steps, samples and training hours summed over the recorded runs."""
    return {key: sum(e.get(key) or 0 for e in entries) for key in ("steps", "samples", "train_hours")}


def _roots(entry: dict) -> str:
    """Where a run without --init started: ImageNet weights (naming them) or scratch."""
    source = entry.get("pretrained")
    if isinstance(source, dict):
        return (f"; from ImageNet weights {source.get('package', '?')} {source.get('version', '?')}"
                f" ({source.get('licence', '?')})")
    return "; from scratch"


def _is_average(entry: dict) -> bool:
    """Whether a lineage entry records an average of files (scripts/average_weights.py), not a run."""
    return isinstance(entry.get("averaged"), list)


def _recipe_text(recipe: dict, prefix: str = "") -> str:
    """A recipe as `key.sub=value` pairs ("defaults" when empty)."""
    pairs = []
    for key, value in recipe.items():
        if isinstance(value, dict) and value:
            pairs.append(_recipe_text(value, f"{prefix}{key}."))
        else:
            pairs.append(f"{prefix}{key}={json.dumps(value, default=str)}")
    return ", ".join(pairs) or "defaults"


def format_lineage(entries: list[dict]) -> str:
    """One line per run, oldest first, and the totals; a note when nothing was recorded."""
    if not entries:
        return "lineage: none recorded (a file written before lineage was kept, or not by train)"
    averages = sum(map(_is_average, entries))
    lines = [f"lineage: {len(entries) - averages} run(s)"
             + (f" and {averages} average(s)" if averages else "") + ", oldest first"]
    for k, e in enumerate(entries, 1):
        if _is_average(e):  # no training
            lines.append(f"  {k}. {e.get('date', '?')}  the average of {len(e['averaged'])} files "
                         f"({', '.join(str(h)[:16] for h in e['averaged'])}), no training")
            continue
        sizes = "/".join(str(s) for s in e.get("sizes", [])) or "?"
        hours = e.get("train_hours")
        lines.append(
            f"  {k}. {e.get('date', '?')}  run {e.get('run', '?')}: {e.get('steps', 0):,} steps, "
            f"{e.get('samples', 0):,} samples at {sizes} px, {e.get('precision', '?')}, "
            f"{e.get('hardware', '?')}" + (f", {hours:.2f} h" if hours is not None else "")
            + f"; config {e.get('config_sha256', '?')}"
            + (f"; started from {e['init'][:16]}" if e.get("init") else _roots(e)))
        if isinstance(e.get("recipe"), dict):
            lines.append(f"     recipe (what differs from the defaults): {_recipe_text(e['recipe'])}")
    total = totals(entries)
    lines.append(f"  total: {total['steps']:,} steps, {total['samples']:,} samples, "
                 f"{total['train_hours']:.2f} h of training")
    return "\n".join(lines)
