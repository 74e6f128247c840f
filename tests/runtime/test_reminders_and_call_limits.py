"""Reminders (engine-only, non-interrupting) and the time limit on one service call."""

from __future__ import annotations

import time

from petriflow.model import compile_loaded, load_text
from petriflow.runtime import Engine, ManualClock
from petriflow.store.base import CaseStatus

PROCESS = """
process: r
roles: [clerk]
data:
  x: {type: int, input: true}
  y: {type: int}
nodes:
  s: {type: start}
  a: {type: task, kind: human, role: clerk, writes: [y], remind: PT1H,
      timeout: {after: PT3H, to: b}}
  b: {type: task, kind: api, writes: [y],
      retry: {attempts: 2, timeout_seconds: 0.1, backoff_seconds: 1}}
  e: {type: end}
flows: [s -> a, a -> e, b -> e]
"""


def _engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock()
    return Engine(clock=clock), clock


def test_a_waiting_item_is_reminded_every_period_and_the_net_does_not_change() -> None:
    e, clock = _engine()
    seen: list[tuple[float, str]] = []
    e.on_remind.append(lambda item: seen.append((clock.now(), item.task)))
    case = e.start(compile_loaded(load_text(PROCESS)), {"x": 1})
    marking = dict(e.case(case.id).marking)
    for _ in range(2):
        clock.advance(3600)
        e.fire_timers()
    assert seen == [(3600.0, "a"), (7200.0, "a")]
    assert dict(e.case(case.id).marking) == marking
    reminders = [ev for ev in e.store.events(case.id) if ev.action == "remind"]
    assert len(reminders) == 2 and all(ev.kind == "work" for ev in reminders)
    item = e.work_items(case.id)[0]
    e.complete(item.id, "carla", {"y": 2})
    assert e.case(case.id).status is CaseStatus.COMPLETED
    assert not e.store.timers(case=case.id)  # the reminder went with the item
    assert e.replay(case.id).ok


def test_a_service_call_over_its_time_limit_is_a_failed_attempt() -> None:
    e, clock = _engine()
    calls: list[str] = []

    def slow(call):  # type: ignore[no-untyped-def]
        calls.append(call.key)
        time.sleep(0.5)
        return {"y": 1}

    e.service("b", slow)
    case = e.start(compile_loaded(load_text(PROCESS)), {"x": 1})
    clock.advance(3 * 3600)
    e.fire_timers()          # the clerk's deadline passes: the API is called
    clock.advance(10)
    e.fire_timers()          # the retry after back-off
    rec = e.case(case.id)
    assert rec.status is CaseStatus.FAILED
    assert rec.incident is not None and "no answer within 0.1 s" in rec.incident
    assert len(calls) == 2 and len(set(calls)) == 1  # same idempotency key both times
    assert e.replay(case.id).ok
