"""The SDK's side of evaluation: a model version measured on the project's reviewed frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _evaluation_path(workspace_project: str) -> str:
    from framescout.client._client import _split_ref  # the module that mixes this class in

    workspace, project = _split_ref(workspace_project)
    return f"/api/v1/projects/{workspace}/{project}/evaluation"


class EvaluationMethods:
    """`Client`'s evaluation methods (a mix-in: `Client` provides the retrying ``_json``)."""

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def evaluation(
        self,
        workspace_project: str,
        model_version: str,
        *,
        compare: str | None = None,
        rule: str | None = None,
        tag: str | None = None,
        device_id: str | None = None,
        since: datetime | str | None = None,
    ) -> dict[str, Any]:
        """``model_version`` measured on the frames with ground truth and its predictions (optionally
        only those a ``rule`` kept, with a ``tag``, from a ``device_id``, seen ``since``): ``images``,
        ``ap``, ``ap50``, ``per_class``, ``recommended_threshold``, … (null measures when no frame).
        With ``compare``, both versions on the frames both predicted, plus ``compare`` and ``delta``.
        `ApiError` 404 ``model_version_not_found`` for a version the project does not know."""
        given = {"model_version": model_version, "compare": compare, "rule": rule, "tag": tag}
        given |= {
            "device_id": device_id,
            "since": since.isoformat() if isinstance(since, datetime) else since,
        }
        params = {key: value for key, value in given.items() if value is not None}
        result: dict[str, Any] = self._json("GET", _evaluation_path(workspace_project), params=params)
        return result

    def evaluation_versions(self, workspace_project: str) -> dict[str, Any]:
        """The project's model versions, oldest first, each with ``predicted_frames`` and
        ``evaluable_frames`` (those with ground truth), and ``default``: the newest evaluable one."""
        result: dict[str, Any] = self._json("GET", _evaluation_path(workspace_project) + "/versions")
        return result
