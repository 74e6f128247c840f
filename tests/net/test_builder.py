"""NetBuilder: every structural problem reported at once; frozen nets; fingerprints."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.errors import ModelError
from petriflow.net import ArcKind, Marking, NetBuilder
from petriflow.net.colors import BoolColor, IntColor, StrColor
from tests.strategies import INT3, LEVEL, REC, colored_nets, pt_nets, scaled


def test_every_structural_problem_is_reported_at_once():
    b = NetBuilder("broken", file="broken.yaml")
    b.place("p", initial=1, line=1)
    b.place("p", line=2)                                   # 1 duplicate place id
    b.transition("p", line=3)                              # 2 transition reuses a place id
    b.place("q", initial=-2, line=4)                       # 3 negative initial marking
    b.place("c", color=IntColor(0, 3), initial=[7])        # 4 token outside its color set
    b.place("k", color=IntColor(), initial=2)              # 5 colored place given a count
    b.place("out", color=IntColor())
    b.transition("t", guard="1 + 1")                       # 6 guard is not a condition
    b.transition("u", guard="y > 's'")                     # 7 ill-typed guard
    b.transition("w", guard="lambda: 1")                   # 8 guard outside the language
    b.arc("p", "t", arc_id="a1")
    b.arc("p", "t", arc_id="a1")                           # 9 duplicate arc id
    b.arc("p", "tt")                                       # 10 dangling arc (did you mean t?)
    b.arc("p", "q")                                        # 11 place -> place
    b.arc("t", "u")                                        # 12 transition -> transition
    b.arc("p", "u", weight=0)                              # 13 zero weight
    b.arc("p", "w", weight=-1)                             # 14 negative weight
    b.arc("q", "w", weight=True)                           # 15 a bool is not a weight
    b.arc("t", "out", inscription="z")                     # 16 unbound output variable
    b.arc("t", "q", kind=ArcKind.READ)                     # 17 read arc out of a transition
    b.arc("q", "u", kind=ArcKind.INHIBITOR, inscription="1")  # 18 inhibitor with inscription
    b.arc("c", "w")                                        # 19 colored input without pattern
    with pytest.raises(ModelError) as info:
        b.build()
    err = info.value
    expected = [
        "the id 'p' is used twice",
        "the id 'p' is used twice",
        "initial marking of place 'q' is negative (-2)",
        "initial token of place 'c'",
        "colored place 'k' needs tokens, not a count",
        "a condition must be true or false",
        "unknown name 'y'",
        "lambda is not part of the expression language",
        "the arc id 'a1' is used twice",
        "arc refers to 'tt', which is neither a place nor a transition",
        "arc joins two places ('p' -> 'q')",
        "arc joins two transitions ('t' -> 'u')",
        "arc weight must be a positive integer, got 0",
        "arc weight must be a positive integer, got -1",
        "arc weight must be a positive integer, got True",
        "variable(s) z are not bound",
        "a read arc must go from a place to a transition",
        "inhibitor arcs count tokens and take no inscription",
        "arc from colored place 'c' needs an inscription",
    ]
    messages = [p.message for p in err.problems]
    for fragment in expected:
        assert any(fragment in m for m in messages), (fragment, messages)
    assert len(err.problems) == len(expected), messages
    assert str(err).startswith(f"{len(expected)} problems:")
    assert all(p.file == "broken.yaml" for p in err.problems)
    dangling = next(p for p in err.problems if "'tt'" in p.message)
    assert dangling.hint == "did you mean 't'?"
    assert dangling.element is not None
    assert next(p for p in err.problems if "'p' is used twice" in p.message).line == 2


def test_typed_problems_with_patterns_and_outputs():
    b = NetBuilder("typed")
    b.place("nums", color=IntColor(), initial=[1])
    b.place("flags", color=BoolColor(), initial=[True])
    b.place("names", color=StrColor())
    b.place("levels", color=LEVEL)
    b.place("recs", color=REC)
    b.transition("t")
    b.arc("nums", "t", inscription="x")
    b.arc("flags", "t", inscription="x")        # x bound to int and bool
    b.arc("t", "names", inscription="x + 1")    # int into a string place
    b.arc("t", "levels", inscription="x")       # int into an enum place
    b.arc("t", "recs")                          # colored output without inscription
    with pytest.raises(ModelError) as info:
        b.build()
    messages = "\n".join(p.message for p in info.value.problems)
    assert "variable 'x' is bound to values of both int and bool" in messages
    assert "place 'names' holds str" in messages
    assert "place 'levels' holds level" in messages
    assert "arc to colored place 'recs' needs an inscription" in messages


def test_two_colored_arcs_between_the_same_nodes_are_refused_with_a_hint():
    b = NetBuilder()
    b.place("p", color=IntColor())
    b.transition("t")
    b.arc("p", "t", inscription="x")
    b.arc("p", "t", inscription="y")
    with pytest.raises(ModelError) as info:
        b.build()
    assert "two normal arcs join place 'p' and transition 't'" in str(info.value)
    assert info.value.problems[0].hint == "merge them into one arc with a tuple inscription"


@pytest.mark.parametrize("inscription", ["x / 2", "x * 1.5", "min(x, 0.5)"])
def test_decimal_outputs_into_an_int_place_are_refused(inscription):
    b = NetBuilder()
    b.place("a", color=IntColor(), initial=[2])
    b.place("o", color=IntColor())
    b.transition("t")
    b.arc("a", "t", inscription="x")
    b.arc("t", "o", inscription=inscription)
    with pytest.raises(ModelError, match="place 'o' holds int"):
        b.build()


@pytest.mark.parametrize("initial", [True, None, 1.5])
def test_malformed_initial_markings_are_model_errors(initial):
    b = NetBuilder()
    b.place("p", color=IntColor(), initial=initial)
    with pytest.raises(ModelError):
        b.build()


@settings(max_examples=scaled(60))
@given(st.one_of(pt_nets(labelled=True), colored_nets(labelled=True)))
def test_built_nets_are_frozen(spec):
    net = spec.net
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.name = "other"  # type: ignore[misc]
    for node in (*net.places, *net.transitions, *net.arcs):
        with pytest.raises(dataclasses.FrozenInstanceError):
            node.id = "other"  # type: ignore[misc]
    assert isinstance(net.initial_marking, Marking)
    assert {p.id for p in net.places} == {p for p, *_ in spec.places}
    assert net == spec.builder().build() and hash(net) == hash(spec.builder().build())


@settings(max_examples=scaled(60))
@given(st.one_of(pt_nets(labelled=True), colored_nets(labelled=True)),
       st.randoms(use_true_random=False))
def test_the_fingerprint_does_not_depend_on_declaration_order(spec, rnd):
    def build(order_seed):
        shuffle = random.Random(order_seed).shuffle
        places, transitions = list(spec.places), list(spec.transitions)
        arcs = [(f"arc{i}", *a) for i, a in enumerate(spec.arcs)]
        if order_seed is not None:
            shuffle(places)
            shuffle(transitions)
            shuffle(arcs)
        b = NetBuilder(spec.name)
        for pid, color, initial, name in places:
            b.place(pid, color=color, initial=initial, name=name)
        for tid, guard, variables, meta, name in transitions:
            b.transition(tid, guard=guard, variables=variables, meta=meta, name=name)
        for arc_id, source, target, weight, kind, inscription in arcs:
            b.arc(source, target, weight=weight, kind=kind, inscription=inscription,
                  arc_id=arc_id)
        return b.build()

    a, b = build(None), build(rnd.random())
    assert a.fingerprint == b.fingerprint and a == b


def test_different_nets_have_different_fingerprints():
    def net(weight: int, initial: int, guard: str | None = None):
        b = NetBuilder("n")
        b.place("p", color=INT3, initial=[0] * initial)
        b.transition("t", guard=guard)
        b.arc("p", "t", weight=weight, inscription="x")
        return b.build()

    nets = [net(1, 1), net(2, 1), net(1, 2), net(1, 1, "x > 0"), net(1, 1, "x > 1")]
    assert len({n.fingerprint for n in nets}) == len(nets)


def test_nets_that_differ_only_by_arc_ends_are_not_equal():
    def net(arc_id: str, source: str):
        b = NetBuilder("n")
        b.place("p q")
        b.place("q")
        b.transition("t")
        b.arc(source, "t", arc_id=arc_id)
        return b.build()

    one, two = net("a", "p q"), net("a p", "q")
    assert one.arcs[0].place != two.arcs[0].place
    assert one != two
