"""`server/errors.py` alone maps error kinds to statuses: every kind of the store's, the server's and
`jsontext`'s trees has an entry, each answers that status through the app, and every code raised in
``src/`` is listed under its kind in docs/errors.md with the status the app answers."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

import framescout
from framescout import imaging, jsontext, labels
from framescout.errors import CodedError
from framescout.server import Settings, create_app
from framescout.server import errors as server_errors
from framescout.server.errors import STATUS, RequestError, status_for
from framescout.store import Store
from framescout.store import errors as store_errors
from framescout.store.errors import StoreError
from framescout.store.validation import _IMAGE_KINDS

SRC = Path(framescout.__file__).parent
DOCS = SRC.parents[1] / "docs" / "errors.md"
_ROW = re.compile(r"^\| `(\w+)` \| (\d{3}) \| (.*) \|$")


def _kinds(module: ModuleType, base: type[Exception]) -> list[type[Exception]]:
    """The error classes ``module`` defines that derive from ``base`` (``base`` included)."""
    return [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, base) and c.__module__ == module.__name__
    ]


ALL_KINDS = [
    *_kinds(store_errors, StoreError),
    *_kinds(server_errors, RequestError),
    *_kinds(jsontext, jsontext.JSONTextError),
]
BY_NAME = {k.__name__: k for k in ALL_KINDS}


def _documented() -> dict[str, tuple[int, set[str]]]:
    """docs/errors.md's kind tables: kind name -> (status, codes)."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        found = _ROW.match(line)
        if found:
            rows[found[1]] = (int(found[2]), set(re.findall(r"`([a-z0-9_<>]+)`", found[3])))
    return rows


def _raised_codes() -> Iterator[tuple[str, str, str]]:
    """(kind, code, where) for every ``Kind("code", ...)`` in src/, module-level string constants
    resolved; codes built at run time (``f"invalid_{what}"``) are left to the tables' prose."""
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Constant)
            and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BY_NAME
            ):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.func.id, first.value, f"{path.relative_to(SRC)}:{node.lineno}"
            elif isinstance(first, ast.Name) and first.id in constants:
                yield node.func.id, constants[first.id], f"{path.relative_to(SRC)}:{node.lineno}"


def test_every_error_kind_has_its_own_status_entry() -> None:
    assert {"StoreError", "NotFound", "Conflict", "Invalid", "TooLarge", "Unsupported"} <= set(BY_NAME)
    assert {"RequestError", "Unauthorized", "Forbidden", "Unavailable", "JSONTooLarge"} <= set(BY_NAME)
    missing = [k.__name__ for k in ALL_KINDS if k not in STATUS]
    assert missing == [], f"add these kinds to server/errors.py:STATUS and docs/errors.md: {missing}"
    assert all(issubclass(k, CodedError) for k in ALL_KINDS if not issubclass(k, jsontext.JSONTextError))


def test_store_errors_know_nothing_of_http() -> None:
    for kind in _kinds(store_errors, StoreError):
        error = kind("some_code", "a message")
        assert isinstance(error, StoreError)
        assert (error.code, error.message) == ("some_code", "a message")
        assert not hasattr(error, "status") and not hasattr(error, "status_code")
    assert not hasattr(jsontext.JSONTextError("malformed_json", "x"), "status")


def test_a_subclass_not_listed_answers_its_nearest_base() -> None:
    class Gone(store_errors.NotFound):
        pass

    class Throttled(server_errors.Unavailable):
        pass

    assert status_for(Gone("gone", "x")) == 404 and status_for(Throttled("busy", "x")) == 503


def test_the_tables_list_every_kind_with_the_status_it_maps_to() -> None:
    documented = _documented()
    assert set(documented) == set(BY_NAME), "docs/errors.md has a table row per kind, no more"
    for name, (status, _) in documented.items():
        assert status == STATUS[BY_NAME[name]], f"docs/errors.md says {name} is {status}"


def test_every_code_raised_in_src_is_documented_under_its_kind() -> None:
    documented = _documented()
    raised = list(_raised_codes())
    assert len(raised) > 60  # the scan finds the raise sites (it broke if this drops)
    for kind, code, where in raised:
        base = next(k.__name__ for k in BY_NAME[kind].__mro__ if k.__name__ in documented)
        assert code in documented[base][1], (
            f"{where}: {code!r} ({kind}) is not in docs/errors.md under {base}"
        )


def test_label_and_device_id_codes_are_documented_under_invalid() -> None:
    """Labels and device ids are refused by `framescout.labels` / `device_names` (no store kind for the
    scan to see); the routes answer their codes as `Invalid`."""
    invalid = _documented()["Invalid"][1]
    assert {"invalid_label", "too_many_labels"} == labels.CODES
    assert invalid >= labels.CODES
    assert "invalid_device_id" in invalid


def test_image_codes_are_documented_under_the_kind_the_store_gives_them() -> None:
    documented = _documented()
    codes = {code for _, code, _ in _image_error_codes()}
    assert {"not_an_image", "too_large", "corrupt_image", "empty"} <= codes
    for code in codes:
        kind = _IMAGE_KINDS.get(code, store_errors.Invalid).__name__
        assert code in documented[kind][1], f"image code {code!r} is not in docs/errors.md under {kind}"


def _image_error_codes() -> Iterator[tuple[str, str, int]]:
    tree = ast.parse(Path(imaging.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ImageError":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield "ImageError", first.value, node.lineno


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The real app with one extra route that raises the kind named in its path."""
    store = Store.open(tmp_path / "data")
    app = create_app(Settings(data_dir=tmp_path / "data"), store)

    def boom(kind: str) -> None:
        raise BY_NAME[kind]("the_code", f"a {kind}")

    app.add_api_route("/_raise/{kind}", boom)
    app.router.routes.insert(0, app.router.routes.pop())  # before the root-level Roboflow routes
    with TestClient(app) as test_client:
        yield test_client
    store.close()


@pytest.mark.parametrize("kind", sorted(BY_NAME))
def test_each_kind_answers_its_status_and_code_through_the_app(client: TestClient, kind: str) -> None:
    response = client.get(f"/_raise/{kind}")
    assert response.status_code == STATUS[BY_NAME[kind]]
    assert response.json() == {"error": {"code": "the_code", "message": f"a {kind}"}}
    assert (response.headers.get("www-authenticate") == "Bearer") == (response.status_code == 401)
