"""Event-based gateways, timer/signal/escalation events, message and signal boundary events,
loops and multi-instance markers: each mapped as models/BPMN.md says, run by the engine
and given a verdict by the checker; what cannot be modelled is refused by id, tag, line."""

from __future__ import annotations

from typing import Any

import pytest

from petriflow.model.bpmn import read_bpmn
from petriflow.model.compile import compile_loaded
from petriflow.model.spec import GatewaySpec, TaskSpec, TimerSpec
from petriflow.runtime import Engine, ManualClock
from petriflow.store.base import CaseStatus
from petriflow.verify.portfolio import check
from petriflow.verify.result import Verdict
from tests.model.bpmn.conftest import bpmn, compiled, flow, problems

DAY = 86400.0


def proved(c: Any) -> bool:
    return all(r.verdict is Verdict.PROVED
               for r in check(c, ("deadlock", "soundness", "bounded"), timeout=30))


def run_engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock()
    return Engine(clock=clock), clock


def timer(tid: str, duration: str = "P1D", tag: str = "intermediateCatchEvent") -> str:
    return (f'<{tag} id="{tid}"><timerEventDefinition><timeDuration>{duration}'
            f'</timeDuration></timerEventDefinition></{tag}>')


def message_catch(mid: str) -> str:
    return f'<intermediateCatchEvent id="{mid}"><messageEventDefinition/></intermediateCatchEvent>'


DEFERRED = bpmn(
    '<startEvent id="s"/><eventBasedGateway id="g"/>' + message_catch("paid")
    + timer("late", "P3D") + '<receiveTask id="cancel"/>'
    '<endEvent id="e1"/><endEvent id="e2"/><endEvent id="e3"/>'
    + flow("f1", "s", "g") + flow("f2", "g", "paid") + flow("f3", "g", "late")
    + flow("f4", "g", "cancel") + flow("f5", "paid", "e1") + flow("f6", "late", "e2")
    + flow("f7", "cancel", "e3"))


def test_an_event_based_gateway_is_a_deferred_choice() -> None:
    imp, c = compiled(DEFERRED)
    nodes = imp.loaded.spec.nodes
    assert isinstance(nodes["g"], GatewaySpec) and nodes["g"].type == "event"
    assert isinstance(nodes["late"], TimerSpec) and nodes["late"].after == "P3D"
    ids = {t.id for t in c.net.transitions}
    assert {"g:offer", "paid:message", "cancel:message", "late:timeout"} <= ids
    assert "paid:offer" not in ids and "late:offer" not in ids
    # every event consumes the one work item: the first to happen wins
    for t in ("paid:message", "cancel:message", "late:timeout"):
        assert [a.place for a in c.net.inputs[t] if a.place != "data"] == ["g:work"]
    assert proved(c)
    e, clock = run_engine()
    first = e.start(c)
    assert e.deliver(first.id, "cancel").marking == {"end:e3": 1}
    second = e.start(c)
    clock.advance(3 * DAY)
    e.fire_timers()
    assert e.case(second.id).marking == {"end:e2": 1}
    assert e.replay(second.id).ok


def test_a_receiver_after_an_event_gateway_waits_for_the_message_of_another_pool() -> None:
    text = DEFERRED.replace('<process id="p" isExecutable="true">',
                            '<collaboration id="c"><participant id="A" processRef="p"/>'
                            '<participant id="B" processRef="q"/><messageFlow id="mf" '
                            'sourceRef="pay" targetRef="paid"/></collaboration>'
                            '<process id="p" isExecutable="true">')
    text = text.replace("</definitions>", '<process id="q"><startEvent id="qs"/>'
                        '<sendTask id="pay"/><endEvent id="qe"/>' + flow("q1", "qs", "pay")
                        + flow("q2", "pay", "qe") + "</process></definitions>")
    imp = read_bpmn(text, "test.bpmn")
    c = compile_loaded(imp.loaded)
    paid = next(t for t in c.net.transitions if t.id.endswith("paid:message"))
    assert len([a for a in c.net.inputs[paid.id] if a.place != "data"]) == 2  # wait, message
    # when the deadline or the cancel wins, the payment is never received: BPMN allows it,
    # a case cannot end with it pending (not even under implicit termination, where the
    # pools end on their own), so the import is refused, naming the message flow
    ps = problems(text)
    assert any("message" in p.message and p.element == "mf" for p in ps)


