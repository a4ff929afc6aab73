"""What the server stores: header-only pixel rules (a GIF's logical screen, screen × frames, sparse
images) and `verify_image` (OpenCV and Pillow must both fully decode it)."""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from framescout.imaging import (
    MAX_PIXELS_PER_BYTE,
    SPARSE_MIN_PIXELS,
    ImageError,
    decode_image,
    inspect_image,
    verify_image,
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).normal(128, 40, (height, width, 3)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def gif_screen(width: int, height: int) -> bytes:
    """One 1x1 frame on a ``width`` x ``height`` logical screen, in 29 bytes."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    return header + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b"


def refused(data: bytes, **caps: Any) -> ImageError:
    with pytest.raises(ImageError) as caught:
        verify_image(data, **caps)
    return caught.value


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF"])
def test_every_stored_format_verifies(fmt: str) -> None:
    info = verify_image(encode(noise(80, 60), fmt))
    assert (info.width, info.height, info.frames) == (80, 60, 1)
    assert info.content_type.startswith("image/")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_the_size_both_decoders_show(orientation: int) -> None:
    image = noise(80, 60)
    exif = image.getexif()
    exif[0x0112] = orientation
    data = encode(image, "JPEG", exif=exif.tobytes())
    info = verify_image(data)
    shown = decode_image(data).size
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    opencv = decoded.shape
    assert (info.width, info.height) == shown == (opencv[1], opencv[0])
    assert shown == ((60, 80) if orientation >= 5 else (80, 60))


def test_what_only_one_decoder_refuses_is_not_stored() -> None:
    png = bytearray(encode(noise(64, 48), "PNG"))
    at = png.find(b"IDAT")
    png[at + 4 + struct.unpack(">I", png[at - 4 : at])[0]] ^= 0xFF  # the IDAT checksum
    decode_image(bytes(png))  # Pillow does not check it...
    error = refused(bytes(png))  # ...OpenCV (libpng) does
    assert error.code == "corrupt_image" and "OpenCV" in str(error)
    xbm = b"#define i_width 8\n#define i_height 8\nstatic char i_bits[] = {\n" + b"0x00," * 7 + b"0x00};\n"
    decode_image(xbm)
    assert refused(xbm).code == "unsupported_format"


def test_random_corruption_is_refused_unless_both_decoders_read_it() -> None:
    """Flipped bytes in a JPEG: whatever verify_image accepts, OpenCV and Pillow both decode in full."""
    original = encode(noise(160, 120), "JPEG", quality=85)
    rng = random.Random(3)
    accepted = refused_count = 0
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(20, len(data))] = rng.randrange(256)
        try:
            verify_image(bytes(data))
        except ImageError as exc:
            assert exc.code in ("corrupt_image", "not_an_image", "unsupported_format", "too_many_pixels")
            refused_count += 1
            continue
        accepted += 1
        assert cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR) is not None
        full = Image.open(io.BytesIO(bytes(data)))
        full.load()
    assert accepted and refused_count


def test_truncated_images_are_refused() -> None:
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF"):
        data = encode(noise(120, 90), fmt)
        assert refused(data[: len(data) * 2 // 3]).code == "corrupt_image", fmt


def test_a_gif_logical_screen_counts_against_the_pixel_cap() -> None:
    bomb = gif_screen(8000, 6000)
    assert len(bomb) < 40
    error = refused(bomb, max_pixels=40_000_000)
    assert error.code == "too_many_pixels" and "logical screen" in str(error)
    # Under the default 50 MP cap: its 1x1 first frame covers almost none of the screen.
    error = refused(bomb)
    assert error.code == "too_many_pixels" and "first frame" in str(error)
    with pytest.raises(ImageError, match="first frame"):
        decode_image(bomb)  # thumbnails, inference and similarity decode with the same rules
    # A GIF whose first frame covers its screen is fine.
    full = encode(noise(1200, 1000), "GIF")
    assert inspect_image(full).width == 1200


def test_animations_count_screen_times_frames() -> None:
    frames = [Image.new("RGB", (500, 500), (i * 50, 10, 10)) for i in range(5)]
    for fmt in ("GIF", "PNG", "WEBP"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=50)
        info = inspect_image(data, max_pixels=1_250_000)
        assert info.frames == 5, fmt
        error = refused(data, max_pixels=1_200_000)
        assert error.code == "too_many_pixels" and "5 frames" in str(error), fmt


def test_sparse_rule_spares_real_and_small_images() -> None:
    # A solid-colour 2 MP JPEG and RGB PNG are far from the ratio; a noisy frame even more so.
    for fmt in ("JPEG", "PNG"):
        data = encode(Image.new("RGB", (1600, 1250), (10, 10, 10)), fmt)
        assert 1600 * 1250 / len(data) < MAX_PIXELS_PER_BYTE / 4, fmt
        verify_image(data)
    # Small images are cheap whatever their ratio.
    tiny = encode(Image.new("RGB", (1000, 1000)), "WEBP", lossless=True)
    assert SPARSE_MIN_PIXELS >= 1000 * 1000 and 1000 * 1000 / len(tiny) > MAX_PIXELS_PER_BYTE
    verify_image(tiny)
    # A solid-colour 2 MP lossless WebP has nothing to label and is refused.
    solid = encode(Image.new("RGB", (1600, 1250)), "WEBP", lossless=True)
    assert refused(solid).code == "too_many_pixels"
