"""Caps that keep one request cheap: boxes per image, new classes per request, classes per project,
and thumbnails in a fixed set of sizes (at most one cache file per size)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from framescout.server import Settings, create_app
from framescout.server.image_bytes import THUMBNAIL_SIZES, thumbnail_side
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace, get_project
from framescout.store.models import Annotation
from framescout.store.validation import MAX_BOXES_PER_IMAGE

URL = "/api/v1/projects/acme/open/images"


def _boxes(count: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [
        {
            "x": 10 + i % 40,
            "y": 10 + i % 20,
            "width": 4,
            "height": 4,
            "class": f"{prefix}{i}",
            "confidence": 0.5,
        }
        for i in range(count)
    ]


def _annotate(env: Any, image_id: str, items: list[dict[str, Any]], **params: str) -> Any:
    return env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"format": "roboflow", **params},
        content=json.dumps({"predictions": items}),
    )


def _annotation_rows(store: Store) -> int:
    from sqlalchemy import func, select

    with store.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(Annotation)) or 0)


def _uploaded(env: Any, data: bytes, **fields: str) -> Any:
    return env.client.post(
        URL, headers=env.auth(), files={"file": ("a.jpg", data, "image/jpeg")}, data=fields
    )


def test_annotation_uploads_are_capped_per_image(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = _uploaded(env, make_jpeg(seed=1)).json()["id"]
    at_cap = _annotate(env, image_id, [{**b, "class": "car"} for b in _boxes(MAX_BOXES_PER_IMAGE)])
    assert at_cap.status_code == 201 and at_cap.json()["count"] == MAX_BOXES_PER_IMAGE, at_cap.text
    over = _annotate(env, image_id, _boxes(5_000), overwrite="true")
    assert over.status_code == 422 and over.json()["error"]["code"] == "too_many_boxes", over.text
    assert "5,000 boxes" in over.json()["error"]["message"]
    yolo = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"format": "yolo", "labelmap": "car", "overwrite": "true"},
        content="\n".join("0 0.5 0.5 0.1 0.1" for _ in range(MAX_BOXES_PER_IMAGE + 1)),
    )
    assert yolo.status_code == 422 and yolo.json()["error"]["code"] == "too_many_boxes"
    assert "more than 1,000 boxes" in yolo.json()["error"]["message"]  # counted, not parsed
    box = "<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
    obj = f"<object><name>car</name><bndbox>{box}</bndbox></object>"
    voc = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"overwrite": "true", "filename": "a.xml"},
        content=f"<annotation>{obj * (MAX_BOXES_PER_IMAGE + 1)}</annotation>",
    )
    assert voc.status_code == 422 and voc.json()["error"]["code"] == "too_many_boxes", voc.text
    assert _annotation_rows(env.store) == MAX_BOXES_PER_IMAGE  # the refused uploads changed nothing


def test_upload_predictions_are_capped_per_image(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    predictions = json.dumps({"predictions": _boxes(MAX_BOXES_PER_IMAGE + 1)})
    refused = _uploaded(env, make_jpeg(seed=2), predictions=predictions)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_many_boxes", refused.text
    assert env.image_rows() == 0 and env.stored_blobs() == []


@pytest.fixture
def small_caps(tmp_path: Path) -> Iterator[Any]:
    """An app whose projects may learn 50 classes, at most 10 per request."""
    store = Store.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "open")
    settings = Settings(data_dir=tmp_path / "data", max_classes=50, max_new_classes=10)

    class Small:
        client: TestClient

        def auth(self) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        def classes(self) -> list[str]:
            with store.db.reading() as session:
                return list(get_project(session, get_or_create_workspace(session, "acme"), "open").classes)

    small = Small()
    with TestClient(create_app(settings, store)) as client:
        small.client = client
        yield small
    store.close()


def test_class_caps_per_request_and_per_project(small_caps: Any, make_jpeg: Callable[..., bytes]) -> None:
    env = small_caps
    image_id = _uploaded(env, make_jpeg(seed=3)).json()["id"]
    too_many_new = _annotate(env, image_id, _boxes(11))
    assert too_many_new.status_code == 422 and too_many_new.json()["error"]["code"] == "too_many_new_classes"
    assert env.classes() == []
    for round_ in range(5):  # 5 x 10 new classes: exactly the project's cap
        ok = _annotate(env, image_id, _boxes(10, prefix=f"r{round_}-"), overwrite="true")
        assert ok.status_code == 201, ok.text
    assert len(env.classes()) == 50
    known = _annotate(env, image_id, _boxes(10, prefix="r0-"), overwrite="true")  # no new class: fine
    assert known.status_code == 201, known.text
    full = _annotate(env, image_id, _boxes(1, prefix="extra-"), overwrite="true")
    assert full.status_code == 422 and full.json()["error"]["code"] == "too_many_classes", full.text
    # Predictions on an upload learn classes under the same caps, before anything is stored.
    upload = _uploaded(env, make_jpeg(seed=4), predictions=json.dumps({"predictions": _boxes(1, "late-")}))
    assert upload.status_code == 422 and upload.json()["error"]["code"] == "too_many_classes", upload.text
    assert len(env.classes()) == 50


def test_thumbnails_come_in_a_fixed_set_of_sizes(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    data = make_jpeg(1600, 1200, seed=5)
    posted = _uploaded(env, data)
    image_id, sha256 = posted.json()["id"], posted.json()["sha256"]
    asked = [16, 17, 31, 50, 64, 100, 127, 128, 200, 255, 256, 300, 511, 700, 1000, 1023, 1024]
    for size in asked:
        got = env.client.get(f"{URL}/{image_id}/thumbnail", headers=env.auth(), params={"size": size})
        assert got.status_code == 200, got.text
        side = max(Image.open(io.BytesIO(got.content)).size)
        assert side <= size and side == thumbnail_side(size) and side in THUMBNAIL_SIZES, (size, side)
    for bad in (15, 1025):
        got = env.client.get(f"{URL}/{image_id}/thumbnail", headers=env.auth(), params={"size": bad})
        assert got.status_code == 422
    cached = sorted((env.store.data_dir / "cache" / "thumbs").glob(f"*/{sha256}-*.jpg"))
    assert len(cached) == len({thumbnail_side(s) for s in asked}) == len(THUMBNAIL_SIZES), cached
    # The review UI's grid shares the same files (its size is one of the fixed set).
    token = re.search(r'name="login_csrf" value="([^"]+)"', env.client.get("/ui/login").text)
    assert token
    form = {"api_key": env.key, "reviewer": "Alice", "login_csrf": token.group(1), "next": "/ui/"}
    signed_in = env.client.post("/ui/login", data=form, follow_redirects=False)
    assert signed_in.status_code in (302, 303), signed_in.text
    ui = env.client.get(f"/ui/p/open/images/{image_id}/thumbnail")
    assert ui.status_code == 200 and max(Image.open(io.BytesIO(ui.content)).size) == 256
    assert sorted((env.store.data_dir / "cache" / "thumbs").glob(f"*/{sha256}-*.jpg")) == cached
