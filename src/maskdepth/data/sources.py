"""Training data: sources that make batch k at a given size, and the stream that mixes them.

Every batch is a pure function of (stream seed, batch index, size), so training is repeatable,
no two ranks or workers share a batch, and resuming continues with exactly the next batch.
"""

from __future__ import annotations

import torch

from maskdepth.batch import MAP_KEYS, Batch
from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.data.manifest import open_dataset
from maskdepth.data.transforms import random_flip, resize_sample
from maskdepth.errors import UserError
from maskdepth.io.original import is_archive_folder
from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine
from maskdepth.synth.photos.compositor import PhotoCompositor, PhotoConfig
from maskdepth.synth.stream import BatchStream, batch_seed, fixed_scenes


class RenderedSource:
    """Batches rendered on the fly by a renderer (anything with `render(batch_size, seed)`),
    one per training size, built when first needed."""

    def __init__(self, source: SourceConfig, seed: int, device: str = "cpu"):
        self.source, self.seed, self.device = source, seed, device
        self.renderers: dict[int, object] = {}

    def make_renderer(self, size: int, capture: CaptureConfig | None):
        raise NotImplementedError

    def batch(self, index: int, size: int, batch_size: int) -> Batch:
        if size not in self.renderers:
            capture = CaptureConfig.clean() if self.source.clean else None
            self.renderers[size] = self.make_renderer(size, capture)
        out = self.renderers[size].render(batch_size, batch_seed(self.seed, index))
        return {key: out[key] for key in MAP_KEYS}


class EngineSource(RenderedSource):
    """Scenes rendered by the scene engine (optionally with the source's photo folders)."""

    def make_renderer(self, size: int, capture: CaptureConfig | None) -> SceneEngine:
        config = SceneConfig(height=size, width=size)
        config.capture = capture or config.capture
        if self.source.classic:
            config.max_furniture, config.doorway_p, config.corner_p, config.wide_p = 0, 0.0, 0.0, 0.0
        for name in ("empty_p", "close_p", "photo_textures", "desk_things_p"):  # None: the engine's
            if getattr(self.source, name) is not None:
                setattr(config, name, getattr(self.source, name))
        return SceneEngine(config, seed=self.seed, foregrounds=self.source.foregrounds,
                           backgrounds=self.source.backgrounds, textures=self.source.textures,
                           device=self.device)


class PhotoSource(RenderedSource):
    """Real cut-outs composed over real background photos (depth unknown, 0): the `photos`
    kind, with `backgrounds` and `foregrounds` folders."""

    def __init__(self, source: SourceConfig, seed: int, device: str = "cpu"):
        if not source.backgrounds or not source.foregrounds:
            raise UserError("a data source of kind 'photos' needs backgrounds: (a folder of photos "
                            "of empty scenes) and foregrounds: (a folder of RGBA cut-outs)")
        super().__init__(source, seed)  # composed on the CPU whatever the device

    def make_renderer(self, size: int, capture: CaptureConfig | None) -> PhotoCompositor:
        config = PhotoConfig(height=size, width=size)
        config.capture = capture or config.capture
        return PhotoCompositor(self.source.backgrounds, self.source.foregrounds, config, seed=self.seed)


class ManifestSource:
    """Random samples of a dataset folder (kind "manifest") or of the original archives read in
    place (kind "archive"), resized to the batch size. Batches carry `relative` (1 for samples
    of relative depth)."""

    def __init__(self, source: SourceConfig, seed: int, device: str = "cpu"):
        if not source.path:
            raise UserError(f"a data source of kind {source.kind!r} needs a path to a "
                            + ("folder of the original archives" if source.kind == "archive"
                               else "dataset folder"))
        if source.kind == "archive" and not is_archive_folder(source.path):
            raise UserError(f"{source.path}: not a folder of the original archives (zips and a "
                            f"backgrounds folder, no manifest.csv)")
        self.dataset = open_dataset(source.path, polarity=source.polarity)
        if len(self.dataset) == 0:
            raise UserError(f"{source.path}: the dataset has no samples")
        self.seed = seed

    def batch(self, index: int, size: int, batch_size: int) -> Batch:
        g = torch.Generator().manual_seed(batch_seed(self.seed, index))
        picks = torch.randint(len(self.dataset), (batch_size,), generator=g).tolist()
        samples = [resize_sample(self.dataset[i], size, size) for i in picks]
        return {key: torch.stack([s[key] for s in samples]) for key in (*MAP_KEYS, "relative")}


