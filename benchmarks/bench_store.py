"""Durable store throughput: petriflow's SqlStore against raw SQLite and raw PostgreSQL.

    python benchmarks/bench_store.py              # full run (a few minutes)
    python benchmarks/bench_store.py --quick      # smoke run (seconds, SQLite only)
    python benchmarks/bench_store.py --json       # JSON on stdout instead of the tables
    python benchmarks/bench_store.py --no-pg      # skip PostgreSQL
    python benchmarks/bench_store.py --pg-cases 300 --worker-reps 3   # the worker runs

Measures, in one run:

1. **Durable steps per second on SQLite** (WAL, ``synchronous=NORMAL`` and ``FULL``):
   the engine (``Engine(SqlStore(url, synchronous=S), clock=ManualClock())``, enforce and
   audit on) runs the happy path of ``models/invoice_to_payment.yaml`` one case at a time
   with instant participants (as ``bench_engine.py``). A durable step is one journal event
   committed; each ``store.commit`` may carry several events, so both commits/s and
   events/s are reported. The yardstick is stdlib ``sqlite3`` on a fresh file with the
   same pragmas: one INSERT of a real journal event row (same columns and size as
   ``petriflow_events``) per transaction. Target: events/s >= 50% of raw commits/s.
1b. **Batched** (``SqlStore(url, synchronous=S, batch=N)``, N = 1, 10, 100): the same
   cases driven without any store read between commits (the work item ids come from the
   engine's ``on_offer`` hook, and the bank confirmation is completed by its item id
   rather than ``deliver``, which reads the open items; a read flushes the queue). The
   transactions actually written are counted by wrapping the store instance's ``_write``
   (here, not in the package); the timed run ends with ``store.flush()`` so every event
   counted is on disk. Reported: durable events/s, transactions/s, changes per
   transaction and both as a share of the raw commit rate of the same run. ``batch=1``
   with this driver is the like-for-like baseline of the batched rows.
2. **Per-commit cost breakdown** (unbatched): in a separate, instrumented run, the
   statements each ``store.commit`` sends (counted and timed by kind through a wrapper
   around the store's own driver connection, ``SqlStore._connection``), the driver's
   COMMIT (and, on PostgreSQL, the explicit BEGIN), the reads the engine makes between
   commits, and a cProfile of the run (sorted by cumulative time). Then
   the very SQL those commits sent is replayed on a fresh database through the raw
   driver, one commit per change and grouped 10 and 100 changes per transaction (what
   batching could give at best), and the captured ``Change`` objects are replayed through
   ``SqlStore.commit`` alone (the store's ceiling without the engine).
3. **PostgreSQL** (``--pg-url``, default the local ``test`` database with psycopg 3):
   the same engine run (the ``petriflow_*`` tables dropped before each repetition), and
   raw psycopg, one INSERT per transaction. ``--quick`` skips PostgreSQL.
3b. **PostgreSQL workers**: ``petriflow start models/invoice_to_payment.yaml --cases N``
   (not timed), then 1 or 2 ``petriflow worker --until-idle`` subprocesses; the time is
   from launching the workers to the last one exiting, and every case must be completed
   with no open work item. Each run gets a fresh schema of its own (``?options=
   -csearch_path%3D...``). The scenario is the model's own with ``failure_rate: 0``: a
   simulated failure schedules a retry 1-5 s of wall time later, and ``--until-idle``
   waits for it, so with failures the figure measures sleeping, not throughput. A worker
   on an empty database (start-up plus the idle rounds before it stops) is timed too and
   reported as the fixed overhead. Target: 2 workers >= 1.6x one worker's throughput.
4. **Flatness**: one case of a small loop process (a human task ``work``; an automatic
   task ``bump`` increments ``n``; an exclusive gateway loops back while ``n < limit``),
   driven on SQLite (NORMAL) to 10,000 loop iterations (one ``complete`` and one commit of
   5 events each); at 500, 1,000 and 10,000 the mean ``store.commit`` time and the mean
   whole step over the iterations just before, the length of the case row's data,
   marking and memory JSON, and the number of journal reads so far (must stay 0).
   Called flat here when the mean step time at the last checkpoint is at most
   ``FLAT_GROWTH`` times the first and no journal read happened. The windows are 500
   iterations long because SQLite's WAL checkpoints (one every few hundred commits) make
   the mean of a 100-iteration window jump by 1.5-2x from one window to the next.

Each throughput figure is the median of repetitions after a warm-up, the raw driver and
petriflow interleaved; the warm-up sizes a repetition to about 1.5 s. Building engines,
fresh databases and the checks (every case completed) are not timed.
Prints tables (or JSON with ``--json``) and writes JSON to benchmarks/out/store.json.
The benchmark asserts nothing about speed: a missed target is a result.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402

from petriflow.model import compile_file, compile_loaded, load_text  # noqa: E402
from petriflow.runtime import AgentAnswer, Engine, ManualClock  # noqa: E402
from petriflow.store.base import CaseStatus, Change  # noqa: E402
from petriflow.store.codec import event_to_row  # noqa: E402
from petriflow.store.sql.schema import metadata as sql_metadata  # noqa: E402
from petriflow.store.sql.store import SqlStore  # noqa: E402

try:
    import psycopg
except ImportError:  # pragma: no cover
    psycopg = None

MODEL = ROOT / "models" / "invoice_to_payment.yaml"
INPUTS = {"invoice_id": "INV1", "channel": "pdf", "document_quality": "good",
          "submitted_by": "sam"}
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_SHARE = 50.0     # petriflow events/s as a percentage of raw commits/s
TARGET_SCALING = 1.6    # 2 PostgreSQL workers' throughput over one worker's
FLAT_GROWTH = 1.25      # step time at 10,000 steps over that at 100
BATCHES = (1, 10, 100)  # SqlStore(batch=N) of the batched rows

LOOP_YAML = """
process: grind
version: "1"
data:
  n: {type: int, min: 0}
  limit: {type: int, min: 0, input: true}
  note: {type: str}
roles: [worker]
nodes:
  s: {type: start}
  loop: {type: exclusive}
  work: {type: task, kind: human, role: worker, writes: [note]}
  bump: {type: task, kind: auto, set: {n: "n + 1"}}
  again: {type: exclusive}
  e: {type: end}
flows:
  - s -> loop
  - loop -> work
  - work -> bump
  - bump -> again
  - {from: again, to: loop, when: n < limit}
  - {from: again, to: e, default: true}
