"""``framescout collect``: run a detector over a source and keep the frames worth labelling."""

from __future__ import annotations

import math
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from framescout.cli._delivery import EXIT_DELIVERED, preflight, preflight_destinations, report
from framescout.cli._follow import follow_rules, rules_summary
from framescout.cli._model_source import SERVER, model_summary, open_model
from framescout.cli._output import console, fail
from framescout.collector import Collector, FolderTransport, Source
from framescout.collector.heartbeat import HEARTBEAT_SECONDS
from framescout.collector.model_sync import DEFAULT_INTERVAL
from framescout.device_names import DeviceNameError, check_device_id
from framescout.labels import LabelError, parse_labels
from framescout.models import FORMATS
from framescout.sampling import load_config
from framescout.sampling.config import SamplingConfig
from framescout.sampling.routing import rules_by_destination
from framescout.sampling.rule_configs import QuotaConfig
from framescout.sampling.storage_uri import redact, require_client


def _view(collector: Collector, source: Source, started: float) -> Table:
    status = collector.status()
    elapsed = max(time.monotonic() - started, 1e-6)
    table = Table(title="framescout collect", show_header=True, expand=False)
    columns = {"kept": "kept", "queued": "queued", "uploaded": "uploaded", "dup": "duplicates"}
    columns |= {"retried": "retried", "quarantined": "quarantined"}
    table.add_column("rule")
    for column in (*columns, "dropped"):
        table.add_column(column, justify="right")
    for name, counts in status["rules"].items():
        dropped = sum(counts["dropped"].values())
        table.add_row(escape(name), *(str(counts[key]) for key in columns.values()), str(dropped))
    uploader = status["uploader"] or {"state": "offline", "last_error": None, "paused_reason": None}
    spool = status["spool"]
    paused = uploader.get("paused_reason")
    detail = f"{paused['status']} {paused['code']}: {paused['message']}" if paused else uploader["last_error"]
    table.caption = escape(
        f"{source.stats.yielded} frames, {source.stats.yielded / elapsed:.1f}/s | "
        f"spool {spool['entries']} ({spool['bytes'] / 1e6:.1f} MB)"
        + (f", quarantine {spool['quarantined']}" if spool.get("quarantined") else "")
        + (f" | rules {status['rules_etag'][:12]}" if status.get("rules_etag") else "")
        + f" | upload: {uploader['state']}"
        + (f", held: {', '.join(uploader['held'])}" if uploader.get("held") else "")
        + (f" ({detail[:80]})" if detail else "")
    )
    return table


