"""GET /rules-yield over hand-made review edits: each kind of change is counted exactly once, per rule
and model version, ranked by corrections per reviewed frame; the filters and the pairing rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from framescout.predictions.box import Box
from framescout.store.corrections import BoxTable, unit_changes
from framescout.store.models import Project
from framescout.store.review import save_review
from server.conftest import Env
from yield_frames import frame, predict

pytestmark = pytest.mark.both_backends

URL = "/api/v1/projects/acme/cams/rules-yield"
A, B, C, D, E = (10, 10, 50, 50), (100, 10, 140, 50), (150, 50, 190, 90), (60, 60, 90, 95), (100, 60, 130, 90)
A_NUDGED = (12, 12, 52, 52)  # IoU 0.82 with A: the same box
C_MOVED = (165, 60, 200, 100)  # IoU 0.33 with C: moved


def box(name: str, where: tuple[float, float, float, float]) -> Box:
    return Box(name, *where)


def project(env: Env) -> Project:
    from framescout.store.accounts import get_project, get_workspace

    with env.store.db.reading() as session:
        return get_project(session, get_workspace(session, "acme"), "cams")


def rows(env: Env, **params: str) -> list[dict[str, Any]]:
    response = env.client.get(URL, params=params, headers=env.auth())
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["rules"]
    return found


def counts(row: dict[str, Any]) -> tuple[Any, ...]:
    keys = (
        "rule",
        "model_version",
        "kept",
        "reviewed",
        "unchanged",
        "added",
        "removed",
        "relabelled",
        "moved",
    )
    return (*(row[k] for k in keys), row["corrections"], row["corrections_per_reviewed_frame"])


def test_each_kind_of_change_is_counted_once_per_rule_and_version(env: Env) -> None:
    proj = project(env)
    store = env.store
    same = frame(store, proj, 1, [box("car", A)], rule="low", version="1")
    every = frame(
        store, proj, 2, [box("car", A), box("car", B), box("car", C), box("dog", D)], rule="low", version="1"
    )
    frame(store, proj, 3, [box("car", A)], rule="low", version="1")  # kept, never reviewed
    rejected = frame(store, proj, 4, [box("car", A)], rule="low", version="1")
    steady = frame(store, proj, 5, [box("car", A)], rule="random", version="1")
    bare = frame(store, proj, 6, [])  # no rule, no model: nothing to compare with
    predict(env.client, env.auth(), same, "2", [box("car", A), box("dog", D)])  # version 2 also saw a dog
    predict(env.client, env.auth(), every, "3", [])  # version 3 ran on it and found nothing

    save_review(store.db, proj, same, [box("car", A_NUDGED)], reviewer="r")
    save_review(
        store.db,
        proj,
        every,
        [
            box("car", A),
            box("person", B),
            box("car", C_MOVED),
            box("car", E),
        ],  # kept, relabelled, moved, added
        reviewer="r",
    )  # and the dog at D removed
    save_review(store.db, proj, rejected, [], reviewer="r", status="rejected")
    save_review(store.db, proj, steady, [box("car", A)], reviewer="r")
    save_review(store.db, proj, bare, [box("car", A)], reviewer="r")

    assert [counts(r) for r in rows(env)] == [
        ("low", "3", 1, 1, 0, 4, 0, 0, 0, 4, 4.0),  # every reviewed box was one version 3 missed
        ("low", "1", 4, 2, 1, 1, 1, 1, 1, 4, 2.0),
        ("(no rule: API)", None, 1, 1, 0, 1, 0, 0, 0, 1, 1.0),
        ("low", "2", 1, 1, 0, 0, 1, 0, 0, 1, 1.0),
        ("random", "1", 1, 1, 1, 0, 0, 0, 0, 0, 0.0),
    ]
    assert [counts(r) for r in rows(env, model_version="2")] == [("low", "2", 1, 1, 0, 0, 1, 0, 0, 1, 1.0)]
    assert rows(env, model_version="9") == []

    from sqlalchemy import update

    from framescout.store.models import Image as ImageRow

    with store.db.writing() as session:
        session.execute(update(ImageRow).where(ImageRow.id == steady).values(created_at=datetime(2020, 1, 1)))
    recent = rows(env, since="2025-01-01T00:00:00Z")
    assert [(r["rule"], r["model_version"]) for r in recent] == [
        ("low", "3"),
        ("low", "1"),
        ("(no rule: API)", None),
        ("low", "2"),
    ]


def test_a_frame_without_reviews_is_kept_and_unranked(env: Env) -> None:
    proj = project(env)
    frame(env.store, proj, 7, [box("car", A)], rule="low", version="1")
    reviewed = frame(env.store, proj, 8, [box("car", A)], rule="random", version="1")
    save_review(env.store.db, proj, reviewed, [], reviewer="r")  # the car removed
    assert [counts(r) for r in rows(env)] == [
        ("random", "1", 1, 1, 0, 0, 1, 0, 0, 1, 1.0),
        ("low", "1", 1, 0, 0, 0, 0, 0, 0, 0, None),
    ]


def test_bad_filters_name_the_parameter(env: Env) -> None:
    response = env.client.get(URL, params={"since": "yesterday"}, headers=env.auth())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "since" in response.json()["error"]["message"]
    assert env.client.get(URL).status_code == 401


def table(*boxes: tuple[int, str, tuple[float, float, float, float]]) -> BoxTable:
    codes = {"car": 0, "person": 1, "dog": 2}
    return BoxTable.of([(unit, codes[name], *where) for unit, name, where in boxes])


def test_a_relabel_is_paired_before_a_move_and_the_best_overlap_first() -> None:
    # Unit 0: the prediction is both a relabel (person on it) and a move (a car beside it) away: the
    # relabel (IoU 1) wins, the car is an addition. Unit 1: two predicted cars over one true car: the
    # better overlap is kept, the other removed. Unit 2: boxes of another class barely overlapping are
    # an addition and a removal, not a move.
    truth = table((0, "person", A), (0, "car", (30, 30, 70, 70)), (1, "car", A), (2, "car", A))
    predictions = table(
        (0, "car", A),
        (1, "car", (11, 11, 51, 51)),
        (1, "car", (20, 20, 60, 60)),
        (2, "dog", (45, 45, 80, 80)),
    )
    changes = unit_changes(3, truth, predictions)
    assert changes.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0]]  # added, removed, relabelled, moved
    empty = unit_changes(2, table(), table((1, "car", A)))
    assert empty.tolist() == [[0, 0, 0, 0], [0, 1, 0, 0]]
    assert np.asarray(unit_changes(0, table(), table())).shape == (0, 4)
