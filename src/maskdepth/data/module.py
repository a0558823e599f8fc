"""The LightningDataModule: the training stream and the validation sets."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader

from maskdepth.data.config import DataConfig
from maskdepth.data.manifest import ManifestDataset
from maskdepth.data.sources import TrainStream, validation_batches


class MaskDepthData(L.LightningDataModule):
    """Training batches from TrainStream (resuming at the restored step) and validation on the
    fixed engine scenes plus any `data.val_manifests`, split across ranks."""

    def __init__(self, data: DataConfig, seed: int, accumulate: int = 1):
        super().__init__()
        self.data, self.seed, self.accumulate = data, seed, accumulate
        self._val_batches = None

    def _rank_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _prefetch(self) -> bool:
        """data.prefetch, or when unset: on where the model trains on an accelerator (its cores
        are free to render), off on a CPU (rendering there only takes cores from the step)."""
        if self.data.prefetch is not None:
            return self.data.prefetch
        return self.trainer is not None and self.trainer.strategy.root_device.type != "cpu"

    def train_dataloader(self) -> DataLoader:
        data, accumulate = self.data, self.accumulate
        consumed = (self.trainer.global_step if self.trainer is not None else 0) * accumulate
        stream = TrainStream(data, self.seed, accumulate=accumulate, start=consumed,
                             prefetch=self._prefetch())
        stream.rank, stream.world = self._rank_world()
        workers = data.num_workers
        return DataLoader(stream, batch_size=None, num_workers=workers,
                          persistent_workers=workers > 0, prefetch_factor=2 if workers else None)

    def val_dataloader(self) -> list[DataLoader]:
        data = self.data
        rank, world = self._rank_world()
        if self._val_batches is None:
            self._val_batches = validation_batches(data)
        # Every rank takes its share of every batch, so each has validation steps to log.
        shares = [{k: v[rank::world] for k, v in batch.items()} for batch in self._val_batches]
        shares = [share for share in shares if len(share["image"])]
        loaders = [DataLoader(shares, batch_size=None)]
        for path in data.val_manifests:
            dataset = ManifestDataset(path, size=(data.val_size, data.val_size))
            indices = list(range(rank, len(dataset), world))
            loaders.append(DataLoader(dataset, batch_size=data.batch_size,
                                      sampler=indices, num_workers=0))
        return loaders
