"""Policy monitors: history variables composed with a compiled process.

Each dynamic policy becomes extra state (a flag, a remembered actor, a pending review)
updated by the transitions the policy names, and a bad condition; the policy holds
exactly when no bad condition is reachable. Segregation of duties remembers one
completion nondeterministically (the checker explores both choices), which is exact
for "two different tasks completed by the same actor".
"""

from __future__ import annotations

from typing import Any

import z3

from petriflow.governance.policies import (
    ConditionalRequirement,
    ForbiddenState,
    LowConfidenceReview,
    Precedence,
    SegregationOfDuties,
)
from petriflow.model.compiled import ACTOR_VAR, DATA_VAR, Obligation
from petriflow.verify.smt.symbolic import Exploration, Monitor


def _actor_of(outs: dict[str, z3.ExprRef]) -> z3.ExprRef | None:
    return outs.get(ACTOR_VAR)


def monitor_for(ob: Obligation, ex: Exploration) -> Monitor:
    """The monitor of a dynamic policy, over the exploration's variables."""
    p = ob.policy
    tr = ex.translate
    groups = ob.transitions

    def data_env(fields: dict[str, z3.ExprRef]) -> dict[str, Any]:
        return {DATA_VAR: (fields, ex.record)}

    if isinstance(p, Precedence | ConditionalRequirement):
        seen = z3.Bool(f"mon!{p.id}!seen")
        required = groups["after" if isinstance(p, Precedence) else "requires"]
        cond = None
        if isinstance(p, ConditionalRequirement) and ob.condition is not None:
            cond = ob.condition
        m = Monitor(variables={"seen": (seen, z3.BoolVal(False))})
        for t in required:
            m.updates[t] = lambda f, o, mv: {"seen": z3.BoolVal(True)}
        for t in groups["task"]:
            if cond is None:
                m.bad[t] = lambda f, o, mv: z3.Not(mv["seen"])
            else:
                m.bad[t] = lambda f, o, mv, c=cond: z3.And(
                    tr.boolean(c, data_env(f)), z3.Not(mv["seen"]))
        return m
    if isinstance(p, SegregationOfDuties):
        who = z3.Int(f"mon!{p.id}!actor")
        which = z3.Int(f"mon!{p.id}!task")
        m = Monitor(variables={"task": (which, z3.IntVal(0)), "actor": (who, z3.IntVal(0))})
        for i, task in enumerate(p.tasks, start=1):
            for t in groups.get(task, ()):
                remember = z3.Bool(f"mon!{p.id}!remember!{t}")
                m.choices[t] = [remember]

                def update(f: Any, o: Any, mv: Any, i: int = i, r: Any = remember) -> Any:
                    actor = _actor_of(o)
                    if actor is None:
                        return {}
                    take = z3.And(r, mv["task"] == 0)
                    return {"task": z3.If(take, z3.IntVal(i), mv["task"]),
                            "actor": z3.If(take, actor, mv["actor"])}

                def bad(f: Any, o: Any, mv: Any, i: int = i) -> Any:
                    actor = _actor_of(o)
                    if actor is None:
                        return z3.BoolVal(False)
                    return z3.And(mv["task"] != 0, mv["task"] != i, mv["actor"] == actor)

                m.updates[t] = update
                m.bad[t] = bad
        return m
    if isinstance(p, LowConfidenceReview):
        pending = z3.Bool(f"mon!{p.id}!pending")
        m = Monitor(variables={"pending": (pending, z3.BoolVal(False))})
        cond = ob.condition
        for t in groups["task"]:
            st = ex.by_id[t]

            def low(f: Any, o: Any, mv: Any, st: Any = st) -> Any:
                if cond is None:
                    return {}
                new_fields = {n: st.update.get(n, term) for n, term in f.items()}
                return {"pending": z3.Or(mv["pending"], tr.boolean(cond, data_env(new_fields)))}

            m.updates[t] = low
        for t in groups["review"]:
            m.updates[t] = lambda f, o, mv: {"pending": z3.BoolVal(False)}
        for t in groups["before"]:
            m.bad[t] = lambda f, o, mv: mv["pending"]
        return m
    if isinstance(p, ForbiddenState):
        assert ob.condition is not None
        c = ob.condition
        return Monitor(bad_state=lambda f, mv: tr.boolean(c, data_env(f)))
    raise TypeError(f"no monitor for {type(p).__name__}")


__all__ = ["combine", "monitor_for"]


def combine(monitors: list[Monitor]) -> Monitor:
    """One monitor running several side by side (their variables renamed apart).

    A bad condition of the combination is the disjunction of the parts'; a caller that
    finds one re-checks the policies one by one to say which broke."""
    out = Monitor()

    def view(i: int, mv: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{i}:"
        return {k[len(prefix):]: v for k, v in mv.items() if k.startswith(prefix)}

    for i, m in enumerate(monitors):
        for key, value in m.variables.items():
            out.variables[f"{i}:{key}"] = value
        for t, choices in m.choices.items():
            out.choices.setdefault(t, []).extend(choices)
    transitions = {t for m in monitors for t in (*m.updates, *m.bad)}
    for t in transitions:
        parts = [(i, m) for i, m in enumerate(monitors) if t in m.updates]
        if parts:
            def update(f: Any, o: Any, mv: Any, parts: Any = parts, t: str = t) -> Any:
                changes: dict[str, Any] = {}
                for i, m in parts:
                    for k, v in m.updates[t](f, o, view(i, mv)).items():
                        changes[f"{i}:{k}"] = v
                return changes

            out.updates[t] = update
        bads = [(i, m) for i, m in enumerate(monitors) if t in m.bad]
        if bads:
            out.bad[t] = lambda f, o, mv, bads=bads, t=t: z3.Or(
                [m.bad[t](f, o, view(i, mv)) for i, m in bads])
    states = [(i, m) for i, m in enumerate(monitors) if m.bad_state is not None]
    if states:
        out.bad_state = lambda f, mv: z3.Or([m.bad_state(f, view(i, mv))  # type: ignore[misc]
                                             for i, m in states])
    return out
