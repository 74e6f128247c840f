"""Spacer (CHC) on a compiled process with its policy monitor: proofs for data that grows.

The symbolic explorer keeps one data region per control marking and stops at a
fixpoint; a counter in a loop (``attempts + 1``) gives a new region on every turn, so
the exploration never closes. Here the whole case (control token counts, the tracked
case fields, the monitor's variables) is one state of a transition system, and the
policy is the query of constrained Horn clauses (Komuravelli, Gurfinkel, Chaki,
"SMT-based model checking for recursive programs", CAV 2014):

    Reach(s)              <- init(s)
    Reach(s')             <- Reach(s) and step_t(s, s', answers)     for each transition t
    false                 <- Reach(s) and bad(s, answers)

Agent and human answers, and fields the exploration does not track, are free variables
of each clause, so every answer of their declared types is considered. ``unsat`` comes
with an inductive invariant, which :func:`recheck` re-verifies with fresh solvers
(init implies it, every step keeps it, it excludes every bad state) before a proof is
reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from petriflow.verify.smt.solver import all_unsat, make_solver
from petriflow.verify.smt.symbolic import Exploration, SymTransition


@dataclass
class ChcResult:
    answer: str  # "unreachable" | "reachable" | "unknown"
    invariant: z3.BoolRef | None = None
    reason: str | None = None


class System:
    """The case as a transition system over (control counts, tracked fields, monitor
    variables), built from an exploration's encoding of the net and its monitor."""

    def __init__(self, ex: Exploration) -> None:
        self.ex = ex
        n = len(ex.control_places)
        self.control = [z3.Int(f"c!{i}") for i in range(n)]
        self.field_names = list(ex.fields)
        self.monitor_names = list(ex.monitor.variables)
        self.fields = [ex.fields[name][0] for name in self.field_names]
        self.mvars = [ex.monitor.variables[name][0] for name in self.monitor_names]
        self.current: list[z3.ExprRef] = [*self.control, *self.fields, *self.mvars]
        self.next: list[z3.ExprRef] = [z3.Const(f"{v}'", v.sort()) for v in self.current]

    # -- pieces over the current (and next) state ----------------------------------------

    def init(self) -> z3.BoolRef:
        root = self.ex.initial()
        parts = [c == v for c, v in zip(self.control, root.control, strict=True)]
        parts += [v == value for v, value in self.ex.monitor.variables.values()]
        return z3.And(parts)

    def _named(self) -> tuple[dict[str, z3.ExprRef], dict[str, z3.ExprRef]]:
        fields = dict(zip(self.field_names, self.fields, strict=True))
        mvars = dict(zip(self.monitor_names, self.mvars, strict=True))
        return fields, mvars

    def _enabled(self, t: SymTransition) -> list[z3.BoolRef]:
        return [self.control[p] >= w for p, w in t.consume] + \
            [self.control[p] < w for p, w in t.inhibit]

    def step(self, t: SymTransition) -> z3.BoolRef:
        """``t`` fires from the current state into the next one."""
        fields, mvars = self._named()
        outs = {n: term for n, (term, _) in t.outputs.items()}
        delta: dict[int, int] = {}
        for p, w in t.consume:
            delta[p] = delta.get(p, 0) - w
        for p, w in t.produce:
            delta[p] = delta.get(p, 0) + w
        changes: dict[str, z3.ExprRef] = dict(t.update)
        if t.id in self.ex.monitor.updates:
            changes.update(self.ex.monitor.updates[t.id](fields, outs, mvars))
        k = len(self.control)
        parts = [*self._enabled(t), t.guard, t.valid]
        for i, c in enumerate(self.control):
            parts.append(self.next[i] == c + delta.get(i, 0))
        for j, name in enumerate(self.field_names + self.monitor_names):
            value = changes.get(name, self.current[k + j])
            parts.append(self.next[k + j] == value)
        return z3.And(parts)

    def bad(self) -> list[z3.BoolRef]:
        """The monitor's bad states (once the case has started) and bad steps."""
        fields, mvars = self._named()
        mon = self.ex.monitor
        out = []
        started = self.control[self.ex.cindex["source"]] == 0
        if mon.bad_state is not None:
            out.append(z3.And(started, mon.bad_state(fields, mvars)))
        for t in self.ex.transitions:
            if t.id in mon.bad:
                outs = {n: term for n, (term, _) in t.outputs.items()}
                out.append(z3.And(*self._enabled(t), t.guard, t.valid,
                                  mon.bad[t.id](fields, outs, mvars)))
        return out


    def stuck(self) -> z3.BoolRef:
        """The case is stuck: not at a proper end, and no transition can fire with any
        answer (each transition's enabling condition has its answers projected away)."""
        ex = self.ex
        c = self.control
        others = [p for p in range(len(c)) if p not in ex.finals and p not in ex.history]
        if not ex.finals:
            final = z3.BoolVal(False)
        elif ex.implicit:  # at least one end token, nothing else (SEMANTICS.md)
            final = z3.And(z3.Sum([c[f] for f in ex.finals]) >= 1, *[c[p] == 0 for p in others])
        else:
            final = z3.Or([z3.And(c[f] == 1, *[c[g] == 0 for g in ex.finals if g != f],
                                  *[c[p] == 0 for p in others]) for f in ex.finals])
        can_fire = [z3.And(*self._enabled(t), ex.enabled_condition(t)) for t in ex.transitions]
        return z3.And(z3.Not(final), *[z3.Not(f) for f in can_fire])