def test_an_intermediate_timer_is_a_wait() -> None:
    imp, c = compiled(bpmn('<startEvent id="s"/>' + timer("w", "PT2H")
                           + '<endEvent id="e"/>' + flow("f1", "s", "w") + flow("f2", "w", "e")))
    assert imp.loaded.spec.nodes["w"].type == "timer"
    assert proved(c)
    e, clock = run_engine()
    case = e.start(c)
    assert case.status is CaseStatus.WAITING
    clock.advance(2 * 3600)
    e.fire_timers()
    assert e.case(case.id).status is CaseStatus.COMPLETED


def test_timers_without_a_duration_are_refused() -> None:
    text = bpmn('<startEvent id="s"/>\n<intermediateCatchEvent id="w"><timerEventDefinition>'
                '<timeDate>2030-01-01</timeDate></timerEventDefinition>'
                '</intermediateCatchEvent><endEvent id="e"/>'
                + flow("f1", "s", "w") + flow("f2", "w", "e"))
    (p,) = problems(text)
    assert (p.element, p.line) == ("w", 5) and "timeDuration" in p.message


def signal(tag: str, sid: str, ref: str = "sig") -> str:
    return f'<{tag} id="{sid}"><signalEventDefinition signalRef="{ref}"/></{tag}>'


def test_signals_from_and_to_outside_the_process() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/>' + signal("intermediateCatchEvent", "heard")
        + signal("intermediateThrowEvent", "shout", "other") + '<endEvent id="e"/>'
        + flow("f1", "s", "heard") + flow("f2", "heard", "shout") + flow("f3", "shout", "e")))
    nodes = imp.loaded.spec.nodes
    assert nodes["heard"].kind.value == "receive" and nodes["shout"].kind.value == "api"
    assert "broadcast signal other" in nodes["shout"].description
    assert proved(c)


def test_escalations_nobody_catches_go_on_and_caught_ones_lead_to_the_catcher() -> None:
    esc = ('<intermediateThrowEvent id="up"><escalationEventDefinition escalationRef="x"/>'
           '</intermediateThrowEvent>')
    imp, c = compiled(bpmn('<startEvent id="s"/>' + esc + '<endEvent id="e">'
                           '<escalationEventDefinition/></endEvent>'
                           + flow("f1", "s", "up") + flow("f2", "up", "e")))
    assert proved(c)
    assert imp.loaded.spec.nodes["up"].kind.value == "auto"
    assert imp.loaded.spec.nodes["e"].type == "end"
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/>' + esc
        + '<endEvent id="ie"/>' + flow("i1", "is", "up") + flow("i2", "up", "ie")
        + '</subProcess><boundaryEvent id="b" attachedToRef="sub" cancelActivity="false">'
        '<escalationEventDefinition escalationRef="x"/></boundaryEvent><endEvent id="e"/>'
        '<endEvent id="e2"/>' + flow("f1", "s", "sub") + flow("f2", "sub", "e")
        + flow("f3", "b", "e2")))
    # non-interrupting: the throw goes on inside and also starts the boundary's path
    assert {("sub__up", "sub__ie"), ("sub__up", "b")} <= {
        (f.source, f.target) for f in imp.loaded.spec.flows}
    assert proved(c)
    e, _ = run_engine()
    rec = e.start(c)
    assert {p: n for p, n in rec.marking.items() if n} == {"end:e": 1, "end:e2": 1}


