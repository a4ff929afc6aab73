"""The Devices page: every collector that sends the project heartbeats, flagged ones first.

Reads the devices list and the last hour of heartbeat history from the store
(`framescout.store.devices`, the same functions as ``GET …/devices``); the rows and their flags are
built by pure functions (`device_rows`, `device_flags`)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from framescout.server.deps import StoreDep
from framescout.server.web.device_flags import age_text
from framescout.server.web.device_rows import SPARK_POINTS, device_rows, state_counts
from framescout.server.web.session import ProjectDep, SignedInDep
from framescout.server.web.templating import render_tab
from framescout.store.devices import ONLINE_SECONDS, STALE_SECONDS, fleet_history, list_devices
from framescout.store.models import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)

HISTORY = timedelta(hours=1)
"""How much heartbeat history the page reads: the flags' recent ten minutes and what came before."""


@router.get("/p/{project}/devices", response_class=HTMLResponse)
def devices(request: Request, who: SignedInDep, proj: ProjectDep, store: StoreDep) -> HTMLResponse:
    """One row per device: state, last seen, versions, kept per rule, spool, drops; flagged ones first."""
    now = utcnow()
    listed = list_devices(store.db, proj, now=now)
    history = fleet_history(store.db, proj, since=now - HISTORY)
    rows = device_rows(listed, history, now)
    return render_tab(
        request,
        who,
        proj,
        "devices",
        rows=rows,
        counts=state_counts(rows),
        stale_after=age_text(ONLINE_SECONDS),
        offline_after=age_text(STALE_SECONDS),
        spark_points=SPARK_POINTS,
    )
