"""Non-interrupting timeouts and messages (models/SEMANTICS.md, Non-interrupting events):
the net's variants, the engine on a manual clock, and the checker's verdicts."""

from __future__ import annotations

import pytest

from petriflow.errors import ModelError, WorkItemError
from petriflow.store.base import CaseStatus
from petriflow.verify.process import check_deadlock, check_soundness
from petriflow.verify.result import Verdict
from tests.model.helpers import Case, compile_text, is_final
from tests.runtime.helpers import HOUR, engine, items_of

PROCESS = """
process: ni
termination: {mode}
roles: [clerk]
nodes:
  start: {{type: start}}
  a: {{type: task, kind: human, role: clerk,
      timeout: {{after: PT1H, to: remind, interrupting: false}},
      catch: [{{message: note, to: noted, interrupting: false}}]}}
  remind: {{type: task, kind: auto}}
  noted: {{type: task, kind: auto}}
  done: {{type: end}}
  reminded: {{type: end}}
  got_note: {{type: end}}
flows: [start -> a, a -> done, remind -> reminded, noted -> got_note]
"""


def implicit() -> str:
    return PROCESS.format(mode="implicit")


def test_the_net_has_one_completion_per_state_of_the_events() -> None:
    c = compile_text(implicit())
    ids = {t.id for t in c.net.transitions}
    assert {"a:complete", "a:complete~timeout", "a:complete~message:note",
            "a:complete~timeout+message:note", "a:timeout", "a:message:note"} <= ids
    assert dict(c.net.transition("a:complete~timeout").meta)["variant_of"] == "a:complete"
    assert dict(c.net.transition("a:timeout").meta)["interrupting"] == "false"
    assert {a.place for a in c.net.outputs["a:offer"]} == {
        "a:work", "a:timeout:armed", "a:message:note:armed"}


def test_the_kernel_the_event_happens_once_and_the_task_goes_on() -> None:
    c = compile_text(implicit())
    case = Case(c)
    case.fire("start")
    case.fire("a:offer")
    case.fire("a:timeout")
    assert case.marking.count("a:work") == 1 and case.marking.count("remind:in") == 1
    with pytest.raises(Exception):  # noqa: B017 - not enabled: it has happened
        case.fire("a:timeout")
    with pytest.raises(Exception):  # noqa: B017 - this variant needs the armed token
        case.fire("a:complete", _actor="ann")
    case.fire("a:complete~timeout", _actor="ann")
    with pytest.raises(Exception):  # noqa: B017 - the item is gone, and so is the message
        case.fire("a:message:note")
    for t in ("remind", "reminded", "done"):
        case.fire(t)
    assert is_final(c, case.marking)


def test_the_engine_on_a_manual_clock() -> None:
    c = compile_text(implicit())
    e, clock = engine()
    case = e.start(c, {})
    (item,) = items_of(e, case.id, "a")
    clock.advance(2 * HOUR)
    assert e.fire_timers() == 1
    rec = e.case(case.id)
    assert rec.status is CaseStatus.WAITING and rec.marking.get("end:reminded") == 1
    assert [i.id for i in items_of(e, case.id, "a")] == [item.id]  # the same item, still open
    clock.advance(2 * HOUR)
    assert e.fire_timers() == 0  # once per offer
    e.deliver(case.id, "note")
    assert e.case(case.id).marking.get("end:got_note") == 1
    with pytest.raises(WorkItemError, match="not waiting"):
        e.deliver(case.id, "note")  # at most once per offer
    e.complete(item.id, "ann")
    rec = e.case(case.id)
    assert rec.status is CaseStatus.COMPLETED
    assert {p: n for p, n in rec.marking.items() if n} == {
        "end:done": 1, "end:reminded": 1, "end:got_note": 1}
    steps = [ev.transition for ev in e.store.events(case.id) if ev.transition]
    assert "a:complete~timeout+message:note" in steps


def test_completing_first_cancels_the_pending_events() -> None:
    c = compile_text(implicit())
    e, clock = engine()
    case = e.start(c, {})
    (item,) = items_of(e, case.id, "a")
    e.complete(item.id, "ann")
    rec = e.case(case.id)
    assert rec.status is CaseStatus.COMPLETED and e.store.timers(case=case.id) == []
    clock.advance(2 * HOUR)
    assert e.fire_timers() == 0
    with pytest.raises(WorkItemError):
        e.deliver(case.id, "note")


def test_checker_verdicts() -> None:
    c = compile_text(implicit())
    assert check_deadlock(c, 20).verdict is Verdict.PROVED
    assert check_soundness(c, 20).verdict is Verdict.PROVED
    # under explicit termination the side path's end meets the task's: improper
    explicit = compile_text(PROCESS.format(mode="explicit"))
    s = check_soundness(explicit, 20)
    assert s.verdict is Verdict.VIOLATED and "improper" in str(s.reason)
    # a side path that joins the task's branch waits for ever when the event does not come
    joined = compile_text("""
process: joined
termination: implicit
roles: [clerk]
nodes:
  start: {type: start}
  a: {type: task, kind: human, role: clerk,
      timeout: {after: PT1H, to: remind, interrupting: false}}
  remind: {type: task, kind: auto}
  j: {type: parallel}
  done: {type: end}
flows: [start -> a, a -> j, remind -> j, j -> done]
""")
    assert check_deadlock(joined, 20).verdict is Verdict.VIOLATED


@pytest.mark.parametrize("bad, message", [
    ("timeout: {{after: PT1H, to: a, interrupting: false}}", "leads back"),
    ("catch: [{{message: m, to: a, interrupting: false}}]", "leads back"),
])
def test_refused_shapes(bad: str, message: str) -> None:
    text = PROCESS.replace(
        "timeout: {{after: PT1H, to: remind, interrupting: false}},\n"
        "      catch: [{{message: note, to: noted, interrupting: false}}]", bad)
    with pytest.raises(ModelError, match=message):
        compile_text(text.format(mode="implicit"))


def test_the_bpmn_export_keeps_them_and_the_fingerprint() -> None:
    from petriflow.model.bpmn import compile_import, read_bpmn
    from petriflow.model.bpmn.export import to_bpmn

    c = compile_text(implicit())
    text = to_bpmn(c)
    assert text.count('cancelActivity="false"') == 2
    back = read_bpmn(text, "back.bpmn")
    assert compile_import(back).fingerprint == c.fingerprint
    assert back.warnings == []  # the export says termination="implicit" itself
