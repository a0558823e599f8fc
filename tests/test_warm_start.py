"""Warm starts (`train --init`) and lineage, the named models, batches that mix sources sample by
sample, and the relative-depth loss against a per-image reference.

The training runs are tiny (64x64, batch 2, a few steps, no validation) and read a dataset
written here by hand, so that no scene engine has to be built for them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.data.manifest import open_dataset
from maskdepth.data.sources import TrainStream, concat_batches, source_counts
from maskdepth.errors import UserError
from maskdepth.io.atomic import file_digest
from maskdepth.io.images import write_depth, write_mask, write_rgb
from maskdepth.io.layout import RELATIVE_DEPTH_FILE, write_manifest
from maskdepth.metrics import align_scale_shift
from maskdepth.models.config import ModelConfig
from maskdepth.models.lineage import config_digest
from maskdepth.models.weights import CONFIG_KEY, load_weights, read_lineage, read_metadata
from maskdepth.models.zoo import resolve_model, shipped_path
from maskdepth.training.config import load_config
from maskdepth.training.lineage import recipe_digest
from maskdepth.training.losses import relative_depth_loss
from maskdepth.training.module import MaskDepthModule

BATCH = 2
DATA = ["data.sizes=[64]", "data.size_steps=[0]", f"data.batch_size={BATCH}", "data.num_workers=0",
        "data.val_count=2", "data.val_size=32", "trainer.val_every=1000",
        "trainer.checkpoint_every=1", "trainer.log_every=1", "trainer.image_every=1000",
        "trainer.precision=32-true", "optim.schedule=constant"]


def write_dataset(folder, count: int = 4, size: int = 64, relative: bool = False):
    """A dataset folder of `count` random samples (64x64, depth 1-5 m); distinct images."""
    rng = np.random.default_rng(size + count)
    rows = []
    for i in range(count):
        sample = {"id": f"{i:06d}", "image": f"images/{i:06d}.png",
                  "background": f"backgrounds/{i:06d}.png", "mask": f"masks/{i:06d}.png",
                  "depth": f"depth/{i:06d}.png"}
        for key in ("image", "background"):
            write_rgb(folder / sample[key], rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        write_mask(folder / sample["mask"], rng.random((size, size)) > 0.5)
        write_depth(folder / sample["depth"], rng.uniform(1.0, 5.0, (size, size)))
        rows.append(sample)
    write_manifest(folder, rows)
    if relative:
        (folder / RELATIVE_DEPTH_FILE).write_text("relative depth\n")
    return folder


def tiny_args(data_folder, steps: int) -> list[str]:
    sources = json.dumps([{"kind": "manifest", "path": str(data_folder)}])
    return [*DATA, f"data.sources={sources}", f"trainer.max_steps={steps}"]


def train(run, *args: str) -> int:
    return main(["train", "--run", str(run), *args])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread here: tiny runs gain nothing from a second, and on a busy 2-core machine
    two threads wait on each other (a 2-step run took 13-23 s instead of 1 s beside a training
    job). The suite's setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "scenes")


@pytest.fixture(scope="module")
def runs(dataset, tmp_path_factory):
    """A 2-step run from scratch, then a 2-step run warm-started from its model.safetensors,
    with the warm run's weights as they were when its training began."""
    root = tmp_path_factory.mktemp("runs")
    scratch, warm = root / "scratch", root / "warm"
    assert train(scratch, "--set", "model.variant=fast", *tiny_args(dataset, 2)) == 0
    started = []
    original = MaskDepthModule.on_train_start

    def spy(self):
        started.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MaskDepthModule, "on_train_start", spy)
        assert train(warm, "--init", str(scratch / "model.safetensors"),
                     "--set", "model.variant=fast", *tiny_args(dataset, 2)) == 0
    assert len(started) == 1
    return scratch, warm, started[0]


def without_timing(entries: list[dict]) -> list[dict]:
    """Lineage entries without the fields that change between two saves of the same step."""
    return [{k: v for k, v in e.items() if k not in ("train_hours", "date")} for e in entries]


def test_a_warm_start_begins_from_the_init_weights_and_trains_on(runs):
    scratch, warm, started = runs
    init = load_file(scratch / "model.safetensors")
    assert started.keys() == init.keys()
    for key, value in init.items():
        assert torch.equal(started[key], value), key
    trained = load_file(warm / "model.safetensors")
    changed = [k for k, v in trained.items()
               if v.is_floating_point() and not torch.equal(v, init[k])]
    assert len(changed) > len(init) // 2  # the two steps moved the weights
    assert load_config(warm / "config.yaml").model == load_config(scratch / "config.yaml").model


