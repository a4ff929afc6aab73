"""Property: a label set `framescout collect --labels` accepts round-trips through the query form and
is accepted by the heartbeat route, the devices filter and the deployment route alike (through the app,
over a real store); one it refuses is refused by those routes with the same code. Otherwise a device
could beat fine and never receive its deployment, or the reverse."""

from __future__ import annotations

import hashlib
import os
import string

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from framescout.atomic import write_file_atomically
from framescout.labels import (
    KEY,
    MAX_KEY,
    MAX_LABELS,
    MAX_VALUE,
    VALUE,
    LabelError,
    parse_labels,
    parse_query,
    to_query,
)
from framescout.store.accounts import get_project, get_workspace, register_model
from framescout.store.deployments import deploy
from server.conftest import Env

BASE = "/api/v1/projects/acme/cams"
ODD = " ,=&%+#?\t\né\u202e"
"""Characters some part of the fleet could mishandle: query syntax, spaces, non-ASCII, a bidi mark."""
valid = st.builds(
    lambda k, v: f"{k}={v}", st.from_regex(KEY, fullmatch=True), st.from_regex(VALUE, fullmatch=True)
)
odd = st.text(st.sampled_from(string.ascii_letters + string.digits + "_.:/-=" + ODD), max_size=MAX_VALUE + 2)
items = st.lists(valid, max_size=MAX_LABELS + 1) | st.lists(valid | odd, max_size=6)
"""Mostly labels of the rules (up to one too many), or a few with odd ones among them."""
WIDEST = [f"{i:02d}".ljust(MAX_KEY, "k") + "=" + "v" * MAX_VALUE for i in range(MAX_LABELS)]


def _deploy_to_every_device(env: Env) -> None:
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    if env.store.shared_blobs:
        env.store.blobs.put(data)
    else:
        write_file_atomically(env.store.models_dir / f"{sha}.onnx", data)
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "cams")
        register_model(session, project, 1, sha, "nanodet", ["person"])
        deploy(session, project, 1, {}, "ops")


def _code(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])


def test_labels_the_collector_accepts_every_route_accepts(env: Env) -> None:
    _deploy_to_every_device(env)
    devices = f"{BASE}/devices"

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(items)
    @example(WIDEST)
    @example(["site=north", "site=north"])
    def check(texts: list[str]) -> None:
        try:
            labels = parse_labels(texts)  # what `framescout collect --labels` runs before the first frame
        except LabelError as refused:
            filtered = env.client.get(devices, params={"label": texts}, headers=env.auth())
            assert (filtered.status_code, _code(filtered)) == (422, refused.code), texts
            if texts and all("," not in t and t.strip() for t in texts):  # the same items as one value
                asked = env.client.get(
                    f"{BASE}/deployment", params={"labels": ",".join(texts)}, headers=env.auth()
                )
                assert (asked.status_code, _code(asked)) == (422, refused.code), texts
            return
        wire = to_query(labels)
        assert parse_query(wire) == labels
        beat = env.client.post(f"{devices}/cam-p/heartbeat", json={"labels": labels}, headers=env.auth())
        assert beat.status_code == 204, (labels, beat.text)
        found = env.client.get(
            devices, params={"label": [f"{k}={v}" for k, v in labels.items()]}, headers=env.auth()
        )
        assert found.status_code == 200 and [(d["device_id"], d["labels"]) for d in found.json()] == [
            ("cam-p", labels)
        ]
        deployment = env.client.get(f"{BASE}/deployment", params={"labels": wire}, headers=env.auth())
        assert deployment.status_code == 200 and deployment.json()["version"] == 1, (wire, deployment.text)

    check()
