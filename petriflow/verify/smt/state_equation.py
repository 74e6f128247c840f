"""The state equation with trap refinement: fast proofs that a marking is unreachable.

Every reachable marking ``M`` satisfies ``M = M0 + C·x`` for some firing count vector
``x >= 0`` (the state equation). If no solution also satisfies the goal, the goal is
unreachable. When a solution exists it may be spurious; as in SMPT (Amat, Berthomieu,
Dal Zilio, "SMPT: a testbed for reachability methods in generalized Petri nets"), we
look for a *trap* (a set of places every consumer of which also produces into it) that
is marked initially but empty in the solution; an initially marked trap stays marked,
so ``sum(M[Q]) >= 1`` is added and the solver asked again. ``unsat`` at any point is a
proof; the certificate lists the traps used, which :mod:`petriflow.verify.certify`
re-checks with a fresh solver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from petriflow.verify.formulas import (
    And,
    BoolConst,
    Compare,
    Deadlock,
    Fireable,
    IntConst,
    IntExpr,
    Not,
    Or,
    StateFormula,
    TokenSum,
)
from petriflow.verify.ptnet import PTNet
from petriflow.verify.smt.solver import check, make_solver


@dataclass
class StateEquationResult:
    answer: str  # "unsat" (goal unreachable), "sat" (inconclusive), "unknown"
    traps: list[list[str]] = field(default_factory=list)
    reason: str | None = None


def encode_state(f: StateFormula, net: PTNet, m: list[z3.ArithRef]) -> z3.BoolRef:
    """``f`` as a constraint on the marking variables ``m``."""
    if isinstance(f, BoolConst):
        return z3.BoolVal(f.value)
    if isinstance(f, Compare):
        a, b = _sum(f.left, net, m), _sum(f.right, net, m)
        return {"<=": a <= b, ">=": a >= b, "==": a == b, "<": a < b, ">": a > b,
                "!=": a != b}[f.op]
    if isinstance(f, Deadlock):
        return z3.And([z3.Not(enabled(net, t, m)) for t in range(len(net.transitions))])
    if isinstance(f, Fireable):
        return z3.Or([enabled(net, net.tindex[t], m) for t in f.transitions])
    if isinstance(f, Not):
        return z3.Not(encode_state(f.operand, net, m))
    if isinstance(f, And):
        return z3.And([encode_state(o, net, m) for o in f.operands])
    assert isinstance(f, Or)
    return z3.Or([encode_state(o, net, m) for o in f.operands])


def _sum(e: IntExpr, net: PTNet, m: list[z3.ArithRef]) -> z3.ArithRef:
    if isinstance(e, IntConst):
        return z3.IntVal(e.value)
    assert isinstance(e, TokenSum)
    terms = [m[net.pindex[p]] for p in e.places]
    return terms[0] if len(terms) == 1 else z3.Sum(terms)


def enabled(net: PTNet, t: int, m: list[z3.ArithRef]) -> z3.BoolRef:
    parts = [m[p] >= w for p, w in net.need[t]] + [m[p] < w for p, w in net.inhibit[t]]
    return z3.And(parts) if parts else z3.BoolVal(True)


def maximal_trap(net: PTNet, candidates: set[int]) -> set[int]:
    """The largest trap inside ``candidates`` (possibly empty)."""
    trap = set(candidates)
    changed = True
    while changed:
        changed = False
        for p in list(trap):
            for t in net.consumers[p]:
                if not any(q in trap for q, _ in net.post[t]):
                    trap.discard(p)
                    changed = True
                    break
    return trap


def is_trap(net: PTNet, places: set[int]) -> bool:
    return all(any(q in places for q, _ in net.post[t])
               for p in places for t in net.consumers[p])


def build(net: PTNet, goal: StateFormula, *, integer: bool = True
          ) -> tuple[z3.Solver, list[z3.ArithRef]]:
    sort = z3.Int if integer else z3.Real
    m = [sort(f"m{i}") for i in range(len(net.places))]
    x = [sort(f"x{j}") for j in range(len(net.transitions))]
    s = make_solver()
    eff: list[list[tuple[int, int]]] = [[] for _ in net.places]
    for t, d in enumerate(net.delta):
        for p, c in d:
            eff[p].append((t, c))
    for v in m + x:
        s.add(v >= 0)
    for p in range(len(net.places)):
        terms = [c * x[t] for t, c in eff[p]]
        s.add(m[p] == net.initial[p] + (z3.Sum(terms) if terms else 0))
    s.add(encode_state(goal, net, m))
    return s, m


def state_equation(net: PTNet, goal: StateFormula, *, deadline: float,
                   max_traps: int = 200) -> StateEquationResult:
    """Try to prove ``goal`` unreachable. ``unsat`` is a proof; ``sat`` is inconclusive."""
    # The real relaxation is a cheaper first try: no real solution, no integer one.
    for integer in (False, True):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return StateEquationResult("unknown", reason="time budget spent")
        s, m = build(net, goal, integer=integer)
        s.set("timeout", max(1, int(remaining * 1000)))
        traps: list[list[str]] = []
        for _ in range(max_traps + 1):
            answer, reason = check(s)
            if answer == "unsat":
                return StateEquationResult("unsat", traps)
            if answer == "unknown":
                if integer:
                    return StateEquationResult("unknown", traps, reason)
                break
            model = s.model()
            empty = {p for p in range(len(net.places))
                     if (model.eval(m[p], model_completion=True).as_fraction() == 0
                         if not integer else model.eval(m[p], model_completion=True).as_long()
                         == 0)}
            trap = maximal_trap(net, empty)
            if not trap or not any(net.initial[p] for p in trap):
                if integer:
                    return StateEquationResult("sat", traps, "the state equation has a "
                                               "solution that no trap rules out")
                break
            traps.append(sorted(net.places[p] for p in trap))
            s.add(z3.Sum([m[p] for p in trap]) >= 1)
            if time.monotonic() > deadline:
                return StateEquationResult("unknown", traps, "time budget spent")
    return StateEquationResult("unknown", reason="trap refinement did not conclude")


def recheck(net: PTNet, goal: StateFormula, traps: list[list[str]], *,
            timeout_seconds: float = 60.0) -> bool:
    """Re-check a state-equation certificate with a fresh solver (and the traps by hand)."""
    for trap in traps:
        places = {net.pindex[p] for p in trap}
        if not is_trap(net, places) or not any(net.initial[p] for p in places):
            return False
    s, m = build(net, goal, integer=True)
    s.set("timeout", int(timeout_seconds * 1000))
    for trap in traps:
        s.add(z3.Sum([m[net.pindex[p]] for p in trap]) >= 1)
    return check(s)[0] == "unsat"


__all__ = ["StateEquationResult", "encode_state", "is_trap", "maximal_trap", "recheck",
           "state_equation"]
