"""Per-stage summary of a model: output shapes, parameter counts, FLOPs."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from maskdepth.models.decoders import Decoder
from maskdepth.models.net import MaskDepthNet


def stages(model: MaskDepthNet) -> list[tuple[str, nn.Module]]:
    """The model's stages in execution order: encoder stages, decoder stages, heads."""
    found = []
    for name, child in model.encoder.named_children():
        children = list(child.named_children()) if isinstance(child, nn.ModuleList) else [("", child)]
        found += [(f"encoder.{name}{'.' + sub if sub else ''}", module) for sub, module in children]
    for name, module in model.decoder.named_modules():
        if isinstance(module, Decoder):
            prefix = f"decoder.{name}" if name else "decoder"
            found += [(f"{prefix}.stage{i + 1}", stage) for i, stage in enumerate(module.stages)]
    return found + [(h, getattr(model, h)) for h in ("mask_head", "depth_head")]


def stage_table(model: MaskDepthNet, height: int, width: int) -> list[tuple[str, str, int]]:
    """Rows of (stage, output shape for one (3, height, width) input pair, parameters)."""
    shapes: dict[str, tuple] = {}

    def recorder(name: str):
        def record(_module, _inputs, output) -> None:  # returning None keeps the output
            shapes[name] = tuple(output.shape)
        return record

    hooks = [module.register_forward_hook(recorder(name)) for name, module in stages(model)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, height, width), torch.zeros(1, 3, height, width))
    finally:
        for hook in hooks:
            hook.remove()
    return [(name, "x".join(map(str, shapes.get(name, ())[1:])),
             sum(p.numel() for p in module.parameters())) for name, module in stages(model)]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def gflops(model: MaskDepthNet, height: int, width: int) -> float:
    """GFLOPs (2 x multiply-adds, as torch's flop counter counts) of one forward pass per sample."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.eval()(torch.zeros(1, 3, height, width), torch.zeros(1, 3, height, width))
    return counter.get_total_flops() / 1e9


def format_summary(model: MaskDepthNet, height: int, width: int) -> str:
    """The per-stage table and totals as text."""
    rows = stage_table(model, height, width)
    lines = [f"{'stage':<28}{'output (C x H x W)':>22}{'parameters':>14}", "-" * 64]
    lines += [f"{name:<28}{shape:>22}{params:>14,}" for name, shape, params in rows]
    lines += ["-" * 64,
              f"{'total parameters':<50}{parameter_count(model):>14,}",
              f"{'GFLOPs per sample at ' + f'{height}x{width}':<50}{gflops(model, height, width):>14.2f}"]
    return "\n".join(lines)
