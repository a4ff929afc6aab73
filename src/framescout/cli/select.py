"""``framescout select``: pick a labelling batch from a folder, or from a server project's
unlabelled images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.cli._output import console, fail
from framescout.cli._select_output import print_table, write_report, write_sheet
from framescout.cli._select_sources import image_items, scan_on_ray, scoring_config
from framescout.export import safe_name
from framescout.predictions.box import Box, predictions_from_boxes
from framescout.selection import STRATEGIES, SelectionError
from framescout.selection.aggregation import class_weights_from_json
from framescout.selection.folder import PoolItem, ScannedPool, duplicate_groups
from framescout.selection.pipeline import (
    CONFIDENCE,
    NEAR_DUPLICATE_BITS,
    default_strategy,
    make_embedder,
    pick,
    scan_pool,
)
from framescout.selection.scoring import check_views, load_detector
from framescout.selection.stability import VIEWS


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, transient=True)


def _detector(model: Path, model_format: str | None, classes: Path | None) -> Any:
    try:
        return load_detector(model, model_format, classes)
    except (OSError, ValueError) as exc:
        fail(str(exc))


def _project_items(client: Any, project: str) -> list[PoolItem]:
    """The project's unlabelled images, with their stored predictions (pre-labels) when they have any."""
    items = []
    for image in client.iter_images(project, labelled=False):

        def read(image_id: str = image["id"]) -> bytes:
            data: bytes = client.download_image(project, image_id)
            return data

        rows = client.list_annotations(project, image["id"], kind="prediction")
        predictions = predictions_from_boxes(Box.from_row(row) for row in rows)
        items.append(PoolItem(image["name"] or image["id"], read, id=image["id"], predictions=predictions))
    return items


