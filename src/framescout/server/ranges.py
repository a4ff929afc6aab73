"""HTTP byte ranges (RFC 9110 §14) for downloads that resume: one ``Range: bytes=…`` range, honoured
only when ``If-Range`` (if sent) still names the current entity tag."""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(Exception):
    """A range that starts past the end of the entity (answered 416 with ``Content-Range: bytes */N``)."""


def etag_value(header: str | None) -> str | None:
    """An entity tag without its quotes and weak prefix (``W/"abc"`` → ``abc``)."""
    if header is None:
        return None
    text = header.strip()
    text = text.removeprefix("W/")
    return text.strip('"')


def requested_range(
    range_header: str | None, if_range: str | None, etag: str, size: int
) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte range to send, or ``None`` for the whole entity: no
    ``Range``, a malformed or multi-range one (ignored, as the RFC allows), or an ``If-Range`` naming
    another version (the client's partial copy is stale: it gets the whole new file).
    `Unsatisfiable` when the range starts at or past ``size``."""
    if not range_header or (if_range is not None and etag_value(if_range) != etag):
        return None
    found = _RANGE.fullmatch(range_header.strip().replace(" ", ""))
    if found is None or (not found[1] and not found[2]):
        return None
    if not found[1]:  # bytes=-N: the last N bytes
        suffix = int(found[2])
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    first = int(found[1])
    last = int(found[2]) if found[2] else size - 1
    if first >= size:
        raise Unsatisfiable
    if last < first:
        return None
    return first, min(last, size - 1)
