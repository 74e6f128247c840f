"""Every store runs the conformance suite of ``petriflow.testing.conformance``: the
in-memory reference store, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from petriflow.store.base import Store
from petriflow.store.memory import InMemoryStore
from petriflow.store.sql import SqlStore
from petriflow.testing import conformance

BACKENDS = ["memory", "sqlite", "postgres"]
CHECKS = {c.__name__: c for c in conformance.ALL_CHECKS}
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(request: pytest.FixtureRequest, backend: str) -> Callable[[], Store]:
    if backend == "memory":
        return InMemoryStore
    fixture = f"{backend}_factory"
    factory: Callable[[], Store] = request.getfixturevalue(fixture)
    return factory


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_store_conforms(request: pytest.FixtureRequest, backend: str, name: str) -> None:
    bug = KNOWN_BUGS.get((backend, name))
    if bug:
        request.applymarker(pytest.mark.xfail(strict=True, reason=bug))
    CHECKS[name](request.getfixturevalue("store_factory"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_second_engine_continues_a_case(request: pytest.FixtureRequest, backend: str) -> None:
    factory = request.getfixturevalue(f"{backend}_factory")
    reopened: list[SqlStore] = []

    def reopen(store: Any) -> Store:
        assert isinstance(store, SqlStore)
        again = SqlStore(store.url)
        reopened.append(again)
        return again

    try:
        for check in conformance.DURABLE_CHECKS:
            check(factory, reopen)
    finally:
        for store in reopened:
            store.close()


def test_the_reference_store_matches_the_protocol() -> None:
    assert isinstance(InMemoryStore(), Store)


def test_run_all_runs_every_check(sqlite_factory: Callable[[], Store]) -> None:
    reopened: list[SqlStore] = []

    def reopen(store: Any) -> Store:
        reopened.append(SqlStore(store.url))
        return reopened[-1]

    names = conformance.run_all(sqlite_factory, reopen)
    for store in reopened:
        store.close()
    assert names == [c.__name__ for c in conformance.ALL_CHECKS] + [
        c.__name__ for c in conformance.DURABLE_CHECKS]


def test_the_suite_does_not_depend_on_a_test_framework() -> None:
    import ast
    from pathlib import Path

    import petriflow.testing

    root = Path(petriflow.testing.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"pytest", "hypothesis"}, path


def test_a_broken_store_fails_the_suite() -> None:
    """The checks are not vacuous: a store that ignores the expected version fails."""

    class Careless(InMemoryStore):
        def commit(self, change: Any) -> None:
            from dataclasses import replace

            current = self._cases.get(change.case.id)
            if current is not None and change.expected_version is not None:
                change = replace(change, expected_version=current.version)
            super().commit(change)

    with pytest.raises(AssertionError):
        conformance.check_optimistic_concurrency(Careless)
