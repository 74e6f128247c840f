"""The Store protocol on SQLAlchemy 2 Core: SQLite embedded, PostgreSQL for many workers.

One :meth:`SqlStore.commit` is one database transaction: the case row is updated only
if its version is the one the change was computed from (``UPDATE ... WHERE version =
?``; zero rows means another writer won, :class:`~petriflow.errors.ConflictError`), the
journal rows are inserted under the primary key (case, seq) so a duplicate step cannot
be written twice, and work items and timers change in the same transaction. The case
row (marking, data, memory) is a snapshot that the journal can always rebuild.

``batch=N`` trades durability of the last few steps for throughput: changes of several
cases are queued and written together in one transaction (all or nothing), before any
read and at :meth:`SqlStore.close`. A crash loses at most the queued changes, never part
of one; their version checks run when they are written, so batching is for one writer.
A batch is coalesced (:func:`~petriflow.store.sql.write.plan`): one row per case, item
and timer with its final state, every journal event.

SQLite runs in WAL mode with ``synchronous=NORMAL`` by default (a process crash loses
nothing; a power cut may lose the last commits, never consistency); pass
``synchronous="FULL"`` to fsync every commit.

SQLAlchemy creates the schema, pools connections and maps its errors; the hot path
(commits, the reads the engine makes, leases) goes straight to the DB-API driver on a
connection the store keeps (:meth:`SqlStore._call`), with SQL texts built once
(:mod:`~petriflow.store.sql.write`, :mod:`~petriflow.store.sql.read`). On PostgreSQL that
connection is in autocommit mode: a read, a lease or a release is one round trip, and a
commit two (its statements in one pipeline, then ``COMMIT``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import (
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from petriflow.errors import ConflictError, CorruptionError, NotFoundError, StoreError
from petriflow.governance.audit import AuditEvent
from petriflow.governance.operations import Operation, next_operation
from petriflow.net.colorjson import color_from_json
from petriflow.net.colors import RecordColor
from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    StoredProcess,
    Timer,
    WorkItem,
)
from petriflow.store.codec import EVENT_COLUMNS, dumps, event_from_row, loads
from petriflow.store.sql import read
from petriflow.store.sql.migrations import migrate_schema, stored_version
from petriflow.store.sql.schema import (
    SCHEMA_VERSION,
    metadata,
    operations,
    processes,
    schema_info,
    switches,
)
from petriflow.store.sql.write import FORMAT, QMARK, check, plan, run


def default_url(directory: str | Path = ".") -> str:
    """The embedded default: a SQLite file in ``directory``."""
    return f"sqlite:///{Path(directory) / 'petriflow.db'}"


class SqlStore:
    """A durable store at a SQLAlchemy URL (``sqlite:///file.db``,
    ``postgresql+psycopg://user@host/db``)."""

    def __init__(self, url: str | None = None, *, synchronous: str = "NORMAL",
                 create: bool = True, migrate: bool = False, batch: int = 1,
                 echo: bool = False) -> None:
        self.url = url or default_url()
        self.durable = True  # answers are recorded before the steps that consume them
        if batch < 1:
            raise ValueError("batch is at least 1")
        self.batch = batch
        self._pending: list[Change] = []
        self.sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.sqlite:
            kwargs.update(pool_pre_ping=True, pool_size=4, max_overflow=4)
        try:
            self.db: SqlEngine = create_engine(self.url, **kwargs)
        except Exception as exc:  # a malformed URL or a missing driver
            raise StoreError(f"cannot use database {self._safe_url()}: {exc}") from None
        if self.sqlite:
            mode = synchronous.upper()
            if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise ValueError("synchronous is OFF, NORMAL, FULL or EXTRA")

            @event.listens_for(self.db, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:
                cur = conn.cursor()
                cur.execute("PRAGMA busy_timeout=10000")
                # switching to WAL needs a moment with no other writer; it stays switched
                if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={mode}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        self._colors: dict[str, RecordColor | None] = {}
        self._lock = threading.Lock()
        self._kept: Any = None          # the connection the store keeps (see _call)
        self._processes: dict[str, StoredProcess] = {}
        # While reuse_reads() is active: the cases and items read (or None).
        self._reused: tuple[dict[str, CaseRecord], dict[str, WorkItem]] | None = None
        self._open(create, migrate)

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return "<unparsable URL>"

    def _open(self, create: bool, migrate: bool = False) -> None:
        if self.sqlite and not create:
            database = self.db.url.database
            if database and database != ":memory:" and not Path(database).is_file():
                raise StoreError(f"no database file {database}",
                                 hint="run `petriflow run ... --db URL` first, or check the "
                                      "path")
        with self._errors("open"), self.db.begin() as conn:
            if create:
                metadata.create_all(conn)
            version = stored_version(conn, self._safe_url())
            if version is None and not create:
                # only a creating open writes the row: a read must not vouch for tables
                # whose creation it did not see finish
                raise StoreError(
                    f"database {self._safe_url()} has no schema version in table "
                    f"{schema_info.name}: its creation was interrupted (or the row deleted)",
                    hint="open it with a command that creates a database "
                         "(`petriflow run ... --db URL`) to finish it")
            if version is None:
                conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
            elif version != SCHEMA_VERSION and not (migrate and version < SCHEMA_VERSION):
                raise StoreError(
                    f"database {self._safe_url()} has schema version {version}; "
                    f"this petriflow uses {SCHEMA_VERSION}",
                    hint="run `petriflow db migrate --db URL` to bring it up to date"
                    if version < SCHEMA_VERSION else "it was written by a newer petriflow: "
                    "use that version (`petriflow db migrate` only moves forward)")
            elif version < SCHEMA_VERSION:
                migrate_schema(conn, version)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Database failures as petriflow errors: an unreachable or refusing server is a
        StoreError, a file that is not a database or a malformed page a CorruptionError."""
        try:
            yield
        except (StoreError, ConflictError):
            raise
        except IntegrityError:
            raise
        except OperationalError as exc:
            raise StoreError(f"database {self._safe_url()}: cannot {what}: "
                             f"{_first_line(exc)}") from None
        except DBAPIError as exc:
            if "malformed" in str(exc.orig) or "not a database" in str(exc.orig):
                raise CorruptionError(f"database {self._safe_url()} cannot be read: "
                                      f"{_first_line(exc)}") from None
            raise StoreError(f"database {self._safe_url()}: cannot {what}: "
                             f"{_first_line(exc)}") from None

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._lock:
                if self._kept is not None:
                    self._kept[0].close()
                    self._kept = None
            self.db.dispose()

    # -- processes ---------------------------------------------------------------------------

    def save_process(self, process: StoredProcess) -> None:
        if process.fingerprint in self._processes:
            return
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            exists = conn.execute(select(processes.c.fingerprint).where(
                processes.c.fingerprint == process.fingerprint)).first()
        if exists is None:
            # a concurrent deployment of the same process may win the insert: that is fine
            with contextlib.suppress(IntegrityError), self._errors("write"), \
                    self.db.begin() as conn:
                conn.execute(insert(processes).values(
                    fingerprint=process.fingerprint, name=process.name,
                    version=process.version, document=dumps(dict(process.document)),
                    created=time.time()))
        self._processes[process.fingerprint] = process

    def fingerprints(self) -> list[str]:
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [fp for (fp,) in conn.execute(select(processes.c.fingerprint).order_by(
                processes.c.created, processes.c.fingerprint))]

    def process(self, fingerprint: str) -> StoredProcess:
        known = self._processes.get(fingerprint)
        if known is not None:
            return known
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            row = conn.execute(select(processes).where(
                processes.c.fingerprint == fingerprint)).first()
        if row is None:
            raise NotFoundError(f"no process with fingerprint {fingerprint[:12]}")
        doc = loads(row.document, f"process {row.name}")
        if not isinstance(doc, dict):
            raise CorruptionError(f"stored process {row.name} ({fingerprint[:12]}): its "
                                  f"document is a JSON {type(doc).__name__}, not an object")
        stored = StoredProcess(row.fingerprint, row.name, row.version, doc)
        self._processes[fingerprint] = stored
        return stored

    def _color(self, fingerprint: str) -> RecordColor | None:
        if fingerprint not in self._colors:
            doc = self.process(fingerprint).document
            color = None
            if doc.get("data_color"):
                c = color_from_json(doc["data_color"])
                color = c if isinstance(c, RecordColor) else None
            self._colors[fingerprint] = color
        return self._colors[fingerprint]

    # -- the one write -----------------------------------------------------------------------

    @contextlib.contextmanager
    def reuse_reads(self) -> Iterator[None]:
        """Within the block, a case or work item read twice comes from the database once
        (a worker doing one item reads both about nine times otherwise).

        Safe because every commit checks the case version it was computed from, and
        because an item is never older than its case: reading a case from the database
        forgets the items of that case read before it (the engine reads case first, then
        item, for this reason; see ``Engine._snapshot``). A failed commit, a lease or a
        release forgets what it touched, so later reads see the database again; a
        commit that succeeds keeps what it wrote, as the engine's own cache does."""
        if self._reused is not None:  # nested: the outer block decides
            yield
            return
        self._reused = ({}, {})
        try:
            yield
        finally:
            self._reused = None

    def _forget(self, case_id: str) -> None:
        """Within reuse_reads(): drop the case and the items of it read so far."""
        reused = self._reused
        if reused is None:
            return
        cases, items = reused
        cases.pop(case_id, None)
        for iid in [i for i, item in items.items() if item.case == case_id]:
            del items[iid]

    def commit(self, change: Change) -> None:
        """Apply ``change`` in one transaction (see the module docstring). With
        ``batch > 1`` the change is queued and written with others in one transaction
        when ``batch`` are queued, or before any read, or on :meth:`flush`/:meth:`close`."""
        reused = self._reused
        if reused is not None:
            self._forget(change.case.id)
        if self.batch > 1:
            self._pending.append(change)
            if len(self._pending) >= self.batch:
                self.flush()
            return
        self._write([change])
        if reused is not None:  # written: what it wrote is what a read would return
            reused[0][change.case.id] = change.case
            for item in change.items:
                reused[1][item.id] = item

    def flush(self) -> None:
        """Write the queued changes (batching only), all or nothing."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._write(pending)

    def _write(self, changes: list[Change]) -> None:
        """One transaction through the driver (see :mod:`~petriflow.store.sql.write`):
        on SQLite the statements run one by one; on PostgreSQL they go in one pipeline
        (one round trip), the version checks are made when its results are in, and the
        COMMIT is a second round trip."""
        rows = plan(changes)

        def write(conn: Any, sent: list[bool]) -> None:
            if self.sqlite:
                check(run(conn, rows, QMARK))
            else:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    checks = run(conn, rows, FORMAT)
                check(checks)
            sent.append(True)     # from here on, a lost connection leaves the outcome open
            conn.commit() if self.sqlite else conn.execute("COMMIT")

        self._call("write", write, changes)

    def _call(self, what: str, work: Callable[[Any, list[bool]], Any],
              changes: list[Change] | None = None) -> Any:
        """``work(connection, sent)`` on the store's own DB-API connection, with driver
        errors as petriflow errors. The store keeps one connection (a SQLite one from the
        pool; a PostgreSQL one taken out of the pool, in autocommit mode, so that a read
        or a one-statement write is one round trip): no checkout or ping per call. If
        that connection turns out to be dead and ``work`` had not appended to ``sent``
        (a COMMIT was not sent: the server rolled the transaction back), it is run once
        more on a new connection."""
        dbapi = self.db.dialect.loaded_dbapi
        with self._lock:
            for attempt in (1, 2):
                raw, conn = self._connection()
                sent: list[bool] = []
                try:
                    return work(conn, sent)
                except BaseException as exc:
                    dead = self._after_failure(raw, conn, isinstance(exc, dbapi.Error))
                    if not isinstance(exc, dbapi.Error):
                        raise
                    if dead and not sent and attempt == 1:
                        continue
                    raise self._driver_error(exc, what, changes) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> tuple[Any, Any]:
        """(the pool's proxy, the driver's connection) of the connection the store keeps."""
        if self._kept is None:
            with self._errors("connect"):
                raw = self.db.raw_connection()
            conn = raw.driver_connection
            if not self.sqlite:
                raw.detach()      # ours until close(): its mode is changed below
                conn.autocommit = True
            self._kept = (raw, conn)
        return self._kept

    def _after_failure(self, raw: Any, conn: Any, driver_error: bool) -> bool:
        """Roll back after a failure. Returns whether the connection was dead; a dead
        one is dropped, and so is a PostgreSQL connection after any driver error (an
        aborted pipeline can leave psycopg believing in a prepared statement that the
        server never made)."""
        dead = bool(getattr(conn, "closed", False) or getattr(conn, "broken", False))
        try:
            if self.sqlite:
                conn.rollback()
                if not dead:
                    return False
            elif not dead and conn.info.transaction_status != 0:   # not idle
                conn.execute("ROLLBACK")
            if not dead and not (driver_error and not self.sqlite):
                return False
        except Exception:
            dead = True
        self._kept = None
        with contextlib.suppress(Exception):
            raw.invalidate() if self.sqlite else conn.close()
        return dead

    def _driver_error(self, exc: Exception, what: str, changes: list[Change] | None
                      ) -> StoreError:
        first = _first_line(exc)
        if changes:
            ids = list(dict.fromkeys(ch.case.id for ch in changes))
            cases_ = f"case {ids[0]}" if len(ids) == 1 else f"one of cases {', '.join(ids[:5])}"
            if isinstance(exc, self.db.dialect.loaded_dbapi.IntegrityError):
                if len(changes) == 1 and changes[0].expected_version is None:
                    return ConflictError(f"case {ids[0]} exists already ({first})",
                                         hint="start the case under another id")
                return ConflictError(f"{cases_}: another writer committed the same step "
                                     f"({first})")
            what += " " + cases_
        if "malformed" in first or "not a database" in first:
            return CorruptionError(f"database {self._safe_url()} cannot be read: {first}")
        return StoreError(f"database {self._safe_url()}: cannot {what}: {first}")

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("?", "%s")

    def _rows(self, query: tuple[str, tuple[Any, ...]]) -> list[Any]:
        """The rows of a query of :mod:`~petriflow.store.sql.read`, after the queued
        changes are written."""
        self.flush()
        sql = self._sql(query[0])
        return self._call("read", lambda conn, _: conn.execute(sql, query[1]).fetchall())

    def _statement(self, sql: str, params: tuple[Any, ...], fetch: bool = False) -> Any:
        """One write statement as its own transaction (autocommit on PostgreSQL): a lease
        or its release, which may be repeated on a new connection (leases only spread
        the work; the version checks decide)."""
        sql = self._sql(sql)

        def once(conn: Any, sent: list[bool]) -> Any:
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if fetch else None
            if self.sqlite:
                conn.commit()
            return rows

        return self._call("write", once)

    # -- reads -------------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseRecord:
        reused = self._reused
        if reused is not None and case_id in reused[0]:
            return reused[0][case_id]
        rows = self._rows(read.case_by_id(case_id))
        if not rows:
            raise NotFoundError(f"no case {case_id!r}")
        rec = read.case_record(rows[0], self._color)
        if reused is not None:
            self._forget(case_id)  # items read before their case: read them again
            reused[0][case_id] = rec
        return rec

    def cases(self, *, process: str | None = None, status: CaseStatus | None = None
              ) -> list[CaseRecord]:
        return [read.case_record(r, self._color)
                for r in self._rows(read.case_list(process, status))]

    def case_ids(self) -> list[str]:
        return [r[0] for r in self._rows(("SELECT id FROM petriflow_cases ORDER BY id", ()))]

    def journal_case_ids(self) -> list[str]:
        return [r[0] for r in self._rows(read.journal_cases())]

    def work_item(self, item_id: str) -> WorkItem:
        reused = self._reused
        if reused is not None:
            if item_id in reused[1]:
                return reused[1][item_id]
            if not self.sqlite:
                return self._item_and_case(item_id, reused)
        rows = self._rows(read.item_by_id(item_id))
        if not rows:
            raise NotFoundError(f"no work item {item_id!r}")
        item = read.work_item(rows[0])
        if reused is not None:
            reused[1][item_id] = item
        return item

    def _item_and_case(self, item_id: str,
                       reused: tuple[dict[str, CaseRecord], dict[str, WorkItem]]) -> WorkItem:
        """Within reuse_reads() on PostgreSQL: the item and its case in one round trip
        (a worker reads both for every item it does), the case first, so that the item
        is not older than its case."""
        self.flush()
        (case_sql, case_args), (item_sql, item_args) = (read.case_of_item(item_id),
                                                        read.item_by_id(item_id))

        def both(conn: Any, _: list[bool]) -> tuple[list[Any], list[Any]]:
            with conn.pipeline():
                first = conn.execute(self._sql(case_sql), case_args)
                second = conn.execute(self._sql(item_sql), item_args)
            return first.fetchall(), second.fetchall()

        case_rows, item_rows = self._call("read", both)
        if not item_rows:
            raise NotFoundError(f"no work item {item_id!r}")
        item = read.work_item(item_rows[0])
        if case_rows:
            rec = read.case_record(case_rows[0], self._color)
            self._forget(rec.id)
            reused[0][rec.id] = rec
        reused[1][item_id] = item
        return item

    def work_items(self, *, case: str | None = None, open_only: bool = True,
                   role: str | None = None, agent: str | None = None) -> list[WorkItem]:
        return [read.work_item(r) for r in self._rows(read.item_list(case, open_only, role,
                                                                     agent))]

    def timers(self, *, case: str | None = None, due_by: float | None = None) -> list[Timer]:
        return [read.timer(r) for r in self._rows(read.timer_list(case, due_by))]

    def events(self, case_id: str) -> list[AuditEvent]:
        return [event_from_row(dict(zip(EVENT_COLUMNS, r, strict=True)))
                for r in self._rows(read.journal(case_id))]

    def switches(self) -> Mapping[str, frozenset[str]]:
        out: dict[str, set[str]] = {"process": set(), "agent": set()}
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            for r in conn.execute(select(switches)):
                out.setdefault(r.kind, set()).add(r.key)
        return {k: frozenset(v) for k, v in out.items()}

    def claim_items(self, worker: str, now: float, lease: float, limit: int
                    ) -> list[WorkItem]:
        """One statement: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
        RETURNING``. On PostgreSQL rows another worker is claiming are skipped, not
        waited for; SQLite has one writer at a time, so the statement is atomic anyway."""
        self.flush()
        rows = self._statement(read.claim(not self.sqlite), (now + lease, worker, now, limit),
                               fetch=True)
        claimed = sorted((read.work_item(r) for r in rows), key=lambda i: (i.created, i.id))
        if self._reused is not None:
            for item in claimed:
                self._reused[1].pop(item.id, None)
        return claimed

    def release_item(self, item_id: str, worker: str) -> None:
        self.flush()
        if self._reused is not None:
            self._reused[1].pop(item_id, None)
        self._statement(read.RELEASE, (item_id, worker))

    def set_switch(self, kind: str, key: str, on: bool, *, actor: str = "engine",
                   reason: str | None = None, at: float = 0.0) -> None:
        """One transaction: the switch and its entry in the operators' log. Two operators
        at once both compute the next entry number: the second insert violates the log's
        primary key and that writer loses with a ConflictError (the log never forks)."""
        self.flush()
        try:
            with self._errors("write"), self.db.begin() as conn:
                held = conn.execute(select(switches.c.key).where(
                    switches.c.kind == kind, switches.c.key == key)).first() is not None
                if held == on:
                    return
                row = conn.execute(select(operations).order_by(
                    operations.c.seq.desc()).limit(1)).first()
                last = None if row is None else Operation(**row._mapping)
                op = next_operation(last, at, kind, key, on, actor, reason)
                conn.execute(insert(operations).values(asdict(op)))
                if on:
                    conn.execute(insert(switches).values(kind=kind, key=key))
                else:
                    conn.execute(delete(switches).where(switches.c.kind == kind,
                                                        switches.c.key == key))
        except IntegrityError:
            raise ConflictError(f"another operator changed the kill switches at the same "
                                f"time; {kind} {key} was not changed",
                                hint="look at the switches and try again") from None

    def operations(self) -> list[Operation]:
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [Operation(**r._mapping) for r in conn.execute(
                select(operations).order_by(operations.c.seq))]


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


__all__ = ["SqlStore", "default_url"]
