"""The image browser (filters, thumbnails, pages) and the image bytes behind the session cookie."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from framescout.server.deps import SettingsDep, StoreDep, ThumbnailsDep
from framescout.server.errors import RequestInvalid
from framescout.server.image_bytes import original_response, thumbnail_response
from framescout.server.web.session import ProjectDep, SignedInDep
from framescout.server.web.templating import render_tab
from framescout.store.queries import (
    ASSIST_FILTERS,
    REVIEW_FILTERS,
    ImageFilter,
    filter_choices,
    load_image,
    query_images,
)
from framescout.store.review_order import ORDERS
from framescout.store.summaries import image_counts

router = APIRouter(prefix="/ui", include_in_schema=False)

PAGE_SIZE = 48


class BrowseParams(BaseModel):
    """The browser's filters, as they appear in the page's query string (empty fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    rule: str | None = Field(None, max_length=200)
    tag: str | None = Field(None, max_length=100)
    batch: str | None = Field(None, max_length=200)
    split: str | None = Field(None, pattern="^(train|valid|test)$")
    status: str | None = Field(None, pattern=f"^({'|'.join(REVIEW_FILTERS)})$")
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_confidence: float | None = Field(None, ge=0, le=1)
    model_version: str | None = Field(None, max_length=200)
    device_id: str | None = Field(None, max_length=200)
    assist: str | None = Field(None, pattern=f"^({'|'.join(ASSIST_FILTERS)})$")
    order: str | None = Field(None, pattern=f"^({'|'.join(ORDERS)})$")
    """The review queue's order (`framescout.store.review_order`); the grid stays newest first."""
    page: int = Field(1, ge=1, le=100_000)

    def to_filter(self) -> ImageFilter:
        """The store's filter: the fields of the same name, ``rule`` and ``status`` renamed."""
        same = self.model_dump(exclude={"rule", "status", "page", "order"})
        return ImageFilter(**same, sampling_rule=self.rule, review_status=self.status)

    def query(self, **changes: Any) -> str:
        """This filter as a query string (for links), with ``changes`` applied; page 1 is left out."""
        values = {**self.model_dump(), **changes}
        if values.get("page") == 1:
            values.pop("page")
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def browse_params(request: Request) -> BrowseParams:
    """Parse the filters; a bad value is a clear 422 naming the field, not a silent reset."""
    raw = {k: v for k, v in request.query_params.items() if v.strip()}
    try:
        return BrowseParams.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RequestInvalid("invalid_filter", f"invalid filter: {problems}") from None


BrowseDep = Annotated[BrowseParams, Depends(browse_params)]


@router.get("/p/{project}/images", response_class=HTMLResponse)
def browser(
    request: Request, who: SignedInDep, proj: ProjectDep, store: StoreDep, params: BrowseDep
) -> HTMLResponse:
    """Thumbnails of the project's images, newest first, under the chosen filters."""
    with store.db.reading() as session:
        images, total = query_images(
            session, proj, params.to_filter(), limit=PAGE_SIZE, offset=(params.page - 1) * PAGE_SIZE
        )
        counts = image_counts(session, [im.id for im in images])
        cards = [{"image": im, "tags": [t.name for t in im.tags], **asdict(counts[im.id])} for im in images]
        choices = filter_choices(session, proj)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render_tab(
        request,
        who,
        proj,
        "images",
        "browse.html",
        cards=cards,
        total=total,
        params=params,
        filters=asdict(params.to_filter()),
        choices=choices,
        page=params.page,
        pages=pages,
        review_query=params.query(page=None),
    )


@router.get("/p/{project}/images/{image_id}/file")
def image_file(image_id: str, proj: ProjectDep, store: StoreDep) -> Response:
    """The original bytes (the review page draws boxes over them)."""
    return original_response(store, load_image(store.db, proj, image_id))


@router.get("/p/{project}/images/{image_id}/thumbnail")
def image_thumbnail(
    image_id: str,
    proj: ProjectDep,
    store: StoreDep,
    settings: SettingsDep,
    thumbnails: ThumbnailsDep,
) -> Response:
    """A small JPEG for the browser grid (cached by the browser: the bytes never change)."""
    image = load_image(store.db, proj, image_id)
    return thumbnail_response(store, thumbnails, image, settings.thumbnail_size)
