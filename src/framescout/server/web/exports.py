"""Export from the browser: download a project (or a frozen dataset version) as a zip in any format,
and freeze new dataset versions."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from framescout.export import FORMATS, export
from framescout.export.dataset import ExportDataset
from framescout.export.from_store import dataset_from_project
from framescout.export.versions import create_version, list_versions, load_version
from framescout.server.deps import StoreDep
from framescout.server.errors import RequestInvalid
from framescout.server.web.session import ProjectDep, SignedInDep, check_csrf
from framescout.server.web.templating import render_tab
from framescout.store import Store
from framescout.store.errors import NotFound

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/p/{project}/export", response_class=HTMLResponse)
def export_page(request: Request, who: SignedInDep, proj: ProjectDep, store: StoreDep) -> HTMLResponse:
    """Formats, dataset versions, and how many images are ready to export."""
    versions = list_versions(store, who.workspace.slug, proj.slug)
    ready = dataset_from_project(store, who.workspace.slug, proj.slug)
    return render_tab(
        request,
        who,
        proj,
        "export",
        versions=versions,
        formats=list(FORMATS),
        ready_images=len(ready.images),
        ready_boxes=sum(len(i.boxes) for i in ready.images),
    )


@router.post("/p/{project}/export")
def download(
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    fmt: Annotated[str, Form(alias="format", max_length=20)],
    version: Annotated[str, Form(max_length=100)] = "",
    include_unlabelled: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> FileResponse:
    """The export as a zip (the same files as ``framescout export`` writes)."""
    check_csrf(who, csrf)
    if fmt not in FORMATS:
        raise RequestInvalid("invalid_format", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    dataset = _dataset(
        store, who.workspace.slug, proj.slug, version, include_unlabelled or fmt == "labelstudio"
    )
    if not dataset.images:
        raise NotFound("nothing_to_export", f"{proj.slug} has no reviewed or labelled images to export yet")
    work = Path(tempfile.mkdtemp(prefix="framescout-export-"))
    try:
        folder = export(dataset, work / "dataset", fmt)
        archive = work / "export.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(folder).as_posix())
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    name = f"{who.workspace.slug}-{proj.slug}{'-' + version if version else ''}-{fmt}.zip"
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=name,
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )


def _dataset(store: Store, workspace: str, project: str, version: str, unlabelled: bool) -> ExportDataset:
    if version:
        return load_version(store, workspace, project, version)
    return dataset_from_project(store, workspace, project, include_unlabelled=unlabelled)


@router.post("/p/{project}/versions")
def freeze(
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    name: Annotated[str, Form(max_length=100)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Freeze the project's labelled images, boxes and splits as a named dataset version."""
    check_csrf(who, csrf)
    create_version(store, who.workspace.slug, proj.slug, name)
    return RedirectResponse(f"/ui/p/{proj.slug}/export", status_code=303)
