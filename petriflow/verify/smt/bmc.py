"""Bounded model checking and Spacer (CHC) on P/T nets.

*BMC* unrolls the net step by step in one incremental solver: step ``k`` chooses one
transition (or none), which must be enabled, and updates the marking; after each step it
asks whether the goal can hold. A model is a firing sequence (shortest in steps), which
the caller replays with the kernel. ``unsat`` at depth ``k`` only says "not within k".

*Spacer* (Komuravelli, Gurfinkel, Chaki, "SMT-based model checking for recursive
programs", CAV 2014) solves the constrained Horn clauses ``Reach(M0)``,
``Reach(M) ∧ T(M, M') → Reach(M')``, ``Reach(M) ∧ goal(M) → false``. ``unsat`` of the
query means unreachable, and Z3 returns the inductive invariant it found: the
certificate, which :func:`recheck_invariant` re-verifies with a fresh solver
(initial ⇒ inv, inv ∧ step ⇒ inv', inv ⇒ ¬goal).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from petriflow.verify.formulas import StateFormula
from petriflow.verify.ptnet import PTNet
from petriflow.verify.smt.solver import all_unsat, make_solver
from petriflow.verify.smt.state_equation import enabled, encode_state


@dataclass
class BmcResult:
    answer: str  # "reachable" | "bounded" (none up to depth) | "unknown"
    path: list[int] = field(default_factory=list)
    depth: int = 0
    reason: str | None = None


def bmc(net: PTNet, goal: StateFormula, *, deadline: float, max_depth: int = 10_000
        ) -> BmcResult:
    """Search firing sequences of increasing length for one that reaches ``goal``."""
    n_t = len(net.transitions)
    s = make_solver()
    marking = [z3.IntVal(v) for v in net.initial]
    choices: list[z3.ArithRef] = []
    for depth in range(max_depth + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return BmcResult("unknown", depth=depth, reason=f"time budget spent at depth {depth}")
        s.set("timeout", max(1, int(remaining * 1000)))
        s.push()
        s.add(encode_state(goal, net, marking))
        answer = s.check()
        if answer == z3.sat:
            model = s.model()
            path = [model.eval(c, model_completion=True).as_long() for c in choices]
            return BmcResult("reachable", [t for t in path if t < n_t], depth)
        s.pop()
        if answer == z3.unknown:
            return BmcResult("unknown", depth=depth, reason=s.reason_unknown())
        # one more step: choose transition c (n_t means "no step"), enabled, and fire it
        c = z3.Int(f"c{depth}")
        s.add(c >= 0, c <= n_t)
        for t in range(n_t):
            s.add(z3.Implies(c == t, enabled(net, t, marking)))
        nxt = []
        for p in range(len(net.places)):
            effect = [(t, d) for t in net.consumers[p] + net.producers[p]
                      for q, d in net.delta[t] if q == p]
            effect = list(dict(effect).items())
            term = marking[p]
            for t, d in effect:
                term = z3.If(c == t, marking[p] + d, term)
            v = z3.Int(f"m{depth + 1}_{p}")
            s.add(v == term)
            nxt.append(v)
        marking = nxt
        choices.append(c)
    return BmcResult("bounded", depth=max_depth)


@dataclass
class SpacerResult:
    answer: str  # "unreachable" | "reachable" | "unknown"
    invariant: str | None = None
    reason: str | None = None


def _transition_relation(net: PTNet, m: list[z3.ArithRef], m2: list[z3.ArithRef]
                         ) -> z3.BoolRef:
    moves = []
    for t in range(len(net.transitions)):
        delta = dict(net.delta[t])
        moves.append(z3.And(enabled(net, t, m),
                            *[m2[p] == m[p] + delta.get(p, 0) for p in range(len(m))]))
    return z3.Or(moves) if moves else z3.BoolVal(False)


def spacer(net: PTNet, goal: StateFormula, *, deadline: float) -> SpacerResult:
    """Ask Spacer whether ``goal`` is reachable; on ``unreachable`` keep its invariant."""
    n = len(net.places)
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    fp.set("timeout", max(1, int((deadline - time.monotonic()) * 1000)))
    reach = z3.Function("Reach", *([z3.IntSort()] * n), z3.BoolSort())
    fp.register_relation(reach)
    m = [z3.Int(f"a{i}") for i in range(n)]
    m2 = [z3.Int(f"b{i}") for i in range(n)]
    fp.declare_var(*m, *m2)
    fp.rule(reach(*[z3.IntVal(v) for v in net.initial]))
    fp.rule(reach(*m2), [reach(*m), _transition_relation(net, m, m2)])
    try:
        answer = fp.query(z3.And(reach(*m), encode_state(goal, net, m)))
    except z3.Z3Exception as exc:
        return SpacerResult("unknown", reason=str(exc))
    if answer == z3.unsat:
        # get_answer() is ∀x. Reach(x) = inv(x); the body's bound variables become a0..
        answer_formula = fp.get_answer()
        body = None
        if z3.is_quantifier(answer_formula):
            eq = answer_formula.body()
            if z3.is_eq(eq) and eq.num_args() == 2:
                body = z3.substitute_vars(eq.arg(1), *reversed(m))
        elif z3.is_eq(answer_formula):
            body = answer_formula.arg(1)
        return SpacerResult("unreachable", body.sexpr() if body is not None else None)
    if answer == z3.sat:
        return SpacerResult("reachable")
    return SpacerResult("unknown", reason=fp.reason_unknown())


def recheck_invariant(net: PTNet, goal: StateFormula, invariant: str, *,
                      timeout_seconds: float = 60.0) -> bool:
    """Re-check an invariant over ``a0..a(n-1)``: initial ⇒ inv, inv ∧ step ⇒ inv',
    inv ⇒ not goal, each with a fresh solver."""
    n = len(net.places)
    m = [z3.Int(f"a{i}") for i in range(n)]
    m2 = [z3.Int(f"b{i}") for i in range(n)]
    decls = {f"a{i}": v for i, v in enumerate(m)}
    try:
        inv = z3.parse_smt2_string(f"(assert {invariant})", decls=decls)[0]
    except z3.Z3Exception:
        return False
    inv2 = z3.substitute(inv, *zip(m, m2, strict=True))
    init = z3.And([v == x for v, x in zip(m, net.initial, strict=True)])
    obligations = [
        z3.And(init, z3.Not(inv)),
        z3.And(inv, _transition_relation(net, m, m2), z3.Not(inv2)),
        z3.And(inv, encode_state(goal, net, m)),
    ]
    return all_unsat(obligations, timeout_seconds)


__all__ = ["BmcResult", "SpacerResult", "bmc", "recheck_invariant", "spacer"]