SOURCES = {"engine": EngineSource, "photos": PhotoSource, "manifest": ManifestSource,
           "archive": ManifestSource}


def make_source(source: SourceConfig, seed: int, device: str = "cpu"):
    """The source a config describes; engine sources render on `device` (data.render_device)."""
    if source.kind not in SOURCES:
        raise UserError(f"unknown data source kind {source.kind!r}; use one of {', '.join(SOURCES)}")
    return SOURCES[source.kind](source, seed, device)


def size_at(step: int, data: DataConfig, g: torch.Generator | None = None) -> int:
    """The training size at an optimizer step: the size whose start (data.size_steps) is the
    latest reached (progressive resizing). Sizes that share that start are used together, each
    batch drawing one of them with `g` (the sizes a model meets at run time; without `g`, the
    first)."""
    reached = [start for start in data.size_steps if step >= start]
    latest = max(reached) if reached else data.size_steps[0]
    sizes = [size for start, size in zip(data.size_steps, data.sizes) if start == latest]
    if len(sizes) == 1 or g is None:
        return sizes[0]
    return sizes[int(torch.randint(len(sizes), (1,), generator=g))]


def source_counts(weights: torch.Tensor, batch_size: int, g: torch.Generator) -> list[int]:
    """Samples each source gives to one batch: its share of the batch (weights normalised),
    rounded down, with the samples left over dealt by weight at random, so every batch holds
    every source at its configured share and the shares are exact on average."""
    share = weights / weights.sum() * batch_size
    counts = share.floor().long()
    left = batch_size - int(counts.sum())  # < number of sources, each remainder in [0, 1)
    if left:
        # More than `left` remainders are positive (each < 1, summing to `left`): no repeats.
        extra = torch.multinomial(share - counts, left, replacement=False, generator=g)
        counts += torch.bincount(extra, minlength=len(weights))
    return counts.tolist()


def concat_batches(parts: list[Batch]) -> Batch:
    """One batch of the samples of several, on the accelerator if a part is there (a source without
    `relative` gives metric depth; the key is kept only when some part has it)."""
    if len(parts) == 1:
        return parts[0]
    devices = [part["image"].device for part in parts]
    device = next((d for d in devices if d.type != "cpu"), devices[0])
    out = {key: torch.cat([part[key].to(device) for part in parts]) for key in MAP_KEYS}
    if any("relative" in part for part in parts):
        out["relative"] = torch.cat([part["relative"].to(device) if "relative" in part
                                     else torch.zeros(len(part["image"]), device=device)
                                     for part in parts])
    return out


class TrainStream(BatchStream):
    """Batches that mix the configured sources sample by sample (each source gives its weight's
    share of every batch; see source_counts), sized by the step schedule.

    accumulate: batches per optimizer step on each rank (for the size schedule).
    start: batches this rank already consumed (resume). rank/world: set by the trainer.
    prefetch: render the next batch on a thread (see BatchStream).
    """

    def __init__(self, data: DataConfig, seed: int, accumulate: int = 1, start: int = 0,
                 stop: int | None = None, prefetch: bool = False):
        super().__init__(start, stop, prefetch)
        if len(data.sizes) != len(data.size_steps):
            raise UserError("data.sizes and data.size_steps must have the same length")
        self.data, self.seed, self.accumulate = data, seed, accumulate
        self.weights = torch.tensor([s.weight for s in data.sources], dtype=torch.float)

    def build(self) -> list:
        return [make_source(s, self.seed + 7919 * i, self.data.render_device)
                for i, s in enumerate(self.data.sources)]

    def make(self, sources: list, local: int, index: int) -> Batch:
        g = torch.Generator().manual_seed(batch_seed(self.seed + 1, index))
        counts = source_counts(self.weights, self.data.batch_size, g)
        size = size_at(local // self.accumulate, self.data, g)
        parts = [source.batch(index, size, count) for source, count in zip(sources, counts) if count]
        batch = concat_batches(parts)
        return random_flip(batch, g) if self.data.flip else batch


def validation_batches(data: DataConfig) -> list[Batch]:
    """The fixed validation set of engine scenes (all capture conditions on), as batches."""
    return [{key: batch[key] for key in MAP_KEYS}
            for _, batch in fixed_scenes(data.val_count, data.val_seed, data.val_size)]
