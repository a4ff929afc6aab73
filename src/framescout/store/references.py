"""Every hash the store's database refers to, and who refers to it.

Image rows (``images.sha256``), dataset versions (their manifest blob and the image hashes the manifest
names) and registered models (``model_versions.onnx_sha256`` → ``models/<sha>.onnx``). A stored file
none of these names is an orphan (`integrity`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from framescout.store.datadir import Store
from framescout.store.models import DatasetVersion, Image, ModelVersion, Project


@dataclass
class References:
    """Every hash the database refers to, with who refers to it (a few names per hash)."""

    blobs: dict[str, list[str]] = field(default_factory=dict)
    models: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, table: dict[str, list[str]], sha256: str, who: str) -> None:
        names = table.setdefault(sha256, [])
        if len(names) < 5:
            names.append(who)


def collect_references(store: Store) -> References:
    """Read every reference kind: image rows, dataset-version manifests (and their images), models."""
    refs = References()
    with store.db.reading() as session:
        slugs = dict(session.execute(select(Project.id, Project.slug)).tuples().all())
        for image_id, project_id, sha in session.execute(
            select(Image.id, Image.project_id, Image.sha256)
        ).tuples():
            refs.add(refs.blobs, sha, f"image {slugs.get(project_id, '?')}/{image_id}")
        versions = (
            session.execute(
                select(DatasetVersion.project_id, DatasetVersion.name, DatasetVersion.manifest_sha256)
            )
            .tuples()
            .all()
        )
        for project_id, version, number, sha in session.execute(
            select(ModelVersion.project_id, ModelVersion.id, ModelVersion.version, ModelVersion.onnx_sha256)
        ).tuples():
            refs.add(refs.models, sha, f"model {slugs.get(project_id, '?')} version {number} ({version})")
    for project_id, name, sha in versions:
        who = f"dataset version {slugs.get(project_id, '?')}@{name}"
        refs.add(refs.blobs, sha, f"{who} (manifest)")
        for image_sha in manifest_hashes(store, sha, who, refs.problems):
            refs.add(refs.blobs, image_sha, who)
    return refs


def manifest_hashes(store: Store, sha: str, who: str, problems: list[str]) -> list[str]:
    """The image hashes a dataset version's manifest names; an unreadable manifest is a problem."""
    try:
        manifest = json.loads(store.blobs.get(sha))
        return [str(i["sha256"]) for i in manifest["images"] if i.get("sha256")]
    except KeyError:
        return []  # the manifest blob itself is missing: reported as a missing blob
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"{who}: its manifest {sha[:12]}… is unreadable ({type(exc).__name__})")
        return []
