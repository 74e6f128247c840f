"""k-induction on P/T nets, strengthened by the state equation and initially marked traps.

k-induction (Sheeran, Singh, Stålmarck, "Checking safety properties using induction and
a SAT-solver", FMCAD 2000) proves ``goal`` unreachable with two queries per ``k``:

* *base*: no firing sequence of at most ``k`` steps from the initial marking reaches
  ``goal`` (a model is a counterexample, replayed by the caller);
* *step*: no simple path ``s0 -> ... -> sk`` whose first ``k`` markings avoid ``goal``
  ends in ``goal``.

Why both together are a proof: a shortest path to a goal marking is simple and visits no
goal marking before its end. If it has at most ``k`` steps the base query finds it;
otherwise its last ``k + 1`` markings satisfy the step query. The step query only
considers markings that satisfy every invariant of reachable markings we add to it: the
state equation ``M = M0 + C·x, x >= 0`` (each reachable marking satisfies it) and
``sum(M[Q]) >= 1`` for each initially marked trap ``Q`` (a marked trap stays marked).
Those lemmas are what make k-induction prove properties that plain induction cannot
(and that the state equation alone cannot either).

The certificate is ``k`` and the traps; :func:`recheck` repeats both queries from
scratch in fresh solvers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import z3

from petriflow.verify.formulas import StateFormula
from petriflow.verify.ptnet import PTNet
from petriflow.verify.smt.solver import make_solver
from petriflow.verify.smt.state_equation import enabled, encode_state, is_trap

MAX_K = 40


@dataclass
class KInductionResult:
    answer: str  # "unreachable" | "reachable" | "unknown"
    k: int = 0
    path: list[int] = field(default_factory=list)
    traps: list[list[str]] = field(default_factory=list)
    reason: str | None = None


class _Unrolling:
    """Marking variables for states ``0..n`` of one path, with the constraints that tie
    them: real steps (``stutter=False``) or steps that may also stand still."""

    def __init__(self, net: PTNet, solver: z3.Solver, tag: str, *, stutter: bool) -> None:
        self.net = net
        self.solver = solver
        self.tag = tag
        self.stutter = stutter
        self.states: list[list[z3.ArithRef]] = []
        self.choices: list[z3.ArithRef] = []
        # per place: the transitions that change it, and by how much
        self.effect: list[dict[int, int]] = [{} for _ in net.places]
        for t, delta in enumerate(net.delta):
            for p, d in delta:
                self.effect[p][t] = d

    def add_state(self) -> list[z3.ArithRef]:
        i = len(self.states)
        m = [z3.Int(f"{self.tag}{i}_{p}") for p in range(len(self.net.places))]
        self.solver.add(*[v >= 0 for v in m])
        if self.states:
            self.solver.add(self._step(self.states[-1], m, i - 1))
        self.states.append(m)
        return m

    def _step(self, m: list[z3.ArithRef], m2: list[z3.ArithRef], i: int) -> z3.BoolRef:
        net = self.net
        n_t = len(net.transitions)
        c = z3.Int(f"{self.tag}c{i}")
        self.choices.append(c)
        parts = [c >= 0, c <= (n_t if self.stutter else n_t - 1)]
        for t in range(n_t):
            parts.append(z3.Implies(c == t, enabled(net, t, m)))
        for p in range(len(net.places)):
            term: z3.ArithRef = m[p]
            for t, d in self.effect[p].items():
                term = z3.If(c == t, m[p] + d, term)
            parts.append(m2[p] == term)
        return z3.And(parts)

    def path(self, model: z3.ModelRef) -> list[int]:
        n_t = len(self.net.transitions)
        steps = [model.eval(c, model_completion=True).as_long() for c in self.choices]
        return [t for t in steps if t < n_t]


def _lemmas(net: PTNet, m: list[z3.ArithRef], tag: str, traps: Sequence[set[int]]
            ) -> list[z3.BoolRef]:
    """Invariants every reachable marking satisfies: the state equation (with its own
    firing-count vector) and each initially marked trap stays marked."""
    x = [z3.Int(f"{tag}x{t}") for t in range(len(net.transitions))]
    out: list[z3.BoolRef] = [v >= 0 for v in x]
    effect: list[list[z3.ArithRef]] = [[] for _ in net.places]
    for t, delta in enumerate(net.delta):
        for p, d in delta:
            effect[p].append(d * x[t])
    for p in range(len(net.places)):
        out.append(m[p] == net.initial[p] + z3.Sum(effect[p]) if effect[p]
                   else m[p] == net.initial[p])
    for trap in traps:
        out.append(z3.Sum([m[p] for p in trap]) >= 1)
    return out


def _distinct(a: list[z3.ArithRef], b: list[z3.ArithRef]) -> z3.BoolRef:
    return z3.Or([x != y for x, y in zip(a, b, strict=True)])


def _checked_traps(net: PTNet, traps: Sequence[Sequence[str]]) -> list[set[int]] | None:
    out = []
    for trap in traps:
        places = {net.pindex[p] for p in trap}
        if not is_trap(net, places) or not any(net.initial[p] for p in places):
            return None
        out.append(places)
    return out


def kinduction(net: PTNet, goal: StateFormula, *, deadline: float,
               traps: Sequence[Sequence[str]] = (), max_k: int = MAX_K) -> KInductionResult:
    """Prove ``goal`` unreachable, or find it within ``k`` steps, for ``k = 0, 1, ...``."""
    checked = _checked_traps(net, traps)
    if checked is None:
        return KInductionResult("unknown", reason="a given trap is not an initially marked trap")
    base = make_solver()
    base_path = _Unrolling(net, base, "b", stutter=True)
    m0 = base_path.add_state()
    base.add(*[v == x for v, x in zip(m0, net.initial, strict=True)])
    step = make_solver()
    step_path = _Unrolling(net, step, "s", stutter=False)
    for k in range(max_k + 1):
        # base: goal within k steps (the unrolling stutters, so "exactly k" covers "<= k")
        answer, model, why = _check(base, deadline,
                                    encode_state(goal, net, base_path.states[-1]), k)
        if model is not None:
            return KInductionResult("reachable", k, base_path.path(model))
        if answer == z3.unknown:
            return KInductionResult("unknown", k, reason=why)
        # step: a simple, invariant-respecting path of k steps that avoids goal, then goal
        s = step_path.add_state()
        step.add(*_lemmas(net, s, f"s{k}_", checked))
        for earlier in step_path.states[:-1]:
            step.add(_distinct(earlier, s))
        answer, _, why = _check(step, deadline, encode_state(goal, net, s), k)
        if answer == z3.unsat:
            return KInductionResult("unreachable", k,
                                    traps=[sorted(net.places[p] for p in t) for t in checked])
        if answer == z3.unknown:
            return KInductionResult("unknown", k, reason=why)
        step.add(z3.Not(encode_state(goal, net, s)))
        base_path.add_state()
    return KInductionResult("unknown", max_k, reason=f"not k-inductive for k <= {max_k}")


def _check(solver: z3.Solver, deadline: float, assumption: z3.BoolRef, k: int
           ) -> tuple[z3.CheckSatResult, z3.ModelRef | None, str | None]:
    """Check with ``assumption`` added for this query only: the answer, the model when
    satisfiable, the reason when undecided."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return z3.unknown, None, f"time budget spent at k = {k}"
    solver.set("timeout", max(1, int(remaining * 1000)))
    solver.push()
    solver.add(assumption)
    answer = solver.check()
    model = solver.model() if answer == z3.sat else None
    reason = None
    if answer == z3.unknown:
        why = solver.reason_unknown()
        reason = (f"time budget spent at k = {k}" if why in ("timeout", "canceled")
                  else f"the solver could not decide at k = {k} ({why})")
    solver.pop()
    return answer, model, reason


