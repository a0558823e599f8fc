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
from maskdepth.inference.loader import load_runner
from maskdepth.inference.upsample import guided_upsample
from maskdepth.io.images import depth_to_millimetres
from maskdepth.io.resize import fit_within, shrink
from maskdepth.models.zoo import resolve_weights

MAX_SIDE = 320  # larger inputs are processed at this longer side, then scaled back
# ... for video: the model's training size. On a 480x480 video composed from the training
# photos it scored mask IoU 0.865 against 0.852 at 320, at about 3x the speed.
VIDEO_MAX_SIDE = 160
EDGES = ("guided", "bilinear")  # how the probability reaches the input's size (inference/upsample.py)


def default_weights() -> Path:
    """Path of the model shipped as the default (small)."""
    return resolve_weights(None)


class Prediction:
    """One prediction at the input's size.

    mask: (H, W) bool foreground. probability: (H, W) float32 in [0, 1].
    depth: (H, W) float32 z-depth in metres, whole millimetres; depth_mm: the same as uint16
    millimetres (0 = unknown), what depth PNGs and videos hold. Give either; the other is made
    on first use (a video writes millimetres and never pays for the metres). Given as depth_mm,
    depth is what a depth PNG reads back: 0 for unknown, at most 65.535 m. mismatch: how
    little the background looked like the image's scene (0 good, 1 unrelated), when the
    background was aligned first, else None.
    """

    def __init__(self, mask: np.ndarray, probability: np.ndarray, depth: np.ndarray | None = None,
                 mismatch: float | None = None, depth_mm: np.ndarray | None = None):
        if depth is None and depth_mm is None:
            raise ValueError("a Prediction needs depth (metres) or depth_mm")
        self.mask, self.probability, self.mismatch = mask, probability, mismatch
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


