"""The symbolic process checker against brute force on random processes.

The random processes of :mod:`tests.model.test_random_processes` read their case data
only through guards over ``x`` (0..3), ``flag``, ``level`` (an enumeration), ``note``
against ``level``, and an agent's confidence against its threshold (0.5, 0.8 or 0.9);
they write a bounded counter that nothing reads, and a text into the enumeration, which
the kernel may refuse. So firing every transition with every *representative* answer
(all values of the finite fields, confidences on both sides of every threshold, a few
names, and texts with one equal to a level) reaches a state of
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
from hypothesis import strategies as st

from petriflow.errors import PetriflowError
from petriflow.model import CompiledProcess
from petriflow.model.compiled import DATA_PLACE, DATA_VAR, SOURCE_PLACE
from petriflow.net.colors import BoolColor, ColorSet, DecimalColor, EnumColor, IntColor, StrColor
from petriflow.net.evaluate import evaluate
from petriflow.net.firing import bindings, fire
from petriflow.net.marking import Marking
from petriflow.verify.process import check_deadlock, check_policy, check_soundness
from petriflow.verify.result import Verdict
from tests.model.helpers import is_final, token_enabled
from tests.model.test_random_processes import compile_data, processes
from tests.strategies import scaled

pytestmark = pytest.mark.slow

CAP = 1500
AGENT_IDS = ["a1", "a2"]  # the agents of the random processes
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
    texts = ["", "a", "lo"]  # ("lo": a text equal to a level)
    actors = [agent, "ann"] if agent else ["ann", *AGENT_IDS]  # a person may share a name
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
                    if (tid, after) not in seen:
                        seen.add((tid, after))
                        out.append((tid, dict(b), after))
            except PetriflowError:
                continue
    return out


Edges = dict[Marking, list[tuple[str, str | None, Marking]]]  # transition, actor, target


def explore_edges(c: CompiledProcess) -> tuple[Edges, bool]:
    """(the labelled successors of every reached state, complete?)."""
    start = c.net.initial_marking
    edges: Edges = {}
    queue = deque([start])
    seen = {start}
    while queue:
        m = queue.popleft()
        edges[m] = [(tid, b.get("_actor"), n) for tid, b, n in successors(c, m)]
        for _, _, n in edges[m]:
            if n not in seen:
                if len(seen) >= CAP:
                    return edges, False
                seen.add(n)
                queue.append(n)
    return edges, True


def explore(c: CompiledProcess) -> tuple[dict[Marking, list[Marking]], set[str], bool]:
    """(successors of every reached state, transitions fired, complete?)."""
    edges, complete = explore_edges(c)
    graph = {m: [n for _, _, n in out] for m, out in edges.items()}
    fired = {tid for out in edges.values() for tid, _, _ in out}
    return graph, fired, complete


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
    # under implicit termination an end may be reached while other branches still run
    improper = c.termination != "implicit" and any(
        any(p.startswith("end:") for p in m) and not is_final(c, m) for m in graph)
    # the variants of one step (one per state of a task's pending events) are one step
    group = {t.id: dict(t.meta).get("variant_of", t.id) for t in c.net.transitions}
    sound = (not improper and len(good) == len(graph)
             and {group[t] for t in fired} == set(group.values()))

    d = check_deadlock(c, 20)
    event(f"deadlock {d.verdict.value} ({c.termination} termination)")
    assert d.verdict is not Verdict.UNKNOWN, d.reason
    assert (d.verdict is Verdict.VIOLATED) == bool(dead), \
        f"checker {d.verdict.value} ({d.method}); brute force: {len(dead)} dead markings"
    if d.trace is not None:
        end = replay(c, d.trace)
        assert not is_final(c, end)
        assert not successors(c, end), "the deadlock trace ends where something can fire"

    s = check_soundness(c, 20)
    event(f"soundness {s.verdict.value} ({c.termination} termination)")
    assert s.verdict is not Verdict.UNKNOWN, s.reason
    assert (s.verdict is Verdict.PROVED) == sound, \
        f"checker {s.verdict.value} ({s.reason}); brute force: improper={improper}, " \
        f"stuck={len(graph) - len(good)}, dead transitions=" \
        f"{sorted({t.id for t in c.net.transitions} - fired)}"
    if s.trace is not None:
        replay(c, s.trace)


# -- policies ----------------------------------------------------------------------------------


def precedence_broken(edges: Edges, start: Marking, task: set[str], after: set[str]) -> bool:
    """Whether some run fires a ``task`` transition before any ``after`` transition."""
    seen = {(start, False)}
    stack = [(start, False)]
    while stack:
        m, done = stack.pop()
        for tid, _, n in edges.get(m, []):
            if tid in task and not done:
                return True
            state = (n, done or tid in after)
            if state not in seen:
                seen.add(state)
                stack.append(state)
    return False


@settings(max_examples=scaled(20), suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.filter_too_much])
@given(processes(max_depth=2), st.data())
def test_precedence_and_forbidden_states_agree_with_brute_force(data, draw):
    tasks = sorted(n for n, v in data["nodes"].items() if v["type"] == "task")
    assume(len(tasks) >= 2)
    first, second = draw.draw(st.permutations(tasks), label="tasks")[:2]
    condition = draw.draw(st.sampled_from(["x == 3 and flag", 'level == "hi" and x > 0',
                                           "not flag and x == 0", "x > 3"]), label="condition")
    data = {**data, "policies": [
        {"id": "order", "type": "precedence", "task": second, "after": first},
        {"id": "forbidden", "type": "forbidden_state", "condition": condition},
    ]}
    c = compile_data(data)
    edges, complete = explore_edges(c)
    assume(complete)
    order, forbidden = c.obligations
    broken = precedence_broken(edges, c.net.initial_marking, set(order.transitions["task"]),
                               set(order.transitions["after"]))
    reached = any(m.count(DATA_PLACE) == 1 and m.count(SOURCE_PLACE) == 0 and evaluate(
        forbidden.condition, {DATA_VAR: next(iter(m[DATA_PLACE].elements()))}) is True
        for m in edges)
    for ob, bad in ((order, broken), (forbidden, reached)):
        r = check_policy(c, ob, 20)
        event(f"{ob.policy.type}: {r.verdict.value}")
        assert r.verdict is not Verdict.UNKNOWN, r.reason
        assert (r.verdict is Verdict.VIOLATED) == bad, \
            f"{ob.policy.id}: checker {r.verdict.value} ({r.method}), brute force {bad}"
        if r.trace is not None:
            replay(c, r.trace)
            fired = [s.transition for s in r.trace]
            if ob is order:
                hits = [i for i, t in enumerate(fired) if t in order.transitions["task"]]
                assert hits and not set(fired[:hits[0]]) & set(order.transitions["after"])


def duties_broken(edges: Edges, start: Marking, groups: dict[str, set[str]]) -> bool:
    """Whether some run has one actor complete two different tasks of ``groups``."""
    initial: frozenset[tuple[str, str]] = frozenset()
    seen = {(start, initial)}
    stack = [(start, initial)]
    while stack:
        m, done = stack.pop()
        for tid, actor, n in edges.get(m, []):
            later = done
            for task, members in groups.items():
                if tid in members and actor is not None:
                    if any(a == actor and t != task for t, a in done):
                        return True
                    later = later | {(task, actor)}
            if (n, later) not in seen:
                seen.add((n, later))
                stack.append((n, later))
    return False


@settings(max_examples=scaled(15), suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.filter_too_much])
@given(processes(max_depth=2), st.data())
def test_segregation_of_duties_agrees_with_brute_force(data, draw):
    tasks = sorted(n for n, v in data["nodes"].items()
                   if v["type"] == "task" and v.get("kind") in ("human", "agent"))
    assume(len(tasks) >= 2)
    chosen = draw.draw(st.permutations(tasks), label="tasks")[:draw.draw(
        st.integers(2, min(3, len(tasks))), label="how many")]
    data = {**data, "policies": [{"id": "duties", "type": "segregation_of_duties",
                                  "tasks": list(chosen)}]}
    c = compile_data(data)
    edges, complete = explore_edges(c)
    assume(complete)
    (ob,) = c.obligations
    bad = duties_broken(edges, c.net.initial_marking,
                        {t: set(ob.transitions[t]) for t in chosen})
    r = check_policy(c, ob, 20)
    event(f"segregation of duties: {r.verdict.value}")
    assert r.verdict is not Verdict.UNKNOWN, r.reason
    assert (r.verdict is Verdict.VIOLATED) == bad, \
        f"checker {r.verdict.value} ({r.method}), brute force {bad}"
    if r.trace is not None:
        replay(c, r.trace)
        by: dict[str, set[str]] = {}
        for step in r.trace:
            for task in chosen:
                if step.transition in ob.transitions[task] and step.actor is not None:
                    by.setdefault(step.actor, set()).add(task)
        assert any(len(ts) > 1 for ts in by.values()), "the trace does not break the policy"
