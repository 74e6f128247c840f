"""Sub-processes that can be interrupted (models/SEMANTICS.md, Scopes): boundary events on
sub-processes, event sub-processes, errors and escalations caught with cancellation.
Each process is compiled from BPMN written here, run by the engine (which end is reached,
which work items are offered and withdrawn), and given a verdict by the checker that a
brute-force exploration of the net confirms."""

from __future__ import annotations

from typing import Any

import pytest

from petriflow.errors import ModelError, WorkItemError
from petriflow.runtime import Engine, ManualClock
from petriflow.store.base import CaseStatus
from petriflow.verify.portfolio import check
from petriflow.verify.result import Verdict
from tests.model.bpmn.conftest import bpmn, compiled, flow, problems
from tests.model.helpers import is_final
from tests.verify import test_process_differential as differential
from tests.verify.test_process_differential import can_finish, explore

HOUR = 3600.0


def verdicts(c: Any) -> dict[str, Verdict]:
    return {r.property: r.verdict
            for r in check(c, ("deadlock", "soundness", "bounded"), timeout=60)}


def brute_force(c: Any, explored: Any = None) -> dict[str, Verdict]:
    """Deadlock-freedom and soundness decided on the explicit graph of the net."""
    graph, fired, complete = explored or explore(c)
    assert complete
    dead = [m for m, out in graph.items() if not out and not is_final(c, m)]
    good = can_finish(c, graph)
    group = {t.id: dict(t.meta).get("variant_of", t.id) for t in c.net.transitions}
    model_steps = {group[t.id] for t in c.net.transitions
                   if ("scope", "bookkeeping") not in t.meta}
    sound = not dead and good == set(graph) and model_steps <= {group[t] for t in fired}
    return {"deadlock": Verdict.VIOLATED if dead else Verdict.PROVED,
            "soundness": Verdict.PROVED if sound else Verdict.VIOLATED}


def agree(c: Any, explored: Any = None) -> dict[str, Verdict]:
    """The checker's verdicts, after checking them against brute force."""
    got = verdicts(c)
    want = brute_force(c, explored)
    assert {k: got[k] for k in want} == want
    assert got["bounded"] is Verdict.PROVED
    return got


def engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock()
    return Engine(clock=clock), clock


def ends(rec: Any) -> dict[str, int]:
    return {p: n for p, n in rec.marking.items() if n and p.startswith("end:")}


def open_tasks(e: Engine, case: str) -> list[str]:
    return sorted(i.task for i in e.work_items(case))


def do(e: Engine, case: str, task: str, **outputs: Any) -> Any:
    item = next(i for i in e.work_items(case) if i.task == task)
    return e.complete(item.id, "ann", outputs)


def user(tid: str, writes: str = "") -> str:
    ext = f'<extensionElements><pf:task writes="{writes}"/></extensionElements>' if writes \
        else ""
    return f'<userTask id="{tid}">{ext}</userTask>'


def start(sid: str, definition: str = "", attrs: str = "") -> str:
    return f'<startEvent id="{sid}" {attrs}>{definition}</startEvent>'


MESSAGE = "<messageEventDefinition/>"
TIMER = "<timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>"

# a sub-process with two parallel user tasks
PARALLEL = ('<subProcess id="sub"><startEvent id="is"/><parallelGateway id="fork"/>'
            + user("t1") + user("t2") + '<parallelGateway id="meet"/><endEvent id="ie"/>'
            + flow("i1", "is", "fork") + flow("i2", "fork", "t1") + flow("i3", "fork", "t2")
            + flow("i4", "t1", "meet") + flow("i5", "t2", "meet") + flow("i6", "meet", "ie")
            + "</subProcess>")


def on_sub(definition: str, attrs: str = "", after: str = '<endEvent id="e2"/>',
           after_flows: str = "") -> str:
    return bpmn('<startEvent id="s"/>' + PARALLEL
                + f'<boundaryEvent id="b" attachedToRef="sub" {attrs}>{definition}'
                '</boundaryEvent><endEvent id="e"/>' + after + flow("f1", "s", "sub")
                + flow("f2", "sub", "e") + (after_flows or flow("f3", "b", "e2")))


