"""The Evaluation page: each model version measured on the project's reviewed frames (COCO AP and AP50,
per-class measures, PR curves, the confusion matrix), and two versions side by side on the frames both
predicted; every error count links to the frames behind it in the image browser.

It calls the store and `framescout.evaluation` directly, as ``GET …/evaluation`` does
(`framescout.store.evaluation_data`, `eval_filter.measured`); the charts are built by pure functions
(`eval_view`, `eval_charts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from framescout.evaluation import Evaluation
from framescout.server.deps import StoreDep
from framescout.server.errors import RequestInvalid
from framescout.server.web.browse import parse_query
from framescout.server.web.eval_charts import BarsChart, class_bars
from framescout.server.web.eval_filter import measured
from framescout.server.web.eval_view import FramesLink, Panel, class_values, default_pr_class, panel
from framescout.server.web.session import ProjectDep, SignedInDep
from framescout.server.web.templating import render_tab
from framescout.store.evaluation_data import EvalFilter, VersionFrames, newest_evaluable, version_frames
from framescout.store.queries import filter_choices

router = APIRouter(prefix="/ui", include_in_schema=False)

TABLE_VERSIONS = 8
"""The newest evaluable versions the versions table measures (each on all of its own frames)."""


class EvalPageParams(BaseModel):
    """The page's query string (empty fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    model_version: str | None = Field(None, max_length=200)
    compare: str | None = Field(None, max_length=200)
    pr_class: str | None = Field(None, max_length=200)
    rule: str | None = Field(None, max_length=200)
    tag: str | None = Field(None, max_length=100)
    device_id: str | None = Field(None, max_length=200)

    def frames(self) -> EvalFilter:
        return EvalFilter(rule=self.rule, tag=self.tag, device_id=self.device_id)

    def filters(self) -> tuple[tuple[str, str], ...]:
        """The frame filters, as the image browser's parameters of the same names."""
        pairs = (("rule", self.rule), ("tag", self.tag), ("device_id", self.device_id))
        return tuple((k, v) for k, v in pairs if v)


def eval_page_params(request: Request) -> EvalPageParams:
    """Parse the query string; a bad value is a 422 ``invalid_filter`` naming the field."""
    params = parse_query(EvalPageParams, request)
    if params.compare is not None and params.compare == params.model_version:
        raise RequestInvalid("invalid_filter", "compare must name another version than model_version")
    return params


@dataclass(frozen=True)
class VersionRow:
    """One row of the versions table: the version's frames and, if measured, its evaluation there."""

    frames: VersionFrames
    evaluation: Evaluation | None


@router.get("/p/{project}/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    params: Annotated[EvalPageParams, Depends(eval_page_params)],
) -> HTMLResponse:
    """The versions table, then the chosen version (default: the newest with reviewed frames) and,
    with ``compare``, a second one beside it on the frames both predicted."""
    frames = params.frames()
    with store.db.reading() as session:
        versions = version_frames(session, proj)
        choices = filter_choices(session, proj)
        chosen = params.model_version or newest_evaluable(versions)
        evaluable = [v.model_version for v in versions if v.evaluable][-TABLE_VERSIONS:]
        own = {v: measured(session, proj, [v], frames)[v] for v in evaluable}
        shown: dict[str, Evaluation] = {}
        if chosen is not None and params.compare is not None:
            shown = measured(session, proj, [chosen, params.compare], frames)
        elif chosen is not None:
            shown = {chosen: own[chosen]} if chosen in own else measured(session, proj, [chosen], frames)
    panels = _panels(proj.slug, shown, params)
    bars: BarsChart | None = None
    if panels and any(p.evaluation.ground_truth_boxes for p in panels):
        classes, values = class_values([p.evaluation for p in panels], "ap50")
        bars = class_bars(
            classes,
            [(f"version {p.version}", v) for p, v in zip(panels, values, strict=True)],
            measure="AP50",
            width=760,
        )
    pr_classes = sorted({name for p in panels for name in p.evaluation.class_curves})
    return render_tab(
        request,
        who,
        proj,
        "evaluation",
        versions=[VersionRow(v, own.get(v.model_version)) for v in versions],
        chosen=chosen,
        params=params,
        panels=panels,
        bars=bars,
        pr_classes=pr_classes,
        choices=choices,
    )


def _panels(slug: str, shown: dict[str, Evaluation], params: EvalPageParams) -> list[Panel]:
    """One panel per shown version; the PR chart's class is the chosen one, else the base version's
    class with the most truth boxes."""
    if not shown:
        return []
    base = next(iter(shown.values()))
    pr_class = params.pr_class or default_pr_class(base)
    out = []
    for version, evaluation in shown.items():
        other = next((v for v in shown if v != version), None)
        link = FramesLink(slug, version, other, params.filters())
        out.append(panel(version, evaluation, link, pr_class))
    return out
