"""The Evaluation page's pure parts: PR curve, per-class bars and confusion heat-table layout, the links
to the frames behind a number, and which frames those are (on `evaluate` over hand-made images)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from framescout.evaluation import EvalImage, evaluate
from framescout.predictions.box import Box
from framescout.server.errors import RequestInvalid
from framescout.server.web.eval_charts import Curve, class_bars, confusion_heat, pr_chart
from framescout.server.web.eval_filter import EvalSelection, frames_behind
from framescout.server.web.eval_view import FramesLink, class_values, default_pr_class, panel


def test_pr_chart_maps_recall_and_precision_to_the_plot_and_marks_the_operating_point() -> None:
    chart = pr_chart(
        [0.0, 0.5, 1.0], [Curve("all", [1.0, 0.5, 0.0], marker=(0.5, 0.5))], width=240, height=140
    )
    line = chart.lines[0]
    points = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert points[0] == (chart.left, chart.top)  # recall 0, precision 1: top left
    assert points[2] == (chart.right, chart.bottom)  # recall 1, precision 0: bottom right
    assert points[1] == pytest.approx(
        ((chart.left + chart.right) / 2, (chart.top + chart.bottom) / 2), abs=0.05
    )
    assert line.marker == pytest.approx(points[1], abs=0.05)
    assert "recall 0.50, precision 0.50" in line.title
    assert not chart.empty and [t for _, t in chart.x_ticks] == ["0", "0.25", "0.5", "0.75", "1"]
    assert pr_chart([0.0, 1.0], []).empty
    with pytest.raises(ValueError, match="curve 'dog' has 1 points for 2 recalls"):
        pr_chart([0.0, 1.0], [Curve("dog", [1.0])])


def test_class_bars_one_row_per_class_one_bar_per_version() -> None:
    chart = class_bars(["cat", "dog"], [("v1", [0.5, None]), ("v2", [1.0, 0.25])], measure="AP50", width=330)
    span = chart.right - chart.left
    assert [r.label for r in chart.rows] == ["cat", "dog"]
    cat, dog = chart.rows
    assert [b.width for b in cat.bars] == pytest.approx([0.5 * span, span])
    assert cat.bars[0].y < cat.bars[1].y < dog.bars[0].y  # grouped within the row, rows apart
    assert dog.bars[0].width == 0 and "undefined" in dog.bars[0].title
    assert dog.bars[1].title == "dog: AP50 0.250 (v2)"
    assert [name for _, name in chart.legend] == ["v1", "v2"]
    assert class_bars([], [("v1", [])], measure="AP").empty
    with pytest.raises(ValueError, match="series 'v1' has 1 values for 2 classes"):
        class_bars(["a", "b"], [("v1", [0.1])], measure="AP")


def test_confusion_heat_kinds_shades_and_links() -> None:
    matrix = [[3, 1, 0], [0, 2, 2], [4, 0, 0]]  # truth cat, dog, background × predicted cat, dog, bg
    table = confusion_heat(["cat", "dog"], matrix, lambda t, p: f"{t}->{p}")
    assert table.labels == ["cat", "dog", "background"]
    kinds = [[c.kind for c in row] for row in table.rows]
    assert kinds == [["hit", "confused", "miss"], ["confused", "hit", "miss"], ["fp", "fp", "none"]]
    assert table.rows[0][0].shade == pytest.approx(0.75) and table.rows[1][2].shade == pytest.approx(0.5)
    assert table.rows[0][1].href == "cat->dog" and table.rows[2][0].href == "None->cat"
    assert table.rows[0][2].href is None and table.rows[2][2].href is None  # empty, never counted
    assert table.row_totals == [4, 4, 4] and table.column_totals == [7, 3, 2]
    assert confusion_heat(["cat"], [[1, 0], [0, 0]]).rows[0][0].href is None
    with pytest.raises(ValueError, match="must be 3×3 for 2 classes"):
        confusion_heat(["cat", "dog"], [[0, 0], [0, 0]])


def _images() -> list[EvalImage]:
    """a: a cat found and a dog predicted as cat; b: a dog missed and a cat on background; c: right."""
    return [
        EvalImage(
            "a",
            [Box("cat", 0, 0, 10, 10), Box("dog", 50, 50, 70, 70)],
            [Box("cat", 0, 0, 10, 10, 0.9), Box("cat", 50, 50, 70, 70, 0.8)],
        ),
        EvalImage("b", [Box("dog", 0, 0, 20, 20)], [Box("cat", 60, 60, 90, 90, 0.95)]),
        EvalImage("c", [Box("dog", 0, 0, 20, 20)], [Box("dog", 0, 0, 20, 20, 0.85)]),
    ]


def test_frames_behind_each_kind_of_error() -> None:
    evaluation = evaluate(_images(), confusion_confidence=0.5)

    def behind(kind: str, **kw: str | None) -> set[str]:
        return set(frames_behind(evaluation, EvalSelection("1", kind, **kw)))

    assert behind("fp", cls="cat") == {"a", "b"}  # the confusion on a, the background box on b
    assert behind("miss", cls="dog") == {"a", "b"}
    assert behind("cell", truth="dog", predicted="cat") == {"a"}
    assert behind("cell", truth=None, predicted="cat") == {"b"}
    assert behind("cell", truth="dog", predicted=None) == {"b"}
    assert behind("cell", truth="dog", predicted="dog") == {"c"}
    assert behind("fp", cls="dog") == set() and behind("fp", cls="horse") == set()
    assert EvalSelection("1", "cell", "2", truth="dog").describe() == (
        "dog missed (predicted as background) by version 1, on the frames shared with version 2"
    )
    for bad, message in [
        (EvalSelection("1", "fq"), "eval must be one of fp, miss, cell"),
        (EvalSelection("1", "fp"), "eval=fp needs eval_class"),
        (EvalSelection("1", "cell"), "eval=cell needs eval_truth or eval_predicted"),
        (EvalSelection("1", "miss", "1", cls="dog"), "eval_compare must name another version"),
    ]:
        with pytest.raises(RequestInvalid, match=message):
            bad.check()


def test_panel_rows_links_and_curves() -> None:
    evaluation = evaluate(_images(), confusion_confidence=0.5)
    link = FramesLink("street", "1", "2", (("rule", "low"),))
    view = panel("1", evaluation, link, default_pr_class(evaluation))
    assert [r.name for r in view.rows] == ["dog", "cat"]  # most truth boxes first
    assert view.pr_class == "dog" and [line.name for line in view.pr.lines] == ["all classes", "dog"]
    dog = view.rows[0]
    assert dog.misses == 2 and dog.fp_href is None and dog.miss_href is not None
    query = parse_qs(urlsplit(dog.miss_href).query)
    assert urlsplit(dog.miss_href).path == "/ui/p/street/images"
    assert query == {
        "rule": ["low"], "eval_version": ["1"], "eval_compare": ["2"], "eval": ["miss"], "eval_class": ["dog"]
    }  # fmt: skip
    fp_cell = view.heat.rows[2][0]  # background predicted as cat
    assert fp_cell.count == 1 and parse_qs(urlsplit(fp_cell.href or "").query)["eval_predicted"] == ["cat"]
    assert "eval_truth" not in parse_qs(urlsplit(fp_cell.href or "").query)
    classes, values = class_values([evaluation, evaluate(_images()[2:])], "support")
    assert classes == ["dog", "cat"] and values == [[3, 1], [1, None]]
