"""Project list, per-project dashboard and the reports (feedback and bug reports) queue."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from framescout.server.deps import StoreDep
from framescout.server.errors import RequestInvalid
from framescout.server.web.charts import histogram_chart, kept_chart, yield_chart
from framescout.server.web.session import ProjectDep, SignedInDep, check_csrf
from framescout.server.web.templating import render, render_tab
from framescout.store.accounts import list_projects
from framescout.store.reports import STATUSES, list_reports, set_report_status
from framescout.store.rule_stats import SPLITS
from framescout.store.stats import project_stats
from framescout.store.summaries import project_counts

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def project_list(request: Request, who: SignedInDep, store: StoreDep) -> HTMLResponse:
    """The workspace's projects with their image counts, review queue and open bug reports."""
    with store.db.reading() as session:
        projects = list_projects(session, who.workspace)
        counts = project_counts(session, projects)
    rows = [{"project": p, **asdict(counts[p.id])} for p in projects]
    return render(request, "projects.html", who, rows=rows)


@router.get("/p/{project}", response_class=HTMLResponse)
def dashboard(
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    kept_by: Annotated[str, Query(max_length=20)] = "rule",
) -> HTMLResponse:
    """Kept frames over time per rule (or per device: ``?kept_by=device``), the confidence histogram,
    review progress, reports, model versions, rule yield."""
    if kept_by not in SPLITS:
        raise RequestInvalid("invalid_filter", f"kept_by must be one of {', '.join(SPLITS)}; got {kept_by!r}")
    with store.db.reading() as session:
        stats = project_stats(session, proj, kept_by=kept_by)
        bugs, _ = list_reports(session, proj, kind="bug", status="open", limit=5)
    return render_tab(
        request,
        who,
        proj,
        "dashboard",
        stats=stats,
        kept=kept_chart(stats.kept),
        histogram=histogram_chart(stats.histogram),
        rule_yield=yield_chart(stats.rule_yield),
        bugs=bugs,
    )


@router.get("/p/{project}/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    kind: str | None = None,
    status: str | None = "open",
) -> HTMLResponse:
    """Feedback and bug reports from the team's apps, newest first."""
    kind = kind if kind in ("bug", "feedback") else None
    status = status if status in STATUSES else None
    with store.db.reading() as session:
        rows, total = list_reports(session, proj, kind=kind, status=status, limit=200)
    return render_tab(
        request,
        who,
        proj,
        "reports",
        reports=rows,
        total=total,
        kind=kind,
        status=status,
    )


@router.post("/p/{project}/reports/{report_id}/status")
def change_report_status(
    report_id: str,
    status: Annotated[str, Form(max_length=20)],
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Resolve (or reopen) a report."""
    check_csrf(who, csrf)
    with store.db.writing() as session:
        set_report_status(session, proj, report_id, status)
    return RedirectResponse(f"/ui/p/{proj.slug}/reports", status_code=303)
