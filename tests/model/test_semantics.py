"""Each construct of models/SEMANTICS.md, compiled and fired with the kernel.

Every test builds a small process (YAML text or the Python builder), compiles it, and
fires the compiled net with :func:`petriflow.net.firing.fire`, asserting what the page
says the construct does. Nothing here re-implements the firing rule.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from petriflow.errors import ColorError, ModelError, NotEnabledError
from petriflow.governance.participants import ParticipantKind, Role
from petriflow.governance.policies import Precedence, SegregationOfDuties
from petriflow.model import Process, compile_file, load_text
from petriflow.model.compile import compile_loaded
from petriflow.net.colors import EnumColor, IntColor, StrColor
from petriflow.net.expr import Var, unparse
from petriflow.net.firing import bindings, enabled_transitions, fire, is_enabled
from petriflow.net.structure import ArcKind
from tests.model.helpers import Case, compile_text

# -- one case is one marking -----------------------------------------------------------------

START = """
process: start_demo
data:
  name: {type: str, input: true}
  level: {type: enum, values: [low, mid, high], input: true}
  who: {type: actor, input: true}
  count: {type: int}
  limit: {type: int, default: 7}
  price: {type: decimal}
  ok: {type: bool}
  note: {type: str}
  tier: {type: enum, values: [bronze, silver, gold]}
  picked: {type: enum, values: [a, b], default: b}
  owner: {type: actor}
roles: [clerk]
agents: [{id: helper}]
nodes:
  s: {type: start}
  h: {type: task, kind: human, role: clerk}
  g: {type: task, kind: agent, agent: helper}
  b: {type: task, kind: bot}
  e: {type: end}
flows: [s -> h, h -> g, g -> b, b -> e]
"""


def test_initial_marking_is_one_token_on_source() -> None:
    c = compile_text(START)
    m = c.net.initial_marking
    assert dict(m.counts()) == {"source": 1}
    assert c.start_transition() == "s"


def test_start_binds_inputs_and_defaults() -> None:
    c = compile_text(START)
    case = Case(c)
    case.start(name="n1", level="mid", who="sam")
    d = case.data
    assert (d["name"], d["level"], d["who"]) == ("n1", "mid", "sam")
    # every other field: its default, or its type's zero
    assert d["count"] == 0
    assert d["limit"] == 7
    assert d["price"] == Decimal(0)
    assert d["ok"] is False
    assert d["note"] == ""
    assert d["tier"] == "bronze"  # the first enum value
    assert d["picked"] == "b"
    assert d["owner"] == ""  # a non-input actor is nobody yet
    # by_<task> for every human or agent task, and only for those
    assert d["by_h"] == "" and d["by_g"] == ""
    assert "by_b" not in d
    assert set(d) == {"name", "level", "who", "count", "limit", "price", "ok", "note", "tier",
                      "picked", "owner", "by_h", "by_g"}
    assert case.control() == {"h:in": 1}


def test_start_has_one_free_variable_per_input_typed_by_the_field() -> None:
    c = compile_text(START)
    variables = dict(c.net.transition("s").variables)
    assert set(variables) == {"_o_name", "_o_level", "_o_who"}
    assert variables["_o_name"] == StrColor()
    assert isinstance(variables["_o_level"], EnumColor)
    assert variables["_o_level"].values == ("low", "mid", "high")
    assert not variables["_o_who"].contains("")  # actor inputs are non-empty
    assert c.inputs == ("name", "level", "who")


def test_start_refuses_an_empty_actor_input() -> None:
    c = compile_text(START)
    case = Case(c)
    assert not case.can("s", _o_name="n", _o_level="low", _o_who="")
    with pytest.raises((ColorError, NotEnabledError)):
        case.start(name="n", level="low", who="")
    assert case.marking == c.net.initial_marking


def test_start_refuses_a_value_outside_an_input_type() -> None:
    case = Case(compile_text(START))
    assert not case.can("s", _o_name="n", _o_level="extreme", _o_who="sam")


def test_start_with_finite_inputs_enumerates_them() -> None:
    c = compile_text("""
process: finite_inputs
data:
  flag: {type: bool, input: true}
  size: {type: enum, values: [s, m, l], input: true}
nodes: {s: {type: start}, e: {type: end}}
flows: [s -> e]
""")
    found = list(bindings(c.net, c.net.initial_marking, "s"))
    assert len(found) == 6
    assert {(b["_o_flag"], b["_o_size"]) for b in found} == set(
        itertools.product([False, True], ["s", "m", "l"]))


def test_start_with_several_outgoing_flows_marks_each_target() -> None:
    p = Process("fan_out")
    a = p.task("a", kind="bot")
    b = p.task("b", kind="bot")
    j = p.parallel("j", after=[a, b])
    p.end(after=j)
    case = Case(p.compile())
    case.start()
    assert case.control() == {"a:in": 1, "b:in": 1}
    case.do("a")
    case.do("b")
    case.fire("j")
    case.fire("end")
    assert case.ended_at() == "end"


def test_the_data_record_is_consumed_and_produced_again() -> None:
    c = compile_text(START)
    net = c.net
    for t in net.transitions:
        ins = [a for a in net.inputs[t.id] if a.place == "data"]
        outs = [a for a in net.outputs[t.id] if a.place == "data"]
        if t.id == "s":
            assert not ins and len(outs) == 1
            continue
        assert len(ins) == len(outs) <= 1, t.id
        if ins:
            assert ins[0].inscription == Var("_d")


# -- end event -------------------------------------------------------------------------------


def test_end_event_collects_every_flow_in_one_place_and_finishes() -> None:
    c = compile_text("""
process: two_ways
data: {go_left: {type: bool, input: true}}
nodes:
  s: {type: start}
  g: {type: exclusive}
  left: {type: task, kind: bot}
  right: {type: task, kind: bot}
  e: {type: end}
flows:
  - s -> g
  - {from: g, to: left, when: go_left}
  - {from: g, to: right, default: true}
  - left -> e
  - right -> e
