"""The engine as an IterableDataset (sharding, resume) and exported to the dataset layout."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from conftest import small_config
from maskdepth.io import images as imageio
from maskdepth.io.layout import read_manifest, shadow_path
from maskdepth.io.validate import validate
from maskdepth.synth import SceneEngine
from maskdepth.synth.export import export_dataset, seeded
from maskdepth.synth.stream import SceneStream, batch_seed


def test_workers_share_out_batches_without_repeats():
    stream = SceneStream(batch_size=2, seed=5, batches=6, config=small_config())
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    batches = list(loader)
    assert sorted(int(b["index"]) for b in batches) == list(range(6))
    images = [b["image"] for b in batches]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not torch.equal(images[i], images[j])


def test_a_batch_is_the_same_whoever_renders_it_and_resume_starts_where_asked():
    config = small_config(noise_p=1.0)
    serial = {int(b["index"]): b for b in SceneStream(2, seed=5, batches=4, config=config)}
    loaded = DataLoader(SceneStream(2, seed=5, batches=4, config=config), batch_size=None, num_workers=2)
    for batch in loaded:
        assert torch.equal(batch["image"], serial[int(batch["index"])]["image"])
    resumed = list(SceneStream(2, seed=5, batches=4, start=2, config=config))
    assert [int(b["index"]) for b in resumed] == [2, 3]
    assert torch.equal(resumed[0]["mask"], serial[2]["mask"])


def test_forked_workers_render_after_the_parent_has_used_the_kernel_threads():
    """The shared threads (kernels, JPEG) do not survive a fork: a DataLoader worker must make its
    own instead of waiting forever on its parent's."""
    config = small_config(jpeg_p=1.0, misalign_p=0.5)
    parent = SceneStream(2, seed=4, batches=4, config=config)
    serial = {int(b["index"]): b for b in parent}  # the parent renders (threads, JPEG) first
    loader = DataLoader(SceneStream(2, seed=4, batches=4, config=config), batch_size=None,
                        num_workers=2, timeout=60)
    for batch in loader:
        assert torch.equal(batch["image"], serial[int(batch["index"])]["image"])


def test_prefetching_yields_the_same_batches_in_the_same_order():
    config = small_config(noise_p=1.0, misalign_p=0.5)
    plain = list(SceneStream(2, seed=9, batches=5, config=config))
    ahead = SceneStream(2, seed=9, batches=5, start=1, config=config, prefetch=True)
    fetched = list(DataLoader(ahead, batch_size=None, num_workers=0))
    assert [int(b["index"]) for b in fetched] == [1, 2, 3, 4]
    for batch in fetched:
        for key in ("image", "background", "mask", "depth"):
            assert torch.equal(batch[key], plain[int(batch["index"])][key]), key
    early = iter(SceneStream(2, seed=9, batches=None, config=config, prefetch=True))
    assert torch.equal(next(early)["image"], plain[0]["image"])
    early.close()  # an endless stream stopped early leaves no thread behind


def test_ranks_and_workers_split_the_stream(monkeypatch):
    import maskdepth.synth.stream as stream_module

    seen = []
    for rank in range(3):
        for worker in range(2):
            monkeypatch.setattr(stream_module, "shard", lambda *_, r=rank, w=worker: (r, 3, w, 2))
            seen += [int(b["index"]) for b in SceneStream(1, seed=0, batches=4, config=small_config())]
    assert sorted(seen) == list(range(12))


def test_resume_continues_in_the_order_the_loader_yields():
    import maskdepth.synth.stream as stream_module

    def order(start, workers):
        per_worker = []
        for worker in range(workers):
            stream_module.shard = lambda *_, w=worker: (0, 1, w, workers)
            per_worker.append([g for _, g in stream_module.reader_indices(start, start + 6)])
        return [i for group in zip(*per_worker) for i in group]  # DataLoader round robin

    original = stream_module.shard
    try:
        assert order(0, 2) == [0, 1, 2, 3, 4, 5]
        assert order(3, 2) == [3, 4, 5, 6, 7, 8]
    finally:
        stream_module.shard = original


def test_batch_seeds_differ_across_streams_and_indices():
    seeds = {batch_seed(s, i) for s in range(20) for i in range(200)}
    assert len(seeds) == 20 * 200


def test_export_writes_a_valid_dataset_that_reads_back_exactly(tmp_path):
    engine = SceneEngine(small_config(shadow_p=1.0, noise_p=1.0), seed=1)
    manifest = export_dataset(seeded(engine, 3, 4), tmp_path, 10, 4, progress=False)
    assert validate(manifest) == []
    samples = read_manifest(manifest)
    assert [s.id for s in samples] == [f"{i:06d}" for i in range(10)]
    batch = engine.render(4, batch_seed(3, 0))
    first = samples[0]
    image = torch.from_numpy(imageio.read_rgb(first.image)).permute(2, 0, 1).float() / 255
    assert torch.equal(image, batch["image"][0])
    assert np.array_equal(imageio.read_mask(first.mask), batch["mask"][0, 0].numpy() > 0.5)
    depth = imageio.read_depth(first.depth)
    assert np.abs(depth - batch["depth"][0, 0].numpy()).max() <= 0.0005 + 1e-6  # mm rounding
    if batch["shadow"][0].max() > 0.01:
        shadow = imageio.read_shadow(shadow_path(manifest, first.id))
        assert np.abs(shadow - batch["shadow"][0, 0].numpy()).max() <= 0.5 / 255 + 1e-6
    assert not list(tmp_path.rglob("*.tmp*"))


def test_photo_scenes_export_with_an_empty_depth_column(tmp_path, photo_folders):
    backgrounds, cutouts = photo_folders
    config = small_config()
    config.photo_p = 1.0
    engine = SceneEngine(config, seed=0, foregrounds=cutouts, backgrounds=backgrounds)
    manifest = export_dataset(seeded(engine, 0, 3), tmp_path / "ds", 3, 3, progress=False)
    assert validate(manifest) == []
    assert all(s.depth is None for s in read_manifest(manifest))