def test_lineage_of_a_warm_start_holds_the_parent_run_then_its_own(runs):
    scratch, warm, _ = runs
    parent = read_lineage(scratch / "model.safetensors")
    lineage = read_lineage(warm / "model.safetensors")
    assert len(parent) == 1 and len(lineage) == 2
    assert lineage[0] == parent[0]
    first, second = lineage
    assert [e["run"] for e in lineage] == ["scratch", "warm"]
    assert [e["steps"] for e in lineage] == [2, 2]
    assert [e["samples"] for e in lineage] == [2 * BATCH, 2 * BATCH]
    assert first["init"] is None
    assert second["init"] == file_digest(scratch / "model.safetensors")
    assert all(re.fullmatch(r"[0-9a-f]{16}", e["config_sha256"]) for e in lineage)
    assert second["config_sha256"] == recipe_digest(load_config(warm / "config.yaml"))
    # the recipe itself is stored, and its digest is the recorded one
    assert second["recipe"]["trainer"]["max_steps"] == 2 and "model" not in second["recipe"]
    assert config_digest(second["recipe"]) == second["config_sha256"]
    assert second["sizes"] == [64] and second["precision"] == "32-true"


def test_the_checkpoint_carries_the_same_lineage_and_weights(runs):
    _, warm, _ = runs
    model, lineage = load_weights(warm / "checkpoints" / "last.ckpt")
    assert len(lineage) == 2
    assert without_timing(lineage) == without_timing(read_lineage(warm / "model.safetensors"))
    saved = load_file(warm / "model.safetensors")
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_summary_prints_the_lineage(runs, capsys):
    scratch, warm, _ = runs
    for path in (warm / "model.safetensors", warm / "checkpoints" / "last.ckpt"):
        assert main(["summary", "--checkpoint", str(path), "--lineage-only"]) == 0
        out = capsys.readouterr().out
        assert "lineage: 2 run(s), oldest first" in out
        assert "from scratch" in out
        assert f"started from {file_digest(scratch / 'model.safetensors')[:16]}" in out
        assert f"total: 4 steps, {4 * BATCH} samples" in out
        assert "recipe (what differs from the defaults): " in out and "trainer.max_steps=2" in out
        assert "GFLOPs" not in out  # --lineage-only: no stage table


