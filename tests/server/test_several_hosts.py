"""Two ``framescout serve`` processes with different, empty data directories sharing one real PostgreSQL
database and one real SeaweedFS bucket, as two hosts behind a load balancer: what one host does, the
other sees (uploads, files, thumbnails, duplicates, reviews, revoked keys, learnt classes and the class
caps), and afterwards neither data directory holds anything but caches."""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image

import services
from framescout.server.process import ServerProcess
from served import admin

pytestmark = pytest.mark.slow

BUCKET = "several-hosts"
MAX_CLASSES = 3


@dataclass
class Hosts:
    a: ServerProcess
    b: ServerProcess
    key: str

    def client(self, host: ServerProcess, key: str | None = None) -> httpx.Client:
        """A client of ``host``; ``Connection: close`` so each request may reach any of its workers."""
        auth = {"Authorization": f"Bearer {key or self.key}", "Connection": "close"}
        return httpx.Client(base_url=host.url, headers=auth, timeout=30)

    def project(self, classes: Sequence[str] = ()) -> str:
        """A new project (made through host A), as the base URL of its images."""
        name = f"p{secrets.token_hex(3)}"
        with self.client(self.a) as a:
            made = a.post("/api/v1/projects/acme", json={"name": name, "classes": list(classes)})
        assert made.status_code == 201, made.text
        return f"/api/v1/projects/acme/{name}/images"


def _predictions(*names: str) -> dict[str, str]:
    boxes = [
        {"x": 20 + i, "y": 20, "width": 10, "height": 10, "confidence": 0.5, "class": n}
        for i, n in enumerate(names)
    ]
    return {"predictions": json.dumps({"predictions": boxes})}


