"""The P/T portfolio: one call per property, cheap methods first, under a time budget.

For a reachability question ``EF goal`` it runs the checkers of
:mod:`petriflow.verify.methods` in order: a small breadth-first search (exact on small
nets), the state equation with trap refinement (proofs of unreachability), a random walk
(deep witnesses), k-induction strengthened by the state equation and the traps found
(proofs the state equation alone misses, and shallow witnesses), bounded model
checking, Spacer on small nets, and a long breadth-first search with stubborn sets for
deadlocks. Every witness is replayed by the kernel before it is
reported; every proof names its method and, for the state equation, its certificate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from petriflow.errors import FiringError
from petriflow.net.game import TokenGame
from petriflow.net.structure import Net
from petriflow.verify.explicit import search
from petriflow.verify.formulas import (
    EF,
    Compare,
    Deadlock,
    Fireable,
    IntConst,
    NamedFormula,
    Not,
    Or,
    StateFormula,
    TokenSum,
    compile_formula,
)
from petriflow.verify.methods import BIG_SEARCH, SMALL_SEARCH
from petriflow.verify.ptnet import PTNet
from petriflow.verify.randomwalk import walk
from petriflow.verify.result import Result, TraceStep, Verdict


@dataclass
class Reach:
    """The answer to ``EF goal``: ``reachable`` with a replayed path, ``unreachable`` with
    the method (and certificate), or ``unknown`` with a reason."""

    answer: str
    method: str
    path: list[int] = field(default_factory=list)
    certificate: dict[str, Any] | None = None
    reason: str | None = None
    fired: set[int] = field(default_factory=set)


def replay(net: Net, ptnet: PTNet, path: list[int]) -> None:
    """Fire ``path`` with the kernel, raising if any step is not enabled."""
    TokenGame(net).replay([ptnet.transitions[t] for t in path])


def reach(net: Net, ptnet: PTNet, goal: StateFormula, deadline: float, *,
          seed: int = 0) -> Reach:
    """Decide ``EF goal`` as far as the budget allows: the checkers of
    :data:`petriflow.verify.methods.PORTFOLIO`, cheapest first."""
    from petriflow.verify.methods import Question, run_portfolio

    q = Question(ptnet, goal, compile_formula(goal, ptnet),
                 budget=max(0.0, deadline - time.monotonic()), seed=seed)
    answer = run_portfolio(q, deadline)
    if answer is None:
        return Reach("unknown", "portfolio", fired=q.fired,
                     reason="; ".join(q.reasons) or "no method concluded within the budget")
    if answer.answer == "reachable":
        # a witness is believed only once the kernel fires it and its end meets the goal
        try:
            end = TokenGame(net).replay([ptnet.transitions[t] for t in answer.path])
        except FiringError as exc:
            return Reach("unknown", answer.method, fired=q.fired,
                         reason=f"{answer.method} gave a run the net cannot fire ({exc}); "
                                "not believed")
        if not compile_formula(goal, ptnet)(tuple(end.count(p) for p in ptnet.places)):
            return Reach("unknown", answer.method, fired=q.fired,
                         reason=f"{answer.method} gave a run whose end does not meet the "
                                "goal (not believed)")
    return Reach(answer.answer, answer.method, answer.path, certificate=answer.certificate,
                 fired=q.fired)


def _trace(ptnet: PTNet, path: list[int]) -> tuple[TraceStep, ...]:
    return tuple(TraceStep(ptnet.transitions[t]) for t in path)


def check_formula(net: Net, ptnet: PTNet, formula: NamedFormula, timeout: float) -> Result:
    """An MCC reachability formula: ``verdict`` says whether it holds, ``mcc_answer`` is
    its value as the contest defines it."""
    t0 = time.monotonic()
    f = formula.formula
    goal = f.formula if isinstance(f, EF) else Not(f.formula)
    r = reach(net, ptnet, goal, t0 + timeout)
    seconds = time.monotonic() - t0
    if r.answer == "unknown":
        return Result(formula.id, Verdict.UNKNOWN, r.method, seconds, reason=r.reason,
                      extra={"mcc": True})
    holds = (r.answer == "reachable") == isinstance(f, EF)
    trace = _trace(ptnet, r.path) if r.answer == "reachable" else None
    return Result(formula.id, Verdict.PROVED if holds else Verdict.VIOLATED, r.method, seconds,
                  trace=trace, certificate=r.certificate, mcc_answer="TRUE" if holds else "FALSE",
                  extra={"mcc": True})


def check_deadlock(net: Net, ptnet: PTNet, timeout: float) -> Result:
    """``proved``: no reachable marking is dead; ``violated``: one is (with the trace).

    The question is asked of the net after the structural reductions of
    :mod:`petriflow.verify.reduce`, which keep it; a deadlock found there is lifted to a
    firing sequence of the original net and replayed by the kernel on it."""
    from petriflow.verify.reduce import reduce_for_deadlock

    t0 = time.monotonic()
    red = reduce_for_deadlock(ptnet)
    target, target_pt = (red.net, red.ptnet) if red.smaller else (net, ptnet)
    r = reach(target, target_pt, Deadlock(), t0 + timeout)
    seconds = time.monotonic() - t0
    method = r.method + (", on the reduced net" if red.smaller else "")
    if r.answer == "unknown":
        return Result("deadlock", Verdict.UNKNOWN, method, seconds, reason=r.reason)
    if r.answer == "reachable":
        path = red.lift([target_pt.transitions[t] for t in r.path]) if red.smaller else \
            [ptnet.transitions[t] for t in r.path]
        end = TokenGame(net).replay(path)  # the original net must agree
        if TokenGame(net, end).enabled():
            return Result("deadlock", Verdict.UNKNOWN, method, seconds,
                          reason="internal error, please report it: a deadlock of the reduced "
                          "net did not lift to one of the original")
        return Result("deadlock", Verdict.VIOLATED, method, seconds,
                      trace=tuple(TraceStep(t) for t in path), mcc_answer="TRUE",
                      reason="a reachable marking enables no transition")
    certificate = dict(r.certificate or {})
    if red.smaller:
        certificate["reduction"] = red.summary(ptnet)
    return Result("deadlock", Verdict.PROVED, method, seconds, certificate=certificate or None,
                  mcc_answer="FALSE")


def check_one_safe(net: Net, ptnet: PTNet, timeout: float) -> Result:
    """``proved``: no place ever holds two tokens."""
    t0 = time.monotonic()
    if any(n >= 2 for n in ptnet.initial):
        return Result("one-safe", Verdict.VIOLATED, "initial marking", 0.0, trace=(),
                      mcc_answer="FALSE")
    goal = Or(tuple(Compare(">=", TokenSum((p,)), IntConst(2)) for p in ptnet.places))
    r = reach(net, ptnet, goal, t0 + timeout)
    seconds = time.monotonic() - t0
    if r.answer == "unknown":
        return Result("one-safe", Verdict.UNKNOWN, r.method, seconds, reason=r.reason)
    if r.answer == "reachable":
        return Result("one-safe", Verdict.VIOLATED, r.method, seconds,
                      trace=_trace(ptnet, r.path), mcc_answer="FALSE")
    return Result("one-safe", Verdict.PROVED, r.method, seconds, certificate=r.certificate,
                  mcc_answer="TRUE")


def check_quasi_liveness(net: Net, ptnet: PTNet, timeout: float) -> Result:
    """``proved``: every transition can fire at least once; ``violated``: one never can.

    Cheap facts first: a transition that needs a token from an initially empty siphon
    is dead. Then runs (a small search, a random walk) collect the transitions that
    fire; each remaining one is asked of one shared state-equation solver (a proof that
    it is dead), then searched for."""
    from petriflow.verify.siphons import dead_by_siphon, is_siphon
    from petriflow.verify.smt.state_equation import Session, recheck

    t0 = time.monotonic()
    deadline = t0 + timeout
    n = len(ptnet.transitions)
    dead, siphon = dead_by_siphon(ptnet)
    places = {ptnet.pindex[p] for p in siphon}
    if dead and is_siphon(ptnet, places) and not any(ptnet.initial[p] for p in places):
        name = ptnet.transitions[dead[0]]
        return Result("quasi-liveness", Verdict.VIOLATED, "structural (empty siphon)",
                      time.monotonic() - t0, mcc_answer="FALSE",
                      certificate={"method": "initially empty siphon", "siphon": siphon,
                                   "transition": name},
                      reason=f"transition {name} can never fire: it needs a token from "
                      f"places that start empty and that nothing can fill first")
    fired: set[int] = set()
    first = search(ptnet, None, max_states=SMALL_SEARCH, deadline=t0 + timeout * 0.2)
    fired |= first.fired
    if first.complete:
        dead_ids = [ptnet.transitions[t] for t in range(n) if t not in fired]
        verdict = Verdict.VIOLATED if dead_ids else Verdict.PROVED
        return Result("quasi-liveness", verdict, "explicit (complete state space)",
                      time.monotonic() - t0, mcc_answer="FALSE" if dead_ids else "TRUE",
                      reason=f"never enabled: {', '.join(dead_ids[:5])}" if dead_ids else None)
    w = walk(ptnet, None, deadline=time.monotonic() + timeout * 0.3, seed=1, coverage=True)
    fired |= w.fired
    session: Session | None = None
    for t in range(n):
        if t in fired:
            continue
        if time.monotonic() > deadline:
            break
        goal = Fireable((ptnet.transitions[t],))
        if session is None:
            session = Session(ptnet)
        se = session.unreachable(
            goal, deadline=min(deadline, time.monotonic() + max(1.0, timeout / 10)))
        if se.answer == "unsat" and recheck(ptnet, goal, se.traps, timeout_seconds=timeout / 5):
            return Result("quasi-liveness", Verdict.VIOLATED, "state equation + traps",
                          time.monotonic() - t0, mcc_answer="FALSE",
                          certificate={"method": "state-equation", "traps": se.traps,
                                       "transition": ptnet.transitions[t]},
                          reason=f"transition {ptnet.transitions[t]} can never fire")
    for t in range(n):
        if t in fired:
            continue
        if time.monotonic() > deadline:
            break
        r = reach(net, ptnet, Fireable((ptnet.transitions[t],)),
                  min(deadline, time.monotonic() + max(1.0, timeout / 5)))
        if r.answer == "reachable":
            fired.add(t)
            fired |= r.fired
        elif r.answer == "unreachable":
            return Result("quasi-liveness", Verdict.VIOLATED, r.method, time.monotonic() - t0,
                          mcc_answer="FALSE", certificate=r.certificate,
                          reason=f"transition {ptnet.transitions[t]} can never fire")
    missing = [ptnet.transitions[t] for t in range(n) if t not in fired]
    if not missing:
        return Result("quasi-liveness", Verdict.PROVED, "witness firings (replayed runs)",
                      time.monotonic() - t0, mcc_answer="TRUE")
    return Result("quasi-liveness", Verdict.UNKNOWN, "portfolio", time.monotonic() - t0,
                  reason=f"{len(missing)} transition(s) neither fired nor proved dead, e.g. "
                  f"{missing[0]}")


def check_bounded(net: Net, ptnet: PTNet, timeout: float) -> Result:
    """``proved``: the net is bounded (by structure, or by a finished exploration)."""
    from petriflow.verify.smt.structural import structurally_bounded

    t0 = time.monotonic()
    weights = structurally_bounded(ptnet, timeout=min(timeout / 3, 30.0))
    if weights is not None:
        return Result("bounded", Verdict.PROVED, "structural (positive P-semiflow bound)",
                      time.monotonic() - t0, certificate={"weights": weights})
    s = search(ptnet, None, max_states=BIG_SEARCH, deadline=t0 + timeout, detect_unbounded=True)
    if s.complete:
        return Result("bounded", Verdict.PROVED, "explicit (complete state space)",
                      time.monotonic() - t0,
                      certificate={"states": s.states, "bound": max(s.max_tokens, default=0)})
    if s.unbounded_witness is not None:
        prefix, cycle = s.unbounded_witness
        replay(net, ptnet, prefix + cycle + cycle)
        return Result("bounded", Verdict.VIOLATED, "explicit (covering marking)",
                      time.monotonic() - t0, trace=_trace(ptnet, prefix + cycle),
                      reason="the marking after the trace covers an earlier one strictly; "
                      "repeating the last steps grows it without bound")
    return Result("bounded", Verdict.UNKNOWN, "portfolio", time.monotonic() - t0,
                  reason=s.reason or "no method concluded")


def check_wf_soundness(net: Net, ptnet: PTNet, timeout: float) -> Result:
    """Classical soundness of a workflow net (van der Aalst): from every reachable marking
    the final marking [o] is reachable, [o] is the only marking that marks o, and every
    transition can fire. Decided on the complete reachability graph of the net after the
    reductions that keep soundness (:func:`petriflow.verify.reduce.reduce_for_soundness`);
    a counterexample is lifted to the original net and replayed there."""
    from petriflow.verify.reduce import reduce_for_soundness

    t0 = time.monotonic()
    sources = [p for p in range(len(ptnet.places)) if not ptnet.producers[p]]
    sinks = [p for p in range(len(ptnet.places)) if not ptnet.consumers[p]]
    initial_ok = len(sources) == 1 and ptnet.initial == tuple(
        1 if p == sources[0] else 0 for p in range(len(ptnet.places)))
    if len(sinks) != 1 or not initial_ok or any(ptnet.read) or any(ptnet.inhibit):
        return Result("soundness", Verdict.UNKNOWN, "structural", time.monotonic() - t0,
                      reason="not a workflow net (one source place marked once, one sink "
                      "place, no read or inhibitor arcs); soundness is defined for "
                      "workflow nets only")
    off = _unreachable_nodes(ptnet, sources[0])
    if off:
        return Result("soundness", Verdict.UNKNOWN, "structural", time.monotonic() - t0,
                      reason=f"not a workflow net: {', '.join(off[:6])} "
                      f"{'is' if len(off) == 1 else 'are'} on no path from the source place; "
                      "soundness is defined for workflow nets only")
    red = reduce_for_soundness(ptnet)
    target = red.ptnet if red.smaller else ptnet
    sink = target.pindex[ptnet.places[sinks[0]]]
    method = "explicit (complete state space" + (", reduced net)" if red.smaller else ")")
    outcome = _wf_outcome(target, sink, t0 + timeout)
    seconds = time.monotonic() - t0
    if outcome.kind == "budget":
        from petriflow.verify.smt.structural import uncovered_transitions

        source = target.pindex[ptnet.places[sources[0]]]
        uncovered = uncovered_transitions(target, extra=(sink, source),
                                          timeout=max(1.0, timeout / 10))
        if uncovered:
            names = [t for u in uncovered for t in (
                red.originals(target.transitions[u]) if red.smaller
                else [target.transitions[u]])]
            return Result("soundness", Verdict.VIOLATED, "structural (T-invariants)",
                          time.monotonic() - t0,
                          certificate={"method": "T-invariants", "uncovered": names[:20]},
                          reason=f"transition {names[0]} lies on no T-invariant of the net "
                          "closed from its end back to its start, so it cannot stay live "
                          "there: the net is not sound (no run is shown: the state space "
                          f"is larger than the budget, {outcome.states} states)")
        return Result("soundness", Verdict.UNKNOWN, "explicit", seconds,
                      reason=f"state space larger than the budget ({outcome.states} states)")
    if outcome.kind == "sound":
        from petriflow.verify.siphons import free_choice

        certificate: dict[str, Any] = {"states": outcome.states,
                                       "free_choice": free_choice(ptnet)}
        if red.smaller:
            certificate["reduction"] = red.summary(ptnet)
        return Result("soundness", Verdict.PROVED, method, seconds, certificate=certificate)
    if outcome.kind == "dead":
        dead = [t for r in outcome.dead for t in (red.originals(r) if red.smaller else [r])]
        return Result("soundness", Verdict.VIOLATED, method, seconds,
                      reason=f"dead transitions (can never fire): {', '.join(dead[:6])}")
    names = [target.transitions[t] for t in outcome.path]
    path = red.lift(names) if red.smaller else names
    TokenGame(net).replay(path)  # the original net must agree
    reason = ("improper completion: the sink is marked while other tokens remain"
              if outcome.kind == "improper" else
              "no option to complete: the final marking is unreachable after this trace")
    return Result("soundness", Verdict.VIOLATED, method, seconds,
                  trace=tuple(TraceStep(t) for t in path), reason=reason)


def _unreachable_nodes(ptnet: PTNet, source: int) -> list[str]:
    """The places and transitions on no path from ``source`` (an isolated transition, a
    transition without input places): a workflow net has none, and the reductions would
    leave them out of the state space, so a verdict would speak of another net. (Nodes
    from which the sink cannot be reached are left to the state space: firing them is
    what makes such a net unsound, and the run shows it.)"""
    n = len(ptnet.places)
    seen, stack = {source}, [source]
    while stack:   # nodes: places 0..n-1, transitions n..
        node = stack.pop()
        nexts = ([n + t for t in ptnet.consumers[node]] if node < n
                 else [p for p, _ in ptnet.post[node - n]])
        for m in nexts:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return [ptnet.places[i] for i in range(n) if i not in seen] + [
        ptnet.transitions[t] for t in range(len(ptnet.transitions)) if n + t not in seen]


@dataclass
class _WfOutcome:
    kind: str  # "sound" | "improper" | "stuck" | "dead" | "budget"
    states: int = 0
    path: list[int] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def _wf_outcome(ptnet: PTNet, sink: int, deadline: float) -> _WfOutcome:
    final = tuple(1 if p == sink else 0 for p in range(len(ptnet.places)))
    succ: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
    parents: dict[tuple[int, ...], tuple[tuple[int, ...], int] | None] = {ptnet.initial: None}
    queue = [ptnet.initial]
    fired: set[int] = set()
    while queue:
        if time.monotonic() > deadline or len(succ) > BIG_SEARCH:
            return _WfOutcome("budget", len(succ))
        m = queue.pop()
        out = []
        for t in ptnet.enabled_list(m):
            n = ptnet.fire(t, m)
            fired.add(t)
            out.append((t, n))
            if n not in parents:
                parents[n] = (m, t)
                queue.append(n)
                if n[sink] and n != final:
                    return _WfOutcome("improper", len(succ), _path_to(parents, n))
        succ[m] = out
    back: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for m, out in succ.items():
        for _, n in out:
            back.setdefault(n, []).append(m)
    ok = {final} if final in succ else set()
    stack = list(ok)
    while stack:
        for prev in back.get(stack.pop(), []):
            if prev not in ok:
                ok.add(prev)
                stack.append(prev)
    stuck = next((m for m in succ if m not in ok), None)
    if stuck is not None:
        return _WfOutcome("stuck", len(succ), _path_to(parents, stuck))
    dead = [ptnet.transitions[t] for t in range(len(ptnet.transitions)) if t not in fired]
    if dead:
        return _WfOutcome("dead", len(succ), dead=dead)
    return _WfOutcome("sound", len(succ))


def _path_to(parents: dict[tuple[int, ...], tuple[tuple[int, ...], int] | None],
             m: tuple[int, ...]) -> list[int]:
    out = []
    step = parents[m]
    while step is not None:
        prev, t = step
        out.append(t)
        step = parents[prev]
    out.reverse()
    return out


__all__ = ["Reach", "check_bounded", "check_deadlock", "check_formula", "check_one_safe",
           "check_quasi_liveness", "reach", "replay"]
