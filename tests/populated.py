"""An embedded data directory with a bit of everything, made with the store's own functions: for the
``migrate-store`` tests (images with predictions, tags and a batch, ground truth, a review and a
rejection, a feedback report, a dataset version, a key, a registered model file, a device with a
history of two heartbeats)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import create_engine, select, text

from framescout import Predictions
from framescout.export.versions import create_version
from framescout.imaging import sha256_hex
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.accounts import add_key, create_project, get_or_create_workspace, register_model
from framescout.store.annotations import save_annotations
from framescout.store.devices import Heartbeat, record_heartbeat
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import Project
from framescout.store.reports import add_report, check_feedback
from framescout.store.review import save_review


@dataclass
class Populated:
    data_dir: Path
    key: str
    image_ids: list[str]
    model_file: Path


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 11 % 256, 120))
    image.putpixel((seed % size[0], seed // size[0] % size[1]), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def populate(data_dir: Path, images: int = 12) -> Populated:
    """``acme/cams`` with ``images`` images (at least 4) and everything else once."""
    store = Store.open(data_dir)
    try:
        with store.db.writing() as session:
            acme = get_or_create_workspace(session, "acme")
            key = add_key(session, acme, "migration test")[1]
            create_project(session, acme, "cams")
        with store.db.reading() as session:
            project = session.scalars(select(Project)).one()
            session.expunge(project)
        ids = []
        for seed in range(images):
            predictions = Predictions.from_arrays(
                [[2, 2, 20, 20], [30, 10, 50, 40]], [0.9, 0.4], [0, 1], class_name=["car", "person"]
            )
            fields = ImageFields(
                name=f"frame-{seed}.jpg",
                predictions=predictions,
                tags=["night"] if seed % 2 else ["day", "gate"],
                batch="first" if seed < images // 2 else "second",
                split="train" if seed % 3 else "valid",
                metadata={"camera": seed % 3, "observed_at": "2026-11-30T10:00:00Z"},
                sampling_rule="low_confidence",
                model_version="7",
            )
            ids.append(ingest_image(store.db, store.blobs, project, jpeg(seed), fields).id)
        save_annotations(store.db, project, ids[0], [Box("car", 1, 1, 30, 30)])
        save_review(store.db, project, ids[1], [Box("car", 2, 2, 21, 21)], reviewer="ana")
        save_review(store.db, project, ids[2], [], reviewer="ana", status="rejected")
        with store.db.write_engine.begin() as conn:
            report = check_feedback(
                verdict="wrong",
                prediction_index=1,
                corrected=[Box("dog", 30, 10, 50, 40)],
                comment="that is a dog",
                app_version="2.1",
                metadata={"user": "u1"},
            )
            add_report(conn, project, ids[3], report)
        create_version(store, "acme", "cams", "v1", include_unlabelled=True)
        model = b"not really onnx, but a file the store refers to by its hash"
        model_file = store.models_dir / f"{sha256_hex(model)}.onnx"
        model_file.write_bytes(model)
        with store.db.writing() as session:
            register_model(session, project, 1, sha256_hex(model), "yolov8", ["car", "person"])
        for minute in range(2):
            counters = {"seen": 10 + minute, "kept": 2, "per_rule": {"low_confidence": {"kept": 2}}}
            beat = Heartbeat(labels={"site": "gate"}, model_version="7", counters=counters, spool_entries=1)
            record_heartbeat(store.db, project, "cam-gate", beat, now=datetime(2026, 11, 30, 10, minute))
    finally:
        store.close()
    return Populated(data_dir.resolve(), key, ids, model_file)


def set_revision(data_dir: Path, revision: str) -> None:
    """Pretend the data directory's schema is at ``revision`` (as an older or newer release left it)."""
    engine = create_engine(f"sqlite:///{data_dir / 'framescout.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()
