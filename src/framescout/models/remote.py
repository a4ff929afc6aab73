"""`RemoteDetector`: a model hosted by a framescout server (or Roboflow), called over HTTP in
Roboflow's hosted-inference shape, so device code can run without a local model."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from framescout.imaging import encode_jpeg, to_bgr
from framescout.models.base import ModelError
from framescout.predictions import Predictions, PredictionsError


class RemoteDetector:
    """``POST {url}/{project}/{version}?api_key=...&confidence=..&overlap=..`` with a base64 JPEG body
    (confidence and overlap in percent), parsed with `Predictions.from_roboflow`."""

    def __init__(
        self,
        url: str,
        api_key: str,
        project: str,
        version: int | str,
        *,
        timeout: float = 30.0,
        quality: int = 90,
    ) -> None:
        self.url = url.rstrip("/")
        self.endpoint = f"{self.url}/{project}/{version}"
        self.api_key, self.quality = api_key, quality
        self.class_names: tuple[str, ...] = ()
        self._http = httpx.Client(timeout=timeout)

    def predict(self, image: Any, confidence: float = 0.35, iou: float = 0.6) -> Predictions:
        body = base64.b64encode(encode_jpeg(to_bgr(image), self.quality))
        params: dict[str, str | float] = {
            "api_key": self.api_key,
            "confidence": round(confidence * 100, 3),
            "overlap": round(iou * 100, 3),
        }
        try:
            response = self._http.post(
                self.endpoint,
                params=params,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot reach {self.url}: {exc}") from None
        if response.status_code in (401, 403):
            raise ModelError(f"{self.endpoint} refused the API key ({response.status_code})")
        if response.status_code == 404:
            raise ModelError(f"{self.endpoint} does not exist (unknown project or version)")
        if response.status_code >= 400:
            raise ModelError(f"{self.endpoint} answered {response.status_code}: {response.text[:200]}")
        try:
            return Predictions.from_roboflow(response.json())
        except (ValueError, PredictionsError) as exc:
            raise ModelError(
                f"{self.endpoint} answered something that is not detection JSON: {exc}"
            ) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteDetector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
