"""Pydantic request/response models of the native API (kept apart from the tables)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from framescout.predictions.box import Box
from framescout.store.models import Annotation, Image, ModelVersion, Project, Report, Workspace
from framescout.store.review import MAX_REVIEW_BOXES, ReviewResult


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_api_key`.")
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class WorkspaceOut(BaseModel):
    slug: str
    name: str

    @classmethod
    def of(cls, w: Workspace) -> WorkspaceOut:
        return cls(slug=w.slug, name=w.name)


class KeyCreate(BaseModel):
    name: str = Field("", max_length=200)


class KeyCreated(BaseModel):
    key: str = Field(description="The new API key. It is shown only once; only its hash is stored.")
    workspace: str
    id: str | None = Field(None, description="The key's id (what `DELETE .../keys/{key_id}` takes).")
    prefix: str | None = Field(None, description="The key's first characters, as listings show them.")


class ProjectCreate(BaseModel):
    name: str = Field(description="Project name; its slug (lower-case) is used in URLs.")
    type: Literal["object-detection"] = "object-detection"
    classes: list[str] = Field(default_factory=list)


class ProjectOut(BaseModel):
    workspace: str
    slug: str
    name: str
    type: str
    classes: list[str]
    created_at: datetime

    @classmethod
    def of(cls, p: Project, workspace: str) -> ProjectOut:
        """Every field but ``workspace`` (the caller's slug) is the project's attribute of that name."""
        own = (name for name in cls.model_fields if name != "workspace")
        return cls(workspace=workspace, **{name: getattr(p, name) for name in own})


class UploadOut(BaseModel):
    id: str
    sha256: str
    duplicate: bool
    predictions_added: int = Field(
        0,
        description="Known bytes with predictions of a model version the image did not have yet: "
        "the number of boxes added as that version's predictions.",
    )


class AnnotationOut(BaseModel):
    kind: Literal["ground_truth", "prediction"]
    class_name: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    confidence: float | None = None
    model_version: str | None = None
    created_by: str | None = Field(
        None,
        description="Who saved this ground truth (review UI); `label-assist` on predictions the server made.",
    )
    iscrowd: bool = Field(
        False, description="COCO's crowd flag (ground truth): a region of many objects, not one to find."
    )

    @classmethod
    def of(cls, a: Annotation) -> AnnotationOut:
        return cls.model_validate(a, from_attributes=True)


# An image's record: its facts (hash, type, size, review, ...) and its upload fields (each field of
# `framescout.upload_fields.UploadFields` marked ``out``; tests/test_upload_fields.py checks they agree).
# No docstring: it would become the schema's description in the OpenAPI document.
class ImageOut(BaseModel):
    id: str
    sha256: str
    name: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    split: str | None
    batch: str | None
    tags: list[str]
    metadata: dict[str, Any]
    sampling_rule: str | None
    sampling_reason: str | None
    model_version: str | None
    device_id: str | None
    source_url: str | None
    created_at: datetime
    review_status: Literal["reviewed", "rejected"] | None = Field(
        None, description="`null` while the image waits for review."
    )
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    source: str | None = Field(
        None,
        description="Where the upload came from: `collector`, `api`, `roboflow` (the Roboflow-compatible "
        "route), `feedback` or `bug-report`; `null` for images stored before sources were recorded.",
    )
    observed_at: datetime | None = Field(
        None, description="When the frame was seen (`metadata.observed_at`, UTC); `null` if not said."
    )
    annotations: list[AnnotationOut] | None = None

    @classmethod
    def of(cls, im: Image, annotations: list[Annotation] | None = None) -> ImageOut:
        """Every field copied from the `Image` attribute of the same name, but the batch's name, the
        tag names and the annotations."""
        copied = (name for name in cls.model_fields if name not in ("batch", "tags", "annotations"))
        return cls(
            **{name: getattr(im, _ORM_NAME.get(name, name)) for name in copied},
            batch=im.batch.name if im.batch is not None else None,
            tags=[t.name for t in im.tags],
            annotations=None if annotations is None else [AnnotationOut.of(a) for a in annotations],
        )


_ORM_NAME = {"metadata": "metadata_"}
"""`Image` attributes not named after their column (``metadata`` is reserved on SQLAlchemy models)."""


class ImageList(BaseModel):
    images: list[ImageOut]
    total: int
    limit: int
    offset: int


class AnnotationsSaved(BaseModel):
    image_id: str
    kind: str
    count: int


class BatchOut(BaseModel):
    id: str
    name: str
    images: int
    created_at: datetime


class ModelVersionOut(BaseModel):
    version: int
    format: str | None
    classes: list[str]
    created_at: datetime

    @classmethod
    def of(cls, m: ModelVersion) -> ModelVersionOut:
        return cls(version=m.version, format=m.format, classes=m.class_names, created_at=m.created_at)


class ReviewBox(BaseModel):
    """One ground-truth box in pixels of the image: the wire shape of `Box` (`Box.to_wire`), checked;
    `Box.from_row` converts it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_name: str = Field(alias="class", min_length=1, max_length=200)
    x_min: float
    y_min: float
    x_max: float
    y_max: float


class ReviewIn(BaseModel):
    """A person's review: the boxes that are the image's ground truth now, or a rejected image."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["reviewed", "rejected"] = "reviewed"
    boxes: list[ReviewBox] = Field(default_factory=list, max_length=MAX_REVIEW_BOXES)

    def to_boxes(self) -> list[Box]:
        return [Box.from_row(b) for b in self.boxes]


class ApiReviewIn(ReviewIn):
    reviewer: str = Field(
        "", max_length=200, description="Who reviewed (defaults to the API key's label or prefix)."
    )


class ReviewSaved(BaseModel):
    image_id: str
    status: str
    boxes: int
    reviewed_by: str
    reviewed_at: datetime

    @classmethod
    def of(cls, result: ReviewResult, **extra: Any) -> Self:
        return cls(**dataclasses.asdict(result), **extra)


class ReportOut(BaseModel):
    """A feedback or bug report as the feedback API answers and lists it."""

    id: str
    kind: Literal["feedback", "bug"]
    image_id: str | None
    verdict: str | None
    severity: str | None
    prediction_index: int | None
    description: str
    corrected: list[dict[str, Any]] = Field(
        description='Suggested boxes in pixels: `{"class", "x_min", "y_min", "x_max", "y_max"}`.'
    )
    app_version: str | None
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    status: str
    created_at: datetime

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls.model_validate(r, from_attributes=True)


class ReportList(BaseModel):
    reports: list[ReportOut]
    total: int
