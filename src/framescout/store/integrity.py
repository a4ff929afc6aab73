"""Store integrity (``framescout doctor``): what is on disk against what the database refers to.

`inspect_store` runs the database checks (`database_check`), re-hashes every blob and model file,
and compares the files with every reference the database holds (`references`): a referenced hash
whose file is absent or corrupt is missing; a file nothing refers to is an orphan; files under
``blobs/tmp``, ``models/*.part`` and ``cache/**/*.part`` are temporary files. It changes nothing;
`repair.fix` removes what it found, only past a grace period. The findings are an
`integrity_report.Report`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from framescout.store.auth_state import read_generation
from framescout.store.database_check import DatabaseCheck, check_database
from framescout.store.datadir import Store
from framescout.store.integrity_report import FileIssue, MissingFile, Report
from framescout.store.references import References, collect_references
from framescout.store.s3_blobs import S3BlobStore
from framescout.store.s3_integrity import check_objects, list_objects, stored_object_bytes

DEFAULT_GRACE_SECONDS = 600.0
_HEX = frozenset("0123456789abcdef")

Progress = Callable[[int], None]
"""Called with the number of bytes just hashed (drives a progress bar)."""


def is_digest(name: str) -> bool:
    """Whether ``name`` is a lowercase hex SHA-256 (the name of every blob and model file)."""
    return len(name) == 64 and set(name) <= _HEX


def _walk(root: Path) -> Iterator[Path]:
    """Every file below ``root`` (nothing when it does not exist)."""
    if not root.is_dir():
        return
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def _hash_file(path: Path, progress: Progress) -> str:
    """The file's SHA-256, reading 1 MiB at a time and reporting each chunk to ``progress``."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            progress(len(chunk))
    return digest.hexdigest()


def _issue(path: Path, kind: str, reason: str, now: float) -> FileIssue:
    """A finding about ``path`` with its size and age (zero when the file vanished meanwhile)."""
    try:
        stat = path.stat()
        size, age = stat.st_size, max(0.0, now - stat.st_mtime)
    except OSError:
        size, age = 0, 0.0
    return FileIssue(str(path), kind, size, age, reason)


def stored_bytes(store: Store) -> int:
    """Bytes under blobs/ (or in the bucket) and models/ (the progress bar's total)."""
    blobs = store.blobs
    total = stored_object_bytes(blobs) if isinstance(blobs, S3BlobStore) else 0
    local = [] if isinstance(blobs, S3BlobStore) else _walk(store.local_blobs.root)
    for path in (*local, *_walk(store.models_dir)):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def inspect_store(
    store: Store,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    database: DatabaseCheck | None = None,
    progress: Progress | None = None,
    rehash: bool = True,
) -> Report:
    """Check everything; change nothing. Files (or objects) are listed before references are read, so a
    blob whose upload commits in between is seen as referenced, never as an orphan. Without ``rehash``
    a blob counts as present when it exists (quicker on a bucket; corrupt content goes unnoticed)."""
    report = Report(
        str(store.data_dir),
        grace_seconds,
        database or check_database(store.data_dir / "framescout.db"),
    )
    now = time.time()
    s3 = store.blobs if isinstance(store.blobs, S3BlobStore) else None
    objects = list_objects(s3) if s3 is not None else []
    blob_files = [] if s3 is not None else list(_walk(store.local_blobs.root))
    model_files = list(_walk(store.models_dir))
    cache_files = list(_walk(store.data_dir / "cache"))
    refs = collect_references(store)
    report.problems.extend(refs.problems)
    with store.db.read_engine.connect() as conn:
        if read_generation(conn) < 0:
            report.problems.append("the auth_state row is missing (key revocation would go unnoticed)")

    if s3 is not None:
        present = check_objects(s3, objects, refs, report, now=now, rehash=rehash, progress=progress)
    else:
        present = _check_blob_files(store, blob_files, refs, report, now, progress, rehash)
    models: dict[str, bool] = {}
    for path in model_files:
        if path.suffix == ".part" or path.name.endswith(".onnx.part"):
            report.temp_files.append(_issue(path, "temp", "unfinished model copy", now))
            continue
        if path.parent != store.models_dir or path.suffix != ".onnx" or not is_digest(path.stem):
            continue  # not a file framescout wrote; left alone
        good = _rehash(path, path.stem, progress, report) if rehash else True
        models[path.stem] = good
        report.models_checked += 1
        if path.stem not in refs.models:
            report.orphans.append(_issue(path, "model", "no model version refers to it", now))
    for path in cache_files:
        if path.suffix == ".part":
            report.temp_files.append(_issue(path, "temp", "unfinished cache write", now))

    for sha, who in sorted(refs.blobs.items()):
        if not present.get(sha, False):
            report.missing.append(MissingFile(sha, "blob", who, corrupt=sha in present))
    for sha, who in sorted(refs.models.items()):
        if models.get(sha, False) or (s3 is not None and present.get(sha, False)):
            continue  # a host without the file in models/ fetches it from the shared bucket on first use
        report.missing.append(MissingFile(sha, "model", who, corrupt=sha in models))
    return report


def _check_blob_files(
    store: Store,
    blob_files: list[Path],
    refs: References,
    report: Report,
    now: float,
    progress: Progress | None,
    rehash: bool,
) -> dict[str, bool]:
    """Classify the files under blobs/ (temporary, stray, orphan) and re-hash each blob (without
    ``rehash`` a blob counts as present); ``hash -> content matches``."""
    tmp_root = store.local_blobs.root / "tmp"
    present: dict[str, bool] = {}  # hash -> content matches its name
    for path in blob_files:
        if path.is_relative_to(tmp_root):
            report.temp_files.append(_issue(path, "temp", "unfinished blob write", now))
            continue
        rel = path.relative_to(store.local_blobs.root).parts
        name = path.name
        if len(rel) != 3 or not is_digest(name) or rel[0] != name[:2] or rel[1] != name[2:4]:
            report.stray.append(_issue(path, "stray", "not a blob path (blobs/ab/cd/<sha256>)", now))
            continue
        good = _rehash(path, name, progress, report) if rehash else True
        present[name] = good
        report.blobs_checked += 1
        if name not in refs.blobs:
            reason = "no image, dataset version or manifest refers to it"
            report.orphans.append(_issue(path, "blob", reason + ("" if good else "; corrupt"), now))
    return present


def _rehash(path: Path, name: str, progress: Progress | None, report: Report) -> bool:
    """Whether the file's content hashes to its name (an unreadable file counts as corrupt)."""

    def counted(n: int) -> None:
        report.bytes_hashed += n
        if progress is not None:
            progress(n)

    try:
        return _hash_file(path, counted) == name
    except OSError:
        return False
