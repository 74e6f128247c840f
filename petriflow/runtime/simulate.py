"""Run many cases with simulated participants, in process time, and summarise them.

A discrete-event simulation around a real :class:`~petriflow.runtime.engine.Engine`
(deferred dispatch, a :class:`ManualClock`): each offered work item gets a scheduled
answer after the delay the scenario draws; agents and services answer through the
engine's handlers, so retries, back-off, timeouts, hand-offs and refusals are the
engine's own. Misbehaving participants try first what they may not do; the engine
refuses and records it, and the simulation then lets an allowed participant act.
"""

from __future__ import annotations

import heapq
import itertools
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from petriflow.errors import EngineError
from petriflow.governance.audit import EventKind
from petriflow.model.compiled import CompiledProcess
from petriflow.net.colors import BoolColor, DecimalColor, EnumColor, IntColor, StrColor
from petriflow.runtime.clock import ManualClock
from petriflow.runtime.engine import Engine
from petriflow.runtime.handlers import AgentAnswer, AgentRequest, PermanentError, ServiceCall
from petriflow.runtime.scenario import Scenario, duration, generate
from petriflow.store.base import CaseStatus, Store, WorkItem


class SimulatedOutage(Exception):
    """A service failure the scenario asked for (retried by the engine)."""


@dataclass
class Summary:
    """What a process owner wants to know after a run."""

    process: str
    cases: int = 0
    completed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    handoffs: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    incidents: int = 0
    tasks: int = 0
    steps: int = 0
    retries: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    cycle_times: list[float] = field(default_factory=list, repr=False)
    incident_reasons: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "completed": self.completed, "outcomes": self.outcomes,
                "handoffs": self.handoffs, "refusals": self.refusals,
                "incidents": self.incidents, "tasks": self.tasks,
                "seconds": round(self.seconds, 3), "process": self.process,
                "statuses": self.statuses, "steps": self.steps, "retries": self.retries,
                "timeouts": self.timeouts, "cycle_time": self.cycle_time()}

    def cycle_time(self) -> dict[str, float] | None:
        times = sorted(self.cycle_times)
        if not times:
            return None
        def q(p: float) -> float:
            return times[min(len(times) - 1, int(p * len(times)))]
        return {"mean": statistics.fmean(times), "p50": q(0.5), "p90": q(0.9),
                "max": times[-1]}


