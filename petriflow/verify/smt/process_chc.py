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

from petriflow.verify.smt.solver import make_solver
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
        final = z3.Or([z3.And(c[f] == 1, *[c[g] == 0 for g in ex.finals if g != f],
                              *[c[p] == 0 for p in others]) for f in ex.finals]) \
            if ex.finals else z3.BoolVal(False)
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
    for ob in obligations:
        s = make_solver(timeout_seconds)
        s.add(ob)
        if s.check() != z3.unsat:
            return False
    return True


__all__ = ["ChcResult", "System", "recheck", "spacer"]
