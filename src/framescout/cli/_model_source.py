"""``framescout collect --model``: a model file, or ``server`` (the model deployed to this device,
`framescout.collector.model_sync`); every refusal is one line and exit 1."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.markup import escape

from framescout.cli._classes import warn_if_numbered
from framescout.cli._output import console, fail
from framescout.collector.model_sync import FixedModel, ModelSync, ModelSyncError
from framescout.models import ModelError, OnnxDetector, load_class_names

SERVER = "server"


def open_model(
    model: str,
    *,
    model_format: str | None,
    classes: Path | None,
    model_version: str | None,
    server: str | None,
    api_key: str | None,
    project: str | None,
    cache_dir: Path,
    interval: float,
    labels: Mapping[str, str],
) -> FixedModel | ModelSync:
    """The model ``collect`` runs: `FixedModel` over ``--model FILE``, or a started `ModelSync`."""
    if model != SERVER:
        try:
            names = load_class_names(classes) if classes else None
            detector = OnnxDetector(Path(model), class_names=names, format=model_format)
        except (ModelError, ValueError) as exc:
            fail(str(exc))
        warn_if_numbered(detector, classes)
        return FixedModel(detector, model_version)
    if not (server and api_key and project):
        fail("--model server needs --server, --api-key and --project WORKSPACE/PROJECT")
    given = [name for name, value in (("--format", model_format), ("--classes", classes)) if value]
    if model_version:
        given.append("--model-version")
    if given:
        fail(f"{', '.join(given)}: with --model server they come from the deployed model; leave them out")
    sync = ModelSync(server, api_key, project, cache_dir, labels=labels, interval=interval)
    try:
        running = sync.start()
    except ModelSyncError as exc:
        sync.close()
        fail(str(exc))
    where = "from the server" if sync.booted_from == "server" else f"from the cache {cache_dir} (offline)"
    console.print(
        escape(f"model: version {running.version} of {project} {where}; checking every {interval:g} s")
    )
    return sync


def model_summary(status: dict[str, Any]) -> str | None:
    """The closing line on the deployed model (``None`` for a model file)."""
    if status.get("source") != SERVER:
        return None
    line = f"model: ran version {status['version']} last"
    line += f", switched {status['switches']} time(s)" if status["switches"] else ", no switch"
    if status["refused"]:
        line += f"; refused {status['refused']} download(s) or load(s): {status['last_error']}"
    return line
