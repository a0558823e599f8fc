"""Training configuration: dataclasses stored with every run and checkpoint.

A config file (YAML) mirrors these dataclasses; `load_config(path, overrides)` reads it (on top of
its `base:` file, as detectron2's _BASE_) and applies `key.sub=value` overrides from the command
line, e.g. `optim.lr=0.001`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.errors import UserError
from maskdepth.models.config import RETIRED as MODEL_RETIRED
from maskdepth.models.config import ModelConfig
from maskdepth.models.zoo import model_config
from maskdepth.training.checks import check_ranges, coerce
from maskdepth.training.losses import LossWeights


@dataclass
class OptimConfig:
    """name: "sgd" (the original: lr 0.01, momentum 0.9) or "adamw". schedule (per step, over
    trainer.max_steps): "constant" or "cosine" after `warmup_steps` of linear warm-up, or
    "onecycle", which has its own warm-up (a rise from 4 % to the peak lr over the first 30 %
    of the steps, then a cosine decay to 0.1 %) and ignores `warmup_steps`."""

    name: str = "adamw"
    lr: float = 0.002
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "onecycle"
    warmup_steps: int = 0
    # The encoder's learning rate as a share of lr (1 = the same). Below 1 the encoder moves
    # less than the decoder: a fine-tuned ImageNet encoder keeps more of what it learnt.
    encoder_lr_scale: float = 1.0


@dataclass
class TrainerConfig:
    """precision: "auto" (bf16-mixed on GPUs and on CPUs with native bf16, else fp32; see
    training/precision.py), "32-true", "bf16-mixed" or "16-mixed" (GPU). monitor: the validation metric
    that picks the best checkpoint, with monitor_mode "max" or "min"."""

    max_steps: int = 9500
    # A wall-clock budget in minutes (0 = none): training stops when it is spent, and the
    # learning-rate schedule runs on max(step / max_steps, time / budget), so it ends decayed
    # whichever comes first (a GPU run of fixed length).
    max_minutes: float = 0.0
    val_every: int = 1000
    log_every: int = 25
    image_every: int = 1000
    checkpoint_every: int = 250
    precision: str = "auto"
    accumulate: int = 1
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    channels_last: bool = False
    monitor: str = "val/mask_iou"
    monitor_mode: str = "max"
    gradient_clip: float = 1.0
    # Exponential moving average of the weights (0 = off, else the decay per step, e.g. 0.998:
    # about the last 500 steps): validation, checkpoints and model.safetensors hold the average,
    # which wanders less from step to step than the weights the optimizer leaves.
    ema_decay: float = 0.0


def default_model() -> ModelConfig:
    """The shipped small model's architecture (configs/default.yaml)."""
    return model_config("small")


@dataclass
class TrainConfig:
    """Everything about a run. The defaults are configs/default.yaml's recipe, except that the
    data is the scene engine alone (the recipe's photo sources need folders of photos)."""

    seed: int = 0
    model: ModelConfig = field(default_factory=default_model)
    loss: LossWeights = field(default_factory=LossWeights)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _unknown_keys(cls, values: Any, where: str) -> list[str]:
    """Every key of `values` (nested dicts) that dataclass `cls` and its sections do not know,
    with its path: all of them at once, so one message lists every mistake."""
    if not dataclasses.is_dataclass(cls) or not isinstance(values, dict):
        return []
    hints = {f.name: f for f in dataclasses.fields(cls)}
    found = [where + str(k) for k in values if k not in hints]
    defaults = cls()
    for name, value in values.items():
        if name in hints and dataclasses.is_dataclass(getattr(defaults, name)):
            found += _unknown_keys(type(getattr(defaults, name)), value, f"{where}{name}.")
        elif name == "sources" and isinstance(value, list):
            for i, source in enumerate(value):
                found += _unknown_keys(SourceConfig, source, f"{where}sources[{i}].")
    return found


def _build(cls, values: Any, where: str, base=None, problems: list[str] | None = None):
    """Build dataclass `cls` from nested dicts on top of `base` (default: cls()), refusing
    unknown keys with their path. Nested sections start from the parent's default for them, so
    `model.max_depth=10` keeps the rest of the default model. Every problem (unknown keys,
    values of the wrong type, sections given a value) is collected and refused in one message."""
    if not dataclasses.is_dataclass(cls):
        return values
    top, problems = problems is None, [] if problems is None else problems
    base = cls() if base is None else base
    if not isinstance(values, dict):
        section = where[:-1] if where else "the top level"
        problems.append(f"{section} must be a section of keys ({where or ''}NAME: value), got "
                        f"{values!r}")
    else:
        if top:  # every unknown key at once, nested ones included
            unknown = sorted(_unknown_keys(cls, values, where))
            if unknown:
                hints = ", ".join(f.name for f in dataclasses.fields(cls))
                problems.append(f"unknown key(s) {', '.join(unknown)}; known at the top: {hints}")
        base = _build_fields(cls, values, where, base, problems)
    if top and problems:
        raise UserError("config: " + "; ".join(problems))
    return base


