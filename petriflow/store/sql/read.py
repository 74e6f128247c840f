"""The SQL store's reads: plain SQL texts (``?`` placeholders) and the decoding of rows.

The texts are portable SQL over the tables of :mod:`~petriflow.store.sql.schema`, with
their columns in table order, so a row is a plain tuple whichever way it was fetched:
through the SQLite driver directly, or through SQLAlchemy's ``exec_driver_sql`` (with
``%s`` placeholders) elsewhere. Decoding is strict: a stored value that does not fit
raises :class:`~petriflow.errors.CorruptionError` naming the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petriflow.errors import CorruptionError
from petriflow.net.colors import RecordColor
from petriflow.store.base import CaseRecord, CaseStatus, ItemStatus, Timer, WorkItem
from petriflow.store.codec import decode_data, loads
from petriflow.store.sql.schema import cases, events, timers, work_items


def _select(table: Any) -> str:
    return "SELECT " + ", ".join(f'"{c.name}"' for c in table.columns) + f" FROM {table.name}"


CASES = _select(cases)
ITEMS = _select(work_items)
TIMERS = _select(timers)
EVENTS = _select(events)
OPEN = "('offered', 'claimed')"   # ItemStatus.open


def case_by_id(case_id: str) -> tuple[str, tuple[Any, ...]]:
    return CASES + " WHERE id = ?", (case_id,)


def case_list(process: str | None, status: CaseStatus | None
              ) -> tuple[str, tuple[Any, ...]]:
    where, params = _where(("process", process), ("status", status and status.value))
    return CASES + where + " ORDER BY started, id", params


def item_by_id(item_id: str) -> tuple[str, tuple[Any, ...]]:
    return ITEMS + " WHERE id = ?", (item_id,)


def case_of_item(item_id: str) -> tuple[str, tuple[Any, ...]]:
    """The case a work item belongs to (read before the item: see ``reuse_reads``)."""
    return CASES + f" WHERE id = (SELECT case_id FROM {work_items.name} WHERE id = ?)", (
        item_id,)


def item_list(case: str | None, open_only: bool, role: str | None, agent: str | None
              ) -> tuple[str, tuple[Any, ...]]:
    where, params = _where(("case_id", case), ("role", role), ("agent", agent))
    if open_only:
        where += (" AND " if where else " WHERE ") + "status IN " + OPEN
    return ITEMS + where + " ORDER BY created, id", params


def timer_list(case: str | None, due_by: float | None) -> tuple[str, tuple[Any, ...]]:
    where, params = _where(("case_id", case))
    if due_by is not None:
        where += (" AND " if where else " WHERE ") + "due <= ?"
        params += (due_by,)
    return TIMERS + where + " ORDER BY due, id", params


def journal(case_id: str) -> tuple[str, tuple[Any, ...]]:
    return EVENTS + " WHERE case_id = ? ORDER BY seq", (case_id,)


def journal_cases() -> tuple[str, tuple[Any, ...]]:
    """The ids of every case with journal events, whether or not its row still exists
    (``Store.journal_case_ids``; the primary key (case_id, seq) indexes the scan)."""
    return f"SELECT DISTINCT case_id FROM {events.name} ORDER BY case_id", ()


def claim(skip_locked: bool) -> str:
    """Lease open items no live worker holds: lease end, worker, now, limit."""
    return (f"UPDATE {work_items.name} SET lease_until = ?, leased_by = ? WHERE id IN ("
            f"SELECT id FROM {work_items.name} WHERE status IN {OPEN} AND (lease_until IS "
            f"NULL OR lease_until < ?) AND case_id NOT IN (SELECT id FROM {cases.name} "
            "WHERE status IN ('suspended', 'failed')) ORDER BY created, id LIMIT ?"
            + (" FOR UPDATE SKIP LOCKED" if skip_locked else "") + ") RETURNING "
            + ITEMS.removeprefix("SELECT ").removesuffix(f" FROM {work_items.name}"))


RELEASE = (f"UPDATE {work_items.name} SET lease_until = NULL, leased_by = NULL "
           "WHERE id = ? AND leased_by = ?")


def _where(*conditions: tuple[str, Any]) -> tuple[str, tuple[Any, ...]]:
    names = [(c, v) for c, v in conditions if v is not None]
    if not names:
        return "", ()
    return (" WHERE " + " AND ".join(f"{c} = ?" for c, _ in names),
            tuple(v for _, v in names))


# -- rows to records ------------------------------------------------------------------------


def case_record(row: Any, color: Callable[[str], RecordColor | None]) -> CaseRecord:
    """A ``petriflow_cases`` row; ``color(fingerprint)`` is the declared type of its data."""
    (cid, process, fingerprint, status, marking, data, memory, version, head, started,
     updated, incident, labels) = row
    what = f"case {cid}"
    try:
        state = CaseStatus(status)
    except ValueError:
        raise CorruptionError(f"{what}: unknown status {status!r}") from None
    counts = loads(marking, what + " marking")
    if not isinstance(counts, dict) or not all(
            isinstance(v, int) and v >= 0 for v in counts.values()):
        raise CorruptionError(f"{what}: the marking is not a count per place")
    values = decode_data(color(fingerprint), loads(data, what + " data"), what)
    return CaseRecord(cid, process, fingerprint, state, counts, values,
                      loads(memory, what + " memory"), version, head, started, updated,
                      incident, loads(labels, what + " labels"))


def work_item(row: Any) -> WorkItem:
    """A ``petriflow_work_items`` row."""
    (iid, case_id, task, place, kind, status, created, role, agent, claimed_by, attempt,
     key, due, lease_until, closed, outcome, leased_by, answer) = row
    try:
        state = ItemStatus(status)
    except ValueError:
        raise CorruptionError(f"work item {iid}: unknown status {status!r}") from None
    return WorkItem(iid, case_id, task, place, kind, state, created, role, agent,
                    claimed_by, attempt, key, due, lease_until, closed, outcome, leased_by,
                    None if answer is None else loads(answer, f"work item {iid} answer"))


def timer(row: Any) -> Timer:
    """A ``petriflow_timers`` row."""
    return Timer(*row)


__all__ = [
    "RELEASE",
    "case_by_id",
    "case_list",
    "case_record",
    "claim",
    "item_by_id",
    "item_list",
    "journal",
    "journal_cases",
    "timer",
    "timer_list",
    "work_item",
]
