"""Class-name files: one name per line, a YAML/JSON list, or a mapping id -> name (Ultralytics'
``data.yaml`` with a ``names:`` key works as is)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from framescout.models.base import ModelError


def load_class_names(path: str | Path) -> tuple[str, ...]:
    """Read class names in id order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read class names from {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            data: Any = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ModelError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
        except RecursionError:  # both parsers recurse once per level of nesting
            raise ModelError(f"{path} is nested too deeply to be a list of class names") from None
        if isinstance(data, dict) and "names" in data:
            data = data["names"]
        return names_from(data, str(path))
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise ModelError(f"{path} holds no class names")
    return names


def names_from(data: Any, source: str) -> tuple[str, ...]:
    """Names from a list, or from a mapping whose keys are the ids 0..C-1."""
    if isinstance(data, list) and data and all(isinstance(n, str) for n in data):
        return tuple(data)
    if isinstance(data, dict) and data:
        try:
            by_id = {int(k): str(v) for k, v in data.items()}
        except (TypeError, ValueError):
            raise ModelError(f"{source}: class ids must be integers") from None
        if sorted(by_id) != list(range(len(by_id))):
            raise ModelError(f"{source}: class ids must run from 0 to {len(by_id) - 1} without gaps")
        return tuple(by_id[i] for i in range(len(by_id)))
    raise ModelError(f"{source}: expected a list of class names or a mapping id -> name")
