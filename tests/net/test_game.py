"""TokenGame: the mutable token game agrees with the immutable firing rule."""

from __future__ import annotations

import collections
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from petriflow.errors import ColorError, FiringError, NotEnabledError
from petriflow.net import Marking, Net, NetBuilder, TokenGame, bindings, enabled_transitions, fire
from petriflow.net.colors import IntColor, StrColor
from tests.net.ptsemantics import counts, equation, incidence, pt_enabled
from tests.strategies import colored_nets, markings_of, pt_nets, scaled


@settings(max_examples=scaled(100))
@given(pt_nets(), st.data())
def test_token_game_agrees_with_fire_on_pt_nets(spec, data):
    net = spec.net
    game = TokenGame(net)
    m = net.initial_marking
    for _ in range(data.draw(st.integers(1, 12), label="steps")):
        assert game.marking() == m
        enabled = enabled_transitions(net, m)
        assert game.enabled() == enabled
        assert game.is_dead() is (not enabled)
        for t in net.transitions:
            if t.id not in enabled:
                with pytest.raises(NotEnabledError):
                    game.fire(t.id)
                assert game.marking() == m, "a refused firing changed the marking"
        if not enabled:
            break
        t = data.draw(st.sampled_from(enabled))
        expected = fire(net, m, t)
        step = game.fire(t)
        assert (step.transition, step.binding) == (expected.transition, expected.binding)
        assert (step.before, step.consumed, step.produced, step.after) == (
            expected.before, expected.consumed, expected.produced, expected.after)
        m = expected.after


@settings(max_examples=scaled(80))
@given(colored_nets(), st.data())
def test_token_game_agrees_with_fire_on_colored_nets(spec, data):
    net = spec.net
    game = TokenGame(net)
    m = net.initial_marking
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        assert game.marking() == m
        enabled = enabled_transitions(net, m)
        assert game.enabled() == enabled
        choices = [(t, b) for t in enabled for b in bindings(net, m, t)]
        if not choices:
            break
        t, b = data.draw(st.sampled_from(choices))
        expected = fire(net, m, t, b)
        step = game.fire(t, b)
        assert (step.transition, step.binding) == (expected.transition, expected.binding)
        assert (step.before, step.consumed, step.produced, step.after) == (
            expected.before, expected.consumed, expected.produced, expected.after)
        m = expected.after


@settings(max_examples=scaled(60))
@given(colored_nets(), st.data())
def test_token_game_completes_bindings_like_fire(spec, data):
    net = spec.net
    m = net.initial_marking
    game = TokenGame(net)
    t = data.draw(st.sampled_from([t.id for t in net.transitions]))
    try:
        expected = fire(net, m, t)
    except NotEnabledError:
        with pytest.raises(NotEnabledError):
            game.fire(t)
        assert game.marking() == m
        return
    assert game.fire(t).after == expected.after


@settings(max_examples=scaled(60))
@given(pt_nets(), st.integers(0, 2**32))
def test_run_on_pt_nets_fires_only_enabled_transitions(spec, seed):
    net = spec.net
    c = incidence(net)
    game = TokenGame(net)
    rng = random.Random(seed)
    parikh: collections.Counter[str] = collections.Counter()
    for _ in range(15):
        before = game.marking()
        result = game.run(1, rng)
        after = game.marking()
        if result.fired == 0:
            assert result.dead and enabled_transitions(net, before) == []
            break
        assert result.fired == 1
        delta = {p: after.count(p) - before.count(p) for p in counts(net, before)}
        candidates = [t.id for t in net.transitions if pt_enabled(net, before, t.id)
                      and all(delta[p] == c[p, t.id] for p in delta)]
        assert candidates, f"run() moved {before} to {after}: no enabled transition does that"
        parikh[candidates[0]] += 1  # transitions with equal columns have equal effects
        assert counts(net, after) == equation(net, net.initial_marking, parikh)
        assert all(n >= 0 for n in counts(net, after).values())
        assert result.dead is (enabled_transitions(net, after) == [])
        assert game.enabled() == enabled_transitions(net, after)


