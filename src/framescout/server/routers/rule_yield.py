"""Rule yield: which sampling rules' frames the reviewers corrected most, per model version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from framescout.server.deps import PathProject, StoreDep
from framescout.store.rule_yield import RuleYield, rules_yield

router = APIRouter(prefix="/api/v1/projects", tags=["evaluation"])


class RuleYieldOut(BaseModel):
    """One sampling rule under one model version (see docs/evaluation.md, "Rule yield")."""

    rule: str = Field(description="The rule that kept the frames, or `(no rule: <source>)`.")
    model_version: str | None = Field(description="`null`: frames that carry no model version.")
    kept: int = Field(description="Frames the rule kept that carry this version.")
    reviewed: int = Field(description="Of those, frames a reviewer saved as `reviewed`.")
    unchanged: int = Field(description="Reviewed frames whose ground truth is the predictions as they were.")
    added: int
    removed: int
    relabelled: int
    moved: int
    corrections: int = Field(description="added + removed + relabelled + moved.")
    corrections_per_reviewed_frame: float | None = Field(description="The ranking; `null` before any review.")

    @classmethod
    def of(cls, row: RuleYield) -> RuleYieldOut:
        c = row.changes
        return cls(
            rule=row.rule,
            model_version=row.model_version,
            kept=row.kept,
            reviewed=row.reviewed,
            unchanged=c.unchanged if c else 0,
            added=c.added if c else 0,
            removed=c.removed if c else 0,
            relabelled=c.relabelled if c else 0,
            moved=c.moved if c else 0,
            corrections=c.corrections if c else 0,
            corrections_per_reviewed_frame=row.corrections_per_reviewed_frame,
        )


class RulesYieldOut(BaseModel):
    model_version: str | None
    since: datetime | None
    rules: list[RuleYieldOut] = Field(description="Highest corrections per reviewed frame first.")


@router.get("/{workspace}/{project}/rules-yield", response_model=RulesYieldOut)
def rules_yield_route(
    project: PathProject,
    store: StoreDep,
    model_version: Annotated[str | None, Query(max_length=200, description="Only this version.")] = None,
    since: Annotated[
        datetime | None, Query(description="Only frames seen (observed, else uploaded) since.")
    ] = None,
) -> RulesYieldOut:
    """Per sampling rule and model version: frames kept, reviewed, and what review changed."""
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(UTC).replace(tzinfo=None)  # the store keeps naive UTC
    with store.db.reading() as session:
        rows = rules_yield(session, project, model_version=model_version, since=since)
    return RulesYieldOut(model_version=model_version, since=since, rules=[RuleYieldOut.of(r) for r in rows])
