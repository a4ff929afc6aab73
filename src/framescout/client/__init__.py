"""The framescout Python SDK: `Client(url, api_key)` over the server's REST API."""

from framescout.client._client import Client, UploadResult
from framescout.client._errors import ApiError, FramescoutError, ServerUnavailable, UnexpectedResponse
from framescout.client._rules import RulesText
from framescout.retry import RetryPolicy

__all__ = [
    "ApiError",
    "Client",
    "FramescoutError",
    "RetryPolicy",
    "RulesText",
    "ServerUnavailable",
    "UnexpectedResponse",
    "UploadResult",
]
