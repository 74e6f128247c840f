"""Differential tests: the checker against brute force, and Z3 against the engine.

On random small P/T nets, every verdict of the portfolio (deadlock, one-safe, bounded,
reachability formulas) is compared with the reachability graph that
:mod:`tests.verify.oracle` computes on its own; every counterexample must replay with
the kernel's token game to a marking that really is bad; every state-equation proof
must re-check with a fresh solver and agree with brute force. Finally, the Z3
translation of random well-typed expressions must compute what the engine's
interpreter computes: that is what makes symbolic verdicts about guards true of runs.
"""

from __future__ import annotations

import decimal
import time
from fractions import Fraction
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, assume, event, example, given, note, settings
from hypothesis import strategies as st

from petriflow.net.colors import (
    BoolColor,
    ColorSet,
    DecimalColor,
    IntColor,
    Record,
    RecordColor,
    StrColor,
)
from petriflow.net.evaluate import evaluate
from petriflow.net.expr import Arith, Const, Expr, parse
from petriflow.net.typecheck import infer
from petriflow.verify import ptcheck
from petriflow.verify.formulas import (
    AG,
    EF,
    And,
    BoolConst,
    Compare,
    Deadlock,
    Fireable,
    IntConst,
    NamedFormula,
    Not,
    Or,
    StateFormula,
    TokenSum,
)
from petriflow.verify.portfolio import check
from petriflow.verify.ptnet import PTNet
from petriflow.verify.result import Result, TraceStep, Verdict
from petriflow.verify.smt.bmc import bmc, recheck_invariant, spacer
from petriflow.verify.smt.encode import (
    Texts,
    Translator,
    Unsupported,
    decode_value,
    encode_value,
)
from petriflow.verify.smt.state_equation import recheck, state_equation
from petriflow.verify.smt.structural import check_weights
from tests.strategies import (
    BOOL,
    DEC,
    INT,
    INT3,
    LEVEL,
    REC,
    STR,
    NetSpec,
    expressions,
    pt_nets,
    scaled,
    values_for,
)
from tests.verify.oracle import (
    Graph,
    explore,
    is_pumping_witness,
    read_arc_deadlock_spec,
    replay_trace,
)

pytestmark = pytest.mark.slow  # the longest file of tests/verify (about a minute)

CAP = 1500  # states the oracle explores before it gives up on exact answers
TIMEOUT = 0.6  # seconds per property: the nets are tiny; unbounded ones use it all


# -- comparing a verdict with the graph -----------------------------------------------------


def _assert_agrees(net: Any, g: Graph, r: Result) -> None:
    """One portfolio result against the (possibly partial) reachability graph."""
    pt = g.pt
    if r.verdict is Verdict.VIOLATED:
        if r.property == "deadlock":
            end = replay_trace(net, r.trace)
            assert not pt.enabled_ids(end), f"the deadlock trace ends at a live marking {end}"
        elif r.property == "one-safe":
            end = replay_trace(net, r.trace)
            assert max(end, default=0) >= 2, f"the one-safe trace ends at a safe marking {end}"
        elif r.property == "quasi-liveness":
            assert r.reason and "never" in r.reason  # names the transition that never fires
        else:
            assert r.property == "bounded"
            assert r.trace is not None
            assert is_pumping_witness(net, r.trace), "the unboundedness witness does not pump"
    if r.verdict is Verdict.PROVED and r.property == "bounded" and r.certificate and (
            "weights" in r.certificate):
        assert check_weights(PTNet(net), r.certificate["weights"])
    dead = bool(g.dead())
    unsafe = g.max_tokens() >= 2
    fired = {j for out in g.succ.values() for j, _ in out}
    quasi_live = len(fired) == len(pt.transitions)
    if g.complete:
        expected = {"deadlock": not dead, "one-safe": not unsafe, "bounded": True,
                    "quasi-liveness": quasi_live}[r.property]
        want = Verdict.PROVED if expected else Verdict.VIOLATED
        assert r.verdict is want, f"{r.property}: checker {r.verdict.value}, brute force " \
                                  f"{want.value} ({len(g.succ)} states); {r.method}"
    else:  # a partial graph still refutes some proofs
        if r.property == "deadlock" and dead:
            assert r.verdict is not Verdict.PROVED, "proved deadlock-free, but a dead " \
                                                    f"marking is reachable: {g.dead()[0]}"
        if r.property == "one-safe" and unsafe:
            assert r.verdict is not Verdict.PROVED, "proved one-safe, but a place gets 2 tokens"
        if r.property == "quasi-liveness" and quasi_live:
            assert r.verdict is not Verdict.VIOLATED, "a transition said dead fires"


