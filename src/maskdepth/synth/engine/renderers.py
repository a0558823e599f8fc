"""One renderer interface, two implementations of the same scenes.

    renderer = make_renderer("cpu")    # KernelRenderer: compiled Numba kernels on CPU threads
    renderer = make_renderer("cuda")   # TorchRenderer: batched PyTorch on the training device

Both take the scene and capture parameters drawn on the CPU (so a seed gives the same scenes
everywhere) and return the engine's batch maps (see maskdepth/batch.py) on their device:

    rooms(scenes, height, width) -> {"image", "background", "mask", "depth", ...}
    capture(image, background, params) -> (image, background)    exposure, warp, noise, 8 bits
    jpeg(images, quality) -> images                               JPEG round trips (quality 0 = none;
                                                                  OpenCV's libjpeg for both)

The kernels are tested equal to the PyTorch definitions (tests/test_engine.py), so a model
trained on either sees the same data.
"""

from __future__ import annotations

import dataclasses

import torch

from maskdepth.synth.capture import CaptureParams, apply_capture, apply_capture_torch, apply_jpeg
from maskdepth.synth.engine.scene import RoomScenes, check_size, render_rooms, render_rooms_torch


class KernelRenderer:
    """The compiled kernels (kernels/room.py, kernels/capture.py) and OpenCV's libjpeg, on the CPU."""

    device = torch.device("cpu")

    def share(self, *tensors: torch.Tensor) -> None:
        """Nothing to do: the kernels read the CPU banks directly."""

    def rooms(self, scenes: RoomScenes, height: int, width: int) -> dict[str, torch.Tensor]:
        return render_rooms(scenes, height, width)

    def capture(self, image, background, params: CaptureParams):
        return apply_capture(image, background, params)

    def jpeg(self, images: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        return apply_jpeg(images, quality)


class TorchRenderer:
    """The batched PyTorch definitions (scene.render_rooms_torch, capture.apply_capture_torch) on
    any device; JPEG round trips on the CPU. Large tensors that every batch
    shares (texture, sprite and noise banks) are registered with `share` and copied to the device
    once; the per-batch parameters are copied each batch (a few kB)."""

    def __init__(self, device: str | torch.device):
        self.device = torch.device(device)
        self._shared: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def share(self, *tensors: torch.Tensor) -> None:
        for tensor in tensors:
            self._shared[id(tensor)] = (tensor, tensor.to(self.device))  # holds the original

    def to_device(self, value):
        """value with every tensor on the device: dataclasses and lists recursively."""
        if isinstance(value, torch.Tensor):
            hit = self._shared.get(id(value))
            return hit[1] if hit is not None and hit[0] is value else value.to(self.device)
        if isinstance(value, (list, tuple)):
            return type(value)(self.to_device(item) for item in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            moved = {f.name: self.to_device(getattr(value, f.name))
                     for f in dataclasses.fields(value) if f.init}
            return dataclasses.replace(value, **moved)
        return value

    def rooms(self, scenes: RoomScenes, height: int, width: int) -> dict[str, torch.Tensor]:
        check_size(scenes, height, width)
        return render_rooms_torch(self.to_device(scenes))

    def capture(self, image, background, params: CaptureParams):
        return apply_capture_torch(image.to(self.device), background.to(self.device),
                                   self.to_device(params))

    def jpeg(self, images: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """The chosen images' round trip through OpenCV's libjpeg on the CPU (the same codec as
        the kernels'; torchvision's nvJPEG decoder has written into memory still in use on H100s,
        pytorch/vision#9606), copied back. Only the images with a quality travel."""
        chosen = quality.cpu().nonzero().flatten()
        if len(chosen) == 0:
            return images
        on_device = chosen.to(images.device)
        coded = apply_jpeg(images[on_device].cpu().contiguous(), quality.cpu()[chosen])
        images = images.clone()
        images[on_device] = coded.to(images.device)
        return images


def make_renderer(device: str | torch.device = "cpu") -> KernelRenderer | TorchRenderer:
    """The kernels on "cpu", PyTorch elsewhere ("cuda", "cuda:1", or "torch-cpu": the PyTorch
    definitions on the CPU, for tests and comparisons). "auto" = "cuda" when a GPU is present."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if str(device) == "torch-cpu":
        return TorchRenderer("cpu")
    return KernelRenderer() if torch.device(device).type == "cpu" else TorchRenderer(device)