def _reachable_in_exactly(net: Net, steps: int, cap: int = 3000) -> list[set[Marking]]:
    """levels[i]: the markings reachable from the initial one by exactly i firings."""
    levels = [{net.initial_marking}]
    for _ in range(steps):
        nxt: set[Marking] = set()
        for m in levels[-1]:
            for t in enabled_transitions(net, m):
                for b in bindings(net, m, t):
                    nxt.add(fire(net, m, t, b).after)
        assume(len(nxt) <= cap)
        levels.append(nxt)
    return levels


@settings(max_examples=scaled(60))
@given(pt_nets(max_places=4, max_transitions=4), st.integers(1, 8), st.integers(0, 2**32))
def test_a_long_pt_run_ends_in_a_reachable_marking_and_reports_dead_correctly(
        spec, steps, seed):
    net = spec.net
    game = TokenGame(net)
    result = game.run(steps, random.Random(seed))
    final = game.marking()
    assert 0 <= result.fired <= steps
    assert final in _reachable_in_exactly(net, result.fired)[result.fired]
    assert result.dead is (enabled_transitions(net, final) == [])
    if result.fired < steps:
        assert result.dead


@settings(max_examples=scaled(40))
@given(colored_nets(max_places=4, max_transitions=3), st.integers(1, 5),
       st.integers(0, 2**32))
def test_a_colored_run_ends_in_a_reachable_marking_and_reports_dead_correctly(
        spec, steps, seed):
    net = spec.net
    game = TokenGame(net)
    result = game.run(steps, random.Random(seed))
    final = game.marking()
    assert final in _reachable_in_exactly(net, result.fired, cap=500)[result.fired]
    assert result.dead is (enabled_transitions(net, final) == [])
    if result.fired < steps:
        assert result.dead


@settings(max_examples=scaled(40))
@given(st.one_of(pt_nets(), colored_nets()), st.data())
def test_a_game_can_start_from_any_marking(spec, data):
    net = spec.net
    start = data.draw(markings_of(net))
    game = TokenGame(net, start)
    assert game.marking() == start
    assert game.enabled() == enabled_transitions(net, start)


def test_run_stops_in_a_dead_marking():
    b = NetBuilder()
    b.place("p", initial=3)
    b.place("q")
    b.transition("t")
    b.arc("p", "t")
    b.arc("t", "q")
    net = b.build()
    game = TokenGame(net)
    result = game.run(10, random.Random(1))
    assert (result.fired, result.dead) == (3, True)
    assert game.marking() == Marking({"q": 3})
    assert game.run(5).fired == 0
    fresh = TokenGame(net)
    assert fresh.run(0).fired == 0 and not fresh.run(0).dead


def test_unknown_transitions_are_refused():
    b = NetBuilder()
    b.place("p", initial=1)
    b.transition("t")
    b.arc("p", "t")
    game = TokenGame(b.build())
    with pytest.raises(FiringError, match="no transition 'x'"):
        game.fire("x")


def test_a_start_marking_with_values_outside_their_places_colors_is_refused():
    # The P/T game keeps counts: 'x' on a black place would have counted as a token.
    b = NetBuilder()
    b.place("p")
    b.place("n", color=IntColor(0, 9))
    b.transition("t")
    b.arc("p", "t")
    net = b.build()
    with pytest.raises(ColorError, match="puts 'x' on place 'p', which holds values of black"):
        TokenGame(net, Marking({"p": ["x"]}))
    with pytest.raises(ColorError, match="puts 10 on place 'n'"):
        TokenGame(net, Marking({"n": [10]}))
    assert TokenGame(net, Marking({"p": 1, "n": [3]})).enabled() == ["t"]


def test_put_refuses_a_string_for_a_collection_of_tokens():
    b = NetBuilder()
    b.place("s", color=StrColor())
    b.place("q")
    b.transition("t")
    b.arc("s", "t", inscription="x")
    b.arc("t", "q")
    game = TokenGame(b.build())
    with pytest.raises(ColorError, match=r"write \['abc'\]"):
        game.put("s", "abc")
    game.put("s", ["abc"])
    assert game.marking() == Marking({"s": ["abc"]})
