"""The data layer's configuration: training sources, their mix, sizes and validation sets.

training/config.py composes it into a run's config (the `data:` section of a recipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maskdepth.synth.config import PHOTO_TEXTURES


@dataclass
class SourceConfig:
    """One training data source. kind: "engine" (scenes rendered on the fly), "photos" (RGBA
    cut-outs from `foregrounds` composed over the photos in `backgrounds`, depth unknown),
    "manifest" (a dataset folder at `path`) or "archive" (a folder of the original zip
    archives at `path`, read in place; their teacher depth is relative, and `polarity` says
    whether it draws near things bright or dark: "auto" detects it). weight: its share of
    every batch. `clean` turns capture effects off; for the engine, foregrounds/backgrounds/textures
    are folders as for `maskdepth synth`, and `classic` renders the rooms the shipped small
    model was first trained on: no solid furniture, doorways, corner cameras or wide lenses;
    `empty_p` is the engine's share of empty scenes (no foreground: an empty mask and the
    room's depth everywhere; None = the engine's default, synth/config.py); `close_p` its share
    of desk and video-call cameras (a wall a metre or two ahead, often a desk right in front;
    None = the engine's default, none); `photo_textures` how `textures` photos cover floors
    and walls: "rooms" (whole photos and large crops) or "surfaces" (small crops only; None =
    the engine's default, rooms); `desk_things_p` the share of desks and tables with things on
    their tops (None = the engine's default, none)."""

    kind: str = "engine"
    path: str | None = None
    weight: float = 1.0
    clean: bool = False
    foregrounds: str | None = None
    backgrounds: str | None = None
    textures: str | None = None
    polarity: str = "auto"
    classic: bool = False
    empty_p: float | None = None
    close_p: float | None = None
    photo_textures: str | None = None
    desk_things_p: float | None = None


@dataclass
class DataConfig:
    """sizes: square training sizes, each used from its `size_steps` step on (progressive
    resizing; the original recipe trained at 80 then 160); sizes sharing a start step are mixed,
    one drawn per batch (sizes [160, 288], size_steps [0, 0]: the working sizes video runs at).
    val_*: validation data: the engine
    with its own seed, or `val_manifests`."""

    sources: list[SourceConfig] = field(default_factory=lambda: [SourceConfig()])
    batch_size: int = 16
    sizes: list[int] = field(default_factory=lambda: [80, 160])
    size_steps: list[int] = field(default_factory=lambda: [0, 3000])
    flip: bool = True
    num_workers: int = 0
    # With num_workers 0, render the next batch on a thread during the step: None = only when
    # training on an accelerator (on a 2-core CPU it made steps ~7 % slower: the cores are busy).
    prefetch: bool | None = None
    # Where engine scenes are rendered: "cpu" (compiled kernels, also in DataLoader workers),
    # "cuda" (the PyTorch renderer on the GPU that trains; needs num_workers 0) or "auto" (cuda
    # when present). Photo, manifest and archive sources always work on the CPU.
    render_device: str = "cpu"
    val_seed: int = 1_000_003
    val_count: int = 256
    val_size: int = 160
    val_manifests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What is wrong with these values, one message per problem ([] when nothing is)."""
        problems = []
        if not self.sources:
            problems.append("data.sources is empty; give at least one source")
        for i, source in enumerate(self.sources):
            if not source.weight > 0:
                problems.append(f"data.sources[{i}].weight must be above 0 (remove the source "
                                f"instead), got {source.weight}")
            for name in ("empty_p", "close_p", "desk_things_p"):
                share = getattr(source, name)
                if share is not None and not 0 <= share <= 1:
                    problems.append(f"data.sources[{i}].{name} must be in [0, 1], got {share}")
            if source.photo_textures not in (None, *PHOTO_TEXTURES):
                problems.append(f"data.sources[{i}].photo_textures must be rooms or surfaces, "
                                f"got {source.photo_textures!r}")
            elif source.photo_textures is not None and not source.textures:
                problems.append(f"data.sources[{i}].photo_textures is set but the source has no "
                                f"textures: folder to cut them from; give textures: or leave "
                                f"photo_textures out")
        if len(self.sizes) != len(self.size_steps) or not self.sizes:
            problems.append("data.sizes and data.size_steps must be lists of the same length")
        elif self.size_steps[0] != 0 or self.size_steps != sorted(self.size_steps):
            problems.append(f"data.size_steps must start at 0 and rise, got {self.size_steps}")
        problems += [f"data.sizes must be at least 1 pixel, got {s}" for s in self.sizes if s < 1]
        # The encoders reduce 32x: a single sample at <= 32 px leaves BatchNorm one value per
        # channel at the deepest level, which it cannot normalise.
        smallest = min([s for s in self.sizes if s >= 1], default=0)
        if self.batch_size == 1 and 0 < smallest <= 32:
            problems.append(f"data.batch_size 1 with data.sizes {smallest} px leaves BatchNorm "
                            f"one value per channel; use data.batch_size 2 or more, or sizes "
                            f"above 32")
        device = str(self.render_device)
        if not (device in ("cpu", "auto", "torch-cpu") or device.split(":")[0] == "cuda"):
            problems.append(f"data.render_device must be cpu, cuda, cuda:N, auto or torch-cpu "
                            f"(the PyTorch renderer on the CPU), got {device!r}")
        elif device != "cpu" and self.num_workers > 0:
            problems.append(f"data.render_device {device} renders in the training process: set "
                            f"data.num_workers to 0 (CUDA does not work in forked workers)")
        return problems
