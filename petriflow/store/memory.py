"""The in-memory reference store: the Store protocol with dictionaries and one lock.

It is the semantics every other store must match (the conformance suite in
``petriflow.testing`` runs the same tests against it and the SQL stores), and the
fastest way to run cases that need not survive the process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from petriflow.errors import ConflictError, NotFoundError
from petriflow.governance.audit import AuditEvent
from petriflow.governance.operations import Operation, next_operation
from petriflow.net.colors import Record
from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    StoredProcess,
    Timer,
    WorkItem,
)


class InMemoryStore:
    """Everything in dictionaries; each commit is atomic under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: dict[str, StoredProcess] = {}
        self._cases: dict[str, CaseRecord] = {}
        self._items: dict[str, WorkItem] = {}
        self._open: dict[str, dict[str, WorkItem]] = {}   # case -> open items
        self._timers: dict[str, Timer] = {}
        self._events: dict[str, list[AuditEvent]] = {}
        self._switches: dict[str, set[str]] = {"process": set(), "agent": set()}
        self._operations: list[Operation] = []

    def save_process(self, process: StoredProcess) -> None:
        with self._lock:
            self._processes.setdefault(process.fingerprint, process)

    def fingerprints(self) -> list[str]:
        return list(self._processes)

    def process(self, fingerprint: str) -> StoredProcess:
        try:
            return self._processes[fingerprint]
        except KeyError:
            raise NotFoundError(f"no process with fingerprint {fingerprint[:12]}") from None

    def commit(self, change: Change) -> None:
        case = change.case
        with self._lock:
            current = self._cases.get(case.id)
            if change.expected_version is None:
                if current is not None:
                    raise ConflictError(f"case {case.id} exists already")
            elif current is None:
                raise NotFoundError(f"no case {case.id}")
            elif current.version != change.expected_version:
                raise ConflictError(f"case {case.id} is at version {current.version}, "
                                    f"not {change.expected_version}: another writer moved it")
            journal = self._events.setdefault(case.id, [])
            journal.extend(change.events)
            # readers get read-only views: they cannot change what the store holds
            c = case
            # (memory and labels read from this store and unchanged are its views already)
            memory = (current.memory if current is not None and c.memory is current.memory
                      else MappingProxyType(dict(c.memory)))
            labels = (current.labels if current is not None and c.labels is current.labels
                      else MappingProxyType(dict(c.labels)))
            self._cases[c.id] = CaseRecord(
                c.id, c.process, c.fingerprint, c.status, MappingProxyType(dict(c.marking)),
                c.data if isinstance(c.data, Record) else Record(c.data),
                memory, c.version, c.head, c.started, c.updated, c.incident, labels)
            open_ = self._open.setdefault(case.id, {})
            for item in change.items:
                self._items[item.id] = item
                if item.status.open:
                    open_[item.id] = item
                else:
                    open_.pop(item.id, None)
            for tid in change.cancel_timers:
                self._timers.pop(tid, None)
            for timer in change.timers:
                self._timers[timer.id] = timer

    def case(self, case_id: str) -> CaseRecord:
        try:
            return self._cases[case_id]
        except KeyError:
            raise NotFoundError(f"no case {case_id!r}") from None

    def cases(self, *, process: str | None = None, status: CaseStatus | None = None
              ) -> list[CaseRecord]:
        return [c for c in list(self._cases.values())
                if (process is None or c.process == process)
                and (status is None or c.status is status)]

    def case_ids(self) -> list[str]:
        return list(self._cases)

    def journal_case_ids(self) -> list[str]:
        return sorted(c for c, journal in list(self._events.items()) if journal)

    def work_item(self, item_id: str) -> WorkItem:
        try:
            return self._items[item_id]
        except KeyError:
            raise NotFoundError(f"no work item {item_id!r}") from None

    def work_items(self, *, case: str | None = None, open_only: bool = True,
                   role: str | None = None, agent: str | None = None) -> list[WorkItem]:
        if case is not None and open_only:
            pool = list(self._open.get(case, {}).values())
        else:
            pool = [i for i in list(self._items.values()) if case is None or i.case == case]
        return [i for i in pool
                if (not open_only or i.status.open)
                and (role is None or i.role == role)
                and (agent is None or i.agent == agent)]

    def timers(self, *, case: str | None = None, due_by: float | None = None) -> list[Timer]:
        found = [t for t in list(self._timers.values())
                 if (case is None or t.case == case) and (due_by is None or t.due <= due_by)]
        return sorted(found, key=lambda t: (t.due, t.id))

    def events(self, case_id: str) -> list[AuditEvent]:
        return list(self._events.get(case_id, ()))

    def switches(self) -> Mapping[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in self._switches.items()}

    def claim_items(self, worker: str, now: float, lease: float, limit: int
                    ) -> list[WorkItem]:
        with self._lock:
            stopped = (CaseStatus.SUSPENDED, CaseStatus.FAILED)
            free = [i for case, items in self._open.items()
                    if self._cases[case].status not in stopped
                    for i in items.values() if i.lease_until is None or i.lease_until < now]
            free.sort(key=lambda i: (i.created, i.id))
            out = []
            for item in free[:limit]:
                leased = replace(item, lease_until=now + lease, leased_by=worker)
                self._items[item.id] = leased
                self._open[item.case][item.id] = leased
                out.append(leased)
            return out

    def release_item(self, item_id: str, worker: str) -> None:
        with self._lock:
            item = self._items.get(item_id)
            if item is not None and item.leased_by == worker:
                freed = replace(item, lease_until=None, leased_by=None)
                self._items[item_id] = freed
                if item_id in self._open.get(item.case, {}):
                    self._open[item.case][item_id] = freed

    def set_switch(self, kind: str, key: str, on: bool, *, actor: str = "engine",
                   reason: str | None = None, at: float = 0.0) -> None:
        with self._lock:
            group = self._switches.setdefault(kind, set())
            if (key in group) == on:
                return
            last = self._operations[-1] if self._operations else None
            self._operations.append(next_operation(last, at, kind, key, on, actor, reason))
            if on:
                group.add(key)
            else:
                group.discard(key)

    def operations(self) -> list[Operation]:
        return list(self._operations)


__all__ = ["InMemoryStore"]
