"""``framescout models``: register ONNX detectors as project versions for hosted inference."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from framescout.cli._output import console, fail
from framescout.cli.projects import split_ref
from framescout.cli.serve import DATA_DIR_HELP
from framescout.imaging import sha256_hex
from framescout.models import ModelError, OnnxDetector
from framescout.store import Store, StoreError, default_data_dir
from framescout.store.accounts import get_project, get_workspace, register_model

app = typer.Typer(help="Register models for hosted inference.", no_args_is_help=True)

FORMATS = ("auto", "nanodet", "yolov8", "yolov5", "yolox")


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
    """Copy the model into the data directory and serve it as WORKSPACE/PROJECT version VERSION."""
    if format_ not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}; got {format_!r}")
    names = read_class_names(classes)
    if not names:
        fail(f"{classes} lists no class names")
    fmt = None if format_ == "auto" else format_
    try:
        OnnxDetector(str(onnx), class_names=names, format=fmt)  # refuse a model that cannot be served
    except ModelError as exc:
        fail(f"{onnx} cannot be served: {exc}")
    workspace, project_slug = split_ref(ref)
    store = Store.open(data_dir or default_data_dir())
    try:
        data = onnx.read_bytes()
        digest = sha256_hex(data)
        target = store.models_dir / f"{digest}.onnx"
        if not target.exists():
            tmp = target.with_suffix(".part")
            shutil.copyfile(onnx, tmp)
            tmp.replace(target)
        with store.db.writing() as session:
            project = get_project(session, get_workspace(session, workspace), project_slug)
            register_model(session, project, version, digest, fmt, names)
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(
        f"registered {workspace}/{project_slug} version {version}: {onnx.name}, {len(names)} classes"
    )
