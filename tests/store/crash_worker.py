"""A worker process for the crash tests: ``petriflow worker`` with an idempotent ledger.

It does what ``petriflow worker`` does (simulated participants from each process's
``.scenario.yaml``, work items leased with ``Store.claim_items``, due timers fired), but
every bot and API call goes through a side-effect ledger keyed by the call's idempotency
key, standing in for an idempotent external system: the first call with a key performs
the effect (runs the simulated service and records its answer), every later call with
the same key returns the recorded answer without a second effect. Both are counted
(``effects`` and ``calls``), so a test can see how many calls a killed worker caused to
be repeated, and check that no key ever had two effects.

The ledger is a table ``crash_ledger`` in a SQLite file or in a PostgreSQL database
(``--ledger URL``); a per-key lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction
lock on PostgreSQL) makes "look up, else perform and record" atomic across processes.

Without ``--ledger`` the services are called directly (as ``petriflow worker`` does).
Prints ``ready`` once it is about to take work, and a JSON line of its statistics when it
stops (``--until-idle``, ``--max-seconds`` or SIGTERM; ``"terminated": true`` for SIGTERM).

    python tests/store/crash_worker.py --db URL --ledger URL [--name N] [--seed S]
        [--lease SECONDS] [--batch N] [--until-idle] [--max-seconds S] [--effect-delay S]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from petriflow.runtime import Engine
from petriflow.runtime.handlers import ServiceCall
from petriflow.runtime.participants import SimulatedParticipants
from petriflow.runtime.scenario import Scenario, load_scenario, scenario_next_to
from petriflow.runtime.worker import Worker
from petriflow.store.codec import dumps, loads
from petriflow.store.sql import SqlStore

LEDGER_DDL = ("CREATE TABLE IF NOT EXISTS crash_ledger (key TEXT PRIMARY KEY, task TEXT NOT "
              "NULL, work_item TEXT NOT NULL, effects INTEGER NOT NULL, calls INTEGER NOT "
              "NULL, result TEXT NOT NULL)")

Perform = Callable[[ServiceCall], Mapping[str, Any]]


def _wal(conn: sqlite3.Connection, seconds: float = 30.0) -> None:
    """Switch to WAL unless it is on already; switching needs a moment with no other
    writer, which a worker restarted beside a live one may have to wait for."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Ledger:
    """The idempotent external system: one effect per idempotency key."""

    def __init__(self, url: str, effect_delay: float = 0.0) -> None:
        self.url = url
        self.effect_delay = effect_delay
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            path = url.split("///", 1)[1]
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            _wal(self.conn)
            self.conn.execute(LEDGER_DDL)
        else:
            from sqlalchemy import create_engine, text

            self.text = text
            self.db = create_engine(url, pool_size=1, max_overflow=0)
            with self.db.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(20240101)"))
                conn.execute(text(LEDGER_DDL))

    def call(self, call: ServiceCall, perform: Perform) -> Mapping[str, Any]:
        return self._sqlite(call, perform) if self.sqlite else self._postgres(call, perform)

    def _effect(self, call: ServiceCall, perform: Perform) -> tuple[Mapping[str, Any], str]:
        result = dict(perform(call))   # may raise: a failed call has no effect
        return result, dumps(result)

    def _sqlite(self, call: ServiceCall, perform: Perform) -> Mapping[str, Any]:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")   # the write lock: one caller at a time
        try:
            row = c.execute("SELECT result FROM crash_ledger WHERE key = ?",
                            (call.key,)).fetchone()
            if row is not None:
                c.execute("UPDATE crash_ledger SET calls = calls + 1 WHERE key = ?",
                          (call.key,))
                c.execute("COMMIT")
                return dict(loads(row[0], "ledger"))
            result, text = self._effect(call, perform)
            c.execute("INSERT INTO crash_ledger VALUES (?, ?, ?, 1, 1, ?)",
                      (call.key, call.task, call.work_item, text))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        self._answer_travels()
        return result

    def _postgres(self, call: ServiceCall, perform: Perform) -> Mapping[str, Any]:
        text = self.text
        with self.db.begin() as conn:   # rolled back (no effect) if perform raises
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": call.key})
            row = conn.execute(text("SELECT result FROM crash_ledger WHERE key = :k"),
                               {"k": call.key}).first()
            if row is not None:
                conn.execute(text("UPDATE crash_ledger SET calls = calls + 1 WHERE key = :k"),
                             {"k": call.key})
                return dict(loads(row[0], "ledger"))
            result, encoded = self._effect(call, perform)
            conn.execute(text("INSERT INTO crash_ledger VALUES (:k, :t, :w, 1, 1, :r)"),
                         {"k": call.key, "t": call.task, "w": call.work_item, "r": encoded})
        self._answer_travels()
        return result

    def _answer_travels(self) -> None:
        """The effect happened; the answer is on its way back (a kill now repeats the call)."""
        if self.effect_delay:
            time.sleep(self.effect_delay)


class LedgeredParticipants(SimulatedParticipants):
    """The scenario's participants, with every bot and API call made through the ledger."""

    ledger: Ledger

    def _service(self, call: ServiceCall) -> Mapping[str, Any]:
        return self.ledger.call(call, super()._service)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--ledger", default=None, help="no ledger: call the services directly")
    p.add_argument("--name", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--until-idle", action="store_true")
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--effect-delay", type=float, default=0.0)
    args = p.parse_args(argv)

    engine = Engine(SqlStore(args.db), dispatch="deferred")
    ledger = Ledger(args.ledger, args.effect_delay) if args.ledger else None
    rng = random.Random(args.seed)
    by_process: dict[str, SimulatedParticipants] = {}

    def serve(dep: Any) -> None:   # as `petriflow worker` does, with the ledger in between
        if dep.compiled.name not in by_process:
            doc_path = engine.store.process(dep.fingerprint).document.get("path")
            path = scenario_next_to(doc_path) if doc_path else None
            behaviour = load_scenario(path) if path else Scenario()
            people = (LedgeredParticipants if ledger else SimulatedParticipants)(
                engine, behaviour, rng)
            if ledger:
                people.ledger = ledger   # type: ignore[attr-defined]
            by_process[dep.compiled.name] = people
        by_process[dep.compiled.name].serve(dep)

    engine.on_deploy.append(serve)

    def act(item: Any) -> bool:
        case = engine.case(item.case)
        engine.deployment(case.fingerprint)   # deploys (and serves) it on first sight
        return bool(by_process[case.process].act(item))

    worker = Worker(engine, act, name=args.name, lease=args.lease, batch=args.batch)
    stopped = []

    def stop(_signum: int, _frame: Any) -> None:   # SIGTERM: report, then stop
        stopped.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    try:
        worker.run(until_idle=args.until_idle, max_seconds=args.max_seconds)
    except KeyboardInterrupt:
        if not stopped:
            raise
    s = worker.stats
    print(json.dumps({"items": s.items, "timers": s.timers, "conflicts": s.conflicts,
                      "rounds": s.rounds, "terminated": bool(stopped)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