# -- boundary events on a sub-process --------------------------------------------------------

def test_an_interrupting_message_on_a_sub_process_withdraws_everything_inside() -> None:
    imp, c = compiled(on_sub(MESSAGE))
    scope = imp.loaded.spec.scopes["sub"]
    assert (scope.entry, scope.exit) == ("sub__is", "sub")
    assert [(x.message, x.to, x.interrupting) for x in scope.catch] == [("b", "b", True)]
    assert agree(c) == {"deadlock": Verdict.PROVED, "soundness": Verdict.PROVED,
                        "bounded": Verdict.PROVED}
    e, _ = engine()
    case = e.start(c).id
    assert open_tasks(e, case) == ["sub", "sub__t1", "sub__t2"]  # "sub": its wait
    do(e, case, "sub__t1")
    rec = e.deliver(case, "b")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e2": 1}
    assert not e.work_items(case)
    statuses = {i.task: i.status.value for i in e.store.work_items(case=case, open_only=False)}
    assert statuses["sub__t2"] == "withdrawn"
    assert e.replay(case).ok
    # without the message, the sub-process completes once both branches are done
    case = e.start(c).id
    do(e, case, "sub__t2")
    rec = do(e, case, "sub__t1")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}
    with pytest.raises(WorkItemError):
        e.deliver(case, "b")


def test_an_interrupting_timer_on_a_sub_process_fires_at_its_deadline() -> None:
    _, c = compiled(on_sub(TIMER))
    assert agree(c)["soundness"] is Verdict.PROVED
    e, clock = engine()
    case = e.start(c).id
    clock.advance(HOUR / 2)
    assert e.fire_timers() == 0
    clock.advance(HOUR)
    assert e.fire_timers() == 1
    rec = e.case(case)
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e2": 1}
    assert not e.work_items(case)


@pytest.mark.parametrize("definition", [MESSAGE, TIMER])
def test_a_non_interrupting_event_on_a_sub_process_happens_once_beside_it(
        definition: str) -> None:
    _imp, c = compiled(on_sub(definition, 'cancelActivity="false"', after=user("note")
                             + '<endEvent id="e2"/>',
                             after_flows=flow("f3", "b", "note") + flow("f4", "note", "e2")))
    assert c.termination == "implicit"
    assert agree(c)["soundness"] is Verdict.PROVED
    e, clock = engine()
    case = e.start(c).id
    if definition == MESSAGE:
        e.deliver(case, "b")
        with pytest.raises(WorkItemError):  # at most once per activation of the sub-process
            e.deliver(case, "b")
    else:
        clock.advance(2 * HOUR)
        assert e.fire_timers() == 1
    assert open_tasks(e, case) == ["note", "sub", "sub__t1", "sub__t2"]
    do(e, case, "sub__t1")
    do(e, case, "sub__t2")
    assert open_tasks(e, case) == ["note"]
    rec = do(e, case, "note")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1, "end:e2": 1}


def test_a_boundary_path_that_waits_for_the_sub_process_is_a_deadlock() -> None:
    # the boundary's path and the sub-process's normal exit meet in a parallel join:
    # after the message, the join waits for ever for the exit that never comes
    text = on_sub(MESSAGE, after='<parallelGateway id="j"/>',
                  after_flows=flow("f3", "b", "j")).replace(
        flow("f2", "sub", "e"), flow("f2", "sub", "j") + flow("f4", "j", "e"))
    _, c = compiled(text)
    got = agree(c)
    assert got["deadlock"] is Verdict.VIOLATED and got["soundness"] is Verdict.VIOLATED


