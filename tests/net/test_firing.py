"""The firing rule: bindings, enabledness, checked firing, the marking equation."""

from __future__ import annotations

import collections
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.errors import (
    ColorError,
    FiringError,
    NotEnabledError,
    UnboundVariableError,
)
from petriflow.net import (
    ArcKind,
    Binding,
    Marking,
    Net,
    NetBuilder,
    TokenGame,
    bindings,
    enabled_transitions,
    fire,
    is_enabled,
)
from petriflow.net.colors import DOT, BoolColor, DecimalColor, IntColor, Record
from tests.net.ptsemantics import counts, equation, incidence, pt_enabled
from tests.strategies import (
    LEVEL,
    PAIR,
    REC,
    NetSpec,
    colored_nets,
    markings_of,
    pt_nets,
    scaled,
    values_of,
)

# -- P/T properties ---------------------------------------------------------------------


@settings(max_examples=scaled(100))
@given(pt_nets(), st.data())
def test_pt_fire_refuses_exactly_what_is_not_enabled(spec, data):
    net = spec.net
    m = data.draw(st.one_of(st.just(net.initial_marking), markings_of(net)), label="start")
    c = incidence(net)
    for _ in range(data.draw(st.integers(0, 6), label="warm-up steps")):
        enabled = enabled_transitions(net, m)
        if not enabled:
            break
        m = fire(net, m, data.draw(st.sampled_from(enabled))).after
    enabled = enabled_transitions(net, m)
    for t in net.transitions:
        expected = pt_enabled(net, m, t.id)
        assert is_enabled(net, m, t.id) is expected
        assert (t.id in enabled) is expected
        assert list(bindings(net, m, t.id)) == ([Binding()] if expected else [])
        if expected:
            step = fire(net, m, t.id)
            assert counts(net, step.after) == {p.id: m.count(p.id) + c[p.id, t.id]
                                               for p in net.places}
            assert step.before == m and step.consumed <= m
            assert step.after == m - step.consumed + step.produced
        else:
            with pytest.raises(NotEnabledError) as info:
                fire(net, m, t.id)
            assert info.value.transition == t.id
    assert enabled == [t.id for t in net.transitions if pt_enabled(net, m, t.id)]


@settings(max_examples=scaled(100))
@given(pt_nets(), st.data())
def test_marking_equation_holds_along_random_firing_sequences(spec, data):
    net = spec.net
    m0 = m = net.initial_marking
    parikh: collections.Counter[str] = collections.Counter()
    for _ in range(data.draw(st.integers(1, 15), label="steps")):
        enabled = enabled_transitions(net, m)
        if not enabled:
            break
        t = data.draw(st.sampled_from(enabled))
        m = fire(net, m, t).after
        parikh[t] += 1
        assert counts(net, m) == equation(net, m0, parikh)
        assert all(n >= 0 for n in counts(net, m).values())


# -- colored properties -----------------------------------------------------------------


def _reachable_marking(spec: NetSpec, data: st.DataObject) -> Marking:
    """The initial marking or a random one, then a few random firings."""
    net = spec.net
    m = data.draw(st.one_of(st.just(net.initial_marking), markings_of(net)), label="start")
    for _ in range(data.draw(st.integers(0, 3), label="warm-up steps")):
        choices = [(t, b) for t in enabled_transitions(net, m) for b in bindings(net, m, t)]
        if not choices:
            break
        t, b = data.draw(st.sampled_from(choices))
        m = fire(net, m, t, b).after
    return m


def _well_colored(net: Net, m: Marking) -> bool:
    return all(net.place(p).color.contains(token) for p in m for token in m[p])


