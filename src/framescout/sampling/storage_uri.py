"""The ``storage:`` of a rules file: where limits are counted, as a URI the `limits` library reads.

Two kinds are accepted, so that a typo or an unsupported backend is a configuration error and not a
surprise at run time: ``memory://`` (the default: this process, on the sampler's clock) and
``redis://[[user]:password@]host[:port][/db]`` (``rediss://`` for TLS), shared by every process and
device that names the same server (on wall time).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MEMORY = "memory://"
SHARED_SCHEMES = ("redis", "rediss")
_FORMS = "memory:// (the default) or redis://host:port[/db] (rediss:// for TLS)"


def check_storage_uri(value: Any) -> str:
    """``value`` if it is a storage URI framescout accepts (``memory://`` as written), else a
    `ValueError` saying what is wrong and what to write."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URI such as {_FORMS}")
    text = value.strip()
    if text == MEMORY:
        return MEMORY
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        raise ValueError(
            f"{redact(text)!r}: the port is not a number from 1 to 65535; write {_FORMS}"
        ) from None
    if parts.scheme not in SHARED_SCHEMES:
        raise ValueError(f"unsupported storage {redact(text)!r}; use {_FORMS}")
    if not parts.hostname:
        raise ValueError(f"{redact(text)!r} names no host; write e.g. redis://10.0.0.5:6379")
    if port == 0:
        raise ValueError(f"{redact(text)!r}: port 0 is not a port")
    db = parts.path.strip("/")
    if db and not (db.isdigit() and "/" not in db):
        raise ValueError(f"{redact(text)!r}: the path is a database number (redis://host:6379/0); got {db!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{redact(text)!r}: options (?…, #…) are not accepted; write {_FORMS}")
    return text


def is_shared(uri: str | None) -> bool:
    """True for a storage shared between processes (Redis), false for ``memory://`` or none."""
    return uri is not None and uri != MEMORY


def redact(uri: str) -> str:
    """``uri`` without its password, for messages, logs and status output."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri.split("@")[-1]
    if parts.password is None:
        return uri
    user = parts.username or ""
    netloc = f"{user}:***@{parts.netloc.rsplit('@', 1)[1]}"
    return parts._replace(netloc=netloc).geturl()


def require_client(uri: str) -> None:
    """A shared storage needs the `redis` package (``pip install 'framescout[redis]'``): say so at
    start, not at the first kept frame."""
    if not is_shared(uri):
        return
    try:
        import redis  # noqa: F401 - the redis extra; imported here only to see that it is there
    except ImportError:
        raise ValueError(
            f"storage {redact(uri)} needs the redis Python package: pip install 'framescout[redis]'"
        ) from None
