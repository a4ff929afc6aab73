"""``framescout models``: register ONNX detectors as project versions (hosted inference), and deploy a
version to the project's devices (``deploy``, ``deployments``)."""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path

import typer
from rich.table import Table

from framescout.cli._output import console, fail
from framescout.cli._store import open_store
from framescout.cli.projects import split_ref
from framescout.cli.serve import DATA_DIR_HELP
from framescout.imaging import sha256_hex
from framescout.labels import LabelError, describe, parse_labels
from framescout.models import FORMATS as LAYOUTS
from framescout.models import ModelError, verify_model
from framescout.store import StoreError
from framescout.store.accounts import get_project, get_workspace, register_model
from framescout.store.deployments import deploy, effective, list_deployments
from framescout.store.models import ModelDeployment

app = typer.Typer(
    help="Register models for hosted inference and deploy them to devices.", no_args_is_help=True
)

FORMATS = ("auto", *LAYOUTS)


def read_class_names(path: Path) -> list[str]:
    """One class name per line (blank lines ignored), e.g. ``coco.names``."""
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@app.command("add")
def add(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    version: int = typer.Argument(..., min=1, help="Version number (what `project.version(N)` asks for)."),
    onnx: Path = typer.Option(..., "--onnx", exists=True, dir_okay=False, help="The ONNX model file."),
    format_: str = typer.Option("auto", "--format", help=f"Output layout: {', '.join(FORMATS)}."),
    classes: Path = typer.Option(..., "--classes", exists=True, dir_okay=False, help="Class names file."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Check the model, copy it into the data directory and serve it as WORKSPACE/PROJECT version VERSION.

    The model is run once on a blank image first: a file that is not a working detector of the
    layout, or whose class count differs from the names file, is refused (exit 1) and not stored."""
    if format_ not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}; got {format_!r}")
    names = read_class_names(classes)
    if not names:
        fail(f"{classes} lists no class names")
    fmt = None if format_ == "auto" else format_
    workspace, project_slug = split_ref(ref)
    try:
        detector, check = verify_model(onnx, class_names=names, format=fmt)
    except ModelError as exc:
        fail(f"refused, the model cannot be served: {exc}")
    if fmt is None:
        fmt = detector.format  # store what was recognised, so the server does not guess again
    store = open_store(data_dir)
    try:
        with store.db.reading() as session:  # refuse an unknown project before copying anything
            get_project(session, get_workspace(session, workspace), project_slug)
        data = onnx.read_bytes()
        digest = sha256_hex(data)
        target = store.models_dir / f"{digest}.onnx"
        if not target.exists():
            tmp = target.with_suffix(".part")
            shutil.copyfile(onnx, tmp)
            tmp.replace(target)
        if store.shared_blobs:  # other hosts fetch the file from the shared blob store on first use
            store.blobs.put(data)
        with store.db.writing() as session:
            project = get_project(session, get_workspace(session, workspace), project_slug)
            register_model(session, project, version, digest, fmt, names)
    except StoreError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot copy {onnx} into {store.models_dir}: {exc.strerror or exc}")
    finally:
        store.close()
    console.print(f"checked: {check.summary()}")
    console.print(
        f"registered {workspace}/{project_slug} version {version}: {onnx.name}, {len(names)} classes"
    )


def _who() -> str:
    """Who deploys: the OS user (recorded with the deployment, shown in the history)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid {os.getuid()}"


def _deployed_line(row: ModelDeployment) -> str:
    when = row.created_at.isoformat(sep=" ", timespec="seconds")
    return f"version {row.version} to {describe(row.labels)} (by {row.deployed_by or '?'}, {when} UTC)"


@app.command("deploy")
def deploy_command(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    version: int = typer.Argument(..., min=1, help="A version registered with `framescout models add`."),
    labels: list[str] = typer.Option(
        [], "--labels", help="Only devices with this label (key=value; repeat for several)."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Make VERSION the model that the project's devices (those with --labels, or all) run.

    Collectors started with `--model server` switch within their --model-interval. The newest
    deployment a device matches wins; rolling back is deploying the previous version again."""
    try:
        selector = parse_labels(labels)
    except LabelError as exc:
        fail(f"--labels: {exc.message}")
    workspace, project_slug = split_ref(ref)
    store = open_store(data_dir)
    try:
        with store.db.writing() as session:
            project = get_project(session, get_workspace(session, workspace), project_slug)
            deploy(session, project, version, selector, _who())
            live = effective(list_deployments(session, project))
            lines = [_deployed_line(row) for row in live]
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(f"deployed {workspace}/{project_slug} version {version} to {describe(selector)}")
    console.print("now deployed:")
    for line in lines:
        console.print(f"  {line}")


@app.command("deployments")
def deployments_command(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Every deployment of the project, newest first; ``live`` marks those some device still follows."""
    workspace, project_slug = split_ref(ref)
    store = open_store(data_dir)
    try:
        with store.db.reading() as session:
            rows = list_deployments(
                session, get_project(session, get_workspace(session, workspace), project_slug)
            )
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    if not rows:
        console.print(f"nothing deployed to {workspace}/{project_slug} yet (framescout models deploy)")
        return
    live = {row.id for row in effective(rows)}
    table = Table("#", "version", "devices", "by", "deployed (UTC)", "")
    for row in rows:
        when = row.created_at.isoformat(sep=" ", timespec="seconds")
        table.add_row(
            str(row.id), str(row.version), describe(row.labels), row.deployed_by, when,
            "live" if row.id in live else "",
        )  # fmt: skip
    console.print(table)
