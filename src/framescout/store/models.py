"""SQLAlchemy 2 tables: workspaces, API keys, projects, batches, images, tags, annotations, model versions
and their deployments, server-held rules, devices and their heartbeats, label-assist claims."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

GROUND_TRUTH = "ground_truth"
PREDICTION = "prediction"
ANNOTATION_KINDS = (GROUND_TRUTH, PREDICTION)
REVIEWED = "reviewed"
REJECTED = "rejected"
REVIEW_STATUSES = (REVIEWED, REJECTED)
"""An image's ``review_status``: ``None`` while it waits for review, ``reviewed`` once a person saved its
ground truth (possibly no boxes: a true negative), ``rejected`` when it is unusable for training."""


def new_id() -> str:
    """A short random identifier (URL-safe, 16 characters)."""
    return secrets.token_hex(8)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


StrId = Annotated[str, mapped_column(String(32), primary_key=True, default=new_id)]
"""A random 16-character primary key (`new_id`)."""
Created = Annotated[datetime, mapped_column(default=utcnow)]
"""When the row was written (naive UTC)."""
Sha256 = Annotated[str, mapped_column(String(64))]
"""A SHA-256 in hex (content addresses, key hashes)."""
WorkspaceRef = Annotated[str, mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)]
ProjectRef = Annotated[str, mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)]
"""Indexed references that delete the row with its workspace / project."""
SerialId = BigInteger().with_variant(Integer, "sqlite")
"""A database-generated key: 64-bit on PostgreSQL (migration 0010), SQLite's rowid (``INTEGER PRIMARY
KEY``, also 64-bit) on SQLite."""


class Base(DeclarativeBase):
    """Declarative base shared by every table (and by Alembic's autogenerate)."""

    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012


class ProjectPart:
    """The first two columns of a row that belongs to one project (a batch, a model or dataset
    version): its own ``id`` and the ``project_id`` it is deleted with."""

    id: Mapped[StrId] = mapped_column(sort_order=-2)
    project_id: Mapped[ProjectRef] = mapped_column(sort_order=-1)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[StrId]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Created]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[StrId]
    workspace_id: Mapped[WorkspaceRef]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[Created]
    revoked_at: Mapped[datetime | None] = mapped_column()
    """Set by `framescout keys revoke`: the row stays (listings show it) but never authenticates."""

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class AuthState(Base):
    """One row whose ``generation`` moves whenever a key or web session stops being valid.

    Bumped by revocation in the same transaction, and by database triggers on any direct delete or
    edit of ``api_keys`` / ``web_sessions``; every server worker polls it (a one-row read at most
    every half second) and drops its cached keys and sessions when it moves."""

    __tablename__ = "auth_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Project(Base):
    """A set of images with a type and classes; ``strict_classes`` (a class list was given) refuses others."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[StrId]
    workspace_id: Mapped[WorkspaceRef]
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), default="object-detection")
    classes: Mapped[list[str]] = mapped_column(default=list)
    strict_classes: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[Created]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class Batch(ProjectPart, Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Created]


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("project_id", "sha256"),
        Index("ix_images_project_created", "project_id", "created_at"),
        Index("ix_images_project_split", "project_id", "split"),
        Index("ix_images_project_rule", "project_id", "sampling_rule"),
        Index("ix_images_sha256", "sha256"),
        Index("ix_images_project_review", "project_id", "review_status"),
        Index("ix_images_project_observed", "project_id", "observed_at"),
        Index("ix_images_project_device", "project_id", "device_id", "created_at"),
    )

    id: Mapped[StrId]
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sha256: Mapped[Sha256]
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    split: Mapped[str | None] = mapped_column(String(10))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"), index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    sampling_rule: Mapped[str | None] = mapped_column(String(200))
    sampling_reason: Mapped[str | None] = mapped_column(String(1000))
    model_version: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[Created]
    review_status: Mapped[str | None] = mapped_column(String(20))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    observed_at: Mapped[datetime | None] = mapped_column()
    """When the frame was seen (``metadata.observed_at`` read at ingest); ``None``: not said."""
    source: Mapped[str | None] = mapped_column(String(20))
    """Which route or client sent it (`framescout.store.provenance.SOURCES`); ``None`` for old rows."""

    batch: Mapped[Batch | None] = relationship(lazy="joined")
    tags: Mapped[list[ImageTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ImageTag.name"
    )


class ImageTag(Base):
    __tablename__ = "image_tags"
    __table_args__ = (Index("ix_image_tags_name", "name"),)

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)


class Annotation(Base):
    """One box. ``kind`` keeps ground truth and model predictions (pre-labels) apart."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_image_kind", "image_id", "kind"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    class_name: Mapped[str] = mapped_column(String(200))
    x_min: Mapped[float] = mapped_column(Float)
    y_min: Mapped[float] = mapped_column(Float)
    x_max: Mapped[float] = mapped_column(Float)
    y_max: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Created]
    created_by: Mapped[str | None] = mapped_column(String(200))
    iscrowd: Mapped[bool] = mapped_column(default=False, server_default=false())
    """COCO's crowd flag (a region of many objects), kept so a COCO import exports back unchanged."""


class PredictionRun(Base):
    """One model version's predictions of one image as a set: that the version saw the image (even
    when it found nothing), how many boxes it stored and who made them (`store.prediction_versions`)."""

    __tablename__ = "prediction_runs"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200), primary_key=True)
    boxes: Mapped[int] = mapped_column(Integer, default=0)
    made_by: Mapped[str] = mapped_column(String(20))
    """``upload`` (sent with the image, or with the same bytes again), ``api`` (the predictions
    route) or ``server`` (made by framescout itself: ``framescout models predict``)."""
    created_at: Mapped[Created]


