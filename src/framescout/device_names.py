"""A device's id, checked the same way on the device (``framescout collect``, before the first frame)
and on the server (heartbeats, the devices routes' paths), so an id the collector accepts is one the
server takes: it travels in URL paths. A device's labels are `framescout.labels`' (one module for
them: their rules, their wire form and selector matching)."""

from __future__ import annotations

import re

from framescout.errors import CodedError

MAX_DEVICE_ID = 128
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


class DeviceNameError(CodedError, ValueError):
    """A device id refused; ``code`` is the API's error code, ``invalid_device_id``."""


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
