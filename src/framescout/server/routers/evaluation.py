"""Evaluation: a model version measured on the project's frames that have ground truth.

``GET …/evaluation?model_version=V`` gathers the frames with ground truth (reviewed, or uploaded
with annotations) and predictions of V (`framescout.store.evaluation_data`), optionally only those
a rule kept, with a tag, from a device or seen since a time, and measures V on them
(`framescout.evaluation`, COCO AP like pycocotools). ``compare=V2`` measures both versions on the
frames that have predictions of both. ``…/evaluation/versions`` lists the versions and how many
frames each can be measured on. Computed on demand (docs/evaluation.md says how long it takes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from framescout.server.deps import PathProject, StoreDep
from framescout.server.errors import RequestInvalid
from framescout.server.evaluation_report import evaluation_report
from framescout.server.schemas import ErrorOut
from framescout.store.evaluation_data import EvalFilter, newest_evaluable, version_frames

router = APIRouter(prefix="/api/v1/projects/{workspace}/{project}/evaluation", tags=["evaluation"])

_PLAIN = r"^[^\x00-\x1f\x7f]*$"
"""No control characters (PostgreSQL refuses a NUL in a query)."""
_ERRORS: dict[int | str, dict[str, object]] = {s: {"model": ErrorOut} for s in (401, 404, 422)}


def _text(description: str, max_length: int = 200) -> Any:
    return Field(None, description=description, min_length=1, max_length=max_length, pattern=_PLAIN)


class EvaluationQuery(BaseModel):
    """The evaluation route's query parameters, checked here (422 ``validation_error`` naming one)."""

    model_version: str = Field(
        description="The model version to measure.", min_length=1, max_length=200, pattern=_PLAIN
    )
    compare: str | None = _text("A second version, measured on the same frames (those predicted by both).")
    rule: str | None = _text("Only frames kept by this sampling rule.")
    tag: str | None = _text("Only frames with this tag.", 100)
    device_id: str | None = _text("Only frames from this device.")
    since: datetime | None = Field(
        None, description="Only frames seen (else uploaded) at or after this time (ISO 8601; UTC if no zone)."
    )

    def frames(self) -> EvalFilter:
        """The store's filter (``since`` as naive UTC, the store's time)."""
        since = self.since
        if since is not None and since.tzinfo is not None:
            since = since.astimezone(UTC).replace(tzinfo=None)
        return EvalFilter(rule=self.rule, tag=self.tag, device_id=self.device_id, since=since)


@router.get("", responses=_ERRORS)
def evaluation(
    project: PathProject, store: StoreDep, query: Annotated[EvaluationQuery, Query()]
) -> dict[str, Any]:
    """The version's COCO AP, AP50, per-class measures, recommended threshold and PR curves over the
    frames with ground truth and its predictions (``images`` 0 and null measures when there is none);
    with ``compare``, both versions over the same frames, ``compare`` and ``delta`` (compare − base).
    404 ``model_version_not_found`` for a version the project has neither registered nor predicted."""
    base, compare = query.model_version, query.compare
    if compare == base:
        raise RequestInvalid("invalid_filter", "compare must name another version than model_version")
    versions = [base] if compare is None else [base, compare]
    return evaluation_report(store.db, project, versions, query.frames())


@router.get("/versions", responses=_ERRORS)
def versions(project: PathProject, store: StoreDep) -> dict[str, Any]:
    """Every model version with predictions in the project (or registered), oldest first: frames it
    predicted, how many of them have ground truth (``evaluable``), and the ``default``: the newest
    version with evaluable frames (null when none has)."""
    with store.db.reading() as session:
        listed = version_frames(session, project)
    return {
        "versions": [
            {
                "model_version": v.model_version,
                "registered": v.registered,
                "predicted_frames": v.predicted,
                "evaluable_frames": v.evaluable,
            }
            for v in listed
        ],
        "default": newest_evaluable(listed),
    }
