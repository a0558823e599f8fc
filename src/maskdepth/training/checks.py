"""Checks of config values: types when a config is read, then ranges and choices, each problem
named by its key (`trainer.max_steps must be a whole number, got 'abc'`)."""

from __future__ import annotations

import math
from typing import Any

from maskdepth.errors import UserError

PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "64")
CHOICES = {
    "trainer.precision": PRECISIONS,
    "trainer.monitor_mode": ("max", "min"),
    "optim.name": ("sgd", "adamw"),
    "optim.schedule": ("constant", "cosine", "onecycle"),
}
AT_LEAST_ONE = ("data.batch_size", "data.val_count", "data.val_size", "trainer.max_steps",
                "trainer.val_every", "trainer.log_every", "trainer.checkpoint_every",
                "trainer.accumulate", "trainer.num_nodes")
NOT_NEGATIVE = ("data.num_workers", "optim.warmup_steps", "optim.weight_decay", "optim.momentum",
                "trainer.image_every", "trainer.gradient_clip", "trainer.max_minutes", "model.refine")
POSITIVE = ("optim.lr", "optim.encoder_lr_scale", "model.max_depth", "model.min_depth")
AT_MOST = {"optim.lr": 1.0, "optim.encoder_lr_scale": 100.0}  # beyond: a run that only diverges
WORDS = {"int": "a whole number", "float": "a number", "str": "a text", "bool": "true or false",
         "None": "empty (null)"}


def coerce(value: Any, annotation: str, key: str) -> Any:
    """`value` as the type the dataclass field's annotation (a string such as 'int', 'float',
    'str | None', 'list[int]', 'int | str') names; a UserError naming `key` when it is not."""
    options = [part.strip() for part in annotation.split("|")]
    for option in options:
        ok, converted = _as(value, option)
        if ok:
            return converted
    wanted = " or ".join(WORDS.get(o, o.replace("list[int]", "a list of whole numbers")
                                   .replace("list[str]", "a list of texts")) for o in options)
    raise UserError(f"config: {key} must be {wanted}, got {value!r}")


def _as(value: Any, option: str) -> tuple[bool, Any]:
    if option == "None":
        return value is None, value
    if option == "bool":
        return isinstance(value, bool), value
    if option == "int":
        return isinstance(value, int) and not isinstance(value, bool), value
    if option == "float":
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as text
            try:
                return True, float(value)
            except ValueError:
                return False, value
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if option == "str":
        return isinstance(value, str), value
    if option.startswith(("list[", "tuple[")):
        inner = option[option.index("[") + 1 : -1].split(",")[0].strip()
        if not isinstance(value, (list, tuple)):
            return False, value
        items = [_as(item, inner) for item in value]
        return all(ok for ok, _ in items), [item for _, item in items]
    return True, value  # other annotations (nested dataclasses) are built elsewhere


def check_ranges(config) -> None:
    """Ranges and choices of a built TrainConfig; one UserError listing every problem."""
    from maskdepth.models.registry import VARIANTS

    values = _flatten(config)
    problems = [f"{key} must be a finite number, got {value}" for key, value in values.items()
                if isinstance(value, float) and not math.isfinite(value)]
    values = {k: v for k, v in values.items()  # reported once above, not again as out of range
              if not (isinstance(v, float) and not math.isfinite(v))}
    for key, most in AT_MOST.items():
        if key in values and values[key] > most:
            problems.append(f"{key} must be at most {most:g}, got {values[key]}")
    for key in AT_LEAST_ONE:
        if key in values and values[key] < 1:
            problems.append(f"{key} must be at least 1, got {values[key]}")
    for key in NOT_NEGATIVE:
        if key in values and values[key] < 0:
            problems.append(f"{key} must not be negative, got {values[key]}")
    for key in POSITIVE:
        if key in values and not values[key] > 0:
            problems.append(f"{key} must be above 0, got {values[key]}")
    for key, allowed in {**CHOICES, "model.variant": tuple(VARIANTS)}.items():
        if values[key] not in allowed:
            problems.append(f"{key} must be one of {', '.join(allowed)}, got {values[key]!r}")
    if "trainer.ema_decay" in values and not 0 <= config.trainer.ema_decay < 1:
        problems.append(f"trainer.ema_decay must be 0 (off) or between 0 and 1, e.g. 0.998, "
                        f"got {config.trainer.ema_decay}")
    if {"model.min_depth", "model.max_depth"} <= set(values) and \
            not config.model.min_depth < config.model.max_depth:
        problems.append("model.min_depth must be below model.max_depth")
    problems += config.data.problems()
    if problems:
        raise UserError("config: " + "; ".join(problems))


def _flatten(config) -> dict[str, Any]:
    import dataclasses

    out = {}
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                out[f"{section.name}.{field.name}"] = getattr(value, field.name)
        else:
            out[section.name] = value
    return out
