"""The Python API.

    from maskdepth import MaskDepth
    md = MaskDepth.load()                                   # the model shipped in the package
    result = md.predict("person.jpg", "empty_room.jpg")     # paths, PIL images or numpy arrays
    result.mask, result.probability, result.depth           # (H, W) bool / float [0, 1] / metres
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from maskdepth.batch import MASK_THRESHOLD
from maskdepth.errors import UserError
from maskdepth.inference.inputs import check_photo_size, to_rgb_array
from maskdepth.inference.prior import NETWORK, ScenePriors, fuse
from maskdepth.inference.profiles import MIN_SIDE, PHOTO, working_side
from maskdepth.inference.scene_depth import BUILTIN, load_scene_depth_model
from maskdepth.inference.upsample import guided_upsample
from maskdepth.io.images import depth_to_millimetres
from maskdepth.io.resize import fit_within, shrink
from maskdepth.models.zoo import ModelRef, resolve_model
from maskdepth.runtime.loader import load_runner

EDGES = ("guided", "bilinear")  # how the probability reaches the input's size (inference/upsample.py)
# The scene prior's depth model unless asked otherwise (inference/scene_depth.py): on real RGB-D
# frames it beats the network's own depth (docs/QUALITY.md), and masks do not change.
DEFAULT_SCENE_DEPTH = BUILTIN


class Prediction:
    """One prediction at the input's size.

    mask: (H, W) bool foreground. probability: (H, W) float32 in [0, 1].
    depth: (H, W) float32 z-depth in metres, whole millimetres; depth_mm: the same as uint16
    millimetres (0 = unknown), what depth PNGs and videos hold. Give either; the other is made
    on first use (a video writes millimetres and never pays for the metres). Given as depth_mm,
    depth is what a depth PNG reads back: 0 for unknown, at most 65.535 m. mismatch: how
    little the background looked like the image's scene (0 good, 1 unrelated), when the
    background was aligned first, else None. depth_source: where the depth outside the mask
    comes from: the scene prior's source (inference/prior.py), or "network".
    """

    def __init__(self, mask: np.ndarray, probability: np.ndarray, depth: np.ndarray | None = None,
                 mismatch: float | None = None, depth_mm: np.ndarray | None = None,
                 depth_source: str = NETWORK):
        if depth is None and depth_mm is None:
            raise ValueError("a Prediction needs depth (metres) or depth_mm")
        self.mask, self.probability, self.mismatch = mask, probability, mismatch
        self.depth_source = depth_source
        self._depth, self._depth_mm = depth, depth_mm

    @property
    def depth(self) -> np.ndarray:
        if self._depth is None:
            self._depth = self._depth_mm.astype(np.float32) / np.float32(1000)
        return self._depth

    @property
    def depth_mm(self) -> np.ndarray:
        if self._depth_mm is None:
            self._depth_mm = depth_to_millimetres(self._depth)
        return self._depth_mm


def _check_count(value, name: str, unit: str) -> None:
    """A UserError unless `value` is a whole number >= 1 (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UserError(f"{name} must be a whole number of {unit}, at least 1; got {value!r}")


def to_mask(probability):
    """Foreground where the probability exceeds MASK_THRESHOLD (array -> bool array)."""
    return probability > MASK_THRESHOLD


def to_batch(rgbs: list[np.ndarray]) -> np.ndarray:
    """(H, W, 3) uint8 arrays of one size -> (B, 3, H, W) float32 in [0, 1]."""
    return np.stack(rgbs).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)


