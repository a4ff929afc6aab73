"""The fields an image upload carries besides its bytes, each defined once: `UploadFields`.

Every field of the dataclass below is one upload field: its name (the multipart form name, the
``images`` column, the `ImageOut` attribute and the SDK keyword are all this name), its type (the
parsed value), its check and cap, how it travels as form text (`Wire`) and which parts of framescout
carry it (`FieldSpec`). The server derives its upload form parameters, validation and row insert from
this; the SDK, the collector's spool record and `ImageOut` are checked against it by tests
(``tests/test_upload_fields.py``). Pure Python (no SQLAlchemy, no FastAPI): the SDK and the edge
collector import it. Checks raise `FieldError`; the store turns it into its own ``Invalid`` (422).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from framescout.predictions import Predictions

SPLITS = ("train", "valid", "test")
MAX_NAME = 255
MAX_TAG = 100
MAX_TAGS = 50
MAX_TEXT = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

T = TypeVar("T")


class FieldError(ValueError):
    """A field value refused; ``code`` is the stable API error code (``invalid_<field>`` mostly)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------- checks
def check_name(name: str) -> str:
    """A plain file name: no path separators, no ``..``, no control characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise FieldError("invalid_name", f"the file name must be 1-{MAX_NAME} characters")
    if "/" in name or "\\" in name or name in (".", "..") or ".." in name.split(".") or _CONTROL.search(name):
        raise FieldError(
            "invalid_name", f"the file name {name!r} contains a path separator, '..' or control characters"
        )
    return name


def check_split(split: str | None) -> str | None:
    if split in (None, ""):
        return None
    if split not in SPLITS:
        raise FieldError("invalid_split", f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return split


def check_tags(tags: Sequence[str]) -> list[str]:
    """Stripped, de-duplicated (first spelling kept), each ≤ `MAX_TAG`, at most `MAX_TAGS`."""
    clean: dict[str, None] = {}
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise FieldError(
                "invalid_tag", f"tag {tag[:40]!r} is longer than {MAX_TAG} or has control characters"
            )
        clean.setdefault(tag, None)
    if len(clean) > MAX_TAGS:
        raise FieldError("too_many_tags", f"at most {MAX_TAGS} tags per image")
    return list(clean)


def check_text(value: str | None, what: str, limit: int = MAX_TEXT, *, multiline: bool = False) -> str | None:
    """A free-text field within ``limit`` characters and without control characters (tabs and line
    breaks are allowed in ``multiline`` text such as a comment); empty text is no value."""
    if value in (None, ""):
        return None
    assert value is not None
    if len(value) > limit:
        raise FieldError(f"invalid_{what}", f"{what} is longer than {limit} characters")
    if (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value):
        raise FieldError(f"invalid_{what}", f"{what} contains control characters")
    return value


# ---------------------------------------------------------------------------------------- the spec
class Wire(enum.Enum):
    """How a field travels as multipart form text (the server decodes, the SDK encodes)."""

    TEXT = "text"
    TAGS = "tags"
    """Comma-separated."""
    JSON_OBJECT = "json-object"
    PREDICTIONS = "predictions"
    """Roboflow-shaped predictions JSON."""


Check = Callable[[str, Any], Any]
"""``check(field name, value) -> clean value``; raises `FieldError`."""


@dataclass(frozen=True)
class FieldSpec:
    """What framescout knows about one upload field besides its name and type."""

    name: str
    check: Check
    cap: int | None = None
    """Longest text accepted (text fields): the ``images`` column must hold at least this."""
    wire: Wire = Wire.TEXT
    description: str | None = None
    """The form field's description in the OpenAPI document."""
    form: bool = True
    """A multipart field of ``POST .../images`` (else set by the server itself)."""
    column: bool = True
    """Stored as is in the ``images`` column of this name (else stored by its own code: a batch row,
    tag rows, prediction annotations)."""
    out: bool = True
    """An attribute of `framescout.server.schemas.ImageOut`."""
    sdk: bool = True
    """A keyword argument of `framescout.client.Client.upload_image`."""
    collector: bool = False
    """Sent by the edge collector (an attribute of `framescout.collector.record.FrameRecord`)."""