def test_a_sub_process_entered_twice_while_it_runs_is_refused() -> None:
    text = bpmn('<startEvent id="s"/><parallelGateway id="two"/>' + PARALLEL.replace(
        '<subProcess id="sub">', '<subProcess id="sub">\n')
        + f'<boundaryEvent id="b" attachedToRef="sub">{MESSAGE}</boundaryEvent>'
        '<endEvent id="e"/><endEvent id="e2"/>' + flow("f0", "s", "two")
        + flow("f1", "two", "sub") + flow("f1b", "two", "sub") + flow("f2", "sub", "e")
        + flow("f3", "b", "e2"))
    ps = problems(text)
    assert any(p.element == "sub" and "entered again" in p.message for p in ps), ps


# -- event sub-processes ---------------------------------------------------------------------

def esp(eid: str, definition: str, body_task: str, attrs: str = "") -> str:
    """An event sub-process ``eid``: its start (``<eid>_s``) -> a user task -> its end."""
    return (f'<subProcess id="{eid}" triggeredByEvent="true">'
            + start(f"{eid}_s", definition, attrs) + user(body_task)
            + f'<endEvent id="{eid}_e"/>' + flow(f"{eid}1", f"{eid}_s", body_task)
            + flow(f"{eid}2", body_task, f"{eid}_e") + "</subProcess>")


def test_an_interrupting_message_event_sub_process_replaces_the_process() -> None:
    imp, c = compiled(bpmn('<startEvent id="s"/>' + user("t") + '<endEvent id="e"/>'
                           + esp("ev", MESSAGE, "fix") + flow("f1", "s", "t")
                           + flow("f2", "t", "e")))
    (scope,) = imp.loaded.spec.scopes.values()
    assert scope.exit is None and scope.entry == "s"
    assert [(x.message, x.to) for x in scope.catch] == [("ev__ev_s", "ev__ev_s")]
    assert c.termination == "explicit" and not imp.warnings
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    e.deliver(case, "ev__ev_s")
    # t is withdrawn, the event sub-process runs, the process (its scope) is still active
    assert open_tasks(e, case) == ["ev__fix", "process_scope"]
    rec = do(e, case, "ev__fix")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:ev__end": 1}
    assert e.replay(case).ok
    case = e.start(c).id  # without the message: the process as usual
    rec = do(e, case, "t")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}
    with pytest.raises(WorkItemError):
        e.deliver(case, "ev__ev_s")


def test_a_non_interrupting_event_sub_process_keeps_its_sub_process_open() -> None:
    inner = PARALLEL.replace("</subProcess>", esp(
        "ev", MESSAGE, "note", 'isInterrupting="false"') + "</subProcess>")
    _imp, c = compiled(bpmn('<startEvent id="s"/>' + inner + user("after")
                           + '<endEvent id="e"/>' + flow("f1", "s", "sub")
                           + flow("f2", "sub", "after") + flow("f3", "after", "e")))
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    e.deliver(case, "sub__ev__ev_s")
    do(e, case, "sub__t1")
    do(e, case, "sub__t2")
    # the sub-process has ended its own branches, but its event sub-process still runs
    assert open_tasks(e, case) == ["sub", "sub__ev__note"]
    do(e, case, "sub__ev__note")
    assert open_tasks(e, case) == ["after"]
    rec = do(e, case, "after")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}


def test_a_timer_event_sub_process_interrupts_its_sub_process() -> None:
    inner = PARALLEL.replace("</subProcess>", esp("late", TIMER, "chase") + "</subProcess>")
    _, c = compiled(bpmn('<startEvent id="s"/>' + inner + user("after") + '<endEvent id="e"/>'
                         + flow("f1", "s", "sub") + flow("f2", "sub", "after")
                         + flow("f3", "after", "e")))
    assert agree(c)["soundness"] is Verdict.PROVED
    e, clock = engine()
    case = e.start(c).id
    do(e, case, "sub__t1")
    clock.advance(2 * HOUR)
    assert e.fire_timers() == 1
    assert open_tasks(e, case) == ["sub", "sub__late__chase"]
    do(e, case, "sub__late__chase")
    assert open_tasks(e, case) == ["after"]  # then the sub-process completes


