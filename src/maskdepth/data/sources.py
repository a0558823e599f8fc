"""Training data: sources that make batch k at a given size, and the stream that mixes them.

Every batch is a pure function of (stream seed, batch index, size), so training is repeatable,
no two ranks or workers share a batch, and resuming continues with exactly the next batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import IterableDataset

from maskdepth.data.batch import MAP_KEYS, Batch
from maskdepth.data.manifest import ManifestDataset, resize_sample
from maskdepth.data.transforms import random_flip
from maskdepth.errors import UserError
from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine
from maskdepth.synth.photos import PhotoCompositor, PhotoConfig
from maskdepth.synth.stream import batch_seed, fixed_scenes, reader_indices
from maskdepth.training.config import DataConfig, SourceConfig


class EngineSource:
    """Scenes rendered on the fly; one engine per size, built when first needed."""

    def __init__(self, source: SourceConfig, seed: int):
        self.source, self.seed = source, seed
        self.engines: dict[int, SceneEngine] = {}

    def engine(self, size: int) -> SceneEngine:
        if size not in self.engines:
            config = SceneConfig(height=size, width=size)
            if self.source.clean:
                config.capture = CaptureConfig.clean()
            self.engines[size] = SceneEngine(
                config, seed=self.seed, foregrounds=self.source.foregrounds,
                backgrounds=self.source.backgrounds, textures=self.source.textures)
        return self.engines[size]

    def batch(self, index: int, size: int, batch_size: int) -> Batch:
        out = self.engine(size).render(batch_size, batch_seed(self.seed, index))
        return {key: out[key] for key in MAP_KEYS}


class PhotoSource:
    """Real cut-outs composed over real background photos on the fly (depth unknown, 0): the
    `photos` kind, with `backgrounds` and `foregrounds` folders."""

    def __init__(self, source: SourceConfig, seed: int):
        if not source.backgrounds or not source.foregrounds:
            raise UserError("a data source of kind 'photos' needs backgrounds: (a folder of photos "
                            "of empty scenes) and foregrounds: (a folder of RGBA cut-outs)")
        self.source, self.seed = source, seed
        self.compositors: dict[int, PhotoCompositor] = {}

    def compositor(self, size: int) -> PhotoCompositor:
        if size not in self.compositors:
            config = PhotoConfig(height=size, width=size)
            if self.source.clean:
                config.capture = CaptureConfig.clean()
            self.compositors[size] = PhotoCompositor(self.source.backgrounds, self.source.foregrounds,
                                                     config, seed=self.seed)
        return self.compositors[size]

    def batch(self, index: int, size: int, batch_size: int) -> Batch:
        out = self.compositor(size).render(batch_size, batch_seed(self.seed, index))
        return {key: out[key] for key in MAP_KEYS}


class ManifestSource:
    """Random samples of a dataset folder, resized to the batch size."""

    def __init__(self, source: SourceConfig, seed: int):
        if not source.path:
            raise UserError("a data source of kind 'manifest' needs a path to a dataset folder")
        self.dataset = ManifestDataset(source.path)
        if len(self.dataset) == 0:
            raise UserError(f"{source.path}: the dataset has no samples")
        self.seed = seed

    def batch(self, index: int, size: int, batch_size: int) -> Batch:
        g = torch.Generator().manual_seed(batch_seed(self.seed, index))
        picks = torch.randint(len(self.dataset), (batch_size,), generator=g).tolist()
        samples = [resize_sample(self.dataset[i], size, size) for i in picks]
        return {key: torch.stack([s[key] for s in samples]) for key in MAP_KEYS}


SOURCES = {"engine": EngineSource, "photos": PhotoSource, "manifest": ManifestSource}


def make_source(source: SourceConfig, seed: int):
    try:
        return SOURCES[source.kind](source, seed)
    except KeyError:
        raise UserError(f"unknown data source kind {source.kind!r}; use one of {', '.join(SOURCES)}") from None


def size_at(step: int, data: DataConfig) -> int:
    """The training size at an optimizer step (progressive resizing)."""
    size = data.sizes[0]
    for start, candidate in zip(data.size_steps, data.sizes):
        if step >= start:
            size = candidate
    return size


class TrainStream(IterableDataset):
    """Batches mixed from the configured sources by weight, sized by the step schedule.

    accumulate: batches per optimizer step on each rank (for the size schedule).
    start: batches this rank already consumed (resume). rank/world: set by the trainer.
    """

    def __init__(self, data: DataConfig, seed: int, accumulate: int = 1, start: int = 0,
                 stop: int | None = None):
        super().__init__()
        if len(data.sizes) != len(data.size_steps):
            raise UserError("data.sizes and data.size_steps must have the same length")
        self.data, self.seed, self.accumulate = data, seed, accumulate
        self.start, self.stop = start, stop
        self.rank: int | None = None
        self.world: int | None = None
        self.weights = torch.tensor([s.weight for s in data.sources], dtype=torch.float)
        self._sources = None

    def sources(self):
        if self._sources is None:  # built in each worker process
            self._sources = [make_source(s, self.seed + 7919 * i) for i, s in enumerate(self.data.sources)]
        return self._sources

    def __iter__(self) -> Iterator[Batch]:
        sources = self.sources()
        for local, index in reader_indices(self.start, self.stop, self.rank, self.world):
            g = torch.Generator().manual_seed(batch_seed(self.seed + 1, index))
            which = int(torch.multinomial(self.weights, 1, generator=g))
            size = size_at(local // self.accumulate, self.data)
            batch = sources[which].batch(index, size, self.data.batch_size)
            if self.data.flip:
                batch = random_flip(batch, g)
            batch["index"] = torch.tensor(index)
            yield batch

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_sources"] = None
        return state


def validation_batches(data: DataConfig) -> list[Batch]:
    """The fixed validation set of engine scenes (all capture conditions on), as batches."""
    return [{key: batch[key] for key in MAP_KEYS}
            for _, batch in fixed_scenes(data.val_count, data.val_seed, data.val_size)]