def _portfolio_vs_brute_force(spec: NetSpec) -> None:
    net = spec.net
    g = explore(net, CAP)
    event("complete state space" if g.complete else "state space above the cap")
    for r in check(net, ["deadlock", "one-safe", "bounded", "quasi-liveness"], timeout=TIMEOUT):
        event(f"{r.property}: {r.verdict.value}")
        _assert_agrees(net, g, r)


# The explicit example is the minimal repro of the stubborn-set bug with read arcs, fixed
# in commit 5a40cb5 (see oracle.read_arc_deadlock_spec).
@settings(max_examples=scaled(120))
@example(read_arc_deadlock_spec())
@given(pt_nets())
def test_portfolio_agrees_with_brute_force(spec):
    _portfolio_vs_brute_force(spec)


# -- random reachability goals ------------------------------------------------------------


def state_formulas(places: list[str], transitions: list[str]
                   ) -> st.SearchStrategy[StateFormula]:
    sums = st.lists(st.sampled_from(places), min_size=1, max_size=3, unique=True).map(
        lambda ps: TokenSum(tuple(ps)))
    ops = st.sampled_from(["<=", ">=", "==", "<", ">", "!="])
    leaves = st.one_of(
        st.builds(Compare, ops, sums, st.integers(0, 4).map(IntConst)),
        st.builds(Compare, ops, sums, sums),
        st.just(Deadlock()),
        st.lists(st.sampled_from(transitions), min_size=1, max_size=2, unique=True).map(
            lambda ts: Fireable(tuple(ts))),
        st.booleans().map(BoolConst),
    )
    return st.recursive(leaves, lambda kids: st.one_of(
        kids.map(Not),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ), max_leaves=5)


@settings(max_examples=scaled(100), suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(read_arcs=False), st.data())
def test_state_equation_unsat_means_unreachable(spec, data):
    net = spec.net
    ptnet = PTNet(net)
    goal = data.draw(state_formulas(ptnet.places, ptnet.transitions), label="goal")
    se = state_equation(ptnet, goal, deadline=time.monotonic() + 5)
    event(f"state equation: {se.answer}")
    if se.answer != "unsat":
        return
    if se.traps:
        event("unsat with traps")
    assert recheck(ptnet, goal, se.traps, timeout_seconds=10), "the certificate does not re-check"
    g = explore(net, CAP)
    witnesses = g.satisfying(goal)
    assert not witnesses, f"state equation says unreachable, brute force reaches {witnesses[0]}"


@settings(max_examples=scaled(100), suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(read_arcs=False), st.data())
def test_formula_answers_agree_with_brute_force(spec, data):
    net = spec.net
    ptnet = PTNet(net)
    inner = data.draw(state_formulas(ptnet.places, ptnet.transitions), label="formula")
    shell = data.draw(st.sampled_from([EF, AG]), label="shell")
    formula = shell(inner)
    r = ptcheck.check_formula(net, ptnet, NamedFormula("f", formula), TIMEOUT)
    event(f"{shell.__name__}: {r.mcc_answer or 'unknown'}")
    g = explore(net, CAP)
    goal = inner if shell is EF else Not(inner)
    if r.trace is not None:
        end = replay_trace(net, r.trace)
        assert g.pt.holds(goal, end), "the witness does not end in a goal marking"
    if r.verdict is Verdict.UNKNOWN:
        assert not g.complete or len(g.succ) > ptcheck.SMALL_SEARCH, \
            "unknown on a tiny complete state space"
        return
    reachable = r.trace is not None
    assert (r.mcc_answer == "TRUE") == ((shell is EF) == reachable)
    assert (r.verdict is Verdict.PROVED) == (r.mcc_answer == "TRUE")
    if not reachable and r.certificate and r.certificate.get("method") == "state-equation":
        assert recheck(ptnet, goal, r.certificate["traps"])
    found = g.satisfying(goal)
    if found:
        assert reachable, f"{formula} answered {r.mcc_answer}, but brute force reaches " \
                          f"{found[0]} ({r.method})"
    elif g.complete:
        assert not reachable


