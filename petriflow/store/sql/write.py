"""The commit path of the SQL store: changes become rows, rows become statements.

:func:`plan` turns the changes of one transaction (one, unless the store batches) into
the rows to write, coalesced: one row per case with its final state, checked against the
version the first of its changes was computed from (the later ones must continue that
chain, as the database would require); every journal event, in order; one row per work
item and per timer with its final state, or the timer's deletion. A batch thus sends a
statement per case and a few ``executemany`` calls, not five statements per change.

The statements are plain SQL texts, built once from the tables of
:mod:`~petriflow.store.sql.schema`, and run through the database driver's cursor
(:func:`run`), not through SQLAlchemy: the commit path is the store's hot path. Two
details keep the pages a commit dirties (on SQLite, each a WAL frame) to what changed:

* an update writes no column it cannot change (a case's ``id``, ``process`` and
  ``started``; an item's ``id``), and
* a column that an index covers (a case's ``status``; an item's ``case_id``, ``status``
  and ``role``) is written by a second statement that matches only when its value
  differs, because SQLite rewrites the index entries of every column in an ``UPDATE``'s
  ``SET`` list, changed or not.

PostgreSQL compares the old and new values of indexed columns itself (an update that
leaves them equal is a heap-only tuple update, with no index entry written), so there the
indexed columns go in the same statement, and the rows of a plain ``INSERT`` go in one
multi-row statement: on PostgreSQL every statement is a message the driver builds and
the server parses, binds and executes, and that work, not the data, is what a worker
spends its CPU on (``benchmarks/RESULTS.md``, Durable store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from petriflow.errors import ConflictError
from petriflow.store.base import CaseRecord, Change, Timer, WorkItem
from petriflow.store.codec import dumps, event_row
from petriflow.store.sql.schema import cases, events, timers, work_items


def _q(name: str) -> str:
    return f'"{name}"'


def _insert(table: Any, mark: str) -> str:
    cols = [c.name for c in table.columns]
    return (f"INSERT INTO {table.name} ({', '.join(map(_q, cols))}) "
            f"VALUES ({', '.join([mark] * len(cols))})")


CASE_KEEP = ("id", "process", "started")          # fixed when the case is created
CASE_INDEXED = ("status",)                          # written only when it changes
ITEM_INDEXED = ("case_id", "status", "role")
CASE_SET = tuple(c.name for c in cases.columns
                 if c.name not in CASE_KEEP and c.name not in CASE_INDEXED)
ITEM_SET = tuple(c.name for c in work_items.columns
                 if c.name != "id" and c.name not in ITEM_INDEXED)
TIMER_COLUMNS = tuple(c.name for c in timers.columns)
# the row builders below write these orders by hand
assert CASE_SET == ("fingerprint", "marking", "data", "memory", "version", "head",
                    "updated", "incident", "labels")
assert tuple(c.name for c in work_items.columns) == (
    "id", "case_id", "task", "place", "kind", "status", "created", "role", "agent",
    "claimed_by", "attempt", "key", "due", "lease_until", "closed", "outcome", "leased_by",
    "answer")
assert TIMER_COLUMNS == ("id", "case_id", "due", "kind", "work_item", "transition")


@dataclass(frozen=True)
class Statements:
    """The commit path's SQL for one paramstyle (``?`` or ``%s``)."""

    case_insert: str
    case_update: str          # CASE_SET values, id, expected version
    case_status: str          # status, id, status
    event_insert: str
    item_insert: str
    item_upsert: str          # a whole row; an existing item gets its ITEM_SET columns
    item_indexed: str         # case_id, status, role, id, case_id, status, role
    timer_upsert: str
    timer_delete: str
    #: PostgreSQL: the case's status is in ``case_update`` and an item's indexed columns
    #: in ``item_upsert`` (no second statement), and plain inserts are multi-row.
    merged: bool = False

    @classmethod
    def build(cls, mark: str) -> Statements:
        def sets(names: Sequence[str]) -> str:
            return ", ".join(f"{_q(n)} = {mark}" for n in names)

        def upsert(table: Any, names: Sequence[str]) -> str:
            return (_insert(table, mark) + " ON CONFLICT (id) DO UPDATE SET "
                    + ", ".join(f"{_q(n)} = excluded.{_q(n)}" for n in names))

        common = {"case_insert": _insert(cases, mark), "event_insert": _insert(events, mark),
                  "item_insert": _insert(work_items, mark),
                  "timer_upsert": upsert(timers, TIMER_COLUMNS[1:])}
        if mark == "%s":  # PostgreSQL
            return cls(
                **common,
                case_update=f"UPDATE {cases.name} SET {sets((*CASE_SET, *CASE_INDEXED))} "
                            f"WHERE id = {mark} AND version = {mark}",
                case_status="",
                item_upsert=upsert(work_items, (*ITEM_SET, *ITEM_INDEXED)),
                item_indexed="",
                timer_delete=f"DELETE FROM {timers.name} WHERE id = ANY({mark})",
                merged=True,
            )
        differs = " OR ".join(f"{_q(n)} IS NOT {mark}" for n in ITEM_INDEXED)
        return cls(
            **common,
            case_update=f"UPDATE {cases.name} SET {sets(CASE_SET)} "
                        f"WHERE id = {mark} AND version = {mark}",
            case_status=f"UPDATE {cases.name} SET status = {mark} "
                        f"WHERE id = {mark} AND status <> {mark}",
            item_upsert=upsert(work_items, ITEM_SET),
            item_indexed=f"UPDATE {work_items.name} SET {sets(ITEM_INDEXED)} "
                         f"WHERE id = {mark} AND ({differs})",
            timer_delete=f"DELETE FROM {timers.name} WHERE id = {mark}",
        )


