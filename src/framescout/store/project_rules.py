"""A project's server-held sampling rules: every accepted version kept, the newest one current.

`put` validates a pushed text with the code ``framescout rules check`` runs
(`framescout.sampling.config.config_from_text`), refuses rules that send frames to a project the
workspace does not have, and adds a version only when the text changed (same ETag: nothing added).
The ETag of a version is the SHA-256 of its canonical text (`canonical_text`), so every server
worker, the CLI and the devices name a version the same way."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout.sampling.config import ConfigError, ConfigFormat, SamplingConfig, config_from_text
from framescout.sampling.config_messages import Problem
from framescout.store.errors import Invalid, NotFound, Outdated, TooLarge
from framescout.store.models import Project, ProjectRules

MAX_RULES_BYTES = 256 * 1024
"""The largest rules text a project keeps (real ones are a few kilobytes)."""
FORMATS: tuple[ConfigFormat, ...] = ("yaml", "json")
ROUTING_MODULE = "framescout.sampling.routing"


@dataclass(frozen=True)
class RulesVersion:
    """One stored version: its number, ETag, format, text, size, who pushed it and when."""

    version: int
    etag: str
    format: str
    text: str
    size_bytes: int
    pushed_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: ProjectRules) -> RulesVersion:
        return cls(row.version, row.etag, row.format, row.text, row.size_bytes, row.pushed_by, row.created_at)


@dataclass(frozen=True)
class PutResult:
    """What `put` did: the current version after it, and whether it added that version."""

    current: RulesVersion
    created: bool


def canonical_text(text: str) -> str:
    """The text as stored and hashed: no byte-order mark, ``\\n`` line endings, one final newline."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n"


def etag_of(text: str) -> str:
    """A version's ETag: the SHA-256 (hex) of its canonical text."""
    return hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()


def destination_projects(config: SamplingConfig) -> set[str]:
    """SEAM (issue 14, part "routing"): the projects ``config``'s rules send frames to.

    Calls ``framescout.sampling.routing.destination_projects`` once that module exists; until then no
    rule can name a destination, so the answer is the empty set. A module that exists but fails to
    import raises: a broken routing module must not wave every destination through."""
    if importlib.util.find_spec(ROUTING_MODULE) is None:
        return set()
    routing: Any = importlib.import_module(ROUTING_MODULE)
    return set(routing.destination_projects(config))


def validate(text: str, fmt: ConfigFormat) -> SamplingConfig:
    """The configuration a pushed text describes; `Invalid` ``invalid_rules`` listing each bad key."""
    if fmt not in FORMATS:
        raise Invalid("invalid_rules_format", f"rules format {fmt!r} is not one of {', '.join(FORMATS)}")
    size = len(text.encode("utf-8"))
    if size > MAX_RULES_BYTES:
        raise TooLarge("rules_too_large", f"the rules are {size:,} bytes; at most {MAX_RULES_BYTES:,}")
    try:
        return config_from_text(text, fmt, f"rules.{fmt}")
    except ConfigError as exc:
        raise Invalid("invalid_rules", _utf8(str(exc)), problems=_wire(exc.problems)) from None


def _utf8(text: str) -> str:
    """``text`` with lone surrogates (a YAML ``"\\ud800"`` escape quoted back in a message) written as
    ``\\ud800``, so the answer can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _wire(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"key": _utf8(p.key), "where": _utf8(p.where), "message": _utf8(p.message)} for p in problems]


def _check_destinations(session: Session, project: Project, config: SamplingConfig) -> None:
    """Refuse rules naming a destination that is not a project of ``project``'s workspace."""
    wanted = destination_projects(config)
    if not wanted:
        return
    have = set(session.scalars(select(Project.slug).where(Project.workspace_id == project.workspace_id)))
    missing = wanted - have
    if not missing:
        return
    problems = []
    for i, rule in enumerate(config.rules):
        slug = getattr(rule, "project", None)
        if slug in missing:
            where = f"rules[{i}] ({rule.name or rule.type}).project"
            message = f"no project {slug!r} in workspace {project.workspace.slug!r}; create it first"
            problems.append(Problem(f"rules[{i}].project", where, message))
    if not problems:  # the routing module found them somewhere else: name the projects
        names = ", ".join(sorted(missing))
        message = f"no project {names} in workspace {project.workspace.slug!r}"
        problems.append(Problem("", "(top level)", message))
    raise Invalid(
        "unknown_destination",
        "the rules send frames to projects that do not exist:\n  " + "\n  ".join(map(str, problems)),
        problems=_wire(tuple(problems)),
    )


