"""Policies applied at run time: the same obligations the checker proves, as step checks.

Before a step commits, every policy that concerns its transition is evaluated on the
case's data and on what the case remembers (who completed which task, which
transitions fired, which low-confidence answers still await review). A failed check
refuses the step: the engine records the refusal and changes nothing else. The rules
are those of the checker's concrete monitor (``petriflow.verify.process.confirm``),
applied one step at a time:

- segregation of duties: the actor completed none of the policy's *other* tasks;
- precedence / conditional requirement: the required task completed before (when the
  condition holds on the data before the step);
- low-confidence review: a ``before`` step is refused while a low-confidence answer of
  ``task`` awaits ``review``;
- forbidden state: the data after the step does not satisfy the condition;
- agent scope and the agent registry: an agent completes only tasks in its scope.

Data minimisation is applied where agents are called: they receive only the fields
their task reads, minus those a policy protects from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from petriflow.governance.policies import (
    AgentScope,
    ConditionalRequirement,
    DataMinimisation,
    ForbiddenState,
    LowConfidenceReview,
    Precedence,
    SegregationOfDuties,
)
from petriflow.model.compiled import DATA_VAR, Action, CompiledProcess
from petriflow.net.evaluate import compile_expr
from petriflow.net.expr import Field, Var, subexpressions

PASS, FAIL = "pass", "fail"
_ANSWERS = (Action.COMPLETE.value, Action.HANDOFF.value)  # (an enum's .value costs a call)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of the policies that concern one step."""

    outcomes: tuple[tuple[str, str], ...]
    failure: str | None = None     # the first failed policy's id
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.failure is None


ALLOWED = Verdict(())


@dataclass
class _Rule:
    policy_id: str
    statement: str
    check: Any                     # (transition, actor, before, after, memory) -> reason|None
    about_actor: bool = False      # depends only on who acts (checked again at claim time)
    reads: frozenset[str] | None = None  # data fields a state condition reads (None: any)
    passed: tuple[str, str] = field(init=False)   # its outcomes, made once
    failed: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.passed, self.failed = (self.policy_id, PASS), (self.policy_id, FAIL)


