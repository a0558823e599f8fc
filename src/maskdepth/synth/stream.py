"""The scene engine as a PyTorch IterableDataset of ready-made batches.

    loader = DataLoader(SceneStream(batch_size=32, seed=0), batch_size=None, num_workers=2)

Batch k of a stream is always rendered with the same seed (derived from the stream seed and k).
Batch indices are dealt out to every (process rank, DataLoader worker) pair (see
`reader_indices`), so no two workers or ranks ever render the same batch, and a run resumes
exactly from the number of batches it had consumed (`start`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.utils.data import IterableDataset, get_worker_info

from maskdepth.batch import Batch
from maskdepth.synth.config import SceneConfig
from maskdepth.synth.engine.scene_engine import SceneEngine


def batch_seed(stream_seed: int, index: int) -> int:
    """Render seed of batch `index` of a stream: distinct streams and indices never collide in
    practice (a 64-bit mix, as in SplitMix64)."""
    z = (stream_seed * 0x9E3779B97F4A7C15 + index + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


def shard(rank: int | None = None, world: int | None = None) -> tuple[int, int, int, int]:
    """(rank, world size, DataLoader worker, workers) of the calling reader. Rank and world come
    from the arguments, else from torch.distributed, else (0, 1)."""
    if rank is None or world is None:
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank, world, worker, workers


def reader_indices(start: int, stop: int | None, rank=None, world=None) -> Iterator[tuple[int, int]]:
    """(local, global) batch indices for the calling (rank, worker).

    `local` counts the batches this rank consumes (0, 1, 2, ...); DataLoader workers take turns
    (worker w gets local w, w + workers, ...), which is the order the DataLoader yields them in,
    so resuming at `start` = batches already consumed continues exactly. `global` = local *
    world + rank, so ranks never share a batch. `stop` bounds `local` (None = endless).
    """
    rank, world, worker, workers = shard(rank, world)
    local = start + worker
    while stop is None or local < stop:
        yield local, local * world + rank
        local += workers


FIXED_CHUNK = 16  # scenes rendered per seed in a fixed set: the set does not depend on batch sizes


def fixed_scenes(count: int, seed: int, size: int | tuple[int, int]) -> Iterator[tuple[int, Batch]]:
    """A fixed set of `count` engine scenes (every capture condition on) at `size` (square, or
    (height, width)), as (index of the first scene, batch of up to FIXED_CHUNK scenes). Validation during training and
    `maskdepth evaluate --engine-count` both use it, so the same seed means the same scenes."""
    height, width = (size, size) if isinstance(size, int) else size
    engine = SceneEngine(SceneConfig(height=height, width=width), seed=seed)
    for k, first in enumerate(range(0, count, FIXED_CHUNK)):
        yield first, engine.render(min(FIXED_CHUNK, count - first), batch_seed(seed, k))


class BatchStream(IterableDataset):
    """Batches 0, 1, 2, ... of a stream, dealt out to every (rank, DataLoader worker) by
    `reader_indices`. Subclasses say how to `build` what renders (once per worker process, never
    pickled) and how to `make` batch `index` (the `local`-th batch this rank consumes).

    start: batches each rank already consumed (to resume); stop: bound on them (None = endless);
    rank, world: set by a trainer, else taken from torch.distributed. prefetch: in the main
    process (no DataLoader workers), render the next batch on a background thread while the
    current one is used (the renderers release the interpreter lock); the batches and their
    order are the same either way.
    """

    def __init__(self, start: int = 0, stop: int | None = None, prefetch: bool = False):
        super().__init__()
        self.start, self.stop, self.prefetch = start, stop, prefetch
        self.rank: int | None = None
        self.world: int | None = None
        self._built = None

    def build(self):
        raise NotImplementedError

    def make(self, built, local: int, index: int) -> Batch:
        raise NotImplementedError

    def _make(self, local: int, index: int) -> Batch:
        batch = self.make(self._built, local, index)
        batch["index"] = torch.tensor(index)
        return batch

    def __iter__(self) -> Iterator[Batch]:
        if self._built is None:
            self._built = self.build()
        indices = reader_indices(self.start, self.stop, self.rank, self.world)
        if not self.prefetch or get_worker_info() is not None:
            for local, index in indices:
                yield self._make(local, index)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="maskdepth-prefetch") as pool:
            pending = None
            for local, index in indices:
                following = pool.submit(self._make, local, index)
                if pending is not None:
                    yield pending.result()
                pending = following
            if pending is not None:
                yield pending.result()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_built"] = None  # rebuilt in the worker: cheaper than pickling it
        return state


class SceneStream(BatchStream):
    """Batches from the scene engine (see engine.py for their contents).

    Args:
        batch_size: scenes per batch.
        seed: stream seed; also fixes the engine's texture and sprite banks.
        batches: stop after this many batches per rank (None = endless).
        start: batches already consumed by each rank (to resume a run where it stopped).
        config, foregrounds, backgrounds, textures: passed to SceneEngine.
        prefetch: render the next batch on a background thread (see BatchStream).
    """

    def __init__(self, batch_size: int, seed: int = 0, batches: int | None = None, start: int = 0,
                 config: SceneConfig | None = None, foregrounds=None, backgrounds=None,
                 textures=None, prefetch: bool = False):
        super().__init__(start, batches, prefetch)
        self.batch_size, self.seed = batch_size, seed
        self.config = config or SceneConfig()
        self.engine_args = {"foregrounds": foregrounds, "backgrounds": backgrounds,
                            "textures": textures}

    def build(self) -> SceneEngine:
        return SceneEngine(self.config, seed=self.seed, **self.engine_args)

    def make(self, engine: SceneEngine, local: int, index: int) -> Batch:
        return engine.render(self.batch_size, batch_seed(self.seed, index))
