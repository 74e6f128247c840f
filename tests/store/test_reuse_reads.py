"""``SqlStore.reuse_reads``: a worker's reads of one item, made once, never staler than safe.

Two stores on one SQLite file stand for two workers. Inside the block a second read of a
case or item comes from the first; an item read before its case is read again after it
(so it is never older than the case, which is what the engine's version check relies
on); a commit, a lease or a release forgets what it touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from petriflow.errors import ConflictError, NotFoundError
from petriflow.runtime import Engine, ManualClock
from petriflow.store.base import ItemStatus
from petriflow.store.sql import SqlStore
from tests.store.test_sql_store import INPUTS, INVOICE, _handlers


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[SqlStore, SqlStore, Engine, str]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    mine, theirs = SqlStore(url), SqlStore(url)
    engine = _handlers(Engine(theirs, clock=ManualClock()))
    case = engine.start(INVOICE, INPUTS, case_id="inv-1")
    try:
        yield mine, theirs, engine, case.id
    finally:
        mine.close()
        theirs.close()


def _approval(engine: Engine, case_id: str) -> str:
    [item] = [i for i in engine.work_items(case_id) if i.task == "approve_manager"]
    return item.id


def _counting(store: SqlStore) -> Callable[[], int]:
    calls = [0]
    inner = store._rows

    def rows(statement: tuple[str, tuple[object, ...]]) -> list[tuple[object, ...]]:
        calls[0] += 1
        return inner(statement)

    store._rows = rows  # type: ignore[method-assign]
    return lambda: calls[0]


def test_a_case_and_an_item_read_twice_come_from_the_database_once(two) -> None:
    mine, _, engine, case_id = two
    item_id = _approval(engine, case_id)
    reads = _counting(mine)
    with mine.reuse_reads():
        first = mine.case(case_id), mine.work_item(item_id)
        again = mine.case(case_id), mine.work_item(item_id)
    assert again == first
    assert reads() == 2
    mine.case(case_id)
    assert reads() == 3, "outside the block every read goes to the database"


def test_an_item_read_before_its_case_is_read_again_after_it(two) -> None:
    mine, _, engine, case_id = two
    item_id = _approval(engine, case_id)
    with mine.reuse_reads():
        stale = mine.work_item(item_id)
        assert stale.status.open
        engine.complete(item_id, "mia", {"approved": True})   # another worker moves on
        case = mine.case(case_id)
        item = mine.work_item(item_id)
    assert item.status is ItemStatus.COMPLETED, "the item must be as new as its case"
    assert case.version > 1


def test_a_case_read_first_is_kept_and_a_conflicting_commit_is_caught(two) -> None:
    mine, _, engine, case_id = two
    item_id = _approval(engine, case_id)
    with mine.reuse_reads():
        before = mine.case(case_id)
        engine.complete(item_id, "mia", {"approved": True})
        assert mine.case(case_id) == before   # reused: the version check protects it
    after = mine.case(case_id)
    assert after.version > before.version


def test_a_commit_keeps_exactly_what_it_wrote(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        engine = _handlers(Engine(store, clock=ManualClock(), cache=False))
        case = engine.start(INVOICE, INPUTS, case_id="inv-2")
        item_id = _approval(engine, case.id)
        with store.reuse_reads():
            before = store.case(case.id)
            engine.complete(item_id, "mia", {"approved": True})
            after, item = store.case(case.id), store.work_item(item_id)
            assert after.version > before.version
            assert not item.status.open
        assert store.case(case.id) == after, "what was kept is what the database holds"
        assert store.work_item(item_id) == item
    finally:
        store.close()


def test_a_failed_commit_forgets_the_case(two) -> None:
    mine, _, engine, case_id = two
    item_id = _approval(engine, case_id)
    other = _handlers(Engine(mine, clock=ManualClock(), cache=False))
    with mine.reuse_reads():
        mine.case(case_id), mine.work_item(item_id)             # kept, both still open
        engine.complete(item_id, "mia", {"approved": True})    # the other worker wins
        with pytest.raises(ConflictError):
            other.complete(item_id, "max", {"approved": True})  # computed from the old case
        assert mine.case(case_id) == engine.case(case_id), "read again after the conflict"
        assert not mine.work_item(item_id).status.open


def test_a_lease_and_a_release_forget_the_item(two) -> None:
    mine, _, engine, case_id = two
    item_id = _approval(engine, case_id)
    with mine.reuse_reads():
        assert mine.work_item(item_id).leased_by is None
        claimed = {i.id for i in mine.claim_items("w1", 0.0, 60.0, 100)}
        assert item_id in claimed
        assert mine.work_item(item_id).leased_by == "w1"
        mine.release_item(item_id, "w1")
        assert mine.work_item(item_id).leased_by is None


def test_on_postgres_an_item_comes_with_its_case_in_one_round_trip(_postgres_schema: str
                                                                   ) -> None:
    from tests.store.conftest import _clean_postgres

    _clean_postgres(_postgres_schema)
    mine, theirs = SqlStore(_postgres_schema), SqlStore(_postgres_schema)
    try:
        engine = _handlers(Engine(theirs, clock=ManualClock()))
        case_id = engine.start(INVOICE, INPUTS, case_id="inv-pg").id
        item_id = _approval(engine, case_id)
        calls = [0]
        inner = mine._call

        def counted(*args: object, **kwargs: object) -> object:
            calls[0] += 1
            return inner(*args, **kwargs)  # type: ignore[arg-type]

        mine._call = counted  # type: ignore[method-assign]
        with mine.reuse_reads():
            item = mine.work_item(item_id)
            case = mine.case(case_id)
            assert calls[0] == 1, "the item and its case: one call, one pipeline"
            assert (case, item) == (theirs.case(case_id), theirs.work_item(item_id))
            engine.complete(item_id, "mia", {"approved": True})   # another worker moves on
            assert mine.case(case_id) == case, "kept: the version check protects it"
            with pytest.raises(NotFoundError):
                mine.work_item("no-such-item")
        assert not mine.work_item(item_id).status.open
    finally:
        mine.close()
        theirs.close()
        _clean_postgres(_postgres_schema)
