"""Copying blobs and model files to a new store, each re-hashed on the target after it is written
(`migrate_store`'s files).

Which blobs: every hash the source database refers to (`references.collect_references`: image rows,
dataset-version manifests and the image hashes they name). Orphans are not copied. Each blob is read
from the source, checked against its name, written to the target store, read back from the target and
hashed again; only then is it recorded in a journal (one hash per line, appended and flushed), so a run
interrupted anywhere skips, on the next run, exactly the blobs already verified and never uploads one
twice. Several blobs move at once (threads: the work is network waiting).

Model files (``models/<sha256>.onnx``) are files of the data directory. Into an ``s3://`` target they
are put like blobs (`ModelFiles` as the source: every host fetches a model from the shared store on first
use, `framescout.server.inference.ModelRegistry`); into a directory given for them they are copied and
re-hashed (`copy_models`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from framescout.imaging import file_sha256, sha256_hex
from framescout.store.blobs import BlobStore

JOBS = 4
Advance = Callable[[int], None]


class Readable(Protocol):
    """Where blobs are read from: a `BlobStore`, or `ModelFiles`."""

    def get(self, sha256: str) -> bytes:
        """The bytes named by ``sha256``; `KeyError` when absent."""
        ...


class ModelFiles:
    """A data directory's ``models/`` read like a blob store (``<sha256>.onnx``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, sha256: str) -> bytes:
        try:
            return (self.root / f"{sha256}.onnx").read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None


class Journal:
    """The hashes already verified on one target: a text file, one hash a line, appended as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            lines = path.read_text().split("\n")
        except FileNotFoundError:
            lines = []
        self.verified = {line for line in lines if len(line) == 64}  # a torn last line is ignored

    def add(self, sha256: str) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(f"\n{sha256}\n")
                f.flush()
                os.fsync(f.fileno())
            self.verified.add(sha256)


def journal_path(source_dir: Path, target_description: str) -> Path:
    """Where the journal for one source and one target lives: in the source's disposable cache."""
    name = hashlib.sha256(target_description.encode()).hexdigest()[:16]
    return source_dir / "cache" / "migrate-store" / f"{name}.verified"


@dataclass
class BlobCopy:
    """What the blob pass did: hashes uploaded and verified now, already verified by an earlier run,
    and the ones that failed (with why)."""

    uploaded: int = 0
    already: int = 0
    bytes_copied: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def _read_checked(store: Readable, sha256: str, absent: str, wrong: str) -> tuple[bytes | None, str | None]:
    """The blob's bytes when they match their hash, else ``(None, why)``."""
    try:
        data = store.get(sha256)
    except KeyError:
        return None, absent
    return (data, None) if sha256_hex(data) == sha256 else (None, wrong)


def _copy_one(sha256: str, source: Readable, target: BlobStore) -> tuple[int, str | None]:
    data, problem = _read_checked(
        source,
        sha256,
        "missing in the source store (framescout doctor lists it)",
        "corrupt in the source store (its bytes do not match its hash)",
    )
    if data is None:
        return 0, problem
    target.put(data)
    _, problem = _read_checked(
        target,
        sha256,
        "not readable from the target after writing it",
        "the target returned other bytes than were written",
    )
    return (0, problem) if problem else (len(data), None)


def _ensure(sha256: str, source: Readable, target: BlobStore, journal: Journal) -> tuple[int, str | None]:
    """``(-1, None)`` for a blob verified by an earlier run and still there (one HEAD), else copy it."""
    if sha256 in journal.verified and target.exists(sha256):
        return -1, None
    return _copy_one(sha256, source, target)


def copy_blobs(
    hashes: Iterable[str],
    source: Readable,
    target: BlobStore,
    journal: Journal,
    advance: Advance,
    *,
    jobs: int = JOBS,
) -> BlobCopy:
    """Every hash copied, re-hashed on the target and journalled, except those an earlier run
    verified that are still on the target (one HEAD each; a blob deleted there since is copied again).
    Every hash not in ``failed`` afterwards is on the target and was verified by its hash."""
    result = BlobCopy()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {sha: pool.submit(_ensure, sha, source, target, journal) for sha in sorted(set(hashes))}
        for sha, future in futures.items():
            try:
                size, problem = future.result()
            except Exception as exc:  # the target store failed: say which blob and why, go on
                size, problem = 0, f"{type(exc).__name__}: {exc}"
            if problem is not None:
                result.failed[sha] = problem
            elif size < 0:
                result.already += 1
            else:
                journal.add(sha)
                result.uploaded += 1
                result.bytes_copied += size
            advance(1)
    return result


@dataclass
class ModelCopy:
    """Model files: copied into ``target`` (a data directory's ``models/``) or left for the operator."""

    names: list[str]
    target: Path | None
    copied: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def copy_models(
    hashes: Iterable[str], source_dir: Path, target_dir: Path | None, advance: Advance
) -> ModelCopy:
    """Copy ``<sha>.onnx`` from ``source_dir`` into ``target_dir`` (when given), each re-hashed there."""
    names = sorted(f"{sha}.onnx" for sha in set(hashes))
    result = ModelCopy(names, target_dir)
    if target_dir is None:
        return result
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, dst = source_dir / name, target_dir / name
        sha = name.removesuffix(".onnx")
        try:
            if not (dst.is_file() and file_sha256(dst) == sha):
                tmp = dst.with_suffix(".part")
                shutil.copyfile(src, tmp)
                tmp.replace(dst)
            if file_sha256(dst) != sha:
                result.failed[name] = "the copy does not match its hash (is the source file corrupt?)"
            else:
                result.copied += 1
        except OSError as exc:
            result.failed[name] = exc.strerror or str(exc)
        advance(1)
    return result
