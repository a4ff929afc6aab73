"""Drive the official ``roboflow`` package the way the guide does; run as a child process.

``python rf_driver.py FLOW ARGS_JSON`` with ``API_URL`` / ``OBJECT_DETECTION_URL`` pointing at a
framescout server; prints one JSON line ``RESULT {...}`` for the test to check."""

from __future__ import annotations

import json
import sys
from typing import Any

from roboflow import Roboflow


def upload(args: dict[str, Any]) -> Any:
    project = Roboflow(api_key=args["key"]).workspace().project(args["project"])
    options = args.get("options", {})
    results = project.upload(args["path"], num_retry_uploads=3, **options)
    return [{"image": r["image"], "annotation": r["annotation"]} for r in results]


def predict(args: dict[str, Any]) -> Any:
    project = Roboflow(api_key=args["key"]).workspace().project(args["project"])
    model = project.version(args["version"]).model
    return model.predict(args["path"], confidence=args.get("confidence", 40), overlap=30).json()[
        "predictions"
    ]


def active_learning(args: dict[str, Any]) -> Any:
    workspace = Roboflow(api_key=args["key"]).workspace()
    conditionals = {k: float(v) if v in ("inf", "-inf") else v for k, v in args["conditionals"].items()}
    return workspace.active_learning(
        raw_data_location=args["folder"],
        raw_data_extension=".jpg",
        inference_endpoint=[args["project"], args["version"]],
        upload_destination=args["destination"],
        conditionals=conditionals,
    )


def workspace_info(args: dict[str, Any]) -> Any:
    workspace = Roboflow(api_key=args["key"]).workspace()
    project = workspace.project(args["project"])
    return {"url": workspace.url, "projects": workspace.projects(), "id": project.id}


FLOWS = {f.__name__: f for f in (upload, predict, active_learning, workspace_info)}

if __name__ == "__main__":
    result = FLOWS[sys.argv[1]](json.loads(sys.argv[2]))
    print("RESULT " + json.dumps(result, default=str))
