"""Wrong verdicts a review found, each pinned by the smallest process that showed it, with
the run the kernel or the engine takes to prove the right answer.

- A field nobody reads but that an automatic step pushes past its type (``attempts + 1``
  into ``int[0..3]``): the kernel refuses the step, the case is stuck; the checker left
  the field out of its cone of influence and proved deadlock-freedom.
- A receive task after an event-based gateway completes by its message (``ship:message``),
  which the policies did not count as the task's completion: a precedence on it was
  proved (nothing ever completed ``ship``) though the engine lets ``ship`` end the case.
- Enumerations are value indexes and texts are codes in the solver: comparing or copying
  one into the other compared an index with a code.
"""

from __future__ import annotations

from typing import Any

import pytest

from petriflow.errors import PolicyRefusal
from petriflow.model import compile_loaded, load_text
from petriflow.runtime import Engine
from petriflow.store.base import CaseStatus
from petriflow.verify.portfolio import check
from petriflow.verify.result import Verdict


def _verdicts(text: str, *properties: str) -> dict[str, Any]:
    compiled = compile_loaded(load_text(text, "regression.yaml"))
    return {r.property: r for r in check(compiled, list(properties), timeout=30)}


RETRY_COUNTER = """
process: retry_counter
data:
  attempts: {type: int, min: 0, max: 3}
  ok: {type: bool}
roles: [clerk]
nodes:
  s: {type: start}
  try: {type: task, kind: human, role: clerk, writes: [ok]}
  g: {type: exclusive}
  count: {type: task, kind: auto, set: {attempts: attempts + 1}}
  e: {type: end}
flows: [s -> try, try -> g, {from: g, to: e, when: ok}, {from: g, to: count, default: true},
        count -> try]
"""


def test_a_counter_past_its_bound_is_a_deadlock_even_if_nothing_reads_it() -> None:
    results = _verdicts(RETRY_COUNTER, "deadlock", "soundness")
    deadlock = results["deadlock"]
    assert deadlock.verdict is Verdict.VIOLATED, deadlock.reason
    assert results["soundness"].verdict is Verdict.VIOLATED
    assert [s.transition for s in deadlock.trace].count("count") == 3
    # the engine agrees: the fourth "not ok" leaves the case with an incident, nothing lost
    engine = Engine()
    compiled = compile_loaded(load_text(RETRY_COUNTER, "regression.yaml"))
    case = engine.start(compiled, {"attempts": 0} if "attempts" in compiled.inputs else {})
    for _ in range(4):
        [item] = engine.work_items(case.id)
        engine.complete(item.id, "ann", {"ok": False})
    rec = engine.case(case.id)
    assert rec.status is CaseStatus.FAILED and "count cannot run" in rec.incident
    assert rec.data["attempts"] == 3
    assert engine.replay(case.id).ok


def test_a_bounded_write_that_always_fits_is_not_a_deadlock() -> None:
    safe = RETRY_COUNTER.replace("attempts + 1", "3 - attempts if attempts > 0 else 1")
    assert _verdicts(safe, "deadlock")["deadlock"].verdict is Verdict.PROVED


EVENT_GATEWAY = """
process: evgw
roles: [clerk]
nodes:
  s: {type: start}
  wait: {type: event}
  ship: {type: task, kind: receive}
  pause: {type: timer, after: PT1H}
  approve: {type: task, kind: human, role: clerk}
  e: {type: end}
  e2: {type: end}
flows: [s -> wait, wait -> ship, wait -> pause, ship -> e, pause -> approve, approve -> e2]
policies:
  - {id: order, type: precedence, task: ship, after: approve}
"""


def test_a_message_after_an_event_gateway_completes_its_task_for_the_policies() -> None:
    order = _verdicts(EVENT_GATEWAY, "order")["order"]
    assert order.verdict is Verdict.VIOLATED, order.reason
    assert [s.transition for s in order.trace][-1] == "ship:message"
    engine = Engine()
    case = engine.start(compile_loaded(load_text(EVENT_GATEWAY, "regression.yaml")))
    with pytest.raises(PolicyRefusal, match="ship happens only after approve"):
        engine.deliver(case.id, "ship")   # the engine enforces what the checker found


