"""The devices routes through the app (`server.routers.devices`): a heartbeat in, the device listed with
every field the issue names, label filters, auth, and the refusals with their codes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from framescout.store.models import Device, utcnow
from server.conftest import Env

pytestmark = pytest.mark.both_backends
URL = "/api/v1/projects/acme/cams/devices"
LISTED = {
    "device_id",
    "labels",
    "first_seen",
    "last_seen",
    "state",
    "model_version",
    "rules_etag",
    "software_version",
    "counters",
}
"""The fields of the issue; the extras are `EXTRA`."""
EXTRA = {"spool", "started_at", "stopped", "heartbeats"}


def body(**changes: Any) -> dict[str, Any]:
    beat: dict[str, Any] = {
        "labels": {"site": "north", "kind": "dome"},
        "model_version": "7",
        "rules_etag": '"r1"',
        "software_version": "0.9.0",
        "counters": {
            "seen": 120,
            "kept": 9,
            "uploaded": 7,
            "duplicates": 1,
            "spooled": 9,
            "dropped": 1,
            "quarantined": 0,
            "nothing_detected": 40,
            "per_rule": {"low": {"kept": 9, "uploaded": 7, "dropped": 1, "dropped_reasons": {"x": 1}}},
        },
        "spool": {"entries": 1, "bytes": 2048},
        "started_at": "2026-12-01T12:00:00Z",
    }
    return beat | changes


def post(env: Env, device: str, payload: dict[str, Any], key: str | None = None) -> Any:
    return env.client.post(f"{URL}/{device}/heartbeat", json=payload, headers=env.auth(key))


def test_a_heartbeat_lists_the_device_with_every_field(env: Env) -> None:
    answer = post(env, "cam-1", body())
    assert answer.status_code == 204, answer.text
    listed = env.client.get(URL, headers=env.auth())
    assert listed.status_code == 200
    (device,) = listed.json()
    assert set(device) == LISTED | EXTRA
    assert device["device_id"] == "cam-1" and device["state"] == "online"
    assert device["labels"] == {"site": "north", "kind": "dome"}
    assert (device["model_version"], device["rules_etag"], device["software_version"]) == (
        "7",
        '"r1"',
        "0.9.0",
    )
    counters = device["counters"]
    assert {k: counters[k] for k in ("seen", "kept", "uploaded", "nothing_detected")} == {
        "seen": 120,
        "kept": 9,
        "uploaded": 7,
        "nothing_detected": 40,
    }
    assert counters["per_rule"]["low"]["kept"] == 9 and counters["per_rule"]["low"]["duplicates"] == 0
    assert device["spool"] == {"entries": 1, "bytes": 2048}
    assert device["started_at"] == "2026-12-01T12:00:00" and device["stopped"] is False
    assert device["first_seen"] == device["last_seen"]
    one = env.client.get(f"{URL}/cam-1", headers=env.auth()).json()
    assert {k: one[k] for k in device} == device
    assert [(p["seen"], p["kept_per_rule"]) for p in one["history"]] == [(120, {"low": 9})]


def test_state_goes_stale_then_offline_as_last_seen_ages(env: Env) -> None:
    post(env, "cam-1", body())
    for age, state in [(120, "stale"), (3600, "offline")]:
        with env.store.db.writing() as session:
            session.execute(update(Device).values(last_seen=utcnow() - timedelta(seconds=age)))
        assert [d["state"] for d in env.client.get(URL, headers=env.auth()).json()] == [state]


def test_label_filters_select_devices(env: Env) -> None:
    post(env, "cam-1", body())
    post(env, "cam-2", body(labels={"site": "south"}))
    post(env, "cam-3", body(labels={}))

    def ids(query: str) -> list[str]:
        answer = env.client.get(f"{URL}{query}", headers=env.auth())
        assert answer.status_code == 200, answer.text
        return [d["device_id"] for d in answer.json()]

    assert ids("") == ["cam-1", "cam-2", "cam-3"]
    assert ids("?label=site=north") == ["cam-1"]
    assert ids("?label=site=north&label=kind=dome") == ["cam-1"]
    assert ids("?label=site=east") == []
    bad = env.client.get(f"{URL}?label=site", headers=env.auth())
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_label")
    crowded = env.client.get(URL, params={"label": [f"k{i}=v" for i in range(21)]}, headers=env.auth())
    assert (crowded.status_code, crowded.json()["error"]["code"]) == (422, "too_many_labels")


def test_heartbeats_need_a_key_of_the_workspace(env: Env) -> None:
    assert env.client.post(f"{URL}/cam-1/heartbeat", json=body()).status_code == 401
    other = post(env, "cam-1", body(), key=env.other_key)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "workspace_not_found")
    missing = env.client.post(
        "/api/v1/projects/acme/nope/devices/cam-1/heartbeat", json=body(), headers=env.auth()
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "project_not_found")
    assert env.client.get(URL, headers=env.auth()).json() == []
    unknown = env.client.get(f"{URL}/cam-9", headers=env.auth())
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "device_not_found")


@pytest.mark.parametrize(
    ("device", "payload", "code"),
    [
        ("cam 1", body(), "invalid_device_id"),
        ("-cam", body(), "invalid_device_id"),
        ("c" * 129, body(), "invalid_device_id"),
        ("cam-1", body(labels={"bad key": "x"}), "invalid_label"),
        ("cam-1", body(labels={"k": "line\nbreak"}), "invalid_label"),
        ("cam-1", body(labels={f"k{i}": "v" for i in range(21)}), "too_many_labels"),
        ("cam-1", body(labels={f"k{i}": "v" for i in range(41)}), "validation_error"),  # body bound
        ("cam-1", body(labels={"site": "north,south"}), "invalid_label"),  # the query form splits at commas
        ("cam-1", body(counters={"seen": -1}), "validation_error"),
        ("cam-1", body(counters={"seen": 2**63}), "validation_error"),
        ("cam-1", body(counters={"per_rule": {f"r{i}": {} for i in range(101)}}), "validation_error"),
        ("cam-1", body(model_version="v" * 201), "validation_error"),
        ("cam-1", body(software_version="1\x00"), "validation_error"),
        ("cam-1", body(spool={"entries": "many"}), "validation_error"),
    ],
)
def test_bad_heartbeats_are_refused_with_their_code(
    env: Env, device: str, payload: dict[str, Any], code: str
) -> None:
    answer = post(env, device, payload)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text
    assert env.client.get(URL, headers=env.auth()).json() == []


def test_unknown_keys_are_ignored_for_newer_collectors(env: Env) -> None:
    assert post(env, "cam-1", body(newer_field={"x": 1})).status_code == 204
    assert env.client.get(f"{URL}/cam-1", headers=env.auth()).status_code == 200
