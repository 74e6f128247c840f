"""Timers, event-based gateways (deferred choice) and interrupting messages, run by the
engine on a manual clock, and each given a verdict by the checker."""

from __future__ import annotations

import pytest

from petriflow.errors import OutputError, PolicyRefusal, WorkItemError
from petriflow.store.base import CaseStatus, ItemStatus
from petriflow.verify.portfolio import check
from petriflow.verify.result import Verdict
from tests.model.helpers import WAITS
from tests.runtime.helpers import HOUR, compile_yaml, engine, items_of


def closed(e, case_id: str, task: str) -> list[ItemStatus]:
    return [i.status for i in e.store.work_items(case=case_id, open_only=False)
            if i.task == task]



def _to_the_choice():
    e, clock = engine()
    case = e.start(compile_yaml(WAITS), {})
    e.complete(items_of(e, case.id, "ask")[0].id, "carla")
    assert [i.kind for i in items_of(e, case.id, "pause")] == ["timer"]
    clock.advance(HOUR - 1)
    e.fire_timers()
    assert e.case(case.id).marking.get("pause:work") == 1  # not yet
    clock.advance(1)
    e.fire_timers()
    assert e.case(case.id).marking == {"choose:work": 1}
    return e, clock, case


def test_an_intermediate_timer_waits_its_duration() -> None:
    e, _, case = _to_the_choice()
    assert closed(e, case.id, "pause") == [ItemStatus.TIMED_OUT]
    assert e.case(case.id).status is CaseStatus.WAITING


def test_the_first_message_wins_the_deferred_choice() -> None:
    e, clock, case = _to_the_choice()
    with pytest.raises(OutputError):
        e.deliver(case.id, "reply", {"nonsense": 1})
    rec = e.deliver(case.id, "reply", {"answer": "yes"})
    assert rec.status is CaseStatus.COMPLETED and rec.marking == {"end:done": 1}
    assert rec.data["answer"] == "yes"
    assert closed(e, case.id, "choose") == [ItemStatus.COMPLETED]
    assert not e.store.timers(case=case.id)  # the other wait is withdrawn with the item
    clock.advance(3 * 86400)
    assert e.fire_timers() == 0
    assert e.replay(case.id).ok


def test_the_deadline_wins_when_no_message_comes() -> None:
    e, clock, case = _to_the_choice()
    clock.advance(2 * 86400)
    e.fire_timers()
    rec = e.case(case.id)
    assert rec.status is CaseStatus.COMPLETED and rec.marking == {"end:gave_up": 1}
    with pytest.raises(WorkItemError):
        e.deliver(case.id, "reply", {"answer": "too late"})


def test_a_caught_message_interrupts_the_task() -> None:
    e, _, = engine()
    case = e.start(compile_yaml(WAITS), {})
    with pytest.raises(WorkItemError):
        e.deliver(case.id, "reply", {"answer": "not yet asked"})
    rec = e.deliver(case.id, "cancel")
    assert rec.status is CaseStatus.COMPLETED and rec.marking == {"end:cancelled": 1}
    assert closed(e, case.id, "ask") == [ItemStatus.WITHDRAWN]
    assert e.replay(case.id).ok


def test_the_checker_gives_a_verdict_on_every_wait() -> None:
    results = check(compile_yaml(WAITS), ("deadlock", "soundness", "bounded"), timeout=30)
    assert [r.verdict for r in results] == [Verdict.PROVED] * 3, results
    # a deferred choice followed by a parallel join: only one branch ever arrives
    joined = WAITS.replace("reply -> done, late -> gave_up",
                             "reply -> j, late -> j, j -> done") \
        .replace("  gave_up: {type: end}\n", "  j: {type: parallel}\n")
    (deadlock,) = check(compile_yaml(joined), ("deadlock",), timeout=30)
    assert deadlock.verdict is Verdict.VIOLATED


def test_a_process_without_case_data_runs_and_replays() -> None:
    # a case of a process with no fields has an empty data record, not none: its message
    # completions (which read the record) fire, and the replay finds the record
    e, _ = engine()
    case = e.start(compile_yaml("""
process: bare
nodes:
  s: {type: start}
  r: {type: task, kind: receive}
  e: {type: end}
flows: [s -> r, r -> e]
"""))
    assert e.deliver(case.id, "r").status is CaseStatus.COMPLETED
    assert e.replay(case.id).ok


def test_a_message_its_receive_task_does_not_accept_is_refused_and_recorded() -> None:
    e, _, case = _to_the_choice()
    before = e.case(case.id).marking
    with pytest.raises(PolicyRefusal):
        e.deliver(case.id, "reply", {"answer": ""})  # the check wants an answer
    assert e.case(case.id).marking == before
    assert e.store.events(case.id)[-1].kind == "refused"
    assert e.deliver(case.id, "reply", {"answer": "ok"}).status is CaseStatus.COMPLETED