def _free_constants(formulas: list[z3.ExprRef]) -> list[z3.ExprRef]:
    seen: set[int] = set()
    out: dict[int, z3.ExprRef] = {}
    stack = list(formulas)
    while stack:
        e = stack.pop()
        key = e.get_id()
        if key in seen:
            continue
        seen.add(key)
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out[key] = e
        else:
            stack.extend(e.children())
    return list(out.values())


def _bad(system: System, deadlock: bool) -> list[z3.BoolRef]:
    return [system.stuck()] if deadlock else system.bad()


def spacer(ex: Exploration, *, deadline: float, deadlock: bool = False) -> ChcResult:
    """Is a bad state of ``ex``'s monitor (or, with ``deadlock``, a stuck case)
    reachable? Spacer's answer, with its invariant."""
    system = System(ex)
    bad = _bad(system, deadlock)
    if not bad:
        return ChcResult("unknown", reason="the policy has no bad state to search for")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return ChcResult("unknown", reason="time budget spent")
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    fp.set("timeout", max(1, int(remaining * 1000)))
    reach = z3.Function("Reach", *[v.sort() for v in system.current], z3.BoolSort())
    fp.register_relation(reach)
    steps = [system.step(t) for t in ex.transitions]
    init = system.init()
    query = z3.Or(bad)
    fp.declare_var(*_free_constants([*steps, init, query, *system.current, *system.next]))
    fp.rule(reach(*system.current), init)
    for body in steps:
        fp.rule(reach(*system.next), [reach(*system.current), body])
    try:
        answer = fp.query(z3.And(reach(*system.current), query))
    except z3.Z3Exception as exc:
        return ChcResult("unknown", reason=f"Spacer: {exc}")
    if answer == z3.sat:
        return ChcResult("reachable")
    if answer != z3.unsat:
        return ChcResult("unknown", reason=f"Spacer: {fp.reason_unknown()}")
    answer_formula = fp.get_answer()
    invariant = None
    if z3.is_quantifier(answer_formula):
        body = answer_formula.body()
        if z3.is_eq(body) and body.num_args() == 2:
            invariant = z3.substitute_vars(body.arg(1), *reversed(system.current))
    elif z3.is_eq(answer_formula) and answer_formula.num_args() == 2:
        invariant = answer_formula.arg(1)
    elif z3.is_true(answer_formula) or z3.is_false(answer_formula):
        invariant = answer_formula
    if invariant is None:
        return ChcResult("unknown", reason="Spacer proved it but its invariant could not be read")
    return ChcResult("unreachable", invariant)


def recheck(ex: Exploration, invariant: z3.BoolRef, *, timeout_seconds: float = 60.0,
            deadlock: bool = False) -> bool:
    """Re-verify an invariant over the current state with fresh solvers: the initial
    state satisfies it, every step keeps it, and no state satisfying it is bad."""
    system = System(ex)
    after = z3.substitute(invariant, *zip(system.current, system.next, strict=True))
    obligations = [z3.And(system.init(), z3.Not(invariant))]
    obligations += [z3.And(invariant, system.step(t), z3.Not(after)) for t in ex.transitions]
    obligations += [z3.And(invariant, b) for b in _bad(system, deadlock)]
    return all_unsat(obligations, timeout_seconds)


# -- k-induction on the same transition system -------------------------------------------


@dataclass
class KInductionResult:
    answer: str  # "unreachable" | "reachable" | "unknown"
    k: int = 0
    reason: str | None = None