"""


@dataclass(frozen=True)
class Mode:
    name: str
    reps: int
    warmup_cases: int       # invoice cases of the warm-up, which sizes the repetitions
    warmup_raw: int         # raw commits of the warm-up
    seconds: float          # aimed length of one repetition (0: fixed sizes below)
    cases: int              # invoice cases per repetition when seconds == 0
    raw: int                # raw commits per repetition when seconds == 0
    breakdown_cases: int    # cases of the instrumented and profiled runs
    groups: tuple[int, ...]     # changes per transaction in the replay
    checkpoints: tuple[int, ...]    # loop iterations of the flatness run
    window: int             # iterations averaged before each checkpoint
    worker_cases: int = 300     # cases of each PostgreSQL worker run (full mode: 1,000)
    worker_reps: int = 3        # repetitions of each worker count (interleaved)


FULL = Mode("full", reps=5, warmup_cases=40, warmup_raw=2000, seconds=1.5, cases=0, raw=0,
            breakdown_cases=200, groups=(1, 10, 100), checkpoints=(500, 1_000, 10_000),
            window=500, worker_cases=1000)
QUICK = Mode("quick", reps=2, warmup_cases=2, warmup_raw=50, seconds=0.0, cases=4, raw=200,
             breakdown_cases=4, groups=(1, 5), checkpoints=(10, 30, 60), window=10)


# ---------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------


class Scratch:
    """Fresh databases: SQLite files in a temporary directory, or the PostgreSQL URL with
    the petriflow tables dropped."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.n = 0

    def sqlite_url(self) -> str:
        self.n += 1
        return f"sqlite:///{self.dir / f'db{self.n}.sqlite'}"

    def sqlite_path(self) -> Path:
        self.n += 1
        return self.dir / f"raw{self.n}.sqlite"


def drop_pg(url: str) -> None:
    db = sqlalchemy.create_engine(url)
    try:
        sql_metadata.drop_all(db)
    finally:
        db.dispose()


def fresh_url(backend: str, scratch: Scratch, pg_url: str) -> str:
    if backend == "postgresql":
        drop_pg(pg_url)
        return pg_url
    return scratch.sqlite_url()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# ---------------------------------------------------------------------------------------
# The engine on the invoice process
# ---------------------------------------------------------------------------------------


def invoice_engine(store: Any, cp: Any) -> Engine:
    ans = AgentAnswer({"supplier": "ACME", "amount": Decimal("500"), "currency": "EUR",
                       "po_number": "PO1"}, 0.95, "ok")
    e = Engine(store, clock=ManualClock())
    e.agent("invoice_extractor", lambda r: ans)
    e.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    e.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    e.service("pay", lambda c: {"payment_reference": "P"})
    e.deploy(cp)
    return e


def run_invoices(e: Engine, cp: Any, n: int, prefix: str = "c") -> list[str]:
    ids = []
    for i in range(n):
        c = e.start(cp, INPUTS, case_id=f"{prefix}{i}")
        it = e.work_items(c.id)[0]          # approve_manager
        e.complete(it.id, "mia", {"approved": True})
        e.deliver(c.id, "bank_confirmation", {"payment_confirmed": True})
        ids.append(c.id)
    return ids


def run_invoices_noread(e: Engine, cp: Any, n: int, offered: dict[str, dict[str, str]],
                        prefix: str = "c") -> list[str]:
    """The same happy path without a store read between commits: the item ids come from
    the engine's ``on_offer`` hook (``offered``: case -> task -> item id)."""
    ids = []
    for i in range(n):
        c = e.start(cp, INPUTS, case_id=f"{prefix}{i}")
        e.complete(offered[c.id]["approve_manager"], "mia", {"approved": True})
        e.complete(offered.pop(c.id)["bank_confirmation"], None, {"payment_confirmed": True})
        ids.append(c.id)
    return ids


class Transactions:
    """Wraps the store instance's ``_write`` (every transaction it writes goes through it):
    counts transactions and the changes they carry."""

    def __init__(self, store: SqlStore) -> None:
        self.transactions = 0
        self.changes = 0
        inner = store._write

        def write(changes: list[Change]) -> None:
            inner(changes)
            self.transactions += 1
            self.changes += len(changes)

        store._write = write  # type: ignore[method-assign]


