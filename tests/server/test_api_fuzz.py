"""API fuzzing with schemathesis: requests generated from the server's own OpenAPI document, valid
and invalid, against the real app over a real SQLite data directory. No request may crash the server
(5xx), and every refusal must be the documented JSON error shape with a stable code."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation.modes import GenerationMode

from framescout.server import Settings, create_app
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace
from framescout.store.ingest import ImageFields, ingest_image

pytestmark = pytest.mark.slow


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _app(root: Path) -> tuple[Any, str, str]:
    store = Store.open(root)
    with store.db.writing() as session:
        workspace = get_or_create_workspace(session, "acme")
        key = create_key(session, workspace)
        project = create_project(session, workspace, "cams", classes=["person", "car"])
    image = ingest_image(store.db, store.blobs, project, _jpeg(), ImageFields(name="a.jpg"))
    return create_app(Settings(data_dir=root, max_upload_bytes=1_000_000), store), key, image.id


_ROOT = Path(tempfile.mkdtemp(prefix="framescout-fuzz-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
APP, KEY, IMAGE_ID = _app(_ROOT / "data")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schemathesis.check
def errors_are_json_with_a_code(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is ``{"error": {"code", "message"}}`` (never an HTML page or a bare string), with the
    offending keys listed under ``problems`` when there are several (refused rules)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, body
        assert set(body["error"]) - {"problems"} == {"code", "message"}, body
        for problem in body["error"].get("problems", [{"key": "", "where": "", "message": ""}]):
            assert set(problem) == {"key", "where", "message"}, body
        assert body["error"]["code"] and body["error"]["message"], body
    return None


# One pytest test per operation, named by it. (schemathesis' own ``schema.parametrize()`` gives all
# its items one node id under pytest 9, so pytest-xdist, which schedules by node id, ran one of them.)
def _operations() -> list[Any]:
    """Every operation of the schema; an operation schemathesis cannot read fails the module loudly."""
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


OPERATIONS = _operations()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_no_request_crashes_the_server(operation: Any) -> None:
    """Valid and invalid requests to each operation: none is a 5xx, every refusal is our error shape."""
    cases = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

    @given(case=cases)
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case: Any) -> None:
        # Aim most requests at things that exist, so they reach the handlers instead of stopping at a 404.
        params = case.path_parameters or {}
        for name, value in (("workspace", "acme"), ("project", "cams"), ("image_id", IMAGE_ID)):
            if name in params:
                params[name] = value
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY}"},
            checks=[not_a_server_error, errors_are_json_with_a_code],
        )

    run()


def test_every_operation_is_fuzzed() -> None:
    """The schema lists the API's operations, so the fuzzing above reaches the routes users call."""
    labels = {operation.label for operation in OPERATIONS}
    assert len(OPERATIONS) >= 40 and len(labels) == len(OPERATIONS)
    assert {"POST /dataset/{project}/upload", "POST /dataset/{project}/annotate/{image_id}"} <= labels
