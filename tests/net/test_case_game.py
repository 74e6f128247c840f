"""The colored fast path (CaseState) agrees with the general binding machinery.

Random case-shaped nets (every input arc black or one variable, no read or inhibitor arcs,
no free variables; outputs that copy a variable or compute a value; guards) are run by a
fast :class:`TokenGame` and by one forced onto the general path (``fast=False``), side by
side: the same enabled transitions, the same bindings, the same markings and dead states
after the same choices, and every random step of the fast ``run`` is a step of the
reference firing rule.
"""

from __future__ import annotations

import collections
import random
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.net import (
    ArcKind,
    Binding,
    Marking,
    NetBuilder,
    RecordColor,
    TokenGame,
    bindings,
    enabled_transitions,
    fire,
)
from petriflow.net.case_game import CaseState
from petriflow.net.colored_game import ColoredState
from petriflow.net.colors import BLACK, DecimalColor, IntColor, Record
from petriflow.net.expr import Var
from tests.strategies import (
    PLACE_COLORS,
    NetSpec,
    available,
    expressions,
    scaled,
    target_of,
    values_of,
)

# black places twice as likely (gates) in the mixed nets
COLORS = (BLACK, *PLACE_COLORS)


@st.composite
def flow_nets(draw: st.DrawFn, *, max_places: int = 6, max_transitions: int = 5) -> NetSpec:
    """Nets shaped like compiled processes: tokens of one color flow through steps and
    joins that all bind the same variable ``c``, a few black gates, guards on ``c``,
    mostly copied and sometimes computed outputs; initial tokens from a small pool of
    values, so that joins meet."""
    spec = NetSpec("flow")
    color = draw(st.sampled_from(PLACE_COLORS[1:]))
    pool = draw(st.lists(values_of(color, spread=1), min_size=1, max_size=3))
    places = []
    for i in range(draw(st.integers(2, max_places))):
        c = color if i == 0 or draw(st.integers(0, 4)) else BLACK
        initial: Any = (draw(st.integers(0, 2)) if c == BLACK
                        else draw(st.lists(st.sampled_from(pool), max_size=3)))
        spec.places.append((f"p{i}", c, initial, None))
        places.append((f"p{i}", c))
    env = {"c": color}
    weights = st.sampled_from([1, 1, 1, 1, 2])
    for j in range(draw(st.integers(1, max_transitions))):
        tid = f"t{j}"
        ins = draw(st.lists(st.sampled_from(places), min_size=1, max_size=3,
                            unique_by=lambda pc: pc[0]))
        bound = any(c != BLACK for _, c in ins)
        for pid, c in ins:
            spec.arcs.append((pid, tid, draw(weights), ArcKind.NORMAL,
                              None if c == BLACK else Var("c")))
        guard = None
        if bound and not draw(st.integers(0, 2)):
            guard = draw(expressions("bool", env, depth=2, small=True))
        for pid, c in draw(st.lists(st.sampled_from(places), max_size=3,
                                    unique_by=lambda pc: pc[0])):
            if c == BLACK:
                spec.arcs.append((tid, pid, draw(weights), ArcKind.NORMAL, None))
            elif bound and draw(st.integers(0, 4)):
                spec.arcs.append((tid, pid, draw(weights), ArcKind.NORMAL, Var("c")))
            elif available(target_of(c), env if bound else {}):
                spec.arcs.append((tid, pid, 1, ArcKind.NORMAL, draw(expressions(
                    target_of(c), env if bound else {}, depth=2, small=True))))
        spec.transitions.append((tid, guard, {}, {}, None))
        spec.env[tid] = env if bound else {}
    return spec


