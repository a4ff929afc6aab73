"""The per-image scorer: `scan` over a folder equals `scan_scored` over images scored elsewhere (the Ray
path), the recipe pickles and builds, and bad recipes are refused with the reason."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from framescout.selection.folder import PoolItem, ScannedPool, list_images, scan, scan_scored
from framescout.selection.scoring import ScoredImage, ScoringConfig


@pytest.fixture
def folder(tmp_path: Path, coco_tiny: Path) -> Path:
    sources = sorted((coco_tiny / "val2017").glob("*.jpg"))[:5]
    for src in sources:
        shutil.copy(src, tmp_path / src.name)
    shutil.copy(sources[0], tmp_path / "z-copy.jpg")  # an exact duplicate
    (tmp_path / "broken.jpg").write_bytes(sources[1].read_bytes()[:400])  # truncated
    return tmp_path


def _missing() -> bytes:
    raise FileNotFoundError(2, "No such file or directory")


def _assert_same(a: ScannedPool, b: ScannedPool) -> None:
    assert [i.name for i in a.items] == [i.name for i in b.items]
    assert a.hashes == b.hashes and a.skipped == b.skipped and a.duplicates == b.duplicates
    assert a.pool.embeddings is not None and b.pool.embeddings is not None
    np.testing.assert_array_equal(np.asarray(a.pool.embeddings), np.asarray(b.pool.embeddings))
    assert a.pool.predictions is not None and b.pool.predictions is not None
    for p, q in zip(a.pool.predictions, b.pool.predictions, strict=True):
        np.testing.assert_array_equal(p.xyxy, q.xyxy)
        np.testing.assert_array_equal(p.confidence, q.confidence)
    assert a.pool.stability is not None and b.pool.stability is not None
    for s, t in zip(a.pool.stability, b.pool.stability, strict=True):
        np.testing.assert_array_equal(s.box_scores, t.box_scores)
        assert s.components == t.components


def test_scan_equals_scan_scored(folder: Path, nanodet_path: Path) -> None:
    """The same folder, scanned locally or scored image by image (as Ray workers do, through a pickled
    recipe) and assembled with `scan_scored`, gives the same pool, skips and duplicates."""
    config = ScoringConfig(
        model=str(nanodet_path),
        classes=str(nanodet_path.parent / "coco.names"),
        want_embeddings=True,
        views=("flip",),
    )
    items = [PoolItem(str(p), p.read_bytes) for p in list_images(folder)]
    items.append(PoolItem("gone.jpg", _missing))
    local = scan(items, scorer=config.build())
    assert set(local.skipped) == {str(folder / "broken.jpg"), "gone.jpg"}
    assert local.skipped["gone.jpg"].startswith("unreadable:")
    assert local.duplicates == {str(folder / "z-copy.jpg"): str(sorted(folder.glob("0*.jpg"))[0])}
    assert local.pool.stability is not None and len(local.pool.stability) == len(local.items) == 5

    remote = pickle.loads(pickle.dumps(config)).build()
    scored: list[ScoredImage | str] = []
    for item in items:
        try:
            data = item.read()
        except OSError as exc:
            scored.append(f"unreadable: {exc.strerror or exc}")
            continue
        scored.extend(pickle.loads(pickle.dumps(remote.score_many([data]))))  # results travel too
    _assert_same(local, scan_scored(items, scored))
    with pytest.raises(ValueError, match="items but"):
        scan_scored(items, scored[:-1])


def test_score_many_keeps_order_and_says_why_it_skipped(folder: Path) -> None:
    """Threads score a batch out of order; the results come back in order, a bad image as its reason."""
    scorer = ScoringConfig(want_embeddings=True).build()
    paths = list_images(folder)
    results = scorer.score_many([p.read_bytes() for p in paths])
    assert len(results) == len(paths) and scorer.workers >= 1
    for path, got in zip(paths, results, strict=True):
        if path.name == "broken.jpg":
            assert isinstance(got, str) and got.startswith("corrupt_image:")
            continue
        want = scorer.score(path.read_bytes())
        assert isinstance(got, ScoredImage) and got.sha256 == want.sha256
        assert got.predictions is None and got.stability is None and got.embedding is not None
        np.testing.assert_array_equal(got.phash, want.phash)
        np.testing.assert_array_equal(got.embedding, want.embedding)
    scorer.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"model": "m.onnx", "views": ("flip", "spin")}, "unknown view 'spin'"),
        ({"views": ("flip",)}, "need a model"),
        ({"model": "m.onnx", "views": ("flip", "flip")}, "views repeat"),
    ],
)
def test_bad_recipes_are_refused(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScoringConfig(**config)  # type: ignore[arg-type]
