"""Contention on PostgreSQL: several worker processes share one database.

Four workers (``tests/store/crash_worker.py`` without a ledger: ``petriflow worker``'s
simulated participants; row locks with ``SKIP LOCKED``, leases, optimistic version
checks) do the cases of ``invoice_to_payment`` together. Nothing may fire twice (every
case's journal is numbered 1..n, replays to its snapshot, and no work item is closed by two
step events) and nothing may be lost (every case ends). The workers' conflict counts are
printed (``pytest -s``), and so is one worker's wall time against two workers' on the same
number of cases (a figure for the owner to record; not asserted).

It runs the issue's size, 1,000 cases (about 6,700 work items, 25,600 journal events).
Measured on the 2-core machine (2026-11-25): the four workers took 68 s, the whole test
74 s at a load average of about 2; 113 s and 132 s with another session's test suite
running beside it (load average about 10). With 150 cases and the store before its
driver-level commit path it had taken 46 s. Most of the
time is PostgreSQL commits (an fsync each) and the conflicts of four workers on parallel
items of one case (about one step in four loses its version check and is retried).
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petriflow.runtime import Engine
from petriflow.runtime.handlers import ServiceCall
from petriflow.store.base import ItemStatus
from petriflow.store.sql import SqlStore
from tests.store.test_crash import (
    MODELS,
    ROOT,
    WORKER,
    audit_verify,
    check_journals,
    known_race,
    postgres_schema,
    start_cases,
    wait_for_workers,
)

__all__ = ["postgres_schema"]   # a fixture used here (imported, so pytest finds it)

CASES = 1000          # four workers contend for these
SCALING_CASES = 40    # one worker, then two, do this many each


def run_workers(db: str, store: SqlStore, n: int, lease: float = 30.0
                ) -> tuple[float, list[dict[str, int]], bool]:
    """``n`` until-idle workers at once: (wall seconds, their statistics, stalled)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(WORKER), "--db", db, "--until-idle",
                               "--lease", str(lease), "--name", f"w{i}", "--seed", str(i)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(n)]
    try:
        stats, stalled = wait_for_workers(procs, store)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return time.monotonic() - t0, stats, stalled


@pytest.fixture
def store(postgres_schema: str) -> Iterator[SqlStore]:
    s = SqlStore(postgres_schema)
    yield s
    s.close()


def test_four_workers_fire_nothing_twice_and_lose_nothing(postgres_schema: str,
                                                          store: SqlStore) -> None:
    db = postgres_schema
    start_cases(db, "invoice_to_payment", CASES, seed=3)
    wall, stats, stalled = run_workers(db, store, 4)

    journals = check_journals(store)
    report = audit_verify(db)
    conflicts = [s["conflicts"] for s in stats]
    print(f"\n[contention] {CASES} cases, 4 workers, {wall:.1f} s: "
          f"{dict(journals.statuses)}, {journals.events} events; items per worker "
          f"{[s['items'] for s in stats]}, timers {[s['timers'] for s in stats]}, "
          f"conflicts {conflicts} (total {sum(conflicts)})"
          + ("; workers had to be stopped" if stalled else ""))
    assert not journals.problems, "\n".join(journals.problems[:40])
    assert journals.cases == CASES
    assert report["intact"] == report["cases"] == CASES
    assert all(s["items"] for s in stats), stats
    known_race(journals, stalled)


def test_one_and_two_workers_wall_time(postgres_schema: str, store: SqlStore) -> None:
    """The same cases (same seed) done by one worker, then by two: printed, not asserted."""
    from petriflow.store.sql.schema import metadata

    db = postgres_schema
    walls = {}
    for n in (1, 2):
        metadata.drop_all(store.db)   # a fresh start for each run (`start` recreates them)
        start_cases(db, "invoice_to_payment", SCALING_CASES, seed=5)
        walls[n], _, stalled = run_workers(db, store, n)
        journals = check_journals(store)
        assert not journals.problems, "\n".join(journals.problems[:40])
        assert journals.cases == SCALING_CASES
        walls[n] -= STALL_ALLOWANCE if stalled else 0.0
    print(f"\n[scaling] PostgreSQL, {SCALING_CASES} invoice_to_payment cases: one worker "
          f"{walls[1]:.1f} s, two workers {walls[2]:.1f} s (speed-up x{walls[1] / walls[2]:.2f};"
          " each includes ~1 s of worker start-up)")


STALL_ALLOWANCE = 4.0   # seconds a stalled run waited before its workers were stopped


# -- the race behind the stalls, made deterministic ---------------------------------------------


def test_a_stale_work_item_is_not_done_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    calls: list[str] = []

    def pay(call: ServiceCall) -> dict[str, object]:
        calls.append(call.key)
        return {"kyc_status": "verified"}

    def engine() -> Engine:
        e = Engine(SqlStore(url), dispatch="deferred")
        e.deploy(MODELS / "fraud_review.yaml")
        e.service("fetch_kyc", pay)
        return e

    a, b = engine(), engine()
    from petriflow.runtime.participants import SimulatedParticipants
    from petriflow.runtime.scenario import load_scenario

    people = SimulatedParticipants(a, load_scenario(MODELS / "fraud_review.scenario.yaml"),
                                   random.Random(0))
    dep = a.deploy(MODELS / "fraud_review.yaml")
    case = a.start(dep.compiled, people.inputs(dep, 1), case_id="c1")
    [item] = [i for i in a.work_items(case.id) if i.task == "fetch_kyc"]

    # worker B has read the open item; worker A completes it before B reads the case
    real_case = b.store.case

    def case_after_a_completed(case_id: str):  # type: ignore[no-untyped-def]
        if not calls:
            a.perform(item.id)
        return real_case(case_id)

    b.store.case = case_after_a_completed  # type: ignore[method-assign]
    with contextlib.suppress(Exception):   # refusing the stale request is fine;
        b.perform(item.id)                  # doing the work again is not
    b.store.case = real_case  # type: ignore[method-assign]

    events = [e for e in a.store.events(case.id) if e.work_item == item.id]
    # on a durable store the answer is recorded ("answered") before the step consumes it
    assert [e.action for e in events] == ["answered", "complete"], [
        (e.kind, e.action) for e in events]
    assert a.store.work_item(item.id).status is ItemStatus.COMPLETED
    assert calls == [item.key], "the service was called again for a completed item"
    assert not a.store.timers(case=case.id) or all(
        t.kind == "timeout" for t in a.store.timers(case=case.id))
