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

SQLite runs in WAL mode with ``synchronous=NORMAL`` by default (a process crash loses
nothing; a power cut may lose the last commits, never consistency); pass
``synchronous="FULL"`` to fsync every commit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from petriflow.errors import ConflictError, CorruptionError, NotFoundError, StoreError
from petriflow.governance.audit import AuditEvent
from petriflow.net.colorjson import color_from_json
from petriflow.net.colors import RecordColor
from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    ItemStatus,
    StoredProcess,
    Timer,
    WorkItem,
)
from petriflow.store.codec import (
    decode_data,
    dumps,
    event_from_row,
    event_to_row,
    loads,
)
from petriflow.store.sql.migrations import migrate_schema
from petriflow.store.sql.schema import (
    SCHEMA_VERSION,
    cases,
    events,
    metadata,
    processes,
    schema_info,
    switches,
    timers,
    work_items,
)

OPEN = (ItemStatus.OFFERED.value, ItemStatus.CLAIMED.value)

# Statements built once: the commit path only binds parameters.
_CASE_COLUMNS = [c.name for c in cases.columns if c.name != "id"]
_ITEM_COLUMNS = [c.name for c in work_items.columns if c.name != "id"]
_CASE_INSERT = insert(cases)
_CASE_UPDATE = update(cases).where(
    cases.c.id == bindparam("b_id"), cases.c.version == bindparam("b_version")
).values({n: bindparam(n) for n in _CASE_COLUMNS})
_EVENT_INSERT = insert(events)
_ITEM_INSERT = insert(work_items)
_ITEM_UPDATE = update(work_items).where(work_items.c.id == bindparam("b_id")).values(
    {n: bindparam(n) for n in _ITEM_COLUMNS})