@dataclass
class Enforcer:
    """The run-time form of a process's policies (built once per deployed process)."""

    compiled: CompiledProcess
    agents_scope: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules: dict[str, list[_Rule]] = {}      # transition -> rules about it
        self.remember_fired: set[str] = set()         # transitions others wait for
        self.actor_tasks: dict[str, str] = {}          # transition -> task whose actor counts
        self.reviews: list[tuple[str, frozenset[str], frozenset[str], Any]] = []
        self.after_checks: list[_Rule] = []            # apply to every data-changing step
        self.hidden: dict[str, dict[str, str]] = {}    # agent -> hidden field -> policy
        self.scopes: dict[str, set[str]] = {}
        for ob in self.compiled.obligations:
            self._add(ob)
        for agent, tasks in self.agents_scope.items():
            self.scopes.setdefault(agent, set(tasks))
        self._scope_ids = {ob.policy.agent: ob.policy.id for ob in self.compiled.obligations
                           if isinstance(ob.policy, AgentScope)}
        # Decided once per deployed process, so that the engine skips the calls for the
        # many steps no policy concerns (routing, offers): see :meth:`concerns`.
        self.stateful = any(r.reads is None for r in self.after_checks)
        self._allowed: dict[tuple[tuple[str, str], ...], Verdict] = {}
        self.after_reads: frozenset[str] = frozenset().union(
            *(r.reads for r in self.after_checks if r.reads is not None))
        self.remembers = frozenset(
            self.remember_fired | set(self.actor_tasks)
            | {t for _, tasks, reviews, _ in self.reviews for t in tasks | reviews})
        self._reviews_of: dict[str, list[tuple[str, frozenset[str], frozenset[str], Any]]] = {}
        for review in self.reviews:  # in declaration order, as remember() applies them
            for t in sorted(review[1] | review[2]):
                self._reviews_of.setdefault(t, []).append(review)

    def concerns(self, transition: str, agent: str | None, written: Mapping[str, Any],
                 before: Mapping[str, Any] | None = None) -> bool:
        """False when :meth:`evaluate` would allow the step with no outcome to record: no
        rule names the transition, no agent acts, and the step writes no field that a
        state condition reads (such a condition can only become true at a step that
        writes what it reads; the first step, ``before`` None, checks them all). Inlined
        by the engine's hot path; ``tests/runtime/test_enforce.py`` checks the two agree."""
        return (transition in self.rules or agent is not None or self.stateful
                or bool(written and (before is None
                                     or not self.after_reads.isdisjoint(written))))

    def _rule(self, transitions: tuple[str, ...] | list[str], rule: _Rule) -> None:
        for t in transitions:
            self.rules.setdefault(t, []).append(rule)

    def _add(self, ob: Any) -> None:
        p = ob.policy
        groups = ob.transitions
        statement = p.describe()
        if isinstance(p, SegregationOfDuties):
            for task in p.tasks:
                for t in groups.get(task, ()):
                    self.actor_tasks[t] = task
                others = tuple(x for x in p.tasks if x != task)

                def sod(t: str, actor: str | None, before: Any, after: Any, mem: Any,
                        others: tuple[str, ...] = others) -> str | None:
                    if not actor:
                        return None
                    done = mem.get("actors", {})
                    for other in others:
                        if actor in done.get(other, ()):
                            return f"{actor} already completed {other} in this case"
                    return None

                self._rule(groups.get(task, ()), _Rule(p.id, statement, sod, True))
        elif isinstance(p, Precedence | ConditionalRequirement):
            key = "after" if isinstance(p, Precedence) else "requires"
            required = frozenset(groups[key])
            self.remember_fired |= required
            cond = compile_expr(ob.condition) if ob.condition is not None else None
            needed = p.after if isinstance(p, Precedence) else p.requires

            def prec(t: str, actor: str | None, before: Any, after: Any, mem: Any,
                     required: frozenset[str] = required, cond: Any = cond,
                     needed: str = needed) -> str | None:
                if cond is not None and cond({DATA_VAR: before}) is not True:
                    return None
                if required.isdisjoint(mem.get("fired", ())):
                    return f"{needed} has not completed yet"
                return None

            self._rule(groups["task"], _Rule(p.id, statement, prec))
        elif isinstance(p, LowConfidenceReview):
            cond = compile_expr(ob.condition) if ob.condition is not None else None
            self.reviews.append((p.id, frozenset(groups["task"]), frozenset(groups["review"]),
                                 cond))

            def review(t: str, actor: str | None, before: Any, after: Any, mem: Any,
                       pid: str = p.id, task: str = p.review) -> str | None:
                if pid in mem.get("pending", ()):
                    return f"a low-confidence answer still awaits {task}"
                return None

            self._rule(groups["before"], _Rule(p.id, statement, review))
        elif isinstance(p, ForbiddenState):
            cond = compile_expr(ob.condition)

            def forbidden(t: str, actor: str | None, before: Any, after: Any, mem: Any,
                          cond: Any = cond, text: str = p.condition) -> str | None:
                try:
                    bad = cond({DATA_VAR: after}) is True
                except (ArithmeticError, KeyError, TypeError):
                    bad = False
                return f"the case data would satisfy {text.strip()}" if bad else None

            reads = frozenset(e.name for e in subexpressions(ob.condition)
                              if isinstance(e, Field) and isinstance(e.base, Var)
                              and e.base.name == DATA_VAR)
            # a condition over the data can only become true at a step writing what it reads
            self.after_checks.append(_Rule(p.id, statement, forbidden, reads=reads))
        elif isinstance(p, AgentScope):
            self.scopes.setdefault(p.agent, set()).update(p.tasks)
            self.scopes[p.agent] &= set(p.tasks)
        elif isinstance(p, DataMinimisation):
            for f in p.fields:
                self.hidden.setdefault(p.agent, {}).setdefault(f, p.id)

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(self, transition: str, task: str, action: str | None, actor: str | None,
                 agent: str | None, before: Mapping[str, Any] | None,
                 after: Mapping[str, Any] | None, memory: Mapping[str, Any],
                 written: Mapping[str, Any] | None = None) -> Verdict:
        """The outcome of every policy that concerns this step (``written``: the fields the
        step changes, when known; state conditions over other fields are not re-checked,
        since they held before the step and their inputs did not change)."""
        outcomes: list[tuple[str, str]] = []
        failure = reason = None
        if agent is not None and action in _ANSWERS:
            scope = self.scopes.get(agent)
            if scope is not None:
                pid = self._scope_ids.get(agent)
                if pid is None:
                    pid = f"registry:{agent}"
                if task not in scope:
                    outcomes.append((pid, FAIL))
                    failure, reason = pid, f"agent {agent} may not complete {task}"
                else:
                    outcomes.append((pid, PASS))
        due: Iterable[_Rule] = self.rules.get(transition, ())
        if after is not before and after is not None and self.after_checks:
            due = [*due, *(rule for rule in self.after_checks
                           if written is None or before is None or rule.reads is None
                           or not rule.reads.isdisjoint(written))]
        for rule in due:
            why = rule.check(transition, actor, before, after, memory)
            if why:
                outcomes.append(rule.failed)
                if failure is None:
                    failure, reason = rule.policy_id, f"{rule.statement} ({why})"
            else:
                outcomes.append(rule.passed)
        if not outcomes:
            return ALLOWED
        if failure is None:  # the usual verdict: one per set of outcomes, made once
            key = tuple(outcomes)
            verdict = self._allowed.get(key)
            if verdict is None:
                verdict = self._allowed[key] = Verdict(key)
            return verdict
        return Verdict(tuple(outcomes), failure, reason)

    def actor_conflict(self, transition: str, actor: str, memory: Mapping[str, Any]
                       ) -> tuple[str, str] | None:
        """(policy id, reason) if ``actor`` may not fire ``transition`` whatever they
        answer (segregation of duties), checked when a person claims work."""
        for rule in self.rules.get(transition, ()):
            if rule.about_actor:
                why = rule.check(transition, actor, None, None, memory)
                if why:
                    return rule.policy_id, f"{rule.statement} ({why})"
        return None

    def remember(self, transition: str, actor: str | None, after: Mapping[str, Any] | None,
                 memory: Mapping[str, Any]) -> Mapping[str, Any]:
        """What the case remembers after the step (a new mapping when anything changes)."""
        changed: dict[str, Any] | None = None
        if transition in self.remember_fired and transition not in memory.get("fired", ()):
            changed = dict(memory)
            changed["fired"] = sorted({*memory.get("fired", ()), transition})
        task = self.actor_tasks.get(transition)
        if task is not None and actor:
            done = memory.get("actors", {})
            if actor not in done.get(task, ()):
                changed = changed or dict(memory)
                actors = {k: list(v) for k, v in done.items()}
                actors.setdefault(task, []).append(actor)
                changed["actors"] = actors
        for pid, tasks, reviews, cond in self._reviews_of.get(transition, ()):
            pending = pid in (changed or memory).get("pending", ())
            if transition in tasks and cond is not None and not pending:
                try:
                    low = cond({DATA_VAR: after}) is True
                except (ArithmeticError, KeyError, TypeError):
                    low = False
                if low:
                    changed = changed or dict(memory)
                    changed["pending"] = sorted({*changed.get("pending", ()), pid})
            elif transition in reviews and pending:
                changed = changed or dict(memory)
                changed["pending"] = sorted(set(changed.get("pending", ())) - {pid})
        return memory if changed is None else changed

    def visible(self, agent: str, reads: tuple[str, ...]) -> tuple[str, ...]:
        """The fields of ``reads`` an agent may receive."""
        hidden = self.hidden.get(agent)
        return reads if not hidden else tuple(f for f in reads if f not in hidden)


__all__ = ["ALLOWED", "FAIL", "PASS", "Enforcer", "Verdict"]
