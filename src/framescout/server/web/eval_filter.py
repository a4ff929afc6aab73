"""The image browser's evaluation filters: the frames behind one number of the Evaluation page.

``eval_version=V`` with ``eval=fp&eval_class=X`` (frames with false positives of class X: predictions
of X matching no truth box of X, class confusions included), ``eval=miss&eval_class=Y`` (frames with
truth boxes of Y no prediction of Y found) or ``eval=cell&eval_truth=Y&eval_predicted=X`` (one cell of
the confusion matrix; a side left out is background). The browser measures V again as the page did
(part 1's per-image results, over the same frames: ``eval_compare=V2`` restricts them to those V2
predicted too, and the browser's rule, tag and device filters are the evaluation's), then lists exactly
those images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from framescout.evaluation import Evaluation, evaluate
from framescout.server.errors import RequestInvalid
from framescout.store.evaluation_data import EvalFilter, check_known_version, common_eval_images, paused_gc
from framescout.store.models import Project

EVAL_KINDS = ("fp", "miss", "cell")


def measured(
    session: Session, project: Project, versions: Sequence[str], frames: EvalFilter
) -> dict[str, Evaluation]:
    """Each of ``versions`` evaluated over the frames with ground truth and predictions of all of
    them (404 ``model_version_not_found`` for a version the project does not know); the garbage
    collector pauses meanwhile, as for the route (`paused_gc`)."""
    with paused_gc():
        for version in versions:
            check_known_version(session, project, version)
        images = common_eval_images(session, project, versions, frames)
        return {version: evaluate(images[version]) for version in versions}


@dataclass(frozen=True)
class EvalSelection:
    """Which error of which evaluation (the browser's ``eval*`` parameters)."""

    version: str
    kind: str
    compare: str | None = None
    cls: str | None = None
    truth: str | None = None
    predicted: str | None = None

    def check(self) -> None:
        """400 ``invalid_filter`` naming the parameter when the selection is incomplete."""
        if self.kind not in EVAL_KINDS:
            raise RequestInvalid(
                "invalid_filter", f"eval must be one of {', '.join(EVAL_KINDS)}; got {self.kind!r}"
            )
        if self.kind in ("fp", "miss") and not self.cls:
            raise RequestInvalid("invalid_filter", f"eval={self.kind} needs eval_class (the class name)")
        if self.kind == "cell" and not (self.truth or self.predicted):
            raise RequestInvalid("invalid_filter", "eval=cell needs eval_truth or eval_predicted (or both)")
        if self.compare == self.version:
            raise RequestInvalid("invalid_filter", "eval_compare must name another version than eval_version")

    def describe(self) -> str:
        """What the browser shows, in words."""
        if self.kind == "fp":
            what = f"false positives of {self.cls}"
        elif self.kind == "miss":
            what = f"missed {self.cls}"
        elif self.truth is None:
            what = f"{self.predicted} predicted where there is no truth box (background)"
        elif self.predicted is None:
            what = f"{self.truth} missed (predicted as background)"
        else:
            what = f"{self.truth} predicted as {self.predicted}"
        shared = f", on the frames shared with version {self.compare}" if self.compare else ""
        return f"{what} by version {self.version}{shared}"


def frames_behind(evaluation: Evaluation, selection: EvalSelection) -> tuple[str, ...]:
    """The ids of the images behind ``selection`` in ``evaluation`` (worst first); none for a class
    or cell the evaluation does not have."""
    if selection.kind == "cell":
        for cell in evaluation.confusion.cells:
            if cell.truth == selection.truth and cell.predicted == selection.predicted:
                return cell.image_ids
        return ()
    errors = evaluation.errors.get(selection.cls or "")
    if errors is None:
        return ()
    pairs = errors.false_positive_images if selection.kind == "fp" else errors.missed_images
    return tuple(image_id for image_id, _ in pairs)


def resolve(
    session: Session, project: Project, selection: EvalSelection, frames: EvalFilter
) -> tuple[str, ...]:
    """Measure the selection's version (with its comparison's frames) and return the images behind it."""
    selection.check()
    versions = [selection.version] if selection.compare is None else [selection.version, selection.compare]
    return frames_behind(measured(session, project, versions, frames)[selection.version], selection)
