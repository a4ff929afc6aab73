"""The upload-fields definition (`framescout.upload_fields`): each field's check, and every part of
framescout that carries upload fields kept in step with it (the form, the table, `ImageOut`, the SDK,
the collector's record). A drift test failing names the part that no longer matches the definition."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String

from framescout import Predictions
from framescout.client import Client
from framescout.collector.record import FrameRecord
from framescout.server import Settings, create_app
from framescout.server.schemas import ImageOut
from framescout.server.uploads import DECODE
from framescout.store import Invalid, Store
from framescout.store.ingest import ImageFields
from framescout.store.models import Base
from framescout.store.validation import checked_fields
from framescout.upload_fields import (
    BY_NAME,
    COLLECTOR_FIELDS,
    COLUMN_FIELDS,
    FORM_FIELDS,
    MAX_TAG,
    MAX_TAGS,
    SDK_FIELDS,
    SPECS,
    FieldError,
    UploadFields,
    Wire,
    encode,
    encode_form,
)

TEXT_FIELDS = [s for s in SPECS if s.wire is Wire.TEXT and s.cap is not None and s.name != "name"]
IMAGE_FACTS = {
    "id",
    "sha256",
    "content_type",
    "size_bytes",
    "width",
    "height",
    "created_at",
    "review_status",
    "reviewed_by",
    "reviewed_at",
    "observed_at",
    "annotations",
}
"""`ImageOut` attributes that are facts about the stored image, not upload fields."""


def check(name: str, value: Any) -> Any:
    return BY_NAME[name].check(name, value)


# ---------------------------------------------------------------------------------------- checks
@pytest.mark.parametrize("spec", TEXT_FIELDS, ids=lambda s: s.name)
def test_text_fields_take_up_to_their_cap_and_refuse_more_or_control_characters(spec: Any) -> None:
    assert check(spec.name, "x" * spec.cap) == "x" * spec.cap
    assert check(spec.name, "") is None and check(spec.name, None) is None
    for bad in ("x" * (spec.cap + 1), "a\x00b", "line\nbreak"):
        with pytest.raises(FieldError) as refused:
            check(spec.name, bad)
        assert refused.value.code == f"invalid_{spec.name}"


def test_name_is_a_plain_file_name() -> None:
    assert check("name", " cam 1.jpg ") == "cam 1.jpg"
    assert check("name", None) is None and check("name", "") is None  # the server names it then
    for bad in ("a/b.jpg", "a\\b.jpg", "..", "a\x7f.jpg", "x" * 256, "   "):
        with pytest.raises(FieldError) as refused:
            check("name", bad)
        assert refused.value.code == "invalid_name", bad


def test_split_is_one_of_the_three() -> None:
    assert [check("split", s) for s in ("train", "valid", "test", "", None)] == [
        "train",
        "valid",
        "test",
        None,
        None,
    ]
    with pytest.raises(FieldError) as refused:
        check("split", "validation")
    assert refused.value.code == "invalid_split" and "train, valid, test" in refused.value.message


def test_tags_are_stripped_deduplicated_and_capped() -> None:
    assert check("tags", [" a", "b ", "a", "", "  "]) == ["a", "b"]
    assert check("tags", [f"t{i}" for i in range(MAX_TAGS)]) == [f"t{i}" for i in range(MAX_TAGS)]
    for bad, code in (
        ([f"t{i}" for i in range(MAX_TAGS + 1)], "too_many_tags"),
        (["x" * (MAX_TAG + 1)], "invalid_tag"),
        (["a\tb"], "invalid_tag"),
    ):
        with pytest.raises(FieldError) as refused:
            check("tags", bad)
        assert refused.value.code == code


def test_fields_checked_elsewhere_pass_through() -> None:
    """metadata is checked as it is parsed (`parse_metadata`), predictions against the image's size
    at ingest, source_url by the fetch policy, source is the route's own word."""
    predictions = Predictions.from_arrays([[0, 0, 1, 1]], [0.5], [0], class_name=["a"])
    for name, value in (
        ("metadata", {"a": 1}),
        ("predictions", predictions),
        ("source_url", "http://x/a.jpg"),
        ("source", "api"),
    ):
        assert check(name, value) is value


def test_checked_copies_every_field_and_the_store_refuses_with_invalid() -> None:
    fields = UploadFields(name=" a.jpg", tags=["x", "x"], sampling_rule="")
    clean = fields.checked()
    assert (clean.name, clean.tags, clean.sampling_rule) == ("a.jpg", ["x"], None)
    assert fields.name == " a.jpg"  # a copy
    with pytest.raises(Invalid) as refused:
        checked_fields(UploadFields(device_id="d" * 201))
    assert refused.value.code == "invalid_device_id"  # the API answers Invalid with 422