# -- Z3 translation against the engine's interpreter --------------------------------------

CLAIM = RecordColor((("amount", DEC), ("level", LEVEL)), "claim")
SYMBOLIC_COLORS: tuple[ColorSet, ...] = (INT3, INT, BOOL, LEVEL, DEC, STR, REC, CLAIM)


def _subexpressions(e: Any) -> list[Expr]:
    out: list[Expr] = []
    stack = [e]
    while stack:
        n = stack.pop()
        if not isinstance(n, Expr):
            continue
        out.append(n)
        for slot in n.__slots__:
            v = getattr(n, slot)
            for item in v if isinstance(v, tuple) else (v,):
                stack.extend(item if isinstance(item, tuple) else (item,))
    return out


def _terminating_divisor(e: Expr) -> bool:
    """A constant c such that x / c has a finite decimal expansion for every decimal x."""
    if not isinstance(e, Const) or isinstance(e.value, bool) or not e.value:
        return False
    n = abs(Fraction(e.value).numerator)
    for prime in (2, 5):
        while n % prime == 0:
            n //= prime
    return n == 1


def known_gaps(expr: Expr, env: dict[str, ColorSet]) -> str | None:
    """What the language refuses (parse() rejects it, and the translation has no exact
    meaning for it) but the AST strategy can still build."""
    for n in _subexpressions(expr):
        if isinstance(n, Arith) and n.op == "/" and not _terminating_divisor(n.right):
            return "division with a non-terminating quotient"
        if isinstance(n, Arith) and isinstance(infer(n.left, env), StrColor):
            return "text concatenation"
    return None


