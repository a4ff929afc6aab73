"""The review page: the image with the model's boxes, and saving a reviewer's result as ground truth."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from framescout.predictions.box import Box
from framescout.server.cache import TTLCache
from framescout.server.deps import StoreDep
from framescout.server.schemas import ReviewIn, ReviewSaved
from framescout.server.web.browse import BrowseDep, BrowseParams
from framescout.server.web.prelabel_notes import assist_note
from framescout.server.web.session import CSRF_HEADER, ProjectDep, SignedInDep, check_csrf
from framescout.server.web.templating import render
from framescout.store import Store
from framescout.store.annotations import list_annotations
from framescout.store.label_assist import assist_of
from framescout.store.models import GROUND_TRUTH, PREDICTION, Project
from framescout.store.queries import get_image, image_feedback
from framescout.store.review import first_pending, neighbours, save_review
from framescout.store.review_order import DEFAULT_ORDER, ORDERS, SortKey, sort_keys
from framescout.store.rule_yield import rule_ranking

router = APIRouter(prefix="/ui", include_in_schema=False)

ORDER_COOKIE = "framescout_review_order"
"""Remembers the queue order a reviewer last chose (a preference, not a secret)."""
RANKING_SECONDS = 30.0
_rankings: TTLCache[str, dict[str | None, float]] = TTLCache(RANKING_SECONDS, size=256)
"""Each project's rule ranking for the ``yield`` order: pairing every reviewed frame is too much work
for every "next", so it is computed at most every `RANKING_SECONDS` per process."""


def queue_order(request: Request, params: BrowseParams) -> str:
    """The order asked for (``?order=``), else the one this browser chose last, else the default."""
    remembered = request.cookies.get(ORDER_COOKIE)
    return params.order or (remembered if remembered in ORDERS else DEFAULT_ORDER)


def queue_keys(store: Store, proj: Project, order: str) -> list[SortKey]:
    """The sort keys of ``order`` for ``proj`` (the ``yield`` order reads the cached rule ranking)."""
    if order != "yield":
        return sort_keys(order)

    def load() -> dict[str | None, float]:
        with store.db.reading() as session:
            return rule_ranking(session, proj)

    return sort_keys(order, _rankings.get(proj.id, load))


def _remember(response: Response, params: BrowseParams) -> None:
    """Keep a chosen order for this browser's next visits."""
    if params.order:
        response.set_cookie(ORDER_COOKIE, params.order, max_age=365 * 86400, httponly=True, samesite="lax")


def _image_url(project: Project, image_id: str, params: BrowseParams) -> str:
    query = params.query(page=None)
    return f"/ui/p/{project.slug}/images/{image_id}" + (f"?{query}" if query else "")


def _browser_url(project: Project, params: BrowseParams, **extra: str) -> str:
    query = "&".join(q for q in (params.query(), *(f"{k}={v}" for k, v in extra.items())) if q)
    return f"/ui/p/{project.slug}/images" + (f"?{query}" if query else "")


@router.get("/p/{project}/review")
def start_review(
    request: Request, who: SignedInDep, proj: ProjectDep, store: StoreDep, params: BrowseDep
) -> RedirectResponse:
    """Open the first image that still waits for review under the browser's filters, in the queue's
    order (``?order=``, remembered for this browser; default newest first)."""
    found = first_pending(
        store.db, proj, params.to_filter(), queue_keys(store, proj, queue_order(request, params))
    )
    url = _browser_url(proj, params, done="1") if found is None else _image_url(proj, found, params)
    response = RedirectResponse(url, status_code=303)
    _remember(response, params)
    return response


@router.get("/p/{project}/images/{image_id}", response_class=HTMLResponse)
def review_page(
    image_id: str,
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    params: BrowseDep,
) -> HTMLResponse:
    """The image, its boxes (ground truth if reviewed, else the model's predictions and users'
    suggested corrections) and the keyboard-driven editor."""
    with store.db.reading() as session:
        image = get_image(session, proj, image_id)
        rows = list_annotations(session, image.id)
        tags = [t.name for t in image.tags]
        batch = image.batch.name if image.batch is not None else None
        suggestions = image_feedback(session, image)
        assist = assist_of(session, image.id)
    truth = [a for a in rows if a.kind == GROUND_TRUTH]
    predictions = [a for a in rows if a.kind == PREDICTION]
    boxes: list[dict[str, Any]] = []
    if truth or image.review_status is not None:
        boxes += [_box(Box.from_row(a), "ground_truth", "accepted") for a in truth]
    else:
        boxes += [_box(Box.from_row(a), "prediction", "pending") for a in predictions]
        for report in suggestions:
            boxes += [_box(Box.from_wire(c), "feedback", "pending") for c in report.corrected]
    order = queue_order(request, params)
    keys = queue_keys(store, proj, order)
    previous, following = neighbours(store.db, proj, image.id, params.to_filter(), keys=keys)
    classes = list(proj.classes)
    classes += sorted({b["class"] for b in boxes} - set(classes))
    state = {
        "image": {"id": image.id, "width": image.width, "height": image.height},
        "classes": classes,
        "boxes": boxes,
        "saveUrl": f"/ui/p/{proj.slug}/images/{image.id}/review?{params.query(page=None)}",
        "nextUrl": None if following is None else _image_url(proj, following, params),
        "prevUrl": None if previous is None else _image_url(proj, previous, params),
        "browserUrl": _browser_url(proj, params),
        "csrf": who.csrf_token,
    }
    page = render(
        request,
        "review.html",
        who,
        tab="review",
        project=proj,
        image=image,
        tags=tags,
        batch=batch,
        reports=suggestions,
        prelabels=_prelabels(image.metadata_),
        assist=assist_note(assist),
        state_json=json.dumps(state).replace("<", "\\u003c"),
        browser_url=state["browserUrl"],
        prev_url=state["prevUrl"],
        next_url=state["nextUrl"],
        order=order,
        orders=ORDERS,
        order_fields=params.model_dump(exclude={"order", "page"}, exclude_none=True),
    )
    _remember(page, params)
    return page


def _prelabels(metadata: dict[str, Any]) -> dict[str, str] | None:
    """What `server.prelabels` recorded about predictions attached from hosted inference."""
    found = metadata.get("prelabels")
    if not isinstance(found, dict) or not isinstance(found.get("model"), str):
        return None
    return {"model": found["model"], "inferred_at": str(found.get("inferred_at") or "")}


def _box(box: Box, source: str, state: str) -> dict[str, Any]:
    """A box as the editor's state holds it: the wire dict plus its confidence, origin and state."""
    return {**box.to_wire(), "confidence": box.confidence, "source": source, "state": state}


class ReviewOut(ReviewSaved):
    next_url: str = Field(description="The next image waiting for review under the same filters.")


@router.post("/p/{project}/images/{image_id}/review", response_model=ReviewOut)
def save(
    image_id: str,
    body: ReviewIn,
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    params: BrowseDep,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> ReviewOut:
    """Store the reviewed boxes as ground truth (who and when), and answer where to go next."""
    check_csrf(who, csrf)
    result = save_review(store.db, proj, image_id, body.to_boxes(), reviewer=who.reviewer, status=body.status)
    keys = queue_keys(store, proj, queue_order(request, params))
    _, following = neighbours(store.db, proj, image_id, params.to_filter(), pending_only=True, keys=keys)
    next_url = _image_url(proj, following, params) if following else _browser_url(proj, params, done="1")
    return ReviewOut.of(result, next_url=next_url)
