"""Exclusive gateways without conditions (descriptive diagrams) read as a decision someone
makes (``model/bpmn/decisions.py``): compiled, checked against brute force, run by the
engine; what stays refused is named."""

from __future__ import annotations

from typing import Any

from petriflow.store.base import CaseStatus
from tests.model.bpmn.conftest import bpmn, compiled, flow, problems
from tests.model.bpmn.test_bpmn_event_subprocess import agree, engine

CHOICE = (
    '<startEvent id="s"/><userTask id="check" name="Check invoice"/>'
    '<exclusiveGateway id="ok" name="Invoice correct?"/>'
    '<userTask id="pay"/><userTask id="reject"/><endEvent id="paid"/><endEvent id="rejected"/>'
    + flow("f1", "s", "check") + flow("f2", "check", "ok")
    + '<sequenceFlow id="yes" name="yes" sourceRef="ok" targetRef="pay"/>'
    + '<sequenceFlow id="no" name="no" sourceRef="ok" targetRef="reject"/>'
    + flow("f3", "pay", "paid") + flow("f4", "reject", "rejected"))


def test_a_gateway_without_conditions_is_a_decision_in_its_lane() -> None:
    lanes = ('<laneSet id="ls"><lane id="l1" name="Accounting"><flowNodeRef>ok</flowNodeRef>'
             '</lane></laneSet>')
    imp, c = compiled(bpmn(lanes + CHOICE))
    decide = imp.loaded.spec.nodes["ok__decide"]
    assert (decide.kind.value, decide.role) == ("human", "Accounting")
    assert imp.loaded.spec.data["choice__ok"].values == ("yes", "no")
    [warning] = [w for w in imp.warnings if w.element == "ok"]
    assert "no conditions" in warning.message and "ok__decide" in warning.message
    assert agree(c)["soundness"].value == "proved"


def _run(c: Any, choice: str) -> tuple[str, list[str]]:
    e, _ = engine()
    case = e.start(c, {})
    done: list[str] = []
    while case.status not in (CaseStatus.COMPLETED, CaseStatus.FAILED) and len(done) < 10:
        [item] = e.work_items(case.id)
        answer = {"choice__ok": choice} if item.task == "ok__decide" else {}
        case = e.complete(item.id, "kim", answer)
        done.append(item.task)
    return case.status.value, done


def test_the_engine_offers_the_decision_and_follows_it() -> None:
    _, c = compiled(bpmn(CHOICE))
    assert _run(c, "yes") == ("completed", ["check", "ok__decide", "pay"])
    assert _run(c, "no") == ("completed", ["check", "ok__decide", "reject"])


def test_a_decision_in_a_loop_is_made_again_at_every_visit() -> None:
    body = ('<startEvent id="s"/><userTask id="draft"/><exclusiveGateway id="good"/>'
            '<endEvent id="e"/>'
            + flow("f1", "s", "draft") + flow("f2", "draft", "good")
            + flow("again", "good", "draft") + flow("done", "good", "e"))
    imp, c = compiled(bpmn(body))
    assert imp.loaded.spec.data["choice__good"].values == ("again", "done")
    # an input decided once would loop for ever; a decision per visit can always leave
    assert agree(c)["soundness"].value == "proved"


def test_flows_without_names_or_ids_get_distinct_values() -> None:
    body = ('<startEvent id="s"/><exclusiveGateway id="g"/><task id="a"/><task id="b"/>'
            '<endEvent id="e"/><exclusiveGateway id="m"/>'
            + flow("f1", "s", "g") + '<sequenceFlow id="x1" name="same" sourceRef="g" '
            'targetRef="a"/><sequenceFlow id="x2" name="same" sourceRef="g" targetRef="b"/>'
            + flow("f2", "a", "m") + flow("f3", "b", "m") + flow("f4", "m", "e"))
    imp, _ = compiled(bpmn(body))
    assert imp.loaded.spec.data["choice__g"].values == ("same", "same_2")


