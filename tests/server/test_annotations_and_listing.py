"""Annotations in COCO, Pascal VOC, YOLO and Roboflow JSON; listing filters; OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.both_backends

URL = "/api/v1/projects/acme/cams/images"

COCO = {
    "images": [{"id": 7, "file_name": "other.jpg"}, {"id": 8, "file_name": "street.jpg"}],
    "annotations": [
        {"image_id": 8, "bbox": [10, 5, 20, 10], "category_id": 2},
        {"image_id": 7, "bbox": [0, 0, 5, 5], "category_id": 1},
    ],
    "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
}
VOC = (
    "<annotation><filename>street.jpg</filename><object><name>car</name>"
    "<bndbox><xmin>10</xmin><ymin>5</ymin><xmax>30</xmax><ymax>15</ymax></bndbox></object></annotation>"
)
YOLO = "1 0.3125 0.2083333 0.3125 0.2083333\n"  # car, centre (20, 10), 20x10 on 64x48
ROBOFLOW = json.dumps({"predictions": [{"x": 20, "y": 10, "width": 20, "height": 10, "class": "car"}]})


@pytest.mark.parametrize(
    ("fmt", "content", "filename"),
    [("coco", json.dumps(COCO), None), ("voc", VOC, None), ("yolo", YOLO, None), ("roboflow", ROBOFLOW, None),
     (None, json.dumps(COCO), "a.json"), (None, VOC, "a.xml"), (None, YOLO, "a.txt")],
)  # fmt: skip
def test_each_format_gives_the_same_box(
    env: Any, make_jpeg: Callable[..., bytes], fmt: str | None, content: str, filename: str | None
) -> None:
    files = {"file": ("street.jpg", make_jpeg(64, 48), "image/jpeg")}
    image_id = env.client.post(URL, headers=env.auth(), files=files).json()["id"]
    params = {k: v for k, v in {"format": fmt, "filename": filename}.items() if v}
    response = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params=params,
        content=content.encode(),
    )
    assert response.status_code == 201, response.text
    [box] = env.client.get(f"{URL}/{image_id}/annotations", headers=env.auth()).json()
    assert box["kind"] == "ground_truth" and box["class_name"] == "car" and box["confidence"] is None
    assert [box["x_min"], box["y_min"], box["x_max"], box["y_max"]] == pytest.approx(
        [10, 5, 30, 15], abs=1e-3
    )


def test_ground_truth_and_predictions_are_kept_apart(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    prediction = {
        "predictions": [{"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.4, "class": "dog"}]
    }
    files = {"file": ("a.jpg", make_jpeg(64, 48), "image/jpeg")}
    posted = env.client.post(
        URL, headers=env.auth(), files=files, data={"predictions": json.dumps(prediction)}
    )
    image_id = posted.json()["id"]
    saved = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"format": "voc"},
        content=VOC.encode(),
    )
    assert saved.status_code == 201
    kinds = {
        a["kind"]: a["class_name"]
        for a in env.client.get(f"{URL}/{image_id}/annotations", headers=env.auth()).json()
    }
    assert kinds == {"ground_truth": "car", "prediction": "dog"}
    replaced = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"format": "roboflow", "kind": "prediction", "overwrite": "true"},
        content=ROBOFLOW.encode(),
    )
    assert replaced.status_code == 201
    preds = env.client.get(
        f"{URL}/{image_id}/annotations", headers=env.auth(), params={"kind": "prediction"}
    ).json()
    assert [p["class_name"] for p in preds] == ["car"]


def test_list_filters(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    def upload(seed: int, conf: float | None = None, **data: str) -> str:
        if conf is not None:
            pred = {
                "predictions": [
                    {"x": 20, "y": 20, "width": 8, "height": 8, "confidence": conf, "class": "car"}
                ]
            }
            data["predictions"] = json.dumps(pred)
        files = {"file": (f"{seed}.jpg", make_jpeg(64, 48, seed=seed), "image/jpeg")}
        response = env.client.post(URL, headers=env.auth(), files=files, data=data)
        assert response.status_code == 201, response.text
        image_id: str = response.json()["id"]
        return image_id

    a = upload(1, 0.2, batch="b1", tags="night", split="train", sampling_rule="low-confidence")
    b = upload(2, 0.9, batch="b1", tags="day", split="valid", sampling_rule="random")
    c = upload(3, batch="b2", device_id="pi")

    def ids(**params: Any) -> set[str]:
        body = env.client.get(URL, headers=env.auth(), params=params).json()
        assert body["total"] >= len(body["images"])
        return {im["id"] for im in body["images"]}

    assert ids() == {a, b, c}
    assert ids(batch="b1") == {a, b} and ids(tag="night") == {a} and ids(split="valid") == {b}
    assert ids(sampling_rule="low-confidence") == {a} and ids(device_id="pi") == {c}
    assert ids(max_confidence=0.5) == {a} and ids(min_confidence=0.5) == {b}
    assert ids(labelled="false") == {a, b, c} and ids(labelled="true") == set()
    page = env.client.get(URL, headers=env.auth(), params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 3 and len(page["images"]) == 1
    batches = env.client.get("/api/v1/projects/acme/cams/batches", headers=env.auth()).json()
    assert {(x["name"], x["images"]) for x in batches} == {("b1", 2), ("b2", 1)}


def test_openapi_documents_the_api(env: Any) -> None:
    spec = env.client.get("/openapi.json").json()
    assert "/api/v1/projects/{workspace}/{project}/images" in spec["paths"]
    assert "/dataset/{project}/upload" in spec["paths"]
    assert env.client.get("/docs").status_code == 200


def test_projects_and_keys_through_the_api(env: Any) -> None:
    created = env.client.post(
        "/api/v1/projects/acme", headers=env.auth(), json={"name": "Yard", "classes": ["a"]}
    )
    assert created.status_code == 201 and created.json()["slug"] == "yard"
    again = env.client.post("/api/v1/projects/acme", headers=env.auth(), json={"name": "yard"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "project_exists"
    key = env.client.post("/api/v1/workspaces/acme/keys", headers=env.auth(), json={"name": "ci"}).json()[
        "key"
    ]
    assert env.client.get("/api/v1/whoami", headers=env.auth(key)).json()["slug"] == "acme"


def test_open_projects_learn_classes_and_strict_ones_refuse(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    def upload(project: str, seed: int, cls: str) -> int:
        pred = {"predictions": [{"x": 20, "y": 20, "width": 8, "height": 8, "confidence": 0.5, "class": cls}]}
        files = {"file": ("a.jpg", make_jpeg(64, 48, seed=seed), "image/jpeg")}
        url = f"/api/v1/projects/acme/{project}/images"
        response = env.client.post(
            url, headers=env.auth(), files=files, data={"predictions": json.dumps(pred)}
        )
        status: int = response.status_code
        return status

    assert upload("open", 1, "cat") == 201 and upload("open", 2, "bird") == 201
    classes = env.client.get("/api/v1/projects/acme/open", headers=env.auth()).json()["classes"]
    assert classes == ["cat", "bird"]
    assert upload("cams", 3, "bird") == 422  # created with person, car, dog


def test_review_through_the_api_sets_ground_truth_and_status(env, make_jpeg) -> None:  # type: ignore[no-untyped-def]
    """Scripts (e.g. an import from a labelling tool) can store a review like the review page does."""
    base = "/api/v1/projects/acme/cams/images"
    image_id = env.client.post(
        base, headers=env.auth(), files={"file": ("r.jpg", make_jpeg(seed=77), "image/jpeg")}
    ).json()["id"]
    body: dict[str, Any] = {
        "boxes": [{"class": "car", "x_min": 1, "y_min": 2, "x_max": 20, "y_max": 30}],
        "reviewer": "importer",
    }
    saved = env.client.post(f"{base}/{image_id}/review", headers=env.auth(), json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["reviewed_by"] == "importer" and saved.json()["boxes"] == 1
    assert env.client.get(f"{base}?status=reviewed", headers=env.auth()).json()["total"] == 1
    assert env.client.get(f"{base}?status=pending", headers=env.auth()).json()["total"] == 0
    refused = env.client.post(
        f"{base}/{image_id}/review",
        headers=env.auth(),
        json={"boxes": [{**body["boxes"][0], "class": "yak"}]},
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_class"
    other = env.client.post(f"{base}/{image_id}/review", headers=env.auth(env.other_key), json=body)
    assert other.status_code == 404