@settings(max_examples=scaled(80))
@given(colored_nets(), st.data())
def test_every_binding_from_bindings_fires(spec, data):
    net = spec.net
    m = _reachable_marking(spec, data)
    enabled = enabled_transitions(net, m)
    for t in net.transitions:
        found = list(bindings(net, m, t.id))
        assert len(set(found)) == len(found), "bindings() repeats itself"
        assert is_enabled(net, m, t.id) is bool(found)
        assert (t.id in enabled) is bool(found)
        for b in found:
            assert set(b) == set(spec.env[t.id]) & set(b)
            assert is_enabled(net, m, t.id, b)
            step = fire(net, m, t.id, b)
            assert step.binding == b and step.before == m
            assert step.consumed <= m
            assert step.after == m - step.consumed + step.produced
            assert _well_colored(net, step.after)
        if not found:
            with pytest.raises(NotEnabledError):
                fire(net, m, t.id)
        elif len(found) == 1:
            assert fire(net, m, t.id) == fire(net, m, t.id, found[0])
        else:
            with pytest.raises(NotEnabledError, match="several enabling bindings"):
                fire(net, m, t.id)


@settings(max_examples=scaled(80))
@given(colored_nets(), st.data())
def test_fire_refuses_exactly_the_bindings_that_do_not_enable(spec, data):
    net = spec.net
    m = _reachable_marking(spec, data)
    for t in net.transitions:
        variables = net.plan(t.id).variables
        env = spec.env[t.id]
        found = list(bindings(net, m, t.id))
        for _ in range(3):
            b = {v: data.draw(values_of(env[v], spread=2), label=f"{t.id}.{v}")
                 for v in variables}
            enabled = is_enabled(net, m, t.id, b)
            assert enabled is (Binding(b) in found), (t.id, b, found)
            if enabled:
                assert fire(net, m, t.id, b).binding == b
            else:
                with pytest.raises(NotEnabledError):
                    fire(net, m, t.id, b)
            # a partial binding is completed with exactly the bindings that extend it
            given_names = data.draw(st.sets(st.sampled_from(variables)) if variables
                                    else st.just(set()))
            partial = {k: b[k] for k in given_names}
            extended = list(bindings(net, m, t.id, partial))
            assert collections.Counter(extended) == collections.Counter(
                f for f in found if all(f[k] == v for k, v in partial.items()))


@settings(max_examples=scaled(60))
@given(colored_nets(), st.data())
def test_enabled_transitions_lists_the_enabled_ones_in_declaration_order(spec, data):
    net = spec.net
    m = _reachable_marking(spec, data)
    assert enabled_transitions(net, m) == [t.id for t in net.transitions
                                           if next(bindings(net, m, t.id), None) is not None]


# -- examples: bindings ----------------------------------------------------------------


def _pick_net(tokens: list[int]) -> Net:
    b = NetBuilder("pick")
    b.place("in", color=IntColor(), initial=tokens)
    b.place("out", color=IntColor())
    b.transition("t", guard="x >= 0")
    b.arc("in", "t", inscription="x")
    b.arc("t", "out", inscription="x * 10")
    return b.build()


def test_a_missing_binding_is_completed_when_exactly_one_exists():
    net = _pick_net([3, -1])
    step = fire(net, net.initial_marking, "t")
    assert step.binding == Binding(x=3)
    assert step.consumed == Marking({"in": [3]}) and step.produced == Marking({"out": [30]})
    assert step.after == Marking({"in": [-1], "out": [30]})


def test_an_ambiguous_binding_is_refused_with_a_hint_and_a_partial_one_completes():
    net = _pick_net([1, 2])
    with pytest.raises(NotEnabledError, match="several enabling bindings") as info:
        fire(net, net.initial_marking, "t")
    assert info.value.hint == "pass one of the bindings that bindings() lists"
    assert info.value.transition == "t"
    assert sorted(b["x"] for b in bindings(net, net.initial_marking, "t")) == [1, 2]
    assert fire(net, net.initial_marking, "t", {"x": 2}).after == Marking(
        {"in": [1], "out": [20]})


def test_a_binding_without_enabling_extension_is_refused():
    net = _pick_net([-1])
    with pytest.raises(NotEnabledError, match="no enabling binding"):
        fire(net, net.initial_marking, "t")
    with pytest.raises(NotEnabledError, match="the guard is false"):
        fire(net, net.initial_marking, "t", {"x": -1})
    with pytest.raises(NotEnabledError, match="holds 0 x 5"):
        fire(net, net.initial_marking, "t", {"x": 5})
    assert not is_enabled(net, net.initial_marking, "t", {"x": 5})


