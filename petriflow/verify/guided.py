"""A walk guided towards the goal: witnesses that a uniform random walk does not hit.

A formula such as ``p1 + p2 >= 3000`` holds in a tiny corner of a huge state space: a
uniform walk wanders around the initial marking and never gets there. Here each
state formula gets a *distance*, a non-negative number that is zero exactly when the
formula holds (``a >= b`` is ``max(0, b - a)``, a conjunction sums, a disjunction takes
the minimum, a negation is pushed down to the atoms), and the walk mostly fires the
enabled transition that brings the distance down the most, with random ties and
random steps between, restarting when it stops improving. Like every walk it only
finds witnesses; the caller replays them with the kernel. (The idea is the heuristic
"find path" search of model checkers such as LoLA, Schmidt, 2000.)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from petriflow.verify.formulas import (
    And,
    BoolConst,
    Compare,
    Deadlock,
    Evaluator,
    Fireable,
    IntConst,
    IntExpr,
    Not,
    Or,
    StateFormula,
)
from petriflow.verify.ptnet import PTNet

Distance = Callable[[Sequence[int]], int]
_NEGATED = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "=="}


@dataclass
class Guided:
    path: list[int] | None
    steps: int


def distance(f: StateFormula, net: PTNet, negate: bool = False) -> Distance:
    """Zero exactly where ``f`` (or, with ``negate``, its negation) holds."""
    if isinstance(f, Not):
        return distance(f.operand, net, not negate)
    if isinstance(f, BoolConst):
        value = 0 if f.value != negate else 1
        return lambda m: value
    if isinstance(f, And | Or):
        parts = [distance(o, net, negate) for o in f.operands]
        if isinstance(f, And) != negate:  # a conjunction, or a negated disjunction
            return lambda m: sum(p(m) for p in parts)
        return lambda m: min(p(m) for p in parts)
    if isinstance(f, Compare):
        op = _NEGATED[f.op] if negate else f.op
        left, right = _sum(f.left, net), _sum(f.right, net)
        return _atom(op, left, right)
    if isinstance(f, Fireable):
        ts = [net.tindex[t] for t in f.transitions]
        if negate:
            return lambda m: sum(net.enabled(t, m) for t in ts)
        return lambda m: min(_missing(net, t, m) for t in ts)
    assert isinstance(f, Deadlock)
    if negate:
        return lambda m: 0 if net.any_enabled(m) else 1
    return lambda m: len(net.enabled_list(m))


def _atom(op: str, left: Distance, right: Distance) -> Distance:
    if op == "<=":
        return lambda m: max(0, left(m) - right(m))
    if op == "<":
        return lambda m: max(0, left(m) - right(m) + 1)
    if op == ">=":
        return lambda m: max(0, right(m) - left(m))
    if op == ">":
        return lambda m: max(0, right(m) - left(m) + 1)
    if op == "==":
        return lambda m: abs(left(m) - right(m))
    return lambda m: 1 if left(m) == right(m) else 0


def _sum(e: IntExpr, net: PTNet) -> Distance:
    if isinstance(e, IntConst):
        value = e.value
        return lambda m: value
    idx = [net.pindex[p] for p in e.places]
    return lambda m: sum(m[i] for i in idx)


def _missing(net: PTNet, t: int, m: Sequence[int]) -> int:
    """Tokens missing (or in excess, for inhibitor arcs) before ``t`` is enabled."""
    return sum(max(0, w - m[p]) for p, w in net.need[t]) + \
        sum(max(0, m[p] - w + 1) for p, w in net.inhibit[t])


def guided_walk(net: PTNet, goal: StateFormula, evaluate: Evaluator, *, deadline: float,
                seed: int = 0, greed: float = 0.9, patience: int = 5_000,
                restart: int = 200_000) -> Guided:
    """Walk towards ``goal``; the firing sequence to a marking where it holds, if found."""
    rng = random.Random(seed)
    dist = distance(goal, net)
    steps = 0
    while time.monotonic() < deadline:
        m = list(net.initial)
        path: list[int] = []
        current = best = dist(m)
        stale = 0
        for _ in range(restart):
            if current == 0 and evaluate(m):
                return Guided(path, steps)
            enabled = net.enabled_list(m)
            if not enabled:
                break
            if rng.random() < greed:
                scored = []
                for t in enabled:
                    for p, d in net.delta[t]:
                        m[p] += d
                    scored.append((dist(m), rng.random(), t))
                    for p, d in net.delta[t]:
                        m[p] -= d
                t = min(scored)[2]
            else:
                t = enabled[int(rng.random() * len(enabled))]
            for p, d in net.delta[t]:
                m[p] += d
            path.append(t)
            steps += 1
            current = dist(m)
            if current < best:
                best, stale = current, 0
            else:
                stale += 1
                if stale > patience:
                    break
            if steps % 1024 == 0 and time.monotonic() > deadline:
                break
        if current == 0 and evaluate(m):
            return Guided(path, steps)
    return Guided(None, steps)


__all__ = ["Guided", "distance", "guided_walk"]
