"""The Evaluation page's charts, laid out in Python over plain numbers (no evaluation types, no store):
precision-recall curves as SVG polylines, per-class bars (one bar per version, side by side) and the
confusion matrix as a heat table whose cells link to the frames behind them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from framescout.server.web.charts import PALETTE, Bar

BACKGROUND = "background"
"""How the confusion matrix names the row of false positives and the column of misses."""


@dataclass(frozen=True)
class Curve:
    """One series of a PR chart: its precision at each recall point and, optionally, the operating
    point (recall, precision) to mark (the F1-optimal confidence)."""

    name: str
    precision: Sequence[float]
    marker: tuple[float, float] | None = None


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: str
    """SVG ``points``: "x,y x,y …" in chart pixels."""
    marker: tuple[float, float] | None
    title: str


@dataclass
class Plot:
    """A chart's size and the horizontal extent of its plot area, in pixels."""

    width: int
    height: int
    left: float
    right: float


@dataclass
class LineChart(Plot):
    """Everything a template needs to draw a chart of lines over [0, 1] × [0, 1]."""

    top: float = 0.0
    bottom: float = 0.0
    lines: list[Line] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    empty: bool = True


UNIT_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def pr_chart(
    recall: Sequence[float], curves: Sequence[Curve], *, width: int = 520, height: int = 320
) -> LineChart:
    """Precision (y) over recall (x), one line per curve (colours in order); a curve whose length
    differs from ``recall``'s is a ValueError. Empty without curves."""
    chart = LineChart(width, height, left=40, right=width - 12, top=10, bottom=height - 28)
    for value in UNIT_TICKS:
        chart.x_ticks.append((chart.left + value * (chart.right - chart.left), f"{value:g}"))
        chart.y_ticks.append((chart.bottom - value * (chart.bottom - chart.top), f"{value:g}"))
    for i, curve in enumerate(curves):
        if len(curve.precision) != len(recall):
            raise ValueError(
                f"curve {curve.name!r} has {len(curve.precision)} points for {len(recall)} recalls"
            )
        points = " ".join(
            f"{_x(chart, r):.1f},{_y(chart, p):.1f}" for r, p in zip(recall, curve.precision, strict=True)
        )
        marker = None if curve.marker is None else (_x(chart, curve.marker[0]), _y(chart, curve.marker[1]))
        title = curve.name
        if curve.marker is not None:
            title += (
                f" (at the best threshold: recall {curve.marker[0]:.2f}, precision {curve.marker[1]:.2f})"
            )
        chart.lines.append(Line(curve.name, PALETTE[i % len(PALETTE)], points, marker, title))
    chart.empty = not chart.lines
    return chart


def _x(chart: LineChart, recall: float) -> float:
    return chart.left + recall * (chart.right - chart.left)


def _y(chart: LineChart, precision: float) -> float:
    return chart.bottom - precision * (chart.bottom - chart.top)


@dataclass
class BarRow:
    """One class of a per-class bar chart: its label's baseline and one bar per version."""

    label: str
    y: float
    bars: list[Bar]


@dataclass
class BarsChart(Plot):
    """Horizontal bars over [0, 1], one row per class, one bar per series within a row."""

    rows: list[BarRow] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, series name)
    empty: bool = True


ROW_HEIGHT = 18.0


def class_bars(
    classes: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    measure: str,
    width: int = 520,
) -> BarsChart:
    """One row per class in ``classes`` (in that order), one bar per series ``(name, values)`` with a
    value per class (None: undefined, no bar, said in the row's tooltip)."""
    per_bar = (ROW_HEIGHT - 4) / max(len(series), 1)
    height = int(len(classes) * ROW_HEIGHT + 24)
    chart = BarsChart(width, height, left=110, right=width - 12)
    span = chart.right - chart.left
    for value in UNIT_TICKS:
        chart.x_ticks.append((chart.left + value * span, f"{value:g}"))
    for name, values in series:
        if len(values) != len(classes):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(classes)} classes")
    for row, label in enumerate(classes):
        top = row * ROW_HEIGHT + 2
        bars = []
        for i, (name, values) in enumerate(series):
            measured = values[row]
            text = "undefined (no truth box)" if measured is None else f"{measured:.3f}"
            bars.append(
                Bar(
                    chart.left,
                    top + i * per_bar,
                    0.0 if measured is None else max(measured, 0.0) * span,
                    per_bar - 1,
                    PALETTE[i % len(PALETTE)],
                    f"{label}: {measure} {text} ({name})",
                )
            )
        chart.rows.append(BarRow(label, top + ROW_HEIGHT / 2 + 2, bars))
    chart.legend = [(PALETTE[i % len(PALETTE)], name) for i, (name, _) in enumerate(series)]
    chart.empty = not classes or not series
    return chart


@dataclass(frozen=True)
class HeatCell:
    """One cell of the confusion heat table: truth ``truth`` predicted as ``predicted`` (None for
    background), its count, a shade in [0, 1] and where its frames are (None: no frames)."""

    truth: str | None
    predicted: str | None
    count: int
    kind: str
    """``hit`` (the diagonal), ``confused`` (another class), ``fp`` (background row), ``miss``
    (background column) or ``none`` (background predicted as background, never counted)."""
    shade: float
    href: str | None
    title: str


@dataclass
class HeatTable:
    labels: list[str]
    rows: list[list[HeatCell]]
    row_totals: list[int]
    column_totals: list[int]


def confusion_heat(
    classes: Sequence[str],
    matrix: Sequence[Sequence[int]],
    link: Callable[[str | None, str | None], str] | None = None,
) -> HeatTable:
    """The (K+1)×(K+1) matrix (rows truth, columns predicted, the last of each background) as cells
    shaded by their share of their truth row (the background row by its share of all false
    positives); ``link(truth, predicted)`` gives a non-empty cell's link."""
    k = len(classes)
    if len(matrix) != k + 1 or any(len(row) != k + 1 for row in matrix):
        raise ValueError(f"the confusion matrix must be {k + 1}×{k + 1} for {k} classes")
    names: list[str | None] = [*classes, None]
    rows = []
    for r, row in enumerate(matrix):
        total = sum(row)
        cells = []
        for c, count in enumerate(row):
            truth, predicted = names[r], names[c]
            kind = _kind(truth, predicted)
            title = f"{count} × truth {truth or BACKGROUND} predicted as {predicted or BACKGROUND}"
            href = link(truth, predicted) if link is not None and count and kind != "none" else None
            cells.append(
                HeatCell(truth, predicted, count, kind, count / total if total else 0.0, href, title)
            )
        rows.append(cells)
    columns = [sum(row[c] for row in matrix) for c in range(k + 1)]
    return HeatTable([*classes, BACKGROUND], rows, [sum(row) for row in matrix], columns)


def _kind(truth: str | None, predicted: str | None) -> str:
    if truth is None:
        return "none" if predicted is None else "fp"
    if predicted is None:
        return "miss"
    return "hit" if truth == predicted else "confused"