def test_unknown_transitions_are_firing_errors_with_a_hint():
    net = _pick_net([1])
    with pytest.raises(FiringError, match="no transition 'tt'") as info:
        fire(net, net.initial_marking, "tt")
    assert info.value.hint == "did you mean 't'?"


def test_finite_free_variables_are_enumerated_and_infinite_ones_must_be_given():
    b = NetBuilder("answers")
    b.place("todo", initial=1)
    b.place("decided", color=LEVEL)
    b.place("paid", color=DecimalColor())
    b.transition("decide", variables={"level": LEVEL}, guard="level != 'mid'")
    b.arc("todo", "decide")
    b.arc("decide", "decided", inscription="level")
    b.place("start", initial=1)
    b.transition("pay", variables={"amount": DecimalColor()})
    b.arc("start", "pay")
    b.arc("pay", "paid", inscription="amount")
    net = b.build()
    m = net.initial_marking
    assert [x["level"] for x in bindings(net, m, "decide")] == ["low", "high"]
    with pytest.raises(UnboundVariableError, match="variable 'amount'") as info:
        list(bindings(net, m, "pay"))
    assert info.value.hint == "pass a value for 'amount' in the binding"
    step = fire(net, m, "pay", {"amount": "12.50"})  # validated and normalised
    assert dict(step.after["paid"]) == {decimal.Decimal("12.50"): 1}
    with pytest.raises(ColorError):
        fire(net, m, "pay", {"amount": 1.5})


def _free_net(**variables):
    b = NetBuilder("free")
    b.place("todo", initial=1)
    b.place("done", color=IntColor())
    b.transition("t", variables=variables, guard="y > 5")
    b.arc("todo", "t")
    b.arc("t", "done", inscription="y")
    return b.build()


@pytest.mark.parametrize("variables", [
    {"y": IntColor(0, 100_000_000_000)},
    {"y": IntColor(0, 999), "z": IntColor(0, 999)},  # 10^6 combinations
    {"y": IntColor(0, 99_999), "ok": BoolColor()},
])
def test_free_variables_with_too_many_values_are_refused_not_enumerated(variables):
    net = _free_net(**variables)
    m = net.initial_marking
    for call in (lambda: list(bindings(net, m, "t")), lambda: enabled_transitions(net, m),
                 lambda: fire(net, m, "t"), lambda: TokenGame(net).enabled()):
        with pytest.raises(UnboundVariableError, match=r"variables? 'y' of type int") as info:
            call()
        assert info.value.transition == "t"
        assert "narrow its type" in (info.value.hint or "")
    given = {v: True if isinstance(c, BoolColor) else 6 for v, c in variables.items()}
    assert fire(net, m, "t", given).after.count("done") == 1  # giving the values still works


def test_free_variables_within_the_limit_are_enumerated():
    net = _free_net(y=IntColor(0, 99_999))
    assert len(list(bindings(net, net.initial_marking, "t"))) == 99_994


def test_output_tokens_outside_their_color_set_disable_the_binding():
    b = NetBuilder()
    b.place("in", color=IntColor(), initial=[2, 3])
    b.place("out", color=IntColor(0, 3))
    b.transition("inc")
    b.arc("in", "inc", inscription="x")
    b.arc("inc", "out", inscription="x + 1")
    net = b.build()
    assert [x["x"] for x in bindings(net, net.initial_marking, "inc")] == [2]
    with pytest.raises(NotEnabledError, match="output to place 'out'"):
        fire(net, net.initial_marking, "inc", {"x": 3})


def test_tuple_patterns_and_joins_bind_variables():
    b = NetBuilder()
    b.place("orders", color=IntColor(), initial=[1, 2])
    b.place("stock", color=PAIR, initial=[(1, True), (2, False)])
    b.place("shipped", color=IntColor())
    b.transition("ship")
    b.arc("orders", "ship", inscription="x")
    b.arc("stock", "ship", inscription="(x, True)")
    b.arc("ship", "shipped", inscription="x")
    net = b.build()
    assert list(bindings(net, net.initial_marking, "ship")) == [Binding(x=1)]
    assert fire(net, net.initial_marking, "ship").after == Marking(
        {"orders": [2], "stock": [(2, False)], "shipped": [1]})


