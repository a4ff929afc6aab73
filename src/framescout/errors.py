"""The base of every error that reaches a client with a stable ``code``: the store's domain errors
(`framescout.store.errors`) and the server's own (`framescout.server.errors`), which maps them all
to HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CodedError(Exception):
    """``code`` is stable for clients and scripts; ``message`` says what to do about it.

    ``problems`` (optional) lists the offending keys one by one (``{"key", "where", "message"}``), for
    clients that show each next to its key; the API answers them beside ``code`` and ``message``."""

    def __init__(self, code: str, message: str, *, problems: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = [dict(p) for p in problems]
