"""``framescout collect``: run a detector over a source and keep the frames worth labelling."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from framescout.cli._output import console, fail
from framescout.collector import Collector, FolderTransport, Source
from framescout.models import FORMATS, ModelError, OnnxDetector, load_class_names
from framescout.sampling import ConfigError, load_config
from framescout.sampling.config import SamplingConfig


def _view(collector: Collector, source: Source, started: float) -> Table:
    status = collector.status()
    elapsed = max(time.monotonic() - started, 1e-6)
    table = Table(title="framescout collect", show_header=True, expand=False)
    for column in ("rule", "kept", "queued", "uploaded", "retried", "dropped"):
        table.add_column(column, justify="right" if column != "rule" else "left")
    for name, counts in status["rules"].items():
        dropped = sum(counts["dropped"].values())
        table.add_row(
            escape(name),
            str(counts["kept"]),
            str(counts["queued"]),
            str(counts["uploaded"] + counts["duplicates"]),
            str(counts["retried"]),
            str(dropped),
        )
    uploader = status["uploader"] or {"state": "offline", "last_error": None}
    table.caption = (
        f"{source.stats.yielded} frames, {source.stats.yielded / elapsed:.1f}/s | "
        f"spool {status['spool']['entries']} ({status['spool']['bytes'] / 1e6:.1f} MB) | "
        f"upload: {uploader['state']}"
        + (f" ({uploader['last_error'][:60]})" if uploader["last_error"] else "")
    )
    return table


def collect(
    source: str = typer.Option(
        ..., help="Image folder, video file, camera index (0) or rtsp:// / http:// URL."
    ),
    model: Path = typer.Option(..., help="ONNX detector."),
    model_format: str | None = typer.Option(
        None, "--format", help=f"One of {', '.join(FORMATS)}; auto-detected."
    ),
    classes: Path | None = typer.Option(None, help="Class names file (default: the model's metadata)."),
    rules: Path | None = typer.Option(None, help="Sampling rules (YAML/JSON); default: the built-in stack."),
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
    every: int = typer.Option(1, min=1, help="Use one frame in N."),
    fps: float | None = typer.Option(
        None, min=0.01, help="At most this many frames per second (of video time, for a video file)."
    ),
    confidence: float = typer.Option(0.25, min=0.0, max=1.0, help="Detector score threshold."),
    model_version: str | None = typer.Option(None, help="Deployed model version (threshold schedules)."),
    max_frames: int | None = typer.Option(None, min=1, help="Stop after this many frames."),
    dry_run: Path | None = typer.Option(
        None, help="Write kept frames and JSON sidecars here instead of uploading."
    ),
) -> None:
    """Detect, decide, keep: frames worth labelling go to the server (or the spool, or a folder)."""
    if server and not (api_key and project):
        fail("--server needs --api-key and --project WORKSPACE/PROJECT")
    config: SamplingConfig | None = None
    if rules:
        try:
            config = load_config(rules)
        except ConfigError as exc:
            fail(str(exc))
    try:
        names = load_class_names(classes) if classes else None
        detector = OnnxDetector(model, class_names=names, format=model_format)
        frames = Source(source, every=every, fps=fps)
    except (ModelError, ValueError) as exc:
        fail(str(exc))
    options: dict[str, Any] = {
        "rules": config,
        "model_version": model_version,
        "spool_cap_bytes": int(spool_cap_mb * 1_000_000),
        "max_side": max_side or None,
        "jpeg_quality": jpeg_quality,
        "device_id": device_id,
    }
    if dry_run:
        options |= {
            "transport": FolderTransport(dry_run),
            "spool_dir": Path(tempfile.mkdtemp(prefix="fs-dry-")),
        }
    else:
        options |= {"server": server, "api_key": api_key, "project": project, "spool_dir": spool}
    collector = Collector(**options)
    started = time.monotonic()
    interrupted = False
    try:
        with Live(_view(collector, frames, started), console=console, refresh_per_second=4) as live:
            for n, frame in enumerate(frames, start=1):
                predictions = detector.predict(frame.image, confidence=confidence)
                collector.observe(frame.image, predictions, name=frame.name)
                if n % 5 == 0:
                    live.update(_view(collector, frames, started))
                if max_frames and n >= max_frames:
                    break
            live.update(_view(collector, frames, started))
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:
        collector.close(timeout=5)
        fail(str(exc))
    collector.close(timeout=30 if (server or dry_run) else 0)
    status = collector.status()
    kept = sum(r["kept"] for r in status["rules"].values())
    delivered = sum(r["uploaded"] + r["duplicates"] for r in status["rules"].values())
    where = f"written to {dry_run}" if dry_run else (f"uploaded to {project}" if server else "offline")
    console.print()
    console.print(
        f"{'interrupted: ' if interrupted else ''}{frames.stats.yielded} frame(s) seen, {kept} kept, "
        f"{delivered} {escape(where)}; {status['spool']['entries']} waiting in the spool"
        + (f"; source skipped {frames.stats.skipped}" if frames.stats.skipped else "")
    )
    for rule, counts in status["rules"].items():
        if counts["dropped"]:
            console.print(f"  [yellow]{escape(rule)}[/] dropped: {counts['dropped']}")