def to_rgb_array(value, name: str = "image") -> np.ndarray:
    """A path, PIL image or numpy array -> (H, W, 3) uint8 RGB.

    Arrays: (H, W, 3) RGB (a 4th channel is dropped) or (H, W) grey, of
    - uint8: as they are;
    - other integer types (int32, int64, uint16, ...): 8-bit levels 0..255; uint16 holding more
      (a 16-bit photo) is scaled by 255/65535;
    - floats: in [0, 1].
    PIL images of 16- or 32-bit grey (modes I;16, I, F) follow the same rules as their arrays.
    Anything else (negative values, floats above 1, NaN) is a UserError naming `name`: a guess
    would quietly give a wrong prediction.
    """
    from PIL import Image

    if isinstance(value, (str, Path)):
        from maskdepth.io.images import read_rgb
        return read_rgb(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise UserError(f"{name}: bytes of an encoded file; pass the file's path, or decode it "
                        f"first (maskdepth.io.images.decode_rgb(data, name))")
    if isinstance(value, (list, tuple)):
        raise UserError(f"{name}: a nested list; pass pixels as a numpy array (H, W, 3), and "
                        f"several images as a flat list of images")
    if isinstance(value, Image.Image):
        if value.mode.startswith(("I", "F")):  # 16/32-bit grey: PIL's RGB conversion clips it
            value = np.array(value)  # to white; the array rules below scale or refuse it
        else:
            try:
                return np.array(value.convert("RGB"))
            except ValueError:  # modes PIL cannot convert, e.g. premultiplied "La" and "RGBa"
                raise UserError(f"{name}: a PIL image of mode {value.mode!r}, which PIL cannot "
                                f"turn into RGB; convert it to RGB or RGBA first") from None
    array = np.asarray(value)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3 and array.size \
            and array.flags.c_contiguous:
        return array  # as it is: the same object, so a video's shared plate is resized once
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise UserError(f"{name}: expected an (H, W, 3) RGB array, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise UserError(f"{name}: the image is empty ({array.shape[1]}x{array.shape[0]} pixels)")
    array = array[..., :3]
    return np.ascontiguousarray(_to_uint8(array, name))


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    """See to_rgb_array for the accepted value ranges."""
    if array.dtype == np.uint8:
        return array
    if not array.dtype.isnative:  # big-endian (a PIL I;16B image, a raw camera buffer)
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.integer)
                                       or np.issubdtype(array.dtype, np.floating)):
        raise UserError(f"{name}: {array.dtype} arrays are not images; pass uint8 (0..255) or "
                        f"float (0..1) RGB")
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if np.issubdtype(array.dtype, np.integer):
        if array.dtype == np.uint16 and high > 255:
            return np.round(array.astype(np.float32) * (255 / 65535)).astype(np.uint8)
        if low < 0 or high > 255:
            raise UserError(f"{name}: {array.dtype} values run from {low:g} to {high:g}; integer "
                            f"images must be 0..255 (or uint16 0..65535)")
        return array.astype(np.uint8)
    if not np.isfinite(array).all() or low < -1e-3 or high > 1 + 1e-3:  # rounding slack
        hint = " (divide by 255)" if 1 < high <= 255 else ""
        raise UserError(f"{name}: float values run from {low:g} to {high:g}; float images must be "
                        f"in [0, 1]{hint}, or pass uint8")
    return np.round(np.clip(array.astype(np.float32), 0, 1) * 255).astype(np.uint8)


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

    runner: the model on an engine (inference/runtime.py). max_side: the working size's longer
    side. edges: "guided" (the mask's edges at full resolution, inference/upsample.py) or
    "bilinear" (the working-size probability blown up)."""

    def __init__(self, runner, max_side: int = MAX_SIDE, edges: str = "guided"):
        if edges not in EDGES:
            raise UserError(f"unknown edges {edges!r}; choose one of: {', '.join(EDGES)}")
        _check_count(max_side, "max_side", "pixels")
        self.runner, self.max_side, self.edges = runner, max_side, edges
        self._small: tuple = (None, None, None)  # (array, size, it resized): a video's plate

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu", max_side: int = MAX_SIDE,
             engine: str = "auto", edges: str = "guided", threads: int | None = None
             ) -> MaskDepth:
        """Load a shipped model by name ("small", the default, or "large"), weights
        (.safetensors), a training checkpoint (.ckpt) or an ONNX file (.onnx). engine: "auto"
        (ONNX Runtime on the CPU, PyTorch on a GPU), "onnx" or "torch" (inference/loader.py).
        The shipped models on the CPU need no PyTorch. threads: ONNX Runtime's threads (default
        one per core)."""
        return cls(load_runner(path, engine, device, threads), max_side, edges)

    def predict(self, image, background, align: bool = True, batch_size: int = 8):
        """Predict for one pair, or for a list of images (with one shared background or a list).

        image, background: path, PIL image or numpy array (H, W, 3), uint8 or float in [0, 1].
        align: first align the background to the image (camera shift, exposure change) and
        warn when it does not look like the same scene. Returns a Prediction, or a list.
        """
        _check_count(batch_size, "batch_size", "pairs")
        if not isinstance(image, (list, tuple)):
            return self._predict_many([image], [background], align, batch_size)[0]
        backgrounds = background if isinstance(background, (list, tuple)) else [background] * len(image)
        if len(backgrounds) != len(image):
            raise UserError(f"{len(image)} images but {len(backgrounds)} backgrounds")
        return self._predict_many(list(image), list(backgrounds), align, batch_size)

    def _prepare(self, image, background, align: bool):
        rgb, bg = to_rgb_array(image, "image"), to_rgb_array(background, "background")
        mismatch = None
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
            bg, mismatch = (result.background, result.mismatch) if result.mismatch <= before else (bg, before)
            if mismatch > MISMATCH_WARNING:
                warnings.warn(f"the background does not look like the image's scene (mismatch "
                              f"{mismatch:.2f} > {MISMATCH_WARNING}); results may be poor", stacklevel=4)
        return rgb, bg, mismatch

    def _predict_many(self, images, backgrounds, align, batch_size) -> list[Prediction]:
        prepared = [self._prepare(i, b, align) for i, b in zip(images, backgrounds)]
        results: list[Prediction | None] = [None] * len(prepared)
        groups: dict[tuple, list[int]] = {}
        for index, (rgb, _, _) in enumerate(prepared):
            groups.setdefault(rgb.shape, []).append(index)
        for shape, indices in groups.items():
            work = self.working_size(shape[:2])
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                image = to_batch([resized(prepared[i][0], work) for i in chunk])
                background = to_batch([self._background_at(prepared[i][1], work) for i in chunk])
                probability, depth = self.runner.predict(image, background)
                for j, i in enumerate(chunk):
                    rgb, bg, mismatch = prepared[i]
                    p = self.upsample_probability(probability[j, 0], rgb, bg)
                    # millimetres at the working size, then nearest: the same numbers as
                    # converting the full-size metres, for a fraction of the work
                    d = resized(depth_to_millimetres(depth[j, 0]), shape[:2], nearest=True)
                    results[i] = Prediction(to_mask(p), p, mismatch=mismatch, depth_mm=d)
        return results

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
        never below 32 px, never upscaled."""
        return fit_within(size, self.max_side, minimum=32)


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