ERROR = '<errorEventDefinition errorRef="E1"/>'
RAISES = ('<subProcess id="sub"><startEvent id="is"/><parallelGateway id="fork"/>'
          + user("t1") + user("check", "ok")
          + '<exclusiveGateway id="x" default="i7"/><parallelGateway id="meet"/>'
          f'<endEvent id="bad">{ERROR}</endEvent><endEvent id="ie"/>'
          + flow("i1", "is", "fork") + flow("i2", "fork", "t1") + flow("i3", "fork", "check")
          + flow("i4", "t1", "meet") + flow("i5", "check", "x")
          + flow("i6", "x", "bad", "not ok") + flow("i7", "x", "meet")
          + flow("i8", "meet", "ie") + "{esp}</subProcess>")


def test_an_error_caught_by_an_event_sub_process_withdraws_the_other_branch() -> None:
    text = bpmn('<startEvent id="s"/>' + RAISES.replace("{esp}", esp("oops", ERROR, "repair"))
                + user("after") + '<endEvent id="e"/>' + flow("f1", "s", "sub")
                + flow("f2", "sub", "after") + flow("f3", "after", "e"),
                ext='<pf:field name="ok" type="bool"/>')
    imp, c = compiled(text)
    scope = imp.loaded.spec.scopes["sub"]
    assert scope.cancel == ("sub__bad",)
    assert ("sub__bad", "sub__oops__oops_s") in {(f.source, f.target)
                                                  for f in imp.loaded.spec.flows}
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    do(e, case, "sub__check", ok=False)
    assert open_tasks(e, case) == ["sub__oops__repair"]  # t1 was withdrawn
    do(e, case, "sub__oops__repair")
    rec = do(e, case, "after")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}
    case = e.start(c).id
    do(e, case, "sub__check", ok=True)
    do(e, case, "sub__t1")
    assert open_tasks(e, case) == ["after"]


def test_an_escalation_starts_a_non_interrupting_event_sub_process_beside_the_process() -> None:
    esc = '<escalationEventDefinition escalationRef="X"/>'
    text = bpmn('<startEvent id="s"/>' + f'<intermediateThrowEvent id="up">{esc}'
                '</intermediateThrowEvent>' + user("t") + '<endEvent id="e"/>'
                + esp("heard", esc, "note", 'isInterrupting="false"') + flow("f1", "s", "up")
                + flow("f2", "up", "t") + flow("f3", "t", "e"))
    _imp, c = compiled(text)
    assert c.termination == "implicit"
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    assert open_tasks(e, case) == ["heard__note", "t"]
    do(e, case, "t")
    rec = do(e, case, "heard__note")
    assert rec.status is CaseStatus.COMPLETED
    assert ends(rec) == {"end:e": 1, "end:heard__end": 1}


def test_an_error_event_sub_process_that_nothing_raises_is_refused() -> None:
    text = bpmn('<startEvent id="s"/>' + user("t") + '<endEvent id="e"/>'
                + esp("oops", ERROR, "repair").replace('<startEvent', '\n<startEvent')
                + flow("f1", "s", "t") + flow("f2", "t", "e"))
    ps = problems(text)
    assert [(p.element, p.line) for p in ps] == [("oops_s", 5)]
    assert "raises" in ps[0].message


def test_a_second_timer_of_one_scope_is_refused() -> None:
    inner = PARALLEL.replace("</subProcess>", "\n" + esp("late", TIMER, "chase")
                             + "</subProcess>")
    text = bpmn('<startEvent id="s"/>' + inner + f'<boundaryEvent id="b" attachedToRef="sub">'
                f'{TIMER}</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
                + flow("f1", "s", "sub") + flow("f2", "sub", "e") + flow("f3", "b", "e2"))
    ps = problems(text)
    assert [p.element for p in ps] == ["b"], ps
    assert "boundaryEvent 'b'" in ps[0].message


# -- the process language ----------------------------------------------------------------------