def _keep(_name: str, value: Any) -> Any:
    return value


def _text(cap: int) -> Check:
    return lambda name, value: check_text(value, name, cap)


def _field(default: T, check: Check = _keep, **spec: Any) -> T:
    """A dataclass field carrying its `FieldSpec` (the name is filled in by `specs`)."""
    metadata = {"upload": (check, spec)}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=dict, metadata=metadata)  # type: ignore[return-value]
    return dataclasses.field(default=default, metadata=metadata)


def _text_field(cap: int, **spec: Any) -> Any:
    return _field(None, _text(cap), cap=cap, **spec)


@dataclass
class UploadFields:
    """Everything an upload may carry besides the bytes (parsed from the form, not yet validated).

    The order is the order of the form fields in the OpenAPI document."""

    name: str | None = _field(None, lambda _, v: check_name(v) if v else None, cap=MAX_NAME, collector=True)
    """The file name; the server names a nameless upload after its hash."""
    split: str | None = _field(None, lambda _, v: check_split(v), description="train, valid or test")
    batch: str | None = _text_field(200, column=False, collector=True)
    tags: Sequence[str] = _field(
        (),
        lambda _, v: check_tags(v),
        wire=Wire.TAGS,
        description="Comma-separated tags.",
        column=False,
        collector=True,
    )
    metadata: dict[str, Any] = _field(
        {}, wire=Wire.JSON_OBJECT, description="A JSON object, as text.", collector=True
    )
    predictions: Predictions | None = _field(
        None,
        wire=Wire.PREDICTIONS,
        description="Roboflow-shaped predictions JSON, stored as pre-labels.",
        column=False,
        out=False,
        collector=True,
    )
    sampling_rule: str | None = _text_field(200, collector=True)
    sampling_reason: str | None = _text_field(MAX_TEXT, collector=True)
    model_version: str | None = _text_field(200, collector=True)
    device_id: str | None = _text_field(200, collector=True)
    source_url: str | None = _field(None, form=False, sdk=False)
    """The hosted image's URL (an upload by ``url``); set by the server when it fetched the bytes."""
    source: str | None = _field(None, form=False, sdk=False)
    """The route's word on where the upload came from (`framescout.store.provenance`); else derived."""

    def checked(self) -> UploadFields:
        """A copy with every field checked and cleaned (`FieldError` on the first refusal)."""
        return dataclasses.replace(self, **{s.name: s.check(s.name, getattr(self, s.name)) for s in SPECS})


def specs(cls: type[Any] = UploadFields) -> tuple[FieldSpec, ...]:
    """The `FieldSpec` of every field of ``cls``, in order."""
    out = []
    for f in dataclasses.fields(cls):
        check, spec = f.metadata["upload"]
        out.append(FieldSpec(f.name, check, **spec))
    return tuple(out)


SPECS = specs()
FORM_FIELDS = tuple(s for s in SPECS if s.form)
COLUMN_FIELDS = tuple(s for s in SPECS if s.column)
SDK_FIELDS = tuple(s for s in SPECS if s.sdk)
COLLECTOR_FIELDS = tuple(s for s in SPECS if s.collector)
BY_NAME = {s.name: s for s in SPECS}


# ---------------------------------------------------------------------------------------- the wire
def encode(spec: FieldSpec, value: Any) -> str | None:
    """A field value as the form text the server decodes (``None``: not sent)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if spec.wire is Wire.TAGS:
        return ",".join(value) if value else None
    if isinstance(value, Predictions):
        return json.dumps(value.to_roboflow())
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return str(value)


def encode_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """The multipart form fields of an upload: known fields encoded per their `Wire`, others as given
    (the server ignores fields it does not know); ``None`` values are left out."""
    form: dict[str, Any] = {}
    for name, value in values.items():
        spec = BY_NAME.get(name)
        text = encode(spec, value) if spec is not None else value
        if text is not None:
            form[name] = text
    return form
