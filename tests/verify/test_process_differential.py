"""The symbolic process checker against brute force on random processes.

The random processes of :mod:`tests.model.test_random_processes` read their case data
only through guards over ``x`` (0..3), ``flag``, ``level`` (an enumeration) and an agent's
confidence against its threshold (0.5, 0.8 or 0.9); text is never compared. So firing
every transition with every *representative* answer (all values of the finite fields,
confidences on both sides of every threshold, a few names and texts) reaches a state of
every class the guards can tell apart, and the explicit graph of those states decides
deadlock-freedom and soundness exactly. The symbolic checker must agree, and its
counterexamples must replay.
"""

from __future__ import annotations

import itertools
from collections import deque
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings

from petriflow.errors import PetriflowError
from petriflow.model import CompiledProcess
from petriflow.net.colors import BoolColor, ColorSet, DecimalColor, EnumColor, IntColor, StrColor
from petriflow.net.firing import bindings, fire
from petriflow.net.marking import Marking
from petriflow.verify.process import check_deadlock, check_soundness
from petriflow.verify.result import Verdict
from tests.model.helpers import is_final, token_enabled
from tests.model.test_random_processes import compile_data, processes
from tests.strategies import scaled

pytestmark = pytest.mark.slow

CAP = 1500
CONFIDENCES = [Decimal(v) for v in ("0", "0.5", "0.6", "0.8", "0.85", "0.9", "1")]


def representatives(name: str, color: ColorSet, agent: str | None) -> list[Any]:
    if isinstance(color, BoolColor):
        return [False, True]
    if isinstance(color, EnumColor):
        return list(color.values)
    if isinstance(color, IntColor):
        low = -1 if color.low is None else color.low
        high = 3 if color.high is None else color.high
        return list(range(low, high + 1))
    if isinstance(color, DecimalColor):
        return [c for c in CONFIDENCES if (color.low is None or c >= color.low)
                and (color.high is None or c <= color.high)]
    assert isinstance(color, StrColor), color
    texts = ["", "a"]
    actors = [agent, "ann"] if agent else ["ann"]
    return [n for n in (actors if name == "_actor" else texts) if len(n) >= color.min_length]


def successors(c: CompiledProcess, m: Marking) -> list[tuple[str, dict[str, Any], Marking]]:
    out = []
    for tid in token_enabled(c.net, m):
        t = c.net.transition(tid)
        agent = dict(t.meta).get("agent")
        names = [n for n, _ in t.variables]
        choices = [representatives(n, col, agent) for n, col in t.variables]
        seen = set()
        for values in itertools.product(*choices):
            given_ = dict(zip(names, values, strict=True))
            try:
                for b in bindings(c.net, m, tid, given=given_):
                    after = fire(c.net, m, tid, b).after
                    if after not in seen:
                        seen.add(after)
                        out.append((tid, dict(b), after))
            except PetriflowError:
                continue
    return out


def explore(c: CompiledProcess) -> tuple[dict[Marking, list[Marking]], set[str], bool]:
    """(successors of every reached state, transitions fired, complete?)."""
    start = c.net.initial_marking
    graph: dict[Marking, list[Marking]] = {}
    fired: set[str] = set()
    queue = deque([start])
    seen = {start}
    while queue:
        m = queue.popleft()
        nxt = successors(c, m)
        graph[m] = [n for _, _, n in nxt]
        for tid, _, n in nxt:
            fired.add(tid)
            if n not in seen:
                if len(seen) >= CAP:
                    return graph, fired, False
                seen.add(n)
                queue.append(n)
    return graph, fired, True


def can_finish(c: CompiledProcess, graph: dict[Marking, list[Marking]]) -> set[Marking]:
    back: dict[Marking, list[Marking]] = {}
    for m, out in graph.items():
        for n in out:
            back.setdefault(n, []).append(m)
    good = {m for m in graph if is_final(c, m)}
    stack = list(good)
    while stack:
        for prev in back.get(stack.pop(), []):
            if prev not in good:
                good.add(prev)
                stack.append(prev)
    return good


def replay(c: CompiledProcess, trace: Any) -> Marking:
    m = c.net.initial_marking
    for step in trace:
        m = fire(c.net, m, step.transition, step.binding).after
    return m


@settings(max_examples=scaled(25), suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.filter_too_much])
@given(processes(max_depth=2))
def test_deadlock_and_soundness_agree_with_brute_force(data):
    c = compile_data(data)
    graph, fired, complete = explore(c)
    assume(complete)
    dead = [m for m, out in graph.items() if not out and not is_final(c, m)]
    good = can_finish(c, graph)
    improper = any(any(p.startswith("end:") for p in m) and not is_final(c, m) for m in graph)
    sound = (not improper and len(good) == len(graph)
             and fired == {t.id for t in c.net.transitions})

    d = check_deadlock(c, 20)
    event(f"deadlock {d.verdict.value}")
    assert d.verdict is not Verdict.UNKNOWN, d.reason
    assert (d.verdict is Verdict.VIOLATED) == bool(dead), \
        f"checker {d.verdict.value} ({d.method}); brute force: {len(dead)} dead markings"
    if d.trace is not None:
        end = replay(c, d.trace)
        assert not is_final(c, end)
        assert not successors(c, end), "the deadlock trace ends where something can fire"

    s = check_soundness(c, 20)
    event(f"soundness {s.verdict.value}")
    assert s.verdict is not Verdict.UNKNOWN, s.reason
    assert (s.verdict is Verdict.PROVED) == sound, \
        f"checker {s.verdict.value} ({s.reason}); brute force: improper={improper}, " \
        f"stuck={len(graph) - len(good)}, dead transitions=" \
        f"{sorted({t.id for t in c.net.transitions} - fired)}"
    if s.trace is not None:
        replay(c, s.trace)