""")
    assert c.final_places == ("end:e",)
    assert c.net.preset("e") == {"e:in"} and c.net.postset("e") == {"end:e"}
    for go_left, task in ((True, "left"), (False, "right")):
        case = Case(c)
        case.start(go_left=go_left)
        case.fire(f"g@{task}")
        case.do(task)
        assert case.control() == {"e:in": 1}
        case.fire("e")
        assert case.control() == {"end:e": 1}
        assert case.is_final() and case.ended_at() == "e"
        assert case.token_enabled() == []


# -- automatic task --------------------------------------------------------------------------

AUTO = """
process: auto_demo
data:
  x: {type: int, input: true}
  y: {type: int}
nodes:
  s: {type: start}
  t: {type: task, kind: auto, set: {x: "x + 1", y: "x * 10"}, check: "CHECK"}
  e: {type: end}
flows: [s -> t, t -> e]
"""


def test_auto_task_set_reads_the_data_before_the_task() -> None:
    case = Case(compile_text(AUTO.replace("CHECK", "True")))
    case.start(x=5)
    case.fire("t")
    assert (case.data["x"], case.data["y"]) == (6, 50)  # y from the old x
    assert case.control() == {"e:in": 1}


@pytest.mark.parametrize(("check", "x", "fires"), [
    ("x > 5", 5, True),    # old x (5) fails, new x (6) holds: fires
    ("x > 5", 4, False),   # new x is 5
    ("x < 6", 5, False),   # old x (5) holds, new x (6) fails: does not fire
    ("x < 6", 4, True),
    ("y == 50", 5, True),  # y's new value
    ("y == 0", 5, False),
])
def test_auto_task_check_is_on_the_new_values(check: str, x: int, fires: bool) -> None:
    case = Case(compile_text(AUTO.replace("CHECK", check)))
    case.start(x=x)
    before = case.marking
    assert case.can("t") is fires
    if fires:
        case.fire("t")
        assert case.control() == {"e:in": 1}
    else:
        with pytest.raises(NotEnabledError):
            case.fire("t")
        assert case.marking == before  # the task has not happened
        assert case.control() == {"t:in": 1}


def test_auto_task_without_set_or_check_does_not_touch_data() -> None:
    c = compile_text("""
process: pass_through
data: {x: {type: int}}
nodes: {s: {type: start}, t: {type: task, kind: auto}, e: {type: end}}
flows: [s -> t, t -> e]
""")
    assert c.net.preset("t") == {"t:in"} and c.net.postset("t") == {"e:in"}


# -- external tasks --------------------------------------------------------------------------

EXTERNAL = """
process: external_demo
data:
  score: {type: int, min: 0, max: 10}
  note: {type: str}
roles: [clerk]
agents: [{id: scorer}]
nodes:
  s: {type: start}
  t: {type: task, kind: KIND, writes: [score, note] EXTRA}
  e: {type: end}
flows: [s -> t, t -> e]
"""
KIND_EXTRA = {"human": ", role: clerk", "agent": ", agent: scorer", "bot": "", "api": "",
              "receive": ""}
ACTOR = {"human": "ann", "agent": "scorer"}


def external(kind: str, check: str | None = None) -> str:
    extra = KIND_EXTRA[kind] + (f", check: '{check}'" if check else "")
    return EXTERNAL.replace("KIND", kind).replace(" EXTRA", extra)


@pytest.mark.parametrize("kind", list(KIND_EXTRA))
def test_external_task_offer_work_complete(kind: str) -> None:
    c = compile_text(external(kind))
    t = c.net.transition("t:complete")
    expected = {"_o_score", "_o_note"} | ({"_actor"} if kind in ACTOR else set())
    assert {n for n, _ in t.variables} == expected
    assert dict(t.variables)["_o_score"] == IntColor(0, 10)
    assert c.source_map.of("t:complete").participant is ParticipantKind(kind)
    case = Case(c)
    case.start()
    assert not case.can_complete("t", ACTOR.get(kind), score=3, note="x")  # nothing offered
    case.offer("t")
    assert case.control() == {"t:work": 1}
    case.complete("t", ACTOR.get(kind), score=3, note="looks fine")
    assert case.control() == {"e:in": 1}
    assert (case.data["score"], case.data["note"]) == (3, "looks fine")
    if kind in ACTOR:
        assert case.data["by_t"] == ACTOR[kind]
    else:
        assert "by_t" not in case.data


@pytest.mark.parametrize("kind", list(KIND_EXTRA))
def test_external_answers_are_typed_by_the_schema(kind: str) -> None:
    case = Case(compile_text(external(kind)))
    case.start()
    case.offer("t")
    assert not case.can_complete("t", ACTOR.get(kind), score=11, note="x")
    assert not case.can_complete("t", ACTOR.get(kind), score="3", note="x")
    assert case.can_complete("t", ACTOR.get(kind), score=10, note="x")


def test_human_completion_needs_a_named_person() -> None:
    case = Case(compile_text(external("human")))
    case.start()
    case.offer("t")
    assert not case.can_complete("t", "", score=1, note="")
    with pytest.raises(NotEnabledError):
        case.complete("t", "", score=1, note="")
    assert case.can_complete("t", "anyone", score=1, note="")


def test_agent_completion_is_by_that_agent_only() -> None:
    case = Case(compile_text(external("agent")))
    case.start()
    case.offer("t")
    for who in ("", "ann", "scorer2", "Scorer"):
        assert not case.can_complete("t", who, score=1, note=""), who
    case.complete("t", "scorer", score=1, note="")
    assert case.data["by_t"] == "scorer"


def test_offer_carries_role_and_agent_meta() -> None:
    human = compile_text(external("human")).net.transition("t:offer")
    agent = compile_text(external("agent")).net.transition("t:offer")
    assert dict(human.meta)["role"] == "clerk"
    assert dict(agent.meta)["agent"] == "scorer"


@pytest.mark.parametrize("kind", list(KIND_EXTRA))
def test_outcome_check_is_on_the_new_values_and_refusal_keeps_the_item_open(
    kind: str,
) -> None:
    case = Case(compile_text(external(kind, check="score < 5")))
    case.start()
    case.offer("t")
    before = case.marking
    assert case.data["score"] == 0  # the old value would pass
    assert not case.can_complete("t", ACTOR.get(kind), score=7, note="")
    with pytest.raises(NotEnabledError):
        case.complete("t", ACTOR.get(kind), score=7, note="")
    assert case.marking == before  # no phantom progress
    assert case.control() == {"t:work": 1}
    case.complete("t", ACTOR.get(kind), score=4, note="")
    assert case.control() == {"e:in": 1}


CANDIDATE = """
process: candidates
data:
  submitted_by: {type: actor, input: true}
