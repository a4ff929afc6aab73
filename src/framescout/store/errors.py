"""The store's domain errors: a stable ``code`` for clients and a kind (the class), no HTTP.

`framescout.server.errors` alone maps each kind to the status the API answers; docs/errors.md lists
the kinds, their codes and statuses."""

from __future__ import annotations

from framescout.errors import CodedError


class StoreError(CodedError):
    """Base of the store's errors (the CLI reports them; the API answers them)."""


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


class Outdated(StoreError):
    """The caller's version is no longer the current one (a rules push whose ``If-Match`` names an
    older version): re-read, then try again."""