class _Unrolled:
    """Copies of the system's state for steps 0..n, each step with fresh answers."""

    def __init__(self, system: System, solver: z3.Solver, tag: str, bad: list[z3.BoolRef]):
        self.system = system
        self.solver = solver
        self.tag = tag
        self.states: list[list[z3.ExprRef]] = []
        self.steps = [system.step(t) for t in system.ex.transitions]
        self.bad = bad
        state_ids = {v.get_id() for v in (*system.current, *system.next)}
        self.local = [c for c in _free_constants([*self.steps, *bad])
                      if c.get_id() not in state_ids]

    def _fresh(self, i: int, what: str) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return [(c, z3.Const(f"{self.tag}{i}{what}!{c}", c.sort())) for c in self.local]

    def add_state(self) -> list[z3.ExprRef]:
        i = len(self.states)
        s = [z3.Const(f"{self.tag}{i}!{v}", v.sort()) for v in self.system.current]
        if self.states:
            prev = self.states[-1]
            moves = []
            for body in self.steps:
                moves.append(z3.substitute(body, *zip(self.system.current, prev, strict=True),
                                           *zip(self.system.next, s, strict=True),
                                           *self._fresh(i, "s")))
            self.solver.add(z3.Or(moves) if moves else z3.BoolVal(False))
        self.states.append(s)
        return s

    def bad_at(self, i: int) -> z3.BoolRef:
        s = self.states[i]
        return z3.Or([z3.substitute(b, *zip(self.system.current, s, strict=True),
                                    *self._fresh(i, "b")) for b in self.bad])


def kinduction(ex: Exploration, *, deadline: float, deadlock: bool = False,
               max_k: int = 12) -> KInductionResult:
    """k-induction (Sheeran, Singh, Stålmarck, FMCAD 2000) on the case as a transition
    system: no bad state within ``k`` steps of the start, and no simple path of ``k``
    good states followed by a bad one. Both together prove the bad state unreachable
    (a shortest path to it is simple and good until its end)."""
    system = System(ex)
    bad = _bad(system, deadlock)
    if not bad:
        return KInductionResult("unknown", reason="the policy has no bad state to search for")
    base = make_solver()
    b = _Unrolled(system, base, "B", bad)
    first = b.add_state()
    base.add(z3.substitute(system.init(), *zip(system.current, first, strict=True)))
    step = make_solver()
    s = _Unrolled(system, step, "S", bad)
    for k in range(max_k + 1):
        for solver, query in ((base, b.bad_at(k)), (step, None)):
            if solver is step:
                new = s.add_state()
                for earlier in s.states[:-1]:
                    step.add(z3.Or([x != y for x, y in zip(earlier, new, strict=True)]))
                query = s.bad_at(k)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return KInductionResult("unknown", k, "time budget spent")
            solver.set("timeout", max(1, int(remaining * 1000)))
            solver.push()
            solver.add(query)
            answer = solver.check()
            solver.pop()
            if answer == z3.unknown:
                return KInductionResult("unknown", k, f"the solver could not decide at k = {k} "
                                        f"({solver.reason_unknown()})")
            if solver is base and answer == z3.sat:
                return KInductionResult("reachable", k)
            if solver is step and answer == z3.unsat:
                return KInductionResult("unreachable", k)
        step.add(z3.Not(s.bad_at(k)))
        b.add_state()
    return KInductionResult("unknown", max_k, f"not k-inductive for k <= {max_k}")


def recheck_kinduction(ex: Exploration, k: int, *, deadlock: bool = False,
                       timeout_seconds: float = 60.0) -> bool:
    """Both queries for exactly ``k``, from scratch in fresh solvers."""
    system = System(ex)
    bad = _bad(system, deadlock)
    base = make_solver(timeout_seconds)
    b = _Unrolled(system, base, "RB", bad)
    first = b.add_state()
    base.add(z3.substitute(system.init(), *zip(system.current, first, strict=True)))
    for _ in range(k):
        b.add_state()
    base.add(z3.Or([b.bad_at(i) for i in range(k + 1)]))
    if base.check() != z3.unsat:
        return False
    step = make_solver(timeout_seconds)
    s = _Unrolled(system, step, "RS", bad)
    for _ in range(k + 1):
        s.add_state()
    for i, x in enumerate(s.states):
        for y in s.states[i + 1:]:
            step.add(z3.Or([p != q for p, q in zip(x, y, strict=True)]))
    step.add(*[z3.Not(s.bad_at(i)) for i in range(k)], s.bad_at(k))
    return step.check() == z3.unsat

__all__ = ["ChcResult", "KInductionResult", "System", "kinduction", "recheck",
           "recheck_kinduction", "spacer"]