QMARK = Statements.build("?")          # sqlite3
FORMAT = Statements.build("%s")        # psycopg


@dataclass
class Rows:
    """What one transaction writes (see :func:`plan`)."""

    new_cases: list[tuple[Any, ...]] = field(default_factory=list)
    # (id, expected version, CASE_SET values, status)
    case_updates: list[tuple[str, int, tuple[Any, ...], str]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    new_items: list[tuple[Any, ...]] = field(default_factory=list)
    item_updates: list[WorkItem] = field(default_factory=list)   # items that exist
    timers: list[tuple[Any, ...]] = field(default_factory=list)
    timer_deletes: list[tuple[str]] = field(default_factory=list)


def _case_set(c: CaseRecord) -> tuple[Any, ...]:
    # the order of CASE_SET: fingerprint, marking, data, memory, version, head, updated,
    # incident, labels
    return (c.fingerprint, dumps(c.marking), dumps(c.data), dumps(c.memory), c.version,
            c.head, c.updated, c.incident, dumps(c.labels))


def _case_row(c: CaseRecord) -> tuple[Any, ...]:
    return (c.id, c.process, c.fingerprint, c.status.value, dumps(c.marking), dumps(c.data),
            dumps(c.memory), c.version, c.head, c.started, c.updated, c.incident,
            dumps(c.labels))


def item_row(i: WorkItem) -> tuple[Any, ...]:
    """A work item as a row of ``petriflow_work_items``, in column order."""
    return (i.id, i.case, i.task, i.place, i.kind, i.status.value, i.created, i.role,
            i.agent, i.claimed_by, i.attempt, i.key, i.due, i.lease_until, i.closed,
            i.outcome, i.leased_by, None if i.answer is None else dumps(i.answer))


def _timer_row(t: Timer) -> tuple[Any, ...]:
    return (t.id, t.case, t.due, t.kind, t.work_item, t.transition)


_ABSENT = object()


def plan(changes: Sequence[Change]) -> Rows:
    """The rows that write ``changes`` (in this order) in one transaction. Raises
    :class:`~petriflow.errors.ConflictError` when a change does not continue the version
    chain of an earlier change of the same case in the batch."""
    rows = Rows()
    if len(changes) == 1:   # the usual case, without the bookkeeping of a batch
        ch = changes[0]
        _case(rows, ch.case, ch.expected_version)
        rows.events.extend(map(event_row, ch.events))
        new = ch.new_items
        for item in ch.items:
            _item(rows, item, item.id in new)
        for tid in ch.cancel_timers:
            rows.timer_deletes.append((tid,))
        rows.timers.extend(map(_timer_row, ch.timers))
        return rows
    first: dict[str, int | None] = {}
    last: dict[str, CaseRecord] = {}
    items: dict[str, tuple[WorkItem, bool]] = {}
    final_timers: dict[str, Timer | None] = {}
    for ch in changes:
        c = ch.case
        before = last.get(c.id)
        if before is None:
            first[c.id] = ch.expected_version
        elif ch.expected_version is None:
            raise ConflictError(f"case {c.id} exists already (created earlier in this batch)")
        elif ch.expected_version != before.version:
            raise ConflictError(f"case {c.id} changed since version {ch.expected_version}: "
                                "another writer moved it; reload and retry")
        last[c.id] = c
        rows.events.extend(map(event_row, ch.events))
        new = ch.new_items
        for item in ch.items:
            known = items.get(item.id)
            items[item.id] = (item, item.id in new or (known is not None and known[1]))
        for tid in ch.cancel_timers:
            final_timers[tid] = None
        for t in ch.timers:
            final_timers[t.id] = t
    for cid, rec in last.items():
        _case(rows, rec, first[cid])
    for item, is_new in items.values():
        _item(rows, item, is_new)
    for tid, t in final_timers.items():
        if t is None:
            rows.timer_deletes.append((tid,))
        else:
            rows.timers.append(_timer_row(t))
    return rows


def _case(rows: Rows, c: CaseRecord, expected: int | None) -> None:
    if expected is None:
        rows.new_cases.append(_case_row(c))
    else:
        rows.case_updates.append((c.id, expected, _case_set(c), c.status.value))


def _item(rows: Rows, i: WorkItem, new: bool) -> None:
    if new:
        rows.new_items.append(item_row(i))
    else:
        rows.item_updates.append(i)


def run(conn: Any, rows: Rows, sql: Statements) -> list[tuple[Any, str, int]]:
    """Send ``rows`` on a DB-API connection inside an open transaction. Returns the
    version checks, ``(cursor, case id, expected version)``, for :func:`check` to make
    once the results are in (at once on SQLite; after the pipeline's sync on
    PostgreSQL). A duplicate row raises the driver's integrity error (the caller maps
    it)."""
    if sql.merged:
        return _run_merged(conn, rows, sql)
    cur = conn.cursor()
    execute, many = cur.execute, cur.executemany
    if rows.new_cases:
        many(sql.case_insert, rows.new_cases)
    checks = []
    for cid, expected, values, status in rows.case_updates:
        own = conn.cursor()
        own.execute(sql.case_update, (*values, cid, expected))
        checks.append((own, cid, expected))
        execute(sql.case_status, (status, cid, status))
    if rows.events:
        many(sql.event_insert, rows.events)
    if rows.new_items:
        many(sql.item_insert, rows.new_items)
    for item in rows.item_updates:
        indexed = (item.case, item.status.value, item.role)
        execute(sql.item_upsert, item_row(item))
        execute(sql.item_indexed, (*indexed, item.id, *indexed))
    if rows.timer_deletes:
        many(sql.timer_delete, rows.timer_deletes)
    if rows.timers:
        many(sql.timer_upsert, rows.timers)
    return checks


def _run_merged(conn: Any, rows: Rows, sql: Statements) -> list[tuple[Any, str, int]]:
    """:func:`run` on PostgreSQL: one statement per case update and per item update,
    one per kind of plain insert, one for the timers deleted."""
    cur = conn.cursor()
    execute = cur.execute
    if rows.new_cases:
        _insert_rows(execute, sql.case_insert, rows.new_cases)
    checks = []
    for cid, expected, values, status in rows.case_updates:
        own = conn.cursor()
        own.execute(sql.case_update, (*values, status, cid, expected))
        checks.append((own, cid, expected))
    if rows.events:
        _insert_rows(execute, sql.event_insert, rows.events)
    if rows.new_items:
        _insert_rows(execute, sql.item_insert, rows.new_items)
    for item in rows.item_updates:
        execute(sql.item_upsert, item_row(item))
    if rows.timer_deletes:
        execute(sql.timer_delete, ([tid for tid, in rows.timer_deletes],))
    if rows.timers:  # (an upsert of several rows must not name one id twice: one each)
        cur.executemany(sql.timer_upsert, rows.timers)
    return checks


#: (single-row INSERT text, number of rows) -> the multi-row text
_MULTI: dict[tuple[str, int], str] = {}
_MULTI_ROWS = 50  # rows per statement at most (a batch of many changes takes several)


def _insert_rows(execute: Any, insert: str, rows: list[tuple[Any, ...]]) -> None:
    """``rows`` by ``INSERT ... VALUES (...), (...)`` statements of at most
    :data:`_MULTI_ROWS` rows (texts built once per row count)."""
    for at in range(0, len(rows), _MULTI_ROWS):
        part = rows[at:at + _MULTI_ROWS]
        if len(part) == 1:
            execute(insert, part[0])
            continue
        key = (insert, len(part))
        text = _MULTI.get(key)
        if text is None:
            head, values = insert.split(" VALUES ", 1)
            text = _MULTI[key] = f"{head} VALUES {', '.join([values] * len(part))}"
        execute(text, tuple(v for row in part for v in row))


def check(checks: list[tuple[Any, str, int]]) -> None:
    """Raise :class:`~petriflow.errors.ConflictError` for the first case that was not at
    its expected version (its update matched no row)."""
    for cur, cid, expected in checks:
        if cur.rowcount != 1:
            raise ConflictError(f"case {cid} changed since version {expected}: another "
                                "writer moved it; reload and retry")


__all__ = ["FORMAT", "QMARK", "Rows", "Statements", "check", "item_row", "plan", "run"]