def test_a_gateway_with_some_conditions_is_still_refused() -> None:
    body = ('<startEvent id="s"/><exclusiveGateway id="g"/><task id="a"/><task id="b"/>'
            '<endEvent id="e1"/><endEvent id="e2"/>'
            + flow("f1", "s", "g") + flow("c1", "g", "a", "amount &gt; 5")
            + flow("c2", "g", "b") + flow("f2", "a", "e1") + flow("f3", "b", "e2"))
    [p] = [p for p in problems(bpmn(body, ext='<pf:field name="amount" type="int" '
                                               'input="true"/>'))]
    assert p.element == "c2" and "without a condition" in p.message


def test_an_empty_condition_on_a_task_flow_is_refused_not_taken_always() -> None:
    body = ('<startEvent id="s"/><task id="t" default="d"/><task id="a"/><endEvent id="e1"/>'
            '<endEvent id="e2"/>'
            + flow("f1", "s", "t") + flow("d", "t", "a") + flow("f2", "a", "e1")
            + '<sequenceFlow id="blank" sourceRef="t" targetRef="e2">'
            '<conditionExpression xsi:type="tFormalExpression"/></sequenceFlow>')
    ps = problems(bpmn(body))
    assert any(p.element == "blank" and "empty conditionExpression" in p.message for p in ps)


def test_an_empty_condition_on_the_only_flow_out_of_a_task_is_taken_always() -> None:
    """Some tools (Bonita) write an empty conditionExpression on every flow: on the one
    way out of a task it can only mean "always" (a false one would leave the token stuck)."""
    body = ('<startEvent id="s"/><task id="t"/><endEvent id="e"/>' + flow("f1", "s", "t")
            + '<sequenceFlow id="only" sourceRef="t" targetRef="e">'
            '<conditionExpression xsi:type="tFormalExpression"></conditionExpression>'
            '</sequenceFlow>')
    imp, c = compiled(bpmn(body))
    _, p = compiled(bpmn('<startEvent id="s"/><task id="t"/><endEvent id="e"/>'
                         + flow("f1", "s", "t") + flow("only", "t", "e")))
    assert c.fingerprint == p.fingerprint
    assert any(w.element == "only" and "read as always taken" in w.message
               for w in imp.warnings)


def test_long_generated_ids_stay_within_the_id_limit() -> None:
    gid = "_" + "7" * 95
    body = CHOICE.replace('"ok"', f'"{gid}"')
    imp, c = compiled(bpmn(body))
    assert all(len(n) <= 100 for n in imp.loaded.spec.nodes)
    assert all(len(f) <= 100 and not f.startswith("_") for f in imp.loaded.spec.data)
    assert agree(c)["deadlock"].value == "proved"


def test_a_descriptive_diagram_runs_to_its_ends_with_no_scenario(tmp_path, capsys) -> None:
    import json

    from petriflow.cli import run

    path = tmp_path / "sketch.bpmn"
    path.write_text(bpmn(CHOICE))
    assert run(["run", str(path), "--cases", "5", "--memory", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["completed"] == 5, "two simulated people per role do the work and decide"


def _simulated(tmp_path: Any, capsys: Any, body: str, cases: int) -> dict[str, Any]:
    import json

    from petriflow.cli import run

    path = tmp_path / "sketch.bpmn"
    path.write_text(bpmn(body))
    assert run(["run", str(path), "--cases", str(cases), "--memory", "--format", "json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_simulated_people_take_every_branch_of_a_decision(tmp_path, capsys) -> None:
    out = _simulated(tmp_path, capsys, CHOICE, 40)
    assert out["completed"] == 40
    assert len(out["outcomes"]) == 2 and min(out["outcomes"].values()) > 0, out["outcomes"]


def test_a_simulated_decision_in_a_loop_leaves_it(tmp_path, capsys) -> None:
    # 'again' is the first value: a person who always answered it would never finish
    body = ('<startEvent id="s"/><userTask id="draft"/><exclusiveGateway id="good"/>'
            '<endEvent id="e"/>'
            + flow("f1", "s", "draft") + flow("f2", "draft", "good")
            + flow("again", "good", "draft") + flow("done", "good", "e"))
    out = _simulated(tmp_path, capsys, body, 20)
    assert out["completed"] == 20
    assert out["tasks"] > 2 * 20, "some drafts were made again"
