"""Domain errors with a stable ``code`` and the HTTP status the API answers with."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: ``code`` is stable for clients; ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class Invalid(StoreError):
    status = 422
