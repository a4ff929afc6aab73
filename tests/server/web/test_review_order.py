"""The review queue's orders over HTTP on both stores: newest, oldest, most uncertain and highest-yield
rules first each open the expected frame and go on to the expected next one after a save; the
uncertainty order is `least_confidence_score`'s; the choice is remembered; a bad order is refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from framescout import Predictions
from framescout.predictions.box import Box
from framescout.sampling.uncertainty import least_confidence_score
from framescout.store.accounts import get_project, get_workspace
from framescout.store.models import Project
from framescout.store.review import save_review
from server.conftest import Env
from server.web.test_pages import review_state, save, sign_in
from yield_frames import frame

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 11, 1, 10, 0)
HOUR = timedelta(hours=1)
CAR = (10, 10, 50, 50)


def car(confidence: float, shift: float = 0) -> Box:
    return Box("car", CAR[0] + shift, CAR[1], CAR[2] + shift, CAR[3], confidence)


def cams(env: Env) -> Project:
    with env.store.db.reading() as session:
        return get_project(session, get_workspace(session, "acme"), "cams")


@pytest.fixture
def queue(env: Env) -> dict[str, str]:
    """Four frames waiting for review, and two reviewed ones (``fixed``, ``kept``, both 0.5) that make
    ``random`` the rule that yields."""
    proj, store = cams(env), env.store
    frames = {
        "old": frame(store, proj, 1, [car(0.9)], rule="random", version="1", at=T0),
        "mid": frame(store, proj, 2, [car(0.2)], rule="low", version="1", at=T0 + HOUR),
        "new": frame(store, proj, 3, [car(0.6), car(0.9, 80)], rule="random", version="1", at=T0 + 2 * HOUR),
        "bare": frame(store, proj, 4, [], rule="low", version="1", at=T0 + 3 * HOUR),
    }  # fmt: skip
    fixed = frame(store, proj, 5, [car(0.5)], rule="random", version="1", at=T0 - 2 * HOUR)
    kept = frame(store, proj, 6, [car(0.5)], rule="low", version="1", at=T0 - HOUR)
    save_review(store.db, proj, fixed, [Box("dog", *CAR)], reviewer="r")  # relabelled: random yields 1.0
    save_review(store.db, proj, kept, [Box("car", *CAR)], reviewer="r")  # unchanged: low yields 0
    sign_in(env)
    return {**frames, "fixed": fixed, "kept": kept}


def walk(env: Env, query: str) -> list[str]:
    """Open the queue with ``query`` and accept every frame in turn: the ids in the order met."""
    go = env.client.get(f"/ui/p/cams/review{query}", follow_redirects=False)
    assert go.status_code == 303, go.text
    met: list[str] = []
    url = go.headers["location"]
    while "/images/" in url and "done=1" not in url:
        path = urlsplit(url)
        image_id = path.path.rsplit("/", 1)[1]
        if image_id in met:
            break
        met.append(image_id)
        state = review_state(env, "cams", image_id, f"?{path.query}" if path.query else "")
        saved = save(env, state, {"status": "reviewed", "boxes": []})
        assert saved.status_code == 200, saved.text
        url = saved.json()["next_url"]
    return met


EXPECTED = {
    "newest": ["bare", "new", "mid", "old"],
    "oldest": ["old", "mid", "new", "bare"],
    "uncertainty": ["mid", "new", "old", "bare"],  # 1 - lowest confidence: 0.8, 0.4, 0.1, then none
    "yield": ["new", "old", "bare", "mid"],  # random's frames first (newest first), then low's
}


@pytest.mark.parametrize("order", sorted(EXPECTED))
def test_each_order_opens_and_continues_with_the_expected_frames(
    env: Env, queue: dict[str, str], order: str
) -> None:
    names = {image_id: name for name, image_id in queue.items()}
    assert [names[i] for i in walk(env, f"?order={order}")] == EXPECTED[order]


def test_the_uncertainty_order_is_least_confidence_score() -> None:
    frames = {"old": [0.9], "mid": [0.2], "new": [0.6, 0.9], "bare": []}
    scored = {
        name: least_confidence_score(Predictions.from_arrays([CAR] * len(c), c, [0] * len(c), ["car"]))
        for name, c in frames.items()
    }
    assert sorted(scored, key=lambda name: -scored[name]) == EXPECTED["uncertainty"]


def test_the_review_pages_links_follow_the_order_and_the_choice_is_remembered(
    env: Env, queue: dict[str, str]
) -> None:
    state = review_state(env, "cams", queue["new"], "?order=uncertainty")  # mid, kept, fixed, new, old, bare
    assert state["prevUrl"].split("?")[0].endswith(queue["fixed"])
    assert state["nextUrl"].split("?")[0].endswith(queue["old"])
    page = env.client.get(f"/ui/p/cams/images/{queue['new']}?order=oldest").text
    assert '<option value="oldest" selected>' in page
    remembered = env.client.get("/ui/p/cams/review", follow_redirects=False)
    assert remembered.headers["location"].startswith(f"/ui/p/cams/images/{queue['old']}")
    assert '<option value="oldest" selected>' in env.client.get(f"/ui/p/cams/images/{queue['mid']}").text


def test_an_unknown_order_is_refused_naming_the_field(env: Env) -> None:
    sign_in(env)
    response = env.client.get("/ui/p/cams/review?order=random", follow_redirects=False)
    assert response.status_code == 422
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == "invalid_filter" and "order" in body["error"]["message"]
