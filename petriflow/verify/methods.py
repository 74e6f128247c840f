"""The P/T reachability methods, each a :class:`Checker` with the same interface.

A checker gets the question (``EF goal`` on a net) and a deadline, and either concludes
(a witness path, or a proof with its method and certificate) or returns ``None`` and
leaves what it learned in the shared :class:`Question` (transitions seen firing, traps
found, reasons it gave up). :data:`PORTFOLIO` lists them cheapest first, each with its
share of the budget; :func:`petriflow.verify.ptcheck.reach` runs them in that order and
stops at the first conclusive answer. Witnesses are replayed by the kernel there, not
here; proofs count only once their certificate re-checks, which each checker does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from petriflow.verify.explicit import search
from petriflow.verify.formulas import Deadlock, Evaluator, StateFormula, places_of, uses_enabling
from petriflow.verify.ptnet import PTNet
from petriflow.verify.randomwalk import walk

SMALL_SEARCH = 30_000
SPACER_PLACES = 100  # Spacer is tried on nets up to this many places
BIG_SEARCH = 3_000_000


@dataclass
class Question:
    """``EF goal`` on ``ptnet``, and what the checkers learned about it so far."""

    ptnet: PTNet
    goal: StateFormula
    evaluate: Evaluator
    budget: float
    seed: int = 0
    fired: set[int] = field(default_factory=set)
    traps: list[list[str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def deadlock_only(self) -> bool:
        return isinstance(self.goal, Deadlock)


@dataclass
class Answer:
    """A conclusive answer: ``reachable`` with a path, or ``unreachable`` with a proof."""

    answer: str
    method: str
    path: list[int] = field(default_factory=list)
    certificate: dict[str, Any] | None = None


class Checker(Protocol):
    name: str
    share: float  # of the question's budget

    def run(self, q: Question, deadline: float) -> Answer | None: ...


class SmallSearch:
    """Breadth first up to a few thousand states: exact on small nets, shortest paths."""

    name = "explicit (breadth first)"
    share = 0.2

    def run(self, q: Question, deadline: float) -> Answer | None:
        # On large nets a state takes long to expand and a small search rarely finishes.
        cap = SMALL_SEARCH if len(q.ptnet.transitions) < 500 else 1_000
        s = search(q.ptnet, q.evaluate, max_states=cap, deadline=deadline,
                   deadlock_only=q.deadlock_only)
        q.fired |= s.fired
        if s.found is not None:
            return Answer("reachable", self.name, s.path)
        if s.complete:
            return Answer("unreachable", "explicit (complete state space)",
                          certificate={"states": s.states})
        return None


class StateEquation:
    """The state equation with trap refinement (SMPT); a fresh solver re-checks it."""

    name = "state equation + traps"
    share = 0.3

    def run(self, q: Question, deadline: float) -> Answer | None:
        from petriflow.verify.smt.state_equation import recheck, state_equation

        se = state_equation(q.ptnet, q.goal, deadline=deadline)
        q.traps = se.traps
        if se.answer == "unsat" and recheck(q.ptnet, q.goal, se.traps,
                                            timeout_seconds=max(1.0, q.budget * 0.2)):
            return Answer("unreachable", self.name,
                          certificate={"method": "state-equation", "traps": se.traps,
                                       "rechecked": True})
        if se.reason:
            q.reasons.append(se.reason)
        return None


class RandomWalk:
    """Uniformly random firings with restarts: deep witnesses, cheaply."""

    name = "random walk"
    share = 0.25

    def run(self, q: Question, deadline: float) -> Answer | None:
        watch = None if uses_enabling(q.goal) else {q.ptnet.pindex[p]
                                                    for p in places_of(q.goal)}
        w = walk(q.ptnet, q.evaluate, deadline=deadline, seed=q.seed,
                 deadlock_only=q.deadlock_only, watch=watch)
        q.fired |= w.fired
        return Answer("reachable", self.name, w.path) if w.found is not None else None


class GuidedWalk:
    """A walk that mostly fires what brings the goal's distance down: witnesses in the
    far corners of large state spaces (counts in the thousands)."""

    name = "guided walk"
    share = 0.15

    def run(self, q: Question, deadline: float) -> Answer | None:
        from petriflow.verify.guided import guided_walk

        g = guided_walk(q.ptnet, q.goal, q.evaluate, deadline=deadline, seed=q.seed)
        return Answer("reachable", self.name, g.path) if g.path is not None else None


class KInduction:
    """k-induction strengthened by the state equation and the traps found so far."""

    name = "k-induction + state equation"
    share = 0.15

    def run(self, q: Question, deadline: float) -> Answer | None:
        from petriflow.verify.smt.kinduction import kinduction, recheck

        ki = kinduction(q.ptnet, q.goal, deadline=deadline, traps=q.traps)
        if ki.answer == "reachable":
            return Answer("reachable", f"k-induction (base case, k = {ki.k})", ki.path)
        if ki.answer == "unreachable" and recheck(q.ptnet, q.goal, ki.k, ki.traps,
                                                  timeout_seconds=max(1.0, q.budget * 0.1)):
            return Answer("unreachable", self.name,
                          certificate={"method": "k-induction", "k": ki.k, "traps": ki.traps,
                                       "strengthening": "state equation and initially "
                                       "marked traps", "rechecked": True})
        return None


class BoundedModelChecking:
    """Incremental BMC: shortest witnesses on nets too large to search explicitly."""

    name = "bounded model checking"
    share = 0.1

    def run(self, q: Question, deadline: float) -> Answer | None:
        from petriflow.verify.smt.bmc import bmc

        b = bmc(q.ptnet, q.goal, deadline=deadline)
        return Answer("reachable", self.name, b.path) if b.answer == "reachable" else None


class Spacer:
    """Spacer (CHC) on small nets; its inductive invariant is re-checked."""

    name = "Spacer (CHC)"
    share = 0.2

    def run(self, q: Question, deadline: float) -> Answer | None:
        from petriflow.verify.smt.bmc import recheck_invariant, spacer

        if len(q.ptnet.places) > SPACER_PLACES:
            return None
        sp = spacer(q.ptnet, q.goal, deadline=deadline)
        if sp.answer == "unreachable" and sp.invariant is not None and recheck_invariant(
            q.ptnet, q.goal, sp.invariant, timeout_seconds=max(1.0, q.budget * 0.1)
        ):
            return Answer("unreachable", self.name,
                          certificate={"method": "inductive invariant",
                                       "invariant": sp.invariant, "rechecked": True})
        return None


class BigSearch:
    """Breadth first with the rest of the budget (stubborn sets for deadlocks)."""

    name = "explicit (breadth first)"
    share = 1.0  # whatever is left

    def run(self, q: Question, deadline: float) -> Answer | None:
        s = search(q.ptnet, q.evaluate, max_states=BIG_SEARCH, deadline=deadline,
                   deadlock_only=q.deadlock_only)
        q.fired |= s.fired
        how = ", stubborn sets)" if q.deadlock_only else ")"
        if s.found is not None:
            return Answer("reachable", "explicit (breadth first" + how, s.path)
        if s.complete:
            return Answer("unreachable", "explicit (complete state space" + how,
                          certificate={"states": s.states})
        if s.reason:
            q.reasons.append(s.reason)
        return None


PORTFOLIO: tuple[Checker, ...] = (SmallSearch(), StateEquation(), RandomWalk(), GuidedWalk(),
                                  KInduction(), BoundedModelChecking(), Spacer(), BigSearch())


def run_portfolio(q: Question, deadline: float,
                  checkers: tuple[Checker, ...] = PORTFOLIO) -> Answer | None:
    """Run ``checkers`` in order, each until its share of the budget is spent (the last
    until ``deadline``); the first conclusive answer wins."""
    for i, checker in enumerate(checkers):
        now = time.monotonic()
        if now >= deadline and i < len(checkers) - 1:
            continue
        until = deadline if i == len(checkers) - 1 else min(deadline,
                                                              now + q.budget * checker.share)
        answer = checker.run(q, until)
        if answer is not None:
            return answer
    return None


__all__ = ["PORTFOLIO", "Answer", "BigSearch", "BoundedModelChecking", "Checker", "GuidedWalk",
           "KInduction",
           "Question", "RandomWalk", "SmallSearch", "Spacer", "StateEquation", "run_portfolio"]
