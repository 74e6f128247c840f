"""The waits of models/SEMANTICS.md (timer, event-based gateway, catch), compiled and fired
with the kernel, and the problems validation reports for them."""

from __future__ import annotations

import pytest

from petriflow.errors import ModelError
from petriflow.governance.participants import ParticipantKind
from tests.model.helpers import WAITS, Case, compile_text


def at_the_choice() -> Case:
    case = Case(compile_text(WAITS))
    case.start()
    case.do("ask", "carla")
    case.fire("pause:offer")
    assert case.control() == {"pause:work": 1}
    case.fire("pause:timeout")
    case.fire("choose:offer")
    assert case.control() == {"choose:work": 1}
    return case


def test_a_timer_is_an_offer_and_a_timeout_with_its_duration() -> None:
    c = compile_text(WAITS)
    meta = dict(c.net.transition("pause:timeout").meta)
    assert meta["after_seconds"] == "3600.0" and meta["participant"] == "timer"
    assert c.source_map.transitions["pause:offer"].participant is ParticipantKind.TIMER


@pytest.mark.parametrize("event, end", [("reply:message", "done"),
                                        ("late:timeout", "gave_up")])
def test_the_first_event_of_a_deferred_choice_wins(event: str, end: str) -> None:
    case = at_the_choice()
    assert set(case.token_enabled()) == {"reply:message", "late:timeout"}
    case.fire(event, **({"_o_answer": "yes"} if event == "reply:message" else {}))
    assert case.token_enabled() == [end]  # the other event is gone with the wait
    case.fire(end)
    assert case.ended_at() == end


def test_a_message_after_an_event_gateway_carries_what_the_receive_task_writes() -> None:
    case = at_the_choice()
    assert not case.can("reply:message", _o_answer="")  # its check holds on the message
    case.fire("reply:message", _o_answer="yes")
    assert case.data["answer"] == "yes"
    assert dict(case.net.transition("reply:message").meta)["message"] == "reply"


def test_a_caught_message_withdraws_the_work_item() -> None:
    case = Case(compile_text(WAITS))
    case.start()
    case.offer("ask")
    assert {"ask:complete", "ask:message:cancel"} <= set(case.token_enabled())
    case.fire("ask:message:cancel")
    case.fire("cancelled")
    assert case.ended_at() == "cancelled"


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as err:
        compile_text(text)
    return [p.message for p in err.value.problems]


@pytest.mark.parametrize("old, new, expected", [
    ("after: PT1H", "after: soon", "timer 'pause'"),
    ("reply: {type: task, kind: receive,", "reply: {type: task, kind: human, role: clerk,",
     "must lead to receive tasks and timers only"),
    ("late: {type: timer, after: P2D}", "late: {type: timer, after: P2D}\n  later: {type: "
     "timer, after: P3D}", "at most one"),
    ("writes: [answer], check", "timeout: {after: P1D, to: done}, writes: [answer], check",
     "cannot also have a timeout"),
    ("ask -> pause,", "ask -> pause, ask -> late,", "entered by that flow only"),
    ("catch: [{message: cancel, to: cancelled}]", "catch: [{message: cancel, to: choose}]",
     "catch leads to 'choose'"),
    ("catch: [{message: cancel, to: cancelled}]", "catch: [{message: cancel, to: nowhere}]",
     "unknown node 'nowhere'"),
    ("choose -> late,", "{from: choose, to: late, when: 'answer == \"\"'},",
     "leaves a node that does not choose"),
])
def test_validation_names_what_is_wrong(old: str, new: str, expected: str) -> None:
    text = WAITS.replace(old, new, 1)
    if "later" in new:
        text = text.replace("late -> gave_up", "late -> gave_up, choose -> later, "
                            "later -> gave_up")
    found = problems(text)
    assert any(expected in m for m in found), found


def test_other_flows_into_a_receive_task_after_an_event_gateway_bring_its_message() -> None:
    c = compile_text(WAITS.replace("ask -> pause,", "ask -> pause, ask -> reply,"))
    assert sorted(a.place for a in c.net.inputs["reply:message"]
                  if a.place != "data") == ["choose:work", "reply:in"]


def test_a_message_name_is_caught_in_one_place_and_only_by_external_work() -> None:
    text = WAITS.replace("pause: {type: timer, after: PT1H}",
                         "pause: {type: task, kind: auto, catch: [{message: cancel, "
                         "to: cancelled}]}")
    found = problems(text)
    assert any("only external tasks catch messages" in m for m in found)
    assert any("is caught by 'ask' and 'pause'" in m for m in found)


def test_the_builder_makes_the_same_waits() -> None:
    from petriflow.governance.participants import Role
    from petriflow.model import Process

    p = Process("built")
    ask = p.task("ask", role=Role("clerk"), catch=[{"message": "stop", "to": "stopped"}])
    choose = p.event("choose", after=ask)
    reply = p.task("reply", kind="receive", after=choose)
    late = p.timer("late", "P2D", after=choose)
    p.end("done", after=[reply, late])
    p.end("stopped")
    ids = {t.id for t in p.compile().net.transitions}
    assert {"ask:message:stop", "choose:offer", "reply:message", "late:timeout"} <= ids


def test_a_message_is_not_named_after_an_external_task() -> None:
    found = problems(WAITS.replace("{message: cancel, to: cancelled}",
                                   "{message: reply, to: cancelled}"))
    assert any("has the name of an external task" in m for m in found)