roles: [clerk]
nodes:
  s: {type: start}
  review: {type: task, kind: human, role: clerk, candidate: actor != submitted_by}
  approve:
    type: task
    kind: human
    role: clerk
    candidate: actor != submitted_by and actor != by_review
  e: {type: end}
flows: [s -> review, review -> approve, approve -> e]
"""


def test_candidate_rule_refuses_the_excluded_actor() -> None:
    case = Case(compile_text(CANDIDATE))
    case.start(submitted_by="sam")
    case.offer("review")
    assert not case.can_complete("review", "sam")
    with pytest.raises(NotEnabledError):
        case.complete("review", "sam")
    case.complete("review", "ann")
    case.offer("approve")
    assert not case.can_complete("approve", "sam")
    assert not case.can_complete("approve", "ann")  # she reviewed it
    assert not case.can_complete("approve", "")
    case.complete("approve", "bob")
    assert (case.data["by_review"], case.data["by_approve"]) == ("ann", "bob")


# -- agent handoff ---------------------------------------------------------------------------

HANDOFF = """
process: handoff_demo
data:
  label: {type: str}
  conf: {type: float, min: 0, max: 1}
roles: [clerk]
agents:
  - {id: classifier, threshold: 0.7}
nodes:
  s: {type: start}
  classify:
    type: task
    kind: agent
    agent: classifier
    writes: [label, conf]
    confidence: conf
    handoff: review
    THRESHOLD
  review: {type: task, kind: human, role: clerk, writes: [label]}
  done: {type: end}
flows: [s -> classify, classify -> done, review -> done]
"""
# (the task's threshold line, the threshold in force)
THRESHOLDS = [("threshold: 0.8", Decimal("0.8")), ("", Decimal("0.7"))]
THRESHOLD_IDS = ["from the task", "from the agent registry"]


def _offered_classification(threshold_line: str) -> Case:
    case = Case(compile_text(HANDOFF.replace("THRESHOLD", threshold_line)))
    case.start()
    case.offer("classify")
    return case


@pytest.mark.parametrize(("line", "threshold"), THRESHOLDS, ids=THRESHOLD_IDS)
def test_agent_at_or_above_threshold_completes(line: str, threshold: Decimal) -> None:
    case = _offered_classification(line)
    for conf in (threshold, Decimal(1)):
        assert case.can_complete("classify", "classifier", label="x", conf=conf)
        assert not case.can("classify:handoff", _actor="classifier", _o_label="x",
                            _o_conf=conf)
    case.complete("classify", "classifier", label="spam", conf=threshold)
    assert case.control() == {"done:in": 1}
    assert case.data["label"] == "spam"


@pytest.mark.parametrize(("line", "threshold"), THRESHOLDS, ids=THRESHOLD_IDS)
def test_agent_below_threshold_cannot_complete(line: str, threshold: Decimal) -> None:
    case = _offered_classification(line)
    low = threshold - Decimal("0.01")
    assert not case.can_complete("classify", "classifier", label="x", conf=low)
    assert not case.can_complete("classify", "classifier", label="x", conf=Decimal(0))


def test_task_threshold_overrides_the_registry() -> None:
    case = _offered_classification("threshold: 0.8")
    assert not case.can_complete("classify", "classifier", label="x", conf=Decimal("0.75"))


def test_handoff_transition_has_the_completion_s_variables() -> None:
    c = compile_text(HANDOFF.replace("THRESHOLD", "threshold: 0.8"))
    handoff, complete = c.net.transition("classify:handoff"), c.net.transition("classify:complete")
    assert dict(handoff.variables) == dict(complete.variables)
    assert c.net.postset("classify:handoff") == {"review:in", "data"}
    assert c.net.preset("classify:handoff") == {"classify:work", "data"}


@pytest.mark.parametrize(("line", "threshold"), THRESHOLDS, ids=THRESHOLD_IDS)
def test_agent_below_threshold_hands_off_keeping_the_draft(line: str,
                                                           threshold: Decimal) -> None:
    case = _offered_classification(line)
    low = threshold - Decimal("0.01")
    assert not case.can("classify:handoff", _actor="ann", _o_label="x", _o_conf=low)
    case.fire("classify:handoff", _actor="classifier", _o_label="draft", _o_conf=low)
    assert case.control() == {"review:in": 1}
    d = case.data
    assert (d["label"], d["conf"], d["by_classify"]) == ("draft", low, "classifier")
    case.do("review", "ann", label="final")
    assert case.data["label"] == "final"
    case.fire("done")
    assert case.ended_at() == "done"


# -- timeouts and errors ---------------------------------------------------------------------

TIMERS = """
process: timers
roles: [manager, boss]
data: {ok: {type: bool}}
nodes:
  s: {type: start}
  approve: {type: task, kind: human, role: manager, writes: [ok],
            timeout: {after: P3D, to: escalate}}
  escalate: {type: task, kind: human, role: boss, writes: [ok]}
  remind: {type: task, kind: receive, timeout: {after: PT4H, to: remind}}
  e: {type: end}
