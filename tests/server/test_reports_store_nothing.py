"""A refused feedback or bug report leaves nothing behind: no image row, no blob, no report row, no tag,
no learnt class, whether the image it brings is new bytes or bytes the server already holds. Against
the ``env`` server: ``acme/cams`` has a fixed class list, ``acme/open`` learns its classes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from framescout.store.models import Base, Project

BASE = "/api/v1/projects/acme"


def box(**fields: Any) -> dict[str, Any]:
    return {"x": 20, "y": 20, "width": 10, "height": 10, "class": "person", **fields}


def boxes(*items: dict[str, Any]) -> str:
    return json.dumps({"predictions": list(items)})


def state(env: Any) -> dict[str, Any]:
    """Every table's row count, every project's classes, and the files under blobs/."""
    with env.store.db.reading() as session:
        rows = {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
        classes = {p.slug: list(p.classes) for p in session.scalars(select(Project))}
    files = sorted(str(p.relative_to(env.store.data_dir)) for p in (env.store.data_dir / "blobs").rglob("*"))
    return {"rows": rows, "classes": classes, "files": files}


def post(env: Any, path: str, image: bytes, data: dict[str, str]) -> Any:
    files = {"file": ("f.jpg", image, "image/jpeg")}
    return env.client.post(f"{BASE}/{path}", headers=env.auth(), files=files, data=data)


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
    "corrected with the predictions over the new-class cap": (  # 1 + 1,000 new classes; the cap is 1,000
        "open", "feedback",
        {"verdict": "correct", "predictions": boxes(box(confidence=0.5, **{"class": "cat"})),
         "corrected": boxes(*[box(**{"class": f"k{i}"}) for i in range(1000)])}, 422, "too_many_new_classes"),
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
    env: Any, make_jpeg: Callable[..., bytes], case: str, bytes_: str
) -> None:
    """``known``: the bytes are already in the project the report goes to (a duplicate); ``known
    elsewhere``: only in the other project (a new image whose blob the server already holds)."""
    project, route, data, status, code = REFUSED[case]
    known = make_jpeg(seed=1)
    for slug in ("cams", "open"):
        if bytes_ == "known" or slug != project:
            stored = post(env, f"{slug}/images", known, {})
            assert stored.status_code == 201, stored.text
    before = state(env)
    response = post(env, f"{project}/{route}", known if bytes_ != "new" else make_jpeg(seed=2), data)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    assert state(env) == before


def test_the_harness_sees_what_a_report_stores(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    """A good report with new bytes adds an image, a blob and a report; with known bytes (a bug
    report on the same frame), a report only."""
    before = state(env)
    response = post(
        env, "open/feedback", make_jpeg(seed=3), {"verdict": "correct", "corrected": boxes(box())}
    )
    assert response.status_code == 201, response.text
    after = state(env)
    assert after["rows"]["images"] == before["rows"]["images"] + 1
    assert after["rows"]["reports"] == before["rows"]["reports"] + 1
    assert len(after["files"]) > len(before["files"]) and after["classes"]["open"] == ["person"]
    again = post(
        env, "open/bug-reports", make_jpeg(seed=3), {"severity": "crash", "description": "it crashed"}
    )
    assert again.status_code == 201 and again.json()["image_id"] == response.json()["image_id"]
    last = state(env)
    assert last["rows"]["images"] == after["rows"]["images"] and last["files"] == after["files"]
    assert last["rows"]["reports"] == after["rows"]["reports"] + 1
