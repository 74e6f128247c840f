"""Ordered schema migrations: step ``n`` takes a database from version ``n`` to ``n + 1``.

A database is opened only at the current :data:`~petriflow.store.sql.schema.SCHEMA_VERSION`;
an older one is refused with a hint to run ``petriflow db migrate``, which applies the
steps below in order, in one transaction, and records the new version. Version 1 is the
first released schema; a step is a function of a connection. Version 2 adds the
operators' log of kill-switch decisions.

The version itself is read by :func:`stored_version`, which refuses what it cannot trust
(a version that is not a whole number, several rows, no row beside stored data) rather
than guess: a wrong guess would run the wrong migration, or none, on real data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import insert, inspect, literal, select, update

from petriflow.errors import CorruptionError, StoreError
from petriflow.governance.operations import next_operation
from petriflow.store.sql.schema import (
    SCHEMA_VERSION,
    metadata,
    operations,
    schema_info,
    switches,
)


def _operations_log(conn: Any) -> None:
    """1 -> 2: the operators' log. The switches already set are entered in it, in one
    entry each by the actor ``migration``, so that the log explains every switch."""
    operations.create(conn, checkfirst=True)  # (a creating open may have made it)
    last = None
    for row in conn.execute(select(switches).order_by(switches.c.kind, switches.c.key)):
        op = next_operation(last, time.time(), row.kind, row.key, True, "migration",
                            "set before the operators' log existed (schema version 1)")
        conn.execute(insert(operations).values(asdict(op)))  # (its fields are the columns)
        last = op


#: version -> the step from that version to the next
STEPS: dict[int, Callable[[Any], None]] = {1: _operations_log}


def migrate_schema(conn: Any, version: int) -> int:
    """Apply every step from ``version`` to the current one; returns the new version."""
    while version < SCHEMA_VERSION:
        step = STEPS.get(version)
        if step is None:
            raise StoreError(f"no migration from schema version {version}",
                             hint="this database predates the first release; start a new one")
        step(conn)
        version += 1
        conn.execute(update(schema_info).values(version=version))
    return version


def stored_version(conn: Any, database: str) -> int | None:
    """The schema version in ``petriflow_schema``; None when that table has no row and
    no petriflow table holds data (a new database, or one whose creation stopped before
    the row was written). ``database`` names it in errors (a URL without password)."""
    table = schema_info.name
    # two creators racing on a new database may both write the row: the same version
    # twice is harmless, two different ones are not
    rows = {r.version for r in conn.execute(select(schema_info.c.version))}
    if len(rows) > 1:
        raise CorruptionError(f"database {database}: table {table} holds several schema "
                              f"versions ({', '.join(sorted(map(repr, rows)))})",
                              hint="restore the database from a backup")
    if not rows:
        full = _tables_with_rows(conn)
        if full:
            raise CorruptionError(
                f"database {database}: table {table} is empty, but the petriflow tables "
                f"hold data ({', '.join(full)}): the schema version row was deleted",
                hint="restore the database from a backup; petriflow cannot tell which "
                     "version its tables are at")
        return None
    [version] = rows
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CorruptionError(f"database {database}: table {table} holds the schema version "
                              f"{version!r}, not a positive whole number",
                              hint="restore the database from a backup")
    return version


def _tables_with_rows(conn: Any) -> list[str]:
    """The petriflow tables (other than the version's) that exist and hold a row."""
    names = set(inspect(conn).get_table_names())
    return [t.name for t in metadata.sorted_tables
            if t is not schema_info and t.name in names
            and conn.execute(select(literal(1)).select_from(t).limit(1)).first() is not None]


__all__ = ["STEPS", "migrate_schema", "stored_version"]