# -- examples: read and inhibitor arcs ---------------------------------------------------


def test_bindings_naming_unknown_variables_are_refused():
    # A typo used to be dropped silently: 't' has one binding, so it fired anyway.
    net = _pick_net([3])
    m = net.initial_marking
    for call in (lambda: fire(net, m, "t", {"xx": 3}), lambda: fire(net, m, "t", {"x": 3, "y": 1}),
                 lambda: list(bindings(net, m, "t", {"xx": 3})),
                 lambda: is_enabled(net, m, "t", {"x": 3, "y": 1}),
                 lambda: TokenGame(net).fire("t", {"xx": 3})):
        with pytest.raises(FiringError, match="its variables are 'x'") as info:
            call()
        assert info.value.transition == "t"
    with pytest.raises(FiringError, match="did you mean 'x'") as info:
        fire(net, m, "t", {"xx": 3})


def test_a_pt_transition_refuses_any_binding_entry():
    net = _arc_net(ArcKind.NORMAL, 1, 1)
    with pytest.raises(FiringError, match="no variable 'zz' \\(it has no variables\\)"):
        fire(net, net.initial_marking, "t", {"zz": 1})
    with pytest.raises(FiringError, match="no variable 'zz'"):
        TokenGame(net).fire("t", {"zz": 1})
    assert fire(net, net.initial_marking, "t", {}).after.count("done") == 1


def test_a_value_on_a_pt_place_is_not_a_black_token_for_enabledness():
    # enabled_transitions counted every token, so it promised a firing fire() refused.
    net = _arc_net(ArcKind.NORMAL, 1, 0)
    m = Marking({"src": 1, "p": ["x"]})
    assert enabled_transitions(net, m) == [] and not is_enabled(net, m, "t")
    assert list(bindings(net, m, "t")) == []
    with pytest.raises(NotEnabledError, match="place 'p' holds 0 tokens"):
        fire(net, m, "t")
    m = Marking({"src": 1, "p": ["x", DOT]})
    assert enabled_transitions(net, m) == ["t"]
    assert fire(net, m, "t").after == Marking({"p": ["x"], "done": 1})


def _arc_net(kind: ArcKind, weight: int, tokens: int, *, consume: bool = False) -> Net:
    b = NetBuilder()
    b.place("p", initial=tokens)
    b.place("src", initial=1)
    b.place("done")
    b.transition("t")
    b.arc("src", "t")
    b.arc("p", "t", kind=kind, weight=weight)
    if consume:
        b.arc("p", "t")
    b.arc("t", "done")
    return b.build()


@pytest.mark.parametrize(("weight", "tokens", "enabled"),
                         [(1, 0, False), (1, 1, True), (2, 1, False), (2, 3, True)])
def test_read_arcs_need_tokens_without_consuming_them(weight, tokens, enabled):
    net = _arc_net(ArcKind.READ, weight, tokens)
    m = net.initial_marking
    assert is_enabled(net, m, "t") is enabled
    if enabled:
        step = fire(net, m, "t")
        assert step.after.count("p") == tokens
        assert step.consumed == Marking({"src": 1})
    else:
        with pytest.raises(NotEnabledError, match="place 'p' holds"):
            fire(net, m, "t")


def test_a_read_arc_and_a_normal_arc_may_use_the_same_token():
    net = _arc_net(ArcKind.READ, 1, 1, consume=True)
    assert is_enabled(net, net.initial_marking, "t")
    assert fire(net, net.initial_marking, "t").after.count("p") == 0


@pytest.mark.parametrize(("weight", "tokens", "enabled"),
                         [(1, 0, True), (1, 1, False), (2, 1, True), (2, 2, False),
                          (2, 5, False)])
def test_inhibitor_arcs_forbid_firing_from_weight_tokens_on(weight, tokens, enabled):
    net = _arc_net(ArcKind.INHIBITOR, weight, tokens)
    m = net.initial_marking
    assert is_enabled(net, m, "t") is enabled
    assert (enabled_transitions(net, m) == ["t"]) is enabled
    assert TokenGame(net).enabled() == enabled_transitions(net, m)
    if enabled:
        assert fire(net, m, "t").after.count("p") == tokens
    else:
        with pytest.raises(NotEnabledError, match="inhibitor arc: place 'p'"):
            fire(net, m, "t")