flows: [s -> approve, approve -> remind, escalate -> remind, remind -> e]
"""


def test_timeout_withdraws_the_work_item_and_goes_to_its_target() -> None:
    c = compile_text(TIMERS)
    t = c.net.transition("approve:timeout")
    assert dict(t.meta)["after_seconds"] == repr(3 * 86400.0)
    assert c.source_map.of("approve:timeout").participant is ParticipantKind.TIMER
    case = Case(c)
    case.start()
    assert "approve:timeout" not in case.token_enabled()  # no work item yet
    case.offer("approve")
    data = case.data
    case.fire("approve:timeout")
    assert case.control() == {"escalate:in": 1}
    assert case.data == data
    assert not case.can_complete("approve", "mia", ok=True)  # the item was withdrawn
    case.do("escalate", "boss1", ok=True)
    assert case.data["by_escalate"] == "boss1" and case.data["by_approve"] == ""


def test_timeout_to_the_task_itself_reoffers_it() -> None:
    c = compile_text(TIMERS)
    assert dict(c.net.transition("remind:timeout").meta)["after_seconds"] == repr(4 * 3600.0)
    case = Case(c)
    case.start()
    case.do("approve", "mia", ok=True)
    case.offer("remind")
    case.fire("remind:timeout")
    assert case.control() == {"remind:in": 1}
    case.offer("remind")
    assert case.control() == {"remind:work": 1}
    case.complete("remind")
    case.fire("e")
    assert case.ended_at() == "e"


def test_a_timer_may_fire_whenever_the_item_is_open() -> None:
    t = compile_text(TIMERS).net.transition("approve:timeout")
    assert t.guard is None and not t.variables


SIDE_ENDS = """
process: side_ends
data: {ok: {type: bool}}
nodes:
  s: {type: start}
  wait: {type: task, kind: receive, writes: [ok], timeout: {after: P1D, to: expired}}
  call: {type: task, kind: api, on_error: broken}
  done: {type: end}
  expired: {type: end}
  broken: {type: end}
flows: [s -> wait, wait -> call, call -> done]
"""


def test_timeouts_and_errors_may_lead_straight_to_an_end_event() -> None:
    c = compile_text(SIDE_ENDS)
    assert set(c.final_places) == {"end:done", "end:expired", "end:broken"}
    case = Case(c)
    case.start()
    case.offer("wait")
    case.fire("wait:timeout")
    assert case.control() == {"expired:in": 1}
    case.fire("expired")
    assert case.ended_at() == "expired"
    case = Case(c)
    case.start()
    case.do("wait", ok=True)
    case.offer("call")
    case.fire("call:error")
    case.fire("broken")
    assert case.ended_at() == "broken"


BOUNDARY_INTO = {
    "start": ("  a: {type: task, kind: receive, timeout: {after: P1D, to: s}}\n", "", ""),
    "join": ("  a: {type: task, kind: receive, timeout: {after: P1D, to: join}}\n"
             "  b: {type: task, kind: bot}\n  fork: {type: parallel}\n"
             "  join: {type: parallel}\n",
             "", "[s -> fork, fork -> a, fork -> b, a -> join, b -> join, join -> e]"),
    "call": ("  a: {type: task, kind: receive, timeout: {after: P1D, to: vet}}\n"
             "  vet: {type: call, process: sub.yaml}\n", "",
             "[s -> a, a -> vet, vet -> e]"),
}


@pytest.mark.parametrize("target", list(BOUNDARY_INTO))
def test_a_boundary_event_into_any_node_is_refused_or_leads_on(target: str,
                                                               tmp_path: Path) -> None:
    nodes, _, flows = BOUNDARY_INTO[target]
    _write(tmp_path, "sub.yaml", "process: sub\nnodes: {b: {type: start}, f: {type: end}}\n"
                                 "flows: [b -> f]\n")
    main = _write(tmp_path, "main.yaml", (
        "process: boundary\nnodes:\n  s: {type: start}\n" + nodes + "  e: {type: end}\n"
        "flows: " + (flows or "[s -> a, a -> e]") + "\n"))
    try:
        c = compile_file(main)
    except ModelError:
        return  # refused: fine
    consumed = {a.place for a in c.net.arcs if a.is_input}
    stuck = [p.id for p in c.net.places if p.id not in consumed and not p.id.startswith("end:")]
    assert stuck == []


ERRORS = """
process: errors
roles: [ops]
data: {ref: {type: str}}
nodes:
  s: {type: start}
  call_api: {type: task, kind: api, writes: [ref], on_error: handle, retry: {attempts: 2}}
  notify: {type: task, kind: bot, on_error: handle}
  plain: {type: task, kind: api}
  handle: {type: task, kind: human, role: ops}
  ok: {type: end}
  failed: {type: end}
flows: [s -> call_api, call_api -> notify, notify -> plain, plain -> ok, handle -> failed]
"""


def test_error_boundary_on_api_and_bot_tasks() -> None:
    c = compile_text(ERRORS)
    ids = {t.id for t in c.net.transitions}
    assert {"call_api:error", "notify:error"} <= ids
    assert "plain:error" not in ids  # without on_error a failure is an incident, not a path
    assert c.net.preset("call_api:error") == {"call_api:work"}
    assert c.net.postset("call_api:error") == {"handle:in"}
    case = Case(c)
    case.start()
    case.offer("call_api")
    case.fire("call_api:error")
    assert case.control() == {"handle:in": 1}
    assert case.data["ref"] == ""
    case.do("handle", "olga")
    case.fire("failed")
    assert case.ended_at() == "failed"


# -- exclusive gateway -----------------------------------------------------------------------

EXCLUSIVE = """
process: exclusive_demo
data:
  x: {type: int, min: 0, max: 30, input: true}
nodes:
  s: {type: start}
  g: {type: exclusive}
  big: {type: task, kind: auto}
  low: {type: task, kind: auto}
  mid: {type: task, kind: auto}
  e: {type: end}
flows:
  - s -> g
  - {from: g, to: big, when: x > 20}
  - DEFAULT
  - {from: g, to: mid, when: x > 10}
  - big -> e
  - mid -> e
  - low -> e
