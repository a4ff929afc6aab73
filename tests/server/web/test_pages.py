"""The review UI's pages and actions over HTTP: sign-in, CSRF, workspace scoping, filters, saving a
review (and refusing bad ones without writing anything), reports, export and dataset versions."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import yaml

BASE = "/api/v1/projects/acme"
HTML = {"Accept": "text/html"}


def sign_in(env: Any, key: str | None = None, reviewer: str = "Alice", next_url: str = "/ui/") -> Any:
    page = env.client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return env.client.post(
        "/ui/login",
        data={
            "api_key": key or env.key,
            "reviewer": reviewer,
            "login_csrf": token.group(1),
            "next": next_url,
        },
        follow_redirects=False,
    )


def csrf_of(env: Any, path: str = "/ui/") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', env.client.get(path).text)
    assert found
    return found.group(1)


def upload(env: Any, make_jpeg: Callable[..., bytes], seed: int, project: str = "cams", **fields: Any) -> str:
    predictions = fields.pop(
        "predictions",
        [
            {"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.35, "class": "person"},
            {"x": 40, "y": 30, "width": 8, "height": 8, "confidence": 0.9, "class": "car"},
        ],
    )
    data = {"predictions": json.dumps({"predictions": predictions}), **fields}
    response = env.client.post(
        f"{BASE}/{project}/images",
        headers=env.auth(),
        files={"file": (f"im{seed}.jpg", make_jpeg(seed=seed), "image/jpeg")},
        data=data,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def review_state(env: Any, project: str, image_id: str, query: str = "") -> dict[str, Any]:
    page = env.client.get(f"/ui/p/{project}/images/{image_id}{query}")
    assert page.status_code == 200, page.text
    found = re.search(r'id="review-state">(.*?)</script>', page.text, re.S)
    assert found
    state: dict[str, Any] = json.loads(found.group(1))
    return state


def save(env: Any, state: dict[str, Any], body: dict[str, Any], csrf: str | None = None) -> Any:
    return env.client.post(state["saveUrl"], json=body, headers={"X-CSRF-Token": csrf or state["csrf"]})


def box(cls: str, x0: float = 2, y0: float = 3, x1: float = 20, y1: float = 30) -> dict[str, Any]:
    return {"class": cls, "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}


def record(env: Any, project: str, image_id: str) -> dict[str, Any]:
    result: dict[str, Any] = env.client.get(f"{BASE}/{project}/images/{image_id}", headers=env.auth()).json()
    return result


# ------------------------------------------------------------------------------------ sign-in
def test_sign_in_with_a_key_sets_a_safe_session_cookie(env: Any) -> None:
    assert env.client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    redirect = env.client.get("/ui/p/cams", headers=HTML, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/ui/login?next=%2Fui%2Fp%2Fcams"

    bad = sign_in(env, key="fs_not-a-key")
    assert bad.status_code == 401 and "not valid" in bad.text
    assert "framescout_session" not in bad.cookies

    good = sign_in(env, next_url="/ui/p/cams")
    assert good.status_code == 303 and good.headers["location"] == "/ui/p/cams"
    cookie = good.headers["set-cookie"]
    assert "framescout_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert env.key not in cookie  # the key is exchanged, never stored in the browser
    assert env.client.get("/ui/p/cams").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui/", "/api/v1/whoami", "/ui\\..\\x"]
)
def test_sign_in_never_redirects_off_the_ui(env: Any, target: str) -> None:
    response = sign_in(env, next_url=target)
    assert response.status_code == 303 and response.headers["location"] == "/ui/"


def test_login_form_needs_its_own_token(env: Any) -> None:
    env.client.cookies.clear()
    response = env.client.post(
        "/ui/login", data={"api_key": env.key, "login_csrf": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "framescout_session" not in response.cookies


def test_sign_out_needs_the_csrf_token_and_ends_the_session(env: Any) -> None:
    sign_in(env)
    assert env.client.post("/ui/logout", data={"csrf": "nope"}).status_code == 403
    assert env.client.get("/ui/").status_code == 200
    out = env.client.post("/ui/logout", data={"csrf": csrf_of(env)}, follow_redirects=False)
    assert out.status_code == 303
    assert env.client.get("/ui/", headers=HTML, follow_redirects=False).status_code == 303


def test_a_session_sees_only_its_own_workspace(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    secret = env.client.post(
        "/api/v1/projects/other/secret/images",
        headers=env.auth(env.other_key),
        files={"file": ("s.jpg", make_jpeg(seed=99), "image/jpeg")},
    ).json()["id"]
    sign_in(env)
    listing = env.client.get("/ui/").text
    assert "cams" in listing and "secret" not in listing
    for path in ("/ui/p/secret", f"/ui/p/secret/images/{secret}", f"/ui/p/cams/images/{secret}/thumbnail"):
        response = env.client.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert "secret" not in response.text or "no project" in response.text


# ------------------------------------------------------------------------------------ browser
def test_browser_filters_and_pages(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    ids = []
    for i in range(6):
        low = i % 2 == 0
        ids.append(
            upload(
                env,
                make_jpeg,
                seed=i,
                sampling_rule="low-confidence" if low else "random",
                tags="night" if i < 2 else "day",
                split="train" if i == 5 else "",
                batch="b1" if i < 3 else "b2",
                device_id="cam-1" if i < 4 else "cam-2",
                predictions=[
                    {
                        "x": 20,
                        "y": 20,
                        "width": 10,
                        "height": 10,
                        "confidence": 0.3 if low else 0.8,
                        "class": "car",
                    }
                ],
            )
        )
    sign_in(env)

    def shown(query: str) -> set[str]:
        page = env.client.get(f"/ui/p/cams/images?{query}")
        assert page.status_code == 200, page.text
        return set(re.findall(r'data-image-id="([0-9a-f]+)"', page.text))

    assert shown("") == set(ids)
    assert shown("rule=low-confidence") == {ids[0], ids[2], ids[4]}
    assert shown("tag=night") == {ids[0], ids[1]}
    assert shown("batch=b2&rule=random") == {ids[3], ids[5]}
    assert shown("split=train") == {ids[5]}
    assert shown("min_confidence=0.5") == {ids[1], ids[3], ids[5]}
    assert shown("max_confidence=0.4&min_confidence=&tag=") == {ids[0], ids[2], ids[4]}
    assert shown("status=pending") == set(ids)
    assert shown("device_id=cam-2") == {ids[4], ids[5]}
    assert shown("device_id=cam-1&rule=random") == {ids[1], ids[3]}
    assert '<option value="cam-2" selected>' in env.client.get("/ui/p/cams/images?device_id=cam-2").text
    state = review_state(env, "cams", ids[0])
    assert save(env, state, {"status": "reviewed", "boxes": []}).status_code == 200
    assert shown("status=reviewed") == {ids[0]}
    assert shown("status=pending") == set(ids) - {ids[0]}

    bad = env.client.get("/ui/p/cams/images?min_confidence=high", headers=HTML)
    assert bad.status_code == 422 and "min_confidence" in bad.text and "<html" in bad.text
    assert env.client.get("/ui/p/cams/images?status=maybe").status_code == 422


def test_browser_pages_through_many_images(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    ids = {upload(env, make_jpeg, seed=100 + i, predictions=[]) for i in range(50)}
    sign_in(env)
    first = set(re.findall(r'data-image-id="([0-9a-f]+)"', env.client.get("/ui/p/cams/images").text))
    second = set(re.findall(r'data-image-id="([0-9a-f]+)"', env.client.get("/ui/p/cams/images?page=2").text))
    assert len(first) == 48 and len(second) == 2 and first | second == ids


def test_thumbnail_and_file_behind_the_session(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    from PIL import Image

    image_id = upload(env, make_jpeg, seed=7)
    assert env.client.get(f"/ui/p/cams/images/{image_id}/thumbnail").status_code == 401  # no session
    sign_in(env)
    thumb = env.client.get(f"/ui/p/cams/images/{image_id}/thumbnail")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256
    cached = list((env.store.data_dir / "cache" / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1 and cached[0].read_bytes() == thumb.content  # made once, then read from disk
    assert env.client.get(f"/ui/p/cams/images/{image_id}/thumbnail").content == thumb.content
    assert env.client.get(f"/ui/p/cams/images/{image_id}/file").content == make_jpeg(seed=7)


# ------------------------------------------------------------------------------------ review
def test_review_saves_ground_truth_with_who_and_when(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    first, second = upload(env, make_jpeg, seed=1), upload(env, make_jpeg, seed=2)
    sign_in(env, reviewer="Alice Smith")
    state = review_state(env, "cams", second)  # newest first: `second` leads the queue
    assert [b["source"] for b in state["boxes"]] == ["prediction", "prediction"]
    assert all(b["state"] == "pending" for b in state["boxes"])
    assert state["nextUrl"].endswith(first)

    response = save(env, state, {"status": "reviewed", "boxes": [box("dog"), box("car", 30, 20, 44, 40)]})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["boxes"] == 2 and answer["reviewed_by"] == "Alice Smith"
    assert answer["next_url"].endswith(first)  # the next image still waiting for review

    saved = record(env, "cams", second)
    assert saved["review_status"] == "reviewed" and saved["reviewed_by"] == "Alice Smith"
    assert saved["reviewed_at"]
    truth = [a for a in saved["annotations"] if a["kind"] == "ground_truth"]
    assert [(a["class_name"], a["created_by"]) for a in truth] == [
        ("dog", "Alice Smith"),
        ("car", "Alice Smith"),
    ]
    assert len([a for a in saved["annotations"] if a["kind"] == "prediction"]) == 2  # pre-labels untouched

    # Reopening shows the saved ground truth; saving again replaces it.
    again = review_state(env, "cams", second)
    assert [(b["class"], b["source"], b["state"]) for b in again["boxes"]] == [
        ("dog", "ground_truth", "accepted"),
        ("car", "ground_truth", "accepted"),
    ]
    assert save(env, again, {"status": "reviewed", "boxes": [box("person")]}).status_code == 200
    assert [
        a["class_name"] for a in record(env, "cams", second)["annotations"] if a["kind"] == "ground_truth"
    ] == ["person"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"status": "reviewed", "boxes": [box("unicorn")]}, 422, "unknown_class"),
        ({"status": "reviewed", "boxes": [box("car", 2, 3, 500, 30)]}, 422, "box_outside_image"),
        ({"status": "reviewed", "boxes": [box("car", 20, 3, 10, 30)]}, 422, "invalid_box"),
        ({"status": "rejected", "boxes": [box("car")]}, 422, "rejected_with_boxes"),
        ({"status": "approved", "boxes": []}, 422, "validation_error"),
        ({"status": "reviewed", "boxes": [{**box("car"), "colour": "red"}]}, 422, "validation_error"),
        ({"status": "reviewed", "boxes": [box("car")] * 1001}, 422, "validation_error"),
    ],
)
def test_a_bad_review_is_refused_and_changes_nothing(
    env: Any, make_jpeg: Callable[..., bytes], body: dict[str, Any], status: int, code: str
) -> None:
    image_id = upload(env, make_jpeg, seed=3)
    sign_in(env)
    state = review_state(env, "cams", image_id)
    assert save(env, state, {"status": "reviewed", "boxes": [box("dog")]}).status_code == 200
    before = record(env, "cams", image_id)
    response = save(env, state, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert record(env, "cams", image_id) == before


def test_saving_needs_the_sessions_csrf_token(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg, seed=4)
    sign_in(env)
    state = review_state(env, "cams", image_id)
    forged = env.client.post(state["saveUrl"], json={"status": "reviewed", "boxes": []})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    assert save(env, state, {"status": "reviewed"}, csrf="x" * 32).status_code == 403
    assert record(env, "cams", image_id)["review_status"] is None


def test_user_feedback_appears_as_suggested_boxes(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg, seed=5)
    corrected = {"predictions": [{"x": 21, "y": 20, "width": 12, "height": 10, "class": "dog"}]}
    env.client.post(
        f"{BASE}/cams/feedback",
        headers=env.auth(),
        data={
            "image_id": image_id,
            "verdict": "wrong",
            "prediction": "0",
            "corrected": json.dumps(corrected),
        },
    ).raise_for_status()
    sign_in(env)
    state = review_state(env, "cams", image_id)
    assert [(b["class"], b["source"]) for b in state["boxes"]][-1] == ("dog", "feedback")
    page = env.client.get(f"/ui/p/cams/images/{image_id}").text
    assert "User feedback" in page
    assert re.search(r"on box 1\b", page)
    assert "on box 0" not in page  # the list beside the image counts from 1; so does the feedback
    assert 'id="new-class"' not in page and "fixed class list" in page  # cams was created with classes
    open_id = upload(env, make_jpeg, seed=6, project="open")
    assert 'id="new-class"' in env.client.get(f"/ui/p/open/images/{open_id}").text


def test_start_review_opens_the_newest_pending_image_under_the_filters(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    night = upload(env, make_jpeg, seed=10, tags="night")
    upload(env, make_jpeg, seed=11)
    sign_in(env)
    go = env.client.get("/ui/p/cams/review?tag=night", follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"] == f"/ui/p/cams/images/{night}?tag=night"
    state = review_state(env, "cams", night, "?tag=night")
    answer = save(env, state, {"status": "rejected", "boxes": []}).json()
    assert answer["next_url"] == "/ui/p/cams/images?tag=night&done=1"  # nothing left under the filter
    done = env.client.get("/ui/p/cams/review?tag=night", follow_redirects=False)
    assert done.headers["location"] == "/ui/p/cams/images?tag=night&done=1"


# ------------------------------------------------------------------------------------ dashboard, reports
def test_dashboard_shows_the_projects_figures(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    for i in range(4):
        upload(
            env,
            make_jpeg,
            seed=20 + i,
            sampling_rule="low-confidence" if i < 3 else "random",
            model_version="1" if i < 2 else "2",
            sampling_reason="1 box(es) below confidence 0.40 (lowest 0.31)" if i < 3 else "1% of traffic",
            metadata=json.dumps(
                {"rule_kind": "confidence_below" if i < 3 else "random"}
                | ({"observed_at": 1764500000.0 + 3600 * i} if i else {})
            ),
        )
    env.client.post(
        f"{BASE}/cams/bug-reports", headers=env.auth(), data={"severity": "crash", "description": "app died"}
    ).raise_for_status()
    sign_in(env)
    page = env.client.get("/ui/p/cams").text
    assert re.search(r'id="total-images">4<', page)
    assert re.search(r'id="open-bugs">1<', page)
    assert page.count('class="bar"') >= 2 + 2  # kept-over-time bars per rule + histogram bins
    versions = re.search(r'id="model-versions".*?</table>', page, re.S)
    assert versions
    rows = re.findall(
        r'<tr data-version="(\w+)">.*?class="thresholds">(.*?)</td>.*?class="num frames">(\d+)<'
        r'.*?class="num reviewed">(\d+)<.*?class="corrected">(.*?)</td>',
        versions.group(0),
        re.S,
    )
    shown = [
        (v, html.unescape(re.sub(r"<[^>]+>", "", t)), n, r, re.sub(r"<[^>]+>", "", c).strip())
        for v, t, n, r, c in rows
    ]
    assert shown == [
        ("1", "low-confidence: < 0.40", "2", "0", "none reviewed yet"),
        ("2", "low-confidence: < 0.40", "2", "0", "none reviewed yet"),
    ]
    assert "100% kept by confidence rules" not in page
    assert 'id="kept-basis">by observed time; 1 frame without one by upload time<' in page
    assert "app died" in page


def test_dashboard_splits_the_kept_frames_by_device(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    for i, device in enumerate(["cam-a", "cam-a", "cam-b", ""]):
        upload(env, make_jpeg, seed=60 + i, sampling_rule="low-confidence", device_id=device)
    sign_in(env)

    def chart(query: str) -> tuple[list[str], list[str]]:
        page = env.client.get(f"/ui/p/cams{query}")
        assert page.status_code == 200, page.text
        svg = re.search(r'<svg id="kept-chart".*?</svg>', page.text, re.S)
        legend = re.search(r'</svg>\s*<ul class="legend">(.*?)</ul>', page.text, re.S)
        assert svg and legend
        bars = [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", svg.group(0))]
        names = re.findall(r'class="swatch"[^>]*></span>([^<]+?) <span', legend.group(1))
        return bars, [html.unescape(n) for n in names]

    bars, names = chart("")
    assert names == ["low-confidence"] and len(bars) == 1 and bars[0].endswith(": 4 kept by low-confidence")
    bars, names = chart("?kept_by=device")
    assert names == ["cam-a", "(no device)", "cam-b"]
    assert sorted(b.split(": ", 1)[1] for b in bars) == [
        "1 kept from (no device)",
        "1 kept from cam-b",
        "2 kept from cam-a",
    ]
    page = env.client.get("/ui/p/cams?kept_by=device").text
    assert re.search(r'<a href="/ui/p/cams\?kept_by=device#kept" class="active"', page)
    bad = env.client.get("/ui/p/cams?kept_by=model", headers=HTML)
    assert bad.status_code == 422 and "kept_by" in bad.text and "<html" in bad.text


def test_reports_can_be_resolved_from_the_queue(env: Any) -> None:
    report = env.client.post(
        f"{BASE}/cams/bug-reports",
        headers=env.auth(),
        data={"severity": "no_detections", "description": "dark"},
    ).json()
    sign_in(env)
    assert "dark" in env.client.get("/ui/p/cams/reports?kind=bug").text
    token = csrf_of(env, "/ui/p/cams/reports")
    url = f"/ui/p/cams/reports/{report['id']}/status"
    assert env.client.post(url, data={"status": "resolved", "csrf": "bad"}).status_code == 403
    assert env.client.post(url, data={"status": "gone", "csrf": token}).status_code == 422
    done = env.client.post(url, data={"status": "resolved", "csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "dark" not in env.client.get("/ui/p/cams/reports?kind=bug").text  # open only, by default
    assert "dark" in env.client.get("/ui/p/cams/reports?status=resolved").text
    assert re.search(r'id="open-bugs">0<', env.client.get("/ui/p/cams").text)


# ------------------------------------------------------------------------------------ export
def test_export_zip_of_reviewed_images_and_a_frozen_version(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    labelled, background, rejected, waiting = (upload(env, make_jpeg, seed=30 + i) for i in range(4))
    sign_in(env)
    for image_id, body in (
        (labelled, {"status": "reviewed", "boxes": [box("car"), box("dog", 30, 20, 44, 40)]}),
        (background, {"status": "reviewed", "boxes": []}),
        (rejected, {"status": "rejected", "boxes": []}),
    ):
        assert save(env, review_state(env, "cams", image_id), body).status_code == 200
    page = env.client.get("/ui/p/cams/export").text
    assert "2 image(s) with 2 box(es) are ready" in page
    token = csrf_of(env, "/ui/p/cams/export")

    response = env.client.post("/ui/p/cams/export", data={"format": "yolo", "csrf": token})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "acme-cams-yolo.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        names = zf.namelist()
        data = yaml.safe_load(zf.read("data.yaml"))
        labels = {n: zf.read(n).decode() for n in names if n.endswith(".txt")}
    assert list(data["names"].values()) == ["person", "car", "dog"]
    assert sum(n.endswith(".jpg") for n in names) == 2  # the rejected and the waiting image stay out
    assert sorted(len(text.split()) // 5 for text in labels.values()) == [0, 2]  # a background image

    assert env.client.post("/ui/p/cams/export", data={"format": "csv", "csrf": token}).status_code == 422
    assert env.client.post("/ui/p/cams/export", data={"format": "coco", "csrf": "no"}).status_code == 403

    frozen = env.client.post(
        "/ui/p/cams/versions", data={"name": "v1", "csrf": token}, follow_redirects=False
    )
    assert frozen.status_code == 303
    assert re.search(
        r"<td>v1</td><td class=\"num\">2</td><td class=\"num\">2</td>",
        env.client.get("/ui/p/cams/export").text,
    )
    assert (
        save(
            env, review_state(env, "cams", waiting), {"status": "reviewed", "boxes": [box("car")]}
        ).status_code
        == 200
    )
    version = env.client.post("/ui/p/cams/export", data={"format": "coco", "version": "v1", "csrf": token})
    with zipfile.ZipFile(io.BytesIO(version.content)) as zf:
        images = sum(len(json.loads(zf.read(n))["images"]) for n in zf.namelist() if n.endswith(".json"))
    assert images == 2  # the version is frozen: the image reviewed afterwards is not in it
    taken = env.client.post("/ui/p/cams/versions", data={"name": "v1", "csrf": token}, headers=HTML)
    assert taken.status_code == 409 and "already has a version" in taken.text


def test_export_of_a_project_with_nothing_reviewed_says_so(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    upload(env, make_jpeg, seed=40)
    sign_in(env)
    token = csrf_of(env, "/ui/p/cams/export")
    response = env.client.post("/ui/p/cams/export", data={"format": "coco", "csrf": token}, headers=HTML)
    assert response.status_code == 404 and "no reviewed or labelled images" in response.text


def test_favicon_is_served_without_signing_in(env: Any) -> None:
    """Browsers ask for /favicon.ico on every page; it used to answer 401 (a console error each time)."""
    icon = env.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = env.client.get("/ui/static/favicon.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    page = env.client.get("/ui/login").text
    assert 'rel="icon" href="/ui/static/favicon.svg"' in page
