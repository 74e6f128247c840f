"""Policies lowered to obligations: the transitions each policy constrains, in the net.

Dynamic policies (segregation of duties, precedence, conditional requirements,
low-confidence review, forbidden states) become a set of named transition groups
and, where the policy has one, a condition over ``_d``; the checker composes a
monitor from them. Static policies (agent scope, data minimisation) are decided
here, from the model's structure: the agent's tasks and what they read.
"""

from __future__ import annotations

from typing import Any

from petriflow.governance.participants import ParticipantKind
from petriflow.governance.policies import (
    AgentScope,
    ConditionalRequirement,
    DataMinimisation,
    ForbiddenState,
    LowConfidenceReview,
    Precedence,
    SegregationOfDuties,
)
from petriflow.ids import TransitionId
from petriflow.model.compiled import Action, CompiledProcess, Obligation
from petriflow.model.inline import Graph
from petriflow.model.loader import LoadedProcess
from petriflow.model.lowering import lower
from petriflow.model.spec import TaskSpec
from petriflow.net.expr import parse


def completions(compiled: CompiledProcess, task: str) -> tuple[TransitionId, ...]:
    """Transitions that complete ``task``: an automatic run, an external completion, or,
    for a receive task after an event-based gateway, the arrival of its message
    (``<task>:message``; a message caught on a task's boundary, ``<task>:message:<m>``,
    withdraws the task instead)."""
    sm = compiled.source_map
    own = f"{task}:message"
    return sm.transitions_of(task, Action.RUN, Action.COMPLETE) + tuple(
        t for t in sm.transitions_of(task, Action.MESSAGE) if t == own)


def ends(compiled: CompiledProcess) -> tuple[TransitionId, ...]:
    return tuple(t for t, o in compiled.source_map.transitions.items()
                 if o.role == Action.END.value)


def obligations(compiled: CompiledProcess, loaded: LoadedProcess, g: Graph
                ) -> tuple[Obligation, ...]:
    fields = [name for name, _ in compiled.data_color.fields]
    out = []
    for policy, src in zip(loaded.policies, loaded.policy_sources, strict=True):
        out.append(_one(policy, compiled, g, fields, src.file))
    return tuple(out)


def _one(policy: Any, compiled: CompiledProcess, g: Graph, fields: list[str],
         file: str | None) -> Obligation:
    sm = compiled.source_map
    if isinstance(policy, SegregationOfDuties):
        groups = {t: completions(compiled, t) + sm.transitions_of(t, Action.HANDOFF)
                  for t in policy.tasks}
        return Obligation(policy, groups, file=file)
    if isinstance(policy, Precedence):
        return Obligation(policy, {"task": completions(compiled, policy.task),
                                   "after": completions(compiled, policy.after)}, file=file)
    if isinstance(policy, ConditionalRequirement):
        cond = lower(parse(policy.when, element=policy.id), fields)
        return Obligation(policy, {"task": completions(compiled, policy.task),
                                   "requires": completions(compiled, policy.requires)},
                          condition=cond, file=file)
    if isinstance(policy, LowConfidenceReview):
        node = g.nodes.get(policy.task)
        before = (completions(compiled, policy.before) if policy.before else ends(compiled))
        cond = None
        if isinstance(node, TaskSpec) and node.confidence:
            cond = lower(parse(f"{node.confidence} < {policy.below}", element=policy.id),
                         fields)
        return Obligation(policy, {
            "task": completions(compiled, policy.task) + sm.transitions_of(policy.task,
                                                                           Action.HANDOFF),
            "review": completions(compiled, policy.review),
            "before": before,
        }, condition=cond, file=file)
    if isinstance(policy, ForbiddenState):
        return Obligation(policy, {}, condition=lower(parse(policy.condition,
                                                            element=policy.id), fields),
                          file=file)
    if isinstance(policy, AgentScope):
        mine = [n for n, s in g.nodes.items() if isinstance(s, TaskSpec)
                and s.kind is ParticipantKind.AGENT and s.agent == policy.agent]
        outside = [n for n in mine if n not in policy.tasks]
        agent = next((a for a in g.agents if a.id == policy.agent), None)
        registered = [t for t in (agent.tasks if agent else ()) if t not in policy.tasks]
        why = None
        if outside:
            why = (f"agent {policy.agent} is assigned task(s) {', '.join(outside)}, outside its "
                   "scope")
        elif registered:
            why = (f"the agent registry lets {policy.agent} complete {', '.join(registered)}, "
                   "outside its scope")
        return Obligation(policy, {"agent": tuple(t for n in mine for t in completions(
            compiled, n))}, static_violation=why, file=file)
    if isinstance(policy, DataMinimisation):
        leaks = []
        for n, s in g.nodes.items():
            if isinstance(s, TaskSpec) and s.kind is ParticipantKind.AGENT and (
                s.agent == policy.agent
            ):
                seen = set(s.reads) & set(policy.fields)
                if seen:
                    leaks.append(f"task {n} gives it {', '.join(sorted(seen))}")
        why = f"agent {policy.agent} receives protected data: {'; '.join(leaks)}" if leaks else None
        return Obligation(policy, {}, static_violation=why, file=file)
    raise TypeError(f"unknown policy {policy!r}")


__all__ = ["completions", "ends", "obligations"]