def test_a_scope_that_overlaps_another_or_leaves_by_a_side_door_is_refused() -> None:
    from petriflow.model import compile_loaded, load_text

    text = """
process: p
nodes:
  s: {type: start}
  a: {type: task, kind: auto}
  b: {type: task, kind: auto}
  x: {type: task, kind: auto}
  e: {type: end}
flows: [s -> a, a -> b, b -> x, x -> e]
scopes:
  one: {nodes: [a, b], entry: a, exit: x}
  two: {nodes: [b, x], entry: b, exit: e}
"""
    with pytest.raises(ModelError) as err:
        compile_loaded(load_text(text, "t.yaml"))
    found = {p.element for p in err.value.problems}
    assert found == {"one", "two"}, [str(p) for p in err.value.problems]


# -- signals thrown and caught inside the process ------------------------------------------------

def sig(tag: str, sid: str, ref: str = "go") -> str:
    return f'<{tag} id="{sid}"><signalEventDefinition signalRef="{ref}"/></{tag}>'


def test_a_signal_thrown_inside_reaches_the_catch_waiting_for_it() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><parallelGateway id="split"/>' + user("t")
        + sig("intermediateThrowEvent", "shout") + sig("intermediateCatchEvent", "heard")
        + '<parallelGateway id="join"/><endEvent id="e"/>' + flow("f1", "s", "split")
        + flow("f2", "split", "t") + flow("f3", "t", "shout") + flow("f4", "split", "heard")
        + flow("f5", "shout", "join") + flow("f6", "heard", "join") + flow("f7", "join", "e")))
    assert imp.loaded.spec.broadcasts == {"shout": ("heard",)}
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    assert open_tasks(e, case) == ["heard", "t"]
    rec = do(e, case, "t")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}
    assert not e.work_items(case)
    assert e.replay(case).ok


def test_a_signal_reaches_only_the_catches_waiting_at_that_moment() -> None:
    # the catch starts waiting after the throw: it does not hear it (BPMN's broadcast),
    # and waits for the signal from outside
    _, c = compiled(bpmn(
        '<startEvent id="s"/>' + sig("intermediateThrowEvent", "shout")
        + sig("intermediateCatchEvent", "heard") + '<endEvent id="e"/>'
        + flow("f1", "s", "shout") + flow("f2", "shout", "heard") + flow("f3", "heard", "e")))
    e, _ = engine()
    case = e.start(c).id
    assert open_tasks(e, case) == ["heard"]
    rec = e.deliver(case, "heard")
    assert rec.status is CaseStatus.COMPLETED


