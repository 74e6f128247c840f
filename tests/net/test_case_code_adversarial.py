"""The generated firing functions of pure transitions (case_code) and the CaseState paths
around them, under adversarial nets and call sequences: every observable state of the
fast path (marking, enabled set, bindings) must be the reference firing rule's, whatever
mix of run(k), put, fire and id compaction came before; and no text of the model
reaches the generated code."""

from __future__ import annotations

import collections
import keyword
import random
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petriflow.net import (
    Binding,
    IntColor,
    Marking,
    NetBuilder,
    TokenGame,
    bindings,
    case_game,
    enabled_transitions,
    fire,
)
from petriflow.net.case_code import pure_source
from petriflow.net.case_game import CaseState
from petriflow.net.case_layout import GENERAL, INLINE, PURE
from petriflow.net.colored_game import ColoredState
from petriflow.net.expr import Arith, Compare, Const, Var
from tests.net.test_case_code import check_generated_text
from tests.strategies import scaled

COLOR = IntColor(0, 5)
# true, false, sometimes false, raising for c == 1 (a ZeroDivisionError means "not enabled")
RAISES = "c // (c - 1) >= 0"  # (the parser refuses the divisor: built as an Expr)
GUARDS = (None, None, None, "c > 1", "c != 2", RAISES, "c < 0", "c % 2 == 0")
# an output: a copy (keeps the transition pure), a computed value (checked against the
# place's color: c + 1 leaves it for c == 5) or, on a black place, a black token
COPY, CALC = "c", "c + 1"


# -- random nets of pure transitions and their neighbours ---------------------------------

@st.composite
def pure_nets(draw: st.DrawFn) -> tuple[list, list]:
    """(places, transitions) of a case-shaped net over one color where most transitions
    are pure: single tokens of ``c`` copied between colored places, with self-loops,
    forks, joins, guards, black gates (gated watchers of pure places), and now and then
    a weight 2, a black or a computed output that makes a transition (or the places it
    reads) impure."""
    rare = draw(st.sampled_from([0, 12, 5]))  # 1 in ``rare`` arcs is impure (0: none)

    def odd() -> bool:
        return bool(rare) and draw(st.integers(0, rare - 1)) == 0

    n_places = draw(st.integers(2, 6))
    places = []
    for i in range(n_places):
        black = i > 0 and draw(st.integers(0, 4)) == 0
        initial: Any = (draw(st.integers(0, 2)) if black
                        else draw(st.lists(st.integers(0, 5), max_size=4)))
        places.append((f"p{i}", black, initial))
    colored = [p for p, black, _ in places if not black]
    blacks = [p for p, black, _ in places if black]
    transitions = []
    for j in range(draw(st.integers(1, 6))):
        ins = draw(st.lists(st.sampled_from(colored), min_size=1, max_size=3, unique=True))
        inputs = [(p, 2 if odd() else 1) for p in ins]
        if blacks and draw(st.integers(0, 2)) == 0:
            inputs.append((draw(st.sampled_from(blacks)), draw(st.integers(1, 2))))
        outputs = []
        targets = colored + (blacks if odd() or inputs[-1][0] in blacks else [])
        for p in draw(st.lists(st.sampled_from(targets), max_size=3, unique=True)):
            if p in blacks:
                outputs.append((p, 1, None))
            else:
                outputs.append((p, 2 if odd() else 1, CALC if odd() else COPY))
        transitions.append((f"t{j}", draw(st.sampled_from(GUARDS)), inputs, outputs))
    return places, transitions


def build(spec: tuple[list, list], names: dict[str, str] | None = None):
    names = names or {}
    places, transitions = spec
    b = NetBuilder("review")
    for p, black, initial in places:
        if black:
            b.place(names.get(p, p), initial=initial)
        else:
            b.place(names.get(p, p), color=COLOR, initial=initial)
    var = names.get("c", "c")
    for t, guard, inputs, outputs in transitions:
        g: Any = None if guard is None else re.sub(r"\bc\b", var, guard)
        if guard == RAISES:
            g = Compare(">=", Arith("//", Var(var), Arith("-", Var(var), Const(1))), Const(0))
        b.transition(names.get(t, t), guard=g)
        for p, w in inputs:
            black = dict((q, bl) for q, bl, _ in places)[p]
            b.arc(names.get(p, p), names.get(t, t), weight=w,
                  inscription=None if black else var)
        for p, w, insc in outputs:
            b.arc(names.get(t, t), names.get(p, p), weight=w,
                  inscription=None if insc is None else re.sub(r"\bc\b", var, insc))
    return b.build()