class RecentInference(Base):
    """A hosted-inference answer kept for a few minutes, so an upload of the same image right after
    (the official ``roboflow`` package's ``active_learning()`` flow) gets those predictions as
    pre-labels. In the database, not in process memory: the upload may reach another worker."""

    __tablename__ = "recent_inferences"
    __table_args__ = (
        Index("ix_recent_inferences_bytes", "workspace_id", "bytes_sha256"),
        Index("ix_recent_inferences_size", "workspace_id", "width", "height"),
        Index("ix_recent_inferences_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    """``project/version`` of the model that answered (Roboflow's model id)."""
    bytes_sha256: Mapped[Sha256]
    pixels_sha256: Mapped[Sha256]
    width: Mapped[int]
    height: Mapped[int]
    predictions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[Created]


class ModelVersion(ProjectPart, Base):
    """An ONNX detector registered as version N of a project (served by hosted inference)."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    version: Mapped[int]
    onnx_sha256: Mapped[Sha256]
    format: Mapped[str | None] = mapped_column(String(20))
    class_names: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[Created]


class ModelDeployment(Base):
    """``framescout models deploy``: the model version devices of a project (optionally only those
    whose labels include ``labels``) should run. Rows are never changed: the newest matching one wins
    (`framescout.store.deployments`), older ones are the history, and a rollback is a new row."""

    __tablename__ = "model_deployments"
    __table_args__ = (Index("ix_model_deployments_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    """Database-generated, so it orders deployments made within the same clock tick too."""
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The label selector: ``{}`` reaches every device, ``{"site": "north"}`` those labelled so."""
    deployed_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[Created]


class DatasetVersion(ProjectPart, Base):
    """A frozen, named snapshot of a project's images, boxes and splits for retraining.

    The snapshot itself is a JSON manifest kept in the content-addressed blob store (immutable, like
    the images it points at), so an export of the version is reproducible byte for byte."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    manifest_sha256: Mapped[Sha256]
    images: Mapped[int]
    boxes: Mapped[int]
    created_at: Mapped[Created]


class Report(Base):
    """What an end user's app said: a verdict on a prediction (``feedback``) or a ``bug`` report.

    Corrected boxes are kept as the user's suggestion for the reviewer, never written as ground truth
    directly; the image (if any) is tagged so it shows up in the review queue."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_project_kind_status", "project_id", "kind", "status"),)

    id: Mapped[StrId]
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    image_id: Mapped[str | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(40))
    prediction_index: Mapped[int | None]
    description: Mapped[str] = mapped_column(String(4000), default="")
    corrected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    app_version: Mapped[str | None] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[Created]


class WebSession(Base):
    """A browser sign-in: the cookie holds a random token, the table only its hash.

    Kept in the database (not in process memory) so every API worker process recognises it; the
    CSRF token is echoed by forms and by the review page's requests."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(200))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Created]
    expires_at: Mapped[datetime] = mapped_column()

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class ProjectRules(Base):
    """One accepted version of a project's server-held sampling rules (``framescout rules push``).

    Every version is kept, newest (highest ``version``) current: the history says who pushed what and
    when. ``etag`` is the SHA-256 of ``text`` (the text as pushed, line endings made ``\\n``), so a
    push of the current text again adds nothing and devices compare versions by it."""

    __tablename__ = "project_rules"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    project_id: Mapped[ProjectRef]
    version: Mapped[int]
    etag: Mapped[Sha256]
    format: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int]
    pushed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Created]


class Device(Base):
    """A collector that sent a heartbeat to a project: what it said last, and when (server time).

    One row per ``(project_id, device_id)``, written by an upsert (`store.devices.record_heartbeat`);
    its state (online, stale, offline) is computed from ``last_seen`` when read, never stored."""

    __tablename__ = "devices"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    model_version: Mapped[str | None] = mapped_column(String(200))
    rules_etag: Mapped[str | None] = mapped_column(String(200))
    software_version: Mapped[str | None] = mapped_column(String(100))
    counters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The run's counters as the device sent them (seen, kept, …, ``per_rule``); they restart at 0
    with each run (``started_at``)."""
    spool_entries: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime | None] = mapped_column()
    """When the device's current run started (its own clock), so counters of two runs are not mixed."""
    stopped: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The last heartbeat was the run's final one (the collector stopped on purpose)."""
    heartbeats: Mapped[int] = mapped_column(BigInteger, default=0)


class DeviceHeartbeat(Base):
    """A device's counters over time: one point per time bucket (the last heartbeat in it), the newest
    `store.devices.HISTORY_POINTS` per device kept, so the table stays bounded."""

    __tablename__ = "device_heartbeats"
    __table_args__ = (Index("ix_device_heartbeats_device", "project_id", "device_id", "id"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    seen: Mapped[int] = mapped_column(BigInteger, default=0)
    kept: Mapped[int] = mapped_column(BigInteger, default=0)
    nothing_detected: Mapped[int] = mapped_column(BigInteger, default=0)
    uploaded: Mapped[int] = mapped_column(BigInteger, default=0)
    dropped: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_entries: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_per_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    final: Mapped[bool] = mapped_column(default=False, server_default=false())


class LabelAssist(Base):
    """Label assist's record of one image (`framescout.store.label_assist`): claimed by a server
    worker (``running``, until ``claimed_at`` + the lease), then ``done`` (its predictions were
    written as version ``model_version``'s), ``skipped`` (predictions or ground truth arrived
    meanwhile) or ``failed`` (``error`` says why; not retried with the same version)."""

    __tablename__ = "label_assist"
    __table_args__ = (Index("ix_label_assist_project_state", "project_id", "state"),)

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    model_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(10))
    claimed_by: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    boxes: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(1000))
