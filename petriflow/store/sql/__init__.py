"""The SQL store: SQLite by default, PostgreSQL for many workers (SQLAlchemy 2 Core)."""

from petriflow.store.sql.store import SqlStore, default_url

__all__ = ["SqlStore", "default_url"]