class Counting:
    """Wraps ``store.commit`` (an instance attribute, so the engine calls it): counts
    commits and events and sums the seconds spent inside."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.commits = 0
        self.events = 0
        self.seconds = 0.0
        self.captured: list[Change] | None = None
        inner = store.commit
        clock = time.perf_counter

        def commit(change: Change) -> None:
            t0 = clock()
            try:
                inner(change)
            finally:
                self.seconds += clock() - t0
            self.commits += 1
            self.events += len(change.events)
            if self.captured is not None:
                self.captured.append(change)

        store.commit = commit


def check_completed(store: Any, ids: list[str]) -> None:
    for cid in ids:
        status = store.case(cid).status
        if status is not CaseStatus.COMPLETED:
            raise AssertionError(f"case {cid} is {status.value}, not completed")


def sample_event_row(cp: Any) -> dict[str, Any]:
    """A real journal row of the invoice process (the longest of a happy-path case)."""
    e = invoice_engine(None, cp)
    (cid,) = run_invoices(e, cp, 1)
    rows = [event_to_row(ev) for ev in e.store.events(cid)]
    rows.sort(key=lambda r: len(r["body"]))
    return rows[len(rows) // 2]       # the median-sized row


def _row_chars(row: dict[str, Any]) -> int:
    return sum(len(str(v)) for v in row.values())


# ---------------------------------------------------------------------------------------
# Jobs: setup (untimed), run n units (timed), returning what to count
# ---------------------------------------------------------------------------------------


@dataclass
class Job:
    key: str
    label: str
    setup: Callable[[], Any]
    run: Callable[[Any, int], dict[str, int]]       # units -> counters (commits, events..)
    teardown: Callable[[Any], None]
    unit: str                                       # "commits" or "cases"
    size: int = 0
    checked: int = 0


def raw_sqlite_job(scratch: Scratch, sync: str, row: dict[str, Any]) -> Job:
    cols = list(row)

    def setup() -> sqlite3.Connection:
        con = sqlite3.connect(scratch.sqlite_path())
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={sync}")
        con.execute("CREATE TABLE ev (case_id VARCHAR(200) NOT NULL, seq INTEGER NOT NULL, "
                    "kind VARCHAR(20) NOT NULL, at FLOAT NOT NULL, prev VARCHAR(64) NOT NULL, "
                    "hash VARCHAR(64) NOT NULL, body TEXT NOT NULL, PRIMARY KEY (case_id, seq))")
        con.commit()
        return con

    sql = f"INSERT INTO ev ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    values = [row[c] for c in cols]
    k = cols.index("seq")

    def run(con: sqlite3.Connection, n: int) -> dict[str, int]:
        last[0] = n
        v = list(values)
        for i in range(n):
            v[k] = i
            con.execute(sql, v)
            con.commit()
        return {"commits": n, "events": n}

    def teardown(con: sqlite3.Connection) -> None:
        (count,) = con.execute("SELECT count(*) FROM ev").fetchone()
        con.close()
        if count != last[0]:
            raise AssertionError(f"raw sqlite3 wrote {count} rows, not {last[0]}")

    last = [0]
    job = Job(f"raw_sqlite_{sync.lower()}", f"sqlite3 raw, WAL+{sync}", setup, run,
              teardown, "commits")
    return job


def raw_pg_job(pg_url: str, row: dict[str, Any]) -> Job:
    cols = list(row)
    table = "bench_store_raw"

    def setup() -> Any:
        con = psycopg.connect(_libpq(pg_url))
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} (case_id VARCHAR(200) NOT NULL, seq INTEGER NOT "
                    "NULL, kind VARCHAR(20) NOT NULL, at FLOAT NOT NULL, prev VARCHAR(64) NOT "
                    "NULL, hash VARCHAR(64) NOT NULL, body TEXT NOT NULL, "
                    "PRIMARY KEY (case_id, seq))")
        con.commit()
        return con

    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    values = [row[c] for c in cols]
    k = cols.index("seq")

    def run(con: Any, n: int) -> dict[str, int]:
        v = list(values)
        for i in range(n):
            v[k] = i
            con.execute(sql, v)
            con.commit()
        return {"commits": n, "events": n}

    def teardown(con: Any) -> None:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.commit()
        con.close()

    return Job("raw_pg", "psycopg 3 raw, synchronous_commit=on", setup, run, teardown,
               "commits")


@dataclass
class EngineState:
    engine: Engine
    counting: Counting
    store: SqlStore
    ids: list[str]


def petriflow_job(key: str, label: str, cp: Any, new_url: Callable[[], str],
                  sync: str = "NORMAL") -> Job:
    def setup() -> EngineState:
        store = SqlStore(new_url(), synchronous=sync)
        e = invoice_engine(store, cp)
        return EngineState(e, Counting(store), store, [])

    def run(state: EngineState, n: int) -> dict[str, int]:
        state.ids = run_invoices(state.engine, cp, n)
        return {"commits": state.counting.commits, "events": state.counting.events,
                "cases": len(state.ids)}

    def teardown(state: EngineState) -> None:
        check_completed(state.store, state.ids)   # every case completed (fails loudly)
        job.checked += len(state.ids)
        state.store.close()

    job = Job(key, label, setup, run, teardown, "cases")
    return job


@dataclass
class BatchState(EngineState):
    tx: Transactions
    offered: dict[str, dict[str, str]]


def batched_job(key: str, label: str, cp: Any, new_url: Callable[[], str], sync: str,
                batch: int) -> Job:
    def setup() -> BatchState:
        store = SqlStore(new_url(), synchronous=sync, batch=batch)
        e = invoice_engine(store, cp)
        offered: dict[str, dict[str, str]] = {}
        e.on_offer.append(lambda item: offered.setdefault(item.case, {}).__setitem__(
            item.task, item.id))
        return BatchState(e, Counting(store), store, [], Transactions(store), offered)

    def run(state: BatchState, n: int) -> dict[str, int]:
        state.ids = run_invoices_noread(state.engine, cp, n, state.offered)
        state.store.flush()         # timed: every event counted is written
        return {"commits": state.tx.transactions, "events": state.counting.events,
                "cases": len(state.ids), "changes": state.counting.commits,
                "written": state.tx.changes}

    def teardown(state: BatchState) -> None:
        if state.tx.changes != state.counting.commits:
            raise AssertionError(f"{state.counting.commits} changes committed, "
                                 f"{state.tx.changes} written")
        check_completed(state.store, state.ids)
        job.checked += len(state.ids)
        state.store.close()

    job = Job(key, label, setup, run, teardown, "cases")
    return job


def _once(job: Job, n: int) -> tuple[float, dict[str, int], float]:
    state = job.setup()
    gc.collect()
    t0 = time.perf_counter()
    counts = job.run(state, n)
    dt = time.perf_counter() - t0
    commit_s = state.counting.seconds if isinstance(state, EngineState) else float("nan")
    job.teardown(state)
    return dt, counts, commit_s


def measure(jobs: list[Job], mode: Mode) -> dict[str, dict[str, Any]]:
    """Warm up and size every job, then ``mode.reps`` interleaved repetitions each."""
    for job in jobs:
        warm = mode.warmup_cases if job.unit == "cases" else mode.warmup_raw
        dt, _, _ = _once(job, warm)
        if mode.seconds > 0:
            job.size = max(20 if job.unit == "cases" else 500,
                           math.ceil(mode.seconds / (dt / warm)))
        else:
            job.size = mode.cases if job.unit == "cases" else mode.raw
    samples: dict[str, list[tuple[float, dict[str, int], float]]] = {j.key: [] for j in jobs}
    for _ in range(mode.reps):
        for job in jobs:
            samples[job.key].append(_once(job, job.size))
    out = {}
    for job in jobs:
        runs = samples[job.key]
        commits = [c["commits"] / dt for dt, c, _ in runs]
        events = [c["events"] / dt for dt, c, _ in runs]
        dt, counts, _ = runs[-1]
        row: dict[str, Any] = {
            "label": job.label, "unit": job.unit, "size": job.size, "reps": mode.reps,
            "commits_per_s": statistics.median(commits), "commits_min": min(commits),
            "commits_max": max(commits), "events_per_s": statistics.median(events),
            "events_min": min(events), "events_max": max(events),
            "seconds": statistics.median(d for d, _, _ in runs),
            "events_per_commit": counts["events"] / counts["commits"],
        }
        if "changes" in counts:
            row["batch"] = True
            row["changes_per_s"] = statistics.median(c["changes"] / d for d, c, _ in runs)
            row["changes_per_transaction"] = counts["changes"] / counts["commits"]
            row["transactions_min_max_per_rep"] = [min(c["commits"] for _, c, _ in runs),
                                                   max(c["commits"] for _, c, _ in runs)]
        if job.unit == "cases":
            row["cases_per_s"] = statistics.median(c["cases"] / d for d, c, _ in runs)
            row["commits_per_case"] = counts.get("changes", counts["commits"]) \
                / counts["cases"]
            row["events_per_case"] = counts["events"] / counts["cases"]
            row["commit_share_percent"] = statistics.median(
                100 * cs / d for d, _, cs in runs)
            row["checked_cases"] = job.checked
        out[job.key] = row
    return out


# ---------------------------------------------------------------------------------------
# Breakdown: statements, driver time, reads, profile, replay
# ---------------------------------------------------------------------------------------


def _kind(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper()
    table = "?"
    for w in words:
        if w.startswith(("petriflow_", '"petriflow_')) and "." not in w:
            table = w.strip('"(')
            break
        if w.startswith("petriflow_") and "." in w and verb == "SELECT":
            table = w.split(".")[0]
            break
    return f"{verb} {table.removeprefix('petriflow_')}"


STORE_READS = ("case", "work_item", "work_items", "cases", "events", "timers", "switches",
               "case_ids", "process")


def breakdown(url: str, cp: Any, n: int, capture: bool = True) -> dict[str, Any]:
    """One instrumented run of ``n`` invoice cases: where the time goes, per commit."""
    store = SqlStore(url)
    e = invoice_engine(store, cp)
    run_invoices(e, cp, 2, prefix="w")          # warm the statement caches
    phase = ["engine"]
    stmt_n: Counter[tuple[str, str]] = Counter()
    stmt_s: defaultdict[tuple[str, str], float] = defaultdict(float)
    store_n: Counter[str] = Counter()
    store_s: defaultdict[str, float] = defaultdict(float)
    driver: Counter[str] = Counter()
    driver_s: defaultdict[str, float] = defaultdict(float)
    captured: list[list[tuple[str, Any, bool]]] = []
    clock = time.perf_counter

    def record(statement: str, params: Any, many: bool, seconds: float) -> None:
        if statement in ("BEGIN", "COMMIT"):   # PostgreSQL's explicit transaction
            driver[f"{phase[0]}: driver {statement}"] += 1
            driver_s[f"{phase[0]}: driver {statement}"] += seconds
            return
        key = (phase[0], _kind(statement))
        stmt_n[key] += 1
        stmt_s[key] += seconds
        if capture and phase[0] == "commit":
            captured[-1].append((statement, list(params) if many else params, many))

    class Cursor:
        """The driver's cursor, each statement timed and recorded."""

        def __init__(self, cur: Any) -> None:
            self.cur = cur

        def __getattr__(self, name: str) -> Any:
            return getattr(self.cur, name)

        def execute(self, statement: str, params: Any = ()) -> Any:
            t0 = clock()
            out = self.cur.execute(statement, params)
            record(statement, params, False, clock() - t0)
            return out

        def executemany(self, statement: str, params: Any) -> Any:
            params = list(params)
            t0 = clock()
            out = self.cur.executemany(statement, params)
            record(statement, params, True, clock() - t0)
            return out

    class Connection:
        """The store's own driver connection (``SqlStore._call``), instrumented."""

        def __init__(self, conn: Any) -> None:
            self.conn = conn

        def __getattr__(self, name: str) -> Any:
            return getattr(self.conn, name)

        def cursor(self) -> Cursor:
            return Cursor(self.conn.cursor())

        def execute(self, statement: str, params: Any = ()) -> Any:
            return Cursor(self.conn.cursor()).execute(statement, params)

        def commit(self) -> None:
            t0 = clock()
            self.conn.commit()
            driver[f"{phase[0]}: driver COMMIT"] += 1
            driver_s[f"{phase[0]}: driver COMMIT"] += clock() - t0

    inner_connection = store._connection

    def connection() -> tuple[Any, Any]:
        raw, conn = inner_connection()
        return raw, Connection(conn)

    store._connection = connection  # type: ignore[method-assign]

    changes: list[Change] = []
    inner_commit = store.commit

    def commit(change: Change) -> None:
        phase[0] = "commit"
        captured.append([])
        t0 = clock()
        try:
            inner_commit(change)
        finally:
            store_s["commit"] += clock() - t0
            store_n["commit"] += 1
            phase[0] = "engine"
        changes.append(change)

    store.commit = commit  # type: ignore[method-assign]
    for name in STORE_READS:
        fn = getattr(store, name)

        def read(*args: Any, _fn: Callable[..., Any] = fn, _name: str = name, **kw: Any
                 ) -> Any:
            outer = phase[0]
            phase[0] = "read"
            t0 = clock()
            try:
                return _fn(*args, **kw)
            finally:
                store_s[_name] += clock() - t0
                store_n[_name] += 1
                phase[0] = outer
        setattr(store, name, read)

    gc.collect()
    t0 = clock()
    ids = run_invoices(e, cp, n)
    total = clock() - t0
    store._connection = inner_connection  # type: ignore[method-assign]
    check_completed(store, ids)
    store.close()

    commits = store_n["commit"]
    events = sum(len(c.events) for c in changes)
    read_s = sum(v for k, v in store_s.items() if k != "commit")
    exec_commit = sum(v for (p, _), v in stmt_s.items() if p == "commit")
    commit_driver = driver_s.get("commit: driver COMMIT", 0.0) + driver_s.get(
        "commit: driver BEGIN", 0.0)
    per_commit_us = store_s["commit"] / commits * 1e6
    statements = {f"{p}: {k}": {"count": c, "per_commit": c / commits, "per_case": c / n,
                                "us_each": stmt_s[(p, k)] / c * 1e6}
                  for (p, k), c in sorted(stmt_n.items(), key=lambda kv: -kv[1])}
    result: dict[str, Any] = {
        "cases": n, "commits": commits, "events": events, "seconds": total,
        "commits_per_case": commits / n, "events_per_commit": events / commits,
        "statements_per_commit": sum(c for (p, _), c in stmt_n.items() if p == "commit")
        / commits,
        "read_statements_per_case": sum(c for (p, _), c in stmt_n.items() if p == "read") / n,
        "split_percent": {
            "store.commit": 100 * store_s["commit"] / total,
            "store reads": 100 * read_s / total,
            "engine (the rest)": 100 * (total - store_s["commit"] - read_s) / total},
        "per_commit_us": {
            "store.commit wall": per_commit_us,
            "driver execute (all statements)": exec_commit / commits * 1e6,
            "driver COMMIT": commit_driver / commits * 1e6,
            "SQLAlchemy + petriflow Python (the rest)":
                per_commit_us - (exec_commit + commit_driver) / commits * 1e6},
        "store_calls": {k: {"count": store_n[k], "per_case": store_n[k] / n,
                            "us_each": store_s[k] / store_n[k] * 1e6}
                        for k in sorted(store_n, key=lambda k: -store_s[k])},
        "statements": statements,
        "driver_calls": {k: {"count": c, "per_case": c / n,
                             "us_each": driver_s[k] / c * 1e6 if k in driver_s else None}
                         for k, c in sorted(driver.items())},
    }
    result["_captured"] = captured
    result["_changes"] = changes
    return result