def _newest(session: Session, project: Project) -> ProjectRules | None:
    return session.scalar(
        select(ProjectRules)
        .where(ProjectRules.project_id == project.id)
        .order_by(ProjectRules.version.desc())
        .limit(1)
    )


def get_current(session: Session, project: Project) -> RulesVersion | None:
    """The project's current rules (its newest version), or ``None`` when none was pushed yet."""
    row = _newest(session, project)
    return None if row is None else RulesVersion.of(row)


def require_current(session: Session, project: Project) -> RulesVersion:
    """The current rules; `NotFound` ``rules_not_found`` when the project has none yet."""
    current = get_current(session, project)
    if current is None:
        raise NotFound(
            "rules_not_found",
            f"project {project.workspace.slug}/{project.slug} has no server-held rules yet; "
            f"push some with `framescout rules push {project.workspace.slug}/{project.slug} FILE`",
        )
    return current


def get_version(session: Session, project: Project, etag: str) -> RulesVersion:
    """A stored version by its ETag (`NotFound` ``rules_version_not_found`` when none has it)."""
    row = session.scalar(
        select(ProjectRules)
        .where(ProjectRules.project_id == project.id, ProjectRules.etag == etag.strip().strip('"'))
        .order_by(ProjectRules.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("rules_version_not_found", f"project {project.slug!r} has no rules version {etag!r}")
    return RulesVersion.of(row)


def history(session: Session, project: Project, limit: int | None = None) -> list[RulesVersion]:
    """Every version of the project's rules (the newest ``limit`` when given), newest first."""
    query = select(ProjectRules).where(ProjectRules.project_id == project.id)
    rows = session.scalars(query.order_by(ProjectRules.version.desc()).limit(limit))
    return [RulesVersion.of(row) for row in rows]


def put(
    session: Session,
    project: Project,
    text: str,
    fmt: ConfigFormat,
    pushed_by: str,
    if_match: str | None = None,
) -> PutResult:
    """Validate ``text`` and make it the project's current rules, in the caller's write transaction.

    A text whose ETag is the current one's adds nothing (``created`` is false). ``if_match`` (an ETag,
    or ``*`` for "whatever is current") makes the push conditional: `Outdated` ``rules_changed`` when
    the current version is another one, so two editors cannot overwrite each other unseen. The
    project's row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    serialises writers already), so concurrent pushes get consecutive version numbers."""
    text = canonical_text(text)
    config = validate(text, fmt)
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    _check_destinations(session, project, config)
    newest = _newest(session, project)
    if if_match is not None and not _matches(if_match, newest):
        now = f"version {newest.version} ({newest.etag})" if newest else "no rules"
        raise Outdated(
            "rules_changed",
            f"the rules changed since you read them: the current one is {now}; pull, then push again",
        )
    etag = etag_of(text)
    if newest is not None and newest.etag == etag:
        return PutResult(RulesVersion.of(newest), created=False)
    row = ProjectRules(
        project_id=project.id,
        version=(newest.version if newest else 0) + 1,
        etag=etag,
        format=fmt,
        text=text,
        size_bytes=len(text.encode("utf-8")),
        pushed_by=pushed_by.strip()[:200] or "unknown",
    )
    session.add(row)
    session.flush()
    return PutResult(RulesVersion.of(row), created=True)


def _matches(if_match: str, newest: ProjectRules | None) -> bool:
    """``If-Match`` semantics: ``*`` matches any current version; else one of the listed ETags must
    (strong comparison: a weak ``W/"..."`` tag never matches)."""
    if newest is None:
        return False
    tags = {tag.strip().strip('"') for tag in if_match.split(",") if not tag.strip().startswith("W/")}
    return "*" in tags or newest.etag in tags