BOUNDARY = bpmn(
    '<startEvent id="s"/><userTask id="u"/><boundaryEvent id="b" attachedToRef="u">'
    '{definition}</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
    + flow("f1", "s", "u") + flow("f2", "u", "e") + flow("f3", "b", "e2"))


@pytest.mark.parametrize("definition", ["<messageEventDefinition/>",
                                        '<signalEventDefinition signalRef="stop"/>'])
def test_an_interrupting_message_or_signal_boundary_withdraws_the_task(definition: str) -> None:
    imp, c = compiled(BOUNDARY.replace("{definition}", definition))
    node = imp.loaded.spec.nodes["u"]
    assert [(x.message, x.to) for x in node.catch] == [("b", "b")]
    assert proved(c)
    e, _ = run_engine()
    case = e.start(c)
    rec = e.deliver(case.id, "b")
    assert rec.status is CaseStatus.COMPLETED and rec.marking == {"end:e2": 1}
    assert not e.work_items(case.id)


@pytest.mark.parametrize("definition", [
    "<messageEventDefinition/>", '<signalEventDefinition signalRef="stop"/>',
    "<timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>"])
def test_a_non_interrupting_boundary_starts_a_token_and_the_task_goes_on(
        definition: str) -> None:
    text = BOUNDARY.replace("{definition}", definition).replace(
        'attachedToRef="u"', 'attachedToRef="u" cancelActivity="false"')
    imp, c = compiled(text)  # its path ends on its own: implicit termination
    node = imp.loaded.spec.nodes["u"]
    timer_event = "timer" in definition
    if timer_event:
        assert node.timeout is not None and node.timeout.interrupting is False
    else:
        assert [(x.message, x.to, x.interrupting) for x in node.catch] == [("b", "b", False)]
    assert c.termination == "implicit"
    assert proved(c)
    e, clock = run_engine()
    case = e.start(c)
    if timer_event:
        clock.advance(2 * 3600)
        assert e.fire_timers() == 1
    else:
        e.deliver(case.id, "b")
    rec = e.case(case.id)
    assert rec.status is CaseStatus.WAITING and rec.marking.get("end:e2") == 1
    (item,) = e.work_items(case.id)
    rec = e.complete(item.id, "ann")
    assert rec.status is CaseStatus.COMPLETED
    assert {p: n for p, n in rec.marking.items() if n} == {"end:e": 1, "end:e2": 1}


def test_a_conditional_boundary_on_a_sub_process_is_refused() -> None:
    text = bpmn(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/><userTask id="t"/>'
        '<endEvent id="ie"/>' + flow("i1", "is", "t") + flow("i2", "t", "ie")
        + '</subProcess>\n<boundaryEvent id="b" attachedToRef="sub" cancelActivity="false">'
        '<conditionalEventDefinition/></boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
        + flow("f1", "s", "sub") + flow("f2", "sub", "e") + flow("f3", "b", "e2"))
    (p,) = problems(text)
    assert (p.element, p.line) == ("b", 5) and "conditional boundary" in p.message


LOOP = bpmn(
    '<startEvent id="s"/><userTask id="u"><extensionElements><pf:task writes="more"/>'
    '</extensionElements><standardLoopCharacteristics {attrs}><loopCondition>= more'
    '</loopCondition></standardLoopCharacteristics></userTask><endEvent id="e"/>'
    + flow("f1", "s", "u") + flow("f2", "u", "e"),
    ext='<pf:field name="more" type="bool"/>')


