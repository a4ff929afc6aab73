"""Batch selection and novelty: pick what to label next from a pool, skip what was already seen."""

# OpenCV before usearch (selection.index): usearch 2.26.2-2.26.6 carry their own C++ runtime, and when
# one is the first loaded, a later `import onnxruntime` (a detector, an ONNX embedder) crashes the
# process (SIGSEGV). pyproject.toml keeps usearch below 2.26.2; loading OpenCV first, which links the
# system's libstdc++, also avoids it for an install that has one of those (tests/test_native_imports.py).
import cv2  # noqa: F401

from framescout.selection.dedup import DedupResult, remove_duplicates
from framescout.selection.embedders import ColorTexture, Embedder, OnnxEmbedder, PerceptualHash, hamming
from framescout.selection.explain import PickDetail, Selection, explain, select_explained
from framescout.selection.index import VectorIndex
from framescout.selection.kcenter import kcenter_greedy
from framescout.selection.novelty import NoveltyFilter, NoveltyResult, similarity
from framescout.selection.pool import Pool, SelectionError
from framescout.selection.strategies import STRATEGIES, RegisteredStrategy, Strategy, select

__all__ = [
    "STRATEGIES",
    "ColorTexture",
    "DedupResult",
    "Embedder",
    "NoveltyFilter",
    "NoveltyResult",
    "OnnxEmbedder",
    "PerceptualHash",
    "PickDetail",
    "Pool",
    "RegisteredStrategy",
    "Selection",
    "SelectionError",
    "Strategy",
    "VectorIndex",
    "explain",
    "hamming",
    "kcenter_greedy",
    "remove_duplicates",
    "select",
    "select_explained",
    "similarity",
]