def test_inhibitor_arcs_count_colored_tokens_of_a_colored_transition():
    b = NetBuilder()
    b.place("jobs", color=IntColor(), initial=[1])
    b.place("alarms", color=BoolColor(), initial=[True, False])
    b.transition("work")
    b.arc("jobs", "work", inscription="x")
    b.arc("alarms", "work", kind=ArcKind.INHIBITOR, weight=2)
    net = b.build()
    assert not is_enabled(net, net.initial_marking, "work")
    m = Marking({"jobs": [1], "alarms": [True]})
    assert is_enabled(net, m, "work")


# -- bugs ------------------------------------------------------------------------------


def test_inhibitor_from_a_colored_place_on_a_black_transition():
    b = NetBuilder()
    b.place("alarm", color=IntColor(), initial=[1])
    b.place("p", initial=1)
    b.transition("t")
    b.arc("p", "t")
    b.arc("alarm", "t", kind=ArcKind.INHIBITOR)
    net = b.build()
    m = net.initial_marking
    with pytest.raises(NotEnabledError):
        fire(net, m, "t")
    assert TokenGame(net).enabled() == []
    assert enabled_transitions(net, m) == []
    assert not is_enabled(net, m, "t")


@pytest.mark.parametrize("given_value", [True, decimal.Decimal(1)])
def test_given_values_of_another_type_do_not_leak_into_places(given_value):
    b = NetBuilder()
    b.place("a", color=IntColor(), initial=[1])
    b.place("b", color=IntColor())
    b.transition("t")
    b.arc("a", "t", inscription="x")
    b.arc("t", "b", inscription="x")
    net = b.build()
    try:
        step = fire(net, net.initial_marking, "t", {"x": given_value})
    except (NotEnabledError, ColorError):
        return
    assert all(type(token) is int for token in step.after["b"])


def test_a_dict_given_for_a_pattern_bound_record_variable():
    b = NetBuilder()
    b.place("a", color=REC, initial=[Record(n=0, ok=False)])
    b.place("o", color=REC)
    b.transition("t")
    b.arc("a", "t", inscription="r")
    b.arc("t", "o", inscription="r")
    net = b.build()
    step = fire(net, net.initial_marking, "t", {"r": {"n": 0, "ok": False}})
    assert step.after == Marking({"o": [Record(n=0, ok=False)]})


def test_free_variable_values_outside_their_color_set_are_not_enabling():
    b = NetBuilder()
    b.place("q", color=IntColor())
    b.transition("t", variables={"x": IntColor(0, 3)})
    b.arc("t", "q", inscription="x")
    net = b.build()
    m = net.initial_marking
    with pytest.raises(ColorError):
        fire(net, m, "t", {"x": 99})
    assert list(bindings(net, m, "t", {"x": 99})) == []
    assert not is_enabled(net, m, "t", {"x": 99})


def test_every_binding_of_a_declared_and_pattern_bound_variable_fires():
    b = NetBuilder()
    b.place("p", color=IntColor(), initial=[10, 2])
    b.transition("t", variables={"x": IntColor(0, 3)})
    b.arc("p", "t", inscription="x")
    net = b.build()
    m = net.initial_marking
    for binding in bindings(net, m, "t"):
        fire(net, m, "t", binding)


def test_enabled_transitions_with_an_unbounded_free_variable_and_no_tokens():
    b = NetBuilder()
    b.place("todo")
    b.place("paid", color=DecimalColor())
    b.transition("pay", variables={"amount": DecimalColor()})
    b.arc("todo", "pay")
    b.arc("pay", "paid", inscription="amount")
    net = b.build()
    assert enabled_transitions(net, Marking()) == []


def test_marking_tokens_of_black_places_are_dots():
    net = _arc_net(ArcKind.READ, 1, 2)
    assert dict(net.initial_marking["p"]) == {DOT: 2}
