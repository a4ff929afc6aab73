"""Device labels (``site=north``): one set of rules for the CLI, the collector and every route.

A device has labels (``framescout collect --labels site=north``, sent with each heartbeat); a model
deployment may carry a label selector (``framescout models deploy --labels``), and it reaches a device
when every one of its labels is among the device's (an empty selector: every device). On the wire
labels travel as one query value, ``site=north,cam=3`` (`to_query` / `parse_query`), so the
characters allowed are those that need no quoting there: a label the collector accepts is one the
heartbeat route, the devices filter and the deployment route all accept (docs/fleet.md#labels).

A refused label is a `LabelError` whose ``code`` is the API's: ``invalid_label`` (the message names
the label) or ``too_many_labels``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from framescout.errors import CodedError

MAX_LABELS, MAX_KEY, MAX_VALUE = 20, 63, 200
"""Labels per device or selector, characters per key and per value."""
MAX_QUERY = MAX_LABELS * (MAX_KEY + 1 + MAX_VALUE + 1) - 1
"""The longest wire form of labels that are all allowed (`to_query`)."""
KEY = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.\-/]{{0,{MAX_KEY - 1}}}")
VALUE = re.compile(rf"[A-Za-z0-9_.:/\-]{{0,{MAX_VALUE}}}")
INVALID_LABEL, TOO_MANY_LABELS = "invalid_label", "too_many_labels"
CODES = frozenset({INVALID_LABEL, TOO_MANY_LABELS})
"""Every code a `LabelError` carries (docs/errors.md lists them under ``Invalid``)."""


class LabelError(CodedError, ValueError):
    """A label refused; ``code`` is ``invalid_label`` or ``too_many_labels``, the message names it."""


def check_label(key: str, value: str) -> tuple[str, str]:
    """A key of 1-63 letters, digits and ``_ . - /`` starting with a letter or digit; a value of at
    most 200 letters, digits and ``_ . : / -`` (it may be empty)."""
    if not KEY.fullmatch(key):
        raise LabelError(
            INVALID_LABEL,
            f"label key {key[:40]!r}: use 1-{MAX_KEY} letters, digits and _ . - /, "
            "starting with a letter or digit",
        )
    if not VALUE.fullmatch(value):
        raise LabelError(
            INVALID_LABEL,
            f"label {key}: value {value[:40]!r} may hold only letters, digits and _ . : / - "
            f"({MAX_VALUE} at most)",
        )
    return key, value


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """At most `MAX_LABELS` labels, each checked (`check_label`): a heartbeat's JSON mapping."""
    if len(labels) > MAX_LABELS:
        raise LabelError(TOO_MANY_LABELS, f"{len(labels)} labels; at most {MAX_LABELS}")
    return dict(check_label(key, value) for key, value in labels.items())


def parse_label(text: str) -> tuple[str, str]:
    """``key=value`` (spaces around either are dropped) as a checked pair."""
    key, sep, value = text.partition("=")
    if not sep:
        raise LabelError(INVALID_LABEL, f"label {text[:40]!r}: write it as key=value")
    return check_label(key.strip(), value.strip())


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """``["site=north", "cam=3"]`` → ``{"site": "north", "cam": "3"}`` (``--labels`` options, the
    devices list's ``?label=`` filters); a key given twice is refused."""
    labels: dict[str, str] = {}
    for item in items:
        key, value = parse_label(item)
        if key in labels:
            raise LabelError(INVALID_LABEL, f"label {key} is given twice")
        labels[key] = value
    return check_labels(labels)


def parse_query(text: str | None) -> dict[str, str]:
    """The wire form ``site=north,cam=3`` (empty or ``None``: no labels)."""
    if not text or not text.strip():
        return {}
    return parse_labels(part for part in text.split(",") if part.strip())


def to_query(labels: Mapping[str, str]) -> str:
    """The wire form of ``labels``, sorted by key (``""`` for none)."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def describe(selector: Mapping[str, str]) -> str:
    """``site=north, cam=3`` or ``all devices`` (for CLI output)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "all devices"


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """True when a device with ``labels`` is among those ``selector`` names (every pair present)."""
    return all(labels.get(key) == value for key, value in selector.items())


def covers(newer: Mapping[str, str], older: Mapping[str, str]) -> bool:
    """True when every device ``older`` reaches is also reached by ``newer`` (so a newer deployment
    with selector ``newer`` shadows the older one entirely)."""
    return matches(newer, older)
