"""A process as the engine runs it: the program, the policies, and each task's facts.

Built once per deployed process (by fingerprint) and shared by every case of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from petriflow.governance.audit import EventKind, PlainTemplate, StepTemplate
from petriflow.governance.participants import Agent as AgentInfo
from petriflow.governance.participants import AgentRegistry, ParticipantKind
from petriflow.model.compiled import ACTOR_VAR, DATA_VAR, Action, CompiledProcess, output_var
from petriflow.model.durations import parse_duration
from petriflow.model.lowering import lower, outputs
from petriflow.model.spec import TaskSpec
from petriflow.net.colors import ColorSet
from petriflow.net.evaluate import compile_expr
from petriflow.net.expr import parse
from petriflow.runtime.enforce import Enforcer
from petriflow.runtime.handlers import RetryPolicy
from petriflow.runtime.program import Program, ProgramTransition


@dataclass
class TaskInfo:
    """What the engine needs to know about one external task."""

    id: str
    kind: ParticipantKind
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    colors: dict[str, ColorSet]                     # output field -> color
    role: str | None = None
    agent: str | None = None
    confidence: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    candidate: Callable[[Mapping[str, Any]], Any] | None = None
    candidate_text: str | None = None
    check: Callable[[Mapping[str, Any]], Any] | None = None
    check_text: str | None = None
    answers: list[ProgramTransition] = field(default_factory=list)  # complete, handoff
    timeout: ProgramTransition | None = None
    error: ProgramTransition | None = None
    timeout_after: float | None = None
    remind_every: float | None = None
    # messages that end the wait: message name -> (transition, what the message carries)
    catches: dict[str, tuple[ProgramTransition, dict[str, ColorSet]]] = field(
        default_factory=dict)
    kind_value: str = field(init=False)  # kind.value, read on every offer

    def __post_init__(self) -> None:
        self.kind_value = self.kind.value


class Deployment:
    """One deployed process: program, enforcer, task facts, agent registry."""

    def __init__(self, compiled: CompiledProcess, seed: int = 0) -> None:
        self.compiled = compiled
        self.fingerprint = compiled.fingerprint
        self.program = Program(compiled)
        spec = compiled.spec
        self.registry = AgentRegistry(tuple(
            AgentInfo(a.id, a.version, a.vendor, a.model, tuple(a.tasks), a.threshold,
                      a.description or None) for a in getattr(spec, "agents", ())))
        self.agent_ids = frozenset(self.registry.ids())
        self.agent_versions = {a.id: a.version for a in self.registry}
        scopes = {a.id: frozenset(a.tasks) for a in self.registry if a.tasks}
        self.enforcer = Enforcer(compiled, scopes)
        self.rng = random.Random(seed)
        self.tasks: dict[str, TaskInfo] = {}
        self.by_place: dict[str, TaskInfo] = {}
        fields = [n for n, _ in compiled.data_color.fields]
        colors = dict(compiled.data_color.fields)
        # (the tasks of called processes are there under their inlined ids)
        nodes = dict(compiled.tasks) or dict(getattr(spec, "nodes", {}))
        for t in self.program.transitions:
            origin = t.origin
            if origin.role != Action.OFFER.value:
                continue
            node = nodes.get(origin.element)
            if not isinstance(node, TaskSpec):  # (a process built without a spec: its
                node = None                     # outputs come from the net below)
            info = TaskInfo(
                id=origin.element, kind=origin.participant or ParticipantKind.HUMAN,
                name=origin.label or origin.element,
                reads=tuple(node.reads) if node else (), writes=tuple(node.writes) if node else (),
                colors={w: colors[w] for w in (node.writes if node else ())},
                role=t.meta.get("role"), agent=t.meta.get("agent"),
                confidence=node.confidence if node else None,
                retry=RetryPolicy.of(node.retry if node else None, self.rng),
            )
            if node is not None and node.remind is not None:
                info.remind_every = parse_duration(node.remind)
            if node is not None and node.candidate:
                expr = lower(parse(node.candidate, element=origin.element), fields, actor=True)
                info.candidate, info.candidate_text = compile_expr(expr), node.candidate
            if node is not None and node.check:
                expr = lower(parse(node.check, element=origin.element), fields,
                             written=outputs(node.writes))
                info.check, info.check_text = compile_expr(expr), node.check
            work = self.program.places[t.outs[0][0]]
            for u in self.program.transitions:
                if u.task == info.id and u.meta.get("interrupting") == "false":
                    # a non-interrupting event of the task: it leaves the work item open
                    if u.action == Action.TIMEOUT.value:
                        info.timeout = u
                        info.timeout_after = float(u.meta.get("after_seconds", "0"))
                    elif u.action == Action.MESSAGE.value:
                        info.catches[u.meta.get("message", u.task)] = (u, {})
                elif any(self.program.places[p] == work for p, _ in u.ins):
                    if u.action in (Action.COMPLETE.value, Action.HANDOFF.value):
                        info.answers.append(u)
                    elif u.action == Action.TIMEOUT.value:
                        info.timeout = u
                        info.timeout_after = float(u.meta.get("after_seconds", "0"))
                    elif u.action == Action.ERROR.value:
                        info.error = u
                    elif u.action == Action.MESSAGE.value:
                        prefix = output_var("")
                        info.catches[u.meta.get("message", u.task)] = (u, {
                            n[len(prefix):]: c for n, c in u.answers.items()
                            if n.startswith(prefix)})
            complete = next((u for u in info.answers if u.action == Action.COMPLETE.value),
                            None)
            if complete is not None:  # the net is the authority on what an answer holds
                prefix = output_var("")
                info.colors = {n[len(prefix):]: c for n, c in complete.answers.items()
                               if n.startswith(prefix)}
                info.writes = tuple(info.colors)
            self.tasks[info.id] = info
            self.by_place[work] = info
        # a transition that takes a work item with non-interrupting events -> its variants
        # (one per state of those events: armed or fired); see variant()
        self.variants: dict[str, list[ProgramTransition]] = {}
        for u in self.program.transitions:
            base = u.meta.get("variant_of")
            if base is not None:
                group = self.variants.setdefault(base, [self.program.by_id[base]])
                group.append(u)
                self.variants[u.id] = group
        self.offer_place = {t.id: self.program.places[t.outs[0][0]]
                            for t in self.program.transitions
                            if t.action == Action.OFFER.value}
        self.start = self.program.by_id[compiled.start_transition()]
        # the audit templates of this process's steps (see plain_template, step_template)
        self._plain: dict[tuple[str, str], PlainTemplate] = {}
        self._steps: dict[tuple[str, str, str | None, tuple[str, ...]], StepTemplate] = {}
        # an automatic transition's steps, plain and with writes or outcomes, by transition
        self.auto_plain = {t.id: self.plain_template(t, "auto")
                           for t in self.program.transitions if t.automatic}
        self.auto_steps = {t.id: self.step_template(t, "auto", None, ())
                           for t in self.program.transitions if t.automatic}
        self.inputs = {n[len(output_var("")):]: c for n, c in self.start.answers.items()}
        # field -> the free variable that carries it in an answer (output_var, made once)
        self.output_vars = {f: output_var(f) for f in
                            {*colors, *self.inputs, *(w for i in self.tasks.values()
                                                      for w in i.colors)}}

    def variant(self, t: ProgramTransition, counts: list[int]) -> ProgramTransition:
        """The variant of ``t`` whose control inputs are marked (``t`` itself when it has
        none): the variants differ only in which token of each pending event they take."""
        group = self.variants.get(t.id)
        if group is None:
            return t
        return next((u for u in group if all(counts[p] >= w for p, w in u.ins)), t)

    def plain_template(self, t: ProgramTransition, actor_kind: str) -> PlainTemplate:
        """The audit template of ``t``'s plain steps (no actor, answer, writes, policies...)."""
        key = (t.id, actor_kind)
        tmpl = self._plain.get(key)
        if tmpl is None:
            tmpl = self._plain[key] = PlainTemplate(EventKind.STEP, t.id, t.task, t.action,
                                                    actor_kind)
        return tmpl

    def step_template(self, t: ProgramTransition, actor_kind: str, agent_version: str | None,
                      reads: tuple[str, ...]) -> StepTemplate:
        """The audit template of ``t``'s steps by this kind of participant."""
        key = (t.id, actor_kind, agent_version, reads)
        tmpl = self._steps.get(key)
        if tmpl is None:
            tmpl = self._steps[key] = StepTemplate(EventKind.STEP, t.id, t.task, t.action,
                                                   actor_kind, agent_version, reads)
        return tmpl

    def env_for(self, info: TaskInfo, values: Mapping[str, Any], actor: str | None
                ) -> dict[str, Any]:
        names = self.output_vars
        env = {names.get(k) or output_var(k): v for k, v in values.items()}
        if info.kind.has_actor:
            env[ACTOR_VAR] = actor or ""
        return env

    def diagnose(self, info: TaskInfo, data: Mapping[str, Any], env: Mapping[str, Any]
                 ) -> tuple[str, str]:
        """(rule, reason) for an answer that fires none of the task's transitions."""
        scope = {**env, DATA_VAR: data}
        if info.kind is ParticipantKind.AGENT and env.get(ACTOR_VAR) != info.agent:
            return "participant", f"task {info.id} is completed by agent {info.agent} only"
        if info.kind.has_actor and not env.get(ACTOR_VAR):
            return "participant", f"task {info.id} needs the name of who completes it"
        if info.candidate is not None and _false(info.candidate, scope):
            return ("candidate", f"{env.get(ACTOR_VAR)} may not complete {info.id}: "
                    f"the candidate rule '{info.candidate_text}' is false")
        if info.check is not None and _false(info.check, scope):
            return ("outcome_check", f"the outcome check '{info.check_text}' of {info.id} does "
                    "not hold for this answer: the task is not done")
        return "guard", f"no transition of task {info.id} accepts this answer"


def _false(fn: Callable[[Mapping[str, Any]], Any], env: Mapping[str, Any]) -> bool:
    try:
        return fn(env) is not True
    except (ArithmeticError, KeyError, TypeError):
        return True


__all__ = ["Deployment", "TaskInfo"]
