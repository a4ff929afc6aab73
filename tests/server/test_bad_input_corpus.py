"""The bad-input corpus: every malformed request answers a 4xx JSON error with a stable code, and the
store is exactly as before (every table's rows, the projects' classes, every blob and temp file).

Each case once answered 500 with a traceback, or answered 4xx after storing an image, or answered
``200 duplicate`` without validating its fields, or stored an image the training decoders cannot
read. One parametrised test runs them all against the in-process app over a real data directory;
a second test checks that a keep-alive connection to a real server survives them."""

from __future__ import annotations

import io
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from framescout.server import Settings, create_app
from framescout.server.process import ServerProcess, free_port
from framescout.store import Store
from framescout.store.models import Base, Project

BASE = "/api/v1/projects/acme/cams"
IMAGES = f"{BASE}/images"
BOX = {"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.5, "class": "person"}
KNOWN_PREDICTIONS = {"predictions": [BOX, {**BOX, "x": 40, "class": "car"}]}


# ------------------------------------------------------------------------------------------ inputs
def deep(levels: int) -> str:
    """A JSON array nested ``levels`` deep (valid JSON)."""
    return "[" * levels + "]" * levels


def deep_object(levels: int) -> str:
    return '{"a": ' + deep(levels) + "}"


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (seed * 7 % 256, seed * 13 % 256, 90))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def png_bad_idat_crc() -> bytes:
    """A PNG whose IDAT checksum is wrong: Pillow decodes it, OpenCV (libpng) refuses it."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    at = data.find(b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + length] ^= 0xFF
    return bytes(data)


XBM = (
    b"#define im_width 8\n#define im_height 8\n"
    b"static char im_bits[] = {\n0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00};\n"
)


def gif_screen(width: int, height: int, pad: int = 0) -> bytes:
    """A GIF of a few dozen bytes: one 1x1 frame on a ``width`` x ``height`` logical screen (after a
    comment of about ``pad`` bytes, to get past a bytes-per-pixel rule)."""
    comment = b"\x21\xfe" + (b"\xff" + b"x" * 255) * (pad // 256) + b"\x00" if pad else b""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0, 0, 0)
        + comment
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"
        + b"\x3b"
    )


def solid_webp() -> bytes:
    """A 2 MP solid-colour lossless WebP: about 200 bytes, 10,000 pixels per byte."""
    out = io.BytesIO()
    Image.new("RGB", (1600, 1250), (30, 30, 30)).save(out, format="WEBP", lossless=True)
    return out.getvalue()


def animation(fmt: str, side: int, frames: int) -> bytes:
    """A GIF or APNG of ``frames`` distinct solid frames (screen × frames over the 4 MP test cap)."""
    images = [Image.new("RGB", (side, side), (i * 40 % 256, 20, 200 - i * 30)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


# ------------------------------------------------------------------------------------------ harness
@dataclass
class Ctx:
    """The corpus runs against a project that already holds one image (with two predictions)."""

    client: Any
    key: str
    image_id: str
    known: bytes

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def upload(self, data: bytes | None = None, name: str = "x.jpg", **fields: str) -> Any:
        payload = data if data is not None else jpeg(99)
        return self.client.post(IMAGES, headers=self.auth, files={"file": (name, payload)}, data=fields)

    def predictions(self, payload: str) -> Any:
        return self.upload(predictions=payload)

    def feedback(self, file: bytes | None = None, **fields: str) -> Any:
        files = {"file": ("f.jpg", file)} if file is not None else None
        if file is None:
            fields.setdefault("image_id", self.image_id)
        return self.client.post(f"{BASE}/feedback", headers=self.auth, data=fields, files=files)

    def bug(self, file: bytes | None = None, **fields: str) -> Any:
        fields.setdefault("severity", "crash")
        fields.setdefault("description", "the app crashed")
        files = {"file": ("b.jpg", file)} if file is not None else None
        return self.client.post(f"{BASE}/bug-reports", headers=self.auth, data=fields, files=files)

    def annotate(self, content: str, fmt: str | None = None) -> Any:
        return self.client.post(
            f"{IMAGES}/{self.image_id}/annotations",
            headers={**self.auth, "Content-Type": "text/plain"},
            params={"format": fmt} if fmt else {},
            content=content.encode(),
        )

    def post_json(self, path: str, body: str, content_type: str | None = "application/json") -> Any:
        headers = {**self.auth, **({"Content-Type": content_type} if content_type else {})}
        return self.client.post(path, headers=headers, content=body.encode())

    def rf_annotate(self, body: str) -> Any:
        return self.post_json(f"/dataset/cams/annotate/{self.image_id}?api_key={self.key}&name=a.json", body)

    def rf_upload(self, data: bytes, form: dict[str, str] | None = None, **params: str) -> Any:
        return self.client.post(
            "/dataset/cams/upload",
            params={"api_key": self.key, **params},
            files={"file": ("r.jpg", data)},
            data=form or {},
        )


@dataclass(frozen=True)
class Case:
    send: Callable[[Ctx], Any]
    status: int
    codes: frozenset[str]
    says: str = ""
    """A fragment the message must contain (which rule refused it, which field)."""


def case(send: Callable[[Ctx], Any], status: int, *codes: str, says: str = "") -> Case:
    return Case(send, status, frozenset(codes), says)


def coco(category_id: Any = 1, category: Any = 1, bbox: Any = (1, 1, 5, 5)) -> str:
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": "a.jpg"}],
            "annotations": [{"image_id": 1, "bbox": list(bbox), "category_id": category_id}],
            "categories": [{"id": category, "name": "person"}],
        }
    )


def box(**changes: Any) -> str:
    return json.dumps({"predictions": [{**BOX, **changes}]})


def box_text(field: str, literal: str) -> str:
    """Predictions JSON with ``field`` set to a raw JSON literal (``Infinity``, ``1e30``, ...)."""
    return '{"predictions": [{"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.5, ' + (
        f'"class": "person", "{field}": {literal}' + "}]}"
    )


SIMILARITY = "/api/v1/similarity"
TOO_DEEP = ("json_too_deep",)
DEEP_OR_LARGE = ("json_too_deep", "metadata_too_large")  # metadata is capped at 64 KiB
CORPUS: dict[str, Case] = {
    # Box fields of upload predictions: every type checked, the field named.
    "class_id-string": case(lambda c: c.predictions(box(class_id="abc")), 422, "invalid_predictions",
                            says="class_id"),
    "class_id-1e30": case(lambda c: c.predictions(box_text("class_id", "1e30")), 422, "invalid_predictions",
                          says="class_id"),
    "class_id-null": case(lambda c: c.predictions(box(class_id=None)), 422, "invalid_predictions",
                          says="class_id"),
    "class_id-beyond-64-bits": case(lambda c: c.predictions(box_text("class_id", str(2**70))), 422,
                                    "integer_out_of_range"),
    "class_id-5000-digits": case(lambda c: c.predictions(box_text("class_id", "9" * 5000)), 422,
                                 "integer_out_of_range"),
    "image-width-Infinity": case(
        lambda c: c.predictions('{"predictions": [], "image": {"width": Infinity, "height": 48}}'), 422,
        "malformed_json", says="Infinity"),
    "image-width-1e30": case(lambda c: c.predictions('{"predictions": [], "image": {"width": 1e30}}'), 422,
                             "invalid_predictions", says="image.width"),
    "image-height-string": case(lambda c: c.predictions(json.dumps({"image": {"height": "tall"}})), 422,
                                "invalid_predictions", says="image.height"),
    "x-string": case(lambda c: c.predictions(box(x="20")), 422, "invalid_predictions", says=".x"),
    "y-bool": case(lambda c: c.predictions(box(y=True)), 422, "invalid_predictions", says=".y"),
    "width-NaN": case(lambda c: c.predictions(box_text("width", "NaN").replace('"width": 10, ', "")), 422,
                      "malformed_json"),
    "height-list": case(lambda c: c.predictions(box(height=[10])), 422, "invalid_predictions",
                        says=".height"),
    "confidence-null": case(lambda c: c.predictions(box(confidence=None)), 422, "invalid_predictions",
                            says=".confidence"),
    "class-number": case(lambda c: c.predictions(box(**{"class": 7})), 422, "invalid_predictions",
                         says=".class"),
    "predictions-scalar": case(lambda c: c.predictions("42"), 422, "invalid_predictions"),
    # JSON nested 1000+ and 100000 levels deep, in every JSON field and body.
    **{
        # mypy cannot infer a lambda with default arguments (they bind the loop variables)
        f"{field}-depth-{levels}": case(lambda c, send=send, n=levels: send(c, n), 0, *codes)  # type: ignore[misc]
        for levels in (1000, 100_000)
        for field, (send, codes) in {
            "metadata": (lambda c, n: c.upload(metadata=deep_object(n)), DEEP_OR_LARGE),
            "predictions": (lambda c, n: c.predictions(deep(n)), TOO_DEEP),
            "corrected": (lambda c, n: c.feedback(verdict="correct", corrected=deep(n)), TOO_DEEP),
            "feedback-metadata": (lambda c, n: c.feedback(verdict="correct", metadata=deep_object(n)),
                                  DEEP_OR_LARGE),
            "bug-metadata": (lambda c, n: c.bug(jpeg(5), metadata=deep_object(n)), DEEP_OR_LARGE),
            "annotations-roboflow": (lambda c, n: c.annotate(deep(n), "roboflow"), TOO_DEEP),
            "annotations-coco": (lambda c, n: c.annotate(deep_object(n), "coco"), TOO_DEEP),
            "annotations-detected": (lambda c, n: c.annotate(deep(n)), TOO_DEEP),
            "similarity-text": (lambda c, n: c.post_json(SIMILARITY, deep(n), "text/plain"), TOO_DEEP),
            "similarity-no-type": (lambda c, n: c.post_json(SIMILARITY, deep(n), None), TOO_DEEP),
            "review-body": (lambda c, n: c.post_json(f"{IMAGES}/{c.image_id}/review",
                                                     '{"boxes": ' + deep(n) + "}"), TOO_DEEP),
            "rf-annotate-body": (lambda c, n: c.rf_annotate('{"annotationFile": "x", "labelmap": '
                                                            + deep(n) + "}"), TOO_DEEP),
            "rf-annotate-file": (lambda c, n: c.rf_annotate(json.dumps({"annotationFile": deep(n)})),
                                 TOO_DEEP),
            "rf-upload-metadata": (lambda c, n: c.rf_upload(jpeg(6), {"metadata": deep_object(n)}),
                                   DEEP_OR_LARGE),
            "project-body": (lambda c, n: c.post_json("/api/v1/projects/acme",
                                                      '{"name": "p", "classes": ' + deep(n) + "}"), TOO_DEEP),
            "key-body": (lambda c, n: c.post_json("/api/v1/workspaces/acme/keys",
                                                  '{"name": ' + deep(n) + "}"), TOO_DEEP),
        }.items()
    },
    "corrected-over-size-cap": case(lambda c: c.feedback(verdict="correct", corrected=" " * 10**6 + box()),
                                    413, "json_too_large"),
    "predictions-over-part-cap": case(lambda c: c.predictions(json.dumps({"predictions": [BOX] * 20_000})),
                                      400, "bad_request"),
    # COCO ids of the wrong type.
    "coco-category_id-list": case(lambda c: c.annotate(coco(category_id=[1]), "coco"), 422,
                                  "invalid_annotation", says="category_id"),
    "coco-category-id-list": case(lambda c: c.annotate(coco(category=[1]), "coco"), 422,
                                  "invalid_annotation", says="categories[0].id"),
    "coco-category_id-object": case(lambda c: c.annotate(coco(category_id={"id": 1}), "coco"), 422,
                                    "invalid_annotation"),
    "coco-bbox-strings": case(lambda c: c.annotate(coco(bbox=("1", "1", "5", "5")), "coco"), 422,
                              "invalid_annotation", says="bbox"),
    "coco-bbox-huge-int": case(lambda c: c.annotate(coco(bbox=(1, 1, 2**80, 5)), "coco"), 422,
                               "integer_out_of_range"),
    "roboflow-annotation-class-list": case(lambda c: c.annotate(box(**{"class": ["person"]}), "roboflow"),
                                           422, "invalid_annotation", says=".class"),
    # Integers beyond 64 bits in query and path parameters.
    "images-offset-2^64": case(lambda c: c.client.get(f"{IMAGES}?offset={2**64}", headers=c.auth), 422,
                               "validation_error", says="offset"),
    "images-offset-30-digits": case(lambda c: c.client.get(f"{IMAGES}?offset={'9' * 30}", headers=c.auth),
                                    422, "validation_error", says="offset"),
    "reports-offset-2^64": case(lambda c: c.client.get(f"{BASE}/reports?offset={2**64}", headers=c.auth),
                                422, "validation_error", says="offset"),
    "model-version-path": case(lambda c: c.client.post(f"/cams/{'9' * 30}?api_key={c.key}", content=b"x"),
                               422, "validation_error", says="version"),
    "feedback-prediction-huge": case(lambda c: c.feedback(verdict="wrong", prediction=str(2**70)), 0,
                                     "unknown_prediction", "validation_error"),
    # Feedback and bug reports with a new image: refused before the image is stored.
    "feedback-wrong-without-prediction": case(lambda c: c.feedback(jpeg(10), verdict="wrong"), 422,
                                              "missing_prediction"),
    "feedback-comment-too-long": case(lambda c: c.feedback(jpeg(11), verdict="correct", comment="x" * 4001),
                                      422, "invalid_comment"),
    "feedback-app_version-too-long": case(
        lambda c: c.feedback(jpeg(12), verdict="correct", app_version="x" * 201), 422, "invalid_app_version"),
    "bug-description-too-long": case(lambda c: c.bug(jpeg(13), description="x" * 4001), 422,
                                     "invalid_description"),
    "bug-app_version-too-long": case(lambda c: c.bug(jpeg(14), app_version="x" * 201), 422,
                                     "invalid_app_version"),
    "feedback-corrected-outside-new-image": case(
        lambda c: c.feedback(jpeg(15), verdict="correct", corrected=box(x=500)), 422, "box_outside_image"),
    "feedback-prediction-not-sent": case(lambda c: c.feedback(jpeg(16), verdict="wrong", prediction="3"),
                                         422, "unknown_prediction"),
    "feedback-bad-predictions": case(
        lambda c: c.feedback(jpeg(17), verdict="correct", predictions=box(class_id="abc")), 422,
        "invalid_predictions"),
    "feedback-duplicate-comment-too-long": case(
        lambda c: c.feedback(c.known, verdict="correct", comment="x" * 4001), 422, "invalid_comment"),
    "feedback-duplicate-unknown-prediction": case(
        lambda c: c.feedback(c.known, verdict="wrong", prediction="2",
                             predictions=json.dumps({"predictions": [BOX, BOX, BOX]})), 0,
        "unknown_prediction"),
    # Known bytes (a duplicate) with bad fields: validated like a new upload.
    "duplicate-bad-split": case(lambda c: c.upload(c.known, split="bogus"), 422, "invalid_split"),
    "duplicate-path-name": case(lambda c: c.upload(c.known, name="../../evil"), 422, "invalid_name"),
    "duplicate-batch-too-long": case(lambda c: c.upload(c.known, name="ok.jpg", batch="b" * 201), 422,
                                    "invalid_batch"),
    "duplicate-bad-tag": case(lambda c: c.upload(c.known, tags="a\x01b"), 422, "invalid_tag"),
    "duplicate-bad-metadata": case(lambda c: c.upload(c.known, metadata="[1]"), 422, "invalid_metadata"),
    "duplicate-box-outside": case(lambda c: c.upload(c.known, predictions=box(x=500)), 422,
                                  "box_outside_image"),
    "duplicate-unknown-class": case(lambda c: c.upload(c.known, predictions=box(**{"class": "unicorn"})), 422,
                                    "unknown_class"),
    "duplicate-rf-bad-split": case(lambda c: c.rf_upload(c.known, split="bogus"), 422, "invalid_split"),
    # Images the training decoders cannot read, and logical screens that would cost 100 MB.
    "png-bad-idat-crc": case(lambda c: c.upload(png_bad_idat_crc(), "x.png"), 422, "corrupt_image",
                             says="OpenCV"),
    "xbm-named-jpg": case(lambda c: c.upload(XBM, "x.jpg"), 415, "unsupported_format", says="XBM"),
    "xbm-rf-upload": case(lambda c: c.rf_upload(XBM), 415, "unsupported_format"),
    "png-bad-crc-feedback": case(lambda c: c.feedback(png_bad_idat_crc(), verdict="correct"), 422,
                                 "corrupt_image"),
    "xbm-bug-report": case(lambda c: c.bug(XBM), 415, "unsupported_format"),
    "gif-8000x6000-screen": case(lambda c: c.upload(gif_screen(8000, 6000), "g.gif"), 422, "too_many_pixels",
                                 says="logical screen"),
    "gif-small-first-frame": case(lambda c: c.upload(gif_screen(1900, 2000), "g.gif"), 422,
                                  "too_many_pixels", says="first frame"),
    "gif-padded-small-first-frame": case(lambda c: c.upload(gif_screen(1900, 2000, pad=20_000), "g.gif"),
                                         422, "too_many_pixels", says="first frame"),
    "solid-lossless-webp-sparse": case(lambda c: c.upload(solid_webp(), "s.webp"), 422, "too_many_pixels",
                                       says="per byte"),
    "gif-screen-times-frames": case(lambda c: c.upload(animation("GIF", 1000, 5), "g.gif"), 422,
                                    "too_many_pixels", says="frames"),
    "apng-screen-times-frames": case(lambda c: c.upload(animation("PNG", 1000, 5), "a.png"), 422,
                                     "too_many_pixels", says="frames"),
    "gif-screen-similarity": case(
        lambda c: c.post_json("/api/v1/similarity", json.dumps({"image1": _b64(gif_screen(1900, 2000)),
                                                                "image2": _b64(jpeg(1))}), "text/plain"),
        422, "too_many_pixels"),
    # Lone UTF-16 surrogates ("\\ud800" escapes): no UTF-8 column holds them, no response could show them.
    "surrogate-feedback-corrected": case(
        lambda c: c.feedback(verdict="missing_object", corrected=LONE_SURROGATE_BOX), 422, "malformed_json",
        says="surrogate"),
    "surrogate-feedback-with-file": case(
        lambda c: c.feedback(jpeg(18), verdict="missing_object", corrected=LONE_SURROGATE_BOX), 422,
        "malformed_json", says="surrogate"),
    "surrogate-upload-predictions": case(lambda c: c.predictions(LONE_SURROGATE_BOX), 422, "malformed_json",
                                         says="surrogate"),
    "surrogate-metadata": case(lambda c: c.upload(metadata='{"camera": "\\udfff"}'), 422, "malformed_json"),
    "surrogate-coco-category": case(
        lambda c: c.annotate(coco().replace('"person"', '"\\ud800"'), "coco"), 422, "malformed_json"),
    "surrogate-project-body": case(
        lambda c: c.post_json("/api/v1/projects/acme", '{"name": "zz3", "classes": ["\\ud800"]}'), 422,
        "malformed_json", says="surrogate"),
    "surrogate-review-body": case(
        lambda c: c.post_json(f"{IMAGES}/{c.image_id}/review",
                              '{"boxes": [{"class": "\\udc00", "x_min": 1, "y_min": 1, '
                              '"x_max": 5, "y_max": 5}]}'),
        422, "malformed_json", "validation_error"),
    # A number that overflows to infinity is no JSON number.
    "metadata-1e999": case(lambda c: c.upload(metadata='{"a": 1e999}'), 422, "malformed_json", says="1e999"),
    "bug-metadata-1e999": case(lambda c: c.bug(metadata='{"a": -1e999}'), 422, "malformed_json"),
    # Control, zero-width and bidi characters in labels and single-line fields.
    "class-control-char-learning-project": case(
        lambda c: c.client.post("/api/v1/projects/acme/open/images", headers=c.auth,
                                files={"file": ("o.jpg", jpeg(19))},
                                data={"predictions": box(**{"class": "a\r\nb"})}),
        422, "invalid_class"),
    "class-bidi-override-project-body": case(
        lambda c: c.post_json("/api/v1/projects/acme",
                              json.dumps({"name": "zz4", "classes": ["\u202eevil"]})),
        422, "invalid_class"),
    "batch-crlf": case(lambda c: c.upload(batch="x\r\ny"), 422, "invalid_batch"),
    "feedback-app_version-nul": case(lambda c: c.feedback(jpeg(20), verdict="correct", app_version="1\x00"),
                                     422, "invalid_app_version"),
}  # fmt: skip

LONE_SURROGATE_BOX = '{"predictions": [{"x": 10, "y": 10, "width": 5, "height": 5, "class": "\\ud800"}]}'


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def snapshot(store: Store) -> dict[str, Any]:
    """Every table's row count, the projects' classes, and every file under blobs/."""
    with store.db.reading() as session:
        counts = {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
        classes = {p.slug: list(p.classes) for p in session.scalars(select(Project))}
    files = sorted(str(p.relative_to(store.data_dir)) for p in (store.data_dir / "blobs").rglob("*"))
    return {"rows": counts, "classes": classes, "files": files}


@pytest.fixture
def ctx(env: Any) -> Ctx:
    known = jpeg(1)
    response = env.client.post(
        IMAGES,
        headers=env.auth(),
        files={"file": ("a.jpg", known, "image/jpeg")},
        data={"predictions": json.dumps(KNOWN_PREDICTIONS)},
    )
    assert response.status_code == 201, response.text
    return Ctx(env.client, env.key, response.json()["id"], known)


@pytest.mark.parametrize("name", CORPUS)
def test_bad_input_is_a_4xx_and_stores_nothing(env: Any, ctx: Ctx, name: str) -> None:
    spec = CORPUS[name]
    before = snapshot(env.store)
    response = spec.send(ctx)
    assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text[:300]}"
    if spec.status:
        assert response.status_code == spec.status, response.text[:300]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] in spec.codes, body
    assert body["error"]["message"] and spec.says in body["error"]["message"], body
    assert snapshot(env.store) == before


def test_corpus_requests_keep_the_connection_alive(tmp_path: Path) -> None:
    """Against a real server process over one keep-alive connection: after each request that once
    answered 500, the next request is served on the same connection."""
    server = ServerProcess(tmp_path / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams", "--classes", "person,car")
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {key}"}

        def local_port(response: httpx.Response) -> int:
            port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            return port

        first = client.get("/api/v1/whoami", headers=auth)
        assert first.status_code == 200
        port = local_port(first)
        formerly_500: list[Callable[[], httpx.Response]] = [
            lambda: client.post(IMAGES, headers=auth, files={"file": ("x.jpg", jpeg(3))},
                                data={"predictions": box(class_id="abc")}),
            lambda: client.post(IMAGES, headers=auth, files={"file": ("x.jpg", jpeg(3))},
                                data={"metadata": deep_object(100_000)}),
            lambda: client.post("/api/v1/similarity", headers={**auth, "Content-Type": "text/plain"},
                                content=deep(5000).encode()),
            lambda: client.get(f"{IMAGES}?offset={2**64}", headers=auth),
            lambda: client.post(f"/cams/{'9' * 30}", headers=auth, content=b"x"),
        ]  # fmt: skip
        for send in formerly_500:
            response = send()
            assert 400 <= response.status_code < 500, response.text[:300]
            after = client.get("/api/v1/whoami", headers=auth)
            assert after.status_code == 200 and local_port(after) == port


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[str]:
    """The real app served by uvicorn on loopback, with one extra route that fails unexpectedly
    (no production route may, so the failure has to be planted)."""
    import uvicorn

    store = Store.open(tmp_path / "data")
    app = create_app(Settings(data_dir=tmp_path / "data"), store)

    @app.get("/api/v1/test/boom")
    def boom() -> None:
        raise RuntimeError("planted failure")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_an_unexpected_error_answers_json_500_and_keeps_the_connection(failing_server: str) -> None:
    with httpx.Client(base_url=failing_server, timeout=10) as client:
        first = client.get("/healthz")
        port = first.extensions["network_stream"].get_extra_info("client_addr")[1]
        failed = client.get("/api/v1/test/boom")
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "internal_error"
        after = client.get("/healthz")
        assert after.status_code == 200
        assert after.extensions["network_stream"].get_extra_info("client_addr")[1] == port


def test_gif_and_apng_within_the_caps_are_stored(env: Any) -> None:
    """The caps refuse bombs, not animations: a small animated GIF and APNG are stored, and their
    size is the logical screen."""
    for name, data in (("ok.gif", animation("GIF", 120, 3)), ("ok.png", animation("PNG", 120, 3))):
        response = env.client.post(IMAGES, headers=env.auth(), files={"file": (name, data)})
        assert response.status_code == 201, response.text
        stored = env.client.get(f"{IMAGES}/{response.json()['id']}", headers=env.auth()).json()
        assert (stored["width"], stored["height"]) == (120, 120)
    noisy = np.random.default_rng(0).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy).save(out, format="JPEG", quality=70)
    big = env.client.post(IMAGES, headers=env.auth(), files={"file": ("big.jpg", out.getvalue())})
    assert big.status_code == 201, big.text
