"""The deployment a device reads and the model file it downloads: labels choose the deployment, the
file carries its SHA-256 as ETag and resumes with Range (206), on a local ``models/`` and streamed from
the S3 bucket alike."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from framescout.atomic import write_file_atomically
from framescout.store.accounts import get_project, get_workspace, register_model
from framescout.store.deployments import deploy

pytestmark = pytest.mark.both_backends

BASE = "/api/v1/projects/acme/cams"


def _register(env: Any, version: int, data: bytes) -> str:
    """Register ``data`` as a model file (where `framescout models add` puts it on this store)."""
    sha = hashlib.sha256(data).hexdigest()
    if env.store.shared_blobs:  # S3: only in the bucket, so the route must stream it from there
        env.store.blobs.put(data)
    else:
        write_file_atomically(env.store.models_dir / f"{sha}.onnx", data)
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "cams")
        register_model(session, project, version, sha, "nanodet", ["person", "car"])
    return sha


def _deploy(env: Any, version: int, **labels: str) -> None:
    with env.store.db.writing() as session:
        deploy(session, get_project(session, get_workspace(session, "acme"), "cams"), version, labels, "ops")


def test_the_deployment_follows_labels_and_names_the_file(env: Any) -> None:
    one, two = os.urandom(300_000), os.urandom(200_000)
    sha1, sha2 = _register(env, 1, one), _register(env, 2, two)
    nothing = env.client.get(f"{BASE}/deployment", headers=env.auth())
    assert nothing.status_code == 404 and nothing.json()["error"]["code"] == "no_deployment"
    _deploy(env, 1)
    _deploy(env, 2, site="north")
    plain = env.client.get(f"{BASE}/deployment", headers=env.auth()).json()
    south = env.client.get(f"{BASE}/deployment", params={"labels": "site=south"}, headers=env.auth()).json()
    north = env.client.get(
        f"{BASE}/deployment", params={"labels": "cam=3,site=north"}, headers=env.auth()
    ).json()
    assert (plain["version"], plain["sha256"], plain["size"]) == (1, sha1, len(one))
    assert south["version"] == 1 and south["labels"] == {}
    assert (north["version"], north["sha256"], north["size"]) == (2, sha2, len(two))
    assert north["labels"] == {"site": "north"} and north["deployed_by"] == "ops"
    assert north["format"] == "nanodet" and north["class_names"] == ["person", "car"]
    assert north["download_url"] == f"{BASE}/models/2/file"
    whole = env.client.get(north["download_url"], headers=env.auth())
    assert whole.status_code == 200 and whole.content == two
    assert whole.headers["etag"] == f'"{sha2}"' and whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(two)

    bad = env.client.get(f"{BASE}/deployment", params={"labels": "site"}, headers=env.auth())
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_label"
    crowded = ",".join(f"k{i}=v" for i in range(21))
    many = env.client.get(f"{BASE}/deployment", params={"labels": crowded}, headers=env.auth())
    assert many.status_code == 422 and many.json()["error"]["code"] == "too_many_labels"
    assert env.client.get(f"{BASE}/deployment").status_code == 401
    other = env.client.get(f"{BASE}/deployment", headers=env.auth(env.other_key))
    assert other.status_code == 404 and other.json()["error"]["code"] == "workspace_not_found"
    stranger = env.client.get(f"{BASE}/models/1/file", headers=env.auth(env.other_key))
    assert stranger.status_code == 404


def test_the_file_resumes_with_ranges(env: Any) -> None:
    data = os.urandom(700_000)
    sha = _register(env, 1, data)
    url = f"{BASE}/models/1/file"
    tag = f'"{sha}"'
    part = env.client.get(url, headers={**env.auth(), "Range": "bytes=500000-", "If-Range": tag})
    assert part.status_code == 206 and part.content == data[500_000:]
    assert part.headers["content-range"] == f"bytes 500000-{len(data) - 1}/{len(data)}"
    assert part.headers["etag"] == tag
    middle = env.client.get(url, headers={**env.auth(), "Range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == data[10:20]
    tail = env.client.get(url, headers={**env.auth(), "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    stale = env.client.get(url, headers={**env.auth(), "Range": "bytes=500000-", "If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.content == data  # another version: the whole file
    past = env.client.get(url, headers={**env.auth(), "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.json()["error"]["code"] == "range_not_satisfiable"
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    same = env.client.get(url, headers={**env.auth(), "If-None-Match": tag})
    assert same.status_code == 304 and not same.content
    unknown = env.client.get(f"{BASE}/models/9/file", headers=env.auth())
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "version_not_found"


def test_a_missing_file_answers_503(env: Any) -> None:
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "cams")
        register_model(session, project, 1, "d" * 64, "nanodet", ["person"])
    _deploy(env, 1)
    for path in ("/deployment", "/models/1/file"):
        answer = env.client.get(BASE + path, headers=env.auth())
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "model_file_missing"
