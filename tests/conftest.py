"""Shared fixtures: where ../shared is, and skips with a clear reason when it is missing; and a home
of its own for every test, so nothing the suite runs reads or writes the real user's per-user data
directory (``~/.local/share/framescout``) or records servers in the real ``~/.local/state``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
import services

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NANODET = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
COCO_TINY = SHARED / "data" / "coco-tiny"


def require_shared(path: Path) -> Path:
    """Skip the calling test when a ../shared asset is missing (fresh clones do not have it)."""
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared data folder beside the project); not present here")
    return path


@pytest.fixture(scope="session")
def nanodet_path() -> Path:
    return require_shared(NANODET)


@pytest.fixture(scope="session")
def coco_tiny() -> Path:
    return require_shared(COCO_TINY)


@pytest.fixture(scope="session")
def samples() -> Path:
    """../shared/data/samples: bus.jpg, dog.jpg, person.jpg, street.png (real photos)."""
    return require_shared(COCO_TINY.parent / "samples")


HOME_VARIABLES = ("HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
_session_home: Path | None = None


def fake_home(root: Path) -> dict[str, str]:
    """The environment of a user whose home is ``root`` (made if needed)."""
    env = {
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / ".local" / "share"),
        "XDG_STATE_HOME": str(root / ".local" / "state"),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "XDG_CACHE_HOME": str(root / ".cache"),
    }
    root.mkdir(parents=True, exist_ok=True)
    return env


def pytest_configure(config: pytest.Config) -> None:
    """Before any fixture (session-scoped servers included) runs: a throw-away home for the session."""
    global _session_home
    _session_home = Path(tempfile.mkdtemp(prefix="framescout-test-home-"))
    os.environ.update(fake_home(_session_home))
    os.environ.pop("FRAMESCOUT_DATA_DIR", None)
    # Label assist (a background thread that pre-labels bare images) would add predictions to other
    # tests' uploads as soon as they register a model: off, except where tests/server/
    # test_label_assist*.py turn it on for their own servers.
    os.environ["FRAMESCOUT_LABEL_ASSIST"] = "off"
    config.addinivalue_line("markers", f"{backends.MARKER}: run on SQLite + files and on PostgreSQL + S3")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_home is not None:
        shutil.rmtree(_session_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own home: a server one test starts is not "the running server" of another."""
    home = tmp_path_factory.mktemp("home")
    for name, value in fake_home(home).items():
        monkeypatch.setenv(name, value)
    yield home


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.Postgres]:
    """A real PostgreSQL cluster for the session (skips, or fails in CI, when it cannot start)."""
    server = services.start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed() -> Iterator[services.SeaweedS3]:
    """A real SeaweedFS S3 gateway for the session (skips, or fails in CI, when it cannot start)."""
    server = services.start_seaweed()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis() -> Iterator[services.Redis]:
    """A real Redis server for the session (skips, or fails in CI, when it cannot start)."""
    server = services.start_redis()
    try:
        yield server
    finally:
        server.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends.parametrize(metafunc)


@pytest.fixture(scope="session")
def backend_kind(request: pytest.FixtureRequest) -> str:
    """``sqlite``, or each of `backends.KINDS` in a ``both_backends`` module (`backends.parametrize`)."""
    return str(getattr(request, "param", backends.SQLITE))


@pytest.fixture(scope="session")
def backend_factory(request: pytest.FixtureRequest) -> backends.Backends:
    return backends.Backends(request)


@pytest.fixture
def backend(backend_kind: str, backend_factory: backends.Backends) -> backends.Backend:
    """A fresh store location of this test's kind (a new database and blob prefix on postgres_s3)."""
    return backend_factory.make(backend_kind)
