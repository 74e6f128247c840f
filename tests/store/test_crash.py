"""Crash tests: workers killed with SIGKILL at random moments lose nothing and repeat nothing.

Cases of the reference processes are started in a database (a SQLite file, and PostgreSQL
when it is reachable) and left to two worker processes (``tests/store/crash_worker.py``:
``petriflow worker`` with every bot and API call going through an idempotent side-effect
ledger keyed by the call's idempotency key). One of the two is killed with SIGKILL every
0.3-1.5 s and restarted, a dozen times; then a last worker finishes the work. Afterwards:

- every case has ended, as the process allows (completed; failed only where the scenario's
  outages exhausted a task's retries, which it also does without kills);
- ``petriflow audit verify`` exits 0 (hash chains intact, replay equals the snapshot);
- every case's journal is numbered 1..n without a gap, ``version`` is n, ``head`` is the
  last event's hash, and no work item is closed by two step events;
- the ledger holds exactly one effect per idempotency key, one key per work item (the key
  is the same for every attempt), and the step that completed the item used that effect's
  answer; every completed bot/API step is backed by an effect.

Calls repeated after a kill (a worker died between the effect and its commit) show up as
``calls > effects`` in the ledger: that is what the idempotency key is for; the count is
printed (``pytest -s``).

Without kills (checked when writing this test) 75 + 75 cases all complete. With 150 + 150
cases (CASES) one run takes about 21 s on SQLite and 30 s on PostgreSQL on the 2-core
machine (2026-11-25, load average about 3), 53 s and 70 s under heavy load (about 10);
most of it is the final worker.
If the known stale-item race (see test_contention.py) shows up, the test reports xfail.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from petriflow.model.compiled import output_var
from petriflow.runtime import Engine
from petriflow.runtime.worker import Worker
from petriflow.store.base import CaseStatus
from petriflow.store.codec import loads
from petriflow.store.sql import SqlStore
from tests.store.conftest import _postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
CLI = [sys.executable, "-c", "from petriflow.cli import entry; entry()"]
MODELS = ROOT / "models"

CASES = 300            # half invoice_to_payment, half fraud_review
LEASE = 2.0            # seconds: a killed worker's items are offered again this soon
KILLS = 10             # SIGKILLs in the kill phase (plus the two workers killed at its end)
EFFECT_DELAY = 0.01    # seconds between an effect and its answer reaching the engine
STALL = 4.0            # seconds workers may go on once every case has ended
CLOSING = ("complete", "handoff", "timeout", "error")   # step actions that close an item
RETRIES_EXHAUSTED = re.compile(r"failed after \d+ attempt\(s\): SimulatedOutage")


# -- helpers shared with test_contention.py ----------------------------------------------------


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def start_cases(db: str, model: str, n: int, seed: int = 0) -> None:
    done = cli("start", str(MODELS / f"{model}.yaml"), "--cases", str(n), "--db", db,
               "--seed", str(seed))
    assert done.returncode == 0, done.stderr


def with_search_path(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema`` (libpq options)."""
    u = make_url(url)
    options = " ".join(filter(None, [u.query.get("options"), f"-csearch_path={schema}"]))
    return u.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture
