"""A device's id and labels, checked the same way on the device (``framescout collect``, before the first
frame) and on the server (heartbeats, ``?label=`` filters), so a name the collector accepts is one the
server takes: an id travels in URL paths, labels select devices for rollouts and listings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from framescout.errors import CodedError

MAX_DEVICE_ID = 128
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE = 20, 64, 200
"""Labels per device, characters per key and per value."""
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DeviceNameError(CodedError, ValueError):
    """A device id or label refused; ``code`` is the API's error code (``invalid_device_id``, …)."""


def check_device_id(device_id: str) -> str:
    """1-128 characters: letters, digits and ``. _ : -``, starting with a letter or digit (a hostname
    fits)."""
    if not (0 < len(device_id) <= MAX_DEVICE_ID) or not _DEVICE_ID.fullmatch(device_id):
        raise DeviceNameError(
            "invalid_device_id",
            f"device id {device_id[:40]!r}: use 1-{MAX_DEVICE_ID} letters, digits and . _ : -, "
            "starting with a letter or digit",
        )
    return device_id


def check_label(key: str, value: str) -> tuple[str, str]:
    """A key of 1-64 letters, digits and ``. _ / -``; a value of at most 200 characters, no control
    characters."""
    if not (0 < len(key) <= MAX_LABEL_KEY) or not _LABEL_KEY.fullmatch(key):
        raise DeviceNameError(
            "invalid_label",
            f"label key {key[:40]!r}: use 1-{MAX_LABEL_KEY} letters, digits and . _ / -, "
            "starting with a letter or digit",
        )
    if len(value) > MAX_LABEL_VALUE or _CONTROL.search(value):
        raise DeviceNameError(
            "invalid_label",
            f"label {key}: the value is longer than {MAX_LABEL_VALUE} characters or has control characters",
        )
    return key, value


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """At most `MAX_LABELS` labels, each checked (`check_label`)."""
    if len(labels) > MAX_LABELS:
        raise DeviceNameError("too_many_labels", f"{len(labels)} labels; at most {MAX_LABELS} per device")
    return dict(check_label(key, value) for key, value in labels.items())


def parse_label(text: str) -> tuple[str, str]:
    """``key=value`` (the value may be empty or contain ``=``) as a checked pair."""
    key, sep, value = text.partition("=")
    if not sep:
        raise DeviceNameError("invalid_label", f"label {text[:40]!r}: write it as key=value")
    return check_label(key.strip(), value.strip())


def parse_labels(texts: Iterable[str]) -> dict[str, str]:
    """Several ``key=value`` texts as one checked mapping; a key given twice is refused."""
    labels: dict[str, str] = {}
    for text in texts:
        key, value = parse_label(text)
        if key in labels and labels[key] != value:
            raise DeviceNameError("invalid_label", f"label {key} is given twice ({labels[key]!r}, {value!r})")
        labels[key] = value
    return check_labels(labels)