@pytest.mark.parametrize("attrs", ['testBefore="false"', 'testBefore="true"'])
def test_a_loop_with_a_condition_repeats_while_it_holds(attrs: str) -> None:
    text = LOOP.replace("{attrs}", attrs)
    if "true" in attrs:  # tested before the first round: start with the condition true
        text = text.replace('type="bool"/>', 'type="bool" default="true"/>')
    imp, c = compiled(text)
    gate = imp.loaded.spec.nodes["u__loop"]
    assert isinstance(gate, GatewaySpec) and gate.type == "exclusive"
    assert imp.mapping.node_of["u__loop"] == "u"
    assert proved(c)
    e, _ = run_engine()
    case = e.start(c)
    for more in (True, True, False):
        (item,) = e.work_items(case.id)
        e.complete(item.id, "ann", {"more": more})
    assert e.case(case.id).status is CaseStatus.COMPLETED
    done = [ev for ev in e.store.events(case.id) if ev.transition == "u:complete"]
    assert len(done) == 3


def test_loops_without_a_condition_or_with_a_maximum_are_refused() -> None:
    (p,) = problems(LOOP.replace("{attrs}", 'loopMaximum="3"'))
    assert p.element == "u" and "loopMaximum" in p.message
    no_condition = LOOP.replace("{attrs}", "").replace(
        "<loopCondition>= more</loopCondition>", "")
    (p,) = problems(no_condition)
    assert p.element == "u" and "loopCondition" in p.message


MULTI = bpmn(
    '<startEvent id="s"/><userTask id="u"><multiInstanceLoopCharacteristics {attrs}>'
    '{body}</multiInstanceLoopCharacteristics></userTask><endEvent id="e"/>'
    + flow("f1", "s", "u") + flow("f2", "u", "e"))


@pytest.mark.parametrize("sequential", [True, False])
def test_multi_instance_with_a_fixed_cardinality_runs_that_many_times(sequential: bool) -> None:
    text = MULTI.replace("{attrs}", f'isSequential="{str(sequential).lower()}"').replace(
        "{body}", "<loopCardinality>3</loopCardinality>")
    imp, c = compiled(text)
    copies = [n for n, s in imp.loaded.spec.nodes.items() if isinstance(s, TaskSpec)]
    assert copies == ["u", "u__2", "u__3"]
    assert {imp.mapping.node_of[n] for n in copies} == {"u"}
    assert proved(c)
    e, _ = run_engine()
    case = e.start(c)
    assert len(e.work_items(case.id)) == (1 if sequential else 3)
    for _ in range(3):
        e.complete(e.work_items(case.id)[0].id, "ann")
    assert e.case(case.id).status is CaseStatus.COMPLETED


@pytest.mark.parametrize("body, why", [
    ("", "loopCardinality"), ("<loopCardinality>99</loopCardinality>", "loopCardinality"),
    ("<loopDataInputRef>items</loopDataInputRef>", "collection"),
    ("<loopCardinality>2</loopCardinality><completionCondition>x</completionCondition>",
     "completionCondition")])
def test_multi_instance_that_cannot_be_unrolled_is_refused(body: str, why: str) -> None:
    (p,) = problems(MULTI.replace("{attrs}", "").replace("{body}", body))
    assert p.element == "u" and why in p.message


def test_conditional_event_sub_processes_are_refused() -> None:
    ps = problems(bpmn(
        '<startEvent id="s"/><task id="t"/><endEvent id="e"/><subProcess id="ev" '
        'triggeredByEvent="true">\n<startEvent id="es"><conditionalEventDefinition/>'
        '</startEvent><endEvent id="ee"/>' + flow("i1", "es", "ee") + "</subProcess>"
        + flow("f1", "s", "t") + flow("f2", "t", "e")))
    assert [(p.element, p.line) for p in ps] == [("es", 5)]
    assert "event sub-process" in ps[0].message


