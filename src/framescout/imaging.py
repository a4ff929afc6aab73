"""Image decoding and encoding shared by the runners, the server and the collector.

Decoding is defensive: a byte cap and a pixel cap are checked *before* pixels are decoded
(decompression bombs), truncated and corrupt files raise `ImageError` with a stable code, and
the result is fully loaded so later stages never meet a half-read image.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000
"""Default pixel cap (50 MP): larger images are refused as probable decompression bombs."""
MAX_BYTES = 50 * 1024 * 1024
"""Default byte cap for one encoded image (50 MiB)."""

BGRImage = NDArray[np.uint8]


class ImageError(ValueError):
    """An image that cannot be used. ``code`` is stable for APIs: ``not_an_image``, ``corrupt_image``,
    ``too_many_pixels``, ``too_large``, ``empty``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sha256_hex(data: bytes) -> str:
    """Content hash used for deduplication everywhere (server, spool)."""
    return hashlib.sha256(data).hexdigest()


def decode_image(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode encoded bytes into a fully loaded RGB/L PIL image, EXIF orientation applied.

    ``draft`` (a bounding box, for thumbnails) lets a JPEG decode at the smallest reduced scale that
    still covers the image fitted into that box."""
    if not data:
        raise ImageError("empty", "the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageError("too_large", f"the image is {len(data):,} bytes; the limit is {max_bytes:,}")
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not_an_image", "the data is not an image in a supported format") from None
    except Image.DecompressionBombError as exc:
        raise ImageError("too_many_pixels", str(exc)) from None
    except (OSError, SyntaxError, ValueError) as exc:  # a recognised format whose header is cut or broken
        raise ImageError("corrupt_image", f"the image header is corrupt or truncated ({exc})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"the image is {width}x{height} ({width * height:,} pixels); the limit is {max_pixels:,}",
        )
    if width == 0 or height == 0:
        raise ImageError("corrupt_image", "the image has no pixels")
    if draft is not None and image.format == "JPEG":
        fit = min(draft[0] / width, draft[1] / height, 1.0)
        image.draft("RGB", (max(1, round(width * fit)), max(1, round(height * fit))))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError("corrupt_image", f"the image is corrupt or truncated ({exc})") from None
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image


def thumbnail_jpeg(data: bytes, side: int, quality: int = 80) -> bytes:
    """A JPEG no larger than ``side`` pixels on its longer side (JPEGs are decoded at reduced scale)."""
    image = decode_image(data, draft=(side, side))
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def read_image_file(
    path: str | Path, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES
) -> Image.Image:
    """Read and decode an image file with the same checks as :func:`decode_image`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError("too_large", f"{path} is {size:,} bytes; the limit is {max_bytes:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError("unreadable", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return decode_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    except ImageError as exc:
        raise ImageError(exc.code, f"{path}: {exc}") from None


def to_bgr(image: Any) -> BGRImage:
    """A PIL image, an RGB/BGR/gray NumPy array or a path, as a contiguous BGR uint8 array (OpenCV order).

    NumPy arrays are taken to be BGR already (what OpenCV sources and most detectors use)."""
    if isinstance(image, str | Path):
        image = read_image_file(image)
    if isinstance(image, Image.Image):
        rgb = np.asarray(image.convert("RGB"))
        return np.ascontiguousarray(rgb[:, :, ::-1])
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ImageError("bad_array", f"expected a uint8 image array; got {array.dtype}")
    if array.ndim == 2:
        return np.asarray(cv2.cvtColor(array, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 4:
        return np.asarray(cv2.cvtColor(array, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageError("bad_array", f"expected an HxWx3 image array; got shape {array.shape}")
    return np.ascontiguousarray(array)


def resize_max_side(image: BGRImage, max_side: int | None) -> tuple[BGRImage, float]:
    """Shrink so the longer side is at most ``max_side`` (never enlarge); return the image and the scale."""
    height, width = image.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return image, 1.0
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale


def encode_jpeg(image: BGRImage, quality: int = 90) -> bytes:
    """Encode a BGR array as JPEG bytes."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ImageError("encode_failed", "OpenCV could not encode the image as JPEG")
    return bytes(buffer.tobytes())