"""
WITH_DEFAULT = EXCLUSIVE.replace("DEFAULT", "{from: g, to: low, default: true}")
WITHOUT_DEFAULT = EXCLUSIVE.replace("DEFAULT", "{from: g, to: low, when: x == 0}")


def test_exclusive_first_true_condition_in_declaration_order_wins_default_last() -> None:
    c = compile_text(WITH_DEFAULT)
    choices = ["g@big", "g@low", "g@mid"]
    for x in range(31):
        case = Case(c)
        case.start(x=x)
        enabled = [t for t in choices if case.can(t)]
        want = "big" if x > 20 else "mid" if x > 10 else "low"
        assert enabled == [f"g@{want}"], x
        case.fire(f"g@{want}")
        assert case.control() == {f"{want}:in": 1}
        assert case.data["x"] == x  # choosing reads the data, it does not change it


def test_every_choosing_transition_reads_data() -> None:
    c = compile_text(WITH_DEFAULT)
    for t in ("g@big", "g@mid", "g@low"):
        assert "data" in c.net.preset(t) and "data" in c.net.postset(t)
        (out,) = [a for a in c.net.outputs[t] if a.place == "data"]
        assert out.inscription == Var("_d")


def test_exclusive_without_default_is_stuck_when_no_condition_holds() -> None:
    c = compile_text(WITHOUT_DEFAULT)
    case = Case(c)
    case.start(x=5)
    assert case.control() == {"g:in": 1}
    assert enabled_transitions(c.net, case.marking) == []
    assert not case.is_final()
    for x, want in ((0, "low"), (15, "mid"), (25, "big")):
        case = Case(c)
        case.start(x=x)
        assert enabled_transitions(c.net, case.marking) == [f"g@{want}"]


def test_exclusive_with_one_outgoing_flow_is_a_plain_merge() -> None:
    c = compile_text("""
process: merge
data: {left: {type: bool, input: true}}
nodes:
  s: {type: start}
  split: {type: exclusive}
  a: {type: task, kind: bot}
  b: {type: task, kind: bot}
  m: {type: exclusive}
  e: {type: end}
flows:
  - s -> split
  - {from: split, to: a, when: left}
  - {from: split, to: b, default: true}
  - a -> m
  - b -> m
  - m -> e
""")
    t = c.net.transition("m")
    assert t.guard is None and not t.variables
    assert c.net.preset("m") == {"m:in"} and c.net.postset("m") == {"e:in"}
    assert not any(t.id.startswith("m@") for t in c.net.transitions)
    case = Case(c)
    case.start(left=False)
    case.fire("split@b")
    case.do("b")
    case.fire("m")
    case.fire("e")
    assert case.ended_at() == "e"


# -- parallel gateway ------------------------------------------------------------------------

PARALLEL = """
process: parallel_demo
nodes:
  s: {type: start}
  fork: {type: parallel}
  a: {type: task, kind: bot}
  b: {type: task, kind: api}
  join: {type: parallel}
  e: {type: end}
flows: [s -> fork, fork -> a, fork -> b, a -> join, b -> join, join -> e]
"""


def test_parallel_split_marks_every_branch_and_join_waits_for_each() -> None:
    c = compile_text(PARALLEL)
    assert c.net.preset("join") == {"flow:a->join", "flow:b->join"}
    case = Case(c)
    case.start()
    case.fire("fork")
    assert case.control() == {"a:in": 1, "b:in": 1}
    case.do("b")
    assert case.control() == {"a:in": 1, "flow:b->join": 1}
    assert "join" not in case.token_enabled()
    with pytest.raises(NotEnabledError):
        case.fire("join")
    case.do("a")
    case.fire("join")
    assert case.control() == {"e:in": 1}
    case.fire("e")
    assert case.is_final()


# -- inclusive gateway -----------------------------------------------------------------------

INCLUSIVE = """
process: inclusive_demo
data:
  a: {type: bool, input: true}
  b: {type: bool, input: true}
nodes:
  s: {type: start}
  split: {type: inclusive}
  ta: {type: task, kind: bot}
  tb: {type: task, kind: bot}
  td: {type: task, kind: bot}
  join: {type: inclusive, pairs: split}
  e: {type: end}
flows:
  - s -> split
  - {from: split, to: ta, when: a}
  - {from: split, to: tb, when: b}
  - {from: split, to: td, default: true}
  - ta -> join
  - tb -> join
  - td -> join
  - join -> e
"""


@pytest.mark.parametrize(("a", "b"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("reverse", [False, True])
def test_inclusive_split_starts_exactly_the_true_branches_and_join_waits_for_them(
    a: bool, b: bool, reverse: bool,
) -> None:
    c = compile_text(INCLUSIVE)
    splits = [t.id for t in c.net.transitions if t.id.startswith("split{")]
    joins = [t.id for t in c.net.transitions if t.id.startswith("join{")]
    assert sorted(splits) == ["split{ta+tb}", "split{ta}", "split{tb}", "split{td}"]
    assert sorted(joins) == ["join{ta+tb}", "join{ta}", "join{tb}", "join{td}"]
    case = Case(c)
    case.start(a=a, b=b)
    branches = [n for n, on in (("ta", a), ("tb", b)) if on] or ["td"]
    name = "+".join(branches)
    assert [t for t in splits if case.can(t)] == [f"split{{{name}}}"]
    case.fire(f"split{{{name}}}")
    assert case.control() == {f"split:mask{{{name}}}": 1, **{f"{t}:in": 1 for t in branches}}
    for i, task in enumerate(reversed(branches) if reverse else branches):
        assert not [t for t in joins if t in case.token_enabled()]  # not before all arrive
        case.do(task)
        assert case.control()[f"flow:{task}->join"] == 1, i
    assert [t for t in joins if t in case.token_enabled()] == [f"join{{{name}}}"]
    case.fire(f"join{{{name}}}")
    assert case.control() == {"e:in": 1}  # the mask is consumed too
    case.fire("e")
    assert case.is_final()


def test_inclusive_split_has_one_transition_per_nonempty_subset() -> None:
    c = compile_text("""
process: three_way
data:
  a: {type: bool, input: true}
  b: {type: bool, input: true}
  c: {type: bool, input: true}
nodes:
  s: {type: start}
  split: {type: inclusive}
  ta: {type: task, kind: auto}
  tb: {type: task, kind: auto}
  tc: {type: task, kind: auto}
  join: {type: inclusive, pairs: split}
  e: {type: end}
