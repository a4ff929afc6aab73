"""The Evaluation page and the browser's evaluation filters on both stores (SQLite, and PostgreSQL + S3),
on hand-made frames whose every error is known: a car missed, a person predicted as a car, a person on
background, and a second version on one frame only (the comparison's shared frames)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from server.test_evaluation_api import CAR, PERSON, Frames, frames  # noqa: F401 (the module's fixture)
from server.web.test_pages import sign_in

pytestmark = pytest.mark.both_backends
UI = "/ui/p/cams"


def _ids(env: Any, query: str) -> set[str]:
    page = env.client.get(f"{UI}/images?{query}")
    assert page.status_code == 200, page.text
    return set(re.findall(r'data-image-id="([^"]+)"', page.text))


def test_each_error_opens_its_frames_and_a_comparison_keeps_to_shared_frames(
    env: Any,
    frames: Frames,  # noqa: F811
) -> None:
    missed_car = frames.upload([PERSON], model_version="1")
    frames.review(missed_car, [PERSON, CAR])
    confused = frames.upload([PERSON | {"class": "car"}], model_version="1")
    frames.review(confused, [PERSON])
    background = frames.upload([PERSON], model_version="1")
    frames.review(background, [])
    imported = frames.upload([CAR], model_version="1")
    frames.ground_truth(imported, [PERSON])  # pending, with uploaded truth: measured, a car on background
    frames.upload([PERSON], model_version="1")  # no ground truth: not measured
    frames.add_predictions(missed_car, "2", [CAR])
    assert sign_in(env).status_code == 303

    page = env.client.get(f"{UI}/evaluation?model_version=1").text
    assert 'Version 1 <span class="muted">on 4 frames' in page
    cells = re.findall(r'data-truth="([^"]*)" data-predicted="([^"]*)"[^>]*><a href="([^"]+)"', page)
    links = {(truth, predicted): href.replace("&amp;", "&") for truth, predicted, href in cells}
    behind = {cell: _ids(env, href.split("?", 1)[1]) for cell, href in links.items()}
    assert behind == {
        ("person", "person"): {missed_car},
        ("person", "car"): {confused},
        ("car", ""): {missed_car},
        ("", "person"): {background},
        ("", "car"): {imported},
        ("person", ""): {imported},
    }
    assert _ids(env, "eval_version=1&eval=fp&eval_class=car") == {confused, imported}
    assert _ids(env, "eval_version=1&eval=fp&eval_class=person") == {background}
    assert _ids(env, "eval_version=1&eval=miss&eval_class=car") == {missed_car}
    assert _ids(env, "eval_version=1&eval=miss&eval_class=person") == {confused, imported}

    side = env.client.get(f"{UI}/evaluation?model_version=1&compare=2").text
    assert "on the same 1 frame</h2>" in side and side.count('<section class="card panel"') == 2
    assert _ids(env, "eval_version=1&eval_compare=2&eval=miss&eval_class=car") == {missed_car}
    assert _ids(env, "eval_version=2&eval_compare=1&eval=miss&eval_class=person") == {missed_car}
    assert _ids(env, "eval_version=1&eval_compare=2&eval=fp&eval_class=car") == set()  # not a shared frame
    review = env.client.get(f"{UI}/review?eval_version=1&eval=fp&eval_class=car", follow_redirects=False)
    assert review.status_code == 303  # "Review these": the one frame still pending among them
    assert review.headers["location"] == f"{UI}/images/{imported}?eval_version=1&eval=fp&eval_class=car"
    assert env.client.get(review.headers["location"]).status_code == 200
