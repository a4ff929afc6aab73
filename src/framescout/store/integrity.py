"""Store integrity: database checks, blob re-hashing, missing and orphan files (``framescout doctor``).

Every kind of reference the store holds is collected: image rows (``images.sha256``), dataset versions
(their manifest blob and the image hashes the manifest names) and registered models
(``model_versions.onnx_sha256`` → ``models/<sha>.onnx``). A file nothing refers to is an orphan; files
under ``blobs/tmp``, ``models/*.part`` and ``cache/**/*.part`` are temporary files. Only files older
than a grace period are ever removed, and each removal is re-checked inside a write transaction: an
upload writes its blob inside its own write transaction, so it either committed its row (the blob is
then referenced) or has not begun (and the blob, if any, predates it)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout.store.auth_state import read_generation
from framescout.store.datadir import Store
from framescout.store.models import AuthState, DatasetVersion, Image, ModelVersion, Project

DEFAULT_GRACE_SECONDS = 600.0
_HEX = frozenset("0123456789abcdef")
_BATCH = 500

Progress = Callable[[int], None]
"""Called with the number of bytes just hashed (drives a progress bar)."""


def is_digest(name: str) -> bool:
    return len(name) == 64 and set(name) <= _HEX


@dataclass
class FileIssue:
    """A file on disk that is an orphan, temporary, corrupt, or unexpected."""

    path: str
    kind: str  # "blob", "model", "temp", "stray"
    size: int
    age_seconds: float
    reason: str
    removed: bool = False


@dataclass
class MissingFile:
    """A hash the database refers to whose file is absent (or does not hold those bytes)."""

    sha256: str
    kind: str  # "blob" or "model"
    referenced_by: list[str]
    corrupt: bool = False


@dataclass
class DatabaseCheck:
    path: str
    integrity: list[str] = field(default_factory=list)  # ["ok"] when healthy
    foreign_keys: list[str] = field(default_factory=list)  # violations
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.integrity == ["ok"] and not self.foreign_keys


@dataclass
class Report:
    """What `inspect_store` found (and `fix` changed)."""

    data_dir: str
    grace_seconds: float
    database: DatabaseCheck
    blobs_checked: int = 0
    models_checked: int = 0
    bytes_hashed: int = 0
    missing: list[MissingFile] = field(default_factory=list)
    orphans: list[FileIssue] = field(default_factory=list)
    temp_files: list[FileIssue] = field(default_factory=list)
    stray: list[FileIssue] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # other findings (manifests, auth state)
    fixed: list[str] = field(default_factory=list)

    def removable(self) -> list[FileIssue]:
        """Orphans and temporary files older than the grace period, not yet removed."""
        return [
            f
            for f in (*self.orphans, *self.temp_files)
            if not f.removed and f.age_seconds >= self.grace_seconds
        ]

    def recent(self) -> list[FileIssue]:
        """Orphans and temporary files young enough to belong to work in flight (kept)."""
        return [
            f
            for f in (*self.orphans, *self.temp_files)
            if not f.removed and f.age_seconds < self.grace_seconds
        ]

    @property
    def healthy(self) -> bool:
        return (
            self.database.ok
            and not self.missing
            and not self.removable()
            and not self.problems
            and not [s for s in self.stray if not s.removed]
        )

    def advice(self) -> list[str]:
        """What to do about what is wrong, one line each."""
        out = []
        if not self.database.ok:
            out.append(
                "the database is damaged: stop the server, back up the data directory, then restore "
                "framescout.db from a backup (or try `sqlite3 framescout.db .recover`)"
            )
        if self.missing:
            out.append(
                "images or models whose bytes are missing or corrupt: re-upload those images (or "
                "re-register those models), or restore blobs/ and models/ from a backup"
            )
        if self.removable() or [s for s in self.stray if not s.removed]:
            out.append("orphan, stray and temporary files: run `framescout doctor --fix` to remove them")
        if self.problems:
            out.append("see the problems listed above; `framescout doctor --fix` repairs what it can")
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["database"]["ok"] = self.database.ok
        data["healthy"] = self.healthy
        data["advice"] = self.advice()
        return data


def check_database(db_path: Path) -> DatabaseCheck:
    """SQLite's own ``integrity_check`` and ``foreign_key_check``, on a read-only connection."""
    check = DatabaseCheck(str(db_path))
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        check.error = f"cannot open {db_path}: {exc}"
        return check
    try:
        check.integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        check.foreign_keys = [
            f"{table} row {rowid} refers to a missing {parent} row"
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
        ]
    except sqlite3.Error as exc:
        check.error = f"{db_path} cannot be checked: {exc}"
    finally:
        conn.close()
    return check


@dataclass
class References:
    """Every hash the database refers to, with who refers to it (a few names per hash)."""

    blobs: dict[str, list[str]] = field(default_factory=dict)
    models: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, table: dict[str, list[str]], sha256: str, who: str) -> None:
        names = table.setdefault(sha256, [])
        if len(names) < 5:
            names.append(who)