flows:
  - s -> split
  - {from: split, to: ta, when: a}
  - {from: split, to: tb, when: b}
  - {from: split, to: tc, when: c}
  - ta -> join
  - tb -> join
  - tc -> join
  - join -> e
""")
    splits = [t.id for t in c.net.transitions if t.id.startswith("split{")]
    assert len(splits) == 7
    for values in itertools.product([False, True], repeat=3):
        case = Case(c)
        case.start(**dict(zip("abc", values, strict=True)))
        fired = [t for t in splits if case.can(t)]
        if any(values):
            want = "+".join(f"t{n}" for n, v in zip("abc", values, strict=True) if v)
            assert fired == [f"split{{{want}}}"]
        else:  # no condition holds and there is no default: stuck
            assert fired == []
            assert enabled_transitions(c.net, case.marking) == []


# -- call activity ---------------------------------------------------------------------------

SUB = """
process: vetting
data:
  amount: {type: int}
nodes:
  begin: {type: start}
  check: {type: task, kind: bot, writes: [amount]}
  g: {type: exclusive}
  small: {type: end}
  large: {type: end}
flows:
  - begin -> check
  - check -> g
  - {from: g, to: small, when: amount < 100}
  - {from: g, to: large, default: true}
"""
MAIN = """
process: main
data:
  amount: {type: int}
  done: {type: bool}
nodes:
  s: {type: start}
  vet: {type: call, process: CALLED}
  finish: {type: task, kind: auto, set: {done: "True"}}
  e: {type: end}
flows: [s -> vet, vet -> finish, finish -> e]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_call_activity_is_inlined_with_renamed_nodes(tmp_path: Path) -> None:
    _write(tmp_path, "sub.yaml", SUB)
    main = _write(tmp_path, "main.yaml", MAIN.replace("CALLED", "sub.yaml"))
    c = compile_file(main)
    ids = {t.id for t in c.net.transitions}
    assert {"vet__begin", "vet__check:offer", "vet__check:complete", "vet__g@vet__small",
            "vet__g@vet__large", "vet__small", "vet__large"} <= ids
    assert not any(t == "vet" or t.startswith("vet:") for t in ids)
    assert c.final_places == ("end:e",)  # the called end events are pass-throughs
    assert [t for t, o in c.source_map.transitions.items() if o.role == "start"] == ["s"]
    origin = c.source_map.of("vet__check:complete")
    assert origin.element == "vet__check"
    assert origin.file is not None and origin.file.endswith("sub.yaml")
    for amount, end in ((5, "small"), (500, "large")):
        case = Case(c)
        case.start()
        case.fire("vet__begin")
        case.do("vet__check", amount=amount)  # writes the caller's data
        case.fire(f"vet__g@vet__{end}")
        case.fire(f"vet__{end}")
        assert case.control() == {"finish:in": 1}
        case.fire("finish")
        case.fire("e")
        assert case.ended_at() == "e"
        assert (case.data["amount"], case.data["done"]) == (amount, True)


def test_called_people_tasks_record_their_actor_in_the_shared_record(tmp_path: Path) -> None:
    _write(tmp_path, "sub.yaml", """
process: vetting
roles: [auditor]
nodes:
  begin: {type: start}
  look: {type: task, kind: human, role: auditor}
  over: {type: end}
flows: [begin -> look, look -> over]
""")
    main = _write(tmp_path, "main.yaml", MAIN.replace("CALLED", "sub.yaml"))
    case = Case(compile_file(main))
    case.start()
    assert case.data["by_vet__look"] == ""
    case.fire("vet__begin")
    case.offer("vet__look")
    assert not case.can_complete("vet__look", "")
    case.complete("vet__look", "audra")
    case.fire("vet__over")
    case.fire("finish")
    case.fire("e")
    assert case.ended_at() == "e" and case.data["by_vet__look"] == "audra"


def test_call_activity_needs_the_called_fields_with_the_same_type(tmp_path: Path) -> None:
    _write(tmp_path, "sub.yaml", SUB)
    missing = _write(tmp_path, "missing.yaml", MAIN.replace("CALLED", "sub.yaml").replace(
        "  amount: {type: int}\n", ""))
    with pytest.raises(ModelError) as err:
        compile_file(missing)
    assert any(p.element == "vet" and "amount" in p.message for p in err.value.problems)
    other = _write(tmp_path, "other.yaml", MAIN.replace("CALLED", "sub.yaml").replace(
        "amount: {type: int}", "amount: {type: str}"))
    with pytest.raises(ModelError) as err:
        compile_file(other)
    assert any(p.element == "vet" and "amount" in p.message for p in err.value.problems)


def test_a_cycle_of_calls_is_refused(tmp_path: Path) -> None:
    loop_a = MAIN.replace("CALLED", "b.yaml").replace("process: main", "process: a")
    loop_b = MAIN.replace("CALLED", "a.yaml").replace("process: main", "process: b")
    a = _write(tmp_path, "a.yaml", loop_a)
    _write(tmp_path, "b.yaml", loop_b)
    with pytest.raises(ModelError) as err:
        compile_file(a)
    (problem,) = err.value.problems
    assert "calls back" in problem.message
    assert problem.element == "vet" and problem.file and problem.line
    me = _write(tmp_path, "me.yaml", MAIN.replace("CALLED", "me.yaml"))
    with pytest.raises(ModelError, match="calls back"):
        compile_file(me)


# -- compensation ----------------------------------------------------------------------------

COMPENSATION = """
process: trip
data:
  again: {type: bool}
  fail: {type: bool}
nodes:
  s: {type: start}
  book_hotel: {type: task, kind: api, writes: [again], compensation: cancel_hotel}
  more: {type: exclusive}
  book_flight: {type: task, kind: api, writes: [fail], compensation: cancel_flight}
  outcome: {type: exclusive}
  cancel_hotel: {type: task, kind: api}
  cancel_flight: {type: task, kind: bot}
  ok: {type: end}
  undo: {type: end, compensate: true}
flows:
  - s -> book_hotel
  - book_hotel -> more
  - {from: more, to: book_hotel, when: again}
  - {from: more, to: book_flight, default: true}
  - book_flight -> outcome
  - {from: outcome, to: undo, when: fail}
  - {from: outcome, to: ok, default: true}
"""


