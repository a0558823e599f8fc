"""The renderer interface: the compiled kernels on the CPU and the PyTorch definitions on any
device render the same scenes; training-side layouts (channels_last) give the same model."""

from __future__ import annotations

import pytest
import torch

from conftest import small_config
from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.data.sources import TrainStream
from maskdepth.data.transforms import random_flip
from maskdepth.errors import UserError
from maskdepth.synth import SceneEngine
from maskdepth.synth.capture import apply_jpeg
from maskdepth.synth.engine.renderers import KernelRenderer, TorchRenderer, make_renderer
from maskdepth.synth.engine.scene import sample_rooms
from maskdepth.training.config import load_config
from parity import assert_same_engine_batch

EFFECTS = {"noise_p": 1, "exposure_p": 1, "misalign_p": 1, "shadow_p": 1}


def test_make_renderer_picks_the_kernels_on_the_cpu_and_pytorch_elsewhere():
    assert isinstance(make_renderer("cpu"), KernelRenderer)
    assert isinstance(make_renderer("torch-cpu"), TorchRenderer)
    assert isinstance(make_renderer("cuda:1"), TorchRenderer)
    assert make_renderer("cuda:1").device == torch.device("cuda:1")


@pytest.mark.kernel_parity
def test_both_renderers_give_the_same_engine_batch():
    """Every capture effect but JPEG (the same codec, below; its blocks would magnify the rare
    one-level rounding differences) and wide lenses: tests/parity.py's rule for whole batches."""
    config = small_config(**EFFECTS)
    config.wide_p = 0.5
    kernels = SceneEngine(config, seed=5).render(6, seed=21)
    torch_cpu = SceneEngine(config, seed=5, device="torch-cpu").render(6, seed=21)
    assert kernels["mask"].sum() > 0
    assert_same_engine_batch(kernels, torch_cpu)


def test_jpeg_is_the_same_codec_for_both_renderers():
    """The PyTorch renderer sends the chosen images through OpenCV's libjpeg too (quality 0 =
    untouched), so both renderers' JPEG artefacts are identical."""
    images = SceneEngine(small_config(), seed=2).render(6, seed=4)["image"]
    quality = torch.tensor([40, 60, 0, 95, 0, 70])
    reference = apply_jpeg(images.clone(), quality)
    coded = TorchRenderer("cpu").jpeg(images.clone(), quality)
    assert torch.equal(coded, reference)
    assert torch.equal(coded[2], images[2]) and not torch.equal(coded[0], images[0])


def test_scenes_moved_to_another_device_hold_no_tensor_left_behind():
    """On the meta device (shapes without data) a CPU tensor left in the scene parameters, or
    made inside the PyTorch renderer, would raise: what a GPU run would hit first."""
    from maskdepth.synth.engine.scene import render_rooms_torch

    engine = SceneEngine(small_config(**EFFECTS), seed=1)
    scenes = sample_rooms(3, engine.config, engine.textures, engine.sprites, engine.pickers,
                          torch.Generator().manual_seed(0))
    renderer = TorchRenderer("meta")
    moved = renderer.to_device(scenes)
    left = [name for name, tensor in tensors_in(moved) if tensor.device.type != "meta"]
    assert left == []
    out = render_rooms_torch(moved)
    assert out["image"].device.type == "meta" and out["image"].shape == (3, 3, 64, 64)


def test_random_flip_keeps_a_batch_on_its_device():
    batch = {key: torch.empty(4, 1, 8, 8, device="meta") for key in ("image", "mask")}
    flipped = random_flip(batch, torch.Generator().manual_seed(0))
    assert flipped["image"].device.type == "meta"


def tensors_in(value, name="scenes"):
    """(dotted name, tensor) of every tensor inside dataclasses, lists and tuples."""
    import dataclasses

    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from tensors_in(item, f"{name}[{i}]")
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from tensors_in(getattr(value, field.name), f"{name}.{field.name}")


def test_shared_banks_are_copied_to_the_device_once():
    renderer = TorchRenderer("cpu")
    bank = torch.rand(4, 3, 8, 8)
    renderer.share(bank)
    first, again = renderer.to_device([bank]), renderer.to_device([bank])
    assert first[0] is again[0]  # the cached copy
    other = torch.rand(2)
    assert torch.equal(renderer.to_device(other), other)


@pytest.mark.kernel_parity
def test_a_training_stream_renders_on_the_configured_device():
    sources = [SourceConfig(kind="engine", clean=True, weight=0.5),
               SourceConfig(kind="engine", weight=0.5)]
    data = DataConfig(sources=sources, batch_size=4, sizes=[32], size_steps=[0],
                      render_device="torch-cpu")
    batch = next(iter(TrainStream(data, seed=0, stop=1)))
    reference = next(iter(TrainStream(DataConfig(sources=sources, batch_size=4, sizes=[32],
                                                 size_steps=[0]), seed=0, stop=1)))
    assert batch["image"].shape == (4, 3, 32, 32)
    assert torch.equal(batch["mask"], reference["mask"])


@pytest.mark.bad_input
def test_rendering_on_a_gpu_with_dataloader_workers_is_refused():
    with pytest.raises(UserError, match="num_workers to 0"):
        load_config(None, ["data.render_device=cuda", "data.num_workers=2"])
    with pytest.raises(UserError, match="render_device must be"):
        load_config(None, ["data.render_device=tpu"])


def test_channels_last_gives_the_same_outputs():
    """trainer.channels_last: the same model in the NHWC layout (what tensor cores prefer)."""
    from maskdepth.models import build_model
    from maskdepth.models.zoo import model_config

    torch.manual_seed(0)
    model = build_model(model_config("small")).eval()
    image, background = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    reference = model(image, background)
    nhwc = build_model(model_config("small")).eval()
    nhwc.load_state_dict(model.state_dict())
    nhwc = nhwc.to(memory_format=torch.channels_last)
    out = nhwc(image.contiguous(memory_format=torch.channels_last),
               background.contiguous(memory_format=torch.channels_last))
    for key in ("mask_logits", "depth"):
        assert torch.allclose(out[key], reference[key], atol=1e-4), key
