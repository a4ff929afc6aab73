"""``framescout doctor``: a store with planted damage — an orphan blob, temp files, a corrupt blob, a
missing blob, an orphan model — is reported unhealthy (exit 1); ``--fix --grace 0`` removes orphans and
temp files but never a referenced blob (by an image row, a dataset-version manifest or a model version);
young files are kept under the grace period; a damaged database is reported."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from framescout.export.versions import create_version
from framescout.imaging import sha256_hex
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.ingest import ImageFields, ingest_image
from helpers import framescout, jpeg
from onnx_graphs import constant_model, yolov8


@dataclass
class Planted:
    data: Path
    images: dict[str, bytes]  # sha256 -> bytes of every ingested image
    in_version_only: str  # an image whose row was deleted: only the version's manifest refers to it
    manifest: str
    model: Path


def old(path: Path, seconds: float = 3600) -> Path:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    data = tmp_path / "data"
    store = Store.open(data)
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "cams")
    images = {}
    for seed in range(5):
        body = jpeg(seed)
        ingest_image(store.db, store.blobs, project, body, ImageFields())
        images[sha256_hex(body)] = body
    version = create_version(store, "acme", "cams", "v1", include_unlabelled=True)
    extra = jpeg(99)
    ingest_image(store.db, store.blobs, project, extra, ImageFields())  # not in the version
    images[sha256_hex(extra)] = extra
    in_version_only = sorted(set(images) - {sha256_hex(extra)})[0]
    store.close()
    conn = sqlite3.connect(data / "framescout.db")
    conn.execute("DELETE FROM images WHERE sha256 = ?", (in_version_only,))  # the version still needs it
    conn.commit()
    conn.close()
    model = constant_model(tmp_path / "m.onnx", yolov8())
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    added = framescout(
        "models",
        "add",
        "acme/cams",
        "1",
        "--onnx",
        str(model),
        "--classes",
        str(names),
        "--data-dir",
        str(data),
    )
    assert added.returncode == 0, added.stderr
    for path in data.rglob("*"):  # everything planted so far is older than any grace period
        if path.is_file():
            old(path)
    return Planted(data, images, in_version_only, version.manifest_sha256, model)


def doctor(data: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = framescout("doctor", str(data), "--json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    assert f"data directory: {data.resolve()}" in done.stderr
    return done.returncode, json.loads(done.stdout)


def blob_path(data: Path, sha: str) -> Path:
    return data / "blobs" / sha[:2] / sha[2:4] / sha


def test_a_clean_store_is_healthy(planted: Planted) -> None:
    code, report = doctor(planted.data)
    assert code == 0, report
    assert report["healthy"] and report["database"]["ok"]
    assert report["blobs_checked"] == len(planted.images) + 1  # the images and the version's manifest
    assert report["models_checked"] == 1
    assert report["orphans"] == [] and report["missing"] == [] and report["temp_files"] == []
    text = framescout("doctor", str(planted.data))
    assert text.returncode == 0 and "healthy" in text.stdout and "UNHEALTHY" not in text.stdout


def test_damage_is_reported_and_fix_removes_only_what_nothing_refers_to(planted: Planted) -> None:
    data = planted.data
    store = Store.open(data)
    orphan, _ = store.blobs.put(b"bytes no row refers to")
    store.close()
    old(blob_path(data, orphan))
    temp = data / "blobs" / "tmp" / "0123abcd.part"
    temp.write_bytes(b"half a blob")
    old(temp)
    model_part = data / "models" / "feedbeef.part"
    model_part.write_bytes(b"half a model")
    old(model_part)
    orphan_model = data / "models" / f"{'e' * 64}.onnx"
    orphan_model.write_bytes(b"not registered")
    old(orphan_model)
    shas = sorted(s for s in planted.images if s != planted.in_version_only)
    corrupt, missing = shas[0], shas[1]
    blob_path(data, corrupt).write_bytes(b"flipped bits")
    blob_path(data, missing).unlink()

    code, report = doctor(data)
    assert code == 1 and not report["healthy"]
    assert {Path(o["path"]).name for o in report["orphans"]} == {orphan, orphan_model.name}
    assert {Path(t["path"]).name for t in report["temp_files"]} == {temp.name, model_part.name}
    found = {m["sha256"]: m for m in report["missing"]}
    assert set(found) == {corrupt, missing}
    assert found[corrupt]["corrupt"] and not found[missing]["corrupt"]
    assert any(r.startswith("image cams/") for r in found[missing]["referenced_by"])
    assert any("re-upload" in line for line in report["advice"])

    code, _ = doctor(data, "--fix", "--grace", "0")
    assert code == 1  # the corrupt and the missing blob cannot be fixed: still unhealthy, and said why
    assert not blob_path(data, orphan).exists() and not temp.exists() and not model_part.exists()
    assert not orphan_model.exists()
    assert not blob_path(data, orphan).parent.exists()  # its emptied fan-out folder went too
    # Never removed: referenced blobs (even the corrupt one), the manifest, the image that only the
    # version's manifest refers to, the registered model.
    for sha in planted.images:
        if sha != missing:
            assert blob_path(data, sha).exists(), sha
    assert blob_path(data, planted.manifest).exists()
    assert blob_path(data, planted.in_version_only).exists()
    assert len(list((data / "models").glob("*.onnx"))) == 1

    # Put the right bytes back: healthy again.
    blob_path(data, corrupt).write_bytes(planted.images[corrupt])
    blob_path(data, missing).parent.mkdir(parents=True, exist_ok=True)
    blob_path(data, missing).write_bytes(planted.images[missing])
    code, report = doctor(data)
    assert code == 0, report


def test_young_files_are_kept_under_the_grace_period(planted: Planted) -> None:
    data = planted.data
    store = Store.open(data)
    fresh, _ = store.blobs.put(b"an upload in flight")
    store.close()
    temp = data / "blobs" / "tmp" / "inflight.part"
    temp.write_bytes(b"being written")
    code, report = doctor(data, "--fix")  # default grace: 10 minutes
    assert code == 0, report  # in-flight files are no sign of damage
    assert blob_path(data, fresh).exists() and temp.exists()
    assert {Path(r["path"]).name for r in report["orphans"]} == {fresh}
    text = framescout("doctor", str(data), "--grace", "120")
    assert "recent files kept" in text.stdout and text.returncode == 0
    old(blob_path(data, fresh), 600)
    old(temp, 600)
    code, report = doctor(data, "--fix", "--grace", "120")
    assert code == 0 and not blob_path(data, fresh).exists() and not temp.exists()


def test_database_damage_is_reported(planted: Planted) -> None:
    conn = sqlite3.connect(planted.data / "framescout.db")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute(
        "INSERT INTO batches (id, project_id, name, created_at) VALUES ('b1', 'nope', 'x', '2026-01-01')"
    )
    conn.commit()
    conn.close()
    code, report = doctor(planted.data)
    assert code == 1 and not report["database"]["ok"]
    assert any("batches" in line for line in report["database"]["foreign_keys"])
    text = framescout("doctor", str(planted.data))
    assert "DAMAGED" in text.stdout and "restore framescout.db from a backup" in text.stdout


def test_a_corrupt_database_file_is_reported_not_a_traceback(planted: Planted) -> None:
    db = planted.data / "framescout.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    page = 4096
    for offset in range(2 * page, len(raw) - page, page):  # garble every page after the schema
        raw[offset + 16 : offset + 200] = os.urandom(184)
    db.write_bytes(bytes(raw))
    done = framescout("doctor", str(planted.data))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "DAMAGED" in done.stdout


def test_a_missing_data_directory_is_a_clean_error(tmp_path: Path) -> None:
    done = framescout("doctor", str(tmp_path / "nowhere"))
    assert done.returncode == 1 and "no framescout data directory" in done.stderr
    assert not (tmp_path / "nowhere").exists()  # nothing was created
