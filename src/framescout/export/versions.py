"""Dataset versions: frozen, named snapshots of a project (images, boxes, splits) for retraining.

A version's manifest is JSON stored in the content-addressed blob store next to the images it names,
so exporting a version later gives the same dataset even after the project has changed."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from framescout.export.dataset import ExportDataset, ExportImage
from framescout.export.from_store import dataset_from_project
from framescout.predictions.box import Box
from framescout.store import Conflict, NotFound, Store
from framescout.store.accounts import get_project, get_workspace, slugify
from framescout.store.models import DatasetVersion


def create_version(store: Store, workspace: str, project: str, name: str, **options: Any) -> DatasetVersion:
    """Freeze the project as it is now under ``name`` (options as for `dataset_from_project`)."""
    name = slugify(name, "version")
    dataset = dataset_from_project(store, workspace, project, **options)
    if not dataset.images:
        raise NotFound("nothing_to_freeze", f"{workspace}/{project} has no images to put in a version")
    manifest = {
        "format": "framescout-dataset-version/1",
        "project": dataset.name,
        "name": name,
        "classes": list(dataset.classes),
        "class_order": dataset.class_order,
        "images": [
            {
                **asdict(image),
                "boxes": [_box(b) for b in image.boxes],
                "predictions": [_box(b) for b in image.predictions],
            }
            for image in dataset.images
        ],
    }
    with store.db.writing() as session:
        # Written inside the write transaction (like uploads): `framescout doctor --fix`, which removes
        # orphans under the same lock, can never take a manifest whose row is about to commit.
        digest, _ = store.blobs.put(json.dumps(manifest, sort_keys=True).encode())
        proj = get_project(session, get_workspace(session, workspace), project)
        taken = session.scalar(
            select(DatasetVersion).where(DatasetVersion.project_id == proj.id, DatasetVersion.name == name)
        )
        if taken is not None:
            raise Conflict("version_exists", f"{workspace}/{project} already has a version named {name!r}")
        version = DatasetVersion(
            project_id=proj.id,
            name=name,
            manifest_sha256=digest,
            images=len(dataset.images),
            boxes=sum(len(i.boxes) for i in dataset.images),
        )
        session.add(version)
    return version


_MANIFEST_KEYS = {
    "class_name": "class_name",
    "x_min": "x1",
    "y_min": "y1",
    "x_max": "x2",
    "y_max": "y2",
    "confidence": "confidence",
    "iscrowd": "iscrowd",
}
"""`Box`'s fields and their keys in a manifest (format /1 names the corners ``x1`` … ``y2``)."""


def _box(box: Box) -> dict[str, Any]:
    """A box for the manifest; ``iscrowd`` only when set (manifests of other boxes are unchanged)."""
    row = {_MANIFEST_KEYS[name]: value for name, value in asdict(box).items()}
    if not row["iscrowd"]:
        del row["iscrowd"]
    return row


def _unbox(row: dict[str, Any]) -> Box:
    """The inverse of `_box` (a manifest written before crowd flags has no ``iscrowd``)."""
    return Box(**{name: row[key] for name, key in _MANIFEST_KEYS.items() if key in row})


def list_versions(store: Store, workspace: str, project: str) -> list[DatasetVersion]:
    with store.db.reading() as session:
        proj = get_project(session, get_workspace(session, workspace), project)
        return list(
            session.scalars(
                select(DatasetVersion)
                .where(DatasetVersion.project_id == proj.id)
                .order_by(DatasetVersion.created_at)
            )
        )


def load_version(store: Store, workspace: str, project: str, name: str) -> ExportDataset:
    """The frozen dataset of version ``name``, ready for any exporter."""
    with store.db.reading() as session:
        proj = get_project(session, get_workspace(session, workspace), project)
        version = session.scalar(
            select(DatasetVersion).where(DatasetVersion.project_id == proj.id, DatasetVersion.name == name)
        )
        if version is None:
            raise NotFound("version_not_found", f"{workspace}/{project} has no version named {name!r}")
        digest = version.manifest_sha256
    manifest = json.loads(store.blobs.get(digest))
    images = []
    for row in manifest["images"]:
        images.append(
            ExportImage(
                **{k: v for k, v in row.items() if k not in ("boxes", "predictions")},
                boxes=[_unbox(b) for b in row["boxes"]],
                predictions=[_unbox(b) for b in row["predictions"]],
            )
        )
    hashes = {image.id: image.sha256 for image in images}
    return ExportDataset(
        f"{manifest['project']}@{manifest['name']}",
        manifest["classes"],
        images,
        lambda image: store.blobs.get(str(hashes[image.id])),
        class_order=str(manifest.get("class_order", "")),
    )
