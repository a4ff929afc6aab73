"""The orders of the review queue: newest or oldest first, the most uncertain first, or the frames of
the highest-yield rules first.

An order is a list of sort keys (an expression and its direction) that always ends in the image id,
so it is total and a keyset ("the frames after this one") is exact. Every key is computed by the
database:

- ``uncertainty``: the frame's least-confidence score as `framescout.sampling.uncertainty`'s
  ``least_confidence_score(aggregate="max")`` defines it, 1 − the lowest prediction confidence of the
  frame's own model version (any version's predictions when the frame names none); the highest score
  first. A frame without predictions scores 0 (the scorer's ``empty``), after every frame with some.
- ``yield``: the rank of the frame's sampling rule in `framescout.store.rule_yield.rule_ranking`
  (corrections per reviewed frame, highest first); rules with no reviewed frame yet come last.

Ties, and ``yield`` within a rule, are broken newest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from framescout.store.models import PREDICTION, Annotation, Image

ORDERS = ("newest", "oldest", "uncertainty", "yield")
DEFAULT_ORDER = "newest"
"""The default (docs/review.md says why): the frames the deployed model sends now, in a stable order."""

SortKey = tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]
"""A sort expression and whether it runs descending."""


def least_confidence() -> ColumnElement[float]:
    """1 − the frame's lowest prediction confidence (0 without predictions), a correlated subquery."""
    own = or_(
        Image.model_version.is_(None),
        Annotation.model_version.is_(None),
        Annotation.model_version == Image.model_version,
    )
    lowest = (
        select(func.min(Annotation.confidence))
        .where(Annotation.image_id == Image.id, Annotation.kind == PREDICTION, own)
        .correlate(Image)
        .scalar_subquery()
    )
    return 1.0 - func.coalesce(lowest, 1.0)


def sort_keys(order: str, ranking: Mapping[str | None, float] | None = None) -> list[SortKey]:
    """The sort keys of ``order`` (one of `ORDERS`); ``yield`` ranks rules by ``ranking``."""
    newest: list[SortKey] = [(Image.created_at, True), (Image.id, False)]
    if order == "newest":
        return newest
    if order == "oldest":
        return [(Image.created_at, False), (Image.id, False)]
    if order == "uncertainty":
        return [(least_confidence(), True), *newest]
    if order == "yield":
        ranked = sorted((ranking or {}).items(), key=lambda item: (-item[1], item[0] or ""))
        whens = [
            (Image.sampling_rule.is_(None) if rule is None else Image.sampling_rule == rule, place)
            for place, (rule, _) in enumerate(ranked)
        ]
        place = case(*whens, else_=len(ranked)) if whens else literal(0)
        return [(place, False), *newest]
    raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")


def ordered(query: Select[Any], keys: Sequence[SortKey], *, reverse: bool = False) -> Select[Any]:
    """``query`` sorted by ``keys`` (backwards with ``reverse``)."""
    return query.order_by(*(expr.desc() if desc != reverse else expr.asc() for expr, desc in keys))


def key_values(session: Session, keys: Sequence[SortKey], image_id: str) -> tuple[Any, ...]:
    """The values of ``keys`` for one image (where a keyset continues from)."""
    row = session.execute(select(*(expr for expr, _ in keys)).where(Image.id == image_id)).one()
    return tuple(row)


def after(keys: Sequence[SortKey], values: Sequence[Any], *, reverse: bool = False) -> ColumnElement[bool]:
    """The rows that come after the row whose keys are ``values`` (before it with ``reverse``)."""
    clauses = []
    for k, (expr, desc) in enumerate(keys):
        later = expr < values[k] if desc != reverse else expr > values[k]
        equal = [e == v for (e, _), v in zip(keys[:k], values[:k], strict=True)]
        clauses.append(and_(*equal, later))
    return or_(*clauses)