def test_init_small_takes_the_shipped_model_config_and_lineage(dataset, tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  variant: original\n  refine: 0\n")  # replaced by the file's
    run = tmp_path / "more"
    assert train(run, "--config", str(recipe), "--init", "small",
                 "--set", *tiny_args(dataset, 1)) == 0
    assert "the model is the file's (fast)" in capsys.readouterr().out
    small = shipped_path("small")
    stored = ModelConfig.from_dict(json.loads(read_metadata(small)[CONFIG_KEY]))
    assert load_config(run / "config.yaml").model == dataclasses.replace(stored, pretrained=False)
    assert stored.variant == "fast"
    parent, lineage = read_lineage(small), read_lineage(run / "model.safetensors")
    assert lineage[:-1] == parent and len(lineage) == len(parent) + 1
    assert lineage[-1]["init"] == file_digest(small) and lineage[-1]["steps"] == 1


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.bad_input
def test_init_refuses_a_conflicting_model_setting_and_resume(runs, dataset, tmp_path, capsys):
    run = tmp_path / "conflict"
    assert train(run, "--init", "small", "--set", "model.variant=original",
                 *tiny_args(dataset, 1)) == 2
    err = _one_line(capsys)
    assert "model.variant='original'" in err and "'fast'" in err and "--init small" in err
    assert not (run / "checkpoints").exists()
    scratch, _, _ = runs
    copy = tmp_path / "copy"
    shutil.copytree(scratch, copy)
    before = file_digest(copy / "checkpoints" / "last.ckpt")
    assert train(copy, "--resume", "--init", str(scratch / "model.safetensors")) == 2
    err = _one_line(capsys)
    assert "--init" in err and "--resume" in err
    assert file_digest(copy / "checkpoints" / "last.ckpt") == before


def test_a_resumed_warm_start_from_a_checkpoint_keeps_its_parent(runs, dataset, tmp_path):
    scratch, _, _ = runs
    init = scratch / "checkpoints" / "last.ckpt"
    digest = file_digest(init)
    _, parent = load_weights(init)
    run = tmp_path / "child"
    assert train(run, "--init", str(init), "--set", "model.variant=fast",
                 *tiny_args(dataset, 2)) == 0
    assert train(run, "--resume", "--set", "trainer.max_steps=3") == 0
    for path in (run / "model.safetensors", run / "checkpoints" / "last.ckpt"):
        _, lineage = load_weights(path)
        assert len(lineage) == 2 and lineage[0] == parent[0], path
        assert lineage[1]["run"] == "child" and lineage[1]["init"] == digest
        assert (lineage[1]["steps"], lineage[1]["samples"]) == (3, 3 * BATCH)


def test_named_models_resolve_to_shipped_files_or_paths(tmp_path, capsys):
    small = shipped_path("small")
    assert small.is_file() and small.parent.name == "weights"
    assert resolve_model("small").weights == small and resolve_model(None).weights == small
    assert str(resolve_model("x/y.safetensors").weights) == "x/y.safetensors"
    rng = np.random.default_rng(0)
    image, background = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
    by_name = MaskDepth.load("small").predict(image, background, align=False)
    by_path = MaskDepth.load(small).predict(image, background, align=False)
    assert by_name.mask.shape == by_name.depth.shape == (64, 64)
    assert np.array_equal(by_name.probability, by_path.probability)
    assert np.array_equal(by_name.depth, by_path.depth) and np.all(by_name.depth > 0)
    if shipped_path("large").is_file():
        return  # large ships now: the refusals below no longer apply
    with pytest.raises(UserError, match="large model is not shipped yet"):
        resolve_model("large")
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--checkpoint", "large", "--data", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--checkpoint large" in capsys.readouterr().err


def test_source_counts_give_every_source_its_share_of_every_batch():
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        assert source_counts(torch.tensor([0.5, 0.5]), 16, g) == [8, 8]
        assert source_counts(torch.tensor([0.7, 0.3]), 10, g) == [7, 3]
        assert source_counts(torch.tensor([3.0, 1.0]), 4, g) == [3, 1]  # weights unnormalised
    weights, share = torch.tensor([0.5, 0.3, 0.2]), np.array([8.0, 4.8, 3.2])
    counts = np.array([source_counts(weights, 16, g) for _ in range(2000)])
    assert (counts.sum(1) == 16).all()
    assert ((counts == np.floor(share)) | (counts == np.ceil(share))).all()
    assert np.abs(counts.mean(0) - share).max() < 0.05, counts.mean(0)
    odd = np.array([source_counts(torch.tensor([1.0, 1.0, 1.0]), 7, g) for _ in range(300)])
    assert (odd.sum(1) == 7).all() and set(odd.ravel()) == {2, 3}


def test_concat_batches_fills_relative_for_sources_without_it():
    metric = {key: torch.full((2, 1, 4, 4), 1.0) for key in ("mask", "depth", "shadow")}
    metric |= {"image": torch.zeros(2, 3, 4, 4), "background": torch.zeros(2, 3, 4, 4)}
    relative = {key: value[:1] + 1 for key, value in metric.items()} | {"relative": torch.ones(1)}
    out = concat_batches([metric, relative])
    assert out["image"].shape == (3, 3, 4, 4)
    assert out["relative"].tolist() == [0.0, 0.0, 1.0]
    assert out["depth"][:, 0, 0, 0].tolist() == [1.0, 1.0, 2.0]
    assert "relative" not in concat_batches([metric, metric])


def test_a_batch_mixes_engine_and_dataset_samples_in_their_counts(tmp_path):
    folder = write_dataset(tmp_path / "relative", count=5, relative=True)
    dataset = open_dataset(folder)
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])  # (5, 3, 64, 64)
    data = DataConfig(sources=[SourceConfig(kind="engine", clean=True, weight=1.0),
                               SourceConfig(kind="manifest", path=str(folder), weight=3.0)],
                      batch_size=4, sizes=[64], size_steps=[0], flip=False)
    batches = list(TrainStream(data, seed=0, stop=3))
    assert len(batches) == 3
    for batch in batches:
        assert batch["image"].shape == (4, 3, 64, 64)
        assert batch["relative"].tolist() == [0.0, 1.0, 1.0, 1.0]  # 1 engine, 3 dataset samples
        from_dataset = [bool((images == image).flatten(1).all(1).any()) for image in batch["image"]]
        assert from_dataset == [False, True, True, True]
        assert (batch["depth"][0] > 0.05).all()  # the engine's metres, known everywhere


