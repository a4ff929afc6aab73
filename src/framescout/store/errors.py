"""The store's domain errors: a stable ``code`` for clients and a kind (the class), no HTTP.

`framescout.server.errors` alone maps each kind to the status the API answers; docs/errors.md lists
the kinds, their codes and statuses."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: ``code`` is stable for clients and scripts, ``message`` says what to do about it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(StoreError):
    """Nothing of that name or id in the workspace or project asked about."""


class Conflict(StoreError):
    """The request clashes with what is stored (a name taken, a version already registered)."""


class Invalid(StoreError):
    """A value refused by the store's checks (names, tags, boxes, classes, metadata, filters)."""


class TooLarge(StoreError):
    """Data over one of the store's size limits (an image's bytes)."""


class Unsupported(StoreError):
    """Data of a kind the store does not take (not an image, an image format it cannot read)."""
