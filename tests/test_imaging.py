"""Shared image decoding: caps checked before decoding, corrupt input refused with stable codes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framescout.imaging import (
    ImageError,
    decode_image,
    encode_jpeg,
    read_image_file,
    resize_max_side,
    sha256_hex,
    to_bgr,
)


def jpeg_bytes(width: int = 64, height: int = 48, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color=128 if mode == "L" else (200, 30, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def code_of(data: bytes, **caps: Any) -> str:
    with pytest.raises(ImageError) as info:
        decode_image(data, **caps)
    return info.value.code


def test_decodes_a_real_jpeg_to_bgr() -> None:
    image = decode_image(jpeg_bytes())
    assert image.size == (64, 48)
    bgr = to_bgr(image)
    assert bgr.shape == (48, 64, 3) and bgr.dtype == np.uint8
    assert bgr[0, 0, 2] > bgr[0, 0, 0]  # red stays in the last channel (BGR)


def test_bad_inputs_get_stable_codes() -> None:
    data = jpeg_bytes(256, 256)
    assert code_of(b"") == "empty"
    assert code_of(b"definitely not an image") == "not_an_image"
    assert code_of(data[: len(data) // 2]) == "corrupt_image"
    assert code_of(data, max_bytes=100) == "too_large"


def test_pixel_cap_is_checked_before_decoding() -> None:
    # A 20000x20000 PNG of zeros compresses to a few hundred KB: a classic decompression bomb.
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 2_000_000
    assert code_of(buffer.getvalue()) == "too_many_pixels"
    assert code_of(jpeg_bytes(100, 100), max_pixels=9_999) == "too_many_pixels"


def test_gray_and_alpha_inputs_become_three_channels() -> None:
    assert to_bgr(decode_image(jpeg_bytes(mode="L"))).shape == (48, 64, 3)
    rgba = np.zeros((5, 6, 4), dtype=np.uint8)
    assert to_bgr(rgba).shape == (5, 6, 3)
    with pytest.raises(ImageError, match="uint8"):
        to_bgr(np.zeros((5, 6, 3), dtype=np.float32))


def test_resize_and_encode_round_trip() -> None:
    big = np.full((1080, 1920, 3), 90, dtype=np.uint8)
    small, scale = resize_max_side(big, 640)
    assert small.shape == (360, 640, 3) and scale == pytest.approx(1 / 3)
    same, one = resize_max_side(small, 1280)
    assert same is small and one == 1.0
    data = encode_jpeg(small, quality=80)
    assert decode_image(data).size == (640, 360)
    assert len(sha256_hex(data)) == 64


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        read_image_file(tmp_path / "missing.jpg")
    assert info.value.code == "unreadable" and "missing.jpg" in str(info.value)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageError, match=r"bad\.jpg"):
        read_image_file(bad)


def test_a_cut_header_is_corrupt_not_a_crash() -> None:
    assert code_of(b"\xff\xd8\xff\xe0 truncated") == "corrupt_image"
