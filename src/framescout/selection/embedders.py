"""Embedders: turn images into vectors for near-duplicate removal, novelty and diversity.

All share one interface (`Embedder`): ``embed(images) -> (n, dim)`` array plus the metric their
vectors are compared with. Perceptual hashes are the fast default for near-duplicates; the colour /
texture descriptor needs no model; `OnnxEmbedder` runs any image encoder the user exports to ONNX
(CLIP, DINO, or an intermediate layer of their own detector).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import imagehash
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from framescout.imaging import BGRImage, to_bgr

Metric = Literal["hamming", "cos", "l2sq"]


class Embedder(Protocol):
    """Anything that maps images to comparable vectors."""

    name: str
    dim: int
    metric: Metric

    def embed(self, images: Sequence[Any]) -> NDArray[Any]:
        """Vectors for ``images`` (BGR arrays, PIL images or paths), one row each."""
        ...


class PerceptualHash:
    """64-bit DCT perceptual hash (imagehash's pHash) packed into 8 bytes; compare by Hamming distance.

    The image is first shrunk to 32x32 grey with OpenCV's area filter, which is what pHash looks at
    anyway, so large frames cost little more than small ones."""

    name = "phash"
    dim = 64
    metric: Metric = "hamming"

    def __init__(self, hash_size: int = 8) -> None:
        self.hash_size = hash_size
        self.dim = hash_size * hash_size
        self._side = hash_size * 4

    def hash_one(self, image: Any) -> NDArray[np.uint8]:
        """One image's hash as packed bits (``dim / 8`` bytes)."""
        bgr = to_bgr(image)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, (self._side, self._side), interpolation=cv2.INTER_AREA)
        bits = imagehash.phash(Image.fromarray(small), hash_size=self.hash_size).hash
        return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1))

    def embed(self, images: Sequence[Any]) -> NDArray[np.uint8]:
        out = np.empty((len(images), self.dim // 8), dtype=np.uint8)
        for i, image in enumerate(images):
            out[i] = self.hash_one(image)
        return out


def hamming(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Bit distances between packed hashes (rows of ``a`` against one ``b`` or row-wise)."""
    return np.asarray(np.unpackbits(np.bitwise_xor(a, b), axis=-1).sum(axis=-1), dtype=np.int64)


class ColorTexture:
    """A model-free descriptor: an HSV colour histogram plus a gradient-orientation histogram on a
    4x4 grid, L2-normalised; compare by cosine. Catches scene changes pHash is blind to (colour)."""

    name = "color-texture"
    metric: Metric = "cos"

    def __init__(self, side: int = 128) -> None:
        self.side = side
        self.dim = 8 * 4 * 4 + 4 * 4 * 8
        band = np.arange(side) // (side // 4)  # each pixel's grid row / column; 4 = past the grid
        inside = (band[:, None] < 4) & (band[None, :] < 4)
        self._cells = np.where(inside, (band[:, None] * 4 + band[None, :]) * 8, 16 * 8).astype(np.int32)
        """Per pixel, the first texture slot of its grid cell (cell x 8 orientations); pixels past
        the 4x4 grid (a side not divisible by 4) go to a 17th cell that is dropped."""

    def embed_one(self, image: Any) -> NDArray[np.float32]:
        bgr = cv2.resize(to_bgr(image), (self.side, self.side), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
        colour = np.asarray(hist, dtype=np.float32).reshape(-1)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
        magnitude, angle = cv2.cartToPolar(gx, gy, angleInDegrees=True)
        bins = (angle % 180 / 22.5).astype(np.int32).clip(0, 7)
        # One weighted count over (grid cell, orientation): each bin adds its pixels in the same
        # row-major order as a count per cell would, so the result is the same, in one call.
        slots = (self._cells + bins).reshape(-1)
        texture = np.bincount(slots, magnitude.reshape(-1), minlength=17 * 8)[: 16 * 8].astype(np.float32)
        colour /= max(float(colour.sum()), 1.0)
        texture_flat = texture.reshape(-1)
        texture_flat /= max(float(texture_flat.sum()), 1e-6)
        vector = np.concatenate([colour, texture_flat]).astype(np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def embed(self, images: Sequence[Any]) -> NDArray[np.float32]:
        if not len(images):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.embed_one(image) for image in images])


def _fixed_size(shape: Sequence[Any]) -> tuple[int, int] | None:
    """(width, height) of an NCHW input whose spatial dimensions are fixed, else None."""
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return (shape[3], shape[2])
    return None


class OnnxEmbedder:
    """Features from a user-supplied ONNX image encoder (CLIP/DINO image towers, or a detector layer).

    Pre-processing: resize to ``size`` (stretch; default: the model's input size when it is fixed,
    else 224x224), channel order ``rgb`` or ``bgr``, scale to [0, 1]
    then ``(x - mean) / std`` per channel, NCHW. Spatial outputs ``(1, C, H, W)`` are average-pooled.
    Vectors are L2-normalised; compare by cosine."""

    metric: Metric = "cos"

    def __init__(
        self,
        path: str | Path,
        *,
        size: tuple[int, int] | None = None,
        channels: Literal["rgb", "bgr"] = "rgb",
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
        output: str | None = None,
        threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"cannot load ONNX encoder {path}: {exc}") from None
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        if output is not None and output not in outputs:
            raise ValueError(f"{path} has no output {output!r}; outputs are {outputs}")
        self._output = output or outputs[0]
        shape = self._session.get_inputs()[0].shape
        self.size = size or _fixed_size(shape) or (224, 224)
        self.channels = channels
        self._mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self._std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        self.name = f"onnx:{Path(path).name}:{self._output}"
        try:
            self.dim = int(self.embed([np.zeros((self.size[1], self.size[0], 3), dtype=np.uint8)]).shape[1])
        except Exception as exc:  # onnxruntime's own types: an input of another size, rank or type
            width, height = self.size
            raise ValueError(
                f"ONNX encoder {path} does not run on a {width}x{height} image (its input is {shape}): "
                + " ".join(str(exc).split())
            ) from None

    def _prepare(self, image: Any) -> NDArray[np.float32]:
        bgr: BGRImage = np.asarray(cv2.resize(to_bgr(image), self.size), dtype=np.uint8)
        pixels = bgr[:, :, ::-1] if self.channels == "rgb" else bgr
        return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / 255.0

    def embed(self, images: Sequence[Any]) -> NDArray[np.float32]:
        rows = []
        for image in images:  # batch of one: exported encoders often have a fixed batch dimension
            batch = (self._prepare(image)[None] - self._mean) / self._std
            (features,) = self._session.run([self._output], {self._input: batch})
            features = np.asarray(features, dtype=np.float32)
            vector = features.mean(axis=(2, 3)) if features.ndim == 4 else features.reshape(1, -1)
            rows.append(vector[0] / max(float(np.linalg.norm(vector[0])), 1e-12))
        return np.stack(rows).astype(np.float32)