# -- checks ------------------------------------------------------------------------------

def _choices(net, m):
    return [(t, b) for t in enabled_transitions(net, m) for b in bindings(net, m, t)]


def _agrees_with_the_rule(game: TokenGame) -> None:
    """The game's enabled set and bindings are those of the firing rule on its marking,
    and its internal tables are consistent (no enabled transition without a binding)."""
    net, m = game.net, game.marking()
    assert game.enabled() == enabled_transitions(net, m)
    for t in net.transitions:
        assert (collections.Counter(game.bindings(t.id))
                == collections.Counter(bindings(net, m, t.id))), t.id
    state = game._colored
    assert isinstance(state, CaseState)
    assert sorted(state.enabled) == sorted(set(state.enabled))
    for k, u in enumerate(state.enabled):
        assert state.epos[u] == k
        if state.layout.names[u]:
            assert state.bind[u], f"{state.layout.tids[u]} enabled without a binding"
    for u, keys in enumerate(state.bind):
        assert len(set(keys)) == len(keys)
        assert state.bpos[u] == {key: k for k, key in enumerate(keys)}
        if state.epos[u] < 0:
            assert u not in state.enabled
    for bag in state.bags:
        assert all(n > 0 for n in bag.values())
        assert all(x < len(state.values) for x in bag)
    for t, table in enumerate(state.tables):
        for value, x in table.items():
            assert state.values[x] == value and state.owner[x] == t


def _same(fast: TokenGame, general: TokenGame) -> None:
    assert isinstance(general._colored, ColoredState)
    assert fast.marking() == general.marking()
    assert fast.enabled() == general.enabled()
    for t in fast.net.transitions:
        assert (collections.Counter(fast.bindings(t.id))
                == collections.Counter(general.bindings(t.id))), t.id


def _one_checked_step(game: TokenGame, general: TokenGame, rng: random.Random) -> bool:
    net = game.net
    before = game.marking()
    result = game.run(1, rng)
    after = game.marking()
    if result.fired == 0:
        assert result.dead and _choices(net, before) == []
        return False
    matches = [(t, b) for t, b in _choices(net, before) if fire(net, before, t, b).after == after]
    assert matches, f"run() moved {before} to {after}: no enabled binding does that"
    general.fire(*matches[0])
    return True


def _put_value(draw_or_rng, spec):
    places = spec[0]
    p, black, _ = draw_or_rng.choice(places)
    return p, (1 if black else [draw_or_rng.randrange(6)])


Op = st.one_of(
    st.tuples(st.just("run"), st.integers(1, 6)),
    st.tuples(st.just("put"), st.integers(0, 2**16)),
    st.tuples(st.just("fire"), st.integers(0, 2**16)),
    st.tuples(st.just("compact"), st.just(0)),
)


