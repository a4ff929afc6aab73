"""`FrameRecord`: what the collector knows about a kept frame besides its pixels.

Built by `Collector.observe` (rule, reason, tags, device, model version, destination project, name,
metadata), completed by the encoder (pre-labels and size in the uploaded pixels, the batch), kept in
the spool as JSON and uploaded by the transport (to its ``project``: `transport.destination`). Its
upload fields are named and typed after `framescout.upload_fields.UploadFields` (every field marked
``collector`` is an attribute here; a test checks it), so the transport sends `upload_fields()`
without naming a field.

The spool's JSON keeps the keys collectors have always written (``rule`` and ``reason`` for the
sampling fields), and the reader is tolerant: keys it does not know are kept in ``extra`` and written
back, missing keys take their defaults, so spools of earlier and later releases still upload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framescout.upload_fields import COLLECTOR_FIELDS

SPOOL_KEYS = {"sampling_rule": "rule", "sampling_reason": "reason"}
"""Attributes stored under another key in the spool's JSON (the names of the first spools)."""
ONLY_WHEN_SET = frozenset({"batch", "project"})
"""Attributes written only when they have a value, so a collector that does not route writes the JSON
earlier releases wrote (routing came later)."""


@dataclass(frozen=True)
class FrameRecord:
    """One kept frame's fields; ``predictions`` (Roboflow JSON), ``width`` and ``height`` are in the
    pixels that are uploaded (set by the encoder after resizing)."""

    sampling_rule: str
    sampling_reason: str | None = None
    tags: tuple[str, ...] = ()
    model_version: str | None = None
    device_id: str | None = None
    batch: str | None = None
    """The labelling batch (the rule's dated batch, else the collector's ``batch``), given by the encoder."""
    project: str | None = None
    """The destination project's slug in the uploading workspace (the rule's ``project``); ``None``:
    the collector's own project. Not an upload field: it picks the upload's route."""
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    predictions: dict[str, Any] | None = None
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """JSON keys this release does not know (a later one wrote them): kept and written back."""

    def upload_fields(self) -> dict[str, Any]:
        """The upload fields this record carries, by their upload names (`Client.upload_image`'s
        keyword arguments)."""
        return {spec.name: getattr(self, spec.name) for spec in COLLECTOR_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """The spool's (and the dry-run sidecar's) JSON object."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "extra" and not (value is None and f.name in ONLY_WHEN_SET):
                out[SPOOL_KEYS.get(f.name, f.name)] = list(value) if f.name == "tags" else value
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, meta: Mapping[str, Any], *, rule: str = "kept") -> FrameRecord:
        """Read a spool entry's JSON, whichever release wrote it; ``rule`` (the entry's own column)
        stands in for a missing rule."""
        known = {f.name: SPOOL_KEYS.get(f.name, f.name) for f in dataclasses.fields(cls) if f.name != "extra"}
        values = {name: meta.get(key, meta.get(name)) for name, key in known.items()}
        values = {name: value for name, value in values.items() if value is not None}
        values["sampling_rule"] = str(values.get("sampling_rule") or rule)
        values["tags"] = tuple(str(t) for t in _list(values.get("tags")))
        values["metadata"] = dict(values["metadata"]) if isinstance(values.get("metadata"), Mapping) else {}
        spelled = set(known) | set(known.values())
        return cls(**values, extra={k: v for k, v in meta.items() if k not in spelled})


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list | tuple) else []