def profile_run(url: str, cp: Any, n: int, top: int = 30) -> list[dict[str, Any]]:
    store = SqlStore(url)
    e = invoice_engine(store, cp)
    run_invoices(e, cp, 2, prefix="w")
    prof = cProfile.Profile()
    prof.enable()
    run_invoices(e, cp, n)
    prof.disable()
    store.close()
    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in sorted(
            st.stats.items(), key=lambda kv: -kv[1][3])[:top]:  # type: ignore[attr-defined]
        where = file
        for marker in ("site-packages/", "/work/main/", str(ROOT) + "/"):
            if marker in where:
                where = where.split(marker, 1)[1]
        rows.append({"function": f"{where}:{line}({fn})", "calls": nc,
                     "tottime_s": tt, "cumtime_s": ct, "cum_ms_per_case": ct / n * 1e3})
    return rows


def replay_sql(backend: str, url: str, scratch: Scratch, captured: list[list[Any]],
               events_per_change: float, groups: tuple[int, ...]) -> list[dict[str, Any]]:
    """The SQL the commits sent, replayed through the raw driver on a fresh database,
    ``k`` changes per transaction."""
    out = []
    for k in groups:
        if backend == "postgresql":
            drop_pg(url)
            db = sqlalchemy.create_engine(url)
            sql_metadata.create_all(db)
            db.dispose()
            con = psycopg.connect(_libpq(url))
        else:
            u = scratch.sqlite_url()
            db = sqlalchemy.create_engine(u)
            sql_metadata.create_all(db)
            db.dispose()
            con = sqlite3.connect(u.removeprefix("sqlite:///"))
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
        cur = con.cursor()
        gc.collect()
        t0 = time.perf_counter()
        for i, stmts in enumerate(captured, 1):
            for statement, params, many in stmts:
                if many:
                    cur.executemany(statement, params)
                else:
                    cur.execute(statement, params)
            if i % k == 0:
                con.commit()
        con.commit()
        dt = time.perf_counter() - t0
        con.close()
        out.append({"changes_per_transaction": k, "changes": len(captured), "seconds": dt,
                    "changes_per_s": len(captured) / dt,
                    "events_per_s": len(captured) * events_per_change / dt})
    if backend == "postgresql":
        drop_pg(url)
    return out


