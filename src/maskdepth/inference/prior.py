"""The scene prior: the empty scene's metric depth, measured once per background, and its fusion
with the network's depth. Torch-free.

    prior = prior_from_model(scene_depth_model, background)     # a depth model's estimate
    prior = prior_from_depth(depth_mm, background.shape[:2])    # the user's own depth image
    depth_mm = fuse(prior, net_depth, small_mask, mask)         # (H, W) uint16 millimetres

The empty scene does not change from frame to frame, so its depth is worth measuring once, as
well as it can be: by a depth camera (the RGB-D case) or a metric depth model run on the
background. The network keeps what it does well, the mask and where the foreground stands:
- outside the mask the depth is the prior's;
- inside it, each object stands upright on the surface the prior sees just below it
  (upright_depth); objects with none (cut off by the picture's bottom, floating) take the
  network's depth times one scale, the median of prior / network over the scene pixels around
  the mask's lowest part (foreground_scale); never behind the scene it hides
  (docs/scene-prior.md measures this against other rules);
- where the prior has no depth (holes of a depth camera), the network's depth times the scale
  that fits it to the prior over the whole scene;
- a prior that covers less than MIN_COVERAGE of the picture is not used: the network's depth
  alone, and the prediction says so (Prediction.depth_source).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import cv2
import numpy as np

from maskdepth.errors import UserError
from maskdepth.inference.placement import foreground_scale, place_foreground
from maskdepth.inference.upsample import guided_coefficients
from maskdepth.io.images import depth_to_millimetres

MIN_COVERAGE = 0.5  # share of the picture with prior depth, below which it is not used
GUIDE_SIDE = 320  # the prior's edges are fitted to the background at this longer side
GUIDE_RADIUS = 2  # window radius there (5x5 windows)
GUIDE_EPS = 1e-3  # the guide (grey, [0, 1]) must vary by about 0.03 inside a window to count
NETWORK = "network"  # Prediction.depth_source when no prior was used


class ScenePrior:
    """The empty scene's depth at the background's size. depth_mm: (H, W) uint16 millimetres,
    0 = unknown. source: where it came from (a depth model's `source`, or "background depth
    image"). `at(size)` gives it in metres at a working size, cached."""

    def __init__(self, depth_mm: np.ndarray, source: str):
        self.depth_mm, self.source = depth_mm, source
        self.holes = depth_mm == 0
        self.has_holes = bool(self.holes.any())
        # the deepest a foreground pixel may be: in front of the scene it hides (no bound where
        # the scene's depth is unknown)
        self.behind_mm = np.where(self.holes, np.uint16(65535), depth_mm) if self.has_holes \
            else depth_mm
        self.coverage = 1.0 - float(self.holes.mean()) if depth_mm.size else 0.0
        self.usable = self.coverage >= MIN_COVERAGE
        self._at: dict[tuple[int, int], np.ndarray] = {}

    def at(self, size: tuple[int, int]) -> np.ndarray:
        """(h, w) float32 metres at a working size; 0 = unknown (nearest: no blend of depths)."""
        if size not in self._at:
            self._at[size] = cv2.resize(self.depth_mm, (size[1], size[0]),
                                        interpolation=cv2.INTER_NEAREST).astype(np.float32) / 1000
        return self._at[size]


def prior_from_model(model, background: np.ndarray) -> ScenePrior:
    """A depth model's estimate (scene_depth.SceneDepthModel) of the background (H, W, 3) uint8,
    brought to full size along the background's edges (guided_prior)."""
    return ScenePrior(depth_to_millimetres(guided_prior(model(background), background)), model.source)


def guided_prior(depth: np.ndarray, background: np.ndarray) -> np.ndarray:
    """A depth model's output (h, w) metres (any size, blurred, 0 = unknown) -> (H, W) float32
    metres at the background's size, its edges moved to where the background's own edges are:
    a guided filter (inference/upsample.py) fitted at GUIDE_SIDE with the grey background as
    guide, its coefficients blown up to full size. Unknown pixels stay unknown."""
    height, width = background.shape[:2]
    scale = min(1.0, GUIDE_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = cv2.cvtColor(background, cv2.COLOR_RGB2GRAY)
    guide = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    known = cv2.resize((depth > 0).astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.999
    smooth = cv2.resize(depth, size, interpolation=cv2.INTER_LINEAR)
    a, b = guided_coefficients(smooth, guide, GUIDE_RADIUS, GUIDE_EPS)
    a, b = (cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR) for c in (a, b))
    result = a * (grey.astype(np.float32) / 255) + b
    lowest = float(depth[depth > 0].min()) if (depth > 0).any() else 0.0
    result = np.maximum(result, lowest)  # no depth nearer than the model's own nearest
    unknown = cv2.resize((~known).astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    result[unknown.astype(bool)] = 0
    return result


def prior_from_depth(depth, size: tuple[int, int], name: str = "background depth") -> ScenePrior:
    """The user's depth image of the empty scene -> ScenePrior at `size` (H, W).

    depth: (h, w) uint16 millimetres (a depth PNG's values, 0 = unknown) or float metres
    (0 or non-finite = unknown), with the photo's aspect ratio; another resolution is resized
    (nearest: depths are never blended)."""
    array = np.asarray(depth)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.size == 0:
        raise UserError(f"{name}: expected a (height, width) depth image, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        array = depth_to_millimetres(np.where(np.isfinite(array) & (array > 0), array, 0))
    elif array.dtype != np.uint16:
        raise UserError(f"{name}: {array.dtype} depth; give uint16 millimetres (a 16-bit PNG) "
                        f"or float metres")
    height, width = size
    if abs(array.shape[1] / array.shape[0] - width / height) > 0.02 * width / height:
        raise UserError(f"{name} is {array.shape[1]}x{array.shape[0]} but the photos are "
                        f"{width}x{height}; give the empty scene's depth registered to the "
                        f"background photo (same aspect ratio)")
    if array.shape != (height, width):
        array = cv2.resize(array, (width, height), interpolation=cv2.INTER_NEAREST)
    return ScenePrior(np.ascontiguousarray(array), "background depth image")


def fuse(prior: ScenePrior, net_depth: np.ndarray, small_mask: np.ndarray, mask: np.ndarray
         ) -> np.ndarray:
    """(H, W) uint16 millimetres: the prior outside `mask`, the network's depth placed on the
    scene inside it (foreground_scale) and in the prior's holes (scaled to the whole scene).
    net_depth (h, w) metres and small_mask (h, w) bool at the working size; mask (H, W) bool."""
    height, width = mask.shape
    small_prior = prior.at(net_depth.shape)
    depth_mm = prior.depth_mm.copy()
    if mask.any():
        placed = cv2.resize(depth_to_millimetres(place_foreground(net_depth, small_mask, small_prior)),
                            (width, height), interpolation=cv2.INTER_NEAREST)
        cv2.copyTo(np.minimum(placed, prior.behind_mm), mask.view(np.uint8), depth_mm)
    holes = prior.holes & ~mask if prior.has_holes else None  # checked once per prior, not per frame
    if holes is not None and holes.any():
        scale = foreground_scale(net_depth, np.zeros_like(small_mask), small_prior)
        filled = cv2.resize(depth_to_millimetres(net_depth * np.float32(scale)), (width, height),
                            interpolation=cv2.INTER_NEAREST)
        cv2.copyTo(filled, holes.view(np.uint8), depth_mm)
    return depth_mm


def _digest(array: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).digest() + \
        repr((array.shape, array.dtype.str)).encode()


class ScenePriors:
    """The prior of each background, made once and kept (the last CACHE_SIZE): a video's plate,
    a live session's background, the background an image folder shares.

    model: a scene_depth.SceneDepthModel or None. depth: the scene's depth for calls that give
    none (one camera's RGB-D background; prior_from_depth's forms). `of(background, depth,
    homography, size)`: the prior for a background photo (H, W, 3) uint8 as given (before
    alignment), from `depth` (or the default one) when there is one, else from the model (None
    when there is none either); homography (inference/align.py's, image -> background pixels) warps it onto
    the image, of `size` (H, W), as the background itself was warped."""

    CACHE_SIZE = 4

    def __init__(self, model=None, depth=None):
        self.model, self.depth = model, depth
        self.computed = 0  # priors made (not taken from the cache)
        self._cache: OrderedDict[bytes, ScenePrior] = OrderedDict()
        self._last: tuple = (None, None, None)  # (background, depth, key): the same objects again

    def of(self, background: np.ndarray, depth=None, homography: np.ndarray | None = None,
           size: tuple[int, int] | None = None) -> ScenePrior | None:
        depth = self.depth if depth is None else depth
        if depth is None and self.model is None:
            return None
        prior = self._cached(background, depth)
        height, width = size or prior.depth_mm.shape
        if (homography is None or np.allclose(homography, np.eye(3))) and \
                prior.depth_mm.shape == (height, width):
            return prior
        homography = np.eye(3) if homography is None else homography
        warped = cv2.warpPerspective(prior.depth_mm, homography, (width, height),
                                     flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return ScenePrior(warped, prior.source)

    def _cached(self, background: np.ndarray, depth) -> ScenePrior:
        last_background, last_depth, key = self._last
        if background is not last_background or depth is not last_depth:
            source = background if depth is None else np.asarray(depth)
            key = (b"depth" if depth is not None else b"model") + _digest(source) + \
                repr(background.shape).encode()
            self._last = (background, depth, key)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prior = (prior_from_model(self.model, background) if depth is None
                 else prior_from_depth(depth, background.shape[:2]))
        self.computed += 1
        self._cache[key] = prior
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return prior
