"""Every checker of the portfolio, on its own, agrees with brute force wherever it
concludes: its witnesses reach the goal and its proofs are right."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from petriflow.verify.formulas import compile_formula
from petriflow.verify.methods import PORTFOLIO, Question
from petriflow.verify.ptnet import PTNet
from petriflow.verify.result import TraceStep
from tests.strategies import pt_nets, scaled
from tests.verify.oracle import explore, replay_trace
from tests.verify.test_differential import CAP, state_formulas


@settings(max_examples=scaled(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(), st.data())
def test_each_checker_agrees_with_brute_force(spec, data) -> None:  # type: ignore[no-untyped-def]
    net = spec.net
    ptnet = PTNet(net)
    goal = data.draw(state_formulas(ptnet.places, ptnet.transitions), label="goal")
    g = explore(net, CAP)
    witnesses = g.satisfying(goal)
    for checker in PORTFOLIO:
        q = Question(ptnet, goal, compile_formula(goal, ptnet), budget=0.5)
        answer = checker.run(q, time.monotonic() + 0.5)
        if answer is None:
            continue
        event(f"{type(checker).__name__}: {answer.answer}")
        if answer.answer == "reachable":
            end = replay_trace(net, tuple(TraceStep(ptnet.transitions[t]) for t in answer.path))
            assert g.pt.holds(goal, end), f"{checker.name}: the witness misses the goal"
        else:
            assert not witnesses, f"{checker.name} proved unreachable, brute force reaches " \
                f"{witnesses[0]}"


@settings(max_examples=scaled(200), deadline=None)
@given(pt_nets(), st.data())
def test_the_guided_walks_distance_is_zero_exactly_where_the_goal_holds(spec, data) -> None:  # type: ignore[no-untyped-def]
    from petriflow.verify.guided import distance

    net = spec.net
    ptnet = PTNet(net)
    goal = data.draw(state_formulas(ptnet.places, ptnet.transitions), label="goal")
    m = tuple(data.draw(st.lists(st.integers(0, 5), min_size=len(ptnet.places),
                                 max_size=len(ptnet.places)), label="marking"))
    holds = compile_formula(goal, ptnet)(m)
    d = distance(goal, ptnet)(m)
    assert d >= 0
    assert (d == 0) == holds, f"distance {d} but the goal {'holds' if holds else 'fails'}"


def test_a_witness_whose_end_misses_the_goal_is_not_believed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A method that claims a path reaches the goal must be right about its end too: the
    kernel fires the path, and the goal is evaluated on where it ends."""
    import petriflow.verify.methods as methods
    from petriflow.net import NetBuilder
    from petriflow.verify.formulas import Compare, IntConst, TokenSum
    from petriflow.verify.ptcheck import reach

    b = NetBuilder("two")
    b.place("p", initial=1)
    b.place("q")
    b.transition("t")
    b.arc("p", "t")
    b.arc("t", "q")
    net = b.build()
    ptnet = PTNet(net)
    goal = Compare(">=", TokenSum(("q",)), IntConst(2))  # never: q holds one token at most
    bogus = methods.Answer("reachable", "a faulty method", [ptnet.tindex["t"]])
    monkeypatch.setattr(methods, "run_portfolio", lambda q, deadline: bogus)
    r = reach(net, ptnet, goal, time.monotonic() + 5)
    assert r.answer == "unknown" and "not believed" in (r.reason or "")
    unfireable = methods.Answer("reachable", "a faulty method", [ptnet.tindex["t"]] * 2)
    monkeypatch.setattr(methods, "run_portfolio", lambda q, deadline: unfireable)
    r = reach(net, ptnet, goal, time.monotonic() + 5)
    assert r.answer == "unknown" and "cannot fire" in (r.reason or "")