def parse_start_time(text: str) -> float:
    """``--start-time``: ISO 8601 (with ``Z`` or an offset; without one, this machine's local time) or
    Unix seconds."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            fail(
                f"--start-time: expected an ISO 8601 time such as 2026-03-01T08:00:00Z, or Unix seconds; "
                f"got {text!r}"
            )
        return (moment if moment.tzinfo else moment.astimezone()).timestamp()
    if not math.isfinite(seconds):
        fail(f"--start-time: expected a finite number of seconds; got {text!r}")
    return seconds


def clock_note(source: Source, config: SamplingConfig | None) -> str | None:
    """One line on the time the rules count: the video's own, from when, and why that start."""
    if source.kind == "folder":
        return "clock: the wall clock (an image folder has no time of its own); quotas and limits count it"
    if source.start is None:
        if source.kind == "video":
            return "clock: the wall clock (the video does not say its frame rate)"
        return None
    start = datetime.fromtimestamp(source.start.at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    note = (
        f"clock: the video's own time, from {start} ({source.start.origin}; set it with --start-time); "
        "quotas, limits and observed_at follow it"
    )
    shared = config.shared_storages() if config is not None else []
    if shared:
        note += f". The limits in {', '.join(map(redact, shared))} are shared and count wall time"
    return note


def quota_notes(source: Source, config: SamplingConfig | None) -> list[str]:
    """Quotas whose window is longer than the recording keep few or no frames of it: say so, rather
    than let an empty result look like a broken rule."""
    length = source.duration if source.clock == "video" else None
    if not length or config is None:
        return []
    notes = []
    for rule in config.rules:
        if isinstance(rule, QuotaConfig) and rule.every > length:
            name = rule.name or rule.type
            notes.append(
                f"note: quota {name} ({rule.count} every {rule.every:g} s) spans more than this "
                f"{length:.0f} s recording: expect about {rule.count * length / rule.every:.1f} of its "
                f"frames (as a live camera would in {length:.0f} s); a shorter 'every' shows it on this clip"
            )
    return notes


def summary(seen: int, status: dict[str, Any], *, where: str, earlier: int, interrupted: bool) -> str:
    """The closing count: seen, kept, and where every kept frame went, so the numbers add up."""
    per_rule = list(status["rules"].values())
    kept = sum(r["kept"] for r in per_rule)
    dropped = sum(sum(r["dropped"].values()) for r in per_rule)
    line = f"{'interrupted: ' if interrupted else ''}{seen} frame(s) seen, {kept} kept, {where}"
    line += f"; {status['spool']['entries']} waiting in the spool"
    if dropped:
        line += f"; {dropped} dropped"
    if earlier:
        line += f" (the spool held {earlier} frame(s) from an earlier run, counted here too)"
    return line


def device_options(device_id: str | None, labels: list[str]) -> dict[str, Any]:
    """``--device-id`` (default: the hostname) and ``--labels`` checked as the server checks them."""
    try:
        parsed = parse_labels(labels)
    except LabelError as exc:
        fail(f"--labels: {exc.message}")
    name = device_id or socket.gethostname()
    try:
        check_device_id(name)
    except DeviceNameError as exc:
        hint = "" if device_id else " (the hostname; give --device-id)"
        fail(f"--device-id: {exc.message}{hint}")
    return {"device_id": name, "labels": parsed}


def collect(
    source: str = typer.Option(
        ..., help="Image folder, video file, camera index (0) or rtsp:// / http:// URL."
    ),
    model: str = typer.Option(
        ..., help="ONNX detector, or 'server': the model deployed to this device (docs/fleet.md)."
    ),
    model_interval: float = typer.Option(
        DEFAULT_INTERVAL, min=0.1, help="With --model server: seconds between deployment checks."
    ),
    model_cache: Path = typer.Option(
        Path("framescout-models"), help="With --model server: where downloaded models are kept."
    ),
    model_format: str | None = typer.Option(
        None, "--format", help=f"One of {', '.join(FORMATS)}; auto-detected."
    ),
    classes: Path | None = typer.Option(None, help="Class names file (default: the model's metadata)."),
    rules: Path | None = typer.Option(
        None,
        help="Sampling rules (YAML/JSON); default: the project's rules on --server (followed live), "
        "else the built-in stack.",
    ),
    rules_interval: float = typer.Option(
        30.0, min=0.1, help="With --server and no --rules: check the server's rules every this many seconds."
    ),
    evaluation_interval: float = typer.Option(
        300.0,
        min=1.0,
        help="With --server: refresh the running version's evaluation (from: evaluation rules).",
    ),
    server: str | None = typer.Option(None, envvar="FRAMESCOUT_SERVER", help="Server URL; none = offline."),
    api_key: str | None = typer.Option(None, envvar="FRAMESCOUT_API_KEY", help="API key for --server."),
    project: str | None = typer.Option(None, help="WORKSPACE/PROJECT to upload to."),
    spool: Path = typer.Option(Path("framescout-spool"), help="Spool folder (kept frames wait here)."),
    spool_cap_mb: float = typer.Option(
        1024.0,
        min=1.0,
        help="Spool size cap in MB; beyond it frames are evicted by priority (docs/collector.md).",
    ),
    max_side: int = typer.Option(
        1280, min=0, help="Resize kept frames so their longer side is at most this (0 = keep full size)."
    ),
    jpeg_quality: int = typer.Option(90, min=1, max=100, help="JPEG quality of kept frames."),
    device_id: str | None = typer.Option(None, help="This device's name on the server (default: hostname)."),
    labels: list[str] = typer.Option(
        [], "--labels", help="A label of this device, key=value (repeat for several): site=north."
    ),
    heartbeat_interval: float = typer.Option(
        HEARTBEAT_SECONDS, min=0.0, help="Seconds between heartbeats to --server (0 = none)."
    ),
    batch: str | None = typer.Option(
        None, help="Labelling batch of kept frames whose rule names no batch of its own (docs/fleet.md)."
    ),
    every: int = typer.Option(1, min=1, help="Use one frame in N."),
    fps: float | None = typer.Option(
        None, min=0.01, help="At most this many frames per second (of video time, for a video file)."
    ),
    start_time: str | None = typer.Option(
        None,
        help="When a video file's recording started (ISO 8601, e.g. 2026-03-01T08:00:00Z, or Unix "
        "seconds); default: its MP4 creation time, else its modification time minus its duration.",
    ),
    confidence: float = typer.Option(0.25, min=0.0, max=1.0, help="Detector score threshold."),
    model_version: str | None = typer.Option(None, help="Deployed model version (threshold schedules)."),
    max_frames: int | None = typer.Option(None, min=1, help="Stop after this many frames."),
    dry_run: Path | None = typer.Option(
        None, help="Write kept frames and JSON sidecars here instead of uploading."
    ),
    upload_timeout: float = typer.Option(
        30.0, min=0.1, help="Seconds one upload attempt may take before it is retried."
    ),
    drain_timeout: float = typer.Option(
        30.0, min=0.0, help="At the end, keep delivering spooled frames for up to this many seconds."
    ),
) -> None:
    """Detect, decide, keep: frames worth labelling go to the server (or the spool, or a folder).

    With --server, the key and the project are checked before the first frame is read; a server
    that cannot be reached is not an error (frames spool and upload when it answers).

    Exit codes: 0 every kept frame delivered (or spooled, without --server); 1 error (arguments,
    wrong key or project); 3 frames left in the spool; 4 frames quarantined (refused by the server).
    """
    if server and not (api_key and project):
        fail("--server needs --api-key and --project WORKSPACE/PROJECT")
    config: SamplingConfig | None = None
    if rules:
        try:
            config = load_config(rules)
            for uri in config.shared_storages():
                require_client(uri)  # the redis package: say so before the first frame
        except ValueError as exc:  # ConfigError too
            fail(str(exc))
    start = parse_start_time(start_time) if start_time is not None else None
    device = device_options(device_id, labels)
    try:
        frames = Source(source, every=every, fps=fps, start_time=start)
    except ValueError as exc:
        fail(str(exc))
    uploading = bool(server and api_key and project and not dry_run)
    if uploading or (model == SERVER and server and api_key and project):
        assert server and api_key and project
        confirmed = preflight(server, api_key, project, spool, timeout=min(upload_timeout, 10.0))
        if confirmed and config and uploading:
            routed = rules_by_destination(config)
            preflight_destinations(server, api_key, project, routed, timeout=min(upload_timeout, 10.0))
    models = open_model(
        model,
        model_format=model_format,
        classes=classes,
        model_version=model_version,
        server=server,
        api_key=api_key,
        project=project,
        cache_dir=model_cache,
        interval=model_interval,
        labels=device["labels"],  # the device's labels choose its deployment
    )
    sync = None
    if server and api_key and project and not rules:
        config, sync = follow_rules(
            server, api_key, project, spool, rules_interval, min(upload_timeout, 10.0)
        )
    options: dict[str, Any] = {
        "rules": None if sync else config,
        "rules_sync": sync,
        "model_version": models.current().version,
        "spool_cap_bytes": int(spool_cap_mb * 1_000_000),
        "max_side": max_side or None,
        "jpeg_quality": jpeg_quality,
        **device,
        "batch": batch,
        "project": project,  # also names the shared limits' counters in a dry run
    }
    if dry_run:
        options |= {
            "transport": FolderTransport(dry_run),
            "spool_dir": Path(tempfile.mkdtemp(prefix="fs-dry-")),
        }
    else:
        options |= {
            "server": server,
            "api_key": api_key,
            "spool_dir": spool,
            "upload_timeout": upload_timeout,
            "heartbeat_interval": heartbeat_interval or None,
            "evaluation_interval": evaluation_interval,
        }
    try:
        collector = Collector(**options)
    except ValueError as exc:  # a rule this machine cannot build (an ONNX encoder it does not have)
        fail(f"--rules {rules}: {exc}" if rules else str(exc))
    earlier = collector.spooled_at_start
    note = clock_note(frames, config)
    for line in ([note] if note else []) + quota_notes(frames, config):
        console.print(escape(line))
    started = time.monotonic()
    interrupted = False
    try:
        with Live(_view(collector, frames, started), console=console, refresh_per_second=4) as live:
            for n, frame in enumerate(frames, start=1):
                running = models.current()  # between frames: a newly loaded model starts here
                if running.version != collector.model_version:
                    console.print(f"model: now running version {escape(str(running.version))}")
                    collector.model_version = running.version
                predictions = running.detector.predict(frame.image, confidence=confidence)
                collector.observe(frame.image, predictions, name=frame.name, timestamp=frame.timestamp)
                if n % 5 == 0:
                    live.update(_view(collector, frames, started))
                if max_frames and n >= max_frames:
                    break
            live.update(_view(collector, frames, started))
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:
        collector.close(timeout=5)
        models.close()
        fail(str(exc))
    models.close()
    collector.close(timeout=drain_timeout if (uploading or dry_run) else 0)
    status = collector.status()
    per_rule = list(status["rules"].values())
    uploaded = sum(r["uploaded"] for r in per_rule)
    duplicates = sum(r["duplicates"] for r in per_rule)
    quarantined = sum(r["quarantined"] for r in per_rule)
    if dry_run:
        where = f"{uploaded} written to {dry_run}"
    elif uploading:
        elsewhere = sorted(rules_by_destination(config)) if config else []
        also = f" and the rules' projects ({', '.join(elsewhere)})" if elsewhere else ""
        where = (
            f"{uploaded} uploaded to {project}{also} (new), {duplicates} already on the server (duplicates), "
            f"{quarantined} quarantined"
        )
    else:
        where = "offline"
    console.print()
    console.print(
        escape(summary(frames.stats.yielded, status, where=where, earlier=earlier, interrupted=interrupted))
        + (f"; source skipped {frames.stats.skipped}" if frames.stats.skipped else "")
    )
    model_note = model_summary(models.status())
    if model_note:
        console.print(escape(model_note))
    for line in rules_summary(status):
        console.print(escape(line))
    retried = sum(r["retried"] for r in per_rule)
    pauses = status["uploader"]["pauses"] if status["uploader"] else 0
    if retried or pauses:
        console.print(f"uploads retried {retried} time(s), paused {pauses} time(s) (nothing lost)")
    for shared in status["shared_limits"]:
        if shared["outages"]:
            console.print(
                escape(
                    f"shared limits: {shared['storage']} was unreachable {shared['outages']} time(s); "
                    f"{shared['local_decisions']} frame(s) were checked against this process's limits"
                )
            )
    for rule, counts in status["rules"].items():
        if counts["dropped"]:
            console.print(f"  [yellow]{escape(rule)}[/] dropped: {counts['dropped']}")
    if not uploading:
        if not dry_run and status["spool"]["entries"]:
            console.print(f"push them later with `framescout spool push --spool {escape(str(spool))} ...`")
        raise typer.Exit(EXIT_DELIVERED)
    raise typer.Exit(report(status["spool"], status["uploader"], spool))
