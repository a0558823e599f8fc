"""Image files <-> numpy arrays, in the units of the dataset contract (see `maskdepth.io.layout`).

    image = read_rgb("scene/0001.jpg")            # (H, W, 3) uint8
    write_depth("out/0001_depth.png", depth_m)    # float metres -> 16-bit PNG millimetres

Reading goes through PIL (it reports mode and bit depth without decoding pixels, which
`maskdepth.io.validate` relies on); writing goes through cv2, which encodes a 160x160 PNG about 1.4x
faster than PIL at the same compression level. Every write is atomic: a crash or Ctrl-C never
leaves a half-written file where a finished one is expected.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from maskdepth.errors import UserError
from maskdepth.io.atomic import atomic_write_bytes

# Exports and video predictions write thousands of PNGs, so encoding speed matters more than the
# last 10 % of size. zlib level 1, run-length matching only, and the "sub" row filter alone (no
# per-row filter search), measured on rendered scenes against level 1 with Huffman-only coding:
# RGB 1.2 vs 2.2 ms and the same size at 160x160; masks 0.06 vs 0.4 ms and 5x smaller; 16-bit
# depth at 640x480 6.0 vs 12.6 ms and about the same size.
# (The filter choice came with OpenCV 4.12; older versions search filters per row.)
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):
    PNG_PARAMS += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
JPEG_QUALITY = 95
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (about 120 MB as 8-bit RGB)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")  # the photos every command reads
JPEG_SUFFIXES = (".jpg", ".jpeg")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Modes PIL can turn into 8-bit RGB(A) without guessing a bit depth.
EIGHT_BIT_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "1", "CMYK", "YCbCr")
SIXTEEN_BIT_GREY_MODES = ("I;16", "I;16B", "I;16L", "I")


def _encode(path: Path, array: np.ndarray) -> bytes:
    """Encode a cv2-ordered array (grey, or BGR) as PNG, or JPEG for a .jpg/.jpeg suffix."""
    if path.suffix.lower() in JPEG_SUFFIXES:
        ok, buffer = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    elif path.suffix.lower() == ".png":
        ok, buffer = cv2.imencode(".png", array, PNG_PARAMS)
    else:
        raise UserError(f"{path}: unsupported file type {path.suffix!r}; use .png, .jpg or .jpeg")
    if not ok:
        raise UserError(f"{path}: could not encode a {array.dtype} {array.shape} array")
    return buffer.tobytes()


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of an RGB (H, W, 3) uint8, grey (H, W) uint8 or 16-bit (H, W) uint16 array."""
    if array.ndim == 3:
        array = np.ascontiguousarray(array[..., ::-1])  # cv2 wants BGR
    return _encode(Path("memory.png"), array)


def encode_jpeg(array: np.ndarray) -> bytes:
    """JPEG bytes (quality JPEG_QUALITY) of an RGB (H, W, 3) or grey (H, W) uint8 array: for
    pictures shown live, where PNG's encoding would cost more than the model."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    return _encode(Path("memory.jpg"), array)


def _check_shape(array: np.ndarray, ndim: int, name: str) -> None:
    """Raise ValueError when `array` is not (H, W) for ndim 2 or (H, W, 3) for ndim 3."""
    if array.ndim != ndim or (ndim == 3 and array.shape[2] != 3) or 0 in array.shape:
        wanted = "(H, W)" if ndim == 2 else "(H, W, 3)"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open an image lazily (header only, pixels decoded on first access).

    Raises UserError naming the file when it is missing or not an image PIL can read.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found; check the path and that the file was copied")
    return _open(path, path)


def _open(source, name) -> Image.Image:
    """PIL's lazy open of `source` (a path or a file object), errors naming `name`."""
    try:
        image = Image.open(source)
    except Image.DecompressionBombError:
        raise UserError(f"{name}: the image is larger than {MAX_PIXELS:,} pixels; downscale it "
                        f"(maskdepth works at 320 px anyway)") from None
    except UnidentifiedImageError:
        raise UserError(f"{name}: not a readable image (no image format PIL knows); re-save "
                        f"it as PNG or JPEG") from None
    except (OSError, ValueError) as error:  # PIL raises ValueError for a truncated PNG header
        raise UserError(f"{name}: not a readable image ({error}); re-save it as PNG") from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise UserError(f"{name}: {width}x{height} is more than {MAX_PIXELS:,} pixels; downscale "
                        f"it (maskdepth works at 320 px anyway)")
    encoded = _encoded_bytes(source) if image.format == "JPEG" else None
    if encoded is not None and encoded * 8 < width * height / 64:
        # Huffman coding spends a bit at least on each 8x8 block's DC value: fewer bytes is a
        # file cut short and closed with an end marker, which libjpeg decodes into grey
        image.close()
        raise UserError(f"{name}: corrupt or truncated JPEG ({width}x{height} pixels in "
                        f"{encoded:,} bytes); re-export it")
    return image


