"""Checking compiled processes: deadlock, soundness, boundedness and policies.

Each dynamic policy becomes a monitor (history variables) composed with the net, so
the policy holds exactly when no bad monitor state is reachable, whatever the people
and agents answer. The symbolic explorer (:mod:`petriflow.verify.smt.symbolic`) decides
reachability; a violation is turned into a concrete run, replayed by the kernel and
re-checked by a plain Python monitor before it is reported, in the model's own words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from petriflow.errors import PetriflowError
from petriflow.governance.policies import (
    AgentScope,
    ConditionalRequirement,
    DataMinimisation,
    ForbiddenState,
    LowConfidenceReview,
    Precedence,
    SegregationOfDuties,
)
from petriflow.model.compiled import ACTOR_VAR, DATA_PLACE, DATA_VAR, CompiledProcess, Obligation
from petriflow.net.evaluate import evaluate
from petriflow.net.firing import fire, is_enabled
from petriflow.net.marking import Marking
from petriflow.verify.result import Result, TraceStep, Verdict
from petriflow.verify.smt.encode import Unsupported
from petriflow.verify.smt.monitors import combine, monitor_for
from petriflow.verify.smt.symbolic import Budget, Diverging, Exploration, Finding, fields_read

PROCESS_PROPERTIES = ("deadlock", "soundness", "bounded")


# -- concrete confirmation -------------------------------------------------------------------


def replay(compiled: CompiledProcess, run: list[tuple[str, dict[str, Any]]]) -> list[Marking]:
    """Fire the run with the kernel; returns the markings after each step."""
    m = compiled.net.initial_marking
    out = []
    for tid, binding in run:
        m = fire(compiled.net, m, tid, binding).after
        out.append(m)
    return out


def _data(m: Marking) -> dict[str, Any]:
    tokens = list(m[DATA_PLACE].elements())
    return dict(tokens[0]) if tokens else {}


def confirm(ob: Obligation, compiled: CompiledProcess, run: list[tuple[str, dict[str, Any]]],
            markings: list[Marking]) -> bool:
    """Re-check a violation on the concrete run with a plain Python monitor."""
    p = ob.policy
    groups = ob.transitions
    before = [compiled.net.initial_marking, *markings[:-1]]
    if isinstance(p, ForbiddenState):
        assert ob.condition is not None
        return bool(markings) and evaluate(ob.condition, {DATA_VAR: _data(markings[-1])}) is True
    if isinstance(p, Precedence | ConditionalRequirement):
        key = "after" if isinstance(p, Precedence) else "requires"
        seen = False
        for (tid, _), m in zip(run, before, strict=True):
            if tid in groups["task"]:
                holds = True if ob.condition is None else evaluate(
                    ob.condition, {DATA_VAR: _data(m)}) is True
                if holds and not seen:
                    return True
            if tid in groups[key]:
                seen = True
        return False
    if isinstance(p, SegregationOfDuties):
        actors: dict[str, set[str]] = {}
        for tid, binding in run:
            for task in p.tasks:
                if tid in groups.get(task, ()) and ACTOR_VAR in binding:
                    actors.setdefault(binding[ACTOR_VAR], set()).add(task)
        return any(len(tasks) > 1 for tasks in actors.values())
    if isinstance(p, LowConfidenceReview):
        pending = False
        for (tid, _), m in zip(run, markings, strict=True):
            if tid in groups["before"] and pending:
                return True
            if tid in groups["task"] and ob.condition is not None:
                pending = pending or evaluate(ob.condition, {DATA_VAR: _data(m)}) is True
            if tid in groups["review"]:
                pending = False
        return False
    return False


def confirm_deadlock(compiled: CompiledProcess, markings: list[Marking]) -> bool:
    """The kernel agrees that nothing can fire (transitions without answers to choose are
    checked exactly; those waiting for answers were shown impossible by the solver)."""
    net = compiled.net
    m = markings[-1] if markings else net.initial_marking
    for t in net.transitions:
        if net.plan(t.id).free:
            continue
        if is_enabled(net, m, t.id):
            return False
    return True


def _trace(compiled: CompiledProcess, run: list[tuple[str, dict[str, Any]]],
           markings: list[Marking]) -> tuple[TraceStep, ...]:
    steps = []
    sm = compiled.source_map
    for (tid, binding), m in zip(run, markings, strict=True):
        o = sm.transitions[tid]
        shown = {k: v for k, v in binding.items() if not k.startswith("mon!")}
        steps.append(TraceStep(
            tid, shown, element=o.element, action=o.role, label=o.label,
            actor=shown.get(ACTOR_VAR), line=o.line, file=o.file,
            data={k: v for k, v in _data(m).items()} if o.role in ("start", "complete",
                                                                   "handoff", "run") else {}))
    return tuple(steps)


# -- the checks ----------------------------------------------------------------------------


def _result(name: str, verdict: Verdict, method: str, t0: float, **kw: Any) -> Result:
    return Result(name, verdict, method, time.monotonic() - t0, **kw)


def check_policy(compiled: CompiledProcess, ob: Obligation, timeout: float,
                 encodings: dict[Any, Any] | None = None) -> Result:
    p = ob.policy
    t0 = time.monotonic()
    info = {"statement": p.describe(), "severity": p.severity.value, "file": ob.file}
    if isinstance(p, AgentScope | DataMinimisation):
        if ob.static_violation:
            return _result(p.id, Verdict.VIOLATED, "structural (model)", t0,
                           reason=ob.static_violation, trace=None, **info)
        return _result(p.id, Verdict.PROVED, "structural (model)", t0,
                       certificate={"kind": "structural", "checked": p.type}, **info)
    try:
        ex = Exploration(compiled, deadline=t0 + timeout * EXPLORE_SHARE,
                         needs=fields_read(ob.condition), encodings=encodings)
        ex.monitor = monitor_for(ob, ex)
    except (Budget, Unsupported) as exc:
        return _result(p.id, Verdict.UNKNOWN, "symbolic reachability", t0, reason=str(exc),
                       **info)
    try:
        return _policy_by_exploration(compiled, ob, ex, t0, info)
    except Unsupported as exc:
        return _result(p.id, Verdict.UNKNOWN, "symbolic reachability", t0, reason=str(exc),
                       **info)
    except Budget as exc:
        first = exc
    # The exploration did not close: ask Spacer and k-induction (half of what is left when
    # the exploration only looked like diverging, so that it can go on without its cap).
    diverging = isinstance(first, Diverging)
    end = t0 + timeout
    proof, why = _system_proof(ex, end - (end - time.monotonic()) / 2 if diverging else end)
    if proof is not None:
        return _result(p.id, Verdict.PROVED, _proof_method(proof), t0,
                       certificate=proof, **info)
    reason = f"exploration: {first}; Spacer: {why}"
    if diverging and time.monotonic() < end:
        ex.max_regions = None
        ex.deadline = end
        try:
            return _policy_by_exploration(compiled, ob, ex, t0, info)
        except (Budget, Unsupported) as exc:
            reason = f"exploration without its cap: {exc}; Spacer: {why}"
    return _result(p.id, Verdict.UNKNOWN, FALLBACK, t0,
                   reason=reason, **info)


def _policy_by_exploration(compiled: CompiledProcess, ob: Obligation, ex: Exploration,
                           t0: float, info: dict[str, Any]) -> Result:
    """Explore to the fixpoint (a proof, re-checked) or to a violation (replayed)."""
    name = ob.policy.id
    finding = ex.explore()
    if finding is None:
        if not ex.recheck():
            return _result(name, Verdict.UNKNOWN, "symbolic reachability", t0,
                           reason="the invariant did not re-check", **info)
        return _result(name, Verdict.PROVED, "symbolic reachability (inductive invariant)",
                       t0, certificate={"kind": "inductive invariant",
                                        "control_states": len(ex.union),
                                        "symbolic_states": len(ex.nodes),
                                        "rechecked": True}, **info)
    return _violation(name, compiled, ex, finding, t0, ob, info)


FALLBACK = "symbolic reachability, then Spacer and k-induction"
# of a property's budget, for the symbolic exploration; Spacer and k-induction get the rest
EXPLORE_SHARE = 0.5


def _system_proof(ex: Exploration, deadline: float, *, deadlock: bool = False
               ) -> tuple[dict[str, Any] | None, str]:
    """A proof on the whole case as a transition system, for when exploration does not
    close (data that keeps growing): Spacer first, then k-induction; only a certificate
    that re-checks counts."""
    from petriflow.verify.smt.process_chc import kinduction, recheck, recheck_kinduction, spacer

    ex.deadline = deadline
    start = time.monotonic()
    r = spacer(ex, deadline=start + (deadline - start) * 0.6, deadlock=deadlock)
    if r.answer == "reachable":
        return None, ("Spacer finds the bad state reachable but gives no path to replay; "
                      "a longer budget lets the exploration find one")
    if r.answer == "unreachable" and r.invariant is not None:
        if recheck(ex, r.invariant, deadlock=deadlock,
                   timeout_seconds=max(1.0, deadline - time.monotonic() + 30)):
            text = r.invariant.sexpr()
            return {"kind": "inductive invariant (Spacer)", "rechecked": True,
                    "invariant": text if len(text) <= 4000 else text[:4000] + " ..."}, ""
        why = "its invariant did not re-check"
    else:
        why = r.reason or "no answer"
    ki = kinduction(ex, deadline=deadline, deadlock=deadlock)
    if ki.answer == "unreachable" and recheck_kinduction(
            ex, ki.k, deadlock=deadlock,
            timeout_seconds=max(1.0, deadline - time.monotonic() + 30)):
        return {"kind": "k-induction", "k": ki.k, "rechecked": True,
                "note": "no bad state within k steps of the start, and none after k good "
                "states on a path without repetition"}, ""
    return None, f"{why}; k-induction: {ki.reason or ki.answer}"


def _proof_method(certificate: dict[str, Any]) -> str:
    if certificate["kind"] == "k-induction":
        return f"k-induction (k = {certificate['k']})"
    return "Spacer (CHC, inductive invariant)"


def _violation(name: str, compiled: CompiledProcess, ex: Exploration, finding: Finding,
               t0: float, ob: Obligation | None, info: dict[str, Any]) -> Result:
    run = ex.concretize(finding)
    if run is None:
        return _result(name, Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason="a violation was found but could not be made concrete", **info)
    try:
        markings = replay(compiled, run)
    except PetriflowError as exc:
        return _result(name, Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason=f"the counterexample did not replay: {exc}", **info)
    if finding.kind == "deadlock" and not confirm_deadlock(compiled, markings):
        return _result(name, Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason="a stuck state was found symbolically but the kernel can still "
                       "fire there", **info)
    if ob is not None and not confirm(ob, compiled, run, markings):
        return _result(name, Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason="the counterexample replayed but did not break the policy", **info)
    return _result(name, Verdict.VIOLATED, "symbolic reachability (replayed)", t0,
                   trace=_trace(compiled, run, markings), **info)


def check_deadlock(compiled: CompiledProcess, timeout: float) -> Result:
    t0 = time.monotonic()
    proved = _skeleton_deadlock_proof(compiled, t0 + timeout / 3)
    if proved is not None:
        return _result("deadlock", Verdict.PROVED, proved[0], t0, certificate=proved[1])
    try:
        ex = Exploration(compiled, deadline=t0 + timeout * EXPLORE_SHARE)
    except (Budget, Unsupported) as exc:
        return _result("deadlock", Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason=str(exc))
    try:
        return _deadlock_by_exploration(compiled, ex, t0)
    except Unsupported as exc:
        return _result("deadlock", Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason=str(exc))
    except Budget as exc:
        first = exc
    diverging = isinstance(first, Diverging)
    end = t0 + timeout
    proof, why = _system_proof(ex, end - (end - time.monotonic()) / 2 if diverging else end,
                            deadlock=True)
    if proof is not None:
        return _result("deadlock", Verdict.PROVED, _proof_method(proof), t0,
                       certificate=proof)
    reason = f"exploration: {first}; Spacer: {why}"
    if diverging and time.monotonic() < end:
        ex.max_regions = None
        ex.deadline = end
        try:
            return _deadlock_by_exploration(compiled, ex, t0)
        except (Budget, Unsupported) as exc:
            reason = f"exploration: {exc}; Spacer: {why}"
    return _result("deadlock", Verdict.UNKNOWN, FALLBACK, t0, reason=reason)


def _deadlock_by_exploration(compiled: CompiledProcess, ex: Exploration, t0: float) -> Result:
    finding = ex.explore(check_deadlock=True)
    if finding is None:
        if not ex.recheck(check_deadlock=True):
            return _result("deadlock", Verdict.UNKNOWN, "symbolic reachability", t0,
                           reason="the invariant did not re-check")
        return _result("deadlock", Verdict.PROVED,
                       "symbolic reachability (inductive invariant)", t0,
                       certificate={"kind": "inductive invariant",
                                    "control_states": len(ex.union), "rechecked": True})
    result = _violation("deadlock", compiled, ex, finding, t0, None, {})
    if result.verdict is Verdict.VIOLATED:
        return Result("deadlock", Verdict.VIOLATED, result.method, result.seconds,
                      trace=result.trace, reason="the case can get stuck: no task or "
                      "event can happen, and it has not reached an end event" + (
                          " on every branch" if compiled.implicit else ""))
    return result


def _skeleton_deadlock_proof(compiled: CompiledProcess, deadline: float
                             ) -> tuple[str, dict[str, Any]] | None:
    """Prove deadlock-freedom on the control skeleton when data cannot block."""
    from petriflow.verify.ptcheck import reach
    from petriflow.verify.ptnet import PTNet
    from petriflow.verify.skeleton import improper_dead, skeleton

    try:
        ex = Exploration(compiled, deadline=deadline)
        if not ex.data_never_blocks():
            return None
    except (Budget, Unsupported):
        return None
    net = skeleton(compiled)
    r = reach(net, PTNet(net), improper_dead(compiled), deadline)
    if r.answer != "unreachable":
        return None
    return (f"control skeleton: {r.method}",
            {"kind": "skeleton", "data_never_blocks": True, **(r.certificate or {})})


def _explored(compiled: CompiledProcess, deadline: float,
              shared: dict[str, Any] | None) -> Exploration:
    """The plain exploration (no monitor), shared by the checks of one call."""
    if shared is not None and "plain" in shared:
        ex = shared["plain"]
        ex.deadline = max(ex.deadline, deadline)
        return ex
    ex = Exploration(compiled, deadline=deadline,
                     encodings=shared.setdefault("encodings", {}) if shared is not None else None)
    ex.explore()
    if shared is not None:
        shared["plain"] = ex
    return ex


def check_soundness(compiled: CompiledProcess, timeout: float,
                    shared: dict[str, Any] | None = None) -> Result:
    """Option to complete, proper completion, no dead transitions (van der Aalst)."""
    t0 = time.monotonic()
    try:
        ex = _explored(compiled, t0 + timeout, shared)
        improper = ex.improper_completion()
        if improper is not None:
            res = _violation("soundness", compiled, ex, improper, t0, None, {})
            return Result("soundness", res.verdict, res.method, res.seconds, trace=res.trace,
                          reason="improper completion: the case reached an end while other "
                          "work was still open" if res.trace else res.reason)
        # a scope's bookkeeping (draining a place, merging ended branches) is no step of
        # the model: it need not be able to happen; the variants of one step (one per
        # state of pending events) are that one step (models/SEMANTICS.md, Scopes)
        group = {t.id: dict(t.meta).get("variant_of", t.id) for t in compiled.net.transitions}
        alive = {group[t] for t in ex.fired if t in group}
        dead = [t.id for t in compiled.net.transitions if group[t.id] not in alive
                and ("scope", "bookkeeping") not in t.meta]
        if dead:
            return _result("soundness", Verdict.VIOLATED, "symbolic reachability", t0,
                           reason=f"dead transitions (can never happen): {', '.join(dead[:6])}")
        stuck = ex.completion_failure()
        if stuck is not None:
            res = _violation("soundness", compiled, ex, stuck, t0, None, {})
            return Result("soundness", res.verdict, res.method, res.seconds, trace=res.trace,
                          reason="no option to complete: after this trace the case can never "
                          "reach an end event" + (" on every branch" if compiled.implicit
                                                  else "") if res.trace else res.reason)
        if not ex.recheck():
            return _result("soundness", Verdict.UNKNOWN, "symbolic reachability", t0,
                           reason="the invariant did not re-check")
        return _result("soundness", Verdict.PROVED,
                       "symbolic reachability + backward fixpoint", t0,
                       certificate={"kind": "reachable regions and completion regions",
                                    "control_states": len(ex.union), "rechecked": True,
                                    "rechecked_part": "the reachable-state invariant (fresh "
                                    "solver); completion regions are a least fixpoint over it"})
    except (Budget, Unsupported) as exc:
        return _result("soundness", Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason=str(exc))


def check_bounded(compiled: CompiledProcess, timeout: float,
                  shared: dict[str, Any] | None = None) -> Result:
    t0 = time.monotonic()
    try:
        ex = _explored(compiled, t0 + timeout, shared)
        bound = max((max(c) for c in ex.union), default=0)
        if not ex.recheck():  # the finitely many control markings cover every step
            return _result("bounded", Verdict.UNKNOWN, "symbolic reachability", t0,
                           reason="the invariant did not re-check")
        return _result("bounded", Verdict.PROVED, "symbolic reachability (finite)", t0,
                       certificate={"kind": "finite control state space",
                                    "control_states": len(ex.union), "bound": bound,
                                    "rechecked": True})
    except (Budget, Unsupported) as exc:
        return _result("bounded", Verdict.UNKNOWN, "symbolic reachability", t0,
                       reason=str(exc))


def check_process(compiled: CompiledProcess, properties: list[str], timeout: float,
                  guard: Callable[[str, Callable[[], Result]], Result] | None = None
                  ) -> list[Result]:
    """Check the named properties (``deadlock``, ``soundness``, ``bounded``, ``policies``,
    ``all`` or a policy id), each with its own ``timeout``."""
    results = []
    wanted = set(properties)
    everything = "all" in wanted
    def run(name: str, fn: Callable[[], Result]) -> Result:
        return guard(name, fn) if guard is not None else fn()

    shared: dict[str, Any] = {"encodings": {}}
    encodings = shared["encodings"]
    if everything or "deadlock" in wanted:
        results.append(run("deadlock", lambda: check_deadlock(compiled, timeout)))
    if everything or "soundness" in wanted:
        results.append(run("soundness", lambda: check_soundness(compiled, timeout, shared)))
    if everything or "bounded" in wanted:
        results.append(run("bounded", lambda: check_bounded(compiled, timeout, shared)))
    chosen = [ob for ob in compiled.obligations
              if everything or "policies" in wanted or ob.policy.id in wanted]
    try:
        together = check_together(compiled, chosen, timeout, encodings)
    except Exception:
        together = {}
    for ob in chosen:
        results.append(together.get(ob.policy.id) or run(
            ob.policy.id, lambda ob=ob: check_policy(compiled, ob, timeout, encodings)))
    return results


TOGETHER_SHARE = 0.3  # of the budget, for the shared attempt before one check per policy


def check_together(compiled: CompiledProcess, obligations: list[Obligation], timeout: float,
                   encodings: dict[Any, Any] | None = None) -> dict[str, Result]:
    """Prove the deterministic monitors' policies in one exploration.

    If the combined exploration finds anything, nothing is concluded here: each policy
    is then checked on its own, which also says which one broke."""
    group = [ob for ob in obligations if not isinstance(
        ob.policy, AgentScope | DataMinimisation | SegregationOfDuties)]
    if len(group) < 2:
        return {}
    t0 = time.monotonic()
    try:
        needs: set[str] = set()
        for ob in group:
            needs |= fields_read(ob.condition)
        ex = Exploration(compiled, deadline=t0 + timeout * TOGETHER_SHARE, needs=needs,
                         encodings=encodings)
        ex.monitor = combine([monitor_for(ob, ex) for ob in group])
        if ex.explore() is not None or not ex.recheck():
            return {}
    except (Budget, Unsupported):
        return {}
    seconds = time.monotonic() - t0
    certificate = {"kind": "inductive invariant", "control_states": len(ex.union),
                   "symbolic_states": len(ex.nodes), "rechecked": True,
                   "shared_with": [ob.policy.id for ob in group]}
    return {ob.policy.id: Result(ob.policy.id, Verdict.PROVED,
                                 "symbolic reachability (inductive invariant, policies "
                                 "checked together)", seconds, certificate=certificate,
                                 statement=ob.policy.describe(),
                                 severity=ob.policy.severity.value, file=ob.file)
            for ob in group}


__all__ = ["PROCESS_PROPERTIES", "check_bounded", "check_deadlock", "check_policy",
           "check_process", "check_soundness"]