def _book(case: Case, hotels: int, fail: bool) -> None:
    case.start()
    for i in range(hotels):
        case.do("book_hotel", again=i < hotels - 1)
        case.fire("more@book_hotel" if i < hotels - 1 else "more@book_flight")
    case.do("book_flight", fail=fail)


def test_compensation_in_a_loop_undoes_once_per_completion_in_an_open_order() -> None:
    """book_hotel is in a loop: no completion-order flags; the net leaves the order open
    and the engine takes the first enabled (reverse declaration order)."""
    c = compile_text(COMPENSATION)
    assert not any(name.startswith("_later:") for name, _ in c.data_color.fields)
    done_arcs = [a for a in c.net.inputs["compensation:done"]]
    assert sorted((a.place, a.kind) for a in done_arcs if a.kind is ArcKind.INHIBITOR) == [
        ("book_flight:done", ArcKind.INHIBITOR), ("book_hotel:done", ArcKind.INHIBITOR)]
    case = Case(c)
    _book(case, hotels=2, fail=True)
    assert case.control() == {"outcome:in": 1, "book_hotel:done": 2, "book_flight:done": 1}
    case.fire("outcome@undo")
    case.fire("undo")
    assert case.control()["compensation:0"] == 1
    assert [t for t in case.token_enabled() if case.can(t)] == [
        "compensate:book_flight", "compensate:book_hotel"]  # the order is left open
    undone = []
    while not case.is_final():
        t = next(t for t in case.token_enabled() if case.can(t))  # as the engine picks
        if t.endswith(":offer"):
            task = t[: -len(":offer")]
            undone.append(task)
            case.do(task)
        else:
            case.fire(t)
    assert undone == ["cancel_flight", "cancel_hotel", "cancel_hotel"]
    assert case.ended_at() == "undo"
    assert case.control() == {"end:undo": 1}  # nothing left to undo
    assert [t for t in case.fired if t.startswith("compensat")] == [
        "compensate:book_flight", "compensate:book_hotel", "compensate:book_hotel",
        "compensation:done"]


def test_compensation_ends_only_when_nothing_is_left_to_undo() -> None:
    case = Case(compile_text(COMPENSATION))
    _book(case, hotels=1, fail=True)
    case.fire("outcome@undo")
    case.fire("undo")
    assert not case.can("compensation:done")
    with pytest.raises(NotEnabledError):
        case.fire("compensation:done")
    case.fire("compensate:book_flight")
    assert case.control() == {"cancel_flight:in": 1, "book_hotel:done": 1}


PARALLEL_COMPENSATION = """
process: trip
data:
  fail: {type: bool}
nodes:
  s: {type: start}
  fork: {type: parallel}
  book_hotel: {type: task, kind: api, compensation: cancel_hotel}
  book_flight: {type: task, kind: api, compensation: cancel_flight}
  join: {type: parallel}
  check: {type: task, kind: api, writes: [fail]}
  outcome: {type: exclusive}
  cancel_hotel: {type: task, kind: api}
  cancel_flight: {type: task, kind: api}
  ok: {type: end}
  undo: {type: end, compensate: true}
flows:
  - s -> fork
  - fork -> book_hotel
  - fork -> book_flight
  - book_hotel -> join
  - book_flight -> join
  - join -> check
  - check -> outcome
  - {from: outcome, to: undo, when: fail}
  - {from: outcome, to: ok, default: true}
"""


@pytest.mark.parametrize("first", ["book_hotel", "book_flight"])
def test_parallel_compensable_tasks_are_undone_in_reverse_completion_order(first: str) -> None:
    second = "book_flight" if first == "book_hotel" else "book_hotel"
    c = compile_text(PARALLEL_COMPENSATION)
    assert sorted(n for n, _ in c.data_color.fields if n.startswith("_later:")) == [
        "_later:book_flight:book_hotel", "_later:book_hotel:book_flight"]
    case = Case(c)
    case.start()
    case.fire("fork")
    case.do(first)
    case.do(second)
    case.fire("join")
    case.do("check", fail=True)
    case.fire("outcome@undo")
    case.fire("undo")
    undone = []
    while not case.is_final():
        enabled = [t for t in case.token_enabled() if case.can(t)]
        assert len(enabled) == 1, enabled  # exactly one task is the latest to undo
        (t,) = enabled
        if t.endswith(":offer"):
            undone.append(t[: -len(":offer")])
            case.do(undone[-1])
        else:
            case.fire(t)
    assert undone == [second.replace("book", "cancel"), first.replace("book", "cancel")]
    assert case.control() == {"end:undo": 1}


def test_a_normal_end_keeps_the_history_places() -> None:
    case = Case(compile_text(COMPENSATION))
    _book(case, hotels=1, fail=False)
    case.fire("outcome@ok")
    case.fire("ok")
    assert case.is_final() and case.ended_at() == "ok"
    assert case.control() == {"end:ok": 1, "book_hotel:done": 1, "book_flight:done": 1}


EARLY_FAILURE = """
process: early
data: {fail: {type: bool}}
nodes:
  s: {type: start}
  precheck: {type: task, kind: api, writes: [fail]}
  gate: {type: exclusive}
  book: {type: task, kind: api, compensation: cancel}
  cancel: {type: task, kind: api}
  ok: {type: end}
  undo: {type: end, compensate: true}
flows:
  - s -> precheck
  - precheck -> gate
  - {from: gate, to: undo, when: fail}
  - {from: gate, to: book, default: true}
  - book -> ok
"""


def test_compensating_end_without_completions_only_skips() -> None:
    case = Case(compile_text(EARLY_FAILURE))
    case.start()
    case.do("precheck", fail=True)
    case.fire("gate@undo")
    case.fire("undo")
    assert not case.can("compensate:book")
    case.fire("compensation:done")
    assert case.control() == {"end:undo": 1}
    assert case.is_final()