class Simulation:
    """N cases of one process with the participants of a scenario."""

    def __init__(self, compiled: CompiledProcess, scenario: Scenario, *, seed: int = 0,
                 store: Store | None = None, enforce: bool = True, audit: bool = True) -> None:
        self.compiled = compiled
        self.scenario = scenario
        seed = scenario.seed if scenario.seed is not None and seed == 0 else seed
        self.rng = random.Random(seed)
        self.clock = ManualClock()
        self.engine = Engine(store, clock=self.clock, dispatch="deferred", seed=seed,
                             enforce=enforce, audit=audit)
        self.dep = self.engine.deploy(compiled)
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.scheduled: set[str] = set()
        self.counter = itertools.count(1)
        self.effects: Counter[str] = Counter()   # idempotency key -> effects performed
        self.people = {role: list(p) for role, p in scenario.people.items()}
        for info in self.dep.tasks.values():
            if info.kind.value == "agent" and info.agent:
                self.engine.agent(info.agent, self._agent)
            elif info.kind.value in ("bot", "api"):
                self.engine.service(info.id, self._service)

    # -- participants ------------------------------------------------------------------------

    def _answers(self, task: str, data: Mapping[str, Any]) -> dict[str, Any]:
        info = self.dep.tasks[task]
        b = self.scenario.behaviour(task)
        n = next(self.counter)
        out = {}
        for name in info.writes:
            if name == info.confidence:
                continue
            if name in b.answers:
                out[name] = _coerce(info.colors[name], generate(b.answers[name], self.rng,
                                                                data, n))
            else:
                out[name] = _plausible(info.colors[name], data.get(name), name, n)
        return out

    def _agent(self, request: AgentRequest) -> AgentAnswer:
        b = self.scenario.behaviour(request.task)
        data = dict(request.data)
        conf = generate(b.confidence, self.rng, data, 0) if b.confidence is not None else 0.95
        return AgentAnswer(self._answers(request.task, data), float(conf), "simulated")

    def _service(self, call: ServiceCall) -> Mapping[str, Any]:
        b = self.scenario.behaviour(call.task)
        if b.permanent_failure_rate and self.rng.random() < b.permanent_failure_rate:
            raise PermanentError(f"{call.task} rejected the request")
        if b.failure_rate and self.rng.random() < b.failure_rate:
            raise SimulatedOutage(f"{call.task} is unavailable")
        self.effects[call.key] += 1
        return self._answers(call.task, dict(call.data))

    # -- the event loop ----------------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action))

    def run(self, cases: int, run_id: str | None = None) -> Summary:
        """Start ``cases`` new cases (ids ``<process>-<run>-<n>``) and run them all out."""
        t0 = time.perf_counter()
        run_id = run_id or uuid.uuid4().hex[:8]
        gap = 0.0
        ids = []
        for i in range(cases):
            case_id = f"{self.compiled.name}-{run_id}-{i + 1:06d}"
            ids.append(case_id)
            self.at(gap, lambda c=case_id, n=i + 1: self._start(c, n))
            gap += duration(self.scenario.arrival, self.rng)
        self._loop()
        summary = self._summary(ids)
        summary.seconds = time.perf_counter() - t0
        return summary

    def resume(self) -> Summary:
        """Finish every unfinished case of this process that the store holds (an
        interrupted run), with the same participants; start no new case."""
        t0 = time.perf_counter()
        unfinished = [c for c in self.engine.store.cases(process=self.compiled.name)
                      if c.status in (CaseStatus.RUNNING, CaseStatus.WAITING)]
        if unfinished:
            self.clock.set(max(c.updated for c in unfinished))
        for c in unfinished:
            if c.fingerprint != self.dep.fingerprint:
                self.engine.deployment(c.fingerprint)  # pinned to the net it started on
            self._schedule(c.id)
        self._loop()
        summary = self._summary([c.id for c in unfinished])
        summary.seconds = time.perf_counter() - t0
        return summary

    def _loop(self) -> None:
        while True:
            timer = self.engine.next_timer()
            if self.queue and (timer is None or self.queue[0][0] <= timer):
                when, _, action = heapq.heappop(self.queue)
                self.clock.set(max(when, self.clock.now()))
                action()
            elif timer is not None:
                self.clock.set(max(timer, self.clock.now()))
                touched = {t.case for t in self.engine.store.timers(due_by=self.clock.now())}
                self.engine.fire_timers()
                for case_id in touched:
                    self._schedule(case_id)
            else:
                break

    def _start(self, case_id: str, n: int) -> None:
        inputs = {}
        for name, color in self.dep.inputs.items():
            spec = self.scenario.inputs.get(name)
            inputs[name] = (_coerce(color, generate(spec, self.rng, inputs, n))
                            if spec is not None else _plausible(color, None, name, n))
        self.engine.start(self.compiled, inputs, case_id=case_id)
        self._schedule(case_id)

    def _schedule(self, case_id: str) -> None:
        for item in self.engine.work_items(case_id):
            self._plan(item)

    def _plan(self, item: WorkItem) -> None:
        key = f"{item.id}/{item.attempt}" if item.kind in ("agent", "bot", "api") else item.id
        if key in self.scheduled or (item.attempt and item.kind in ("agent", "bot", "api")):
            return  # retries are the engine's (its timers), not ours
        self.scheduled.add(key)
        b = self.scenario.behaviour(item.task)
        delay = duration(b.delay, self.rng)
        self.at(self.clock.now() + delay, lambda: self._act(item))

    def _act(self, item: WorkItem) -> None:
        current = self.engine.store.work_item(item.id)
        if not current.status.open:
            return
        case = self.engine.case(item.case)
        if case.status in (CaseStatus.SUSPENDED, CaseStatus.COMPLETED):
            return
        try:
            if item.kind in ("agent", "bot", "api"):
                self.engine.perform(item.id)
            elif item.kind == "receive":
                self.engine.deliver(item.case, item.task,
                                    self._answers(item.task, dict(case.data)))
            else:
                self._person(item, dict(case.data))
        except EngineError:
            pass  # a refusal is recorded in the journal; the summary counts it there
        self._schedule(item.case)

    def _person(self, item: WorkItem, data: dict[str, Any]) -> None:
        for m in self.scenario.behaviour(item.task).misbehave:
            if self.rng.random() < m.probability:
                wrong = data.get(m.actor) or data.get(f"by_{m.actor}") or m.actor
                try:  # the engine must refuse this; if it does not, the summary shows it
                    self.engine.complete(item.id, str(wrong), self._answers(item.task, data))
                    return
                except EngineError:
                    pass
        allowed = self.engine.candidates(item.id, self.people.get(item.role or "", ()))
        if not allowed:
            return  # nobody may do it: it waits (a timeout, if any, moves it on)
        self.engine.complete(item.id, self.rng.choice(allowed), self._answers(item.task, data))

    # -- the summary -------------------------------------------------------------------------

    def _summary(self, ids: list[str]) -> Summary:
        s = Summary(self.compiled.name, cases=len(ids))
        sm = self.compiled.source_map
        statuses: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for cid in ids:
            rec = self.engine.case(cid)
            statuses[rec.status.value] += 1
            if rec.status is CaseStatus.COMPLETED:
                s.completed += 1
                for place, n in rec.marking.items():
                    origin = sm.places.get(place)  # type: ignore[call-overload]
                    if n and origin is not None and origin.kind == "end":
                        outcomes[origin.label or origin.element] += 1
                s.cycle_times.append(rec.updated - rec.started)
            elif rec.status is CaseStatus.FAILED:
                s.incidents += 1
                reasons[_short(rec.incident)] += 1
            for e in self.engine.store.events(cid):
                if e.kind == EventKind.STEP:
                    s.steps += 1
                    if e.action in ("complete", "run"):
                        s.tasks += 1
                    elif e.action == "handoff":
                        s.handoffs += 1
                    elif e.action == "timeout":
                        s.timeouts += 1
                elif e.kind == EventKind.REFUSED:
                    failed = [p for p, o in e.policies if o == "fail"] or ["rule"]
                    refusals[failed[0]] += 1
                elif e.kind == EventKind.ATTEMPT:
                    s.retries += 1
        s.statuses = dict(statuses)
        s.outcomes = dict(outcomes.most_common())
        s.refusals = dict(refusals.most_common())
        s.incident_reasons = dict(reasons.most_common())
        return s


def _short(text: str | None) -> str:
    return (text or "unknown").split(": ", 1)[0][:80]


def _coerce(color: Any, value: Any) -> Any:
    """Mapping keys in YAML are text (``{true: 9, false: 1}``): read them as the field's type."""
    if not isinstance(value, str):
        return value
    if isinstance(color, BoolColor) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(color, IntColor) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(color, DecimalColor):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _plausible(color: Any, current: Any, name: str, n: int) -> Any:
    """An answer for a field the scenario says nothing about."""
    if isinstance(color, BoolColor):
        return True
    if isinstance(color, EnumColor):
        return current if current in color.values else color.values[0]
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


__all__ = ["SimulatedOutage", "Simulation", "Summary"]