class MaskDepth:
    """A loaded model with a `predict` that takes photos of any size.

    runner: the model on an engine (runtime/onnx_runner.py). max_side: the working size's longer
    side (None: the photo profile's, inference/profiles.py). edges: "guided" (the mask's edges at full resolution, inference/upsample.py) or
    "bilinear" (the working-size probability blown up). priors: the scene prior of each
    background (inference/prior.py: ScenePriors, made once per background); None: the
    network's depth alone, unless a call gives the scene's depth."""

    def __init__(self, runner, max_side: int | None = None, edges: str = "guided",
                 priors: ScenePriors | None = None):
        if edges not in EDGES:
            raise UserError(f"unknown edges {edges!r}; choose one of: {', '.join(EDGES)}")
        max_side = working_side(PHOTO, max_side)
        _check_count(max_side, "max_side", "pixels")
        self.runner, self.max_side, self.edges = runner, max_side, edges
        self.ref: ModelRef | None = None  # what it was loaded from (load); None for a bare runner
        self.priors = priors if priors is not None else ScenePriors()
        self._small: tuple = (None, None, None)  # (array, size, it resized): a video's plate

    def variant(self, max_side: int | None = None, priors: ScenePriors | None = None) -> MaskDepth:
        """The same model (runner, edges) at another working size and/or with other scene
        priors (None: this one's); the runner is shared, not copied."""
        other = MaskDepth(self.runner, max_side or self.max_side, self.edges,
                          self.priors if priors is None else priors)
        other.ref = self.ref
        return other

    @property
    def name(self) -> str | None:
        """The zoo name when loaded as a shipped model, else None."""
        return self.ref.name if self.ref is not None else None

    @property
    def scene_depth_source(self) -> str:
        """What gives the empty scene's depth when a call gives none: the background depth
        image, a depth model's source, or "network"."""
        if self.priors.depth is not None:
            return "background depth image"
        return self.priors.model.source if self.priors.model is not None else NETWORK

    @classmethod
    def load(cls, path: ModelRef | str | Path | None = None, device: str = "cpu", max_side: int | None = None,
             engine: str = "auto", edges: str = "guided", threads: int | None = None,
             scene_depth: str | Path | None = DEFAULT_SCENE_DEPTH, background_depth=None
             ) -> MaskDepth:
        """Load a shipped model by name (models/zoo.py; None: "small"), weights
        (.safetensors), a training checkpoint (.ckpt) or an ONNX file (.onnx). engine: "auto"
        (ONNX Runtime on the CPU, PyTorch on a GPU), "onnx" or "torch" (runtime/loader.py).
        The shipped models on the CPU need no PyTorch. threads: ONNX Runtime's threads (default
        one per core). scene_depth: the depth model run once per background for the scene
        prior: "builtin" (the default), "none", or an .onnx/.tflite file
        (inference/scene_depth.py). background_depth: the empty scene's depth for every call
        that gives none (one camera's RGB-D background; predict's forms)."""
        priors = ScenePriors(load_scene_depth_model(scene_depth), _depth_array(background_depth))
        ref = resolve_model(path)
        model = cls(load_runner(ref, engine, device, threads), max_side, edges, priors)
        model.ref = ref
        return model

    def predict(self, image, background, align: bool = True, batch_size: int = 8,
                background_depth=None):
        """Predict for one pair, or for a list of images (with one shared background or a list).

        image, background: path, PIL image or numpy array (H, W, 3), uint8 or float in [0, 1].
        align: first align the background to the image (camera shift, exposure change) and
        warn when it does not look like the same scene. background_depth: the empty scene's
        depth, registered to the background (e.g. from an RGB-D camera): a 16-bit PNG's path
        (millimetres, 0 = unknown), a uint16 array of millimetres or a float array of metres;
        one for a shared background, or a list. Returns a Prediction, or a list.
        """
        _check_count(batch_size, "batch_size", "pairs")
        if not isinstance(image, (list, tuple)):
            depth = _depth_array(background_depth)
            return self._predict_many([image], [background], align, batch_size, [depth])[0]
        count = len(image)
        backgrounds = background if isinstance(background, (list, tuple)) else [background] * count
        depths = ([_depth_array(d) for d in background_depth] if isinstance(background_depth, list)
                  else [_depth_array(background_depth)] * count)  # a shared file read once
        if len(backgrounds) != count or len(depths) != count:
            raise UserError(f"{count} images but {len(backgrounds)} backgrounds and "
                            f"{len(depths)} background depths")
        return self._predict_many(list(image), list(backgrounds), align, batch_size, depths)

    def _prepare(self, image, background, align: bool):
        """(image, background as used, mismatch, homography: image -> background photo pixels,
        None when the photo is used as it is, the background photo as given)."""
        rgb = check_photo_size(to_rgb_array(image, "image"), "image")
        bg = check_photo_size(to_rgb_array(background, "background"), "background")
        photo = bg
        mismatch = homography = None
        if bg.shape != rgb.shape and not align:
            raise UserError(f"image is {rgb.shape[1]}x{rgb.shape[0]} but background is "
                            f"{bg.shape[1]}x{bg.shape[0]}; use photos of equal size or align=True")
        if align:
            from maskdepth.inference.align import align_background
            from maskdepth.inference.mismatch import MISMATCH_WARNING, mismatch_score
            result = align_background(rgb, bg)
            # Keep the photo as it was when aligning did not make it fit better (a large
            # foreground can pull the alignment off).
            before = mismatch_score(rgb, bg) if bg.shape == rgb.shape else float("inf")
            if result.mismatch <= before:
                bg, mismatch, homography = result.background, result.mismatch, result.homography
            else:
                mismatch = before
            if mismatch > MISMATCH_WARNING:
                warnings.warn(f"the background does not look like the image's scene (mismatch "
                              f"{mismatch:.2f} > {MISMATCH_WARNING}); results may be poor", stacklevel=4)
        return rgb, bg, mismatch, homography, photo

    def _predict_many(self, images, backgrounds, align, batch_size, depths) -> list[Prediction]:
        prepared = [self._prepare(i, b, align) for i, b in zip(images, backgrounds)]
        priors = [self.priors.of(photo, depth, homography, rgb.shape[:2])
                  for (rgb, _, _, homography, photo), depth in zip(prepared, depths)]
        takes_prior = getattr(self.runner, "takes_prior", False)
        results: list[Prediction | None] = [None] * len(prepared)
        groups: dict[tuple, list[int]] = {}
        for index, (rgb, *_) in enumerate(prepared):
            groups.setdefault(rgb.shape, []).append(index)
        for shape, indices in groups.items():
            work = self.working_size(shape[:2])
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                image = to_batch([resized(prepared[i][0], work) for i in chunk])
                background = to_batch([self._background_at(prepared[i][1], work) for i in chunk])
                extra = ([np.stack([_prior_at(priors[i], work) for i in chunk])[:, None]]
                         if takes_prior else [])
                probability, depth = self.runner.predict(image, background, *extra)
                for j, i in enumerate(chunk):
                    rgb, bg, mismatch, _, _ = prepared[i]
                    results[i] = self.full_size(probability[j, 0], depth[j, 0], rgb, bg, priors[i],
                                                mismatch)
        return results

    def full_size(self, probability: np.ndarray, depth: np.ndarray, image: np.ndarray,
                  background: np.ndarray, prior=None, mismatch: float | None = None) -> Prediction:
        """The Prediction at the image's size from the network's working-size probability and
        depth (h, w): the mask's edges by `self.edges`, the depth fused with the scene prior
        (inference/prior.py) when there is a usable one, else the network's depth."""
        p = self.upsample_probability(probability, image, background)
        mask = to_mask(p)
        if prior is not None and prior.usable:
            return Prediction(mask, p, mismatch=mismatch, depth_source=prior.source,
                              depth_mm=fuse(prior, depth, to_mask(probability), mask))
        # millimetres at the working size, then nearest: the same numbers as converting the
        # full-size metres, for a fraction of the work
        depth_mm = resized(depth_to_millimetres(depth), image.shape[:2], nearest=True)
        return Prediction(mask, p, mismatch=mismatch, depth_mm=depth_mm)

    def _background_at(self, background: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The background at the working size, resized once for the frames sharing it."""
        array, at, small = self._small
        if array is not background or at != size:
            small = resized(background, size)
            self._small = (background, size, small)
        return small

    def upsample_probability(self, probability: np.ndarray, image: np.ndarray, background: np.ndarray
                   ) -> np.ndarray:
        """The working-size probability (h, w) at the image's size, by `self.edges`."""
        if probability.shape == image.shape[:2]:
            return probability
        if self.edges == "guided":
            return guided_upsample(probability, image, background, shrink=resized)
        return resized(probability, image.shape[:2])

    def working_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(height, width) the model runs at for inputs of `size`: longer side <= max_side,
        never below MIN_SIDE, never upscaled."""
        return fit_within(size, self.max_side, minimum=MIN_SIDE)


def _depth_array(value):
    """A background depth given as a 16-bit PNG's path -> its (H, W) metres; any other form
    (arrays, None) as it is."""
    if isinstance(value, (str, Path)):
        from maskdepth.io.images import read_depth
        return read_depth(value)
    return value


def _prior_at(prior, size: tuple[int, int]) -> np.ndarray:
    """A scene prior's (h, w) metres at the working size for a network that takes it; zeros
    (unknown) without a usable one."""
    return prior.at(size) if prior is not None and prior.usable else np.zeros(size, np.float32)


def resized(array: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """`array` (H, W[, C]) at (height, width): area averaging when shrinking (images), bilinear
    when growing (the probability back to the input's size); itself when equal. nearest: each
    output pixel takes one input pixel's value (depth: never a blend of a person's depth and the
    wall's behind them, which would be a depth that nothing in the scene has)."""
    if array.shape[:2] == tuple(size):
        return array
    if nearest:
        return cv2.resize(array, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    if size[0] < array.shape[0]:
        return shrink(array, size)
    return cv2.resize(array, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
