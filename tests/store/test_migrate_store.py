"""``store/migrate_store.py`` on a real PostgreSQL and a real SeaweedFS S3: an embedded data directory
arrives whole (rows compared value by value, blobs re-hashed), a run interrupted in the middle of the
rows finishes on the next run without doubling anything, and sources or targets that cannot be migrated
are refused before anything is copied."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

import services
from framescout.export.versions import load_version
from framescout.store import Store
from framescout.store.accounts import get_or_create_workspace
from framescout.store.db import Database
from framescout.store.migrate_blobs import Advance
from framescout.store.migrate_store import MigrationRefused, migrate_store
from framescout.store.models import Annotation, Image, ImageTag, Report
from populated import Populated, populate, set_revision


@pytest.fixture
def target(
    postgres: services.Postgres, seaweed: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """A fresh PostgreSQL database and a fresh bucket (with the AWS_* variables set)."""
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    bucket = f"migrate-{secrets.token_hex(4)}"
    services.wait_until_writable(seaweed, bucket)
    return postgres.database_url(f"migrate_{secrets.token_hex(4)}"), f"s3://{bucket}/prod"


class StopAfter:
    """A progress display that interrupts the run (as Ctrl-C would) once ``phase`` has moved ``rows``."""

    def __init__(self, phase: str, rows: int) -> None:
        self.phase_name, self.left = phase, rows

    def phase(self, description: str, total: int) -> Advance:
        def advance(n: int) -> None:
            if description == self.phase_name:
                self.left -= n
                if self.left <= 0:
                    raise KeyboardInterrupt

        return advance


def _snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """What the API shows, read back through the store: images, boxes, tags, reports."""
    with store.db.reading() as session:
        return {
            "images": sorted(
                session.execute(
                    select(
                        Image.id, Image.sha256, Image.name, Image.review_status, Image.split, Image.metadata_
                    )
                )
            ),
            "boxes": sorted(
                session.execute(
                    select(Annotation.image_id, Annotation.kind, Annotation.class_name, Annotation.x_max)
                )
            ),
            "tags": sorted(session.execute(select(ImageTag.image_id, ImageTag.name))),
            "reports": sorted(session.execute(select(Report.id, Report.image_id, Report.corrected))),
        }


def _version(store: Store) -> dict[str, object]:
    """Dataset version v1 as an export sees it (every field but its byte reader)."""
    dataset = load_version(store, "acme", "cams", "v1")
    return {name: value for name, value in vars(dataset).items() if name != "read_bytes"}


@pytest.mark.slow
def test_everything_arrives_and_a_second_run_copies_nothing(tmp_path: Path, target: tuple[str, str]) -> None:
    database_url, blob_url = target
    source: Populated = populate(tmp_path / "embedded")
    models = tmp_path / "host" / "models"
    result = migrate_store(source.data_dir, database_url, blob_url, models_to=models)
    assert result.ok, result
    checks = {t.table: (t.source_rows, t.target_rows) for t in result.tables}
    assert checks["images"] == (12, 12) and checks["annotations"][0] == checks["annotations"][1] > 24
    assert checks["reports"] == (1, 1) and checks["dataset_versions"] == (1, 1)
    assert checks["api_keys"] == (1, 1) and checks["model_versions"] == (1, 1)
    assert checks["devices"] == (1, 1) and checks["device_heartbeats"] == (2, 2)
    assert result.blobs.uploaded == result.blobs_referenced == 13  # 12 images + the version's manifest
    assert (models / source.model_file.name).read_bytes() == source.model_file.read_bytes()
    assert result.model_blobs is not None and result.model_blobs.uploaded == 1  # hosts fetch it from S3

    old = Store.open(source.data_dir)
    new = Store.open(tmp_path / "host", database_url=database_url, blob_url=blob_url)
    try:
        assert _snapshot(new) == _snapshot(old)
        for sha in old.blobs.iter_hashes():
            assert new.blobs.get(sha) == old.blobs.get(sha)
        assert new.blobs.get(source.model_file.stem) == source.model_file.read_bytes()
        assert _version(new) == _version(old)
        with new.db.writing() as session:  # the sequence moved past the copied ids: a new box fits
            session.add(Annotation(image_id=source.image_ids[5], kind="ground_truth", class_name="car",
                                   x_min=1, y_min=1, x_max=2, y_max=2))  # fmt: skip
        gone = old.blobs.iter_hashes()[0]
        new.blobs.delete(gone)  # lost on the target after it was verified: the next run copies it again
    finally:
        old.close()
        new.close()

    again = migrate_store(source.data_dir, database_url, blob_url, models_to=models)
    assert not again.ok  # the target now has a box the source does not: said, not hidden
    annotations = next(t for t in again.tables if t.table == "annotations")
    assert annotations.target_rows == annotations.source_rows + 1 and not annotations.missing
    assert sum(again.written.values()) == 0
    assert again.blobs.uploaded == 1 and again.blobs.already == 12
    assert again.model_blobs is not None and again.model_blobs.already == 1


@pytest.mark.slow
def test_a_run_interrupted_in_the_rows_finishes_on_the_next(tmp_path: Path, target: tuple[str, str]) -> None:
    database_url, blob_url = target
    source = populate(tmp_path / "embedded", images=30)
    interrupted = StopAfter("rows", 70)  # 40 rows up to the images (a device and its 2 history points
    # among them), then boxes 10 a batch: 30 of 62
    with pytest.raises(KeyboardInterrupt):
        migrate_store(source.data_dir, database_url, blob_url, progress=interrupted, batch_rows=10)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Image)) == 30
        partial = conn.scalar(select(func.count()).select_from(Annotation))
    assert partial == 30
    done = migrate_store(source.data_dir, database_url, blob_url, progress=StopAfter("never", 0))
    assert done.ok, done
    assert done.blobs.uploaded == 0 and done.blobs.already == 31
    assert done.written["images"] == 0 and done.written["annotations"] > 0
    with engine.connect() as conn:
        boxes = conn.scalar(select(func.count()).select_from(Annotation))
        keys = conn.scalar(
            text("SELECT COUNT(*) FROM (SELECT DISTINCT image_id, kind, position FROM annotations) s")
        )
    engine.dispose()
    assert boxes == keys == next(t.source_rows for t in done.tables if t.table == "annotations")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("revision", "says"),
    [("0008", "open it with this version first"), ("0099", "written by a newer framescout")],
)
def test_a_source_at_another_schema_revision_is_refused(
    tmp_path: Path, postgres: services.Postgres, revision: str, says: str
) -> None:
    source = populate(tmp_path / "embedded", images=4)
    set_revision(source.data_dir, revision)
    database_url = postgres.database_url(f"refused_{secrets.token_hex(4)}")
    blob_url = (tmp_path / "blobs").as_uri()
    with pytest.raises(MigrationRefused, match=says):
        migrate_store(source.data_dir, database_url, blob_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:  # refused before the target was touched
        assert (
            conn.scalar(text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='public'"))
            == 0
        )
    engine.dispose()


@pytest.mark.slow
def test_a_target_with_other_workspaces_is_refused(tmp_path: Path, postgres: services.Postgres) -> None:
    source = populate(tmp_path / "embedded", images=4)
    database_url = postgres.database_url(f"taken_{secrets.token_hex(4)}")
    db = Database.open(database_url)
    with db.writing() as session:
        get_or_create_workspace(session, "acme")  # the same slug, another workspace (another id)
    db.dispose()
    with pytest.raises(MigrationRefused, match=r"already holds other workspaces \(acme\)"):
        migrate_store(source.data_dir, database_url, (tmp_path / "blobs").as_uri())
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").glob("??/??/*"))


def test_the_source_itself_is_refused_as_target(tmp_path: Path) -> None:
    source = populate(tmp_path / "embedded", images=4)
    own_db = f"sqlite:///{source.data_dir / 'framescout.db'}"
    with pytest.raises(MigrationRefused, match="source's own database"):
        migrate_store(source.data_dir, own_db, (tmp_path / "b").as_uri())
    with pytest.raises(MigrationRefused, match="source's own blobs"):
        migrate_store(
            source.data_dir, f"sqlite:///{tmp_path / 'new.db'}", (source.data_dir / "blobs").as_uri()
        )
    with pytest.raises(MigrationRefused, match=r"no framescout\.db"):
        migrate_store(tmp_path / "nothing", f"sqlite:///{tmp_path / 'new.db'}", (tmp_path / "b").as_uri())


def test_an_embedded_to_embedded_copy_on_sqlite_verifies(tmp_path: Path) -> None:
    source = populate(tmp_path / "embedded", images=5)
    target_db = f"sqlite:///{tmp_path / 'copy' / 'framescout.db'}"
    (tmp_path / "copy").mkdir()
    result = migrate_store(source.data_dir, target_db, (tmp_path / "copy" / "blobs").as_uri())
    assert result.ok, result
    assert result.models.names and result.models.target is None  # left for the operator, and said so
    assert result.model_blobs is None  # a directory blob store is not where hosts look for models


def test_a_blob_missing_from_the_source_stops_before_the_rows(tmp_path: Path) -> None:
    source = populate(tmp_path / "embedded", images=5)
    store = Store.open(source.data_dir)
    lost = store.blobs.iter_hashes()[0]
    store.blobs.delete(lost)
    store.close()
    target_db = f"sqlite:///{tmp_path / 'copy.db'}"
    result = migrate_store(source.data_dir, target_db, (tmp_path / "copy-blobs").as_uri())
    assert not result.ok
    assert result.blobs.failed == {lost: "missing in the source store (framescout doctor lists it)"}
    assert result.blobs.uploaded == 5 and result.written == {} and result.tables == []
    engine = create_engine(target_db)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Image)) == 0
    engine.dispose()


@pytest.mark.slow
def test_a_value_postgresql_refuses_is_named(tmp_path: Path, postgres: services.Postgres) -> None:
    source = populate(tmp_path / "embedded", images=4)
    engine = create_engine(f"sqlite:///{source.data_dir / 'framescout.db'}")
    with engine.begin() as conn:  # SQLite never checks VARCHAR lengths; PostgreSQL does
        conn.execute(text("UPDATE projects SET name = :n"), {"n": "x" * 300})
    engine.dispose()
    database_url = postgres.database_url(f"long_{secrets.token_hex(4)}")
    with pytest.raises(MigrationRefused) as refused:
        migrate_store(source.data_dir, database_url, (tmp_path / "blobs").as_uri())
    message = str(refused.value)
    assert message.startswith("the target refused a batch of projects: value too long"), message
    assert "x" * 300 not in message and "\n" not in message
