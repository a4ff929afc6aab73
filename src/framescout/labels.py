"""Device labels (``site=north``): parsed once for the CLI, the server and the collector.

A device has labels (``--labels site=north cam=3``); a model deployment may carry a label selector, and
it reaches a device when every one of its labels is among the device's (an empty selector: every
device). On the wire labels travel as one query value, ``site=north,cam=3``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}")
VALUE = re.compile(r"[A-Za-z0-9_.:/\-]{0,200}")
MAX_LABELS = 32


class LabelError(ValueError):
    """A label that is not ``key=value`` with the allowed characters (the message names it)."""


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """``["site=north", "cam=3"]`` → ``{"site": "north", "cam": "3"}``; `LabelError` naming a bad item
    (no ``=``, a key or value with other characters than letters, digits and ``_ . - / :``, a key given
    twice, more than `MAX_LABELS`)."""
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not KEY.fullmatch(key):
            raise LabelError(
                f"label {item!r} must be key=value (key: letters, digits, '_', '.', '-', '/'; 63 at most)"
            )
        if not VALUE.fullmatch(value):
            raise LabelError(
                f"label {key}: value {value!r} may hold only letters, digits, '_', '.', ':', '/', '-'"
            )
        if key in labels:
            raise LabelError(f"label {key} is given twice")
        labels[key] = value
    if len(labels) > MAX_LABELS:
        raise LabelError(f"at most {MAX_LABELS} labels; got {len(labels)}")
    return labels


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