def test_a_signal_thrown_in_one_branch_interrupts_a_sub_process_in_another(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(differential, "CAP", 20_000)  # three people's names in the data
    text = bpmn('<startEvent id="s"/><parallelGateway id="split"/>' + PARALLEL + user("t")
                + sig("intermediateThrowEvent", "shout") + sig("boundaryEvent", "b").replace(
                    'id="b"', 'id="b" attachedToRef="sub"')
                + '<endEvent id="e1"/><endEvent id="e2"/><endEvent id="e3"/>'
                + flow("f1", "s", "split") + flow("f2", "split", "sub")
                + flow("f3", "split", "t") + flow("f4", "t", "shout")
                + flow("f5", "shout", "e3") + flow("f6", "sub", "e1") + flow("f7", "b", "e2"))
    imp, c = compiled(text)
    assert imp.loaded.spec.broadcasts == {"shout": ("b",)}
    assert c.termination == "implicit"
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    do(e, case, "sub__t1")
    rec = do(e, case, "t")
    assert rec.status is CaseStatus.COMPLETED
    assert ends(rec) == {"end:e2": 1, "end:e3": 1}
    assert not e.work_items(case)


# -- endings a scope expresses: terminate end events, sub-processes that end implicitly ----

TERMINATE = '<endEvent id="{id}"><terminateEventDefinition/></endEvent>'
TWO_BRANCHES = ('<parallelGateway id="split"/>' + user("t1") + user("t2")
                + TERMINATE.format(id="stop") + '<endEvent id="done"/>'
                + flow("b1", "split", "t1") + flow("b2", "split", "t2")
                + flow("b3", "t1", "stop") + flow("b4", "t2", "done"))


def test_a_terminate_end_event_withdraws_the_other_branches_of_the_process() -> None:
    imp, c = compiled(bpmn('<startEvent id="s"/>' + TWO_BRANCHES + flow("b0", "s", "split")))
    (scope,) = imp.loaded.spec.scopes.values()
    assert scope.cancel == ("stop",)
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    rec = do(e, case, "t1")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:stop": 1}
    assert not e.work_items(case)
    case = e.start(c).id
    do(e, case, "t2")  # this branch has ended; the case goes on until the terminate,
    rec = do(e, case, "t1")  # which ends the case there (the journal keeps "done")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:stop": 1}
    assert any(ev.transition == "done" for ev in e.store.events(case))


def test_a_terminate_end_event_inside_a_sub_process_ends_only_the_sub_process() -> None:
    inner = ('<subProcess id="sub"><startEvent id="is"/>' + TWO_BRANCHES
             + flow("b0", "is", "split") + "</subProcess>")
    imp, c = compiled(bpmn('<startEvent id="s"/>' + inner + user("after") + '<endEvent id="e"/>'
                           + flow("f1", "s", "sub") + flow("f2", "sub", "after")
                           + flow("f3", "after", "e")))
    assert imp.loaded.spec.scopes["sub"].cancel == ("sub__stop",)
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    do(e, case, "sub__t1")
    assert open_tasks(e, case) == ["after"]  # t2 was withdrawn, the sub-process ended
    rec = do(e, case, "after")
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e": 1}


def test_a_sub_process_whose_branches_end_separately_completes_after_the_last() -> None:
    inner = ('<subProcess id="sub"><startEvent id="is"/>' + TWO_BRANCHES.replace(
        TERMINATE.format(id="stop"), '<endEvent id="stop"/>') + flow("b0", "is", "split")
        + "</subProcess>")
    imp, c = compiled(bpmn('<startEvent id="s"/>' + inner + user("after") + '<endEvent id="e"/>'
                           + flow("f1", "s", "sub") + flow("f2", "sub", "after")
                           + flow("f3", "after", "e")))
    assert "sub" in imp.loaded.spec.scopes and c.termination == "explicit"
    assert agree(c)["soundness"] is Verdict.PROVED
    e, _ = engine()
    case = e.start(c).id
    do(e, case, "sub__t1")
    assert open_tasks(e, case) == ["sub__t2"]
    do(e, case, "sub__t2")
    assert open_tasks(e, case) == ["after"]


def test_exporting_a_process_with_scopes_is_refused_by_name() -> None:
    from petriflow.model.bpmn.export import to_bpmn

    _, c = compiled(on_sub(MESSAGE))
    with pytest.raises(ModelError) as err:
        to_bpmn(c)
    assert err.value.problems[0].element == "p" and "scopes" in err.value.problems[0].message


def test_multi_instance_over_a_zeebe_collection_stays_refused_with_its_reason() -> None:
    text = bpmn('<startEvent id="s"/>\n<userTask id="u"><multiInstanceLoopCharacteristics>'
                '<extensionElements><zeebe:loopCharacteristics inputCollection="= items" '
                'inputElement="item"/></extensionElements></multiInstanceLoopCharacteristics>'
                '</userTask><endEvent id="e"/>' + flow("f1", "s", "u") + flow("f2", "u", "e"))
    text = text.replace('id="defs">', 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
                        'id="defs">')
    (p,) = problems(text)
    assert (p.element, p.line) == ("u", 5)
    assert "collection" in p.message and "loopCardinality" in p.message


def test_a_sub_process_without_end_events_leaves_through_a_pass_through() -> None:
    # the scope's last step moves only its token (models/SEMANTICS.md, Scopes)
    text = bpmn('<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/>' + user("t")
                + flow("i1", "is", "t") + "</subProcess>"
                + f'<boundaryEvent id="b" attachedToRef="sub">{MESSAGE}</boundaryEvent>'
                '<endEvent id="e"/><endEvent id="e2"/>' + flow("f1", "s", "sub")
                + flow("f2", "sub", "e") + flow("f3", "b", "e2"))
    imp, c = compiled(text)
    assert "sub__t__leave" in imp.loaded.spec.scopes["sub"].nodes
    assert ("sub__t__leave", "sub") in {(f.source, f.target) for f in imp.loaded.spec.flows}
    assert agree(c)["soundness"] is Verdict.PROVED


def test_a_scope_left_by_a_step_that_does_work_is_refused() -> None:
    from petriflow.model import compile_loaded, load_text

    text = """
process: p
data: {n: {type: int}}
nodes:
  s: {type: start}
  a: {type: task, kind: auto}
  b: {type: task, kind: auto, set: {n: "n + 1"}}
  x: {type: task, kind: auto}
  e: {type: end}
flows: [s -> a, a -> b, b -> x, x -> e]
scopes:
  one: {nodes: [a, b], entry: a, exit: x}
"""
    with pytest.raises(ModelError) as err:
        compile_loaded(load_text(text, "t.yaml"))
    (p,) = err.value.problems
    assert p.element == "one" and "pass-through" in p.message


def test_a_boundary_event_cannot_cut_into_an_event_sub_process_cancellation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(differential, "CAP", 20_000)  # three people's names in the data
    # an interrupting event sub-process and an interrupting boundary message of one
    # sub-process: while the first cancels the sub-process's branches, the second waits
    inner = PARALLEL.replace("</subProcess>", esp("ev", MESSAGE, "fix") + "</subProcess>")
    _, c = compiled(bpmn('<startEvent id="s"/>' + inner
                         + f'<boundaryEvent id="b" attachedToRef="sub">{MESSAGE}'
                         '</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
                         + flow("f1", "s", "sub") + flow("f2", "sub", "e")
                         + flow("f3", "b", "e2")))
    assert agree(c) == {"deadlock": Verdict.PROVED, "soundness": Verdict.PROVED,
                        "bounded": Verdict.PROVED}
    e, _ = engine()
    case = e.start(c).id
    e.deliver(case, "sub__ev__ev_s")
    rec = e.deliver(case, "b")  # the sub-process, its event sub-process included, is left
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e2": 1}
    assert not e.work_items(case)


def test_a_scope_written_in_a_process_file_runs_and_is_proved() -> None:
    from petriflow.model import compile_loaded, load_text

    text = """
process: p
termination: implicit
roles: [r]
nodes:
  s: {type: start}
  enter: {type: task, kind: auto}
  split: {type: parallel}
  a: {type: task, kind: human, role: r}
  b: {type: task, kind: human, role: r}
  meet: {type: parallel}
  sub: {type: task, kind: auto}
  stopped: {type: task, kind: auto}
  e: {type: end}
  e2: {type: end}
flows: [s -> enter, enter -> split, split -> a, split -> b, a -> meet, b -> meet, meet -> sub,
        sub -> e, stopped -> e2]
scopes:
  sub:
    nodes: [enter, split, a, b, meet]
    entry: enter
    exit: sub
    catch: [{message: stop, to: stopped}]
    timeout: {after: PT1H, to: stopped, interrupting: false}
"""
    c = compile_loaded(load_text(text, "t.yaml"))
    assert verdicts(c) == {"deadlock": Verdict.PROVED, "soundness": Verdict.PROVED,
                           "bounded": Verdict.PROVED}
    e, clock = engine()
    case = e.start(c).id
    do(e, case, "a")
    clock.advance(2 * HOUR)
    assert e.fire_timers() == 1  # the non-interrupting timer: stopped runs beside the scope
    rec = e.deliver(case, "stop")  # b is withdrawn, the scope is left
    assert rec.status is CaseStatus.COMPLETED and ends(rec) == {"end:e2": 2}
    assert not e.work_items(case)