def recheck(net: PTNet, goal: StateFormula, k: int, traps: Sequence[Sequence[str]], *,
            timeout_seconds: float = 60.0) -> bool:
    """Re-check a k-induction certificate from scratch: no goal marking within ``k``
    steps, and the strengthened step query for exactly ``k`` is unsatisfiable."""
    checked = _checked_traps(net, traps)
    if checked is None:
        return False
    base = make_solver(timeout_seconds)
    path = _Unrolling(net, base, "B", stutter=True)
    m0 = path.add_state()
    base.add(*[v == x for v, x in zip(m0, net.initial, strict=True)])
    for _ in range(k):
        path.add_state()
    base.add(z3.Or([encode_state(goal, net, m) for m in path.states]))
    if base.check() != z3.unsat:
        return False
    step = make_solver(timeout_seconds)
    spath = _Unrolling(net, step, "S", stutter=False)
    for i in range(k + 1):
        s = spath.add_state()
        step.add(*_lemmas(net, s, f"S{i}_", checked))
    states = spath.states
    for i, a in enumerate(states):
        for b in states[i + 1:]:
            step.add(_distinct(a, b))
    step.add(*[z3.Not(encode_state(goal, net, m)) for m in states[:-1]])
    step.add(encode_state(goal, net, states[-1]))
    return step.check() == z3.unsat


__all__ = ["KInductionResult", "kinduction", "recheck"]
