"""Devices of a project: collectors post a heartbeat every 30 s; people and the review UI list them.

The heartbeat is authorised like an upload (a key of the project's workspace: the key a collector
already holds); the store (`framescout.store.devices`) upserts the device in one transaction, with
the server's time as ``last_seen``. Device ids are checked by `framescout.device_names` and labels by
`framescout.labels`, the same checks ``framescout collect`` runs before its first frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response

from framescout.device_names import DeviceNameError, check_device_id
from framescout.labels import MAX_LABELS, LabelError, check_labels, parse_labels
from framescout.server.deps import PathProject, StoreDep
from framescout.server.device_schemas import DeviceDetail, DeviceOut, HeartbeatIn
from framescout.store.devices import device_history, get_device, list_devices, record_heartbeat
from framescout.store.errors import Invalid

router = APIRouter(prefix="/api/v1/projects/{workspace}/{project}/devices", tags=["devices"])
T = TypeVar("T")


def _checked(check: Callable[[], T]) -> T:
    """``check()``, a refused id or label answering 422 with its code (``invalid_device_id``,
    ``invalid_label``, ``too_many_labels``)."""
    try:
        return check()
    except (DeviceNameError, LabelError) as exc:
        raise Invalid(exc.code, exc.message) from None


@router.post("/{device_id}/heartbeat", status_code=204, response_class=Response)
def heartbeat(device_id: str, body: HeartbeatIn, project: PathProject, store: StoreDep) -> Response:
    """Record a collector's heartbeat: its labels, versions, counters and spool backlog (204)."""
    device_id = _checked(lambda: check_device_id(device_id))
    labels = _checked(lambda: check_labels(body.labels))
    record_heartbeat(store.db, project, device_id, body.heartbeat(labels))
    return Response(status_code=204)


@router.get("", response_model=list[DeviceOut])
def list_(
    project: PathProject,
    store: StoreDep,
    label: Annotated[
        list[str] | None,
        Query(
            description="`key=value`: only devices with this label (repeat for several).",
            max_length=2 * MAX_LABELS,  # a bound on the request; past MAX_LABELS: too_many_labels
        ),
    ] = None,
) -> list[DeviceOut]:
    """Every device that sent this project a heartbeat, by ``device_id``, with its state now."""
    wanted = _checked(lambda: parse_labels(label or []))
    return [DeviceOut.of(device) for device in list_devices(store.db, project, labels=wanted)]


@router.get("/{device_id}", response_model=DeviceDetail)
def detail(device_id: str, project: PathProject, store: StoreDep) -> DeviceDetail:
    """One device (404 ``device_not_found``) with its history: a point a minute, oldest first."""
    device = get_device(store.db, project, device_id)
    history = device_history(store.db, project, device_id)
    return DeviceDetail(**DeviceOut.of(device).model_dump(), history=history)
