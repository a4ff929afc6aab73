"""Build an `ExportDataset` from a project in the store: images with ground truth (and, for
labelling tools, unlabelled images with their pre-labels), in their splits."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout.export.dataset import SPLITS, ExportDataset, ExportImage
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.accounts import get_project, get_workspace
from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    REJECTED,
    REVIEWED,
    Annotation,
    Image,
    ModelVersion,
    Project,
)


def assign_split(sha256: str, ratios: Sequence[float], seed: int = 0) -> str:
    """A split for an image that has none: deterministic from its content hash, so re-exports agree."""
    total = sum(ratios)
    point = int(hashlib.sha256(f"{seed}:{sha256}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * total
    edge = 0.0
    for split, ratio in zip(SPLITS, ratios, strict=True):
        edge += ratio
        if point <= edge:
            return split
    return SPLITS[-1]


def class_order(
    project_classes: Sequence[str], strict: bool, model: tuple[int, Sequence[str]] | None, seen: set[str]
) -> tuple[list[str], str]:
    """Class names in id order, and where that order comes from.

    The newest registered model's class list comes first (its ids are the model's class ids, so a
    trainer fine-tuning it keeps them), then the project's other classes in the project's order
    (its fixed list, or first seen for a project that learns classes), then any other class found
    in the ground truth, sorted."""
    if model is not None and model[1]:
        version, names = model
        classes = list(dict.fromkeys(names))
        extra = [c for c in project_classes if c not in set(classes)]
        how = f"the class list of model version {version} (ids = the model's class ids)"
        if extra:
            how += f"; {len(extra)} project class(es) the model lacks follow, in the project's order"
        classes += extra
    else:
        classes = list(project_classes)
        how = (
            "the project's fixed class list, in its order"
            if strict
            else "first seen in uploads (the project learns its classes)"
        )
    rest = sorted(seen - set(classes))
    if rest:
        how += f"; {len(rest)} class(es) only in the ground truth follow, sorted"
    return classes + rest, how


def dataset_from_project(
    store: Store,
    workspace: str,
    project: str,
    *,
    include_unlabelled: bool = False,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> ExportDataset:
    """Images of ``workspace/project`` with their ground truth and pre-labels, ready for a writer.

    An image counts as labelled when it has ground truth or a reviewer saved it with no boxes (a true
    negative, exported as a background image); images a reviewer rejected are never exported."""
    with store.db.reading() as session:
        ws = get_workspace(session, workspace)
        proj = get_project(session, ws, project)
        images = list(
            session.scalars(select(Image).where(Image.project_id == proj.id).order_by(Image.created_at))
        )
        boxes: dict[str, dict[str, list[Annotation]]] = defaultdict(lambda: defaultdict(list))
        ids = [image.id for image in images]
        for start in range(0, len(ids), 500):
            rows = session.scalars(
                select(Annotation)
                .where(Annotation.image_id.in_(ids[start : start + 500]))
                .order_by(Annotation.position)
            )
            for row in rows:
                boxes[row.image_id][row.kind].append(row)
        model = _newest_model(session, proj)
        project_classes, strict = list(proj.classes), proj.strict_classes
        name = f"{ws.slug}/{proj.slug}"
    seen_classes = {a.class_name for per in boxes.values() for a in per[GROUND_TRUTH]}
    classes, how = class_order(project_classes, strict, model, seen_classes)
    exported = []
    for image in images:
        truth = boxes[image.id][GROUND_TRUTH]
        if image.review_status == REJECTED:
            continue
        if not truth and image.review_status != REVIEWED and not include_unlabelled:
            continue
        predictions = boxes[image.id][PREDICTION]
        exported.append(
            ExportImage(
                id=image.id,
                file_name=image.name or f"{image.id}.jpg",
                width=image.width,
                height=image.height,
                split=image.split or assign_split(image.sha256, ratios, seed),
                boxes=[Box.from_row(a) for a in truth],
                # the crowd flag is ground truth's (a COCO file's); a prediction is exported without it
                predictions=[replace(Box.from_row(a), iscrowd=False) for a in predictions],
                model_version=predictions[0].model_version if predictions else image.model_version,
                sha256=image.sha256,
            )
        )
    hashes = {image.id: image.sha256 for image in images}
    return ExportDataset(
        name, classes, exported, lambda image: store.blobs.get(hashes[image.id]), class_order=how
    )


def _newest_model(session: Session, project: Project) -> tuple[int, list[str]] | None:
    """The newest registered model version of ``project`` and its class names, if any."""
    row = session.execute(
        select(ModelVersion.version, ModelVersion.class_names)
        .where(ModelVersion.project_id == project.id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else (int(row.version), list(row.class_names))
