"""The Store protocol: what the engine keeps, and the one transactional write it makes.

A store holds process definitions (by fingerprint), cases (marking, data, policy
memory, status, version, chain head), work items, timers, the journal of audit
events, and the kill-switch settings. The engine changes a case only through
:meth:`Store.commit`, which applies one :class:`Change` atomically: the new case state,
the events it appends, the work items it creates or updates and the timers it sets or
cancels, all or nothing. The change names the case version it was computed from; if
another writer got there first, the commit raises
:class:`~petriflow.errors.ConflictError` and changes nothing (optimistic concurrency),
and the engine reloads and retries.

Records are frozen: a reader can never change what a store holds by accident.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from petriflow.governance.audit import GENESIS, AuditEvent
from petriflow.governance.operations import Operation


class CaseStatus(enum.Enum):
    RUNNING = "running"        # automatic steps are being taken
    WAITING = "waiting"        # waits for people, agents, services, messages or timers
    COMPLETED = "completed"    # reached an end event
    FAILED = "failed"          # an incident stops it (retries exhausted, no way on)
    SUSPENDED = "suspended"    # stopped by the kill switch until resumed


class ItemStatus(enum.Enum):
    OFFERED = "offered"        # waiting for someone to claim it (or for its service call)
    CLAIMED = "claimed"        # a person holds it
    COMPLETED = "completed"
    HANDED_OFF = "handed_off"  # an agent's low-confidence answer went to a person
    TIMED_OUT = "timed_out"
    FAILED = "failed"          # the service call failed for good (error path or incident)
    WITHDRAWN = "withdrawn"    # the case moved on without it

    @property
    def open(self) -> bool:
        return self in (ItemStatus.OFFERED, ItemStatus.CLAIMED)


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case as stored. ``marking`` counts black control tokens per place; the data
    record of the place ``data`` is ``data``; ``memory`` is what run-time policy checks
    remember (who completed which task, which tasks completed). ``id``, ``process`` and
    ``started`` are fixed when the case is created: a store need not write them again
    (the SQL store does not)."""

    id: str
    process: str
    fingerprint: str
    status: CaseStatus
    marking: Mapping[str, int]
    data: Mapping[str, Any]
    memory: Mapping[str, Any]
    version: int                   # number of journal events
    head: str = GENESIS            # hash of the latest event
    started: float = 0.0
    updated: float = 0.0
    incident: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """Work offered to a participant: one token in a task's work place."""

    id: str
    case: str
    task: str
    place: str                     # the work place whose token this item is
    kind: str                      # human, agent, bot, api, receive
    status: ItemStatus
    created: float
    role: str | None = None
    agent: str | None = None
    claimed_by: str | None = None
    attempt: int = 0               # service or agent calls made so far
    key: str = ""                  # idempotency key, the same for every attempt
    due: float | None = None       # when its timeout fires
    lease_until: float | None = None
    closed: float | None = None
    outcome: str | None = None
    leased_by: str | None = None   # the worker that holds it until ``lease_until``
    answer: Mapping[str, Any] | None = None  # an agent's or service's answer, recorded
                                             # before the step that consumes it


@dataclass(frozen=True, slots=True)
class Timer:
    """Something the engine must do at ``due``: fire a timeout, or retry a call."""

    id: str
    case: str
    due: float
    kind: str                      # "timeout" or "retry"
    work_item: str
    transition: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One atomic write: a case's new state and everything that changed with it."""

    case: CaseRecord
    expected_version: int | None   # None: the case is new
    events: Sequence[AuditEvent] = ()
    items: Sequence[WorkItem] = ()
    timers: Sequence[Timer] = ()
    cancel_timers: Sequence[str] = ()
    new_items: Sequence[str] = ()  # ids of ``items`` this change creates (the rest exist)


@dataclass(frozen=True, slots=True)
class StoredProcess:
    """A deployed process definition. ``compiled`` is the live object when the store
    keeps one in memory; ``document`` is its serialised form."""

    fingerprint: str
    name: str
    version: str
    document: Mapping[str, Any]
    compiled: Any = None


@runtime_checkable
class Store(Protocol):
    """What the engine needs from persistence. See the module docstring for the rules."""

    def save_process(self, process: StoredProcess) -> None: ...

    def process(self, fingerprint: str) -> StoredProcess: ...

    def fingerprints(self) -> list[str]:
        """The fingerprint of every stored process, oldest deployment first (an operator
        listing processes and agents reads each with :meth:`process`)."""
        ...

    def commit(self, change: Change) -> None: ...

    def case(self, case_id: str) -> CaseRecord: ...

    def cases(self, *, process: str | None = None, status: CaseStatus | None = None
              ) -> list[CaseRecord]: ...

    def work_item(self, item_id: str) -> WorkItem: ...

    def work_items(self, *, case: str | None = None, open_only: bool = True,
                   role: str | None = None, agent: str | None = None) -> list[WorkItem]: ...

    def timers(self, *, case: str | None = None, due_by: float | None = None
               ) -> list[Timer]: ...

    def events(self, case_id: str) -> list[AuditEvent]: ...

    def case_ids(self) -> list[str]: ...

    def journal_case_ids(self) -> list[str]:
        """The ids of every case with events in the journal, each once, whether or not the
        store still holds the case's record (an audit compares them with ``case_ids``)."""
        ...

    def switches(self) -> Mapping[str, frozenset[str]]: ...

    def claim_items(self, worker: str, now: float, lease: float, limit: int
                    ) -> list[WorkItem]:
        """Lease up to ``limit`` open work items that no live worker holds (no lease, or
        one that expired before ``now``: its worker died) to ``worker`` until ``now +
        lease``. Two workers never receive the same item while a lease runs. Items of
        suspended and failed cases are not offered: nobody may move those cases, and
        leasing them round after round would keep the oldest items ahead of real work."""
        ...

    def release_item(self, item_id: str, worker: str) -> None:
        """Give up ``worker``'s lease on an item (it could not act on it)."""
        ...

    def set_switch(self, kind: str, key: str, on: bool, *, actor: str = "engine",
                   reason: str | None = None, at: float = 0.0) -> None:
        """Turn the kill switch ``kind`` (process or agent) of ``key`` on or off and, in
        the same transaction, append the decision to the operators' log (hash chained,
        :mod:`petriflow.governance.operations`); setting it as it is changes nothing."""
        ...

    def operations(self) -> list[Operation]:
        """The operators' log, oldest first."""
        ...


__all__ = [
    "CaseRecord",
    "CaseStatus",
    "Change",
    "ItemStatus",
    "Store",
    "StoredProcess",
    "Timer",
    "WorkItem",
]
