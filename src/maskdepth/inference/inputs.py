"""Photos from users into (H, W, 3) uint8 RGB arrays: paths, PIL images and numpy arrays of any
common type, with a one-line error for anything that would be a guess."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskdepth.errors import UserError

MIN_SIDE = 8  # px: smaller photos hold no scene to align or predict (OpenCV's phase correlation
# needs 2 px, the colour fit's sample grid more)


def check_photo_size(rgb: np.ndarray, name: str) -> np.ndarray:
    """`rgb` (H, W, 3) itself, or a UserError when a side is under MIN_SIDE: the one size rule
    of the API, the CLI, the HTTP API and live sessions."""
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise UserError(f"{name}: {width}x{height} pixels; photos need at least "
                        f"{MIN_SIDE}x{MIN_SIDE}")
    return rgb


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
