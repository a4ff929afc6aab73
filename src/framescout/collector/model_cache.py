"""The device's model cache for ``framescout collect --model server``: deployed model files downloaded
resumably, verified and kept on disk, plus a record of the last model that loaded (offline boot).

Layout of the cache folder: ``<sha256>.onnx`` (verified files only), ``<sha256>.onnx.part`` (a download
in progress: the next attempt resumes it with ``Range`` / ``If-Range``), ``current.json`` (the last
good `Target`, written atomically once its model has loaded)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from framescout.atomic import write_file_atomically
from framescout.imaging import file_sha256

log = logging.getLogger("framescout.collector.model_sync")

CURRENT = "current.json"
KEEP_FILES = 2
"""Verified model files kept: the running one and the one before it (a rollback needs no download)."""


class DownloadRefused(Exception):
    """A download that does not match what the server announced (hash or size): not used, deleted."""


@dataclass(frozen=True)
class Target:
    """What the deployment route says this device should run (`server.routers.deployments`)."""

    project: str
    deployment_id: int
    version: int
    sha256: str
    size: int
    format: str | None
    class_names: tuple[str, ...]
    download_url: str

    @classmethod
    def from_answer(cls, project: str, body: dict[str, Any]) -> Target:
        """From the route's JSON; `ValueError` for an answer that lacks a field or has the wrong type."""
        try:
            sha256 = str(body["sha256"])
            if len(sha256) != 64:
                raise ValueError(f"sha256 {sha256!r} is not a SHA-256")
            return cls(
                project=project,
                deployment_id=int(body["deployment_id"]),
                version=int(body["version"]),
                sha256=sha256,
                size=int(body["size"]),
                format=None if body.get("format") is None else str(body["format"]),
                class_names=tuple(str(name) for name in body["class_names"]),
                download_url=str(body["download_url"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"the deployment answer lacks or mistypes {exc}") from None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "class_names": list(self.class_names)}


class ModelCache:
    """Verified model files and the last good target, in one folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.last_download: dict[str, Any] | None = None
        """The last transfer: ``version``, ``status`` (200 or 206), ``resumed_from``, ``received``."""

    def path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.onnx"

    def part(self, sha256: str) -> Path:
        return self.root / f"{sha256}.onnx.part"

    def fetch(self, client: httpx.Client, target: Target) -> Path:
        """The verified file of ``target``: already cached, or downloaded now (resuming a ``.part``
        left by an interrupted attempt), checked against the announced size and SHA-256 and renamed
        into place. `DownloadRefused` when the bytes are not the announced ones (the ``.part`` is
        deleted, so the next attempt starts afresh); `httpx.HTTPError` when the transfer fails (the
        ``.part`` stays, for the next attempt to resume)."""
        final = self.path(target.sha256)
        if final.is_file():
            return final
        part = self.part(target.sha256)
        have = part.stat().st_size if part.exists() else 0
        if have > target.size:
            part.unlink()
            have = 0
        while True:
            try:
                self._complete(client, target, part, have)
                break
            except DownloadRefused as exc:
                part.unlink(missing_ok=True)
                if not have:
                    raise
                log.warning("model: the resumed download did not verify (%s); downloading it whole", exc)
                have = 0
        os.replace(part, final)
        _fsync_dir(self.root)
        return final

    def _complete(self, client: httpx.Client, target: Target, part: Path, have: int) -> None:
        """Fetch what ``part`` lacks (from byte ``have``) and verify it; `DownloadRefused` leaves the
        deleting of ``part`` to the caller."""
        if have < target.size or target.size == 0:
            self._download(client, target, part, have)
        self._verify(part, target)

    def _download(self, client: httpx.Client, target: Target, part: Path, have: int) -> None:
        tag = f'"{target.sha256}"'
        headers = {"Range": f"bytes={have}-", "If-Range": tag} if have else {}
        with client.stream("GET", target.download_url, headers=headers) as answer:
            if answer.status_code == 416:  # the server's file is shorter than our part: start again
                part.unlink(missing_ok=True)
                raise DownloadRefused(f"the server refused the range from byte {have} (416)")
            if answer.status_code not in (200, 206):
                answer.read()
                answer.raise_for_status()
                raise DownloadRefused(f"the server answered {answer.status_code} to the download")
            resumed = answer.status_code == 206
            if resumed and not answer.headers.get("content-range", "").startswith(f"bytes {have}-"):
                raise DownloadRefused(
                    f"asked for bytes from {have}, got {answer.headers.get('content-range')}"
                )
            received = 0
            with part.open("ab" if resumed else "wb") as out:
                for chunk in answer.iter_bytes():
                    received += len(chunk)
                    if (have if resumed else 0) + received > target.size:
                        raise DownloadRefused(f"the download runs past the announced {target.size} bytes")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        self.last_download = {
            "version": target.version,
            "status": answer.status_code,
            "resumed_from": have if resumed else 0,
            "received": received,
        }

    @staticmethod
    def _verify(part: Path, target: Target) -> None:
        size = part.stat().st_size if part.exists() else -1
        if size != target.size:
            raise DownloadRefused(
                f"version {target.version}: got {size} bytes, the server announced {target.size}"
            )
        digest = file_sha256(part)
        if digest != target.sha256:
            raise DownloadRefused(
                f"version {target.version}: the download's SHA-256 is {digest[:12]}…, "
                f"not the registered {target.sha256[:12]}… (a corrupt copy on the server or on the way)"
            )

    def remember(self, target: Target) -> None:
        """Record ``target`` as the last model that loaded (atomic), and drop older cached files."""
        write_file_atomically(self.root / CURRENT, json.dumps(target.to_json(), indent=1).encode())
        files = sorted(self.root.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
        keep = {self.path(target.sha256)}
        for path in files:
            if len(keep) >= KEEP_FILES:
                break
            keep.add(path)
        for path in files:
            if path not in keep:
                path.unlink(missing_ok=True)

    def last_good(self, project: str) -> tuple[Target, Path] | None:
        """The last model that loaded for ``project`` and its file, re-verified; ``None`` when there is
        none (or its file is gone or no longer matches its hash)."""
        try:
            target = Target(**json.loads((self.root / CURRENT).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        target = Target(**{**target.to_json(), "class_names": tuple(target.class_names)})
        path = self.path(target.sha256)
        if target.project != project or not path.is_file():
            return None
        if file_sha256(path) != target.sha256:
            log.warning("the cached model %s no longer matches its hash; not used", path.name)
            return None
        return target, path


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
