"""`Client`: the Python SDK over the native REST API (httpx, retries with backoff and jitter)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from framescout.client._errors import ApiError, ServerUnavailable, UnexpectedResponse
from framescout.client._evaluation import EvaluationMethods
from framescout.client._rules import RulesMethods
from framescout.predictions import Predictions
from framescout.predictions.box import boxes_from_predictions
from framescout.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from framescout.upload_fields import SDK_FIELDS, encode_form

ImageInput = bytes | str | Path


@dataclass(frozen=True)
class UploadResult:
    """What an upload answered: the image ``id``, its ``sha256`` and whether it was already there."""

    id: str
    sha256: str
    duplicate: bool
    predictions_added: int = 0
    """Known bytes with predictions of a model version the image lacked: the boxes added."""


def _split_ref(workspace_project: str) -> tuple[str, str]:
    parts = workspace_project.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"expected 'workspace/project'; got {workspace_project!r}")
    return parts[0], parts[1]


def _images_path(workspace_project: str) -> str:
    workspace, project = _split_ref(workspace_project)
    return f"/api/v1/projects/{workspace}/{project}/images"


def _image_bytes(image: ImageInput) -> bytes:
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image)
    return Path(image).read_bytes()


def _image_name(image: ImageInput) -> str | None:
    """The file name of an image given as a path (``None`` for bytes)."""
    return None if isinstance(image, bytes | bytearray | memoryview) else Path(image).name


_SDK_FIELDS = frozenset(spec.name for spec in SDK_FIELDS)


class Client(RulesMethods, EvaluationMethods):
    """A framescout server at ``url`` used with one workspace's ``api_key``.

    Requests that fail with a connection error or an answer in `framescout.retry.RETRY_STATUSES` (408,
    425, 429, 500, 502-504; the collector's transient set too) are retried per ``retry``; uploads are
    safe to retry because the server deduplicates by content hash."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "framescout-client"},
            timeout=timeout,
            transport=transport,
        )

    # ------------------------------------------------------------------ plumbing
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """The answer after retries; an error answer raises, but statuses in ``expect`` (a 304) return."""
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                last = exc
                retry_after = None
            else:
                if response.status_code in expect:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    if response.is_error:
                        raise _api_error(response)
                    if 300 <= response.status_code < 400:
                        raise _redirect_error(method, path, response)
                    return response
                last = _api_error(response)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt + 1 < self.retry.attempts:
                time.sleep(self.retry.delay(attempt, retry_after))
        if isinstance(last, ApiError):
            raise last
        raise ServerUnavailable(
            f"{method} {self.url}{path} failed after {self.retry.attempts} attempts: {last}"
        )

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json_answer(method, path, **kwargs)[1]

    def _json_answer(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """The status and decoded body of a successful answer; `UnexpectedResponse` when it is not JSON."""
        response = self._request(method, path, **kwargs)
        try:
            return response.status_code, response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            raise _not_json(method, path, response) from None

    # ------------------------------------------------------------------ workspaces and projects
    def whoami(self) -> dict[str, Any]:
        """The workspace of this client's key."""
        result: dict[str, Any] = self._json("GET", "/api/v1/whoami")
        return result

    def create_project(
        self, workspace_project: str, *, type: str = "object-detection", classes: Sequence[str] = ()
    ) -> dict[str, Any]:
        workspace, name = _split_ref(workspace_project)
        body = {"name": name, "type": type, "classes": list(classes)}
        result: dict[str, Any] = self._json("POST", f"/api/v1/projects/{workspace}", json=body)
        return result

    def list_projects(self, workspace: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json("GET", f"/api/v1/projects/{workspace}")
        return result

    def get_project(self, workspace_project: str) -> dict[str, Any]:
        workspace, project = _split_ref(workspace_project)
        result: dict[str, Any] = self._json("GET", f"/api/v1/projects/{workspace}/{project}")
        return result

    # ------------------------------------------------------------------ images
    def upload_image(
        self,
        workspace_project: str,
        image: ImageInput,
        *,
        name: str | None = None,
        split: str | None = None,
        batch: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        predictions: Predictions | Mapping[str, Any] | str | None = None,
        sampling_rule: str | None = None,
        sampling_reason: str | None = None,
        model_version: str | None = None,
        device_id: str | None = None,
    ) -> UploadResult:
        """Upload image bytes (or a file path); the same bytes twice answer ``duplicate=True``.

        The keyword arguments are the fields of `framescout.upload_fields.UploadFields` the SDK sends
        (``tests/test_upload_fields.py`` keeps this signature in step with the definition)."""
        given = dict(locals())  # the arguments by name, taken before any other local exists
        path = _images_path(workspace_project)
        fields = {k: v for k, v in given.items() if k in _SDK_FIELDS}
        fields["name"] = name or _image_name(image)
        files = {"file": (fields["name"] or "image", _image_bytes(image), "application/octet-stream")}
        return self._upload(path, encode_form(fields), files)

    def upload_image_url(self, workspace_project: str, url: str, **fields: Any) -> UploadResult:
        """Have the server fetch a hosted image (http/https) and store it like an upload; ``fields``
        are `upload_image`'s keyword arguments."""
        return self._upload(_images_path(workspace_project), {**encode_form(fields), "url": url}, {})

    def _upload(self, path: str, form: dict[str, Any], files: dict[str, Any]) -> UploadResult:
        return _upload_result("POST", path, *self._json_answer("POST", path, data=form, files=files))

    def list_images(self, workspace_project: str, **filters: Any) -> dict[str, Any]:
        """One page: ``{"images": [...], "total", "limit", "offset"}``; filters as in the API."""
        workspace, project = _split_ref(workspace_project)
        params = {
            k: (str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items() if v is not None
        }
        result: dict[str, Any] = self._json(
            "GET", f"/api/v1/projects/{workspace}/{project}/images", params=params
        )
        return result

    def iter_images(
        self, workspace_project: str, *, page_size: int = 200, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every matching image, page by page."""
        offset = 0
        while True:
            page = self.list_images(workspace_project, limit=page_size, offset=offset, **filters)
            yield from page["images"]
            offset += len(page["images"])
            if not page["images"] or offset >= page["total"]:
                return

    def get_image(self, workspace_project: str, image_id: str) -> dict[str, Any]:
        workspace, project = _split_ref(workspace_project)
        result: dict[str, Any] = self._json(
            "GET", f"/api/v1/projects/{workspace}/{project}/images/{image_id}"
        )
        return result

    def download_image(self, workspace_project: str, image_id: str, *, thumbnail: int | None = None) -> bytes:
        """The original bytes, or a JPEG thumbnail no larger than ``thumbnail`` pixels."""
        workspace, project = _split_ref(workspace_project)
        base = f"/api/v1/projects/{workspace}/{project}/images/{image_id}"
        if thumbnail:
            return self._request("GET", f"{base}/thumbnail", params={"size": thumbnail}).content
        return self._request("GET", f"{base}/file").content

    # ------------------------------------------------------------------ annotations
    def add_annotations(
        self,
        workspace_project: str,
        image_id: str,
        annotation: str | Path,
        *,
        format: str | None = None,
        kind: str = "ground_truth",
        overwrite: bool = False,
        labelmap: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Attach an annotation file (COCO, VOC, YOLO or Roboflow JSON; text or a path) to an image."""
        workspace, project = _split_ref(workspace_project)
        filename = None
        if isinstance(annotation, Path):
            filename, annotation = annotation.name, annotation.read_text()
        params: dict[str, Any] = {"kind": kind, "overwrite": str(overwrite).lower()}
        for key, value in (("format", format), ("filename", filename)):
            if value:
                params[key] = value
        if labelmap:
            params["labelmap"] = ",".join(labelmap)
        result: dict[str, Any] = self._json(
            "POST",
            f"/api/v1/projects/{workspace}/{project}/images/{image_id}/annotations",
            params=params,
            content=annotation.encode(),
            headers={"Content-Type": "text/plain"},
        )
        return result

    def add_predictions(
        self,
        workspace_project: str,
        image_id: str,
        model_version: str,
        predictions: Predictions | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    ) -> dict[str, Any]:
        """Make ``predictions`` the image's predictions of ``model_version`` (other versions' and the
        ground truth stay): a `Predictions`, Roboflow boxes (``x``, ``y``, ``width``, ``height``,
        ``class``, ``confidence``) or a Roboflow answer. Returns ``count`` and ``replaced``."""
        workspace, project = _split_ref(workspace_project)
        payload: Any
        if isinstance(predictions, Predictions):
            payload = predictions.to_roboflow()
        elif isinstance(predictions, Mapping):
            payload = dict(predictions)
        else:
            payload = [dict(box) for box in predictions]
        result: dict[str, Any] = self._json(
            "POST",
            f"/api/v1/projects/{workspace}/{project}/images/{image_id}/predictions",
            json={"model_version": model_version, "predictions": payload},
        )
        return result

    def list_annotations(
        self, workspace_project: str, image_id: str, kind: str | None = None
    ) -> list[dict[str, Any]]:
        workspace, project = _split_ref(workspace_project)
        params = {"kind": kind} if kind else {}
        result: list[dict[str, Any]] = self._json(
            "GET", f"/api/v1/projects/{workspace}/{project}/images/{image_id}/annotations", params=params
        )
        return result

    def review_image(
        self,
        workspace_project: str,
        image_id: str,
        boxes: Predictions | Sequence[Mapping[str, Any]] = (),
        *,
        status: str = "reviewed",
        reviewer: str = "",
    ) -> dict[str, Any]:
        """Store a review, as the review page does: ``boxes`` (a `Predictions`, or dicts with ``class``,
        ``x_min``, ``y_min``, ``x_max``, ``y_max`` in pixels) become the image's ground truth, and the
        image is marked ``reviewed`` (or ``rejected``, with no boxes) under ``reviewer``."""
        workspace, project = _split_ref(workspace_project)
        if isinstance(boxes, Predictions):
            rows = [box.to_wire() for box in boxes_from_predictions(boxes)]
        else:
            rows = [dict(box) for box in boxes]
        result: dict[str, Any] = self._json(
            "POST",
            f"/api/v1/projects/{workspace}/{project}/images/{image_id}/review",
            json={"status": status, "boxes": rows, "reviewer": reviewer},
        )
        return result

    # ------------------------------------------------------------------ devices
    def send_heartbeat(self, workspace_project: str, device_id: str, heartbeat: dict[str, Any]) -> None:
        """Tell the server this device is alive and what it did (`framescout.collector.heartbeat`)."""
        workspace, project = _split_ref(workspace_project)
        path = f"/api/v1/projects/{workspace}/{project}/devices/{quote(device_id, safe='')}/heartbeat"
        self._request("POST", path, json=heartbeat)

    def list_devices(
        self, workspace_project: str, labels: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The project's devices with their state (``online``/``stale``/``offline``) and counters."""
        workspace, project = _split_ref(workspace_project)
        query = [("label", f"{key}={value}") for key, value in (labels or {}).items()]
        result: list[dict[str, Any]] = self._json(
            "GET", f"/api/v1/projects/{workspace}/{project}/devices", params=query
        )
        return result

    # ------------------------------------------------------------------ hosted inference
    def predict(
        self,
        project: str,
        version: int,
        image: ImageInput,
        *,
        confidence: float = 0.4,
        overlap: float = 0.3,
        classes: Sequence[str] = (),
    ) -> Predictions:
        """Run a registered model version (``framescout models add``) on an image; thresholds in [0, 1]."""
        data = _image_bytes(image)
        params: dict[str, Any] = {"confidence": confidence * 100, "overlap": overlap * 100}
        if classes:
            params["classes"] = ",".join(classes)
        body = self._json(
            "POST",
            f"/{project}/{version}",
            params=params,
            content=base64.b64encode(data),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return Predictions.from_roboflow(body)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        problems = error.get("problems") if isinstance(error.get("problems"), list) else []
        return ApiError(response.status_code, str(error["code"]), str(error["message"]), problems)
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "http_error", response.text[:500] or response.reason_phrase)


def _redirect_error(method: str, path: str, response: httpx.Response) -> UnexpectedResponse:
    """A 3xx: the SDK never follows redirects (a POST would be replayed as a GET, or sent to a portal)."""
    status, location = response.status_code, response.headers.get("location", "")[:200]
    why = f"was redirected ({status}) to {location!r}; framescout does not follow redirects"
    return UnexpectedResponse(
        status, "redirect", f"{method} {path} {why}: check the server URL (a captive portal or a proxy?)"
    )


def _not_json(method: str, path: str, response: httpx.Response) -> UnexpectedResponse:
    """A success whose body is not JSON (an HTML sign-in page, a proxy's answer)."""
    status, kind = response.status_code, response.headers.get("content-type", "no content type")[:80]
    body = f"{status} with {kind} instead of JSON: {response.text[:120]!r}"
    why = "(is this a framescout server, or a captive portal / proxy page?)"
    return UnexpectedResponse(status, "unexpected_response", f"{method} {path} answered {body} {why}")


def _upload_result(method: str, path: str, status: int, body: Any) -> UploadResult:
    """The upload answer, checked: a 2xx without ``id``, ``sha256`` and ``duplicate`` is not a success."""
    try:
        added = int(body.get("predictions_added") or 0)
        return UploadResult(str(body["id"]), str(body["sha256"]), bool(body["duplicate"]), added)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError):
        raise UnexpectedResponse(
            status,
            "unexpected_response",
            f"{method} {path} answered {status} with JSON without id, sha256 and duplicate: "
            f"{str(body)[:120]!r}",
        ) from None
