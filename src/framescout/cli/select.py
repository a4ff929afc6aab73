"""``framescout select``: pick a labelling batch from a folder, or from a server project's
unlabelled images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.atomic import write_file_atomically
from framescout.cli._output import console, errors, fail
from framescout.cli._select_sources import image_items, scan_on_ray, scoring_config
from framescout.export import safe_name
from framescout.predictions.box import Box, predictions_from_boxes
from framescout.selection import STRATEGIES, SelectionError
from framescout.selection.aggregation import class_weights_from_json
from framescout.selection.explain import PickDetail
from framescout.selection.folder import PoolItem, ScannedPool, duplicate_groups
from framescout.selection.pipeline import (
    CONFIDENCE,
    NEAR_DUPLICATE_BITS,
    default_strategy,
    load_detector,
    make_embedder,
    pick,
    scan_pool,
)
from framescout.selection.pool import BOX_MEASURES
from framescout.selection.report import SheetEntry, write_contact_sheet
from framescout.selection.scoring import check_views
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
        _report(scanned, picked, details, groups, strategy, len(items), (budget, budget_boxes), out, copy_to)
        if show:
            _table(scanned, details, groups, strategy, show)
        if report:
            _contact_sheet(report, scanned, details, groups, strategy, len(items), where)
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


def _why(detail: PickDetail, group: list[str]) -> dict[str, Any]:
    """The JSON explanation of one pick."""
    return {
        "why": detail.reason,
        "uncertainty": {k: round(v, 6) for k, v in detail.uncertainty.items()},
        "ranked_by": detail.measure,
        "uncertainty_rank": detail.uncertainty_rank,
        "distance_at_pick": None if detail.distance_at_pick is None else round(detail.distance_at_pick, 6),
        "distance_to_labelled": (
            None if detail.distance_to_labelled is None else round(detail.distance_to_labelled, 6)
        ),
        "boxes": detail.boxes,
        "classes": detail.classes,
        "score_components": {k: round(v, 6) for k, v in detail.components.items()},
        "doubtful_boxes": [
            {"class": name, "confidence": round(conf, 4), "chance_of_error": round(chance, 4)}
            for name, conf, chance in detail.doubtful
        ],
        "duplicate_group": {"size": 1 + len(group), "members": group[:50]},
    }


def _table(
    scanned: ScannedPool, details: list[PickDetail], groups: dict[str, list[str]], strategy: str, rows: int
) -> None:
    """The first ``rows`` picks and why, on stderr (stdout stays a clean list of picks)."""
    from rich.table import Table

    table = Table(title=f"why picked ({strategy}; first {min(rows, len(details))} of {len(details)})")
    table.add_column("#", justify="right")
    table.add_column("image", overflow="fold", max_width=48)
    measure = details[0].measure if details else None
    if measure:
        table.add_column("score" if measure in BOX_MEASURES else measure, justify="right")
        table.add_column("rank", justify="right")
    distances = any(d.distance_at_pick is not None for d in details)
    if distances:
        table.add_column("distance", justify="right")
    parts = bool(details and details[0].components)
    if parts:
        for column in ("errors", "FP", "misses", "objects", "boxes"):
            table.add_column(column, justify="right")
    table.add_column("dups", justify="right")
    for d in details[:rows]:
        name = scanned.items[d.index].name
        cells = [str(d.rank), escape(name)]
        if measure:
            cells += [f"{d.uncertainty[measure]:.4f}", f"#{d.uncertainty_rank}"]
        if distances:
            cells.append("-" if d.distance_at_pick is None else f"{d.distance_at_pick:.3f}")
        if parts:
            c = d.components
            cells += [
                f"{c[k]:.1f}" for k in ("expected_errors", "expected_false_positives", "expected_misses")
            ]
            cells += [f"{c['expected_objects']:.1f}", str(int(c["reported_boxes"]))]
        cells.append(str(1 + len(groups.get(name, []))))
        table.add_row(*cells)
    errors.print(table)


def _contact_sheet(
    path: Path,
    scanned: ScannedPool,
    details: list[PickDetail],
    groups: dict[str, list[str]],
    strategy: str,
    total: int,
    where: str,
) -> None:
    predictions = scanned.pool.predictions
    entries = [
        SheetEntry(
            name=scanned.items[d.index].name,
            read=scanned.items[d.index].read,
            detail=d,
            predictions=None if predictions is None else predictions[d.index],
            duplicates=groups.get(scanned.items[d.index].name, []),
        )
        for d in details
    ]
    summary = (
        f"{len(details)} picked by {strategy} from {len(scanned.items)} candidate(s) "
        f"({total} image(s) in {where}; {len(scanned.duplicates)} duplicate(s) dropped)."
    )
    try:
        cards = write_contact_sheet(path, entries, title=f"framescout select: {where}", summary=summary)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    console.print(f"contact sheet of {cards} pick(s): {escape(str(path))}")


def _report(
    scanned: ScannedPool,
    picked: Any,
    details: list[PickDetail],
    groups: dict[str, list[str]],
    strategy: str,
    total: int,
    budgets: tuple[int | None, int | None],
    out: Path | None,
    copy_to: Path | None,
) -> None:
    chosen = [scanned.items[int(i)] for i in picked]
    console.print(
        f"{total} image(s): {len(scanned.skipped)} unreadable, {len(scanned.duplicates)} duplicate(s), "
        f"{len(scanned.items)} in the pool; picked {len(chosen)} by {strategy}"
        + (
            f" ({sum(int(d.components.get('reported_boxes', 0)) for d in details)} expected boxes)"
            if budgets[1]
            else ""
        )
    )
    for name, reason in list(scanned.skipped.items())[:10]:
        console.print(f"  [yellow]skipped[/] {escape(name)}: {escape(reason)}")
    if out:
        rows = [
            {"rank": r + 1, "path": item.name, "id": item.id, **_why(detail, groups.get(item.name, []))}
            for r, (item, detail) in enumerate(zip(chosen, details, strict=True))
        ]
        report = {
            "strategy": strategy,
            "budget": budgets[0],
            "budget_boxes": budgets[1],
            "picked": rows,
            "skipped": scanned.skipped,
            "duplicates": scanned.duplicates,
        }
        try:  # like --report: its folder is made, and the file is whole or absent
            out.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(report, indent=2).encode()
            write_file_atomically(out, data, prefix=f".{out.name}.", shared=True)
        except OSError as exc:
            fail(f"cannot write --out {out}: {exc.strerror or exc}")
    if copy_to:
        try:
            copy_to.mkdir(parents=True, exist_ok=True)
            for rank, item in enumerate(chosen, start=1):
                (copy_to / f"{rank:05d}_{safe_name(item.name) or item.id}").write_bytes(item.read())
        except OSError as exc:
            fail(f"cannot copy the picks to --copy-to {copy_to}: {exc.strerror or exc}")
    if budgets[1] and not budgets[0]:
        found = sum(int(d.components.get("reported_boxes", 0)) for d in details)
        if found < budgets[1]:
            console.print(
                f"  [yellow]note[/] the whole pool holds {found} expected box(es), fewer than "
                f"--budget-boxes {budgets[1]}: every image was picked"
            )
    if not (out or copy_to):
        for item in chosen:
            name = _one_line(item.name)
            typer.echo(name if item.id is None else f"{item.id}\t{name}")


def _one_line(name: str) -> str:
    """A name with its control characters (newline, tab, ...) written as ``\\xNN``: the list of picks
    on stdout is one pick per line, so a file named ``a\\n/etc/passwd`` cannot add a line to a pipe."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in name)


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
