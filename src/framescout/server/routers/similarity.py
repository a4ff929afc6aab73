"""Image similarity for the `roboflow` package's ``CLIP_FEATURIZE_URL``, so ``active_learning`` with
the guide's ``similarity_confidence_threshold`` / ``similarity_timeout_limit`` works against framescout.

The package posts ``{"image1": <base64>, "image2": <base64>}`` (as text/plain) and reads
``{"similarity": ...}``. It sends no key of its own, so put the key in the URL:
``CLIP_FEATURIZE_URL=http://host:9001/api/v1/similarity?api_key=KEY``. Similarity is
``1 - hamming / 64`` between perceptual hashes — the measure the collector's novelty stage uses —
so 1.0 means the same picture."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from framescout import jsontext
from framescout.imaging import ImageError, decode_image, to_bgr
from framescout.selection.embedders import PerceptualHash, hamming
from framescout.server.deps import CurrentWorkspace, SettingsDep
from framescout.server.errors import RequestInvalid, RequestTooLarge
from framescout.server.settings import Settings

router = APIRouter(tags=["similarity"])
_HASHER = PerceptualHash()


class SimilarityOut(BaseModel):
    """How alike two images are: 1.0 identical, about 0.5 unrelated."""

    similarity: float
    measure: str = "phash"


def _image(payload: dict[str, Any], key: str, settings: Settings) -> Any:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise RequestInvalid("missing_image", f"{key!r} must be a base64-encoded image")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestInvalid("invalid_base64", f"{key!r} is not valid base64") from None
    try:
        return to_bgr(decode_image(data, max_pixels=settings.max_pixels, max_bytes=settings.max_upload_bytes))
    except ImageError as exc:
        kind = RequestTooLarge if exc.code == "too_large" else RequestInvalid
        raise kind(exc.code, f"{key}: {exc}") from None


def _compare(body: bytes, settings: Settings) -> float:
    payload = jsontext.loads(body, "the body", max_bytes=settings.max_request_bytes)
    if not isinstance(payload, dict):
        raise RequestInvalid("malformed_json", 'the body must be a JSON object with "image1" and "image2"')
    first, second = _image(payload, "image1", settings), _image(payload, "image2", settings)
    distance = int(hamming(_HASHER.hash_one(first), _HASHER.hash_one(second)))
    return 1.0 - distance / _HASHER.dim


@router.post("/api/v1/similarity", response_model=SimilarityOut, summary="How alike two images are")
async def similarity(request: Request, workspace: CurrentWorkspace, settings: SettingsDep) -> SimilarityOut:
    """Compare two base64 images (the request `roboflow` sends to ``CLIP_FEATURIZE_URL``)."""
    body = await request.body()
    return SimilarityOut(similarity=await run_in_threadpool(_compare, body, settings))