def test_a_precedence_met_through_an_event_gateway_message_is_proved() -> None:
    text = """
process: evgw_ok
roles: [clerk]
nodes:
  s: {type: start}
  wait: {type: event}
  confirm: {type: task, kind: receive}
  pause: {type: timer, after: PT1H}
  pay: {type: task, kind: api}
  e: {type: end}
  e2: {type: end}
flows: [s -> wait, wait -> confirm, wait -> pause, confirm -> pay, pay -> e, pause -> e2]
policies:
  - {id: order, type: precedence, task: pay, after: confirm}
"""
    assert _verdicts(text, "order")["order"].verdict is Verdict.PROVED


ENUM_AND_TEXT = """
process: enum_text
data:
  kind: {type: enum, values: [alice, bob], default: alice}
  name: {type: actor, input: true}
  copied: {type: str}
nodes:
  s: {type: start}
  copy: {type: task, kind: auto, set: {copied: kind}}
  e: {type: end}
flows: [s -> copy, copy -> e]
policies:
  - {id: compare, type: forbidden_state, condition: kind == name}
  - {id: assign, type: forbidden_state, condition: copied == "alice"}
"""


@pytest.mark.parametrize("policy", ["compare", "assign"])
def test_an_enumeration_against_a_text_is_compared_by_value(policy: str) -> None:
    result = _verdicts(ENUM_AND_TEXT, policy)[policy]
    assert result.verdict is Verdict.VIOLATED, result.reason


def test_a_text_copied_into_an_enumeration_must_be_one_of_its_values() -> None:
    text = """
process: text_enum
data:
  k: {type: enum, values: [lo, hi]}
  name: {type: actor, input: true}
nodes:
  s: {type: start}
  copy: {type: task, kind: auto, set: {k: name}}
  e: {type: end}
flows: [s -> copy, copy -> e]
policies:
  - {id: never_hi, type: forbidden_state, condition: k == "hi"}
"""
    results = _verdicts(text, "deadlock", "never_hi")
    assert results["deadlock"].verdict is Verdict.VIOLATED   # a name that is no level
    assert results["never_hi"].verdict is Verdict.VIOLATED   # the name "hi"


MIXED_CONDITIONAL = """
process: mixed
data:
  kind: {type: enum, values: [alice, bob], default: bob}
  a: {type: enum, values: [x, y]}
  b: {type: enum, values: [y, z]}
  note: {type: str}
  flag: {type: bool}
  label: {type: str}
  lvl: {type: enum, values: [x, y, z]}
roles: [clerk]
nodes:
  s: {type: start}
  t: {type: task, kind: human, role: clerk, writes: [note, flag, a, b]}
  set: {type: task, kind: auto, set: {label: 'kind if flag else note', lvl: 'a if flag else b'}}
  e: {type: end}
flows: [s -> t, t -> set, set -> e]
policies:
  - {id: text_branch, type: forbidden_state, condition: label == "zzz"}
  - {id: enum_branch, type: forbidden_state, condition: lvl == "z"}
"""


@pytest.mark.parametrize("policy", ["text_branch", "enum_branch"])
def test_a_conditional_between_an_enumeration_and_another_type_maps_each_branch(
        policy: str) -> None:
    """``kind if flag else note``: one branch is an enum index, the other a text code, and
    ``a if flag else b`` two enumerations of different values: each branch must be mapped
    on its own (mapping the whole term as the first branch's type proved both false)."""
    result = _verdicts(MIXED_CONDITIONAL, policy)[policy]
    assert result.verdict is Verdict.VIOLATED, result.reason
    engine = Engine(enforce=False)   # the kernel agrees: both states are reached
    case = engine.start(compile_loaded(load_text(MIXED_CONDITIONAL, "regression.yaml")))
    [item] = engine.work_items(case.id)
    engine.complete(item.id, "ann", {"note": "zzz", "flag": False, "a": "x", "b": "z"})
    data = engine.case(case.id).data
    assert (data["label"], data["lvl"]) == ("zzz", "z")
