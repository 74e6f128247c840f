"""Simulated participants: people, agents, services and messages that behave as a scenario
says, acting through the engine's public API (so every refusal is the engine's own).

Used by :class:`~petriflow.runtime.simulate.Simulation` (with delays in process time) and
by :class:`~petriflow.runtime.worker.Worker` (at once, on a shared database).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from petriflow.errors import EngineError
from petriflow.net.colors import BoolColor, DecimalColor, EnumColor, IntColor, StrColor
from petriflow.runtime.deployment import Deployment
from petriflow.runtime.engine import Engine
from petriflow.runtime.handlers import AgentAnswer, AgentRequest, PermanentError, ServiceCall
from petriflow.runtime.scenario import Scenario, coerce_answer, generate
from petriflow.store.base import CaseStatus, WorkItem


class SimulatedOutage(Exception):
    """A service failure the scenario asked for (retried by the engine)."""


class SimulatedParticipants:
    """Everyone a scenario describes, for every process deployed on ``engine``."""

    def __init__(self, engine: Engine, scenario: Scenario, rng: random.Random) -> None:
        self.engine = engine
        self.scenario = scenario
        self.rng = rng
        self.counter = itertools.count(1)
        self.effects: Counter[str] = Counter()   # idempotency key -> effects performed
        self.people = {role: list(p) for role, p in scenario.people.items()}
        # A scenario that names nobody (a BPMN file run as it is) gets two people per
        # role, so that work is done and a two-person rule can be met; one that names
        # people for some roles leaves the others' work waiting, as it says.
        self.default_people = not self.people

    def serve(self, dep: Deployment) -> None:
        """Register as the handler of every agent and service task of ``dep``."""
        for info in dep.tasks.values():
            if info.kind.value == "agent" and info.agent:
                self.engine.agent(info.agent, self._agent)
            elif info.kind.value in ("bot", "api"):
                self.engine.service(info.id, self._service)

    def inputs(self, dep: Deployment, n: int) -> dict[str, Any]:
        """Input values for the ``n``-th new case."""
        values: dict[str, Any] = {}
        for name, color in dep.inputs.items():
            spec = self.scenario.inputs.get(name)
            values[name] = (coerce_answer(color, generate(spec, self.rng, values, n))
                            if spec is not None
                            else _plausible(color, None, name, n, self.rng))
        return values

    def _task(self, task: str) -> Any:
        for dep in self.engine.deployments():
            if task in dep.tasks:
                return dep.tasks[task]
        raise KeyError(task)

    def answers(self, task: str, data: Mapping[str, Any]) -> dict[str, Any]:
        info = self._task(task)
        b = self.scenario.behaviour(task)
        n = next(self.counter)
        out = {}
        for name in info.writes:
            if name == info.confidence:
                continue
            if name in b.answers:
                out[name] = coerce_answer(info.colors[name], generate(b.answers[name], self.rng,
                                                                data, n))
            else:
                out[name] = _plausible(info.colors[name], data.get(name), name, n, self.rng)
        return out

    def _agent(self, request: AgentRequest) -> AgentAnswer:
        b = self.scenario.behaviour(request.task)
        data = dict(request.data)
        conf = generate(b.confidence, self.rng, data, 0) if b.confidence is not None else 0.95
        return AgentAnswer(self.answers(request.task, data), float(conf), "simulated")

    def _service(self, call: ServiceCall) -> Mapping[str, Any]:
        b = self.scenario.behaviour(call.task)
        if b.permanent_failure_rate and self.rng.random() < b.permanent_failure_rate:
            raise PermanentError(f"{call.task} rejected the request")
        if b.failure_rate and self.rng.random() < b.failure_rate:
            raise SimulatedOutage(f"{call.task} is unavailable")
        self.effects[call.key] += 1
        return self.answers(call.task, dict(call.data))

    def act(self, item: WorkItem) -> bool:
        """Do the work item now, as its participant would. False if it was not open (or
        its case cannot move); refusals are recorded by the engine, not raised."""
        current = self.engine.work_item(item.id)
        if not current.status.open:
            return False
        case = self.engine.case(item.case)
        if case.status is CaseStatus.COMPLETED or self.engine.held(case):
            return False  # (a failed case waits for an operator's retry)
        info = self.engine.deployment(case.fingerprint).by_place[item.place]
        if item.kind in ("receive", "timer") and not info.answers and all(
                t.task == info.id for t, _ in info.catches.values()):
            return False  # a timer's or a scope's wait: it ends by itself, or by a message
                          # from outside that no participant sends (models/SEMANTICS.md)
        try:
            if item.kind in ("agent", "bot", "api"):
                self.engine.perform(item.id)
            elif item.kind == "receive":
                self._message(item, case.fingerprint, dict(case.data))
            else:
                return self._person(current, dict(case.data))
        except EngineError:
            pass  # a refusal is recorded in the journal; summaries count it there
        return True

    def _message(self, item: WorkItem, fingerprint: str, data: dict[str, Any]) -> None:
        """The message a receive item waits for; after an event-based gateway, one of the
        messages it waits for, chosen at random (a timer may still win before)."""
        info = self.engine.deployment(fingerprint).by_place[item.place]
        choices = sorted(m for m, (t, _) in info.catches.items() if t.task != info.id)
        if info.answers or not choices:
            self.engine.deliver(item.case, item.task, self.answers(item.task, data))
            return
        name = self.rng.choice(choices)
        b = self.scenario.behaviour(name)
        n = next(self.counter)
        values = {f: coerce_answer(c, generate(b.answers[f], self.rng, data, n)) if f in b.answers
                  else _plausible(c, data.get(f), f, n, self.rng)
                  for f, c in info.catches[name][1].items()}
        self.engine.deliver(item.case, name, values)

    def _person(self, item: WorkItem, data: dict[str, Any]) -> bool:
        """Do a person's item; False if nobody in the scenario may do it."""
        for m in self.scenario.behaviour(item.task).misbehave:
            if self.rng.random() < m.probability:
                wrong = data.get(m.actor) or data.get(f"by_{m.actor}") or m.actor
                try:  # the engine must refuse this; if it does not, the summary shows it
                    self.engine.complete(item.id, str(wrong), self.answers(item.task, data))
                    return True
                except EngineError:
                    pass
        role = item.role or ""
        if self.default_people and role not in self.people:
            self.people[role] = [f"{role or 'person'}_1", f"{role or 'person'}_2"]
        allowed = self.engine.candidates(item.id, self.people.get(role, ()))
        if not allowed:
            return False  # nobody may do it: it waits (a timeout, if any, moves it on)
        self.engine.complete(item.id, self.rng.choice(allowed), self.answers(item.task, data))
        return True


def _plausible(color: Any, current: Any, name: str, n: int, rng: random.Random) -> Any:
    """An answer for a field the scenario says nothing about: yes for a question, one of
    an enumeration's values drawn uniformly (a decision read from a descriptive BPMN
    diagram takes every branch, and a loop it may take ends), else the current value or
    a small one."""
    if isinstance(color, BoolColor):
        return True
    if isinstance(color, EnumColor):
        return rng.choice(color.values)
    if isinstance(color, IntColor):
        return current if current else max(color.low or 0, 1) if color.high is None or \
            color.high >= 1 else color.low
    if isinstance(color, DecimalColor):
        if current:
            return current
        low = color.low if color.low is not None else Decimal(0)
        return max(low, Decimal(1)) if color.high is None or color.high >= 1 else low
    if isinstance(color, StrColor):
        return current or f"{name}-{n}"
    return current


__all__ = ["SimulatedOutage", "SimulatedParticipants"]