@settings(max_examples=scaled(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(pure_nets(), st.lists(Op, min_size=1, max_size=12), st.integers(0, 2**32))
def test_runs_puts_fires_and_compactions_keep_the_fast_path_exact(spec, ops, seed):
    """A batch run(k) equals k runs of one step on a twin game with the same random
    numbers (the batch loop keeps no stale local), every single step is a step of the
    firing rule, and after each operation both games, and a general-path game that
    replays the twin's steps, show the rule's enabled set and bindings."""
    net = build(spec)
    layout = net._case_layout
    assert layout is not None
    batch, twin, general = TokenGame(net), TokenGame(net), TokenGame(net, fast=False)
    rng = random.Random(seed)
    for op, arg in ops:
        if op == "run":
            s = rng.randrange(2**32)
            r1, r2 = random.Random(s), random.Random(s)
            result = batch.run(arg, r1)
            fired = 0
            while fired < arg and _one_checked_step(twin, general, r2):
                fired += 1
            assert result.fired == fired
            assert result.dead is twin.is_dead()
        elif op == "put":
            p, tokens = _put_value(random.Random(arg), spec)
            for g in (batch, twin, general):
                g.put(p, tokens)
        elif op == "fire":
            choices = _choices(net, twin.marking())
            if choices:
                t, b = random.Random(arg).choice(choices)
                expected = fire(net, twin.marking(), t, b)
                for g in (batch, twin, general):
                    assert g.fire(t, b).after == expected.after
        else:  # ids renumbered under the generated functions' feet
            for g in (batch, twin):
                g._colored._compact()
        assert batch.marking() == twin.marking()
        _agrees_with_the_rule(batch)
        _agrees_with_the_rule(twin)
        _same(twin, general)


@settings(max_examples=scaled(150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(pure_nets(), st.integers(0, 2**32), st.integers(1, 30))
def test_runs_with_compaction_at_every_chance(spec, seed, steps):
    """With the id table compacted whenever a value is made or put, a run still follows
    the firing rule step by step."""
    net = build(spec)
    rng = random.Random(seed)
    old = case_game._MIN_TABLE
    case_game._MIN_TABLE = 0
    try:
        game, general = TokenGame(net), TokenGame(net, fast=False)
        for k in range(steps):
            game._colored.limit = 0
            if k % 4 == 3:
                p, tokens = _put_value(rng, spec)
                game.put(p, tokens)
                general.put(p, tokens)
            elif not _one_checked_step(game, general, rng):
                break
            _agrees_with_the_rule(game)
            _same(game, general)
    finally:
        case_game._MIN_TABLE = old


@settings(max_examples=scaled(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(pure_nets(), st.integers(0, 2**32))
def test_two_games_of_one_net_keep_their_own_state(spec, seed):
    """Interleaved games of one net (one compiled maker): each follows the rule on its own
    marking; what one does never shows in the other."""
    net = build(spec)
    rng = random.Random(seed)
    games = [TokenGame(net), TokenGame(net, Marking())]
    generals = [TokenGame(net, fast=False), TokenGame(net, Marking(), fast=False)]
    for _ in range(12):
        k = rng.randrange(2)
        if rng.randrange(3) == 0:
            p, tokens = _put_value(rng, spec)
            games[k].put(p, tokens)
            generals[k].put(p, tokens)
        else:
            _one_checked_step(games[k], generals[k], rng)
        for g, h in zip(games, generals, strict=True):
            _agrees_with_the_rule(g)
            _same(g, h)


# -- targeted shapes -------------------------------------------------------------------

def _net(places, transitions):
    return build((places, transitions))


def _kinds(net):
    layout = net._case_layout
    return {t: layout.kind[u] for u, t in enumerate(layout.tids)}


def _exhaust(net, marking=None, seeds=range(20), steps=50):
    """Every seed: a run of single checked steps and a batch run end in the same state,
    the rule's."""
    for seed in seeds:
        game, general = TokenGame(net, marking), TokenGame(net, marking, fast=False)
        rng = random.Random(seed)
        for _ in range(steps):
            if not _one_checked_step(game, general, rng):
                break
            _agrees_with_the_rule(game)
            _same(game, general)
        batch = TokenGame(net, marking)
        batch.run(steps, random.Random(seed))
        assert batch.marking() == game.marking()
        _agrees_with_the_rule(batch)


def test_self_loop_with_a_token_present_twice():
    net = _net([("a", False, [1, 1, 2]), ("b", False, [])],
               [("loop", None, [("a", 1)], [("a", 1, COPY)]),
                ("out", "c > 1", [("a", 1)], [("b", 1, COPY)])])
    assert _kinds(net) == {"loop": PURE, "out": PURE}
    _exhaust(net)


def test_join_completed_in_either_order_and_a_guard_that_raises():
    # fork puts c on l and r through two branches; join needs c on both, and its guard
    # divides by c - 1 (raising for c == 1)
    net = _net([("s", False, [0, 1, 2, 3, 2]), ("l0", False, []), ("l", False, []),
                ("r", False, []), ("e", False, [])],
               [("fork", None, [("s", 1)], [("l0", 1, COPY), ("r", 1, COPY)]),
                ("step", None, [("l0", 1)], [("l", 1, COPY)]),
                ("join", RAISES, [("l", 1), ("r", 1)], [("e", 1, COPY)])])
    assert set(_kinds(net).values()) == {PURE}
    _exhaust(net)
    game = TokenGame(net)
    game.run(1000, random.Random(0))
    m = game.marking()
    assert m == Marking({"l": [1], "r": [1], "e": [0, 2, 2, 3]})


def test_a_fork_into_both_arcs_of_a_join_and_into_one_already_holding_the_token():
    net = _net([("s", False, [3, 3]), ("l", False, [3]), ("r", False, []), ("e", False, [])],
               [("fork", None, [("s", 1)], [("l", 1, COPY), ("r", 1, COPY)]),
                ("join", None, [("l", 1), ("r", 1)], [("e", 1, COPY)])])
    assert set(_kinds(net).values()) == {PURE}
    _exhaust(net)


def test_gated_watchers_of_pure_places_open_and_close():
    # wait watches the pure place q and a black gate g that the general transition
    # 'toggle' empties and fills; 'stop' (an INLINE transition: a black output) shares q
    net = _net([("p", False, [1, 2, 2]), ("q", False, []), ("g", True, 1), ("h", True, 0),
                ("e", False, [])],
               [("move", None, [("p", 1)], [("q", 1, COPY)]),
                ("wait", "c != 2", [("q", 1), ("g", 1)], [("e", 1, COPY), ("g", 1, None)]),
                ("stop", None, [("q", 1)], [("h", 1, None), ("p", 1, COPY)]),
                ("toggle", None, [("e", 1)], [("p", 1, COPY)])])
    kinds = _kinds(net)
    assert kinds["move"] == PURE and kinds["wait"] != PURE and kinds["stop"] == INLINE
    _exhaust(net)


def test_a_general_watcher_with_a_computed_output_next_to_pure_steps():
    net = _net([("p", False, [0, 4, 5, 5]), ("q", False, []), ("r", False, [])],
               [("step", "c % 2 == 0", [("p", 1)], [("q", 1, COPY)]),
                ("inc", None, [("q", 1)], [("p", 1, CALC)]),  # c + 1 fails for c = 5
                ("back", None, [("q", 1)], [("r", 1, COPY)])])
    kinds = _kinds(net)
    assert kinds["step"] == PURE and kinds["inc"] == GENERAL
    _exhaust(net)


def test_a_short_run_continued_and_tokens_put_between_runs():
    net = _net([("a", False, [0, 1]), ("b", False, []), ("k", False, []), ("d", False, [])],
               [("ab", None, [("a", 1)], [("b", 1, COPY)]),
                ("bk", "c > 0", [("b", 1)], [("k", 1, COPY)]),
                ("join", None, [("b", 1), ("k", 1)], [("d", 1, COPY)])])
    assert set(_kinds(net).values()) == {PURE}
    game = TokenGame(net)
    rng = random.Random(5)
    for k in range(40):
        game.run(k % 3, rng)
        _agrees_with_the_rule(game)
        if k % 5 == 0:
            game.put(random.Random(k).choice(["a", "b", "k"]), [k % 3])
            _agrees_with_the_rule(game)
        if k % 7 == 0:
            game._colored._compact()
            _agrees_with_the_rule(game)


def test_compaction_after_the_functions_are_made_renumbers_what_they_see():
    """Ids are renumbered after the first run made the functions; they keep working on
    the renumbered bags, bindings and values."""
    net = _net([("a", False, []), ("b", False, []), ("k", False, [])],
               [("ab", None, [("a", 1)], [("b", 1, COPY)]),
                ("bk", "c != 3", [("b", 1)], [("k", 1, COPY)])])
    game = TokenGame(net, Marking())
    for v in range(6):
        game.put("a", [v])
    game.run(3, random.Random(1))  # the functions are made here
    state = game._colored
    assert state._fires is not None
    game.fire("ab", Binding(c=game.bindings("ab")[0]["c"]))
    before = len(state.values)
    state._compact()
    assert len(state.values) <= before
    _agrees_with_the_rule(game)
    assert game.run(100, random.Random(2)).dead
    _agrees_with_the_rule(game)
    m = game.marking()
    assert sorted(m["k"]) == [0, 1, 2, 4, 5] and list(m["b"]) == [3]


def test_compaction_drops_ids_the_functions_last_touched():
    """A computed output makes new values, so ids are reclaimed during run(); the pure
    steps after it must see the renumbered ids."""
    b = NetBuilder("counter")
    b.place("p", color=IntColor(), initial=[0])
    b.place("q", color=IntColor())
    b.place("r", color=IntColor())
    b.transition("inc", guard="x < 3000")
    b.arc("p", "inc", inscription="x")
    b.arc("inc", "q", inscription="x + 1")
    b.transition("move")  # pure
    b.arc("q", "move", inscription="x")
    b.arc("move", "r", inscription="x")
    b.transition("back")  # pure
    b.arc("r", "back", inscription="x")
    b.arc("back", "p", inscription="x")
    net = b.build()
    old = case_game._MIN_TABLE
    case_game._MIN_TABLE = 8
    try:
        game = TokenGame(net)
        for _ in range(100):
            game.run(97, random.Random(4))
            _agrees_with_the_rule(game)
        assert game.run(10**6, random.Random(0)).dead
        assert game.marking() == Marking({"p": [3000]})
        assert len(game._colored.values) < 20
    finally:
        case_game._MIN_TABLE = old


# -- the generated text --------------------------------------------------------------------

_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and s not in {"c", "True", "False", "None", "and",
                                                      "or", "not", "in", "if", "else",
                                                      "min", "max", "abs"})


@settings(max_examples=scaled(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pure_nets(), st.data())
def test_the_generated_text_depends_on_the_structure_only(spec, data):
    """The same net under other names (places, transitions, the variable) and other
    initial values compiles to the same text, which holds no string literal and no name
    but its own."""
    places, transitions = spec
    ids = [p for p, _, _ in places] + [t for t, *_ in transitions]
    hostile = data.draw(st.lists(st.text(min_size=1, max_size=12).filter(
        lambda s: s.strip() == s and s.isprintable()), min_size=len(ids), max_size=len(ids),
        unique=True), label="ids")
    names = dict(zip(ids, hostile, strict=True))
    names["c"] = data.draw(_IDENT, label="variable")
    try:
        other = build(spec, names)
    except Exception:  # an id the builder refuses: nothing to compare
        return
    plain = build(spec)
    one, two = plain._case_layout, other._case_layout
    assert one is not None and two is not None
    assert one.pure == two.pure
    assert pure_source(one) == pure_source(two)
    for source in pure_source(two):
        check_generated_text(source)


def test_a_string_literal_of_a_guard_does_not_reach_the_text():
    from petriflow.net import StrColor

    def net(literal: str):
        b = NetBuilder("s")
        for p in ("a", "b", "c"):
            b.place(p, color=StrColor(), initial=[literal, "ok"] if p == "a" else [])
        b.transition("ab")
        b.arc("a", "ab", inscription="v")
        b.arc("ab", "b", inscription="v")
        b.transition("bc", guard=f"v != {literal!r}")
        b.arc("b", "bc", inscription="v")
        b.arc("bc", "c", inscription="v")
        return b.build()

    hostile = "x'); __import__('os').system('echo owned') #"
    plain, bad = net("x"), net(hostile)
    assert pure_source(plain._case_layout) == pure_source(bad._case_layout)
    assert all("owned" not in s and "'" not in s and '"' not in s
               for s in pure_source(bad._case_layout))
    game = TokenGame(bad)
    assert game.run(100, random.Random(0)).dead
    assert game.marking() == Marking({"b": [hostile], "c": ["ok"]})


def test_nets_sharing_compiled_makers_and_a_cleared_cache_stay_independent():
    from petriflow.net import case_code

    def chain(n: int, guard_at: int):
        b = NetBuilder(f"chain{n}")
        for i in range(n + 1):
            b.place(f"p{i}", color=COLOR, initial=[1, 2, 3] if i == 0 else [])
        for i in range(n):
            b.transition(f"t{i}", guard="c > 1" if i == guard_at else None)
            b.arc(f"p{i}", f"t{i}", inscription="c")
            b.arc(f"t{i}", f"p{i + 1}", inscription="c")
        return b.build()

    old = case_code._MAX_SHAPES
    case_code._MAX_SHAPES = 2  # the cache is cleared while games made from it still run
    try:
        nets = [chain(n, g) for n in (2, 3, 4) for g in range(n)]
        games = [TokenGame(net) for net in nets]
        rng = random.Random(9)
        for _ in range(200):
            k = rng.randrange(len(games))
            games[k].run(rng.randrange(1, 3), rng)
            _agrees_with_the_rule(games[k])
        for game in games:
            game.run(1000, rng)
            n = len(game.net.places) - 1
            g = next(t.id for t in game.net.transitions if t.guard is not None)
            stuck = int(g[1:])
            assert game.marking() == Marking({f"p{n}": [2, 3], f"p{stuck}": [1]})
    finally:
        case_code._MAX_SHAPES = old


def test_a_deep_copy_of_a_game_that_has_run_is_independent():
    """The generated functions are bound to the containers of the state that made them:
    a copy makes its own (and shares the net's layout)."""
    import copy

    net = _net([("a", False, [1, 2, 3]), ("b", False, []), ("k", False, [])],
               [("ab", None, [("a", 1)], [("b", 1, COPY)]),
                ("bk", None, [("b", 1)], [("k", 1, COPY)])])
    game = TokenGame(net)
    game.run(1, random.Random(0))  # the pure functions are made here
    before = game.marking()
    twin = copy.deepcopy(game)
    twin.run(100, random.Random(1))
    assert game.marking() == before
    assert twin.marking() == Marking({"k": [1, 2, 3]})