# -- policies do not change the net ----------------------------------------------------------


def test_policies_do_not_change_the_net() -> None:
    plain = load_text(COMPENSATION, "trip.yaml")
    with_policy = load_text(COMPENSATION + """
policies:
  - {id: hotel_first, type: precedence, task: book_flight, after: book_hotel}
  - {id: two_people, type: segregation_of_duties, tasks: [book_hotel, book_flight]}
""", "trip.yaml")
    a, b = compile_loaded(plain), compile_loaded(with_policy)
    assert a.net.fingerprint == b.net.fingerprint
    # ... but they are part of the process's identity: a rule added is another process
    assert a.fingerprint != b.fingerprint
    assert not a.obligations
    prec, sod = b.obligations
    assert isinstance(prec.policy, Precedence)
    assert dict(prec.transitions) == {"task": ("book_flight:complete",),
                                      "after": ("book_hotel:complete",)}
    assert dict(sod.transitions) == {"book_hotel": ("book_hotel:complete",),
                                     "book_flight": ("book_flight:complete",)}


POLICIES = HANDOFF.replace("THRESHOLD", "threshold: 0.8").replace(
    "data:\n", "data:\n  amount: {type: int, input: true}\n") + """
policies:
  - {id: sod, type: segregation_of_duties, tasks: [classify, review]}
  - {id: prec, type: precedence, task: review, after: classify}
  - {id: cond, type: conditional_requirement, when: amount > 10, task: review,
     requires: classify}
  - {id: lcr, type: low_confidence_review, task: classify, below: 0.8, review: review}
  - {id: never, type: forbidden_state, condition: amount < 0 and by_review != ""}
  - {id: scope, type: agent_scope, agent: classifier, tasks: [classify]}
  - {id: narrow, type: agent_scope, agent: classifier, tasks: [review]}
  - {id: mini, type: data_minimisation, agent: classifier, fields: [amount]}
"""


def test_each_policy_compiles_to_its_obligation() -> None:
    c = compile_text(POLICIES)
    ob = {o.policy.id: o for o in c.obligations}
    complete, handoff = "classify:complete", "classify:handoff"
    assert dict(ob["sod"].transitions) == {"classify": (complete, handoff),
                                           "review": ("review:complete",)}
    assert dict(ob["prec"].transitions) == {"task": ("review:complete",), "after": (complete,)}
    assert dict(ob["cond"].transitions) == {"task": ("review:complete",),
                                            "requires": (complete,)}
    assert ob["cond"].condition is not None and "_d.amount" in unparse(ob["cond"].condition)
    assert dict(ob["lcr"].transitions) == {"task": (complete, handoff),
                                           "review": ("review:complete",), "before": ("done",)}
    assert unparse(ob["lcr"].condition) == "_d.conf < 0.8"
    assert ob["never"].transitions == {} and "_d.by_review" in unparse(ob["never"].condition)
    assert ob["scope"].static_violation is None
    assert ob["narrow"].static_violation and "classify" in ob["narrow"].static_violation
    assert ob["mini"].static_violation is None  # classify reads nothing
    assert all(o.static_violation is None for k, o in ob.items() if k != "narrow")
    reading = compile_text(POLICIES.replace("writes: [label, conf]",
                                            "reads: [amount]\n    writes: [label, conf]"))
    (mini,) = [o for o in reading.obligations if o.policy.id == "mini"]
    assert mini.static_violation and "amount" in mini.static_violation


# -- the kernel on compiled nets -------------------------------------------------------------


def test_a_completion_without_its_work_item_is_simply_not_enabled() -> None:
    c = compile_text(CANDIDATE)
    m = fire(c.net, c.net.initial_marking, "s", {"_o_submitted_by": "sam"}).after
    assert is_enabled(c.net, m, "review:complete") is False
    assert enabled_transitions(c.net, m) == ["review:offer"]


# -- the Python builder ----------------------------------------------------------------------


def _expense() -> Process:
    p = Process("expense")
    amount = p.field("amount", "decimal", input=True, min=0)
    ok = p.field("ok", "bool")
    conf = p.field("conf", "float", min=0, max=1)
    p.agent("checker", threshold=0.8)
    submit = p.task("submit", role=Role("employee"), writes=[amount])
    review = p.task("review", role="manager")
    check = p.task("check", agent="checker", after=submit, writes=[conf], confidence=conf,
                   handoff=review)
    approve = p.task("approve", role=Role("manager"), after=check, writes=[ok])
    p.require(SegregationOfDuties(submit, approve))
    return p


def test_the_builder_compiles_like_the_same_yaml() -> None:
    p = _expense()
    built = p.compile()
    data = json.loads(json.dumps(p.to_data()))
    assert data["nodes"]["start"] == {"type": "start"}
    assert {"from": "start", "to": "submit"} in data["flows"]
    assert {"from": "approve", "to": "end"} in data["flows"]
    text = compile_loaded(load_text(yaml.safe_dump(data, sort_keys=False), "expense.yaml"))
    assert built.fingerprint == text.fingerprint
    assert [o.policy for o in text.obligations] == [o.policy for o in built.obligations] != []
    case = Case(built)
    case.start(amount=Decimal(5))
    case.do("submit", "eve", amount=Decimal(12))
    case.do("check", "checker", conf=Decimal("0.9"))
    case.do("approve", "max", ok=True)
    case.fire("end")
    assert case.ended_at() == "end"
    assert [o.policy.id for o in built.obligations] == ["segregation_of_duties_submit_approve"]


def test_builder_handles_catch_misspellings_as_python_errors() -> None:
    p = Process("dup")
    p.task("a", kind="bot")
    with pytest.raises(ValueError, match="used twice"):
        p.task("a", kind="bot")
    with pytest.raises(ValueError, match="say its kind"):
        p.task("b")
    bad = Process("bad")
    bad.task("a", role="clerk", writes=["nothing"])
    with pytest.raises(ModelError, match="unknown field 'nothing'"):
        bad.compile()


def test_builder_data_dumps_as_yaml() -> None:
    yaml.safe_dump(_expense().to_data())