def _file(seed: int) -> dict[str, tuple[str, bytes, str]]:
    """A small JPEG of its own per ``seed``."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (seed % 256, (seed * 7) % 256, 99)).save(out, format="JPEG")
    return {"file": (f"{seed}.jpg", out.getvalue(), "image/jpeg")}


@pytest.fixture(scope="module")
def hosts(
    postgres: services.Postgres, seaweed: services.SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    services.wait_until_writable(seaweed, BUCKET)
    env = {
        **seaweed.environment(),
        "AWS_ENDPOINT_URL_S3": seaweed.endpoint,
        "FRAMESCOUT_DATABASE_URL": postgres.database_url(f"hosts_{secrets.token_hex(4)}"),
        "FRAMESCOUT_BLOB_URL": f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}",
        "FRAMESCOUT_MAX_CLASSES": str(MAX_CLASSES),
    }
    root = tmp_path_factory.mktemp("hosts")
    key = admin(root / "operator", env, "keys", "create", "--workspace", "acme").strip().splitlines()[-1]
    dirs = [root / "host-a", root / "host-b"]
    for folder in dirs:
        folder.mkdir()
    a, b = (ServerProcess(folder, workers=2, env=env) for folder in dirs)
    with a, b:
        yield Hosts(a, b, key)
    for folder in dirs:  # nothing that matters on either host's disk: caches only
        kept = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        assert all(name.startswith("cache/") for name in kept), kept


def test_an_upload_through_one_host_is_listed_served_and_deduplicated_through_the_other(
    hosts: Hosts, make_jpeg: Callable[..., bytes]
) -> None:
    base, image = hosts.project(), make_jpeg(320, 240, seed=11)
    with hosts.client(hosts.a) as a, hosts.client(hosts.b) as b:
        first = a.post(base, files={"file": ("f.jpg", image, "image/jpeg")})
        assert first.status_code == 201, first.text
        image_id = first.json()["id"]
        listed = b.get(base)
        assert listed.status_code == 200, listed.text
        assert [i["id"] for i in listed.json()["images"]] == [image_id]
        for _ in range(3):  # whichever worker of B answers
            assert b.get(f"{base}/{image_id}/file").content == image
        thumbs = [c.get(f"{base}/{image_id}/thumbnail", params={"size": 64}) for c in (a, b)]
        assert all(t.status_code == 200 for t in thumbs), [t.text for t in thumbs]
        assert thumbs[0].content == thumbs[1].content  # each host made its own from the same bucket
        again = b.post(base, files={"file": ("g.jpg", image, "image/jpeg")})
        assert again.status_code == 200, again.text
        assert (again.json()["id"], again.json()["duplicate"]) == (image_id, True)
        assert a.get(base).json()["total"] == 1


def test_a_review_saved_on_one_host_shows_on_the_other(hosts: Hosts) -> None:
    base = hosts.project()
    with hosts.client(hosts.a) as a, hosts.client(hosts.b) as b:
        image_id = a.post(base, files=_file(3)).json()["id"]
        assert b.get(f"{base}/{image_id}").json()["review_status"] is None
        box = {"class": "truck", "x_min": 2, "y_min": 3, "x_max": 30, "y_max": 40}
        saved = a.post(f"{base}/{image_id}/review", json={"boxes": [box], "reviewer": "ana"})
        assert saved.status_code == 200, saved.text
        seen = b.get(f"{base}/{image_id}").json()
        assert (seen["review_status"], seen["reviewed_by"]) == ("reviewed", "ana")
        truth = [x for x in seen["annotations"] if x["kind"] == "ground_truth"]
        assert [(x["class_name"], x["x_min"], x["y_max"]) for x in truth] == [("truck", 2, 40)]
        assert b.get(base, params={"review_status": "reviewed"}).json()["total"] == 1


def test_a_key_revoked_on_one_host_is_refused_by_the_other_within_a_second(hosts: Hosts) -> None:
    base = hosts.project()
    with hosts.client(hosts.a) as a:
        made = a.post("/api/v1/workspaces/acme/keys", json={"name": "camera 7"})
        assert made.status_code == 201, made.text
    key, key_id = made.json()["key"], made.json()["id"]
    with hosts.client(hosts.b, key) as b:
        for _ in range(4):  # cached by B's workers
            assert b.get(base).status_code == 200
        with hosts.client(hosts.a) as a:
            assert a.delete(f"/api/v1/workspaces/acme/keys/{key_id}").status_code == 200
        revoked = time.monotonic()
        answers = []  # (seconds after the revocation, status), from whichever of B's workers answers
        while (elapsed := time.monotonic() - revoked) < 2.0:
            answers.append((elapsed, b.get(base).status_code))
            time.sleep(0.02)
    last_taken = max((t for t, status in answers if status == 200), default=0.0)
    assert last_taken < 1.0, f"host B still took the revoked key {last_taken:.2f} s later"
    assert {status for t, status in answers if t >= 1.0} == {401}


def test_classes_learnt_through_one_host_are_honoured_by_the_other_at_once(hosts: Hosts) -> None:
    base, fixed = hosts.project(), hosts.project(["cat", "dog"])
    with hosts.client(hosts.a) as a, hosts.client(hosts.b) as b:
        target = b.post(base, files=_file(20)).json()["id"]
        for _ in range(4):
            assert b.get(base).status_code == 200  # B's workers have the project (no classes) cached
        taught = a.post(base, files=_file(21), data=_predictions("zebra"))
        assert taught.status_code == 201, taught.text
        # a YOLO file names classes by their index in the project's list: B must know 0 is zebra now
        yolo = b.post(
            f"{base}/{target}/annotations",
            params={"format": "yolo"},
            content=b"0 0.5 0.5 0.2 0.2\n",
            headers={"Content-Type": "text/plain"},
        )
        assert yolo.status_code == 201, yolo.text
        assert [x["class_name"] for x in b.get(f"{base}/{target}").json()["annotations"]] == ["zebra"]
        two = a.post(base, files=_file(22), data=_predictions("lion", "gnu"))
        assert two.status_code == 201, two.text  # the project has its MAX_CLASSES classes now
        over = b.post(base, files=_file(23), data=_predictions("ant"))
        assert over.status_code == 422 and over.json()["error"]["code"] == "too_many_classes", over.text
        assert b.post(base, files=_file(24), data=_predictions("gnu")).status_code == 201
        strict = b.post(fixed, files=_file(25), data=_predictions("zebra"))
        assert strict.status_code == 422, strict.text
        assert b.get(fixed).json()["total"] == 0


def test_concurrent_uploads_through_both_hosts_teaching_new_classes_lose_none(hosts: Hosts) -> None:
    base, names = hosts.project(), [f"class{i}" for i in range(MAX_CLASSES)]
    gate = threading.Barrier(len(names))
    answers: dict[str, httpx.Response] = {}

    def send(i: int, name: str) -> None:
        with hosts.client((hosts.a, hosts.b)[i % 2]) as client:
            gate.wait()
            answers[name] = client.post(base, files=_file(40 + i), data=_predictions(name))

    threads = [threading.Thread(target=send, args=(i, n)) for i, n in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {n: r.status_code for n, r in answers.items()} == dict.fromkeys(names, 201)
    with hosts.client(hosts.b) as b:
        project = b.get(base.removesuffix("/images")).json()
    assert sorted(project["classes"]) == names  # no upload's class overwritten by a concurrent one
