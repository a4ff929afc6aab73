"""The confusion matrix (IoU 0.5, background row and column) and the errors behind each cell, on
hand-made images."""

from __future__ import annotations

from framescout.evaluation import ConfusionCell, EvalImage, Evaluation, evaluate
from framescout.predictions import Box


def at(x: float, name: str, confidence: float | None = None, crowd: bool = False) -> Box:
    """A 10x10 box at (x, 0); boxes 20 apart do not overlap."""
    return Box(name, x, 0, x + 10, 10, confidence, crowd)


def scene() -> list[EvalImage]:
    """im1: a cat found; a dog called a cat; a dog where nothing is; a bird missed.
    im2: a dog missed, and a low-scored cat where nothing is. im3: a dog found twice (one is a
    duplicate, so a false positive)."""
    return [
        EvalImage(
            "im1",
            [at(0, "cat"), at(20, "dog"), at(40, "bird")],
            [at(0, "cat", 0.9), at(21, "cat", 0.8), at(200, "dog", 0.7)],
        ),
        EvalImage("im2", [at(0, "dog")], [at(300, "cat", 0.3)]),
        EvalImage("im3", [at(0, "dog")], [at(0, "dog", 0.95), at(1, "dog", 0.6)]),
    ]


def cell(result: Evaluation, truth: str | None, predicted: str | None) -> ConfusionCell | None:
    return next((c for c in result.confusion.cells if (c.truth, c.predicted) == (truth, predicted)), None)


def test_cells_hits_confusions_background() -> None:
    result = evaluate(scene(), confusion_confidence=0.5)
    table = result.confusion
    assert table.classes == ("bird", "cat", "dog") and table.confidence == 0.5
    bird, cat, dog, background = 0, 1, 2, 3
    expected = [[0] * 4 for _ in range(4)]
    expected[cat][cat] = 1  # im1's cat
    expected[dog][cat] = 1  # im1's dog, predicted as a cat
    expected[dog][dog] = 1  # im3's dog
    expected[bird][background] = 1  # im1's bird, missed
    expected[dog][background] = 1  # im2's dog, missed (its low cat is below 0.5)
    expected[background][dog] = 2  # im1's stray dog and im3's duplicate
    assert [list(row) for row in table.matrix] == expected
    assert cell(result, "dog", "cat") == ConfusionCell("dog", "cat", 1, ("im1",))
    assert cell(result, None, "dog") == ConfusionCell(None, "dog", 2, ("im1", "im3"))
    assert cell(result, "dog", None) == ConfusionCell("dog", None, 1, ("im2",))
    assert cell(result, None, "cat") is None
    # errors per class count the confusions on both sides
    assert result.errors["cat"].false_positives == 1 and result.errors["cat"].misses == 0
    assert result.errors["cat"].false_positive_images == (("im1", 1),)
    assert result.errors["dog"].false_positives == 2 and result.errors["dog"].misses == 2
    assert result.errors["dog"].missed_images == (("im1", 1), ("im2", 1))
    assert result.errors["bird"].missed_images == (("im1", 1),) and result.errors["bird"].false_positives == 0


def test_the_confidence_decides_what_is_counted() -> None:
    everything = evaluate(scene(), confusion_confidence=0.0)
    assert cell(everything, None, "cat") == ConfusionCell(None, "cat", 1, ("im2",))
    strict = evaluate(scene(), confusion_confidence=0.85)
    # at 0.85 only im1's cat and im3's first dog remain: every other truth box is a miss
    assert cell(strict, "dog", "cat") is None and cell(strict, None, "dog") is None
    assert cell(strict, "dog", None) == ConfusionCell("dog", None, 2, ("im1", "im2"))
    # by default the matrix is at the recommended threshold
    default = evaluate(scene())
    assert default.confusion.confidence == default.recommended_threshold is not None


def test_rows_hold_the_truth_and_columns_the_predictions() -> None:
    result = evaluate(scene(), confusion_confidence=0.0)
    k = len(result.confusion.classes)
    for label, name in enumerate(result.confusion.classes):
        assert sum(result.confusion.matrix[label]) == result.per_class[name].support
    predictions = sum(len(i.predictions) for i in scene())
    assert sum(result.confusion.matrix[r][c] for r in range(k + 1) for c in range(k)) == predictions


def test_worst_images_first() -> None:
    images = [
        EvalImage("one", [], [at(0, "cat", 0.9)]),
        EvalImage("three", [], [at(x, "cat", 0.9) for x in (0, 20, 40)]),
        EvalImage("two", [], [at(x, "cat", 0.9) for x in (0, 20)]),
    ]
    result = evaluate(images, confusion_confidence=0.5)
    assert result.errors["cat"].false_positive_images == (("three", 3), ("two", 2), ("one", 1))
    assert cell(result, None, "cat") == ConfusionCell(None, "cat", 6, ("three", "two", "one"))
    data = result.to_json(image_id_limit=2)["confusion"]["cells"][0]
    assert data == {"truth": None, "predicted": "cat", "count": 6, "images": 3, "image_ids": ["three", "two"]}


def test_predictions_on_crowd_boxes_are_in_no_cell() -> None:
    crowd = Box("person", 0, 0, 100, 100, None, True)
    images = [EvalImage("a", [crowd, at(200, "person")], [at(5, "person", 0.9), at(200, "person", 0.8)])]
    result = evaluate(images, confusion_confidence=0.0)
    assert [list(row) for row in result.confusion.matrix] == [[1, 0], [0, 0]]
    assert result.per_class["person"].support == 1 and result.per_class["person"].precision == 1.0


def test_a_confusion_takes_the_best_overlap_of_another_class() -> None:
    # a cat prediction overlapping a missed dog (IoU 0.82) and a missed bird (0.67): the dog.
    images = [EvalImage("a", [at(0, "dog"), at(3, "bird")], [at(1, "cat", 0.9)])]
    result = evaluate(images, confusion_confidence=0.0)
    assert cell(result, "dog", "cat") is not None and cell(result, "bird", None) is not None
    assert cell(result, "bird", "cat") is None and cell(result, None, "cat") is None
