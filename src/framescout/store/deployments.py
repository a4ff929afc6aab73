"""Model deployments: which registered version a project's devices should run.

`deploy` appends a row (never edits one); `deployment_for` answers a device with the newest row whose
label selector its labels satisfy, with that version's `ModelVersion`; `effective` is what the CLI
prints as "now deployed": the rows no newer row shadows. A rollback is deploying the previous version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout import labels as device_labels
from framescout.labels import LabelError, covers, matches
from framescout.store.accounts import get_model_version
from framescout.store.errors import Invalid, NotFound
from framescout.store.models import ModelDeployment, ModelVersion, Project


@dataclass(frozen=True)
class Deployed:
    """A deployment and the registered model it names."""

    deployment: ModelDeployment
    model: ModelVersion


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """``labels`` checked by `framescout.labels`; `Invalid` with its code (``invalid_label`` naming the
    bad one, ``too_many_labels``)."""
    try:
        return device_labels.check_labels(labels)
    except LabelError as exc:
        raise Invalid(exc.code, exc.message) from None


def deploy(
    session: Session, project: Project, version: int, labels: Mapping[str, str], deployed_by: str
) -> ModelDeployment:
    """Record that devices matching ``labels`` (all, when empty) should run ``version`` from now on;
    `NotFound` ``version_not_found`` for a version that is not registered."""
    get_model_version(session, project, version)
    row = ModelDeployment(
        project_id=project.id, version=version, labels=check_labels(labels), deployed_by=deployed_by[:200]
    )
    session.add(row)
    session.flush()
    return row


def list_deployments(session: Session, project: Project) -> list[ModelDeployment]:
    """Every deployment of the project, newest first (the history)."""
    return list(
        session.scalars(
            select(ModelDeployment)
            .where(ModelDeployment.project_id == project.id)
            .order_by(ModelDeployment.id.desc())
        )
    )


def effective(deployments: list[ModelDeployment]) -> list[ModelDeployment]:
    """The deployments (newest first, as `list_deployments` gives them) that still reach some device:
    those whose devices are not all reached by a newer one."""
    live: list[ModelDeployment] = []
    for row in deployments:
        if not any(covers(newer.labels, row.labels) for newer in live):
            live.append(row)
    return live


def deployment_for(session: Session, project: Project, labels: Mapping[str, str]) -> Deployed:
    """The deployment a device with ``labels`` should follow: the newest whose selector it matches;
    `NotFound` ``no_deployment`` when none does."""
    device = check_labels(labels)
    for row in list_deployments(session, project):
        if matches(row.labels, device):
            return Deployed(row, get_model_version(session, project, row.version))
    shown = f" for a device with labels {', '.join(f'{k}={v}' for k, v in device.items())}" if device else ""
    raise NotFound(
        "no_deployment",
        f"project {project.slug!r} has no model deployed{shown}; deploy one with "
        f"`framescout models deploy WORKSPACE/{project.slug} VERSION`",
    )
