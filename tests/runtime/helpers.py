"""Shared helpers for the engine tests: engines on a manual clock, snapshots of a case,
and the evidence checks (kernel replay and hash chain) every scenario ends with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from petriflow.errors import PolicyRefusal
from petriflow.governance.audit import AuditEvent, verify_chain
from petriflow.model import CompiledProcess, compile_file, compile_loaded, load_text
from petriflow.runtime import Engine, ManualClock
from petriflow.runtime.replay import replay_case
from petriflow.store.base import CaseRecord, WorkItem

MODELS = Path(__file__).resolve().parents[2] / "models"
DAY = 86400.0
HOUR = 3600.0


@cache
def model(name: str) -> CompiledProcess:
    """A reference process from ``models/`` (compiled once per test session)."""
    return compile_file(MODELS / f"{name}.yaml")


def compile_yaml(text: str) -> CompiledProcess:
    return compile_loaded(load_text(text, "test.yaml"))


def engine(**kwargs: Any) -> tuple[Engine, ManualClock]:
    clock = ManualClock()
    return Engine(clock=clock, **kwargs), clock


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused step must leave alone."""

    status: Any
    marking: Mapping[str, int]
    data: Mapping[str, Any]
    memory: Mapping[str, Any]
    items: tuple[tuple[str, str, str, str | None, int], ...]
    timers: tuple[tuple[str, float], ...]


def snapshot(e: Engine, case_id: str) -> Snapshot:
    rec = e.case(case_id)
    items = tuple((i.id, i.task, i.status.value, i.claimed_by, i.attempt)
                  for i in e.work_items(case_id))
    timers = tuple((t.id, t.due) for t in e.store.timers(case=case_id))
    return Snapshot(rec.status, dict(rec.marking), dict(rec.data), dict(rec.memory), items,
                    timers)


def items_of(e: Engine, case_id: str, task: str | None = None) -> list[WorkItem]:
    return [i for i in e.work_items(case_id) if task is None or i.task == task]


def one_item(e: Engine, case_id: str, task: str) -> WorkItem:
    found = items_of(e, case_id, task)
    assert len(found) == 1, (task, [i.task for i in e.work_items(case_id)])
    return found[0]


def events(e: Engine, case_id: str) -> list[AuditEvent]:
    return e.store.events(case_id)


def fired(e: Engine, case_id: str) -> list[str]:
    """The transitions the case fired, in order."""
    return [str(ev.transition) for ev in events(e, case_id) if ev.kind == "step"]


def ended_at(rec: CaseRecord) -> str | None:
    ends = [p for p, n in rec.marking.items() if n and p.startswith("end:")]
    return ends[0][len("end:"):] if len(ends) == 1 else None


def assert_intact(e: Engine, case_id: str) -> None:
    """The journal explains the stored state (the work items too) and its chain
    verifies."""
    rec = e.case(case_id)
    report = e.replay(case_id)
    assert report.ok, str(report)
    stored = e.store.case(case_id)
    full = replay_case(e.deployment(stored.fingerprint).compiled, stored,
                       e.store.events(case_id),
                       e.store.work_items(case=case_id, open_only=False))
    assert full.ok, str(full)
    chain = verify_chain(case_id, events(e, case_id), rec.head)
    assert chain.ok, str(chain)
    assert rec.version == len(events(e, case_id))


def refuse(e: Engine, case_id: str, call: Any, *policies: str) -> PolicyRefusal:
    """Run ``call``; it must raise PolicyRefusal naming one of ``policies``, record the
    refusal in the journal (with that policy failing) and change nothing else."""
    before = snapshot(e, case_id)
    n = len(events(e, case_id))
    try:
        call()
    except PolicyRefusal as exc:
        refusal = exc
    else:
        raise AssertionError(f"expected a refusal by one of {policies}")
    assert refusal.policy in policies, (refusal.policy, str(refusal))
    new = events(e, case_id)[n:]
    assert [ev.kind for ev in new] == ["refused"], [(ev.kind, ev.transition) for ev in new]
    assert (refusal.policy, "fail") in new[0].policies, new[0].policies
    after = snapshot(e, case_id)
    assert after == before
    assert_intact(e, case_id)
    return refusal
