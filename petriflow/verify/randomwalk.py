"""Random walks: the cheapest way to find deep deadlocks and bad states.

Fire uniformly random enabled transitions from the initial marking, checking the goal
after each step, and restart every ``restart`` steps. It can only find witnesses,
never prove their absence; what it finds is a firing sequence the caller replays.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from petriflow.verify.formulas import Evaluator
from petriflow.verify.ptnet import Marking, PTNet


@dataclass
class Walk:
    found: Marking | None
    path: list[int]
    steps: int
    fired: set[int]


def walk(net: PTNet, goal: Evaluator | None, *, deadline: float, seed: int = 0,
         restart: int = 20_000, deadlock_only: bool = False,
         watch: set[int] | None = None, coverage: bool = False) -> Walk:
    """Walk until ``goal`` holds (or, with ``deadlock_only``, a dead marking) or time is up.

    ``watch`` (place indexes) says which places the goal reads, so it is evaluated only
    after a step that changed one of them; None means after every step. With
    ``coverage`` the walk fires a transition that has not fired yet whenever one is
    enabled (to show that every transition can fire, e.g. for quasi-liveness).
    """
    rng = random.Random(seed)
    rand = rng.random
    need, inhibit, delta, watchers = net.need, net.inhibit, net.delta, net.watchers
    affected = []
    for t in range(len(net.transitions)):
        affected.append(tuple(sorted({u for p, _ in delta[t] for u in watchers[p]})))
    touches = [bool(watch is None or any(p in watch for p, _ in delta[t]))
               for t in range(len(net.transitions))]
    fired: set[int] = set()
    total = 0
    if goal is not None and goal(net.initial):
        return Walk(net.initial, [], 0, fired)
    while time.monotonic() < deadline:
        m = list(net.initial)
        enabled = net.enabled_list(net.initial)
        position = [-1] * len(net.transitions)
        for i, t in enumerate(enabled):
            position[t] = i
        path: list[int] = []
        for step in range(restart):
            if not enabled:
                if deadlock_only or (goal is not None and goal(m)):
                    return Walk(tuple(m), path, total, fired)
                break
            t = enabled[int(rand() * len(enabled))]
            if coverage and t in fired:
                fresh = [u for u in enabled if u not in fired]
                if fresh:
                    t = fresh[int(rand() * len(fresh))]
            for p, d in delta[t]:
                m[p] += d
            path.append(t)
            fired.add(t)
            total += 1
            for u in affected[t]:
                ok = True
                for p, w in need[u]:
                    if m[p] < w:
                        ok = False
                        break
                if ok:
                    for p, w in inhibit[u]:
                        if m[p] >= w:
                            ok = False
                            break
                pos = position[u]
                if ok:
                    if pos < 0:
                        position[u] = len(enabled)
                        enabled.append(u)
                elif pos >= 0:
                    last = enabled.pop()
                    if last != u:
                        enabled[pos] = last
                        position[last] = pos
                    position[u] = -1
            if goal is not None and not deadlock_only and touches[t] and goal(m):
                return Walk(tuple(m), path, total, fired)
            if step % 4096 == 4095 and time.monotonic() > deadline:
                break
    return Walk(None, [], total, fired)


__all__ = ["Walk", "walk"]
