"""Collaborations: pools and message flows imported as one process (models/BPMN.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from petriflow.cli import run
from petriflow.errors import ModelError
from petriflow.model.bpmn import compile_import, import_definitions, read_bpmn
from petriflow.model.bpmn.termination import ending_problems
from petriflow.model.compile import compile_loaded
from tests.model.bpmn.conftest import HEAD, flow


def collaboration(buyer: str, shop: str, messages: str, ext: str = "") -> str:
    extension = f"<extensionElements>{ext}</extensionElements>" if ext else ""
    return (f'{HEAD}<collaboration id="orders">'
            '<participant id="Customer" name="Customer" processRef="buyer"/>'
            '<participant id="Shop" name="Shop" processRef="shop"/>'
            f'<participant id="Bank"/>{messages}</collaboration>\n'
            f'<process id="buyer">{extension}{buyer}</process>\n'
            f'<process id="shop">{shop}</process>\n</definitions>\n')


BUYER = ('<laneSet><lane id="l1" name="clerk"><flowNodeRef>prepare</flowNodeRef></lane>'
         '</laneSet><startEvent id="b_start"/><userTask id="prepare"/>'
         '<sendTask id="send_order"/><receiveTask id="wait_notice"/><endEvent id="b_end"/>'
         + flow("b1", "b_start", "prepare") + flow("b2", "prepare", "send_order")
         + flow("b3", "send_order", "wait_notice") + flow("b4", "wait_notice", "b_end"))
SHOP = ('<startEvent id="s_start"/><receiveTask id="get_order"/><task id="ship"/>'
        '<sendTask id="notify"/><endEvent id="s_end"/>'
        + flow("s1", "s_start", "get_order") + flow("s2", "get_order", "ship")
        + flow("s3", "ship", "notify") + flow("s4", "notify", "s_end"))
MESSAGES = ('<messageFlow id="order_msg" name="order" sourceRef="send_order" '
            'targetRef="get_order"/>'
            '<messageFlow id="ship_msg" name="shipping notice" sourceRef="notify" '
            'targetRef="wait_notice"/>')
TO_BANK = '<messageFlow id="pay" sourceRef="send_order" targetRef="Bank"/>'
# the shop replies only when the goods are in stock: otherwise the customer waits forever
SHOP_MAYBE = ('<startEvent id="s_start"/><receiveTask id="get_order"/>'
              '<exclusiveGateway id="stock" default="s_no"/><task id="ship"/>'
              '<sendTask id="notify"/><task id="cancel"/><endEvent id="s_end"/>'
              '<endEvent id="s_cancelled"/>'
              + flow("s1", "s_start", "get_order") + flow("s2", "get_order", "stock")
              + flow("s_yes", "stock", "ship", "${in_stock}") + flow("s_no", "stock", "cancel")
              + flow("s3", "ship", "notify") + flow("s4", "notify", "s_end")
              + flow("s5", "cancel", "s_cancelled"))
IN_STOCK = '<pf:field name="in_stock" type="bool" input="true"/>'


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "orders.bpmn"
    path.write_text(text)
    return str(path)


def test_two_pools_are_one_process_with_message_transitions() -> None:
    imp = read_bpmn(collaboration(BUYER, SHOP, MESSAGES + TO_BANK), "orders.bpmn")
    c = compile_import(imp)
    assert imp.processes == ["buyer", "shop"]
    assert imp.loaded.spec.process == "orders"
    transitions = {t.id for t in c.net.transitions}
    # the messages are pass-through transitions of their own
    assert {"order_msg", "ship_msg"} <= transitions
    assert {"buyer__send_order__send", "shop__get_order__receive",
            "buyer__wait_notice__receive", "case_start", "case_end"} <= transitions
    nodes = imp.loaded.spec.nodes
    assert nodes["buyer__prepare"].role == "clerk"  # type: ignore[union-attr]
    # the message waits beside the receiver's own flow
    places = {p.id for p in c.net.places}
    assert {"flow:order_msg->shop__get_order__receive",
            "flow:shop__s_start->shop__get_order__receive"} <= places
    # the message flow to the black-box pool is ignored with a warning
    assert [w.element for w in imp.warnings] == ["pay"]
    assert imp.mapping.node_of["ship_msg"] == "ship_msg"
    assert imp.mapping.tag_of["ship_msg"] == "messageFlow"


def test_check_gives_a_verdict(tmp_path: Path) -> None:
    path = _write(tmp_path, collaboration(BUYER, SHOP, MESSAGES))
    assert run(["check", "--timeout", "10", path]) == 0
    assert run(["check", "--timeout", "10", path + "#buyer"]) == 0  # its collaboration
    assert run(["check", "--timeout", "10", path + "#orders"]) == 0


def test_missing_reply_is_a_deadlock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, collaboration(BUYER, SHOP_MAYBE, MESSAGES, IN_STOCK))
    assert run(["check", "--timeout", "10", path]) == 1
    assert "deadlock" in capsys.readouterr().out.lower()


def test_message_start_event_starts_its_pool() -> None:
    shop = ('<startEvent id="s_start"><messageEventDefinition/></startEvent><task id="ship"/>'
            '<endEvent id="s_end"/>' + flow("s1", "s_start", "ship") + flow("s2", "ship", "s_end"))
    buyer = ('<startEvent id="b_start"/><sendTask id="send_order"/><endEvent id="b_end"/>'
             + flow("b1", "b_start", "send_order") + flow("b2", "send_order", "b_end"))
    msg = '<messageFlow id="order_msg" sourceRef="send_order" targetRef="s_start"/>'
    imp = read_bpmn(collaboration(buyer, shop, msg), "orders.bpmn")
    c = compile_import(imp)
    flows = {(f.source, f.target) for f in imp.loaded.spec.flows}
    assert ("case_start", "buyer__b_start") in flows  # only the buyer starts with the case
    assert ("order_msg", "shop__s_start") in flows
    assert "start__pools" not in imp.loaded.spec.nodes
    assert "order_msg" in {t.id for t in c.net.transitions}


def test_several_messages_to_one_receiver_are_merged() -> None:
    buyer = ('<startEvent id="b_start"/><exclusiveGateway id="g" default="b_no"/>'
             '<sendTask id="accept"/><sendTask id="reject"/><exclusiveGateway id="m"/>'
             '<endEvent id="b_end"/>' + flow("b1", "b_start", "g")
             + flow("b_yes", "g", "accept", "${ok}") + flow("b_no", "g", "reject")
             + flow("b2", "accept", "m") + flow("b3", "reject", "m") + flow("b4", "m", "b_end"))
    shop = ('<startEvent id="s_start"/><receiveTask id="answer"/><endEvent id="s_end"/>'
            + flow("s1", "s_start", "answer") + flow("s2", "answer", "s_end"))
    msgs = ('<messageFlow id="yes" sourceRef="accept" targetRef="answer"/>'
            '<messageFlow id="no" sourceRef="reject" targetRef="answer"/>')
    imp = read_bpmn(collaboration(buyer, shop, msgs,
                                  '<pf:field name="ok" type="bool" input="true"/>'), "x.bpmn")
    compile_import(imp)
    nodes = imp.loaded.spec.nodes
    assert nodes["shop__answer__messages"].type == "exclusive"  # type: ignore[union-attr]


def test_a_pool_ending_before_its_message_is_received_is_reported() -> None:
    # the shop's message may arrive after the customer has ended: never received
    buyer = ('<startEvent id="b_start"/><exclusiveGateway id="g" default="b_no"/>'
             '<receiveTask id="wait"/><exclusiveGateway id="m"/><endEvent id="b_end"/>'
             + flow("b1", "b_start", "g") + flow("b_yes", "g", "wait", "${ok}")
             + flow("b_no", "g", "m") + flow("b2", "wait", "m") + flow("b3", "m", "b_end"))
    shop = ('<startEvent id="s_start"/><sendTask id="notify"/><endEvent id="s_end"/>'
            + flow("s1", "s_start", "notify") + flow("s2", "notify", "s_end"))
    msg = '<messageFlow id="note" sourceRef="notify" targetRef="wait"/>'
    with pytest.raises(ModelError) as err:
        compile_import(read_bpmn(collaboration(buyer, shop, msg,
                                               '<pf:field name="ok" type="bool" input="true"/>'),
                                 "x.bpmn"))
    # (the pools may end on their own, implicit termination, but then the message
    # would be left over: BPMN drops it, a case cannot)
    assert any("message" in p.message and p.element == "note"
               for p in err.value.problems), [str(p) for p in err.value.problems]


def test_a_pool_whose_branches_end_on_their_own_imports_with_implicit_termination(
        tmp_path: Path) -> None:
    # the shop ships and, in parallel, files the order: two ends of its own
    shop = ('<startEvent id="s_start"/><receiveTask id="get_order"/><parallelGateway id="par"/>'
            '<task id="ship"/><sendTask id="notify"/><task id="file"/><endEvent id="s_end"/>'
            '<endEvent id="s_filed"/>'
            + flow("s1", "s_start", "get_order") + flow("s2", "get_order", "par")
            + flow("s3", "par", "ship") + flow("s4", "ship", "notify")
            + flow("s5", "notify", "s_end") + flow("s6", "par", "file")
            + flow("s7", "file", "s_filed"))
    text = collaboration(BUYER, shop, MESSAGES)
    imp = read_bpmn(text, "orders.bpmn")
    c = compile_import(imp)
    assert c.termination == "implicit" and imp.mapping.implicit
    nodes = imp.loaded.spec.nodes
    assert nodes["buyer"].type == "end" and nodes["shop"].type == "end"
    assert "end__pools" not in nodes and "case_end" not in nodes
    assert any("termination: implicit" in w.message for w in imp.warnings)
    assert run(["check", _write(tmp_path, text)]) == 0
    # without the pools ending on their own it could not be imported: the explicit
    # import (joined end) sees the shop's end reached while the other branch still runs
    explicit = import_definitions(imp.source[0], None)  # type: ignore[index]
    assert not explicit.mapping.implicit
    problems = ending_problems(compile_loaded(explicit.loaded), explicit.mapping, None, {})
    assert problems and any(p.element == "s_end" for p in problems)
