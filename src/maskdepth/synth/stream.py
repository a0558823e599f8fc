"""The scene engine as a PyTorch IterableDataset of ready-made batches.

    loader = DataLoader(SceneStream(batch_size=32, seed=0), batch_size=None, num_workers=2)

Batch k of a stream is always rendered with the same seed (derived from the stream seed and k).
The stream's batch indices are dealt out round-robin to every (process rank, DataLoader worker)
pair, so no two workers or ranks ever render the same batch, and a run can resume exactly from
a batch index (`start`).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from maskdepth.synth.config import SceneConfig
from maskdepth.synth.engine import SceneEngine


def batch_seed(stream_seed: int, index: int) -> int:
    """Render seed of batch `index` of a stream: distinct streams and indices never collide in
    practice (a 64-bit mix, as in SplitMix64)."""
    z = (stream_seed * 0x9E3779B97F4A7C15 + index + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


def shard() -> tuple[int, int]:
    """(this reader's index, number of readers) over distributed ranks x DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


class SceneStream(IterableDataset):
    """Batches from the scene engine (see engine.py for their contents).

    Args:
        batch_size: scenes per batch.
        seed: stream seed; also fixes the engine's texture and sprite banks.
        batches: stop after this many batches in all (None = endless).
        start: first batch index (to resume a run where it stopped).
        config, foregrounds, backgrounds, textures, compile: passed to SceneEngine.
    """

    def __init__(self, batch_size: int, seed: int = 0, batches: int | None = None, start: int = 0,
                 config: SceneConfig | None = None, foregrounds=None, backgrounds=None,
                 textures=None, compile: bool = False):
        super().__init__()
        self.batch_size, self.seed, self.batches, self.start = batch_size, seed, batches, start
        self.config = config or SceneConfig()
        self.engine_args = {"foregrounds": foregrounds, "backgrounds": backgrounds,
                                "textures": textures, "compile": compile}
        self._engine: SceneEngine | None = None

    def engine(self) -> SceneEngine:
        """The engine, built on first use in each worker process (banks are not pickled)."""
        if self._engine is None:
            self._engine = SceneEngine(self.config, seed=self.seed, **self.engine_args)
        return self._engine

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        reader, readers = shard()
        engine = self.engine()
        index = self.start + reader
        while self.batches is None or index < self.batches:
            batch = engine.render(self.batch_size, batch_seed(self.seed, index))
            batch["index"] = torch.tensor(index)
            yield batch
            index += readers

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_engine"] = None  # rebuilt in the worker: cheaper than pickling the banks
        return state
