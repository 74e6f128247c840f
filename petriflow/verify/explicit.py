"""Explicit-state search of P/T nets: breadth first, exact when it finishes.

It looks for a marking satisfying a goal (a deadlock, a bad state), returning the
shortest firing sequence to it, or explores the whole state space and so proves the
goal unreachable. A state cap and a deadline bound the work; hitting either makes the
search inconclusive, never wrong. For deadlock goals, *stubborn sets* (Valmari) prune
interleavings of independent transitions while keeping every deadlock reachable.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from petriflow.verify.formulas import Evaluator
from petriflow.verify.ptnet import Marking, PTNet


@dataclass
class Search:
    """What a search saw. ``found`` is a goal marking (with ``path`` leading to it);
    ``complete`` says every reachable marking was visited (so no goal exists if none
    was found)."""

    found: Marking | None = None
    path: list[int] = field(default_factory=list)
    complete: bool = False
    states: int = 0
    fired: set[int] = field(default_factory=set)
    max_tokens: list[int] = field(default_factory=list)
    unbounded_witness: tuple[list[int], list[int]] | None = None  # (prefix, pumping cycle)
    reason: str | None = None


def _path(parents: dict[Marking, tuple[Marking, int] | None], m: Marking) -> list[int]:
    out = []
    step = parents[m]
    while step is not None:
        prev, t = step
        out.append(t)
        step = parents[prev]
    out.reverse()
    return out


def stubborn(net: PTNet, m: Marking, enabled: list[int]) -> list[int]:
    """A subset of ``enabled`` that preserves every reachable deadlock.

    Closure rules: for an enabled transition, every transition that can take tokens it
    needs, every transition that needs (takes or reads) a token it takes, and every one
    its firing can disable or enable through inhibitor arcs; for a
    disabled one, every producer of one of its missing tokens (or, if an inhibitor
    blocks it, every consumer of that place).
    """
    if len(enabled) <= 1:
        return enabled
    enabled_set = set(enabled)
    start = enabled[0]
    chosen = {start}
    stack = [start]
    while stack:
        t = stack.pop()
        if t in enabled_set:
            deps: set[int] = set()
            for p, _ in net.need[t]:
                deps.update(net.consumers[p])
            for p, _ in net.pre[t]:  # whatever t takes, readers of it lose too
                deps.update(net.watchers[p])
            for p, _ in net.inhibit[t]:
                deps.update(net.producers[p])
            for p, _ in net.post[t]:
                for u in net.watchers[p]:
                    if any(q == p for q, _ in net.inhibit[u]):
                        deps.add(u)
        else:
            deps = set()
            blocker = next(((p, w) for p, w in net.need[t] if m[p] < w), None)
            if blocker is not None:
                deps.update(net.producers[blocker[0]])
            else:
                p = next(p for p, w in net.inhibit[t] if m[p] >= w)
                deps.update(net.consumers[p])
        for u in deps:
            if u not in chosen:
                chosen.add(u)
                stack.append(u)
        if enabled_set <= chosen:
            return enabled
    return [t for t in enabled if t in chosen]


def search(
    net: PTNet,
    goal: Evaluator | None,
    *,
    max_states: int = 2_000_000,
    deadline: float | None = None,
    deadlock_only: bool = False,
    detect_unbounded: bool = False,
) -> Search:
    """Breadth-first search from the initial marking for a marking satisfying ``goal``.

    ``deadlock_only`` says the goal is exactly "no transition enabled", which allows
    stubborn-set reduction. ``detect_unbounded`` looks for a marking that strictly
    covers one of its ancestors (proof of unboundedness on nets without inhibitor arcs).
    """
    start = net.initial
    parents: dict[Marking, tuple[Marking, int] | None] = {start: None}
    queue = deque([start])
    result = Search(max_tokens=list(start))
    max_tokens = result.max_tokens
    fired = result.fired
    check_cover = detect_unbounded and not any(net.inhibit)
    if goal is not None and goal(start):
        result.found = start
        result.states = 1
        return result
    tick = 0
    # Look at the clock often enough that a slice of work stays short on wide nets.
    every = 512 if len(net.transitions) <= 64 else 1
    while queue:
        m = queue.popleft()
        tick += 1
        if deadline is not None and tick % every == 0 and time.monotonic() > deadline:
            result.states = len(parents)
            result.reason = f"time budget spent after {len(parents)} states"
            return result
        enabled = net.enabled_list(m)
        if deadlock_only and not enabled:
            result.found = m
            result.path = _path(parents, m)
            result.states = len(parents)
            return result
        succ = stubborn(net, m, enabled) if deadlock_only else enabled
        for t in succ:
            nm = list(m)
            for p, d in net.delta[t]:
                nm[p] += d
            n = tuple(nm)
            fired.add(t)
            if n in parents:
                continue
            parents[n] = (m, t)
            for p, d in net.delta[t]:
                if d > 0 and n[p] > max_tokens[p]:
                    max_tokens[p] = n[p]
            if check_cover:
                witness = _covers_ancestor(parents, n)
                if witness is not None:
                    result.unbounded_witness = witness
                    result.states = len(parents)
                    result.reason = "a reachable marking strictly covers an earlier one"
                    return result
            if goal is not None and not deadlock_only and goal(n):
                result.found = n
                result.path = _path(parents, n)
                result.states = len(parents)
                return result
            if len(parents) >= max_states:
                result.states = len(parents)
                result.reason = f"state cap of {max_states} reached"
                return result
            queue.append(n)
    result.complete = True
    result.states = len(parents)
    return result


def _covers_ancestor(parents: dict[Marking, tuple[Marking, int] | None], n: Marking
                     ) -> tuple[list[int], list[int]] | None:
    cycle: list[int] = []
    step = parents[n]
    while step is not None:
        prev, t = step
        cycle.append(t)
        if prev != n and all(a >= b for a, b in zip(n, prev, strict=True)):
            prefix = _path(parents, prev)
            cycle.reverse()
            return prefix, cycle
        step = parents[prev]
    return None


__all__ = ["Search", "search", "stubborn"]
