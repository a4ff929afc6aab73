"""A refused feedback or bug report leaves nothing behind: no image row, no blob, no report row, no tag,
no learnt class, whether the image it brings is new bytes or bytes the server already holds."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from framescout.server import Settings, create_app
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace
from framescout.store.models import Base, Project

BASE = "/api/v1/projects/acme"


def box(**fields: Any) -> dict[str, Any]:
    return {"x": 20, "y": 20, "width": 10, "height": 10, "class": "person", **fields}


def boxes(*items: dict[str, Any]) -> str:
    return json.dumps({"predictions": list(items)})


@dataclass
class Server:
    """A server on a fresh data directory: workspace ``acme`` with a fixed class list (``cams``) and a
    project that learns classes (``open``), teaching at most two new classes per request."""

    store: Store
    client: TestClient
    auth: dict[str, str]

    def post(self, path: str, image: bytes | None, data: dict[str, str]) -> Any:
        files = None if image is None else {"file": ("f.jpg", image, "image/jpeg")}
        return self.client.post(f"{BASE}/{path}", headers=self.auth, files=files, data=data)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    store = Store.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "cams", classes=["person", "car", "dog"])
        create_project(session, acme, "open")
    settings = Settings(data_dir=tmp_path / "data", max_new_classes=2)
    with TestClient(create_app(settings, store)) as client:
        yield Server(store, client, {"Authorization": f"Bearer {key}"})
    store.close()


def state(env: Server) -> dict[str, Any]:
    """Every table's row count, every project's classes, and the files under blobs/."""
    with env.store.db.reading() as session:
        rows = {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
        classes = {p.slug: list(p.classes) for p in session.scalars(select(Project))}
    files = sorted(str(p.relative_to(env.store.data_dir)) for p in (env.store.data_dir / "blobs").rglob("*"))
    return {"rows": rows, "classes": classes, "files": files}


# (project, route, form fields) -> (status, error code)
REFUSED: dict[str, tuple[str, str, dict[str, str], int, str]] = {
    "corrected outside the image": (
        "open", "feedback", {"verdict": "correct", "corrected": boxes(box(x=500))}, 422, "box_outside_image"),
    "corrected of zero width": (
        "open", "feedback", {"verdict": "correct", "corrected": boxes(box(width=0))}, 422, "invalid_box"),
    "corrected confidence over 1": (
        "open", "feedback", {"verdict": "correct", "corrected": boxes(box(confidence=2))}, 422,
        "invalid_predictions"),
    "corrected class unknown to a fixed list": (
        "cams", "feedback", {"verdict": "correct", "corrected": boxes(box(**{"class": "cat"}))}, 422,
        "unknown_class"),
    "corrected class with a bidi override": (
        "open", "feedback", {"verdict": "correct", "corrected": boxes(box(**{"class": "a\u202eb"}))}, 422,
        "invalid_class"),
    "corrected over the box cap": (
        "open", "feedback", {"verdict": "correct", "corrected": boxes(*[box()] * 1001)}, 422,
        "too_many_boxes"),
    "corrected over the new-class cap": (
        "open", "feedback",
        {"verdict": "correct", "corrected": boxes(*[box(**{"class": f"k{i}"}) for i in range(3)])}, 422,
        "too_many_new_classes"),
    "corrected with the predictions over the new-class cap": (
        "open", "feedback",
        {"verdict": "correct", "predictions": boxes(box(confidence=0.5, **{"class": "cat"})),
         "corrected": boxes(box(**{"class": "dog"}), box(**{"class": "fox"}))}, 422, "too_many_new_classes"),
    "comment with a NUL": (
        "open", "feedback", {"verdict": "correct", "comment": "a\x00b"}, 422, "invalid_comment"),
    "app_version with a line break": (
        "cams", "feedback", {"verdict": "correct", "app_version": "1\n2"}, 422, "invalid_app_version"),
    "metadata not an object": ("cams", "feedback", {"verdict": "correct", "metadata": "[1]"}, 422,
                               "invalid_metadata"),
    "prediction not among those sent": ("cams", "feedback", {"verdict": "wrong", "prediction": "0"}, 422,
                                        "unknown_prediction"),
    "bad verdict": ("cams", "feedback", {"verdict": "meh"}, 422, "invalid_verdict"),
    "bug description with a NUL": (
        "cams", "bug-reports", {"severity": "crash", "description": "it\x00crashed"}, 422,
        "invalid_description"),
    "bug with a blank description": (
        "open", "bug-reports", {"severity": "crash", "description": "  "}, 422, "missing_description"),
    "bug app_version too long": (
        "cams", "bug-reports", {"severity": "crash", "description": "x", "app_version": "v" * 201}, 422,
        "invalid_app_version"),
    "bug severity unknown": ("open", "bug-reports", {"severity": "boom", "description": "x"}, 422,
                             "invalid_severity"),
}  # fmt: skip


@pytest.mark.parametrize("bytes_", ["new", "known", "known elsewhere"])
@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_report_stores_nothing(
    server: Server, make_jpeg: Callable[..., bytes], case: str, bytes_: str
) -> None:
    """``known``: the bytes are already in the project the report goes to (a duplicate); ``known
    elsewhere``: only in the other project (a new image whose blob the server already holds)."""
    project, route, data, status, code = REFUSED[case]
    known = make_jpeg(seed=1)
    for slug in ("cams", "open"):
        if bytes_ == "known" or slug != project:
            stored = server.post(f"{slug}/images", known, {})
            assert stored.status_code == 201, stored.text
    before = state(server)
    response = server.post(f"{project}/{route}", known if bytes_ != "new" else make_jpeg(seed=2), data)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    assert state(server) == before


def test_the_harness_sees_what_a_report_stores(server: Server, make_jpeg: Callable[..., bytes]) -> None:
    """A good report with new bytes adds an image, a blob and a report; with known bytes (a bug
    report on the same frame), a report only."""
    before = state(server)
    response = server.post(
        "open/feedback", make_jpeg(seed=3), {"verdict": "correct", "corrected": boxes(box())}
    )
    assert response.status_code == 201, response.text
    after = state(server)
    assert after["rows"]["images"] == before["rows"]["images"] + 1
    assert after["rows"]["reports"] == before["rows"]["reports"] + 1
    assert len(after["files"]) > len(before["files"]) and after["classes"]["open"] == ["person"]
    again = server.post(
        "open/bug-reports", make_jpeg(seed=3), {"severity": "crash", "description": "it crashed"}
    )
    assert again.status_code == 201 and again.json()["image_id"] == response.json()["image_id"]
    last = state(server)
    assert last["rows"]["images"] == after["rows"]["images"] and last["files"] == after["files"]
    assert last["rows"]["reports"] == after["rows"]["reports"] + 1
