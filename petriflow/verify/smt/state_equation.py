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


def _num(v: int) -> str:
    return str(v) if v >= 0 else f"(- {-v})"


def _smt_int(e: IntExpr, net: PTNet) -> str:
    if isinstance(e, IntConst):
        return _num(e.value)
    assert isinstance(e, TokenSum)
    names = [f"m{net.pindex[p]}" for p in e.places]
    return names[0] if len(names) == 1 else f"(+ {' '.join(names)})"


def _smt_enabled(net: PTNet, t: int) -> str:
    parts = [f"(>= m{p} {w})" for p, w in net.need[t]] + [
        f"(< m{p} {w})" for p, w in net.inhibit[t]]
    if not parts:
        return "true"
    return parts[0] if len(parts) == 1 else f"(and {' '.join(parts)})"


def smt_state(f: StateFormula, net: PTNet) -> str:
    """``f`` in SMT-LIB over the marking constants ``m<i>`` (text is far faster to
    build for large nets than the same terms through the Python API)."""
    if isinstance(f, BoolConst):
        return "true" if f.value else "false"
    if isinstance(f, Compare):
        a, b = _smt_int(f.left, net), _smt_int(f.right, net)
        if f.op == "!=":
            return f"(not (= {a} {b}))"
        return f"({'=' if f.op == '==' else f.op} {a} {b})"
    if isinstance(f, Deadlock):
        return "(and " + " ".join(f"(not {_smt_enabled(net, t)})"
                                  for t in range(len(net.transitions))) + " true)"
    if isinstance(f, Fireable):
        return "(or " + " ".join(_smt_enabled(net, net.tindex[t]) for t in f.transitions) + \
            " false)"
    if isinstance(f, Not):
        return f"(not {smt_state(f.operand, net)})"
    if isinstance(f, And):
        return "(and " + " ".join(smt_state(o, net) for o in f.operands) + " true)"
    assert isinstance(f, Or)
    return "(or " + " ".join(smt_state(o, net) for o in f.operands) + " false)"


def build(net: PTNet, goal: StateFormula | None, *, integer: bool = True
          ) -> tuple[z3.Solver, list[z3.ArithRef]]:
    """The state equation (and ``goal``, unless None) in a fresh solver."""
    sort = "Int" if integer else "Real"
    eff: list[list[tuple[int, int]]] = [[] for _ in net.places]
    for t, d in enumerate(net.delta):
        for p, c in d:
            eff[p].append((t, c))
    lines = [f"(declare-const m{i} {sort})" for i in range(len(net.places))]
    lines += [f"(declare-const x{j} {sort})" for j in range(len(net.transitions))]
    lines += [f"(assert (>= m{i} 0))" for i in range(len(net.places))]
    lines += [f"(assert (>= x{j} 0))" for j in range(len(net.transitions))]
    for p in range(len(net.places)):
        terms = " ".join(f"(* {_num(c)} x{t})" for t, c in eff[p])
        rhs = f"(+ {net.initial[p]} {terms})" if terms else str(net.initial[p])
        lines.append(f"(assert (= m{p} {rhs}))")
    if goal is not None:
        lines.append(f"(assert {smt_state(goal, net)})")
    s = make_solver()
    s.from_string("\n".join(lines))
    m = [(z3.Int if integer else z3.Real)(f"m{i}") for i in range(len(net.places))]
    return s, m


def state_equation(net: PTNet, goal: StateFormula, *, deadline: float,
                   max_traps: int = 200) -> StateEquationResult:
    """Try to prove ``goal`` unreachable. ``unsat`` is a proof; ``sat`` is inconclusive."""
    # The real relaxation is a cheaper first try (no real solution, no integer one), but
    # on large nets building it twice costs more than it saves.
    passes = (False, True) if len(net.places) + len(net.transitions) < 1000 else (True,)
    for integer in passes:
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


class Session:
    """One solver holding the state equation, asked about many goals in turn (building
    the equation of a large net costs more than solving it for one goal)."""

    def __init__(self, net: PTNet) -> None:
        self.net = net
        self.solver, self.m = build(net, None)

    def unreachable(self, goal: StateFormula, *, deadline: float, max_traps: int = 50
                    ) -> StateEquationResult:
        net, s, m = self.net, self.solver, self.m
        s.push()
        try:
            s.from_string(f"(assert {smt_state(goal, net)})")
            traps: list[list[str]] = []
            for _ in range(max_traps + 1):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return StateEquationResult("unknown", traps, "time budget spent")
                s.set("timeout", max(1, int(remaining * 1000)))
                answer, reason = check(s)
                if answer == "unsat":
                    return StateEquationResult("unsat", traps)
                if answer == "unknown":
                    return StateEquationResult("unknown", traps, reason)
                model = s.model()
                empty = {p for p in range(len(net.places))
                         if model.eval(m[p], model_completion=True).as_long() == 0}
                trap = maximal_trap(net, empty)
                if not trap or not any(net.initial[p] for p in trap):
                    return StateEquationResult("sat", traps, "the state equation has a "
                                               "solution that no trap rules out")
                traps.append(sorted(net.places[p] for p in trap))
                s.add(z3.Sum([m[p] for p in trap]) >= 1)
            return StateEquationResult("unknown", traps, "trap refinement did not conclude")
        finally:
            s.pop()


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


__all__ = ["Session", "StateEquationResult", "encode_state", "is_trap", "maximal_trap", "recheck",
           "state_equation"]