def reference_relative_loss(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Per image: least-squares scale and shift (numpy, float64) over the known pixels, mean
    absolute error there; the mean over the images with known pixels, 0 when none has any."""
    errors = []
    for p, t in zip(pred.double().numpy(), true.double().numpy()):
        known = t > 0
        if not known.any():
            continue
        x, y = p[known], t[known]
        if known.sum() >= 2:
            (scale, shift), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
        else:
            scale, shift = 0.0, y.mean()
        errors.append(np.abs(scale * x + shift - y).mean())
    return float(np.mean(errors)) if errors else 0.0


def test_relative_depth_loss_matches_a_per_image_reference():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(5, 1, 16, 16, generator=g) * 5 + 0.5
    true = torch.rand(5, 1, 16, 16, generator=g) * 0.9 + 0.1
    true[1] *= torch.rand(1, 16, 16, generator=g) > 0.6  # partly known
    true[2] = 0  # nothing known: left out of the mean
    true[3] = 0
    true[3, 0, 4, 7] = 0.5  # one known pixel: fitted exactly
    true[4] = 0.3 + 0.1 * pred[4]  # an affine copy of pred: aligned to 0
    pred.requires_grad_(True)
    loss = relative_depth_loss(pred, true)
    assert loss.item() == pytest.approx(reference_relative_loss(pred.detach(), true), abs=1e-5)
    assert loss.item() > 0.05
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[2].abs().sum() == 0
    per_image = [relative_depth_loss(pred[i : i + 1].detach(), true[i : i + 1]).item()
                 for i in range(5)]
    assert per_image[4] == pytest.approx(0.0, abs=1e-5) and per_image[2] == 0.0
    aligned = align_scale_shift(pred[:1].detach(), true[:1], true[:1] > 0)
    assert per_image[0] == pytest.approx((aligned - true[:1]).abs().mean().item(), abs=1e-6)
    none = relative_depth_loss(pred, torch.zeros_like(true))
    assert none.item() == 0.0 and none.requires_grad  # graph-connected 0


def test_validation_on_dataset_folders_runs_beside_the_engine_scenes(dataset, tmp_path):
    """data.val_manifests adds one validation loader per folder; all feed the same metrics."""
    run = tmp_path / "validated"
    assert train(run, "--set", "model.variant=fast", *tiny_args(dataset, 2),
                 f"data.val_manifests=[{dataset}]", "trainer.val_every=2") == 0
    assert (run / "checkpoints" / "best.ckpt").is_file()  # validated: val/mask_iou was logged


def test_a_recipe_keeps_its_digest_when_the_config_gains_a_defaulted_field():
    from maskdepth.models.lineage import config_digest

    recipe = {"model": {"variant": "fast", "refine": 8}, "optim": {"lr": 0.002}}
    defaults = {"model": {"variant": "fast", "refine": 0}, "optim": {"lr": 0.001}}
    grown = {**recipe, "model": {**recipe["model"], "new_switch": False}}
    grown_defaults = {**defaults, "model": {**defaults["model"], "new_switch": False}}
    assert config_digest(recipe, defaults) == config_digest(grown, grown_defaults)
    assert config_digest(recipe, defaults) != config_digest({**recipe, "optim": {"lr": 0.003}}, defaults)


def test_a_recipe_keeps_its_digest_when_its_data_sources_gain_a_defaulted_field():
    """Each data source is compared with a default source: a field added to SourceConfig later
    (as empty_p and close_p were) leaves every recipe's digest as it was."""
    from maskdepth.models.lineage import config_digest

    blank = {"kind": "engine", "weight": 1.0, "clean": False}
    recipe = {"data": {"sources": [{"kind": "photos", "weight": 0.5, "clean": False},
                                   {"kind": "engine", "weight": 0.5, "clean": False}]}}
    defaults = {"data": {"sources": [dict(blank)]}}
    grown_blank = {**blank, "close_p": None}
    grown = {"data": {"sources": [{**s, "close_p": None} for s in recipe["data"]["sources"]]}}
    grown_defaults = {"data": {"sources": [dict(grown_blank)]}}
    before = config_digest(recipe, defaults, {"sources": blank})
    assert before == config_digest(grown, grown_defaults, {"sources": grown_blank})
    asked = {"data": {"sources": [recipe["data"]["sources"][0], {**grown["data"]["sources"][1], "close_p": 0.3}]}}
    assert before != config_digest(asked, grown_defaults, {"sources": grown_blank})
    # Without item defaults a list is compared whole: the new key changes the digest.
    assert config_digest(recipe, defaults) != config_digest(grown, grown_defaults)