def collect_references(store: Store) -> References:
    """Read every reference kind: image rows, dataset-version manifests (and their images), models."""
    refs = References()
    with store.db.reading() as session:
        slugs = dict(session.execute(select(Project.id, Project.slug)).tuples().all())
        for image_id, project_id, sha in session.execute(
            select(Image.id, Image.project_id, Image.sha256)
        ).tuples():
            refs.add(refs.blobs, sha, f"image {slugs.get(project_id, '?')}/{image_id}")
        versions = (
            session.execute(
                select(DatasetVersion.project_id, DatasetVersion.name, DatasetVersion.manifest_sha256)
            )
            .tuples()
            .all()
        )
        for project_id, version, number, sha in session.execute(
            select(ModelVersion.project_id, ModelVersion.id, ModelVersion.version, ModelVersion.onnx_sha256)
        ).tuples():
            refs.add(refs.models, sha, f"model {slugs.get(project_id, '?')} version {number} ({version})")
    for project_id, name, sha in versions:
        who = f"dataset version {slugs.get(project_id, '?')}@{name}"
        refs.add(refs.blobs, sha, f"{who} (manifest)")
        for image_sha in _manifest_hashes(store, sha, who, refs.problems):
            refs.add(refs.blobs, image_sha, who)
    return refs


def _manifest_hashes(store: Store, sha: str, who: str, problems: list[str]) -> list[str]:
    try:
        manifest = json.loads(store.blobs.get(sha))
        return [str(i["sha256"]) for i in manifest["images"] if i.get("sha256")]
    except KeyError:
        return []  # the manifest blob itself is missing: reported as a missing blob
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"{who}: its manifest {sha[:12]}… is unreadable ({type(exc).__name__})")
        return []


def _walk(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def _hash_file(path: Path, progress: Progress) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            progress(len(chunk))
    return digest.hexdigest()


def _issue(path: Path, kind: str, reason: str, now: float) -> FileIssue:
    try:
        stat = path.stat()
        size, age = stat.st_size, max(0.0, now - stat.st_mtime)
    except OSError:
        size, age = 0, 0.0
    return FileIssue(str(path), kind, size, age, reason)


def stored_bytes(store: Store) -> int:
    """Bytes under blobs/ and models/ (the progress bar's total)."""
    total = 0
    for path in (*_walk(store.local_blobs.root), *_walk(store.models_dir)):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def inspect_store(
    store: Store,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    database: DatabaseCheck | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check everything; change nothing. Files are listed before references are read, so a blob whose
    upload commits in between is seen as referenced, never as an orphan."""
    report = Report(
        str(store.data_dir),
        grace_seconds,
        database or check_database(store.data_dir / "framescout.db"),
    )
    now = time.time()
    blob_files = list(_walk(store.local_blobs.root))
    model_files = list(_walk(store.models_dir))
    cache_files = list(_walk(store.data_dir / "cache"))
    refs = collect_references(store)
    report.problems.extend(refs.problems)
    with store.db.read_engine.connect() as conn:
        if read_generation(conn) < 0:
            report.problems.append("the auth_state row is missing (key revocation would go unnoticed)")

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
        good = _rehash(path, name, progress, report)
        present[name] = good
        report.blobs_checked += 1
        if name not in refs.blobs:
            reason = "no image, dataset version or manifest refers to it"
            report.orphans.append(_issue(path, "blob", reason + ("" if good else "; corrupt"), now))
    models: dict[str, bool] = {}
    for path in model_files:
        if path.suffix == ".part" or path.name.endswith(".onnx.part"):
            report.temp_files.append(_issue(path, "temp", "unfinished model copy", now))
            continue
        if path.parent != store.models_dir or path.suffix != ".onnx" or not is_digest(path.stem):
            continue  # not a file framescout wrote; left alone
        good = _rehash(path, path.stem, progress, report)
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
        if not models.get(sha, False):
            report.missing.append(MissingFile(sha, "model", who, corrupt=sha in models))
    return report


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
    # BEGIN IMMEDIATE: no upload is between writing its blob and committing its row while we hold it.
    with store.db.writing() as session:
        blob_hashes = [Path(f.path).name for f in batch if f.kind == "blob"]
        model_hashes = [Path(f.path).stem for f in batch if f.kind == "model"]
        used = set(_referenced_now(store, session, blob_hashes, model_hashes))
        for item in batch:
            sha = Path(item.path).name if item.kind == "blob" else Path(item.path).stem
            if sha in used or not _still_old(item, report.grace_seconds, now):
                continue
            if _unlink(item.path):
                item.removed = True
                report.fixed.append(f"removed orphan {item.kind} {item.path}")


def _referenced_now(store: Store, session: Session, blobs: list[str], models: list[str]) -> Iterable[str]:
    if blobs:
        yield from session.scalars(select(Image.sha256).where(Image.sha256.in_(blobs)))
        manifests = list(session.scalars(select(DatasetVersion.manifest_sha256)))
        yield from (m for m in manifests if m in blobs)
        wanted = set(blobs)
        for sha in manifests:
            yield from (h for h in _manifest_hashes(store, sha, "", []) if h in wanted)
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
    try:
        return now - Path(item.path).stat().st_mtime >= grace
    except OSError:
        return False


def _unlink(path: str) -> bool:
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