def postgres_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of the PostgreSQL test database whose tables live in a schema of this test's
    (and this process's) own, dropped before and after, so other tests sharing the
    database do not interfere.
    Skips (or fails, with PETRIFLOW_REQUIRE_POSTGRES=1) when PostgreSQL is unreachable."""
    base = _postgres_or_skip()
    # the process id too: test runs sharing the database (other sessions) must not
    # drop each other's schema
    schema = f"pf_{os.getpid()}_" + re.sub(r"\W", "_", request.node.name).lower()[:45]
    db = create_engine(base)
    try:
        with db.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield with_search_path(base, schema)
    finally:
        with db.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.dispose()


@dataclass
class Journals:
    cases: int = 0
    events: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    closed_by: dict[str, Any] = field(default_factory=dict)   # work item -> closing event
    problems: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)   # signs of the known stale-item race


KNOWN_RACE = ("Engine._open_item reads the work item, then the case: a worker holding a copy "
              "of an item another worker has just completed calls its service again and "
              "commits a refusal and a failed attempt on the completed item, re-opens it and "
              "leaves a retry timer, so until-idle workers never stop "
              "(test_contention.py::test_a_stale_work_item_is_not_done_again)")


def check_journals(store: SqlStore) -> Journals:
    """Every case: seqs 1..n, version n, head = last hash, each work item closed at most
    once, and it has ended as the process allows. Problems are collected, not raised."""
    out = Journals()
    for rec in store.cases():
        out.cases += 1
        out.statuses[rec.status.value] += 1
        events = store.events(rec.id)
        out.events += len(events)
        seqs = [e.seq for e in events]
        if seqs != list(range(1, len(events) + 1)):
            out.problems.append(f"{rec.id}: journal seqs are not 1..n: {seqs}")
        if rec.version != len(events):
            out.problems.append(f"{rec.id}: version {rec.version}, {len(events)} events")
        if events and rec.head != events[-1].hash:
            out.problems.append(f"{rec.id}: head is not the last event's hash")
        closes = Counter(e.work_item for e in events
                         if e.kind == "step" and e.action in CLOSING and e.work_item)
        for item, n in closes.items():
            if n > 1:
                out.problems.append(f"{rec.id}: work item {item} closed by {n} steps")
        for e in events:
            if e.kind == "step" and e.action in CLOSING and e.work_item:
                out.closed_by[e.work_item] = e
            elif e.work_item in out.closed_by and e.work_item in closes:
                out.known.append(f"{rec.id}: {e.kind} {e.action} event {e.seq} on work item "
                                 f"{e.work_item} after it was closed")
        for item in store.work_items(case=rec.id):
            if rec.status is CaseStatus.COMPLETED:
                out.known.append(f"{rec.id} is {rec.status.value} with work item {item.id} "
                                 f"({item.task}) open")
        if rec.status is CaseStatus.COMPLETED:
            continue
        if rec.status is CaseStatus.FAILED and RETRIES_EXHAUSTED.search(rec.incident or ""):
            continue   # the scenario's outages used up a task's retries: by design
        out.problems.append(f"{rec.id}: {rec.status.value} ({rec.incident})")
    return out


def wait_for_workers(procs: list[subprocess.Popen[str]], store: SqlStore,
                     limit: float = 120) -> tuple[list[dict[str, Any]], bool]:
    """Wait for until-idle workers to stop; returns their statistics, and whether they had
    to be stopped (SIGTERM) because they went on for STALL seconds after every case ended
    (the known race leaves a retry timer behind that they wait for forever)."""
    deadline = time.monotonic() + limit
    ended_at = None
    stalled = False
    while any(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, f"workers still running after {limit} s"
        if unfinished(store):
            ended_at = None
        elif ended_at is None:
            ended_at = time.monotonic()
        elif time.monotonic() - ended_at > STALL:
            stalled = True
            for p in procs:
                if p.poll() is None:
                    p.terminate()
        time.sleep(0.25)
    stats = []
    for p in procs:
        out, err = p.communicate()
        if stalled and p.returncode == -signal.SIGTERM:   # stopped before it could report
            stats.append({"items": 0, "timers": 0, "conflicts": 0, "terminated": True})
            continue
        assert p.returncode == 0, err
        stats.append(json.loads(out.strip().splitlines()[-1]))
    return stats, stalled


def unfinished(store: SqlStore) -> int:
    with store.db.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM petriflow_cases WHERE status IN ('running', 'waiting')"
        )).scalar_one())


def audit_verify(db: str) -> dict[str, Any]:
    done = cli("audit", "verify", "--db", db, "--format", "json")
    assert done.returncode == 0, f"audit verify failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


# -- the crash test ----------------------------------------------------------------------------


class Workers:
    """Two worker processes, killed and restarted at random moments."""

    def __init__(self, db: str, ledger: str, logs: Path) -> None:
        self.db, self.ledger, self.logs = db, ledger, logs
        self.started = 0
        self.procs: list[subprocess.Popen[str]] = []
        self.logfile: dict[int, Path] = {}   # pid -> its stderr

    def spawn(self, *extra: str) -> subprocess.Popen[str]:
        n = self.started
        self.started += 1
        path = self.logs / f"worker{n}.log"
        log = path.open("w")
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--db", self.db, "--ledger", self.ledger,
             "--name", f"crash-w{n}", "--seed", str(n), "--lease", str(LEASE),
             "--effect-delay", str(EFFECT_DELAY), *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        self.logfile[proc.pid] = path
        self.procs.append(proc)
        return proc

    def log(self, proc: subprocess.Popen[str]) -> str:
        return self.logfile[proc.pid].read_text()[-3000:]

    def wait_ready(self, proc: subprocess.Popen[str], timeout: float = 30) -> None:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        assert line.strip() == "ready", f"worker did not start:\n{self.log(proc)}"

    def kill(self, proc: subprocess.Popen[str]) -> None:
        assert proc.poll() is None, f"worker died by itself:\n{self.log(proc)}"
        proc.kill()   # SIGKILL
        proc.wait()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def ledger_rows(url: str) -> list[Mapping[str, Any]]:
    db = create_engine(url)
    try:
        with db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(
                "SELECT key, task, work_item, effects, calls, result FROM crash_ledger"))]
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(store URL, ledger URL): a SQLite file and a ledger file beside it, or a PostgreSQL
    schema holding both the store's tables and the ledger table."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'ledger.db'}"
    url = request.getfixturevalue("postgres_schema")
    return url, url


def test_sigkilled_workers_lose_and_repeat_nothing(urls: tuple[str, str], tmp_path: Path,
                                                   request: pytest.FixtureRequest) -> None:
    db, ledger_url = urls
    start_cases(db, "invoice_to_payment", CASES // 2, seed=11)
    start_cases(db, "fraud_review", CASES // 2, seed=12)
    store = SqlStore(db)
    request.addfinalizer(store.close)
    rng = random.Random(2024)
    workers = Workers(db, ledger_url, tmp_path)
    t0 = time.monotonic()
    try:
        slots = [workers.spawn(), workers.spawn()]
        at_kill = []                          # cases still unfinished right after each kill
        for k in range(KILLS):
            slot = k % 2                      # take turns: the victim has been up a while
            workers.wait_ready(slots[slot])
            time.sleep(rng.uniform(0.3, 1.5))
            workers.kill(slots[slot])
            at_kill.append(unfinished(store))
            slots[slot] = workers.spawn()
        for proc in slots:                    # the kill phase ends with a kill too
            workers.wait_ready(proc)
            workers.kill(proc)
        kill_phase = time.monotonic() - t0
        # a last worker finishes what is left (it waits for the dead workers' leases)
        final = workers.spawn("--until-idle", "--max-seconds", "60")
        workers.wait_ready(final)
        [stats], stalled = wait_for_workers([final], store)
    finally:
        workers.kill_all()

    journals = check_journals(store)
    rows = ledger_rows(ledger_url)
    report = audit_verify(db)

    # the ledger: one effect per key, one key per work item, and the effect's answer used
    calls = sum(r["calls"] for r in rows)
    effects = sum(r["effects"] for r in rows)
    problems = list(journals.problems)
    problems += [f"key {r['key']}: {r['effects']} effects" for r in rows if r["effects"] != 1]
    per_item = Counter(r["work_item"] for r in rows)
    problems += [f"work item {w}: {n} idempotency keys" for w, n in per_item.items() if n > 1]
    for r in rows:
        item = store.work_item(r["work_item"])
        closing = journals.closed_by.get(r["work_item"])
        if item.key != r["key"]:
            problems.append(f"{item.id}: called with key {r['key']}, its key is {item.key}")
        if closing is None or closing.action != "complete":
            problems.append(f"{item.id}: an effect, but the item was not completed "
                            f"({closing.action if closing else 'still open'})")
            continue
        answer = {output_var(k): v for k, v in loads(r["result"], "ledger").items()}
        if dict(closing.binding) != answer:
            problems.append(f"{item.id}: completed with {dict(closing.binding)}, the effect "
                            f"answered {answer}")
    ledgered = set(per_item)
    for item_id, e in journals.closed_by.items():
        if e.action == "complete" and e.actor_kind in ("api", "bot") and item_id not in ledgered:
            problems.append(f"{item_id}: {e.task} completed without an effect in the ledger")

    kind = "sqlite" if db.startswith("sqlite") else "postgresql"
    print(f"\n[crash {kind}] {journals.cases} cases {dict(journals.statuses)}, "
          f"{journals.events} events; {KILLS + 2} SIGKILLs in {kill_phase:.1f} s "
          f"(unfinished cases after each: {at_kill}); final worker: {stats}; ledger: "
          f"{len(rows)} keys, {effects} effects, {calls} calls, {calls - effects} calls "
          f"repeated after kills; audit: {report['intact']}/{report['cases']} intact")
    assert not problems, "\n".join(problems[:40])
    assert report["intact"] == report["cases"] == CASES
    assert sum(1 for n in at_kill if n) >= KILLS // 2, f"too few kills hit work: {at_kill}"
    known_race(journals, stalled)


def known_race(journals: Journals, stalled: bool) -> None:
    """Everything else held; if the known race showed, say so (xfail), else pass."""
    known = list(journals.known)
    if stalled:
        known.append("until-idle workers did not stop after every case had ended")
    if known:
        pytest.xfail("bug: " + KNOWN_RACE + "; seen here: " + "; ".join(known[:5]))


# -- a bug found while writing the crash test (fixed in 50253d6 meanwhile) -----------------------


def test_until_idle_worker_finishes_work_a_dead_worker_had_leased(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`petriflow worker --until-idle` used to stop while open items were still leased by a
    dead worker (it waited for due timers, not for leases running out), leaving cases."""
    db = f"sqlite:///{tmp_path / 'store.db'}"
    start_cases(db, "invoice_to_payment", 5)
    store = SqlStore(db)
    request.addfinalizer(store.close)
    # a worker leases every open item for 3 s and dies (no need to kill a process for it)
    leased = store.claim_items("dead-worker", time.time(), 3.0, 1000)
    assert leased
    from petriflow.runtime.participants import SimulatedParticipants
    from petriflow.runtime.scenario import load_scenario

    engine = Engine(store, dispatch="deferred")
    dep = engine.deploy(MODELS / "invoice_to_payment.yaml")
    people = SimulatedParticipants(engine, load_scenario(
        MODELS / "invoice_to_payment.scenario.yaml"), random.Random(0))
    people.serve(dep)
    Worker(engine, people.act, name="last", lease=3.0).run(until_idle=True, max_seconds=30)
    assert [c.status.value for c in store.cases()] == ["completed"] * 5
