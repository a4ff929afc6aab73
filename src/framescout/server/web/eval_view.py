"""What the Evaluation page shows of one `Evaluation`: the per-class rows (with the links to their false
positives and misses), the PR chart (overall and one chosen class) and the confusion heat table (each
cell linking to its frames). Pure: the links come from a `FramesLink` the page builds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from framescout.evaluation import RECALL_POINTS, ClassMetrics, Evaluation
from framescout.server.web.eval_charts import Curve, HeatTable, LineChart, confusion_heat, pr_chart


@dataclass(frozen=True)
class FramesLink:
    """Builds image-browser links to the frames behind an evaluation's numbers: the browser recomputes
    the same evaluation (``eval_version``, on the frames shared with ``eval_compare``, under the same
    rule/tag/device filters) and shows the images of one error (see `framescout.server.web.eval_filter`)."""

    project_slug: str
    version: str
    compare: str | None = None
    filters: tuple[tuple[str, str], ...] = ()

    def url(self, kind: str, **selection: str | None) -> str:
        values: dict[str, str | None] = {
            **dict(self.filters),
            "eval_version": self.version,
            "eval_compare": self.compare,
            "eval": kind,
            **selection,
        }
        query = urlencode({k: v for k, v in values.items() if v is not None})
        return f"/ui/p/{self.project_slug}/images?{query}"

    def cell(self, truth: str | None, predicted: str | None) -> str:
        """A confusion cell (None: background)."""
        return self.url("cell", eval_truth=truth, eval_predicted=predicted)


@dataclass(frozen=True)
class ClassRow:
    name: str
    metrics: ClassMetrics
    false_positives: int
    misses: int
    fp_href: str | None
    miss_href: str | None


@dataclass(frozen=True)
class Panel:
    """One version's column on the page."""

    version: str
    evaluation: Evaluation
    rows: list[ClassRow]
    pr: LineChart
    pr_class: str | None
    heat: HeatTable


def class_order(evaluation: Evaluation) -> list[str]:
    """The classes, most truth boxes first (then by name)."""
    return sorted(evaluation.per_class, key=lambda name: (-evaluation.per_class[name].support, name))


def default_pr_class(evaluation: Evaluation) -> str | None:
    """The class whose curve the page shows unless one is chosen: the one with the most truth boxes."""
    with_truth = [name for name in class_order(evaluation) if name in evaluation.class_curves]
    return with_truth[0] if with_truth else None


def _point(recall: float | None, precision: float | None) -> tuple[float, float] | None:
    return None if recall is None or precision is None else (recall, precision)


def panel(version: str, evaluation: Evaluation, link: FramesLink, pr_class: str | None) -> Panel:
    """The panel of ``version``; ``pr_class`` is the class drawn beside the overall curve (a class
    without truth boxes in this evaluation draws nothing)."""
    rows = []
    for name in class_order(evaluation):
        errors = evaluation.errors.get(name)
        fp, miss = (errors.false_positives, errors.misses) if errors else (0, 0)
        rows.append(
            ClassRow(
                name,
                evaluation.per_class[name],
                fp,
                miss,
                link.url("fp", eval_class=name) if fp else None,
                link.url("miss", eval_class=name) if miss else None,
            )
        )
    curves = []
    if evaluation.ground_truth_boxes:
        overall = evaluation.overall
        curves.append(
            Curve("all classes", evaluation.pr_curve.precision, _point(overall.recall, overall.precision))
        )
    if pr_class is not None and pr_class in evaluation.class_curves:
        metrics = evaluation.per_class[pr_class]
        curve = evaluation.class_curves[pr_class]
        curves.append(Curve(pr_class, curve.precision, _point(metrics.recall, metrics.precision)))
    confusion = evaluation.confusion
    heat = confusion_heat(confusion.classes, confusion.matrix, link.cell)
    return Panel(version, evaluation, rows, pr_chart(RECALL_POINTS.tolist(), curves), pr_class, heat)


def class_values(evaluations: Sequence[Evaluation], measure: str) -> tuple[list[str], list[list[Any]]]:
    """The classes with truth boxes in any of ``evaluations`` (most support first) and, per
    evaluation, its ``measure`` of each (None where it has none)."""
    support: dict[str, int] = {}
    for evaluation in evaluations:
        for name, metrics in evaluation.per_class.items():
            support[name] = max(support.get(name, 0), metrics.support)
    classes = sorted((n for n, s in support.items() if s), key=lambda n: (-support[n], n))
    values = [
        [getattr(e.per_class[n], measure) if n in e.per_class else None for n in classes] for e in evaluations
    ]
    return classes, values
