"""Copying and comparing the store's rows between two databases, table by table (`migrate_store`'s rows).

Tables come from the store's own SQLAlchemy metadata in dependency order (parents before children), so
foreign keys hold after every batch. Each batch is read from the source by primary key (keyset
pagination: no OFFSET, so a big table costs one index walk) and written in one target transaction with
an idempotent insert (``ON CONFLICT DO NOTHING``, the PostgreSQL and SQLite dialects' own), so a run
interrupted anywhere is finished by running it again: rows already there are skipped, never doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Engine, Row, Table, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from framescout.store.models import Base

SKIPPED_TABLES = ("auth_state",)
"""Not copied: the target's own one-row auth generation (made by its migrations) stays as it is."""
BATCH_ROWS = 500
"""Rows per batch and transaction: ~11k parameters for the widest table, under every driver's limit."""
SUPPORTED = ("postgresql", "sqlite")

Advance = Callable[[int], None]


class RowCopyError(Exception):
    """The rows cannot be copied to this target (an unsupported database, a row the target refuses)."""


def copied_tables() -> list[Table]:
    """Every table of the store in dependency order, less `SKIPPED_TABLES`."""
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def _idempotent_insert(table: Table, dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).prefix_with("OR IGNORE")
    raise RowCopyError(f"migrate-store copies into PostgreSQL or SQLite only, not {dialect}")


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def source_batches(engine: Engine, table: Table, size: int = BATCH_ROWS) -> Iterator[list[Row[Any]]]:
    """The table's rows in primary-key order, ``size`` at a time, each batch its own short read."""
    key = _key(table)
    last: tuple[Any, ...] | None = None
    while True:
        query = select(table).order_by(*key).limit(size)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last) if len(key) > 1 else key[0] > last[0])
        with engine.connect() as conn:
            rows = list(conn.execute(query))
        if not rows:
            return
        yield rows
        last = tuple(rows[-1]._mapping[c.name] for c in key)
        if len(rows) < size:
            return


def copy_table(source: Engine, target: Engine, table: Table, advance: Advance, size: int = BATCH_ROWS) -> int:
    """Copy every row of ``table`` that the target lacks; the number of rows written."""
    dialect = target.dialect.name
    insert = _idempotent_insert(table, dialect)
    before = count_rows(target, table)
    for rows in source_batches(source, table, size):
        values = [dict(row._mapping) for row in rows]
        try:
            with target.begin() as conn:
                conn.execute(insert, values)
        except Exception as exc:  # e.g. a value longer than its column, which SQLite never checked
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]  # not the whole batch
            raise RowCopyError(f"the target refused a batch of {table.name}: {reason}") from exc
        advance(len(rows))
    return count_rows(target, table) - before


def reset_sequences(target: Engine) -> None:
    """On PostgreSQL, move each integer key's sequence past the copied ids (explicit ids do not), so
    the next annotation the server writes does not collide with a copied one."""
    if target.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1
    with target.begin() as conn:
        for table in copied_tables():
            key = _key(table)
            if len(key) == 1 and key[0].autoincrement is True:
                name, col = table.name, key[0].name
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', '{col}'), "
                        f"COALESCE(MAX({col}), 1), MAX({col}) IS NOT NULL) FROM {name}"
                    )
                )


@dataclass
class TableCheck:
    """One table compared: its rows on each side, source rows missing from or different in the target."""

    table: str
    source_rows: int
    target_rows: int
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and not self.missing and not self.different


def _label(row: Row[Any], key: Sequence[Column[Any]]) -> str:
    return "/".join(str(row._mapping[c.name]) for c in key)


def compare_table(source: Engine, target: Engine, table: Table, advance: Advance) -> TableCheck:
    """Every source row looked up by primary key in the target and compared column by column."""
    key = _key(table)
    check = TableCheck(table.name, count_rows(source, table), count_rows(target, table))
    for rows in source_batches(source, table):
        ids = [tuple(row._mapping[c.name] for c in key) for row in rows]
        where = tuple_(*key).in_(ids) if len(key) > 1 else key[0].in_([i[0] for i in ids])
        with target.connect() as conn:
            found = {
                tuple(r._mapping[c.name] for c in key): r for r in conn.execute(select(table).where(where))
            }
        for row, ident in zip(rows, ids, strict=True):
            there = found.get(ident)
            if there is None:
                check.missing.append(_label(row, key))
            elif dict(there._mapping) != dict(row._mapping):
                check.different.append(_label(row, key))
        advance(len(rows))
    return check