def _encoded_bytes(source) -> int | None:
    """The size of an encoded image given as a path or a BytesIO (None for other sources)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    return len(source.getbuffer()) if hasattr(source, "getbuffer") else None


def _decode_8bit(data: bytes, name: str, mode: str) -> np.ndarray:
    return _as_8bit(_open(io.BytesIO(data), name), name, mode)


def _as_8bit(image: Image.Image, name, mode: str) -> np.ndarray:
    """An opened 8-bit image's pixels converted to PIL `mode` (and the image closed); 16/32-bit
    images are refused, naming `name`."""
    with image:
        if image.mode not in EIGHT_BIT_MODES:
            raise UserError(f"{name}: {image.mode} image where 8-bit is required; "
                            f"re-save it as 8-bit PNG or JPEG")
        return np.array(_load(image, name).convert(mode))  # writable, unlike asarray


def encoded_size(data: bytes, name: str) -> tuple[int, int]:
    """(height, width) of an encoded image from its header alone (no pixels decoded); errors
    name `name`."""
    with _open(io.BytesIO(data), name) as image:
        return image.size[1], image.size[0]


def decode_rgb(data: bytes, name: str) -> np.ndarray:
    """An encoded image (PNG, JPEG, ... bytes, e.g. a zip member) -> uint8 (H, W, 3) RGB;
    errors name `name`."""
    return _decode_8bit(data, name, "RGB")


def decode_grey(data: bytes, name: str) -> np.ndarray:
    """An encoded 8-bit image -> uint8 (H, W) grey levels; errors name `name`."""
    return _decode_8bit(data, name, "L")


def _load(image: Image.Image, path: Path) -> Image.Image:
    """Decode the pixels now, turning a truncated/corrupt file into a UserError."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise UserError(f"{path}: corrupt or truncated image ({error}); re-export it") from error
    return image


def png_bit_depth(path: str | os.PathLike) -> int | None:
    """Bits per channel from a PNG's IHDR chunk (1, 2, 4, 8 or 16); None if not a PNG.

    Needed because PIL silently reduces 16-bit RGB PNGs to its 8-bit "RGB" mode.
    """
    with open(path, "rb") as file:
        head = file.read(25)
    if len(head) < 25 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return head[24]


