"""What ``framescout doctor`` found: missing, orphan, temporary and stray files, and what to do.

Filled in by `integrity.inspect_store`, updated by `repair.fix`; ``framescout doctor --json`` prints
`Report.to_json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from framescout.store.database_check import DatabaseCheck


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
        if not self.database.ok and self.database.backend != "sqlite":
            out.append(
                f"the database ({self.database.backend}) could not be checked or is not this "
                "framescout's schema: see the database line above"
            )
        elif not self.database.ok:
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
