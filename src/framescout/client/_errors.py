"""Exceptions raised by the SDK."""

from __future__ import annotations

from typing import Any


class FramescoutError(Exception):
    """Base class for every SDK error."""


class ApiError(FramescoutError):
    """The server answered with an error: ``status``, stable ``code`` and ``message``; ``problems``
    lists the offending keys (``key``, ``where``, ``message``) when the server named several."""

    def __init__(self, status: int, code: str, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.problems: list[Any] = problems or []


class ServerUnavailable(FramescoutError):
    """The server could not be reached (or kept failing) after every retry."""


class UnexpectedResponse(ApiError):
    """The server answered, but not as a framescout server does: a redirect (``code="redirect"``) or a
    success whose body is not the expected JSON (``code="unexpected_response"``), e.g. a captive
    portal's HTML page. Worth retrying later; the ``message`` says what came back."""
