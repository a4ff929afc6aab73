"""The SDK against a real server process, and its retry policy against a flaky transport."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from framescout import Predictions
from framescout.client import ApiError, Client, RetryPolicy, ServerUnavailable, UnexpectedResponse

pytestmark = pytest.mark.both_backends  # the tests against the live server run on both stores


def jpeg(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    image = Image.new("RGB", size, (seed % 256, (seed * 7) % 256, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_upload_image_is_idempotent_and_keeps_fields(live: Any, tmp_path: Path) -> None:
    path = tmp_path / "frame-1.jpg"
    path.write_bytes(jpeg(1))
    predictions = Predictions.from_arrays(
        [[10, 10, 30, 40]], [0.33], [0], ["person"], image_width=96, image_height=64
    )
    with Client(live.server.url, live.key) as client:
        first = client.upload_image(
            "acme/cams",
            path,
            split="train",
            batch="b1",
            tags=["night", "cam2"],
            metadata={"lux": 3},
            predictions=predictions,
            sampling_rule="low-confidence",
            sampling_reason="0.33 < 0.4",
            model_version="v1",
            device_id="pi-1",
        )
        again = client.upload_image("acme/cams", path.read_bytes())
        assert (
            not first.duplicate and again.duplicate and again.id == first.id and again.sha256 == first.sha256
        )
        record = client.get_image("acme/cams", first.id)
        assert record["name"] == "frame-1.jpg" and record["tags"] == ["cam2", "night"]
        assert record["metadata"] == {"lux": 3} and record["batch"] == "b1"
        assert [a["kind"] for a in record["annotations"]] == ["prediction"]
        assert client.download_image("acme/cams", first.id) == path.read_bytes()
        assert [im["id"] for im in client.iter_images("acme/cams", tag="night")] == [first.id]
        assert client.list_images("acme/cams", max_confidence=0.3)["total"] == 0


def test_annotations_round_trip(live: Any) -> None:
    with Client(live.server.url, live.key) as client:
        image_id = client.upload_image("acme/cams", jpeg(2), name="gt.jpg").id
        voc = "<annotation><object><name>car</name><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>50</xmax><ymax>40</ymax></bndbox></object></annotation>"  # noqa: E501
        saved = client.add_annotations("acme/cams", image_id, voc, format="voc")
        assert saved["count"] == 1
        [box] = client.list_annotations("acme/cams", image_id, kind="ground_truth")
        assert (box["class_name"], box["x_min"], box["y_max"]) == ("car", 5, 40)
        with pytest.raises(ApiError) as err:
            client.add_annotations("acme/cams", image_id, voc, format="voc")
        assert err.value.status == 409 and err.value.code == "already_annotated"
        assert client.list_images("acme/cams", labelled=True)["total"] >= 1


def test_review_through_the_sdk(live: Any) -> None:
    with Client(live.server.url, live.key) as client:
        image_id = client.upload_image("acme/cams", jpeg(3), name="rv.jpg").id
        truth = Predictions.from_arrays([[4, 5, 40, 30]], [1.0], [0], class_name=["person"])
        saved = client.review_image("acme/cams", image_id, truth, reviewer="script")
        assert (saved["status"], saved["boxes"], saved["reviewed_by"]) == ("reviewed", 1, "script")
        record = client.get_image("acme/cams", image_id)
        assert record["review_status"] == "reviewed"
        [box] = client.list_annotations("acme/cams", image_id, kind="ground_truth")
        assert (box["class_name"], box["x_max"], box["created_by"]) == ("person", 40, "script")
        assert image_id in {im["id"] for im in client.iter_images("acme/cams", status="reviewed")}
        client.review_image("acme/cams", image_id, status="rejected")
        assert client.get_image("acme/cams", image_id)["review_status"] == "rejected"
        with pytest.raises(ApiError) as err:
            client.review_image(
                "acme/cams", image_id, [{"class": "yak", "x_min": 1, "y_min": 1, "x_max": 9, "y_max": 9}]
            )
        assert err.value.status == 422 and err.value.code == "unknown_class"


def test_errors_are_api_errors_with_codes(live: Any) -> None:
    with Client(live.server.url, "fs_wrong") as client, pytest.raises(ApiError) as err:
        client.upload_image("acme/cams", jpeg(3))
    assert err.value.status == 401 and err.value.code == "invalid_api_key"
    with Client(live.server.url, live.other_key) as client, pytest.raises(ApiError) as err:
        client.get_project("acme/cams")
    assert err.value.status == 404


def _flaky(failures: list[Any]) -> httpx.MockTransport:
    """Fail with the given statuses/exceptions first, then answer like an upload."""
    calls = iter(failures)

    def handler(request: httpx.Request) -> httpx.Response:
        step = next(calls, None)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            return httpx.Response(step, json={"error": {"code": "boom", "message": "try later"}})
        return httpx.Response(201, json={"id": "x1", "sha256": "ab" * 32, "duplicate": False})

    return httpx.MockTransport(handler)


def test_retries_connection_errors_5xx_and_429() -> None:
    failures = [httpx.ConnectError("refused"), 503, 429, httpx.ReadTimeout("slow")]
    policy = RetryPolicy(attempts=5, base=0.001, cap=0.002)
    with Client("http://fs.invalid", "k", retry=policy, transport=_flaky(failures)) as client:
        assert client.upload_image("a/b", b"bytes").id == "x1"


def test_gives_up_after_the_last_attempt_and_does_not_retry_4xx() -> None:
    policy = RetryPolicy(attempts=3, base=0.001, cap=0.002)
    down = _flaky([httpx.ConnectError("x")] * 3)
    with (
        Client("http://fs.invalid", "k", retry=policy, transport=down) as client,
        pytest.raises(ServerUnavailable),
    ):
        client.upload_image("a/b", b"bytes")
    with Client("http://fs.invalid", "k", retry=policy, transport=_flaky([422, 503])) as client:
        with pytest.raises(ApiError) as err:
            client.upload_image("a/b", b"bytes")
        assert err.value.status == 422


def test_backoff_grows_and_is_jittered() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    rng = random.Random(0)
    waits = [[policy.delay(n, rng=rng) for _ in range(200)] for n in range(5)]
    assert all(0 <= w <= min(4.0, 0.5 * 2**n) for n, ws in enumerate(waits) for w in ws)
    assert max(waits[3]) > max(waits[0]) and len({round(w, 6) for w in waits[2]}) > 100
    assert policy.delay(0, retry_after=2.0) >= 2.0


def test_predictions_json_is_roboflow_shape() -> None:
    p = Predictions.from_arrays(
        [[0, 0, 10, 10]], [0.5], [1], class_name=["car"], image_width=20, image_height=20
    )
    assert json.loads(json.dumps(p.to_roboflow()))["predictions"][0]["class"] == "car"


def test_concurrent_retries_of_the_same_bytes_make_one_record(live: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = jpeg(77, size=(320, 240))

    def upload(_: int) -> Any:
        with Client(live.server.url, live.key) as client:
            return client.upload_image("acme/cams", data, name="same.jpg")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(upload, range(16)))
    assert len({r.id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    with Client(live.server.url, live.key) as client:
        assert [im["id"] for im in client.iter_images("acme/cams") if im["name"] == "same.jpg"] == [
            results[0].id
        ]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (
            httpx.Response(
                200, text="<html>Sign in to the Wi-Fi</html>", headers={"content-type": "text/html"}
            ),
            "unexpected_response",
        ),
        (httpx.Response(301, headers={"location": "http://portal.invalid/"}), "redirect"),
        (httpx.Response(302, headers={"location": "/login"}), "redirect"),
        (httpx.Response(201, json={"ok": True}), "unexpected_response"),
        (httpx.Response(201, json=["not", "an", "object"]), "unexpected_response"),
        (httpx.Response(200, content=b"\xff\xfe\x00garbage"), "unexpected_response"),
    ],
    ids=["html-200", "301", "302", "json-without-fields", "json-list", "binary"],
)
def test_a_success_that_is_not_the_expected_json_is_a_clear_sdk_error(
    answer: httpx.Response, code: str
) -> None:
    """A captive portal or a redirect used to escape as JSONDecodeError / KeyError."""
    transport = httpx.MockTransport(lambda request: answer)
    with Client("http://fs.invalid", "k", retry=RetryPolicy(attempts=1), transport=transport) as client:
        with pytest.raises(UnexpectedResponse) as err:
            client.upload_image("a/b", b"bytes")
        assert err.value.code == code and err.value.status == answer.status_code
        assert isinstance(err.value, ApiError)  # callers catching ApiError still catch it
        if code == "redirect":
            assert "does not follow redirects" in err.value.message
        if "json" not in answer.headers.get("content-type", ""):  # every JSON call, not only uploads
            with pytest.raises(UnexpectedResponse):
                client.get_project("a/b")
