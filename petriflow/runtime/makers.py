"""Building the frozen records the engine makes on every step, at half the cost.

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__`` (its own ``__setattr__`` refuses), which is most of the cost of
making a record: a :class:`~petriflow.store.base.WorkItem` (18 fields) takes about
1.6 us, a :class:`~petriflow.store.base.CaseRecord` (13 fields) about 1.5 us, and a case
of the invoice process makes some twenty of them (and four requests to agents and
services). The functions below build the same
objects from every field, positionally, by calling the slots' own descriptors (no
``object.__setattr__`` lookup per field). The object is the one ``__init__`` would build
(``tests/runtime/test_makers.py`` compares them field by field, so a field added to a
record fails there first); the records stay frozen for everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from petriflow.runtime.handlers import AgentRequest, ServiceCall, Visible
from petriflow.store.base import CaseRecord, CaseStatus, ItemStatus, WorkItem

_new = object.__new__


def _setters(cls: type, names: str) -> tuple[Any, ...]:
    return tuple(getattr(cls, n).__set__ for n in names.split())


(_w_id, _w_case, _w_task, _w_place, _w_kind, _w_status, _w_created, _w_role, _w_agent,
 _w_claimed_by, _w_attempt, _w_key, _w_due, _w_lease_until, _w_closed, _w_outcome,
 _w_leased_by, _w_answer) = _setters(
    WorkItem, "id case task place kind status created role agent claimed_by attempt key due "
    "lease_until closed outcome leased_by answer")


def new_item(id: str, case: str, task: str, place: str, kind: str, status: ItemStatus,
             created: float, role: str | None, agent: str | None, claimed_by: str | None,
             attempt: int, key: str, due: float | None, lease_until: float | None,
             closed: float | None, outcome: str | None, leased_by: str | None,
             answer: Mapping[str, Any] | None) -> WorkItem:
    """``WorkItem(...)`` with every field given."""
    self = _new(WorkItem)
    _w_id(self, id)
    _w_case(self, case)
    _w_task(self, task)
    _w_place(self, place)
    _w_kind(self, kind)
    _w_status(self, status)
    _w_created(self, created)
    _w_role(self, role)
    _w_agent(self, agent)
    _w_claimed_by(self, claimed_by)
    _w_attempt(self, attempt)
    _w_key(self, key)
    _w_due(self, due)
    _w_lease_until(self, lease_until)
    _w_closed(self, closed)
    _w_outcome(self, outcome)
    _w_leased_by(self, leased_by)
    _w_answer(self, answer)
    return self


(_c_id, _c_process, _c_fingerprint, _c_status, _c_marking, _c_data, _c_memory, _c_version,
 _c_head, _c_started, _c_updated, _c_incident, _c_labels) = _setters(
    CaseRecord, "id process fingerprint status marking data memory version head started "
    "updated incident labels")


def new_case(id: str, process: str, fingerprint: str, status: CaseStatus,
             marking: Mapping[str, int], data: Mapping[str, Any], memory: Mapping[str, Any],
             version: int, head: str, started: float, updated: float, incident: str | None,
             labels: Mapping[str, str]) -> CaseRecord:
    """``CaseRecord(...)`` with every field given."""
    self = _new(CaseRecord)
    _c_id(self, id)
    _c_process(self, process)
    _c_fingerprint(self, fingerprint)
    _c_status(self, status)
    _c_marking(self, marking)
    _c_data(self, data)
    _c_memory(self, memory)
    _c_version(self, version)
    _c_head(self, head)
    _c_started(self, started)
    _c_updated(self, updated)
    _c_incident(self, incident)
    _c_labels(self, labels)
    return self


(_r_case, _r_task, _r_agent, _r_data, _r_writes, _r_work_item, _r_attempt) = _setters(
    AgentRequest, "case task agent data writes work_item attempt")


def new_request(case: str, task: str, agent: str, data: Visible, writes: tuple[str, ...],
                work_item: str, attempt: int) -> AgentRequest:
    """``AgentRequest(...)`` with every field given."""
    self = _new(AgentRequest)
    _r_case(self, case)
    _r_task(self, task)
    _r_agent(self, agent)
    _r_data(self, data)
    _r_writes(self, writes)
    _r_work_item(self, work_item)
    _r_attempt(self, attempt)
    return self


(_s_case, _s_task, _s_kind, _s_data, _s_writes, _s_work_item, _s_attempt, _s_key) = _setters(
    ServiceCall, "case task kind data writes work_item attempt key")


def new_call(case: str, task: str, kind: str, data: Visible, writes: tuple[str, ...],
             work_item: str, attempt: int, key: str) -> ServiceCall:
    """``ServiceCall(...)`` with every field given."""
    self = _new(ServiceCall)
    _s_case(self, case)
    _s_task(self, task)
    _s_kind(self, kind)
    _s_data(self, data)
    _s_writes(self, writes)
    _s_work_item(self, work_item)
    _s_attempt(self, attempt)
    _s_key(self, key)
    return self


__all__ = ["new_call", "new_case", "new_item", "new_request"]