def _build_fields(cls, values: dict, where: str, base, problems: list[str]):
    hints = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in hints:
            continue
        default = getattr(base, name)
        if name == "sources":
            if not isinstance(value, list):
                problems.append(f"{where}sources must be a list of sources, got {value!r}")
                continue
            kwargs[name] = [_build(SourceConfig, v, f"{where}sources[{i}].", None, problems)
                            for i, v in enumerate(value)]
        elif dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{where}{name}.", default, problems)
        else:
            try:
                kwargs[name] = coerce(value, str(hints[name].type), f"{where}{name}")
            except UserError as error:
                problems.append(str(error).removeprefix("config: "))
    return dataclasses.replace(base, **kwargs)


def _set(tree: dict, dotted: str, text: str) -> None:
    """Apply one `a.b.c=value` override; the value is parsed as YAML (numbers, lists, ...)."""
    keys = dotted.split(".")
    node = tree
    for depth, key in enumerate(keys[:-1]):
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise UserError(f"override {dotted}: {'.'.join(keys[: depth + 1])} is a value, not a "
                            f"section with keys")
    try:
        node[keys[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise UserError(f"override {dotted}={text}: not a YAML value ({reason})") from None


def _merged(base: dict, over: dict) -> dict:
    """`over` on top of `base`: sections merge key by key, any other value (lists included)
    replaces the base's."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (_merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict)
                    else value)
    return out


def _read_tree(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A config file's keys, on top of its `base:` file's (a path relative to the file; bases
    may have bases, never in a circle)."""
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (a config is UTF-8 YAML, e.g. "
                        f"configs/default.yaml)") from None
    except (OSError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{path}: cannot read the config ({reason}); fix the YAML") from None
    if not isinstance(tree, dict) or "base" not in tree:
        return tree
    base = tree.pop("base")
    if not isinstance(base, str):
        raise UserError(f"{path}: base must be a config file's path, got {base!r}")
    base_path = (path.parent / base).resolve()
    if base_path in seen or base_path == path.resolve():
        raise UserError(f"{path}: base {base} leads back to itself; configs' bases cannot form a circle")
    return _merged(_read_tree(base_path, (*seen, path.resolve())), tree)


# Keys older versions wrote (a run's config.yaml), with the one value this version has: dropped
# when they hold it, refused when not. The model section's are models/config.py's RETIRED.
RETIRED = {**{("model", key): kept for key, kept in MODEL_RETIRED.items()}, ("loss", "shadow_bce"): 0.0}


def _drop_retired(tree: dict) -> None:
    """Remove RETIRED keys that hold their value from a config tree; refuse other values. A
    tree that is not a mapping is left for _build to refuse."""
    if not isinstance(tree, dict):
        return
    for (section, key), kept in RETIRED.items():
        values = tree.get(section)
        if isinstance(values, dict) and key in values:
            if values[key] != kept:
                raise UserError(f"config: {section}.{key}={values[key]!r}: this maskdepth no "
                                f"longer has it (only {kept!r}); remove the key")
            del values[key]


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or start from the defaults) and apply `key=value` overrides. A config
    may name a `base:` config (relative to its own folder) and hold only what differs from it;
    sections merge key by key, lists (data.sources) are replaced whole."""
    tree: dict = _read_tree(Path(path)) if path is not None else {}
    for item in overrides or []:
        if "=" not in item:
            raise UserError(f"override {item!r} must look like key.sub=value, e.g. optim.lr=0.001")
        _set(tree, *item.split("=", 1))
    _drop_retired(tree)
    config = _build(TrainConfig, tree, "")
    check_ranges(config)
    return config


def warm_start_config(config: TrainConfig, model: ModelConfig, overrides: list[str],
                      path: str | Path) -> TrainConfig:
    """`config` with the model of the weights file `path` (`train --init`): the architecture
    comes from the file. A `--set model.KEY=...` that differs from the file's value is refused;
    a config file's other model section is replaced (and said so by the caller)."""
    asked = {item.split("=", 1)[0][len("model."):] for item in overrides
             if item.startswith("model.") and "=" in item}
    conflicts = [f"model.{key}={getattr(config.model, key)!r} (the file has "
                 f"{getattr(model, key)!r})" for key in sorted(asked)
                 if hasattr(model, key) and key != "pretrained"
                 and getattr(config.model, key) != getattr(model, key)]
    if conflicts:
        raise UserError(f"--init {path}: the model comes from the weights file; drop "
                        f"{', '.join(conflicts)}, or train from scratch without --init")
    model = dataclasses.replace(model, pretrained=False)  # the file holds the weights
    return dataclasses.replace(config, model=model)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically)."""
    from maskdepth.io.atomic import atomic_write_bytes

    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    return atomic_write_bytes(path, text.encode())
