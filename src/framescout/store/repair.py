"""``framescout doctor --fix``: remove what `integrity.inspect_store` found removable.

Only orphan, stray and temporary files older than the grace period go, and each orphan is re-checked
for references inside a write transaction first: an upload writes its blob inside its own write
transaction, which excludes this one (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL both take the hash's
advisory lock, `hash_locks`), so it either committed its row (the blob is then referenced) or has not
written the blob yet."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout.store.datadir import Store
from framescout.store.hash_locks import lock_hashes
from framescout.store.integrity_report import FileIssue, Report
from framescout.store.models import AuthState, DatasetVersion, Image, ModelVersion
from framescout.store.references import manifest_hashes

_BATCH = 500


def fix(store: Store, report: Report) -> None:
    """Remove orphans, stray and temporary files older than the grace period; recreate a missing auth
    state row. Each orphan is re-checked for references inside a write transaction before it goes."""
    now = time.time()
    old = [f for f in report.removable() if f.kind == "temp"]
    for item in old:
        if _still_old(item, report.grace_seconds, now) and _unlink(item.path):
            item.removed = True
            report.fixed.append(f"removed temp file {item.path}")
    for item in report.stray:
        if _still_old(item, report.grace_seconds, now) and _unlink(item.path):
            item.removed = True
            report.fixed.append(f"removed stray file {item.path}")
    orphans = [f for f in report.removable() if f.kind in ("blob", "model")]
    for start in range(0, len(orphans), _BATCH):
        _remove_orphans(store, orphans[start : start + _BATCH], report, now)
    with store.db.writing():  # uploads create fan-out folders inside their write transaction
        _prune_empty_dirs(store.local_blobs.root)
    if any("auth_state row is missing" in p for p in report.problems):
        with store.db.writing() as session:
            if session.get(AuthState, 1) is None:
                session.add(AuthState(id=1, generation=1))
        report.problems = [p for p in report.problems if "auth_state" not in p]
        report.fixed.append("recreated the auth_state row")


def _remove_orphans(store: Store, batch: list[FileIssue], report: Report, now: float) -> None:
    """Remove the orphans of ``batch`` that nothing refers to yet, under one write transaction."""
    # BEGIN IMMEDIATE (SQLite) or the hashes' advisory locks (PostgreSQL): no upload is between
    # writing one of these blobs and committing its row while we hold it.
    with store.db.writing() as session:
        blob_hashes = [Path(f.path).name for f in batch if f.kind == "blob"]
        model_hashes = [Path(f.path).stem for f in batch if f.kind == "model"]
        lock_hashes(session, blob_hashes)
        used = set(_referenced_now(store, session, blob_hashes, model_hashes))
        for item in batch:
            sha = Path(item.path).name if item.kind == "blob" else Path(item.path).stem
            if sha in used or not _still_old(item, report.grace_seconds, now):
                continue
            if _unlink(item.path):
                item.removed = True
                report.fixed.append(f"removed orphan {item.kind} {item.path}")


def _referenced_now(store: Store, session: Session, blobs: list[str], models: list[str]) -> Iterable[str]:
    """The hashes among ``blobs`` and ``models`` the database refers to at this moment."""
    if blobs:
        yield from session.scalars(select(Image.sha256).where(Image.sha256.in_(blobs)))
        manifests = list(session.scalars(select(DatasetVersion.manifest_sha256)))
        yield from (m for m in manifests if m in blobs)
        wanted = set(blobs)
        for sha in manifests:
            yield from (h for h in manifest_hashes(store, sha, "", []) if h in wanted)
    if models:
        yield from session.scalars(
            select(ModelVersion.onnx_sha256).where(ModelVersion.onnx_sha256.in_(models))
        )


def _prune_empty_dirs(root: Path) -> None:
    """Drop fan-out folders emptied by removals (``blobs/ab/cd``), never ``blobs/tmp`` itself."""
    for level in ("??/??", "??"):
        for folder in root.glob(level):
            if folder.is_dir() and folder.name != "tmp":
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only succeeds when empty


def _still_old(item: FileIssue, grace: float, now: float) -> bool:
    """Whether the file is still older than the grace period (not rewritten since it was listed)."""
    try:
        return now - Path(item.path).stat().st_mtime >= grace
    except OSError:
        return False


def _unlink(path: str) -> bool:
    """Remove a file; ``True`` when it is gone (also when someone else removed it first)."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