def _z3_env(env: dict[str, ColorSet], values: dict[str, Any], texts: Texts
            ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, color in env.items():
        if isinstance(color, RecordColor):
            fields = {f: encode_value(values[name][f], c, texts) for f, c in color.fields}
            out[name] = (fields, color)
        else:
            out[name] = (encode_value(values[name], color, texts), color)
    return out


def _decode(term: Any, color: ColorSet, tr: Translator) -> Any:
    """A translated term (simplified to a value) as a Python value."""
    if isinstance(term, tuple):  # text whose code is decided where it is used
        if term[0] == "literal":
            return term[1]
        term, color = tr.coerce(term, color, StrColor()), StrColor()
    if isinstance(term, dict):
        assert isinstance(color, RecordColor)
        return {f: _decode(term[f], c, tr) for f, c in color.fields}
    value = z3.simplify(term)
    if isinstance(color, BoolColor) or z3.is_bool(value):
        assert z3.is_true(value) or z3.is_false(value), f"not a value: {value}"
        return z3.is_true(value)
    if isinstance(color, IntColor | DecimalColor):
        assert z3.is_rational_value(value) or z3.is_int_value(value), f"not a value: {value}"
        return value.as_fraction() if z3.is_rational_value(value) else Fraction(value.as_long())
    return decode_value(value, color, tr.texts)


def _python(value: Any) -> Any:
    """The engine's value in the same shape as _decode's."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | decimal.Decimal):
        return Fraction(value)
    if isinstance(value, Record):
        return {k: _python(v) for k, v in value.items()}
    return value


@st.composite
def symbolic_cases(draw: st.DrawFn) -> tuple[Expr, dict[str, ColorSet], dict[str, Any]]:
    names = ["a", "b", "c", "x", "amount", "ok"]
    env = draw(st.dictionaries(st.sampled_from(names), st.sampled_from(SYMBOLIC_COLORS),
                               min_size=1, max_size=4), label="env")
    target = draw(st.sampled_from(["bool", "bool", "int", "num", "str", LEVEL]), label="type")
    expr = draw(expressions(target, env, depth=3), label="expr")
    return expr, env, draw(values_for(env), label="values")


def _translate_and_evaluate(expr: Expr, env: dict[str, ColorSet], values: dict[str, Any]
                            ) -> tuple[Any, Any]:
    try:
        expected = evaluate(expr, values)
    except (ArithmeticError, decimal.InvalidOperation):
        assume(False)
    texts = Texts()
    tr = Translator(texts)
    try:
        term, color = tr(expr, _z3_env(env, values, texts))
    except Unsupported as exc:
        event(f"not translatable: {str(exc).split(' ')[0]}")
        assume(False)
    return _decode(term, color, tr), _python(expected)


@settings(max_examples=scaled(300))
@given(symbolic_cases())
def test_z3_translation_agrees_with_the_interpreter(case):
    expr, env, values = case
    gap = known_gaps(expr, env)
    if gap is not None:  # each has its own test below
        event(f"skipped: {gap}")
        assume(False)
    got, expected = _translate_and_evaluate(expr, env, values)
    event(f"result: {type(expected).__name__}")
    note(f"z3: {got!r}, interpreter: {expected!r}")
    assert got == expected


def test_division_with_non_terminating_quotients_is_refused():
    """The engine's decimals and the checker's rationals could disagree on x / 3, so the
    language refuses it."""
    from petriflow.errors import ExpressionError

    with pytest.raises(ExpressionError, match="non-terminating"):
        parse("x / 3 * 3 == x")


def test_exact_division_agrees():
    expr = parse("x / 4 * 4 == x and x / 8 == 0.125 * x")
    got, expected = _translate_and_evaluate(expr, {"x": DEC}, {"x": decimal.Decimal("2.5")})
    assert got is True and expected is True


def test_text_concatenation_is_refused():
    """Text is coded as integers for the solver; concatenation has no exact meaning there,
    so the translation refuses it (the checker then answers unknown)."""
    from petriflow.verify.smt.encode import Texts, Translator

    a, b = z3.Int("a"), z3.Int("b")
    env = {"a": (a, STR), "b": (b, STR)}
    with pytest.raises(Unsupported):
        Translator(Texts())(parse("a + b == b + a"), env)


@pytest.mark.parametrize("text, env, values", [
    ("ok == True", {"ok": BOOL}, {"ok": True}),
    ("ok != (1 < 2)", {"ok": BOOL}, {"ok": False}),
    ("ok in (True,)", {"ok": BOOL}, {"ok": True}),
    ("r == r", {"r": REC}, {"r": Record(n=1, ok=True)}),
])
def test_equality_of_booleans_and_records_translates(text, env, values):
    got, expected = _translate_and_evaluate(parse(text), env, values)
    assert got == expected


@settings(max_examples=scaled(60), suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(), st.data())
def test_bmc_and_spacer_agree_with_brute_force_on_random_goals(spec, data):
    """BMC and Spacer (CHC) on nets with read and inhibitor arcs, for random goals."""
    net = spec.net
    ptnet = PTNet(net)
    goal = data.draw(state_formulas(ptnet.places, ptnet.transitions), label="goal")
    g = explore(net, CAP)
    witnesses = g.satisfying(goal)
    b = bmc(ptnet, goal, deadline=time.monotonic() + 3, max_depth=8)
    event(f"bmc: {b.answer}")
    if b.answer == "reachable":
        end = replay_trace(net, tuple(TraceStep(ptnet.transitions[t]) for t in b.path))
        assert g.pt.holds(goal, end), "the BMC witness does not reach the goal"
    elif b.answer == "bounded" and g.complete:
        assert all(g.depth[m] > 8 for m in witnesses), "BMC missed a goal within 8 steps"
    sp = spacer(ptnet, goal, deadline=time.monotonic() + 3)
    event(f"spacer: {sp.answer}")
    if sp.answer == "unreachable":
        assert not witnesses, f"Spacer proved unreachable, brute force reaches {witnesses[0]}"
        if sp.invariant is not None:
            assert recheck_invariant(ptnet, goal, sp.invariant, timeout_seconds=10)
    elif sp.answer == "reachable" and g.complete:
        assert witnesses, "Spacer says reachable, brute force finds no goal marking"


@pytest.mark.parametrize("text", ["r == (r if ok else r)", "(r if ok else r).n == 1"])
def test_conditional_between_records_translates(text):
    env: dict[str, ColorSet] = {"r": REC, "ok": BOOL}
    got, expected = _translate_and_evaluate(parse(text), env,
                                            {"r": Record(n=1, ok=True), "ok": True})
    assert got == expected
