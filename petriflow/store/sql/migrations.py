"""Ordered schema migrations: step ``n`` takes a database from version ``n`` to ``n + 1``.

A database is opened only at the current :data:`~petriflow.store.sql.schema.SCHEMA_VERSION`;
an older one is refused with a hint to run ``petriflow db migrate``, which applies the
steps below in order, in one transaction, and records the new version. Version 1 is the
first released schema, so there is no step yet; a step is a function of a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from petriflow.errors import StoreError
from petriflow.store.sql.schema import SCHEMA_VERSION, schema_info

#: version -> the step from that version to the next
STEPS: dict[int, Callable[[Any], None]] = {}


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


__all__ = ["STEPS", "migrate_schema"]
