"""Hand-written BPMN models: each construct maps as models/BPMN.md says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petriflow.cli import run
from petriflow.errors import ModelError
from petriflow.model.bpmn import compile_import, read_bpmn
from petriflow.model.spec import GatewaySpec, TaskSpec
from tests.model.bpmn.conftest import bpmn, flow

AMOUNT = ('<pf:field name="amount" type="decimal" input="true"/>'
          '<pf:field name="risk" type="str" input="true"/>')


def compiled(text: str, process: str | None = None) -> tuple[Any, Any]:
    imp = read_bpmn(text, "test.bpmn", process)
    return imp, compile_import(imp)


def problems(text: str) -> list:
    with pytest.raises(ModelError) as err:
        compiled(text)
    return list(err.value.problems)


def test_sequence_of_tasks_kinds() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><userTask id="u"/><serviceTask id="api"/><scriptTask id="sc"/>'
        '<receiveTask id="r"/><manualTask id="m"/><endEvent id="e"/>'
        + flow("f1", "s", "u") + flow("f2", "u", "api") + flow("f3", "api", "sc")
        + flow("f4", "sc", "r") + flow("f5", "r", "m") + flow("f6", "m", "e")))
    kinds = {n: s.kind.value for n, s in imp.loaded.spec.nodes.items() if isinstance(s, TaskSpec)}
    assert kinds == {"u": "human", "api": "api", "sc": "auto", "r": "receive", "m": "human"}
    assert imp.loaded.spec.roles == ("user",)
    assert {"u:offer", "u:complete", "api:complete", "sc", "r:complete"} <= {
        t.id for t in c.net.transitions}


def test_exclusive_gateway_feel_and_default() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><exclusiveGateway id="g" default="fd"/>'
        '<task id="a"/><task id="b"/><endEvent id="e"/>'
        + flow("f1", "s", "g") + flow("fa", "g", "a", '= amount &gt; 10000 and risk = "high"')
        + flow("fd", "g", "b") + flow("f2", "a", "e") + flow("f3", "b", "e"), ext=AMOUNT))
    flows = {f.target: f for f in imp.loaded.spec.flows if f.source == "g"}
    assert flows["a"].when == "amount > 10000 and risk == 'high'"
    assert flows["b"].default is True
    assert {"g@a", "g@b"} <= {t.id for t in c.net.transitions}
    assert imp.warnings == []


def test_juel_and_inferred_fields_warn() -> None:
    imp, _ = compiled(bpmn(
        '<startEvent id="s"/><exclusiveGateway id="g"/><task id="a"/><task id="b"/>'
        '<endEvent id="e"/>' + flow("f1", "s", "g")
        + flow("fa", "g", "a", "${approved &amp;&amp; kind == 'x'}")
        + flow("fb", "g", "b", "${!approved || kind != 'x'}")
        + flow("f2", "a", "e") + flow("f3", "b", "e")))
    data = imp.loaded.spec.data
    assert data["approved"].type == "bool" and data["approved"].input
    assert data["kind"].type == "str"
    assert {w.element for w in imp.warnings} == {"fa"}


def test_parallel_gateway() -> None:
    _, c = compiled(bpmn(
        '<startEvent id="s"/><parallelGateway id="split"/><task id="a"/><task id="b"/>'
        '<parallelGateway id="join"/><endEvent id="e"/>' + flow("f1", "s", "split")
        + flow("f2", "split", "a") + flow("f3", "split", "b") + flow("f4", "a", "join")
        + flow("f5", "b", "join") + flow("f6", "join", "e")))
    assert {"flow:a->join", "flow:b->join"} <= {p.id for p in c.net.places}


def test_inclusive_split_and_join_are_paired() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><inclusiveGateway id="split" default="fc"/><task id="a"/>'
        '<task id="b"/><task id="c"/><inclusiveGateway id="join"/><endEvent id="e"/>'
        + flow("f1", "s", "split") + flow("fa", "split", "a", "= amount &gt; 10")
        + flow("fb", "split", "b", '= risk = "high"') + flow("fc", "split", "c")
        + flow("f4", "a", "join") + flow("f5", "b", "join") + flow("f6", "c", "join")
        + flow("f7", "join", "e"), ext=AMOUNT))
    join = imp.loaded.spec.nodes["join"]
    assert isinstance(join, GatewaySpec) and join.pairs == "split"
    ids = {t.id for t in c.net.transitions}
    assert {"split{a}", "split{a+b}", "split{c}", "join{a+b}", "join{c}"} <= ids


def test_unstructured_inclusive_join_is_reported() -> None:
    ps = problems(bpmn(
        '<startEvent id="s"/><parallelGateway id="par"/><inclusiveGateway id="join"/>'
        '<endEvent id="e"/>' + flow("f1", "s", "par") + flow("f2", "par", "join")
        + flow("f3", "par", "join") + flow("f4", "join", "e")))
    assert any(p.element == "join" and "inclusive" in p.message for p in ps)


def test_loop_and_lanes_as_roles() -> None:
    text = bpmn(
        '<laneSet id="ls"><lane id="l1" name="Clerk"><flowNodeRef>work</flowNodeRef></lane>'
        '<lane id="l2" name="Team Lead"><flowNodeRef>review</flowNodeRef></lane></laneSet>'
        '<startEvent id="s"/><exclusiveGateway id="merge"/>'
        '<userTask id="work"><extensionElements><pf:task writes="ok"/></extensionElements>'
        '</userTask><userTask id="review"/><exclusiveGateway id="g" default="back"/>'
        '<endEvent id="e"/>' + flow("f1", "s", "merge") + flow("f2", "merge", "work")
        + flow("f3", "work", "review") + flow("f4", "review", "g")
        + flow("done", "g", "e", "ok") + flow("back", "g", "merge"),
        ext='<pf:field name="ok" type="bool"/>')
    imp, _ = compiled(text)
    spec = imp.loaded.spec
    assert spec.roles == ("Clerk", "Team_Lead")
    assert spec.nodes["work"].role == "Clerk" and spec.nodes["review"].role == "Team_Lead"
    assert spec.nodes["work"].writes == ("ok",)
    assert run(["check", "--timeout", "10", _write(text)]) in (0, 1, 3)


def _write(text: str, name: str = "model.bpmn") -> str:
    import tempfile

    d = Path(tempfile.mkdtemp())
    (d / name).write_text(text)
    return str(d / name)


def test_boundary_timer_and_error() -> None:
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><userTask id="approve"/>'
        '<boundaryEvent id="late" attachedToRef="approve"><timerEventDefinition>'
        '<timeDuration>P3D</timeDuration></timerEventDefinition></boundaryEvent>'
        '<serviceTask id="pay"/><boundaryEvent id="failed" attachedToRef="pay">'
        '<errorEventDefinition/></boundaryEvent>'
        '<endEvent id="e"/><endEvent id="e2"/><endEvent id="e3"/>'
        + flow("f1", "s", "approve") + flow("f2", "approve", "pay") + flow("f3", "pay", "e")
        + flow("f4", "late", "e2") + flow("f5", "failed", "e3")))
    spec = imp.loaded.spec
    assert spec.nodes["approve"].timeout.to == "late"
    assert spec.nodes["approve"].timeout.after == "P3D"
    assert spec.nodes["pay"].on_error == "failed"
    ids = {t.id for t in c.net.transitions}
    assert {"approve:timeout", "pay:error"} <= ids


def test_embedded_subprocess_is_flattened() -> None:
    imp, _ = compiled(bpmn(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/><task id="t"/>'
        '<endEvent id="ie"/>' + flow("g1", "is", "t") + flow("g2", "t", "ie")
        + '</subProcess><endEvent id="e"/>' + flow("f1", "s", "sub") + flow("f2", "sub", "e")))
    nodes = imp.loaded.spec.nodes
    assert {"sub__is", "sub__t", "sub__ie", "sub"} <= set(nodes)
    assert imp.mapping.flows["f1"] == ("s", "sub__is")
    assert imp.mapping.flow_nodes == 6 and imp.mapping.sequence_flows == 4


def test_call_activity_in_same_file() -> None:
    text = bpmn('<startEvent id="s"/><callActivity id="call" calledElement="q"/>'
                '<endEvent id="e"/>' + flow("f1", "s", "call") + flow("f2", "call", "e"))
    text = text.replace("</definitions>", '<process id="q"><startEvent id="qs"/>'
                        '<task id="qt"/><endEvent id="qe"/>' + flow("q1", "qs", "qt")
                        + flow("q2", "qt", "qe") + "</process></definitions>")
    imp, _ = compiled(text)
    assert imp.process_id == "p"
    assert "call__qt" in imp.loaded.spec.nodes


FORK_TO_TWO_ENDS = (
    '<startEvent id="s"/><parallelGateway id="split"/><task id="a"/><task id="b"/>'
    '<endEvent id="e1"/><endEvent id="e2"/>' + flow("f1", "s", "split")
    + flow("f2", "split", "a") + flow("f3", "split", "b") + flow("f4", "a", "e1")
    + flow("f5", "b", "e2"))


def test_implicit_termination_imports_as_termination_implicit() -> None:
    from petriflow.model.bpmn.export import to_bpmn

    text = bpmn(FORK_TO_TWO_ENDS)
    imp, c = compiled(text)
    assert c.termination == "implicit" and imp.loaded.spec.termination == "implicit"
    assert [w for w in imp.warnings if "termination: implicit" in w.message]
    assert c.fingerprint != c.net.fingerprint  # the mode is part of the fingerprint
    assert run(["check", _write(text)]) == 0   # proved: both branches end, and so does the case
    back = read_bpmn(to_bpmn(c), "back.bpmn")  # the export says so: same fingerprint
    assert back.loaded.spec.termination == "implicit"
    assert compile_import(back).fingerprint == c.fingerprint


def test_a_terminate_end_meeting_another_branch_withdraws_it() -> None:
    # (behaviour: tests/model/bpmn/test_bpmn_event_subprocess.py)
    imp, _c = compiled(bpmn(FORK_TO_TWO_ENDS.replace(
        '<endEvent id="e1"/>', '<endEvent id="e1"><terminateEventDefinition/></endEvent>')))
    (scope,) = imp.loaded.spec.scopes.values()
    assert scope.exit is None and scope.cancel == ("e1",)
    assert run(["check", _write(bpmn(FORK_TO_TWO_ENDS.replace(
        '<endEvent id="e1"/>', '<endEvent id="e1"><terminateEventDefinition/></endEvent>')))]) == 0


def test_implicit_termination_inside_a_sub_process_makes_it_a_scope() -> None:
    # BPMN leaves the sub-process once, when both branches have ended: a scope does
    imp, c = compiled(bpmn(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="is"/>'
        + FORK_TO_TWO_ENDS.replace('<startEvent id="s"/>', '').replace('"s"', '"is"')
        + '</subProcess><endEvent id="e"/>' + flow("g1", "s", "sub") + flow("g2", "sub", "e")))
    scope = imp.loaded.spec.scopes["sub"]
    assert (scope.entry, scope.exit, scope.cancel) == ("sub__is", "sub", ())
    assert c.termination == "explicit"


def test_unsupported_elements_are_listed_with_id_tag_and_line() -> None:
    text = bpmn(
        '<startEvent id="s"/>\n<complexGateway id="ebg"/>\n'
        '<intermediateCatchEvent id="wait"><timerEventDefinition/></intermediateCatchEvent>\n'
        '<task id="a"/><endEvent id="e"/><textAnnotation id="note"/>'
        + flow("f1", "s", "ebg") + flow("f2", "ebg", "wait") + flow("f3", "wait", "a")
        + flow("f4", "a", "e"))
    ps = problems(text)
    found = {(p.element, p.line) for p in ps}
    assert ("ebg", 5) in found and ("wait", 6) in found
    assert any(p.message.startswith("complexGateway 'ebg'") for p in ps)
    assert any("timeDuration" in p.message for p in ps if p.element == "wait")
    assert all(p.element != "note" for p in ps)
    assert run(["compile", _write(text)]) == 2


def test_message_flows_to_a_pool_boundary_are_ignored() -> None:
    text = bpmn('<startEvent id="s"/><sendTask id="send"/><endEvent id="e"/>'
                + flow("f1", "s", "send") + flow("f2", "send", "e"))
    text = text.replace('<process', '<collaboration id="c"><participant id="A" processRef="p"/>'
                        '<participant id="B"/><messageFlow id="mf" sourceRef="send" '
                        'targetRef="B"/></collaboration><process', 1)
    imp, _ = compiled(text)  # to a black-box pool: ignored, with a warning
    assert [w.element for w in imp.warnings] == ["mf"]
    assert imp.processes == ["p"]


def test_hostile_xml_is_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;'
            '</definitions>')
    with pytest.raises(ModelError, match="refused"):
        read_bpmn(bomb, "bomb.bpmn")
    assert run(["compile", _write(bomb)]) == 2
    with pytest.raises(ModelError, match="not a BPMN"):
        read_bpmn("<x/>", "x.bpmn")
    with pytest.raises(ModelError, match="well-formed"):
        read_bpmn("<definitions", "x.bpmn")


def test_cli_compiles_bpmn(capsys: pytest.CaptureFixture[str]) -> None:
    text = bpmn('<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>'
                + flow("f1", "s", "u") + flow("f2", "u", "e"))
    path = _write(text)
    assert run(["compile", path]) == 0
    assert '"u:offer"' in capsys.readouterr().out
    assert run(["check", "--timeout", "10", path]) == 0
    assert run(["compile", path + "#p"]) == 0
    assert run(["compile", path + "#nope"]) == 2


def test_every_flow_between_scopes_is_named_with_where_its_ends_are() -> None:
    """Flows written outside the scope of their nodes (as some tools do): each one is
    reported (not only the first), saying where its ends and the flow itself are."""
    text = bpmn('<startEvent id="s"/><subProcess id="sp"><startEvent id="s2"/><task id="t2"/>'
                '<endEvent id="e2"/>' + flow("f3", "t2", "e2") + '</subProcess><endEvent '
                'id="e"/>' + flow("f1", "s", "sp") + flow("f2", "sp", "e")
                + flow("x1", "s2", "t2") + flow("x2", "s", "t2"))
    found = [p for p in problems(text) if "different scopes" in p.message]
    assert [p.element for p in found] == ["x1", "x2"]
    assert "its source 's2' is in subProcess 'sp'" in found[0].message
    assert "its source 's' is in process 'p', its target 't2' is in subProcess 'sp'; the " \
        "flow is in process 'p'" in found[1].message


def _parallel(branches: int, length: int, own_end: bool = False) -> str:
    body = '<startEvent id="s"/><parallelGateway id="fork"/><parallelGateway id="join"/>' \
           '<endEvent id="e"/>' + flow("f0", "s", "fork") + flow("f1", "join", "e")
    for b in range(branches):
        prev = "fork"
        for k in range(length):
            body += f'<task id="t{b}_{k}"/>' + flow(f"f{b}_{k}", prev, f"t{b}_{k}")
            prev = f"t{b}_{k}"
        if own_end and b == 0:
            body += '<endEvent id="early"/>' + flow("fe", prev, "early")
        else:
            body += flow(f"f{b}_end", prev, "join")
    return bpmn(body)


def test_many_parallel_branches_of_several_tasks_are_imported() -> None:
    """Eight branches of three tasks: 65,536 control states before the ending check fuses
    each branch's places in series (it refused the process at its 50,000-state cap)."""
    _, c = compiled(_parallel(8, 3))
    assert not c.implicit
    assert {f"t{b}_{k}" for b in range(8) for k in range(3)} <= set(c.spec.nodes)


