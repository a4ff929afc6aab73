"""JSON text from untrusted senders: size and nesting caps checked before parsing, strict parsing.

``json.loads`` recurses once per nesting level, so a field nested 100,000 levels deep would end in
a ``RecursionError`` (a 500) instead of a clear refusal. `nesting_depth` measures the depth without
parsing and without recursion, in linear time (vectorised over the bytes), so `loads` can refuse
deep or large text first. `loads` also refuses what Python accepts but JSON does not (``NaN``,
``Infinity``, numbers like ``1e999`` that overflow to infinity), integers beyond 64 bits, which no
database column or array can hold, and lone UTF-16 surrogates (``"\\ud800"``), which no UTF-8 text
column can hold and no response can serialise.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypedDict, Unpack

import numpy as np

MAX_DEPTH = 64
"""Deepest nesting of arrays/objects accepted in any JSON field or body (real payloads use ≤ 5)."""
MAX_TEXT_BYTES = 1000 * 1000
"""Default size cap of one JSON field (predictions, corrected boxes): 1 MB, just under the 1 MiB that
Starlette's multipart parser allows a form field (it answers 400 beyond)."""
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
"""The integers JSON fields may carry: anything that fits in 64 bits (signed or unsigned)."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape in U+D800–U+DFFF: rare in real payloads, so only text with one is checked further."""
_CHUNK = 1 << 20
_QUOTE, _BACKSLASH = 0x22, 0x5C
_OPENS, _CLOSES = (0x5B, 0x7B), (0x5D, 0x7D)


class TextLimits(TypedDict, total=False):
    """The caps `loads` passes on to `check_text` (each defaults as there)."""

    max_bytes: int
    max_depth: int
    too_large_code: str


class JSONTextError(ValueError):
    """JSON text refused. ``code`` is stable for APIs (``json_too_deep``, ``malformed_json``,
    ``integer_out_of_range``); `framescout.server.errors` maps it to the HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JSONTooLarge(JSONTextError):
    """JSON text over its byte limit (``json_too_large``, or the caller's ``too_large_code``)."""


def too_deep(text: str | bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``max_depth`` (outside strings)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # cannot nest deeper than it has brackets: the common case, at C speed
    return nesting_depth(data, stop_above=max_depth) > max_depth


def nesting_depth(text: str | bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (0 for a scalar); linear, never recursive.

    Works on malformed text too (the parser refuses that afterwards). With ``stop_above``, stops
    at the first 1 MiB chunk whose depth exceeds it."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = best = 0
    inside = False  # within a string at the end of the previous chunk
    run = 0  # backslashes ending the previous chunk
    for start in range(0, len(data), _CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - start), offset=start)
        index = np.arange(chunk.size, dtype=np.int32)
        backslash = chunk == _BACKSLASH
        # Length of the run of backslashes ending at each position (a quote after an odd run is escaped).
        last_other = np.maximum.accumulate(np.where(backslash, np.int32(-1), index))
        runs = index - last_other + np.where(last_other < 0, run, 0).astype(np.int32)
        before = np.empty(chunk.size, dtype=np.int32)
        before[0], before[1:] = run, runs[:-1]
        quotes = np.cumsum((chunk == _QUOTE) & (before % 2 == 0), dtype=np.int32)
        in_string = (quotes + int(inside)) % 2 == 1
        step = (np.isin(chunk, _OPENS) & ~in_string).astype(np.int32) - (
            np.isin(chunk, _CLOSES) & ~in_string
        ).astype(np.int32)
        level = depth + np.cumsum(step, dtype=np.int64)
        best = max(best, int(level.max()))
        depth, inside, run = int(level[-1]), bool(in_string[-1]), int(runs[-1])
        if stop_above is not None and best > stop_above:
            break
    return best


def check_text(
    text: str | bytes,
    field: str,
    *,
    max_bytes: int = MAX_TEXT_BYTES,
    max_depth: int = MAX_DEPTH,
    too_large_code: str = "json_too_large",
) -> None:
    """Refuse ``text`` (the value of ``field``) if it is larger than ``max_bytes`` (`JSONTooLarge`) or
    nested deeper than ``max_depth`` (``json_too_deep``)."""
    size = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise JSONTooLarge(too_large_code, f"{field} is {size:,} bytes of JSON; the limit is {max_bytes:,}")
    if too_deep(text, max_depth):
        raise JSONTextError(
            "json_too_deep", f"{field} is nested more than {max_depth} levels deep; the limit is {max_depth}"
        )


def loads(text: str | bytes, field: str, **limits: Unpack[TextLimits]) -> Any:
    """Parse the JSON value of ``field`` after `check_text` (with ``limits``); errors name the field."""
    check_text(text, field, **limits)
    try:
        value = json.loads(text, parse_int=_int64, parse_float=_float, parse_constant=_constant)
    except _OutOfRange as exc:
        raise JSONTextError(
            "integer_out_of_range", f"{field}: the integer {exc.literal} does not fit in 64 bits"
        ) from None
    except _Constant as exc:
        raise JSONTextError("malformed_json", f"{field}: {exc.literal} is not valid JSON") from None
    except UnicodeDecodeError:
        raise JSONTextError("malformed_json", f"{field} is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and int() refusing 4,300+ digits
        raise JSONTextError("malformed_json", f"{field} is not valid JSON: {exc}") from None
    check_surrogates(text, value, field)
    return value


def check_surrogates(text: str | bytes, value: Any, field: str) -> None:
    """Refuse a parsed value holding a lone UTF-16 surrogate (paired escapes decode to one
    character and are fine); only text that has a surrogate escape at all pays for the check."""
    sample = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if not _SURROGATE_ESCAPE.search(sample):
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JSONTextError(
            "malformed_json", f"{field} holds a lone UTF-16 surrogate escape (\\ud800-\\udfff): not text"
        ) from None


class _OutOfRange(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal if len(literal) <= 40 else f"{literal[:20]}…({len(literal)} digits)"


class _Constant(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _int64(literal: str) -> int:
    if len(literal) > 21:  # beyond 64 bits whatever the digits (and before int() parses them)
        raise _OutOfRange(literal)
    value = int(literal)
    if not INT_MIN <= value <= INT_MAX:
        raise _OutOfRange(literal)
    return value


def _constant(literal: str) -> Any:
    raise _Constant(literal)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999: valid JSON syntax, but no finite number
        raise _Constant(literal if len(literal) <= 40 else f"{literal[:20]}…")
    return value
