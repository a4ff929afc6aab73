"""The one warning ``collect`` and ``predict`` give when the classes will be numbers."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from framescout.cli._output import errors
from framescout.models import OnnxDetector


def warn_if_numbered(detector: OnnxDetector, classes: Path | None) -> bool:
    """Say so (one line on stderr) when neither ``--classes`` nor the model's metadata name the
    classes, so boxes will be labelled "0", "1", ...; ``True`` when it warned."""
    names = detector.class_names
    if classes is not None or names != tuple(str(i) for i in range(len(names))):
        return False
    shown = f"0..{len(names) - 1}" if names else "numbers"
    errors.print(
        f"[yellow]warning:[/] {escape(detector.path.name)} names no classes and --classes was not given: "
        f"classes will be numbers ({shown}); pass --classes FILE (one name per line, or a data.yaml)",
        soft_wrap=True,
    )
    return True