@st.composite
def mixed_nets(draw: st.DrawFn, *, max_places: int = 5, max_transitions: int = 4) -> NetSpec:
    """Random case-shaped nets over all colors: several variables per transition, joins,
    black gates, guards, copied and computed outputs."""
    spec = NetSpec("case")
    places = []
    for i in range(draw(st.integers(2, max_places))):
        color = draw(st.sampled_from(PLACE_COLORS[1:] if i == 0 else COLORS))
        initial: Any = (draw(st.integers(0, 3)) if color == BLACK
                        else draw(st.lists(values_of(color, spread=2), max_size=3)))
        spec.places.append((f"p{i}", color, initial, None))
        places.append((f"p{i}", color))
    for j in range(draw(st.integers(1, max_transitions))):
        tid = f"t{j}"
        env: dict[str, Any] = {}
        arcs = []
        for pid, color in draw(st.lists(st.sampled_from(places), min_size=1, max_size=3,
                                        unique_by=lambda pc: pc[0])):
            weight = draw(st.integers(1, 2))
            if color == BLACK:
                arcs.append((pid, tid, weight, ArcKind.NORMAL, None))
                continue
            same = [n for n, c in env.items() if c == color]
            if same and draw(st.integers(0, 3)):  # a join on a variable already bound
                name = draw(st.sampled_from(same))
            else:
                name = f"v{len(env)}"
                env[name] = color
            arcs.append((pid, tid, weight, ArcKind.NORMAL, Var(name)))
        guard = None
        if env and draw(st.booleans()):
            guard = draw(expressions("bool", env, depth=2, small=True))
        for pid, color in draw(st.lists(st.sampled_from(places), max_size=3,
                                        unique_by=lambda pc: pc[0])):
            weight = draw(st.integers(1, 2))
            if color == BLACK:
                arcs.append((tid, pid, weight, ArcKind.NORMAL, None))
                continue
            copies = [n for n, c in env.items() if c == color]
            if not copies and draw(st.booleans()):
                continue  # mostly copies: a computed token only now and then
            if copies and draw(st.integers(0, 3)):
                arcs.append((tid, pid, weight, ArcKind.NORMAL,
                             Var(draw(st.sampled_from(copies)))))
            elif available(target_of(color), env):
                arcs.append((tid, pid, weight, ArcKind.NORMAL,
                             draw(expressions(target_of(color), env, depth=2, small=True))))
        spec.transitions.append((tid, guard, {}, {}, None))
        spec.arcs.extend(arcs)
        spec.env[tid] = env
    return spec


def case_nets() -> st.SearchStrategy[NetSpec]:
    """Random case-shaped colored nets: the shape :func:`case_layout` accepts."""
    return st.one_of(flow_nets(), mixed_nets())


def _choices(net, m):
    return [(t, b) for t in enabled_transitions(net, m) for b in bindings(net, m, t)]


def _same_state(fast: TokenGame, general: TokenGame) -> None:
    assert isinstance(fast._colored, CaseState)
    assert isinstance(general._colored, ColoredState)
    assert fast.marking() == general.marking()
    assert fast.enabled() == general.enabled()
    assert fast.is_dead() is general.is_dead()
    for t in fast.net.transitions:
        assert (collections.Counter(fast.bindings(t.id))
                == collections.Counter(general.bindings(t.id))), t.id


@settings(max_examples=scaled(150))
@given(case_nets(), st.data())
def test_fast_and_general_paths_agree_on_the_same_choices(spec, data):
    net = spec.net
    assert net._case_layout is not None, "the strategy must make case-shaped nets"
    fast, general = TokenGame(net), TokenGame(net, fast=False)
    m = net.initial_marking
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        _same_state(fast, general)
        assert fast.marking() == m
        assert fast.enabled() == enabled_transitions(net, m)
        if data.draw(st.integers(0, 4), label="put?") == 0:  # a token enters
            pid, color, _, _ = data.draw(st.sampled_from(spec.places), label="place")
            token = data.draw(values_of(color, spread=2), label="token")
            tokens: Any = 1 if color == BLACK else [token]
            fast.put(pid, tokens)
            general.put(pid, tokens)
            m = fast.marking()
            continue
        choices = _choices(net, m)
        if not choices:
            break
        t, b = data.draw(st.sampled_from(choices), label="choice")
        expected = fire(net, m, t, b)
        step, other = fast.fire(t, b), general.fire(t, b)
        assert (step.consumed, step.produced, step.after) == (
            expected.consumed, expected.produced, expected.after)
        assert other.after == expected.after
        m = expected.after
    _same_state(fast, general)


@settings(max_examples=scaled(150))
@given(case_nets(), st.integers(0, 2**32), st.integers(1, 25))
def test_every_step_of_a_fast_run_is_a_step_of_the_firing_rule(spec, seed, steps):
    net = spec.net
    fast, general = TokenGame(net), TokenGame(net, fast=False)
    rng = random.Random(seed)
    for _ in range(steps):
        before = fast.marking()
        result = fast.run(1, rng)
        after = fast.marking()
        if result.fired == 0:
            assert result.dead and _choices(net, before) == []
            break
        matches = [(t, b) for t, b in _choices(net, before)
                   if fire(net, before, t, b).after == after]
        assert matches, f"run() moved {before} to {after}: no enabled binding does that"
        general.fire(*matches[0])
        _same_state(fast, general)
        assert result.dead is (enabled_transitions(net, after) == [])


