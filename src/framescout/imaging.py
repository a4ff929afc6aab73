"""Image decoding and encoding shared by the runners, the server and the collector.

Decoding is defensive: a byte cap and pixel caps are checked from the header *before* pixels are
decoded (decompression bombs), truncated and corrupt files raise `ImageError` with a stable code,
and the result is fully loaded so later stages never meet a half-read image.

The pixel caps count what a decoder allocates, which for GIF is the *logical screen*, whatever the
frames cover: the screen must be within ``max_pixels``; an animation (GIF, APNG, animated WebP,
multi-page TIFF) must keep screen × frames within it; above 1 MP a GIF's first frame must cover at
least a quarter of its screen, and no image may have more than `MAX_PIXELS_PER_BYTE` pixels per
encoded byte (no photograph comes near it; a 35-byte GIF declaring an 8000x6000 screen does).
`verify_image` is what the server stores: a format the training decoders read, fully decoded by
OpenCV (what trainers and exports use) and by Pillow (thumbnails, the review page).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000
"""Default pixel cap (50 MP): larger images are refused as probable decompression bombs."""
MAX_BYTES = 50 * 1024 * 1024
"""Default byte cap for one encoded image (50 MiB)."""

MAX_PIXELS_PER_BYTE = 4096
"""Above `SPARSE_MIN_PIXELS`, more pixels per encoded byte than this is refused (a decoded-to-encoded
ratio over 12,000:1). Camera frames and photos stay far below: JPEG and RGB PNG under ~400 even
for a solid colour; only near-empty canvases (a GIF screen around a 1x1 frame, a solid-colour
lossless WebP or 1-bit PNG) go beyond."""
SPARSE_MIN_PIXELS = 1_000_000
"""Images up to this many pixels are cheap to decode whatever their encoded size."""
ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP", "TIFF"})
"""Formats whose frames are counted against the pixel cap (screen × frames)."""
STORED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "GIF": "image/gif",
}
"""Formats the server stores (Pillow's name → MIME type): those OpenCV and Pillow both decode."""
_ORIENTATION = 0x0112

BGRImage = NDArray[np.uint8]


class ImageError(ValueError):
    """An image that cannot be used. ``code`` is stable for APIs: ``not_an_image``,
    ``unsupported_format``, ``corrupt_image``, ``too_many_pixels``, ``too_large``, ``empty``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: Pillow's format name, MIME type, size as displayed (EXIF orientation
    applied), and the number of frames."""

    format: str
    content_type: str
    width: int
    height: int
    frames: int = 1


def sha256_hex(data: bytes) -> str:
    """Content hash used for deduplication everywhere (server, spool)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """`sha256_hex` of a file's bytes, read a megabyte at a time (model files, downloads)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(data: bytes, max_pixels: int, max_bytes: int) -> tuple[Image.Image, int]:
    """Open (header only) and apply the byte and pixel caps; return the image and its frame count."""
    if not data:
        raise ImageError("empty", "the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageError("too_large", f"the image is {len(data):,} bytes; the limit is {max_bytes:,}")
    try:
        image: ImageFile.ImageFile = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not_an_image", "the data is not an image in a supported format") from None
    except Image.DecompressionBombError as exc:
        raise ImageError("too_many_pixels", str(exc)) from None
    except (OSError, SyntaxError, ValueError) as exc:  # a recognised format whose header is cut or broken
        raise ImageError("corrupt_image", f"the image header is corrupt or truncated ({exc})") from None
    width, height = image.size
    screen = width * height
    what = "logical screen" if image.format == "GIF" else "image"
    if screen > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"the {what} is {width}x{height} ({screen:,} pixels); the limit is {max_pixels:,}",
        )
    if width == 0 or height == 0:
        raise ImageError("corrupt_image", "the image has no pixels")
    frames = 1
    if image.format in ANIMATED_FORMATS:
        try:
            frames = max(1, int(getattr(image, "n_frames", 1)))
        except (OSError, SyntaxError, ValueError, EOFError, struct_error) as exc:
            raise ImageError(
                "corrupt_image", f"the image's frames are corrupt or truncated ({exc})"
            ) from None
        if screen * frames > max_pixels:
            raise ImageError(
                "too_many_pixels",
                f"the {what} is {width}x{height} with {frames:,} frames ({screen * frames:,} pixels in "
                f"all); the limit is {max_pixels:,}",
            )
    extents = image.tile[0][1] if image.format == "GIF" and image.tile else None
    if extents is not None and screen > SPARSE_MIN_PIXELS:
        x0, y0, x1, y1 = extents
        if (x1 - x0) * (y1 - y0) * 4 < screen:
            raise ImageError(
                "too_many_pixels",
                f"the GIF's first frame is {x1 - x0}x{y1 - y0}, under a quarter of its {width}x{height} "
                "logical screen: refused as a decompression bomb",
            )
    if screen > SPARSE_MIN_PIXELS and screen > MAX_PIXELS_PER_BYTE * len(data):
        raise ImageError(
            "too_many_pixels",
            f"the {what} is {width}x{height} ({screen:,} pixels) in only {len(data):,} bytes: more than "
            f"{MAX_PIXELS_PER_BYTE:,} pixels per byte is refused as a decompression bomb",
        )
    return image, frames


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    """The size once EXIF orientation is applied (read from the header, nothing decoded)."""
    width, height = image.size
    try:
        orientation = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block: both decoders ignore it as well
        return width, height
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def inspect_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> ImageInfo:
    """The header's facts, after the byte and pixel caps; no pixel is decoded (microseconds)."""
    image, frames = _open(data, max_pixels, max_bytes)
    width, height = _displayed_size(image)
    fmt = str(image.format)
    return ImageInfo(fmt, STORED_FORMATS.get(fmt, "application/octet-stream"), width, height, frames)


def verify_image(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    info: ImageInfo | None = None,
) -> ImageInfo:
    """Refuse what the server must not store: formats outside `STORED_FORMATS` (``unsupported_format``)
    and anything OpenCV or Pillow cannot fully decode (``corrupt_image``).

    OpenCV decodes once at full size with EXIF orientation (what ``cv2.imread`` in a trainer sees) and
    must agree with the header's displayed size. Pillow decodes too, as the thumbnails do: a JPEG at
    1/8 scale (the same entropy decoding, a fraction of the work), other formats in full."""
    info = info or inspect_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    if info.format not in STORED_FORMATS:
        raise ImageError(
            "unsupported_format",
            f"{info.format} images are not accepted; send JPEG, PNG, WebP, TIFF, BMP or GIF",
        )
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageError("corrupt_image", f"the {info.format} image is corrupt: OpenCV cannot decode it")
    if (decoded.shape[1], decoded.shape[0]) != (info.width, info.height):
        raise ImageError(
            "corrupt_image",
            f"the {info.format} image is corrupt: its header says {info.width}x{info.height}, "
            f"OpenCV decodes {decoded.shape[1]}x{decoded.shape[0]}",
        )
    del decoded
    draft = (max(1, info.width // 8), max(1, info.height // 8)) if info.format in ("JPEG", "MPO") else None
    decode_image(data, max_pixels=max_pixels, max_bytes=max_bytes, draft=draft, transpose=False)
    return info


def decode_image(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    draft: tuple[int, int] | None = None,
    transpose: bool = True,
) -> Image.Image:
    """Decode encoded bytes into a fully loaded RGB/L PIL image, EXIF orientation applied.

    ``draft`` (a bounding box, for thumbnails) lets a JPEG decode at the smallest reduced scale that
    still covers the image fitted into that box. ``transpose=False`` skips the orientation and the
    colour conversion (a decodability check)."""
    image, _ = _open(data, max_pixels, max_bytes)
    width, height = image.size
    if draft is not None and image.format == "JPEG":
        fit = min(draft[0] / width, draft[1] / height, 1.0)
        image.draft("RGB", (max(1, round(width * fit)), max(1, round(height * fit))))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct_error, Image.DecompressionBombError) as exc:
        raise ImageError("corrupt_image", f"the image is corrupt or truncated ({exc})") from None
    if not transpose:
        return image
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