_TIMER_INSERT = insert(timers)
_TIMER_DELETE = delete(timers).where(timers.c.id.in_(bindparam("ids", expanding=True)))


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
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._processes: dict[str, StoredProcess] = {}
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
            row = conn.execute(select(schema_info.c.version)).first()
            if row is None:
                conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
            elif row.version != SCHEMA_VERSION and not (migrate and row.version < SCHEMA_VERSION):
                raise StoreError(
                    f"database {self._safe_url()} has schema version {row.version}; "
                    f"this petriflow uses {SCHEMA_VERSION}",
                    hint="run `petriflow db migrate --db URL` to bring it up to date"
                    if row.version < SCHEMA_VERSION else "it was written by a newer petriflow: "
                    "use that version (`petriflow db migrate` only moves forward)")
            elif row.version < SCHEMA_VERSION:
                migrate_schema(conn, row.version)

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
        self.flush()
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

    def commit(self, change: Change) -> None:
        """Apply ``change`` in one transaction (see the module docstring). With
        ``batch > 1`` the change is queued and written with others in one transaction
        when ``batch`` are queued, or before any read, or on :meth:`flush`/:meth:`close`."""
        if self.batch > 1:
            self._pending.append(change)
            if len(self._pending) >= self.batch:
                self.flush()
            return
        self._write([change])

    def flush(self) -> None:
        """Write the queued changes (batching only), all or nothing."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._write(pending)

    def _write(self, changes: list[Change]) -> None:
        current = changes[0].case.id
        try:
            with self._errors("write"), self.db.begin() as conn:
                for change in changes:
                    current = change.case.id
                    self._apply(conn, change)
        except IntegrityError as exc:
            raise ConflictError(f"case {current}: another writer committed the same step "
                                f"({exc.orig})") from None

    def _sql(self, name: str, stmt: Any) -> tuple[str, tuple[str, ...]]:
        """A statement as SQLite's driver takes it: the text with ``?`` and the order of
        its parameters (compiled once; used on the commit path to skip per-call work)."""
        known = self._compiled.get(name)
        if known is None:
            compiled = stmt.compile(dialect=self.db.dialect)
            known = self._compiled[name] = (compiled.string, tuple(compiled.positiontup))
        return known

    def _run(self, conn: Any, name: str, stmt: Any, params: Any) -> Any:
        """Execute a prebuilt statement: on SQLite straight through the driver, elsewhere
        through SQLAlchemy. ``params`` is a mapping or a list of mappings (executemany)."""
        if not self.sqlite:
            return conn.execute(stmt, params)
        text, order = self._sql(name, stmt)
        if isinstance(params, list):
            return conn.exec_driver_sql(text, [tuple(p[k] for k in order) for p in params])
        return conn.exec_driver_sql(text, tuple(params[k] for k in order))

    def _apply(self, conn: Any, change: Change) -> None:
        c = change.case
        values = {"process": c.process, "fingerprint": c.fingerprint,
                  "status": c.status.value, "marking": dumps(dict(c.marking)),
                  "data": dumps(dict(c.data)), "memory": dumps(dict(c.memory)),
                  "version": c.version, "head": c.head, "started": c.started,
                  "updated": c.updated, "incident": c.incident,
                  "labels": dumps(dict(c.labels))}
        if change.expected_version is None:
            self._run(conn, "case_insert", _CASE_INSERT, {"id": c.id, **values})
        else:
            done = self._run(conn, "case_update", _CASE_UPDATE,
                             {"b_id": c.id, "b_version": change.expected_version, **values})
            if done.rowcount != 1:
                raise ConflictError(f"case {c.id} changed since version "
                                    f"{change.expected_version}: another writer moved it; "
                                    "reload and retry")
        if change.events:
            self._run(conn, "event_insert", _EVENT_INSERT,
                      [event_to_row(e) for e in change.events])
        new = set(change.new_items)
        fresh = [{"id": i.id, **_item_row(i)} for i in change.items if i.id in new]
        if fresh:
            self._run(conn, "item_insert", _ITEM_INSERT, fresh)
        for item in change.items:
            if item.id in new:
                continue
            row = _item_row(item)
            done = self._run(conn, "item_update", _ITEM_UPDATE, {"b_id": item.id, **row})
            if done.rowcount == 0:
                self._run(conn, "item_insert", _ITEM_INSERT, {"id": item.id, **row})
        gone = list(change.cancel_timers) + [t.id for t in change.timers]
        if gone:
            if self.sqlite:
                conn.exec_driver_sql("DELETE FROM petriflow_timers WHERE id IN ("
                                     + ",".join("?" * len(gone)) + ")", tuple(gone))
            else:
                conn.execute(_TIMER_DELETE, {"ids": gone})
        if change.timers:
            self._run(conn, "timer_insert", _TIMER_INSERT, [
                {"id": t.id, "case_id": t.case, "due": t.due, "kind": t.kind,
                 "work_item": t.work_item, "transition": t.transition}
                for t in change.timers])

    # -- reads -------------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseRecord:
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            raise NotFoundError(f"no case {case_id!r}")
        return self._case(row)

    def _case(self, row: Any) -> CaseRecord:
        what = f"case {row.id}"
        try:
            status = CaseStatus(row.status)
        except ValueError:
            raise CorruptionError(f"{what}: unknown status {row.status!r}") from None
        marking = loads(row.marking, what + " marking")
        if not isinstance(marking, dict) or not all(
                isinstance(v, int) and v >= 0 for v in marking.values()):
            raise CorruptionError(f"{what}: the marking is not a count per place")
        data = decode_data(self._color(row.fingerprint), loads(row.data, what + " data"),
                           what)
        return CaseRecord(row.id, row.process, row.fingerprint, status, marking, data,
                          loads(row.memory, what + " memory"), row.version, row.head,
                          row.started, row.updated, row.incident,
                          loads(row.labels, what + " labels"))

    def cases(self, *, process: str | None = None, status: CaseStatus | None = None
              ) -> list[CaseRecord]:
        q = select(cases).order_by(cases.c.started, cases.c.id)
        if process is not None:
            q = q.where(cases.c.process == process)
        if status is not None:
            q = q.where(cases.c.status == status.value)
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            rows = conn.execute(q).all()
        return [self._case(r) for r in rows]

    def case_ids(self) -> list[str]:
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [r.id for r in conn.execute(select(cases.c.id).order_by(cases.c.id))]

    def work_item(self, item_id: str) -> WorkItem:
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            row = conn.execute(select(work_items).where(work_items.c.id == item_id)).first()
        if row is None:
            raise NotFoundError(f"no work item {item_id!r}")
        return _item(row)

    def work_items(self, *, case: str | None = None, open_only: bool = True,
                   role: str | None = None, agent: str | None = None) -> list[WorkItem]:
        q = select(work_items).order_by(work_items.c.created, work_items.c.id)
        if case is not None:
            q = q.where(work_items.c.case_id == case)
        if open_only:
            q = q.where(work_items.c.status.in_(OPEN))
        if role is not None:
            q = q.where(work_items.c.role == role)
        if agent is not None:
            q = q.where(work_items.c.agent == agent)
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [_item(r) for r in conn.execute(q)]

    def timers(self, *, case: str | None = None, due_by: float | None = None) -> list[Timer]:
        q = select(timers).order_by(timers.c.due, timers.c.id)
        if case is not None:
            q = q.where(timers.c.case_id == case)
        if due_by is not None:
            q = q.where(timers.c.due <= due_by)
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [Timer(r.id, r.case_id, r.due, r.kind, r.work_item, r.transition)
                    for r in conn.execute(q)]

    def events(self, case_id: str) -> list[AuditEvent]:
        q = select(events).where(events.c.case_id == case_id).order_by(events.c.seq)
        self.flush()
        with self._errors("read"), self.db.connect() as conn:
            return [event_from_row(r._mapping) for r in conn.execute(q)]

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
        free = select(work_items.c.id).where(
            work_items.c.status.in_(OPEN),
            or_(work_items.c.lease_until.is_(None), work_items.c.lease_until < now),
        ).order_by(work_items.c.created, work_items.c.id).limit(limit)
        if not self.sqlite:
            free = free.with_for_update(skip_locked=True)
        stmt = update(work_items).where(work_items.c.id.in_(free.scalar_subquery())).values(
            lease_until=now + lease, leased_by=worker).returning(*work_items.c)
        with self._errors("write"), self.db.begin() as conn:
            rows = conn.execute(stmt).all()
        return sorted((_item(r) for r in rows), key=lambda i: (i.created, i.id))

    def release_item(self, item_id: str, worker: str) -> None:
        with self._errors("write"), self.db.begin() as conn:
            conn.execute(update(work_items).where(
                work_items.c.id == item_id, work_items.c.leased_by == worker
            ).values(lease_until=None, leased_by=None))

    def set_switch(self, kind: str, key: str, on: bool) -> None:
        with self._errors("write"), self.db.begin() as conn:
            conn.execute(delete(switches).where(switches.c.kind == kind,
                                                switches.c.key == key))
            if on:
                conn.execute(insert(switches).values(kind=kind, key=key))


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _item_row(i: WorkItem) -> dict[str, Any]:
    return {"case_id": i.case, "task": i.task, "place": i.place, "kind": i.kind,
            "status": i.status.value, "created": i.created, "role": i.role,
            "agent": i.agent, "claimed_by": i.claimed_by, "attempt": i.attempt,
            "key": i.key, "due": i.due, "lease_until": i.lease_until, "closed": i.closed,
            "outcome": i.outcome, "leased_by": i.leased_by,
            "answer": None if i.answer is None else dumps(dict(i.answer))}


def _item(r: Any) -> WorkItem:
    try:
        status = ItemStatus(r.status)
    except ValueError:
        raise CorruptionError(f"work item {r.id}: unknown status {r.status!r}") from None
    return WorkItem(r.id, r.case_id, r.task, r.place, r.kind, status, r.created, r.role,
                    r.agent, r.claimed_by, r.attempt, r.key, r.due, r.lease_until, r.closed,
                    r.outcome, r.leased_by,
                    None if r.answer is None else loads(r.answer, f"work item {r.id} answer"))


__all__ = ["SqlStore", "default_url"]