def test_fusing_places_keeps_an_end_reached_while_branches_run() -> None:
    """A branch that runs into its own end while the others still run: BPMN's implicit
    termination, found through the fused skeleton as before."""
    imp, c = compiled(_parallel(6, 3, own_end=True))
    assert c.implicit
    assert any("termination: implicit" in w.message for w in imp.warnings)


def test_a_call_activity_that_calls_nothing_is_an_activity_with_no_content() -> None:
    """Some tools export a collapsed sub-process as a callActivity without calledElement:
    read as <task> (said in a warning); an expression target is still refused."""
    body = '<startEvent id="s"/><callActivity id="c"/><endEvent id="e"/>'
    imp, c = compiled(bpmn(body + flow("f1", "s", "c") + flow("f2", "c", "e")))
    _, task = compiled(bpmn(body.replace('<callActivity id="c"/>', '<task id="c"/>')
                            + flow("f1", "s", "c") + flow("f2", "c", "e")))
    assert c.fingerprint == task.fingerprint
    assert any(w.element == "c" and "names no calledElement" in w.message
               for w in imp.warnings)
    dynamic = body.replace('<callActivity id="c"/>', '<callActivity id="c" '
                           'calledElement="${which}"/>')
    [p] = problems(bpmn(dynamic + flow("f1", "s", "c") + flow("f2", "c", "e")))
    assert p.element == "c" and "needs a calledElement naming a process" in p.message