def _read_8bit(path: str | os.PathLike, mode: str) -> np.ndarray:
    """Read any 8-bit image and convert it to PIL `mode`; refuse 16/32-bit files."""
    path = Path(path)
    return _as_8bit(open_image(path), path, mode)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image or background photo: uint8 (H, W, 3), RGB order, 0..255.

    Greyscale is repeated to three channels; an alpha channel is dropped (not composited).
    EXIF orientation is not applied: pixels are used as stored, like the masks drawn on them.
    """
    return _read_8bit(path, "RGB")


def read_rgba(path: str | os.PathLike) -> np.ndarray:
    """Read a cut-out: uint8 (H, W, 4), RGBA, 0..255. A file without alpha gets alpha 255."""
    return _read_8bit(path, "RGBA")


def read_grey(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel 8-bit label image (e.g. CDnet ground truth): uint8 (H, W)."""
    return _read_8bit(path, "L")


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a foreground mask: bool (H, W), True where the 8-bit grey value is > 127."""
    return read_grey(path) > 127


def read_depth(path: str | os.PathLike) -> np.ndarray:
    """Read a depth map: float32 (H, W), metres of z-depth, 0 = unknown.

    The file must be a 16-bit single-channel PNG in millimetres; 8-bit files are refused
    because their 0..255 range cannot hold millimetres.
    """
    path = Path(path)
    with open_image(path) as image:
        return _depth_metres(image, png_bit_depth(path), path)


def decode_depth(data: bytes, name: str) -> np.ndarray:
    """An encoded depth PNG (bytes, e.g. an upload) -> float32 (H, W) metres, 0 = unknown; the
    rules of read_depth, errors naming `name`."""
    bits = data[24] if data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR" else None
    with _open(io.BytesIO(data), name) as image:
        return _depth_metres(image, bits, name)


def _depth_metres(image: Image.Image, bits: int | None, name) -> np.ndarray:
    if bits != 16 or image.mode not in SIXTEEN_BIT_GREY_MODES:
        found = f"{bits}-bit {image.mode}" if bits else f"{image.format} {image.mode}"
        raise UserError(
            f"{name}: {found} depth where a 16-bit single-channel PNG is required; "
            "save depth as uint16 millimetres (see maskdepth.io.images.write_depth)"
        )
    millimetres = np.asarray(_load(image, name)).astype(np.float32)
    return millimetres / np.float32(1000.0)


def write_rgb(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write uint8 (H, W, 3) RGB as PNG, or JPEG (quality 95) for a .jpg/.jpeg suffix."""
    path = Path(path)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    _check_shape(image, 3, "image")
    return atomic_write_bytes(path, _encode(path, np.ascontiguousarray(image[..., ::-1])))


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> Path:
    """Write a mask (H, W), bool or uint8 (nonzero = foreground), as 8-bit PNG of 0/255."""
    path = Path(path)
    _check_shape(mask, 2, "mask")
    values = np.where(mask.astype(bool), 255, 0).astype(np.uint8)
    return atomic_write_bytes(path, _encode(path, values))


def depth_to_millimetres(depth_m: np.ndarray) -> np.ndarray:
    """Metres (H, W) float -> uint16 millimetres, rounded; NaN, inf and negatives become 0
    (unknown), values past 65.535 m clip to 65535."""
    depth_m = np.asarray(depth_m, dtype=np.float64)
    valid = np.isfinite(depth_m) & (depth_m > 0)
    millimetres = np.rint(np.where(valid, depth_m, 0.0) * 1000.0)
    return np.clip(millimetres, 0, 65535).astype(np.uint16)


def write_depth(path: str | os.PathLike, depth_m: np.ndarray) -> Path:
    """Write depth in metres, float (H, W), as a 16-bit PNG of millimetres (0 = unknown)."""
    _check_shape(depth_m, 2, "depth")
    return write_depth_mm(path, depth_to_millimetres(depth_m))


def write_depth_mm(path: str | os.PathLike, depth_mm: np.ndarray) -> Path:
    """Write depth already in millimetres, uint16 (H, W), as a 16-bit PNG (0 = unknown)."""
    path = Path(path)
    _check_shape(depth_mm, 2, "depth")
    if depth_mm.dtype != np.uint16:
        raise ValueError(f"depth_mm must be uint16 millimetres, got {depth_mm.dtype}")
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: depth must be saved as .png (JPEG cannot hold 16-bit values)")
    return atomic_write_bytes(path, _encode(path, depth_mm))


def write_shadow(path: str | os.PathLike, shadow: np.ndarray) -> Path:
    """Write a shadow map, float (H, W) in 0..1 (darkening strength), as 8-bit PNG 0..255.

    Values are clipped to 0..1; NaN becomes 0.
    """
    path = Path(path)
    _check_shape(shadow, 2, "shadow")
    strength = np.nan_to_num(np.asarray(shadow, dtype=np.float64), nan=0.0)
    values = np.rint(np.clip(strength, 0.0, 1.0) * 255.0).astype(np.uint8)
    return atomic_write_bytes(path, _encode(path, values))


def read_shadow(path: str | os.PathLike) -> np.ndarray:
    """Read a shadow map written by `write_shadow`: float32 (H, W) in 0..1."""
    return _read_8bit(path, "L").astype(np.float32) / 255.0