def raising(kind: str, inner: str = "", boundary_attrs: str = "") -> str:
    """A sub-process whose choice either finishes or raises ``kind`` (error or
    escalation) at an end event, caught by a boundary event of the sub-process."""
    return bpmn(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/>'
        '<userTask id="check"><extensionElements><pf:task writes="ok"/></extensionElements>'
        '</userTask><exclusiveGateway id="x" default="i4"/><endEvent id="fine"/>'
        f'<endEvent id="bad"><{kind}EventDefinition {kind}Ref="E1"/></endEvent>{inner}'
        + flow("i1", "is", "check") + flow("i2", "check", "x") + flow("i3", "x", "bad", "not ok")
        + flow("i4", "x", "fine") + '</subProcess>'
        f'<boundaryEvent id="caught" attachedToRef="sub" {boundary_attrs}>'
        f'<{kind}EventDefinition {kind}Ref="E1"/></boundaryEvent>'
        '<userTask id="repair"/><endEvent id="e"/><endEvent id="e2"/>'
        + flow("f1", "s", "sub") + flow("f2", "sub", "e") + flow("f3", "caught", "repair")
        + flow("f4", "repair", "e2"), ext='<pf:field name="ok" type="bool"/>')


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_an_end_event_raising_to_its_sub_process_boundary_leaves_by_it(kind: str) -> None:
    imp, c = compiled(raising(kind))
    assert ("sub__bad", "caught") in {(f.source, f.target) for f in imp.loaded.spec.flows}
    assert proved(c)
    e, _ = run_engine()
    case = e.start(c)
    e.complete(e.work_items(case.id)[0].id, "ann", {"ok": False})
    (item,) = e.work_items(case.id)
    assert item.task == "repair"
    e.complete(item.id, "bob")
    assert e.case(case.id).marking == {"end:e2": 1}


def test_raising_while_the_sub_process_still_runs_withdraws_the_other_branch() -> None:
    # a parallel branch inside the sub-process may still run: it is withdrawn
    text = raising("error").replace(
        '<startEvent id="is"/>', '<startEvent id="is"/><parallelGateway id="fork"/>'
        '<task id="other"/><parallelGateway id="meet"/>').replace(
        flow("i1", "is", "check"), flow("i1", "is", "fork") + flow("i5", "fork", "check")
        + flow("i6", "fork", "other") + flow("i7", "other", "meet")).replace(
        flow("i4", "x", "fine"), flow("i4", "x", "meet") + flow("i8", "meet", "fine"))
    imp, c = compiled(text)
    assert imp.loaded.spec.scopes["sub"].cancel == ("sub__bad",)
    assert proved(c)


def test_errors_nobody_catches_are_refused() -> None:
    ps = problems(raising("error").replace('attachedToRef="sub"', 'attachedToRef="repair"'))
    assert {p.element for p in ps} >= {"bad"}


def _referenced(inline: bool, ref: str = "wait_def") -> str:
    definition = '<timerEventDefinition id="wait_def"><timeDuration>PT1H</timeDuration>' \
                 '</timerEventDefinition>'
    terminate = '<terminateEventDefinition id="end_def"/>'
    wait = definition if inline else f"<eventDefinitionRef>{ref}</eventDefinitionRef>"
    end = terminate if inline else "<eventDefinitionRef>end_def</eventDefinitionRef>"
    text = bpmn(f'<startEvent id="s"/><intermediateCatchEvent id="w">{wait}'
                f'</intermediateCatchEvent><endEvent id="e">{end}</endEvent>'
                + flow("f1", "s", "w") + flow("f2", "w", "e"))
    if not inline:  # the definitions at the top of the file, as some tools write them
        text = text.replace('<process id="p"', f"{definition}{terminate}<process id=\"p\"")
    return text


def test_an_event_definition_referenced_from_the_top_of_the_file_is_the_same_event() -> None:
    _, inline = compiled(_referenced(True))
    _, referenced = compiled(_referenced(False))
    assert referenced.fingerprint == inline.fingerprint


def test_an_event_definition_reference_that_names_nothing_is_refused() -> None:
    [p] = problems(_referenced(False, ref="missing"))
    assert p.element == "w" and "eventDefinitionRef 'missing' names no event definition" \
        in p.message
