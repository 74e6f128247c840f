"""The tables of the SQL store (SQLAlchemy Core), and the schema version they make up.

Changing a table means a new :data:`SCHEMA_VERSION` and a migration step; a database of
another version is refused with a message saying how to migrate, never half-read.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 2

metadata = MetaData()

schema_info = Table("petriflow_schema", metadata, Column("version", Integer, nullable=False))

processes = Table(
    "petriflow_processes", metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("document", Text, nullable=False),
    Column("created", Float, nullable=False),
)

cases = Table(
    "petriflow_cases", metadata,
    Column("id", String(200), primary_key=True),
    Column("process", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("marking", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("memory", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    Column("started", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("incident", Text),
    Column("labels", Text, nullable=False),
    Index("ix_petriflow_cases_status", "status"),
    Index("ix_petriflow_cases_process", "process"),
)

events = Table(
    "petriflow_events", metadata,
    Column("case_id", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("at", Float, nullable=False),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
)

work_items = Table(
    "petriflow_work_items", metadata,
    Column("id", String(220), primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("task", String(200), nullable=False),
    Column("place", String(300), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created", Float, nullable=False),
    Column("role", String(200)),
    Column("agent", String(200)),
    Column("claimed_by", String(200)),
    Column("attempt", Integer, nullable=False),
    Column("key", String(300), nullable=False),
    Column("due", Float),
    Column("lease_until", Float),
    Column("closed", Float),
    Column("outcome", String(50)),
    Column("leased_by", String(200)),
    Column("answer", Text),
    Index("ix_petriflow_items_case", "case_id", "status"),
    Index("ix_petriflow_items_open", "status", "role"),
)

timers = Table(
    "petriflow_timers", metadata,
    Column("id", String(260), primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("due", Float, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("work_item", String(220), nullable=False),
    Column("transition", String(300)),
    Index("ix_petriflow_timers_due", "due"),
)

operations = Table(   # the operators' log (schema version 2)
    "petriflow_operations", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Float, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

switches = Table(
    "petriflow_switches", metadata,
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    PrimaryKeyConstraint("kind", "key"),
)

__all__ = ["SCHEMA_VERSION", "cases", "events", "metadata", "operations", "processes",
           "schema_info", "switches", "timers", "work_items"]
