"""What ``framescout select`` writes about a pick: the JSON report (``--out``), the why-picked table
on stderr, the contact sheet (``--report``), the copies (``--copy-to``) and the plain list on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from framescout.atomic import write_file_atomically
from framescout.cli._output import console, errors, fail
from framescout.export import safe_name
from framescout.selection.explain import PickDetail
from framescout.selection.folder import ScannedPool
from framescout.selection.pool import BOX_MEASURES
from framescout.selection.report import SheetEntry, write_contact_sheet


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


def print_table(
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


def write_sheet(
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


def write_report(
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