def select_command(
    images: str | None = typer.Option(
        None,
        "--images",
        help="Folder of unlabelled images (recursive), or s3://bucket/prefix (boto3's AWS_* variables).",
    ),
    project: str | None = typer.Option(
        None, "--project", help="WORKSPACE/PROJECT on --server: pick among its unlabelled images."
    ),
    budget: int | None = typer.Option(
        None, "--budget", "-n", min=1, help="How many images to pick (with --budget-boxes: at most)."
    ),
    budget_boxes: int | None = typer.Option(
        None,
        "--budget-boxes",
        min=1,
        help="Pick until the expected boxes to label (predicted boxes scoring >= 0.35) reach N.",
    ),
    strategy: str | None = typer.Option(
        None,
        help=f"One of: {', '.join(STRATEGIES)}. Default: {default_strategy(True)} with a model, "
        f"else {default_strategy(False)}.",
    ),
    class_weights: Path | None = typer.Option(
        None,
        "--class-weights",
        help="Weigh classes by the labelled set: `framescout evaluate --json` output (support, AP50) "
        "or COCO annotations (counts). Default with --project: the project's own evaluation.",
    ),
    model: Path | None = typer.Option(None, help="ONNX detector whose uncertainty ranks the pool."),
    model_format: str | None = typer.Option(
        None, "--format", help="Detector layout, when not auto-detected."
    ),
    classes: Path | None = typer.Option(None, help="Class names file for the detector."),
    embedder: Path | None = typer.Option(
        None, help="ONNX image encoder for diversity (default: a colour/texture descriptor)."
    ),
    views: str = typer.Option(
        "",
        "--views",
        help=f"Comma-separated views ({', '.join(VIEWS)}) the model also predicts on, to score how "
        "stable its boxes are (each view is one more inference per image; needs --model).",
    ),
    near_duplicate_bits: int = typer.Option(
        NEAR_DUPLICATE_BITS,
        min=0,
        max=64,
        help="Perceptual-hash distance (of 64 bits) counted as a duplicate.",
    ),
    seed: int = typer.Option(0, help="Random seed (ties, random strategy, first k-center pick)."),
    out: Path | None = typer.Option(None, help="Write the pick as JSON."),
    copy_to: Path | None = typer.Option(None, help="Copy the picked images into this folder."),
    upload: str | None = typer.Option(
        None, help="Upload the pick to WORKSPACE/PROJECT on --server as a batch."
    ),
    server: str | None = typer.Option(
        None, envvar="FRAMESCOUT_SERVER", help="Server URL (--project, --upload)."
    ),
    api_key: str | None = typer.Option(
        None, envvar="FRAMESCOUT_API_KEY", help="API key (--project, --upload)."
    ),
    batch: str | None = typer.Option(None, help="Batch name for --upload (default: select-<strategy>)."),
    report: Path | None = typer.Option(
        None, "--report", help="Write a contact sheet of the pick (self-contained HTML) to this file."
    ),
    show: int = typer.Option(
        10, "--show", min=0, help="Rows of the why-picked table printed on stderr (0: none)."
    ),
    ray: str | None = typer.Option(
        None, "--ray", help="Score on a Ray cluster: auto (this machine's, else a new one) or HOST:PORT."
    ),
    ray_workers: int | None = typer.Option(
        None, "--ray-workers", min=1, help="Ray actors scoring at once (default: one per CPU of the cluster)."
    ),
) -> None:
    """Rank images by uncertainty and diversity, drop duplicates, and output the best BUDGET."""
    if (images is None) == (project is None):
        fail("give exactly one of --images FOLDER or --project WORKSPACE/PROJECT")
    if budget is None and budget_boxes is None:
        fail("give --budget N (images) or --budget-boxes N (expected boxes to label)")
    strategy = strategy or default_strategy(bool(model or project))
    if strategy not in STRATEGIES:
        fail(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if STRATEGIES[strategy].needs_model and model is None and project is None:
        fail(f"--strategy {strategy} ranks by model uncertainty: give --model (or use kcenter / random)")
    if budget_boxes is not None and model is None and project is None:
        fail("--budget-boxes counts predicted boxes: give --model (or --project with predictions)")
    weights = _read_class_weights(class_weights) if class_weights else None
    if class_weights is not None and model is None and project is None:
        fail("--class-weights weighs predicted boxes: give --model (or --project with predictions)")
    if report is not None and report.is_dir():
        fail(f"--report {report} is a folder; give the HTML file to write")
    if out is not None and out.is_dir():
        fail(f"--out {out} is a folder; give the JSON file to write")
    if copy_to is not None and copy_to.exists() and not copy_to.is_dir():
        fail(f"--copy-to {copy_to} is a file; give the folder to copy the picks into")
    if ray is not None and images is None:
        fail("--ray scores --images (a folder or s3://bucket/prefix), not --project")
    if ray_workers is not None and ray is None:
        fail("--ray-workers sets the actors of --ray: give --ray auto or --ray HOST:PORT")
    if (upload or project) and not (server and api_key):
        fail("--project and --upload need --server and --api-key (or FRAMESCOUT_SERVER / FRAMESCOUT_API_KEY)")
    client = None
    if server and api_key:
        from framescout.client import Client

        client = Client(server, api_key)
    try:
        if images is not None:
            items = image_items(images)
            where = images
        else:
            assert client is not None and project is not None
            items = _fetch(client, project)
            where = project
        if not items:
            fail(f"no images found in {where}")
        view_names = _views(views, model is not None)
        detector = _detector(model, model_format, classes) if model else None
        if weights is None and client is not None and project is not None:
            weights = _project_class_weights(client, project)
        with _progress() as progress:
            task = progress.add_task("reading images", total=len(items))
            try:
                if ray is not None:  # the same scoring on the cluster (the model was loaded here: checked)
                    make_embedder(strategy, embedder)  # a bad --embedder fails here, not in an actor
                    config = scoring_config(
                        model=model,
                        model_format=model_format,
                        classes=classes,
                        embedder=embedder,
                        want_embeddings=STRATEGIES[strategy].needs_embeddings,
                        views=view_names,
                        confidence=CONFIDENCE,
                    )
                    scanned = scan_on_ray(
                        ray,
                        items,
                        config,
                        workers=ray_workers,
                        near_duplicate_bits=near_duplicate_bits,
                        progress=lambda done: progress.update(task, completed=done),
                    )
                else:
                    scanned = scan_pool(
                        items,
                        strategy,
                        detector=detector,
                        embedder=embedder,
                        views=view_names,
                        near_duplicate_bits=near_duplicate_bits,
                        progress=lambda done: progress.update(task, completed=done),
                    )
            except ValueError as exc:  # a bad --embedder
                fail(str(exc))
        if not scanned.items:
            fail(f"none of the {len(items)} image(s) in {where} could be read")
        if weights and scanned.pool.predictions is not None:
            _warn_unused_weights(weights, scanned.pool.predictions)
        try:
            result = pick(
                scanned, strategy, budget=budget, budget_boxes=budget_boxes, seed=seed, class_weights=weights
            )
        except SelectionError as exc:
            fail(str(exc))
        scanned, picked, details = result.scanned, result.indices, result.details
        groups = duplicate_groups(scanned)
        budgets = (budget, budget_boxes)
        write_report(scanned, picked, details, groups, strategy, len(items), budgets, out, copy_to)
        if show:
            print_table(scanned, details, groups, strategy, show)
        if report:
            write_sheet(report, scanned, details, groups, strategy, len(items), where)
        if upload:
            assert client is not None
            _upload(client, scanned, picked, upload, batch or f"select-{strategy}")
    finally:
        if client is not None:
            client.close()


def _views(text: str, has_model: bool) -> tuple[str, ...]:
    """``--views flip,rescale`` as view names, checked (unknown names, no model: one-line errors)."""
    names = tuple(v.strip() for v in text.split(",") if v.strip() and v.strip() != "none")
    try:
        check_views(names, has_model=has_model)
    except ValueError as exc:
        fail(f"--views: {exc}")
    return names


def _fetch(client: Any, project: str) -> list[PoolItem]:
    from framescout.client import FramescoutError

    try:
        return _project_items(client, project)
    except FramescoutError as exc:
        fail(f"cannot list {project}: {exc}")


def _read_class_weights(path: Path) -> dict[str, float]:
    try:
        return class_weights_from_json(json.loads(path.read_text()))
    except OSError as exc:
        fail(f"--class-weights {path}: cannot read: {exc.strerror or exc}")
    except RecursionError:  # json.loads recurses once per level of nesting
        fail(f"--class-weights {path}: nested too deeply to be an evaluation or COCO annotations")
    except (ValueError, TypeError, AttributeError) as exc:
        fail(f"--class-weights {path}: {exc}")


def _warn_unused_weights(weights: dict[str, float], predictions: Any) -> None:
    """Class weights that name none of the predicted classes change nothing: say so rather than
    leave every box at weight 1 silently (a file from another model, or other class names)."""
    predicted = {name for p in predictions for name in p.class_name}
    if predicted and not predicted & set(weights):
        console.print(
            f"  [yellow]note[/] none of the {len(weights)} class(es) in --class-weights is among the "
            f"{len(predicted)} predicted; every box weighs 1"
        )


def _project_class_weights(client: Any, project: str) -> dict[str, float] | None:
    """Weights from the project's evaluation of its newest evaluable model version, if it has one."""
    from framescout.client import FramescoutError

    try:
        version = client.evaluation_versions(project).get("default")
        return class_weights_from_json(client.evaluation(project, version)) if version else None
    except (FramescoutError, ValueError):
        return None


def _upload(client: Any, scanned: ScannedPool, picked: Any, project: str, batch: str) -> None:
    from framescout.client import FramescoutError

    predictions = scanned.pool.predictions
    new = 0
    with _progress() as progress:
        task = progress.add_task("uploading", total=len(picked))
        for n, index in enumerate(picked, start=1):
            item = scanned.items[int(index)]
            try:
                result = client.upload_image(
                    project,
                    item.read(),
                    name=safe_name(item.name) or None,
                    batch=batch,
                    tags=["selected"],
                    predictions=None if predictions is None else predictions[int(index)],
                )
            except FramescoutError as exc:
                fail(f"upload of {item.name} failed: {exc}")
            new += not result.duplicate
            progress.update(task, completed=n)
    console.print(
        f"uploaded {new} new image(s) to {escape(project)} (batch {escape(batch)}); "
        f"{len(picked) - new} were already there"
    )