@settings(max_examples=scaled(60))
@given(case_nets(), st.integers(0, 2**32), st.integers(0, 40))
def test_the_same_seed_gives_the_same_run(spec, seed, steps):
    net = spec.net
    one, two = TokenGame(net), TokenGame(net)
    r1, r2 = one.run(steps, random.Random(seed)), two.run(steps, random.Random(seed))
    assert r1 == r2
    assert one.marking() == two.marking()


def test_compaction_reclaims_ids_and_keeps_bindings():
    """A counter makes a new value per step: the id table is compacted, the state stays
    exact, and a join waiting on an old value still sees it."""
    b = NetBuilder("counter")
    b.place("p", color=IntColor(), initial=[0])
    b.place("keep", color=IntColor(), initial=[7])
    b.place("also", color=IntColor())
    b.place("done", color=IntColor())
    b.transition("inc", guard="x < 20000")
    b.arc("p", "inc", inscription="x")
    b.arc("inc", "p", inscription="x + 1")
    b.transition("join")
    b.arc("keep", "join", inscription="k")
    b.arc("also", "join", inscription="k")
    b.arc("join", "done", inscription="k")
    net = b.build()
    game = TokenGame(net)
    result = game.run(20000, random.Random(3))
    assert result.fired == 20000
    assert game.marking() == Marking({"p": [20000], "keep": [7]})
    state = game._colored
    assert isinstance(state, CaseState)
    assert len(state.values) < 3 * 4096, "ids of values no place holds were not reclaimed"
    game.put("also", [7])
    assert game.enabled() == ["join"]
    assert game.bindings("join") == [Binding(k=7)]
    game.run(10, random.Random(1))
    assert game.marking() == Marking({"p": [20000], "done": [7]})
    assert game.is_dead()


def test_the_benchmark_shapes_take_the_fast_path():
    case = RecordColor((("id", IntColor()), ("amount", DecimalColor())), name="case")
    b = NetBuilder("fork")
    for p in ("start", "a", "b", "end"):
        b.place(p, color=case)
    b.transition("fork")
    b.arc("start", "fork", inscription="c")
    b.arc("fork", "a", inscription="c")
    b.arc("fork", "b", inscription="c")
    b.transition("join", guard="c.amount > 1000")
    b.arc("a", "join", inscription="c")
    b.arc("b", "join", inscription="c")
    b.arc("join", "end", inscription="c")
    net = b.build()
    game = TokenGame(net, Marking())
    assert isinstance(game._colored, CaseState)
    cases = [Record(id=i, amount=Decimal(999 + i)) for i in range(4)]
    for c in cases:
        game.put("start", [c])
    assert game.run(100, random.Random(2)).dead
    # the guard holds for amounts above 1000 only: case 0 and 1 wait before the join
    m = game.marking()
    assert m["end"].size == 2 and m["a"].size == 2 and m["b"].size == 2
    assert net._case_layout is net._case_layout, "the layout is built once per net"


def test_a_token_leaving_drops_the_binding_of_a_transition_whose_gate_is_closed():
    """``wait`` has the binding c=1 but no black token on ``gate``: it is not enabled, and
    when ``step`` takes the token away the fast loop must not touch the enabled set."""
    b = NetBuilder("gated")
    b.place("p", color=IntColor(0, 3), initial=[1])
    b.place("q", color=IntColor(0, 3))
    b.place("gate")
    b.transition("step")
    b.arc("p", "step", inscription="c")
    b.arc("step", "q", inscription="c")
    b.transition("wait")
    b.arc("p", "wait", inscription="c")
    b.arc("gate", "wait")
    b.arc("wait", "q", inscription="c")
    net = b.build()
    fast, general = TokenGame(net), TokenGame(net, fast=False)
    assert fast.enabled() == ["step"] and fast.bindings("wait") == []
    assert fast.run(5, random.Random(0)).fired == 1
    general.fire("step")
    _same_state(fast, general)
    fast.put("p", [2])
    fast.put("gate", 1)
    assert fast.enabled() == ["step", "wait"]
