"""Store fixtures: fresh SQLite files, and a clean PostgreSQL database when one is reachable.

PostgreSQL is the local server at 127.0.0.1:5432 (trust auth, database ``test``); when it
cannot be reached the PostgreSQL tests are skipped, saying why, unless
``PETRIFLOW_REQUIRE_POSTGRES=1`` asks for them to fail loudly instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from petriflow.store.sql import SqlStore
from petriflow.store.sql.schema import metadata

POSTGRES_URL = os.environ.get("PETRIFLOW_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_or_skip() -> str:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # no driver, no server, no database: all mean "unreachable"
        reason = f"PostgreSQL at 127.0.0.1:5432 unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("PETRIFLOW_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (PETRIFLOW_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    return POSTGRES_URL


def _clean_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[Callable[[], SqlStore]]:
    """Fresh SQLite stores, each on a new file under ``tmp_path``."""
    made: list[SqlStore] = []

    def factory() -> SqlStore:
        store = SqlStore(f"sqlite:///{tmp_path / f'store{len(made)}.db'}")
        made.append(store)
        return store

    yield factory
    for store in made:
        store.close()


def _own_schema(url: str) -> str:
    """The URL of a schema of this test process's own (created if missing), so that test
    runs sharing the database never drop each other's tables."""
    from sqlalchemy import create_engine, text

    schema = f"pf_store_tests_{os.getpid()}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    base = _postgres_or_skip()
    url = _own_schema(base)
    yield url
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "pf_store_tests_{os.getpid()}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture
def postgres_factory(_postgres_schema: str) -> Iterator[Callable[[], SqlStore]]:
    """Fresh PostgreSQL stores: every call drops the petriflow tables first (in a schema
    of this test run's own)."""
    url = _postgres_schema
    made: list[SqlStore] = []

    def factory() -> SqlStore:
        for store in made:   # one database: earlier stores of this test are done with it
            store.close()
        _clean_postgres(url)
        store = SqlStore(url)
        made.append(store)
        return store

    yield factory
    for store in made:
        store.close()
    _clean_postgres(url)
