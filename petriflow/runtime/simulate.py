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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from petriflow.governance.audit import EventKind
from petriflow.model.compiled import CompiledProcess
from petriflow.runtime.clock import ManualClock
from petriflow.runtime.engine import Engine
from petriflow.runtime.participants import SimulatedParticipants
from petriflow.runtime.scenario import Scenario, duration
from petriflow.store.base import CaseStatus, Store, WorkItem


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
    reminders: int = 0
    seconds: float = 0.0
    cycle_times: list[float] = field(default_factory=list, repr=False)
    incident_reasons: dict[str, int] = field(default_factory=dict)
    # the horizon (process time past the last arrival) at which the run stopped with
    # cases still open, or None if everything that could happen happened
    stopped_at_horizon: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "completed": self.completed, "outcomes": self.outcomes,
                "handoffs": self.handoffs, "refusals": self.refusals,
                "incidents": self.incidents, "tasks": self.tasks,
                "seconds": round(self.seconds, 3), "process": self.process,
                "statuses": self.statuses, "steps": self.steps, "retries": self.retries,
                "timeouts": self.timeouts, "reminders": self.reminders,
                "cycle_time": self.cycle_time(), "stopped_at_horizon": self.stopped_at_horizon}

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

    def __init__(self, compiled: CompiledProcess, scenario: Scenario, *, seed: int | None = None,
                 store: Store | None = None, enforce: bool = True, audit: bool = True,
                 source: str | None = None) -> None:
        self.compiled = compiled
        self.scenario = scenario
        if seed is None:  # the scenario's, else 0
            seed = scenario.seed if scenario.seed is not None else 0
        self.rng = random.Random(seed)
        self.clock = ManualClock()
        self.engine = Engine(store, clock=self.clock, dispatch="deferred", seed=seed,
                             enforce=enforce, audit=audit)
        self.dep = self.engine.deploy(compiled, source=source)
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.scheduled: set[str] = set()
        # The cases this simulation runs: other cases of the same database (another run's,
        # or work left for people) are not its business; their timers and offers are left
        # alone.
        self.own: set[str] = set()
        self.participants = SimulatedParticipants(self.engine, scenario, self.rng)
        self.participants.serve(self.dep)
        self.engine.on_offer.append(self._plan)  # each new work item gets its participant

    # -- the event loop ----------------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action))

    def run(self, cases: int, run_id: str | None = None) -> Summary:
        """Start ``cases`` new cases (ids ``<process>-<run>-<n>``) and run them all out."""
        t0 = time.perf_counter()
        run_id = run_id or uuid.uuid4().hex[:8]
        gap = last = 0.0
        ids = []
        for i in range(cases):
            case_id = f"{self.compiled.name}-{run_id}-{i + 1:06d}"
            ids.append(case_id)
            self.own.add(case_id)
            self.at(gap, lambda c=case_id, n=i + 1: self._start(c, n))
            last = gap
            gap += duration(self.scenario.arrival, self.rng)
        horizon = duration(self.scenario.horizon, self.rng)
        stopped = self._loop(last + horizon)
        summary = self._summary(ids)
        summary.stopped_at_horizon = horizon if stopped else None
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
        self.own.update(c.id for c in unfinished)
        for c in unfinished:
            if c.fingerprint != self.dep.fingerprint:
                self.engine.deployment(c.fingerprint)  # pinned to the net it started on
            self._schedule(c.id)
        horizon = duration(self.scenario.horizon, self.rng)
        stopped = self._loop(self.clock.now() + horizon)
        summary = self._summary([c.id for c in unfinished])
        summary.stopped_at_horizon = horizon if stopped else None
        summary.seconds = time.perf_counter() - t0
        return summary

    def _loop(self, until: float) -> bool:
        """Run events in time order up to process time ``until``; True if events were
        still to come then (a case waiting on work nobody may do keeps its reminders
        coming for ever), False if nothing was left to happen."""
        while True:
            timer = self.engine.next_timer(self.own)
            if self.queue and (timer is None or self.queue[0][0] <= timer):
                if self.queue[0][0] > until:
                    return True
                when, _, action = heapq.heappop(self.queue)
                self.clock.set(max(when, self.clock.now()))
                action()
            elif timer is not None:
                if timer > until:
                    return True
                self.clock.set(max(timer, self.clock.now()))
                if not self.engine.fire_timers(cases=self.own):
                    # due, yet none could fire: their cases are stopped (an incident waits
                    # for an operator); this run leaves them as they are
                    self.own.difference_update(
                        t.case for t in self.engine.store.timers(due_by=self.clock.now()))
            else:
                return False

    def _start(self, case_id: str, n: int) -> None:
        self.engine.start(self.compiled, self.participants.inputs(self.dep, n),
                          case_id=case_id, labels={"clock": "simulated"})

    def _schedule(self, case_id: str) -> None:
        for item in self.engine.work_items(case_id):
            self._plan(item)

    def _plan(self, item: WorkItem) -> None:
        if item.case not in self.own:
            return
        key = f"{item.id}/{item.attempt}" if item.kind in ("agent", "bot", "api") else item.id
        if key in self.scheduled or (item.attempt and item.kind in ("agent", "bot", "api")):
            return  # retries are the engine's (its timers), not ours
        self.scheduled.add(key)
        b = self.scenario.behaviour(item.task)
        delay = duration(b.delay, self.rng)
        self.at(self.clock.now() + delay, lambda: self._act(item))

    def _act(self, item: WorkItem) -> None:
        self.participants.act(item)

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
                    if e.action in ("complete", "run", "message"):
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
                elif e.kind == EventKind.WORK and e.action == "remind":
                    s.reminders += 1
        s.statuses = dict(statuses)
        s.outcomes = dict(outcomes.most_common())
        s.refusals = dict(refusals.most_common())
        s.incident_reasons = dict(reasons.most_common())
        return s


def _short(text: str | None) -> str:
    return (text or "unknown").split(": ", 1)[0][:80]


__all__ = ["Simulation", "Summary"]
