"""The base of every error that reaches a client with a stable ``code``: the store's domain errors
(`framescout.store.errors`) and the server's own (`framescout.server.errors`), which maps them all
to HTTP statuses."""

from __future__ import annotations


class CodedError(Exception):
    """``code`` is stable for clients and scripts; ``message`` says what to do about it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