# ---------------------------------------------------------------------------------------- the wire
def test_each_form_field_survives_the_sdk_encoding_and_the_server_decoding() -> None:
    predictions = Predictions.from_arrays([[1, 2, 30, 40]], [0.5], [0], class_name=["car"])
    values: dict[str, Any] = {
        "name": "a.jpg",
        "split": "valid",
        "batch": "b1",
        "tags": ["a", "b"],
        "metadata": {"observed_at": 1.5, "nested": {"x": [1, 2]}},
        "predictions": predictions,
        "sampling_rule": "low",
        "sampling_reason": "conf 0.2 < 0.4",
        "model_version": "v3",
        "device_id": "cam-1",
    }
    missing = {s.name for s in FORM_FIELDS} - set(values)
    assert not missing, f"give the new form field(s) {missing} a sample value here"
    assert set(values) <= {s.name for s in FORM_FIELDS}
    for spec in FORM_FIELDS:
        decoded = DECODE[spec.wire](encode(spec, values[spec.name]))
        if spec.wire is Wire.PREDICTIONS:
            assert decoded.to_roboflow() == predictions.to_roboflow()
        else:
            assert decoded == values[spec.name], spec.name
    assert encode_form({"tags": [], "metadata": None, "unknown": 3}) == {"unknown": 3}
    assert encode_form({"predictions": {"predictions": []}}) == {"predictions": '{"predictions": []}'}


# ---------------------------------------------------------------------------------------- drift checks
def test_the_upload_form_is_the_definitions_form_fields(tmp_path: Path) -> None:
    """The native upload's multipart form in the OpenAPI document: ``file``, ``url``, then every form
    field of the definition with its description."""
    app = create_app(Settings(data_dir=tmp_path), Store.open(tmp_path))
    spec = app.openapi()
    body = spec["paths"]["/api/v1/projects/{workspace}/{project}/images"]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = spec["components"]["schemas"][ref]["properties"]
    assert list(properties) == ["file", "url", *(s.name for s in FORM_FIELDS)]
    for s in FORM_FIELDS:
        assert properties[s.name].get("description") == s.description, s.name


def test_every_column_field_is_a_column_of_images_wide_enough_for_its_cap() -> None:
    images = Base.metadata.tables["images"]
    for spec in COLUMN_FIELDS:
        assert spec.name in images.c, f"upload field {spec.name} has no images column (a migration?)"
        column_type = images.c[spec.name].type
        if spec.cap is not None:
            assert isinstance(column_type, String) and column_type.length is not None
            assert column_type.length >= spec.cap, spec.name
    stored_otherwise = {s.name for s in SPECS if not s.column}
    assert stored_otherwise == {"batch", "tags", "predictions"}  # batch row, tag rows, annotations


def test_image_out_has_every_out_field_and_nothing_else_beyond_the_image_facts() -> None:
    out = {s.name for s in SPECS if s.out}
    missing = out - set(ImageOut.model_fields)
    assert not missing, f"ImageOut (server/schemas.py) lacks the upload field(s) {missing}"
    assert set(ImageOut.model_fields) - out == IMAGE_FACTS


def test_the_sdk_upload_image_keywords_are_the_definitions_sdk_fields() -> None:
    parameters = inspect.signature(Client.upload_image).parameters.values()
    keywords = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    wanted = [s.name for s in SDK_FIELDS]
    assert keywords == wanted, f"Client.upload_image's keywords must be the definition's sdk fields {wanted}"
    assert all(p.default in (None, ()) for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def test_the_collector_record_carries_every_collector_field_under_its_upload_name() -> None:
    missing = {s.name for s in COLLECTOR_FIELDS} - {f.name for f in dataclasses.fields(FrameRecord)}
    assert not missing, f"FrameRecord (collector/record.py) lacks the collector field(s) {missing}"
    frame = FrameRecord(sampling_rule="low", name="f.jpg", tags=("a",))
    assert set(frame.upload_fields()) == {s.name for s in COLLECTOR_FIELDS}
    assert set(frame.upload_fields()) <= {s.name for s in SDK_FIELDS}  # what the transport may pass


def test_the_store_and_the_definition_are_one_type() -> None:
    assert ImageFields is UploadFields
    assert [f.name for f in dataclasses.fields(UploadFields)] == [s.name for s in SPECS]


def test_the_definition_imports_neither_sqlalchemy_nor_fastapi() -> None:
    """The SDK and the edge collector import it: it must stay light."""
    code = (
        "import sys, framescout.upload_fields, framescout.collector.record; "
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'fastapi', 'starlette') if m in sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", f"import json; {code}"], capture_output=True, text=True, check=True
    )
    assert json.loads(found.stdout) == []