def replay_store(url: str, changes: list[Change]) -> dict[str, Any]:
    """The captured changes through ``SqlStore.commit`` alone, on a fresh database."""
    store = SqlStore(url)
    for fp in {c.case.fingerprint for c in changes}:
        store._processes[fp] = None  # type: ignore[assignment]  # no process row needed
    gc.collect()
    t0 = time.perf_counter()
    for ch in changes:
        store.commit(ch)
    dt = time.perf_counter() - t0
    store.close()
    events = sum(len(c.events) for c in changes)
    return {"changes": len(changes), "seconds": dt, "changes_per_s": len(changes) / dt,
            "events_per_s": events / dt, "us_per_commit": dt / len(changes) * 1e6}


# ---------------------------------------------------------------------------------------
# PostgreSQL workers: petriflow start, then 1 or 2 petriflow worker subprocesses
# ---------------------------------------------------------------------------------------


def _petriflow_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "petriflow"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from petriflow.cli import entry; entry()"]


def _schema_url(base: str, schema: str) -> str:
    with psycopg.connect(_libpq(base), autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
    return base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"


def _drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(_libpq(base), autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _worker_run(base: str, schema: str, scenario: Path, cases: int, workers: int
                ) -> dict[str, Any]:
    url = _schema_url(base, schema)
    pf = _petriflow_cmd()
    if cases:
        subprocess.run([*pf, "start", str(MODEL), "--cases", str(cases), "--db", url,
                        "--scenario", str(scenario)], check=True, capture_output=True,
                       text=True, cwd=ROOT)
    cmd = [*pf, "worker", "--db", url, "--until-idle", "--scenario", str(scenario),
           "--format", "json"]
    t0 = time.perf_counter()
    procs = [subprocess.Popen([*cmd, "--seed", str(k + 1), "--name", f"bench-w{k + 1}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT) for k in range(workers)]
    outs = [p.communicate() for p in procs]
    dt = time.perf_counter() - t0
    for p, (_out, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise AssertionError(f"worker exited {p.returncode}: {err[-1000:]}")
    with psycopg.connect(_libpq(base), options=f"-csearch_path={schema}") as con:
        status = dict(con.execute(
            "SELECT status, count(*) FROM petriflow_cases GROUP BY status").fetchall()) \
            if cases else {}
        open_items = con.execute("SELECT count(*) FROM petriflow_work_items WHERE status "
                                 "IN ('offered', 'claimed')").fetchone()[0] if cases else 0
        events = con.execute("SELECT count(*) FROM petriflow_events").fetchone()[0] \
            if cases else 0
    _drop_schema(base, schema)
    if cases and (status.get("completed", 0) != cases or open_items):
        raise AssertionError(f"{workers} worker(s) left cases {status}, {open_items} open "
                             "work items")
    stats = [json.loads(o) for o, _ in outs]
    starts = [x["busy_from"] for x in stats if x["busy_from"] is not None]
    ends = [x["busy_until"] for x in stats if x["busy_until"] is not None]
    busy = max(ends) - min(starts) if starts and ends else 0.0
    return {"workers": workers, "seconds": dt, "events": events, "busy_seconds": busy,
            "items": sum(x["items"] for x in stats), "outputs": [o.strip() for o, _ in outs]}


def pg_workers(base: str, schema: str, workdir: Path, cases: int, reps: int,
               counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """Launch-to-exit wall time of 1 and 2 workers on ``cases`` started cases (median of
    ``reps``, the worker counts interleaved), and of one worker on an empty database."""
    import yaml

    doc = yaml.safe_load((MODEL.parent / "invoice_to_payment.scenario.yaml").read_text())
    for task in doc.get("tasks", {}).values():
        if "failure_rate" in task:
            task["failure_rate"] = 0
    scenario = workdir / "invoice_no_failures.scenario.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    ws = f"{schema or 'bench_store'}_workers"
    empty = [_worker_run(base, ws, scenario, 0, 1)["seconds"] for _ in range(reps)]
    runs: dict[int, list[dict[str, Any]]] = {k: [] for k in counts}
    for _ in range(reps):
        for k in counts:
            runs[k].append(_worker_run(base, ws, scenario, cases, k))
    rows = {}
    for k, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        events = rs[-1]["events"]
        busy = [r["busy_seconds"] for r in rs]
        rows[str(k)] = {"workers": k, "seconds": statistics.median(secs),
                        "seconds_all": secs, "events": events,
                        "busy_seconds": statistics.median(busy), "busy_all": busy,
                        "events_per_busy_s": events / statistics.median(busy)
                        if statistics.median(busy) else 0.0,
                        "events_per_s": events / statistics.median(secs),
                        "cases_per_s": cases / statistics.median(secs),
                        "net_seconds": statistics.median(secs) - statistics.median(empty),
                        "last_outputs": rs[-1]["outputs"]}
    out: dict[str, Any] = {"cases": cases, "reps": reps, "scenario": "invoice_to_payment, "
                           "failure_rate 0", "empty_worker_seconds": statistics.median(empty),
                           "rows": rows}
    if "1" in rows and "2" in rows:
        # The target's measure: throughput while working (first item taken to last item
        # done, over all workers), which leaves out process start-up and the idle rounds
        # after which --until-idle stops. Launch-to-exit is reported beside it.
        out["scaling"] = rows["1"]["busy_seconds"] / rows["2"]["busy_seconds"]
        out["scaling_launch_to_exit"] = rows["1"]["seconds"] / rows["2"]["seconds"]
        out["scaling_net"] = rows["1"]["net_seconds"] / rows["2"]["net_seconds"]
    return out


# ---------------------------------------------------------------------------------------
# Flatness: one long case
# ---------------------------------------------------------------------------------------


def flatness(url: str, checkpoints: tuple[int, ...], window: int) -> dict[str, Any]:
    cp = compile_loaded(load_text(LOOP_YAML))
    store = SqlStore(url)
    counting = Counting(store)
    e = Engine(store, clock=ManualClock())
    e.deploy(cp)
    journal_reads = [0]

    inner_rows = store._rows

    def rows(query: tuple[str, tuple[Any, ...]]) -> list[Any]:
        # every read of the store goes through _rows (SQLite: the driver directly)
        if "petriflow_events" in query[0]:
            journal_reads[0] += 1
        return inner_rows(query)

    store._rows = rows  # type: ignore[method-assign]

    limit = max(checkpoints)
    case = e.start(cp, {"limit": limit}, case_id="long")
    actors = ("ann", "bob", "cy")
    step_s: list[float] = []
    commit_s: list[float] = []
    rows = []
    clock = time.perf_counter
    gc.collect()
    t_all = clock()
    for i in range(1, limit + 1):
        item = e.work_items(case.id)[0]
        c0 = counting.seconds
        t0 = clock()
        case = e.complete(item.id, actors[i % 3], {"note": f"pass {i}"})
        step_s.append(clock() - t0)
        commit_s.append(counting.seconds - c0)
        if i in checkpoints:
            w = min(window, i)
            with store.db.connect() as conn:
                r = conn.execute(sqlalchemy.text(
                    "SELECT data, marking, memory FROM petriflow_cases WHERE id = 'long'")
                ).one()
            rows.append({"steps": i, "events": case.version, "window": w,
                         "commit_ms": statistics.fmean(commit_s[-w:]) * 1e3,
                         "commit_ms_median": statistics.median(commit_s[-w:]) * 1e3,
                         "step_ms": statistics.fmean(step_s[-w:]) * 1e3,
                         "data_chars": len(r.data), "marking_chars": len(r.marking),
                         "memory_chars": len(r.memory), "journal_reads": journal_reads[0]})
    total = clock() - t_all
    done = case.status is CaseStatus.COMPLETED and case.data["n"] == limit
    store.close()
    first, last = rows[0], rows[-1]
    return {"process": "grind (work -> bump -> loop while n < limit)",
            "events_per_step": (last["events"] - first["events"])
            / max(1, last["steps"] - first["steps"]),
            "steps": limit, "seconds": total, "completed": done, "rows": rows,
            "commit_growth": last["commit_ms"] / first["commit_ms"],
            "step_growth": last["step_ms"] / first["step_ms"]}


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _k(x: float) -> str:
    return f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}"


def show(title: str, head: list[str], body: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
    print(title)
    for line in [head, *body]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    print()


def print_tables(result: dict[str, Any]) -> None:
    body = []
    for r in result["rows"].values():
        body.append([r["label"], str(r["size"]) + " " + r["unit"], f"{r['seconds']:.2f}",
                     _k(r["commits_per_s"]), f"{_k(r['commits_min'])}-{_k(r['commits_max'])}",
                     _k(r["events_per_s"]), f"{r['events_per_commit']:.2f}",
                     f"{r['commit_share_percent']:.0f}%" if "commit_share_percent" in r
                     else "-"])
    show(f"Throughput (median of {result['mode_settings']['reps']}; petriflow = invoice "
         "happy path, one case at a time)",
         ["run", "size/rep", "s/rep", "commits/s", "min-max", "events/s", "ev/commit",
          "in commit"], body)
    bt = result["summary"]["batched"]
    if bt:
        show("Batched (SqlStore batch=N, no reads between commits; transactions counted at "
             "SqlStore._write)",
             ["sync", "batch", "events/s", "txn/s", "changes/txn", "raw commits/s",
              "events/raw", "txn/raw"],
             [[b["sync"], str(b["batch"]), _k(b["events_per_s"]),
               _k(b["transactions_per_s"]), f"{b['changes_per_transaction']:.1f}",
               _k(b["raw_commits_per_s"]), f"{b['events_share_percent']:.0f}%",
               f"{b['transactions_share_percent']:.0f}%"] for b in bt])
    w = result.get("workers")
    if w:
        show(f"PostgreSQL workers: {w['cases']} cases, median of {w['reps']} (a worker on "
             f"an empty database: {w['empty_worker_seconds']:.2f} s)",
             ["workers", "working s", "all", "events/working s", "launch to exit s", "all",
              "net of empty s"],
             [[str(r["workers"]), f"{r['busy_seconds']:.2f}",
               " ".join(f"{x:.2f}" for x in r["busy_all"]), _k(r["events_per_busy_s"]),
               f"{r['seconds']:.2f}", " ".join(f"{x:.2f}" for x in r["seconds_all"]),
               f"{r['net_seconds']:.2f}"]
              for r in w["rows"].values()])
        if "scaling" in w:
            print(f"scaling 2/1 while working: {w['scaling']:.2f}x (launch to exit: "
                  f"{w['scaling_launch_to_exit']:.2f}x; net of the empty-worker time: "
                  f"{w['scaling_net']:.2f}x)\n")
    t = result["summary"]["targets"]
    show("Targets", ["target", "value", "goal", "met"],
         [[x["target"], f"{x['value']:.2f}", x["goal"], "yes" if x["met"] else "NO"]
          for x in t])
    for backend, b in result["breakdown"].items():
        show(f"Breakdown, {backend}: {b['cases']} cases, {b['commits_per_case']:.1f} commits "
             f"and {b['commits_per_case'] * b['events_per_commit']:.1f} events per case, "
             f"{b['statements_per_commit']:.2f} statements per commit, "
             f"{b['read_statements_per_case']:.1f} read statements per case",
             ["where", "value"],
             [[k, f"{v:.0f}%"] for k, v in b["split_percent"].items()]
             + [[f"per commit: {k}", f"{v:.0f} us"] for k, v in b["per_commit_us"].items()])
        show(f"Statements, {backend}", ["phase: statement", "per commit", "per case", "us each"],
             [[k, f"{v['per_commit']:.2f}", f"{v['per_case']:.1f}", f"{v['us_each']:.0f}"]
              for k, v in b["statements"].items()])
        show(f"Store calls and driver calls, {backend}", ["call", "per case", "us each"],
             [[k, f"{v['per_case']:.1f}", f"{v['us_each']:.0f}"]
              for k, v in b["store_calls"].items()]
             + [[k, f"{v['per_case']:.1f}", "-" if v["us_each"] is None
                 else f"{v['us_each']:.0f}"] for k, v in b["driver_calls"].items()])
        rep = b["replay"]
        show(f"Replay of the captured commits, {backend}",
             ["how", "changes/s", "events/s"],
             [["SqlStore.commit alone (no engine)", _k(rep["store"]["changes_per_s"]),
               _k(rep["store"]["events_per_s"])]]
             + [[f"raw driver, same SQL, {g['changes_per_transaction']} change(s)/txn",
                 _k(g["changes_per_s"]), _k(g["events_per_s"])] for g in rep["raw_sql"]])
    for backend, prof in result["profile"].items():
        show(f"cProfile, {backend}, cumulative (top {len(prof)})",
             ["function", "calls", "tottime s", "cumtime s", "ms/case"],
             [[p["function"][-70:], str(p["calls"]), f"{p['tottime_s']:.3f}",
               f"{p['cumtime_s']:.3f}", f"{p['cum_ms_per_case']:.2f}"] for p in prof])
    f = result["flatness"]
    show(f"Flatness: one case of {f['process']} on SQLite NORMAL, "
         f"{f['events_per_step']:.0f} events per step",
         ["steps", "events", "commit ms", "step ms", "data", "marking", "memory",
          "journal reads"],
         [[str(r["steps"]), str(r["events"]), f"{r['commit_ms']:.3f}", f"{r['step_ms']:.3f}",
           str(r["data_chars"]), str(r["marking_chars"]), str(r["memory_chars"]),
           str(r["journal_reads"])] for r in f["rows"]])
    for s in result["skipped"]:
        print(f"skipped: {s}")


def summary(rows: dict[str, dict[str, Any]], workers: dict[str, Any] | None = None,
            flat: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"targets": [], "batched": []}
    for sync in ("normal", "full"):
        raw, pf = rows.get(f"raw_sqlite_{sync}"), rows.get(f"petriflow_sqlite_{sync}")
        if raw and pf:
            share = 100 * pf["events_per_s"] / raw["commits_per_s"]
            out[f"sqlite_{sync}_events_share_percent"] = share
            out[f"sqlite_{sync}_commits_share_percent"] = (
                100 * pf["commits_per_s"] / raw["commits_per_s"])
            out["targets"].append({
                "target": f"SQLite {sync.upper()}: petriflow events/s / raw commits/s (%)",
                "value": share, "goal": f">= {TARGET_SHARE:.0f}", "met": share >= TARGET_SHARE})
        for batch in BATCHES:
            b = rows.get(f"batched_sqlite_{sync}_{batch}")
            if not (raw and b):
                continue
            share = 100 * b["events_per_s"] / raw["commits_per_s"]
            out["batched"].append({
                "sync": sync.upper(), "batch": batch, "events_per_s": b["events_per_s"],
                "transactions_per_s": b["commits_per_s"],
                "changes_per_transaction": b["changes_per_transaction"],
                "raw_commits_per_s": raw["commits_per_s"], "events_share_percent": share,
                "transactions_share_percent": 100 * b["commits_per_s"] / raw["commits_per_s"]})
            if batch > 1:
                out["targets"].append({
                    "target": f"SQLite {sync.upper()} batch={batch}: events/s / raw "
                              "commits/s (%)",
                    "value": share, "goal": f">= {TARGET_SHARE:.0f}",
                    "met": share >= TARGET_SHARE})
    raw, pf = rows.get("raw_pg"), rows.get("petriflow_pg")
    if raw and pf:
        share = 100 * pf["events_per_s"] / raw["commits_per_s"]
        out["pg_events_share_percent"] = share
        out["pg_commits_share_percent"] = 100 * pf["commits_per_s"] / raw["commits_per_s"]
        out["targets"].append({"target": "PostgreSQL: petriflow events/s / raw commits/s (%)",
                               "value": share, "goal": "(reported)", "met": True})
    if workers and "scaling" in workers:
        out["targets"].append({
            "target": f"PostgreSQL: 2 workers / 1 worker throughput while working "
                      f"({workers['cases']} cases)",
            "value": workers["scaling"], "goal": f">= {TARGET_SCALING}",
            "met": workers["scaling"] >= TARGET_SCALING})
    if flat:
        ok = flat["step_growth"] <= FLAT_GROWTH and flat["rows"][-1]["journal_reads"] == 0
        out["targets"].append({
            "target": f"Flatness: step time at {flat['rows'][-1]['steps']} / at "
                      f"{flat['rows'][0]['steps']} steps",
            "value": flat["step_growth"], "goal": f"<= {FLAT_GROWTH}, 0 journal reads",
            "met": ok})
    return out


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _pg_ok(url: str) -> str | None:
    if psycopg is None:
        return "psycopg is not installed"
    try:
        psycopg.connect(_libpq(url), connect_timeout=3).close()
    except Exception as exc:
        return f"cannot connect to {url}: {exc}"
    return None


def _pg_schema(url: str, schema: str, *, create: bool) -> str:
    """Create (or drop) the benchmark's own schema; the URL that puts it first."""
    if not schema.isidentifier():
        raise SystemExit(f"--pg-schema {schema!r} is not a plain identifier")
    with psycopg.connect(_libpq(url)) as con:
        if create:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        else:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    if not create or "csearch_path" in url:
        return url
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run of a few seconds (SQLite only, tiny sizes)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "store.json")
    ap.add_argument("--pg-url", default=PG_URL, help=f"PostgreSQL URL (default {PG_URL})")
    ap.add_argument("--pg-schema", default="bench_store",
                    help="a schema of its own (created, and dropped at the end) so that tests "
                    "running on the same database cannot drop its tables mid-run; '' for "
                    "the default search_path")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    ap.add_argument("--pg-cases", type=int, default=None,
                    help=f"cases of each PostgreSQL worker run (default {FULL.worker_cases})")
    ap.add_argument("--worker-reps", type=int, default=None,
                    help=f"repetitions of each worker run (default {FULL.worker_reps})")
    ap.add_argument("--no-workers", action="store_true",
                    help="skip the PostgreSQL worker runs")
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the SQLite files go (default: a temporary directory)")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    started = time.time()
    load_before = os.getloadavg()
    skipped: list[str] = []
    pg = not (args.quick or args.no_pg)
    base_pg_url = args.pg_url
    if not pg:
        skipped.append("PostgreSQL: " + ("--quick" if args.quick else "--no-pg"))
    else:
        why = _pg_ok(args.pg_url)
        if why:
            skipped.append(f"PostgreSQL: {why}")
            pg = False
        elif args.pg_schema:
            args.pg_url = _pg_schema(args.pg_url, args.pg_schema, create=True)

    workdir = Path(tempfile.mkdtemp(prefix="bench_store_", dir=args.dir))
    try:
        scratch = Scratch(workdir)
        cp = compile_file(MODEL)
        row = sample_event_row(cp)
        jobs = []
        for sync in ("NORMAL", "FULL"):
            jobs.append(raw_sqlite_job(scratch, sync, row))
            jobs.append(petriflow_job(f"petriflow_sqlite_{sync.lower()}",
                                      f"petriflow SqlStore sqlite, WAL+{sync}", cp,
                                      scratch.sqlite_url, sync))
            for batch in BATCHES:
                jobs.append(batched_job(f"batched_sqlite_{sync.lower()}_{batch}",
                                        f"petriflow no reads, WAL+{sync}, batch={batch}", cp,
                                        scratch.sqlite_url, sync, batch))
        if pg:
            jobs.append(raw_pg_job(args.pg_url, row))
            jobs.append(petriflow_job("petriflow_pg", "petriflow SqlStore postgresql", cp,
                                      lambda: fresh_url("postgresql", scratch, args.pg_url)))
        rows = measure(jobs, mode)

        backends = ["sqlite"] + (["postgresql"] if pg else [])
        result_breakdown: dict[str, Any] = {}
        result_profile: dict[str, Any] = {}
        for backend in backends:
            b = breakdown(fresh_url(backend, scratch, args.pg_url), cp, mode.breakdown_cases)
            captured, changes = b.pop("_captured"), b.pop("_changes")
            b["replay"] = {
                "store": replay_store(fresh_url(backend, scratch, args.pg_url), changes),
                "raw_sql": replay_sql(backend, args.pg_url, scratch, captured,
                                      b["events_per_commit"], mode.groups)}
            result_breakdown[backend] = b
            result_profile[backend] = profile_run(fresh_url(backend, scratch, args.pg_url),
                                                  cp, mode.breakdown_cases)
        if pg:
            drop_pg(args.pg_url)
            if args.pg_schema:
                _pg_schema(args.pg_url, args.pg_schema, create=False)
        flat = flatness(scratch.sqlite_url(), mode.checkpoints, mode.window)
        workers = None
        if pg and not args.no_workers:
            workers = pg_workers(base_pg_url, args.pg_schema, workdir,
                                 args.pg_cases or mode.worker_cases,
                                 args.worker_reps or mode.worker_reps)
        elif not args.no_workers:
            skipped.append("PostgreSQL workers: no PostgreSQL")
        else:
            skipped.append("PostgreSQL workers: --no-workers")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    result: dict[str, Any] = {
        "benchmark": "durable store throughput, invoice_to_payment happy path; flatness",
        "mode": mode.name,
        "command": " ".join(["python", "benchmarks/bench_store.py",
                             *(sys.argv[1:] if argv is None else argv)]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "processor": platform.processor()},
        "versions": {"sqlite": sqlite3.sqlite_version, "sqlalchemy": sqlalchemy.__version__,
                     "psycopg": _version("psycopg"),
                     "petriflow_commit": _git("rev-parse", "--short", "HEAD"),
                     "petriflow_dirty": bool(_git("status", "--porcelain", "petriflow"))},
        "mode_settings": mode.__dict__,
        "raw_row": {"columns": list(row), "chars": _row_chars(row)},
        "rows": rows, "summary": summary(rows, workers, flat),
        "breakdown": result_breakdown, "profile": result_profile, "flatness": flat,
        "workers": workers, "skipped": skipped,
    }
    result["elapsed_s"] = time.time() - started
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_tables(result)
        print(f"total {result['elapsed_s']:.1f} s, load average {load_before[0]:.2f} -> "
              f"{result['load_average']['after'][0]:.2f}")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
