"""Embedders, the vector index, duplicate removal and the novelty filter, on real images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from framescout.imaging import decode_image, encode_jpeg, read_image_file, sha256_hex, to_bgr
from framescout.selection import (
    ColorTexture,
    NoveltyFilter,
    OnnxEmbedder,
    PerceptualHash,
    VectorIndex,
    hamming,
    remove_duplicates,
)


@pytest.fixture(scope="module")
def photos(coco_tiny: Path) -> list[np.ndarray]:
    return [to_bgr(read_image_file(p)) for p in sorted((coco_tiny / "val2017").glob("*.jpg"))[:12]]


def recompressed(image: np.ndarray) -> np.ndarray:
    """The same scene after a resize and a lossy re-encode, as a second camera upload would be."""
    half: np.ndarray = cv2.resize(
        image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
    )
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(half, quality=60), np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


def test_phash_is_stable_under_resize_and_recompression(photos: list[np.ndarray]) -> None:
    hasher = PerceptualHash()
    original = hasher.embed(photos)
    copies = hasher.embed([recompressed(p) for p in photos])
    assert original.shape == (12, 8) and original.dtype == np.uint8
    same = hamming(original, copies)
    others = [int(hamming(original[i], original[j])) for i in range(12) for j in range(i)]
    assert same.max() <= 6
    assert min(others) > 10


def test_color_texture_tells_scenes_apart(photos: list[np.ndarray]) -> None:
    desc = ColorTexture()
    a, b = desc.embed(photos), desc.embed([recompressed(p) for p in photos])
    assert a.shape == (12, desc.dim)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    same = (a * b).sum(axis=1)
    cross = a @ a.T
    np.fill_diagonal(cross, -1)
    assert same.min() > 0.8
    assert (same > cross.max(axis=1) + 0.1).all()  # a copy is always nearer than any other scene


def test_onnx_embedder_from_an_intermediate_detector_layer(
    nanodet_path: Path, tmp_path: Path, photos: list[np.ndarray]
) -> None:
    onnx = pytest.importorskip("onnx", reason="onnx (dev extra) edits the graph to expose a layer")
    model = onnx.load(str(nanodet_path))
    lateral = next(n for n in model.graph.node if "fpn.lateral_convs.2.conv.weight" in n.input)
    layer = lateral.input[0]  # the deepest backbone feature map (stride 32)
    model.graph.output.append(onnx.helper.make_tensor_value_info(layer, onnx.TensorProto.FLOAT, None))
    path = tmp_path / "nanodet-features.onnx"
    onnx.save(model, str(path))
    embedder = OnnxEmbedder(
        path,
        size=(416, 416),
        channels="bgr",
        output=layer,
        mean=(103.53 / 255, 116.28 / 255, 123.675 / 255),
        std=(57.375 / 255, 57.12 / 255, 58.395 / 255),
    )
    vectors = embedder.embed([*photos[:4], recompressed(photos[0])])
    assert vectors.shape == (5, embedder.dim) and embedder.dim > 32
    assert float(vectors[0] @ vectors[4]) > max(float(vectors[0] @ vectors[i]) for i in (1, 2, 3))
    with pytest.raises(ValueError, match="no output"):
        OnnxEmbedder(path, output="nope")


def test_onnx_embedder_takes_a_fixed_input_size_from_the_model(nanodet_path: Path) -> None:
    """An encoder with a fixed 416x416 input (a detector) was run at 224x224 and raised onnxruntime's
    InvalidArgument: `select --embedder` and the novelty rules ended in a traceback."""
    embedder = OnnxEmbedder(nanodet_path)
    assert embedder.size == (416, 416) and embedder.dim > 0
    with pytest.raises(
        ValueError, match=r"does not run on a 224x224 image \(its input is \[1, 3, 416, 416\]\)"
    ):
        OnnxEmbedder(nanodet_path, size=(224, 224))


def test_vector_index_add_remove_search_save_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    index = VectorIndex(32, "cos")
    index.add([f"img{i}" for i in range(500)], vectors, threads=1)  # exact graph, see below
    ids, distances = index.search(vectors[:3], k=5)
    assert [row[0] for row in ids] == ["img0", "img1", "img2"]
    assert distances.shape == (3, 5) and float(distances[0, 0]) < 1e-3  # 1 - cos, f16 storage
    assert index.remove(["img0", "missing"]) == 1
    assert "img0" not in index and len(index) == 499
    assert index.search(vectors[0], k=1)[0][0][0] != "img0"
    index.add(["img1"], vectors[2:3])  # replacing an id moves it
    assert index.search(vectors[2], k=2)[0][0][:2] in (["img1", "img2"], ["img2", "img1"])
    path = tmp_path / "pool.usearch"
    index.save(path)
    again = VectorIndex.load(path)
    assert len(again) == 499 and again.search(vectors[7], k=1)[0][0][0] == "img7"
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="id map"):
        VectorIndex.load(tmp_path / "missing.usearch")


def test_vector_index_cosine_on_rows_of_any_length(tmp_path: Path) -> None:
    """Cosine runs as the inner product of unit rows: vectors of any length find their exact cosine
    neighbours with distance 1 - cos; an index saved before that (usearch's cosine kernel, no
    ``kernel`` in its id map) loads with its own kernel and still answers correctly.

    Built on one thread: usearch's concurrent inserts leave a graph that, a few times in a hundred
    builds, misses one true neighbour of twenty even at full search breadth (approximate search;
    recall is measured in benchmarks/selection_speed.py). This test checks the cosine kernel, so
    it needs the exact answer, which a one-thread build of 400 rows gives every time."""
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(400, 24)).astype(np.float32) * rng.uniform(0.1, 50, size=(400, 1))
    queries = rng.normal(size=(20, 24)).astype(np.float32) * 7
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    index = VectorIndex(24, "cos", expansion_search=400)
    index.add([str(i) for i in range(400)], vectors, threads=1)
    ids, distances = index.search(queries, k=3)
    assert [int(row[0]) for row in ids] == cos.argmax(axis=1).tolist()
    np.testing.assert_allclose(distances[:, 0], 1 - cos.max(axis=1), atol=2e-3)  # f16 storage
    old = VectorIndex(24, "cos", kernel="cos")
    old.add([str(i) for i in range(400)], vectors, threads=1)
    old.save(tmp_path / "old.usearch")
    meta_path = tmp_path / "old.usearch.ids.json"
    meta = json.loads(meta_path.read_text())
    del meta["settings"]["kernel"]
    meta_path.write_text(json.dumps(meta))
    again = VectorIndex.load(tmp_path / "old.usearch")
    again.expansion_search = 400
    assert [int(row[0]) for row in again.search(queries, k=1)[0]] == cos.argmax(axis=1).tolist()


def test_vector_index_threads() -> None:
    """Building and searching on one thread or on all finds the same neighbours; a negative count is
    refused by name (usearch itself would raise a TypeError listing its C++ signature)."""
    vectors = np.random.default_rng(1).normal(size=(300, 16)).astype(np.float32)
    index = VectorIndex(16, "cos")
    index.add([f"v{i}" for i in range(300)], vectors, threads=1)
    one, _ = index.search(vectors[:50], k=3, threads=1)
    assert [row[0] for row in one] == [f"v{i}" for i in range(50)]
    assert index.search(vectors[:50], k=3, threads=0)[0] == one
    with pytest.raises(ValueError, match="threads must be >= 0"):
        index.search(vectors[:2], threads=-1)
    with pytest.raises(ValueError, match="threads must be >= 0"):
        index.add(["w"], vectors[:1], threads=-2)


def test_remove_duplicates_exact_then_near(photos: list[np.ndarray]) -> None:
    images = [*photos[:5], photos[1], recompressed(photos[2]), photos[6]]
    digests = [sha256_hex(encode_jpeg(img)) for img in images]
    result = remove_duplicates(digests, PerceptualHash().embed(images), max_distance=6)
    assert result.keep.tolist() == [True] * 5 + [False, False, True]
    assert result.duplicate_of == {5: 1, 6: 2}
    assert (result.exact, result.near) == (1, 1)


def test_novelty_filter_follows_the_guides_similarity_semantics(photos: list[np.ndarray]) -> None:
    stream = [photos[0], recompressed(photos[0]), recompressed(photos[0]), photos[1], photos[1]]
    plain = NoveltyFilter(0.9)
    assert [plain.check(f).novel for f in stream] == [True, False, False, True, False]
    with_timeout = NoveltyFilter(0.9, timeout_limit=2)
    # the second look-alike in a row hits the timeout and passes, refreshing the reference
    assert [with_timeout.check(f).novel for f in stream] == [True, False, True, True, False]
    with pytest.raises(ValueError):
        NoveltyFilter(1.5)


def test_scan_keeps_embeddings_memory_mapped_and_drops_duplicates(photos: list[np.ndarray]) -> None:
    """A scanned pool's embeddings live in a memory map (not 100k arrays plus a copy); duplicate rows
    are closed up in place, in chunks, and every kept row is the embedding of its own image."""
    from framescout.selection.folder import PoolItem, _VectorStore, scan

    jpegs = [encode_jpeg(p, quality=90) for p in photos[:8]]
    order = [0, 1, 0, 2, 3, 1, 4, 5, 6, 7, 2]  # three exact duplicates among eleven items
    # mypy cannot infer a lambda with a default argument against a zero-argument Callable
    items = [PoolItem(f"item{i}", lambda data=jpegs[k]: data) for i, k in enumerate(order)]  # type: ignore[misc]
    embedder = ColorTexture()
    old_chunk = _VectorStore.CHUNK
    _VectorStore.CHUNK = 3  # several chunks even for a small pool
    try:
        scanned = scan(items, embedder=embedder)
    finally:
        _VectorStore.CHUNK = old_chunk
    assert [item.name for item in scanned.items] == [f"item{i}" for i in (0, 1, 3, 4, 6, 7, 8, 9)]
    assert set(scanned.duplicates) == {"item2", "item5", "item10"}
    embeddings = scanned.pool.embeddings
    assert isinstance(embeddings, np.memmap) and embeddings.shape == (8, embedder.dim)
    expected = embedder.embed([to_bgr(decode_image(jpegs[k])) for k in range(8)])
    np.testing.assert_allclose(embeddings, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("side", [128, 130])
def test_color_texture_counts_each_grid_cell_as_a_count_per_cell_would(
    photos: list[np.ndarray], side: int
) -> None:
    """The texture half is one weighted count over (cell, orientation); a count per cell of the 4x4
    grid, written out here, gives the very same vector (pixels past the grid count in none)."""
    descriptor = ColorTexture(side)
    for photo in photos[:4]:
        vector = descriptor.embed_one(photo)
        small = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        magnitude, angle = cv2.cartToPolar(
            cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3),
            cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3),
            angleInDegrees=True,
        )
        bins = (angle % 180 / 22.5).astype(np.int32).clip(0, 7)
        cell = side // 4
        texture = np.zeros((4, 4, 8), dtype=np.float32)
        for r in range(4):
            for c in range(4):
                part = (slice(r * cell, (r + 1) * cell), slice(c * cell, (c + 1) * cell))
                texture[r, c] = np.bincount(bins[part].reshape(-1), magnitude[part].reshape(-1), minlength=8)
        expected = texture.reshape(-1)
        # the vector's texture half is this count, scaled (to sum 1, then with the colour to norm 1)
        np.testing.assert_allclose(vector[128:] / vector[128:].sum(), expected / expected.sum(), rtol=1e-6)
