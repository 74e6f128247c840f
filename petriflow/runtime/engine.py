"""The engine: token firing drives cases, under policy and audit.

Each request (start a case, complete a work item, a timer coming due, a service
answering) becomes one :class:`_Txn`: the engine fires the transition it asks for,
then every automatic transition that becomes enabled (routing, automatic tasks,
offers of new work), and commits the lot as one :class:`~petriflow.store.base.Change`
- the new marking and data, one sealed audit event per firing, the work items and
timers that changed. A policy that refuses a step commits only the refusal.

External work (people, agents, bots, APIs, messages) waits as work items. Agents and
services with a registered handler are called right after the commit that offered
their item ("inline" dispatch), or when a scheduler calls :meth:`Engine.perform`
("deferred" dispatch, used by simulations that model the time a call takes). On a
store that keeps nothing across a crash (the in-memory store), inline calls join the
transaction that offered their item, so a request and the calls it leads to are one
write, with the same steps in the same order (:meth:`Engine._perform_offered`).
"""

from __future__ import annotations

import itertools
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from petriflow.errors import (
    ColorError,
    ConflictError,
    CorruptionError,
    EngineError,
    ModelError,
    NotEnabledError,
    OutputError,
    PolicyRefusal,
    WorkItemError,
)
from petriflow.governance.audit import GENESIS, NOTHING, AuditEvent, EventKind, seal
from petriflow.governance.participants import ParticipantKind
from petriflow.model.compiled import ACTOR_VAR, DATA_VAR, Action, CompiledProcess, output_var
from petriflow.model.document import from_document, to_document
from petriflow.net.colors import DecimalColor
from petriflow.runtime.clock import Clock, SystemClock
from petriflow.runtime.deployment import Deployment, TaskInfo
from petriflow.runtime.handlers import (
    AgentAdapter,
    AgentAnswer,
    PermanentError,
    ServiceHandler,
    Visible,
)
from petriflow.runtime.makers import new_call, new_case, new_item, new_request
from petriflow.runtime.program import ProgramTransition
from petriflow.runtime.records import AgentRecord, agent_records
from petriflow.runtime.replay import ReplayReport, answer_differences, replay_case
from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    ItemStatus,
    Store,
    StoredProcess,
    Timer,
    WorkItem,
)

ENGINE = "engine"
_SERVICES = (ParticipantKind.BOT, ParticipantKind.API)   # called by the engine, not people
_OFFER, _HANDOFF = Action.OFFER.value, Action.HANDOFF.value  # (an enum's .value costs a call)
_OFFERED, _CLAIMED = ItemStatus.OFFERED, ItemStatus.CLAIMED     # the open ones
# Characters that show nothing and spell nothing (zero-width space, word joiner, BOM,
# bidirectional overrides): in a name they only make one person look like another.
# (Zero-width joiners and non-joiners stay: Persian and Indic names need them.)
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"
                       "\u2066\u2067\u2068\u2069\u00ad")
_HELD = (CaseStatus.SUSPENDED, CaseStatus.FAILED)  # statuses in which nothing moves a case


@dataclass(slots=True)
class _Txn:
    """One request's changes to one case, committed together."""

    dep: Deployment
    rec: CaseRecord
    counts: list[int]
    data: Mapping[str, Any] | None
    memory: Mapping[str, Any]
    status: CaseStatus
    incident: str | None
    seq: int
    head: str
    now: float
    events: list[AuditEvent] = field(default_factory=list)
    items: dict[str, WorkItem] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    offered: list[WorkItem] = field(default_factory=list)
    performed: int = 0      # how many of ``offered`` were considered for an inline call


class Engine:
    """Runs cases of deployed processes against a :class:`~petriflow.store.base.Store`.

    ``enforce`` applies the processes' policies at run time and ``audit`` seals every
    event into the hash chain; both are on unless a benchmark measures their cost.
    ``people`` maps a person to the roles they hold; when given, a person may claim
    only work offered to one of their roles.
    """

    def __init__(self, store: Store | None = None, *, clock: Clock | None = None,
                 people: Mapping[str, Iterable[str]] | None = None, enforce: bool = True,
                 audit: bool = True, dispatch: str = "inline", seed: int = 0,
                 cache: bool = True) -> None:
        if store is None:
            from petriflow.store.memory import InMemoryStore

            store = InMemoryStore()
        if dispatch not in ("inline", "deferred"):
            raise ValueError("dispatch is 'inline' or 'deferred'")
        self.store = store
        self.clock = clock or SystemClock()
        self.people = {p: frozenset(r) for p, r in (people or {}).items()}
        self.enforce = enforce
        self.audit = audit
        self.dispatch = dispatch
        self.seed = seed
        self.cache = cache  # off for workers that share the store with others
        self.max_automatic_steps = 10_000
        self.switch_refresh = 1.0
        self._deployments: dict[str, Deployment] = {}
        self.on_deploy: list[Callable[[Deployment], None]] = []  # e.g. register handlers
        self.on_remind: list[Callable[[WorkItem], None]] = []    # e.g. e-mail the role
        self.on_offer: list[Callable[[WorkItem], None]] = []     # new work, after its commit
        self._by_name: dict[str, Deployment] = {}
        self._agents: dict[str, AgentAdapter] = {}
        self._services: dict[str, ServiceHandler] = {}
        self._ids = itertools.count(1)
        self._queue: deque[str] = deque()
        self._switches: tuple[float, Mapping[str, frozenset[str]]] | None = None
        self._timer_dues: dict[str, tuple[float, str]] | None = None   # id -> (due, case)
        self._recent: dict[str, CaseRecord] = {}
        self._last: CaseRecord | None = None     # the last commit (completed cases too)
        self._recent_items: dict[str, WorkItem] = {}
        self._draining = False

    # -- deployment and handlers -------------------------------------------------------------

    def deploy(self, process: CompiledProcess | str | Path, *, source: str | None = None
               ) -> Deployment:
        """Make a process runnable (idempotent); a path is compiled first. ``source``:
        the file a compiled process came from (stored with it, so that another worker
        finds the processes it calls)."""
        if not isinstance(process, CompiledProcess):
            from petriflow.model import compile_file

            source = str(Path(process).resolve())
            process = compile_file(process)
        dep = self._deployments.get(process.fingerprint)
        if dep is None:
            dep = Deployment(process, seed=self.seed)
            self._deployments[dep.fingerprint] = dep
            self.store.save_process(StoredProcess(dep.fingerprint, process.name,
                                                  process.version,
                                                  to_document(process, source), process))
            for hook in self.on_deploy:
                hook(dep)
        self._by_name[process.name] = dep
        return dep

    def deployment(self, fingerprint: str) -> Deployment:
        dep = self._deployments.get(fingerprint)
        if dep is None:
            stored = self.store.process(fingerprint)
            compiled = stored.compiled
            if compiled is None:  # written by another worker: rebuilt from its document
                try:
                    compiled = from_document(dict(stored.document))
                except ModelError as exc:  # a stored row that does not verify
                    raise CorruptionError(exc.message) from None
            if compiled.fingerprint != fingerprint:
                raise CorruptionError(
                    f"stored process {stored.name!r} is filed under fingerprint "
                    f"{fingerprint[:12]} but its definition is {compiled.fingerprint[:12]}: "
                    "it was changed after it was deployed",
                    hint="its cases must run on the process they started on: restore the "
                         "database from a backup")
            dep = self.deploy(compiled)
        return dep

    def deployments(self) -> list[Deployment]:
        return list(self._deployments.values())

    def agent(self, agent_id: str, adapter: AgentAdapter) -> None:
        """Register the adapter that answers for ``agent_id``."""
        self._agents[agent_id] = adapter

    def service(self, task: str, handler: ServiceHandler) -> None:
        """Register the handler of a bot or API task."""
        self._services[task] = handler

    # -- cases ---------------------------------------------------------------------------------

    def start(self, process: CompiledProcess | str | Path, inputs: Mapping[str, Any] | None = None,
              *, case_id: str | None = None, labels: Mapping[str, str] | None = None
              ) -> CaseRecord:
        """Start a case with ``inputs`` (validated against the process's input fields) and
        run it until it waits or ends."""
        if isinstance(process, str) and process in self._by_name:
            dep = self._by_name[process]
        else:
            dep = self.deploy(process)
        if dep.compiled.name in self._switch_set("process", ()):
            raise EngineError(f"process {dep.compiled.name} is suspended; no case may start",
                              hint="resume the process first")
        inputs = dict(inputs or {})
        values = self._validate(dep.inputs, inputs, f"inputs of process {dep.compiled.name}")
        if case_id is None:
            case_id = uuid.uuid4().hex[:16]
        elif not isinstance(case_id, str) or not case_id.strip():
            raise EngineError(f"a case id must be a non-empty text, not {case_id!r}",
                              hint="leave it out to get a generated id")
        now = self.clock.now()
        program = dep.program
        rec = new_case(case_id, dep.compiled.name, dep.fingerprint, CaseStatus.RUNNING, {}, {},
                       {}, 0, GENESIS, now, now, None, dict(labels or {}))
        tx = _Txn(dep, rec, program.initial.copy(), None, {}, CaseStatus.RUNNING, None, 0,
                  rec.head, now)
        names = dep.output_vars
        env = {names.get(k) or output_var(k): v for k, v in values.items()}
        self._fire(tx, dep.start, env, actor=None, actor_kind=ENGINE)
        self._conclude(tx, new=True)
        return self._case(case_id)

    def case(self, case_id: str) -> CaseRecord:
        """The case as this engine last committed it, or as the store holds it."""
        return self._case(case_id)

    def work_item(self, item_id: str) -> WorkItem:
        """A work item as this engine last committed it, or as the store holds it."""
        return self._item(item_id)

    # What this engine committed last, so that it does not read back what it just wrote.
    # Safe with other writers: a stale record makes the next commit fail its version
    # check (ConflictError), which evicts it. A completed case moves no more: it leaves
    # the cache (which would otherwise keep every finished case alive) once it is no
    # longer the last commit.
    CACHE_LIMIT = 20_000

    def _case(self, case_id: str) -> CaseRecord:
        rec = self._recent.get(case_id)
        if rec is None:
            last = self._last
            if last is not None and last.id == case_id:
                return last
            return self.store.case(case_id)
        return rec

    def _item(self, item_id: str) -> WorkItem:
        item = self._recent_items.get(item_id)
        return item if item is not None else self.store.work_item(item_id)

    def work_items(self, case_id: str | None = None, *, role: str | None = None,
                   agent: str | None = None) -> list[WorkItem]:
        """Open work items, oldest first."""
        items = self.store.work_items(case=case_id, role=role, agent=agent)
        return sorted(items, key=lambda i: (i.created, i.id))

    # -- the worklist ----------------------------------------------------------------------------

    def claim(self, item_id: str, person: str) -> WorkItem:
        """``person`` takes the work item; refused if they lack the role or may not do it."""
        tx, item, info = self._open_item(item_id)
        if info.kind is not ParticipantKind.HUMAN:
            self._not_a_person(tx, item, info, person, "claim")
        if item.status is not ItemStatus.OFFERED:
            raise WorkItemError(f"work item {item_id} is {item.status.value}, not offered",
                                case=item.case)
        self._may_do(tx, item, info, person)
        claimed = replace(item, status=ItemStatus.CLAIMED, claimed_by=person)
        self._event(tx, EventKind.WORK, task=item.task, action="claim", actor=person,
                    actor_kind=item.kind, work_item=item.id)
        tx.items[item.id] = claimed
        self._commit(tx)
        return claimed

    def release(self, item_id: str, person: str) -> WorkItem:
        tx, item, _ = self._open_item(item_id)
        if item.status is not ItemStatus.CLAIMED or item.claimed_by != person:
            raise WorkItemError(f"work item {item_id} is not claimed by {person}",
                                case=item.case)
        offered = replace(item, status=ItemStatus.OFFERED, claimed_by=None)
        self._event(tx, EventKind.WORK, task=item.task, action="release", actor=person,
                    actor_kind=item.kind, work_item=item.id)
        tx.items[item.id] = offered
        self._commit(tx)
        return offered

    def delegate(self, item_id: str, to: str, *, by: str) -> WorkItem:
        """Reassign a work item to ``to`` (who must be allowed to do it)."""
        tx, item, info = self._open_item(item_id)
        if info.kind is not ParticipantKind.HUMAN:  # (as claim: no person holds it)
            self._not_a_person(tx, item, info, to, "delegate")
        self._may_do(tx, item, info, to, action="delegate", by=by)
        moved = replace(item, status=ItemStatus.CLAIMED, claimed_by=to)
        self._event(tx, EventKind.WORK, task=item.task, action="delegate", actor=by,
                    actor_kind=item.kind, work_item=item.id, reason=f"to {to}")
        tx.items[item.id] = moved
        self._commit(tx)
        return moved

    def complete(self, item_id: str, actor: str | None, outputs: Mapping[str, Any] | None = None,
                 *, confidence: float | None = None, rationale: str | None = None
                 ) -> CaseRecord:
        """Complete a work item with its outputs. A person's item is claimed on the way if
        nobody holds it; a policy or outcome-check refusal raises PolicyRefusal."""
        tx, item, info = self._open_item(item_id)
        if info.kind in _SERVICES:
            self._not_a_person(tx, item, info, actor, "complete")
        if item.status is ItemStatus.CLAIMED and actor != item.claimed_by:
            raise WorkItemError(f"work item {item_id} is claimed by {item.claimed_by}, "
                                f"not {actor}", case=item.case)
        if info.kind is ParticipantKind.HUMAN and item.status is ItemStatus.OFFERED:
            self._may_do(tx, item, info, actor or "")
        try:
            self._answer(tx, item, info, dict(outputs or {}), actor, confidence, rationale)
        except PolicyRefusal:
            self._commit(tx)  # the refusal is recorded; nothing else changed
            raise
        self._conclude(tx)
        return self._case(item.case)

    def deliver(self, case_id: str, task: str, outputs: Mapping[str, Any] | None = None
                ) -> CaseRecord:
        """A message for a receive task of the case arrived. ``task`` may also name a
        message that an open work item catches (a receive task after an event-based
        gateway, a task's ``catch``): its transition fires and ends the wait."""
        items = [i for i in self.store.work_items(case=case_id) if i.task == task]
        if not items:
            return self._catch(case_id, task, outputs)
        return self.complete(items[0].id, None, outputs)

    def _catch(self, case_id: str, message: str, outputs: Mapping[str, Any] | None
               ) -> CaseRecord:
        for open_item in self.store.work_items(case=case_id):
            if not open_item.status.open:
                continue
            tx, item, info = self._open_item(open_item.id)
            if message not in info.catches:
                continue
            t, colors = info.catches[message]
            t = tx.dep.variant(t, tx.counts)
            values = self._validate(colors, dict(outputs or {}), f"message {message}")
            env = {output_var(k): v for k, v in values.items()}
            # the wait after an event gateway completes; a task's catch interrupts it; a
            # non-interrupting one leaves it open and happens at most once per offer
            closes = ItemStatus.WITHDRAWN if t.task == info.id else ItemStatus.COMPLETED
            if t.meta.get("interrupting") == "false":
                if tx.dep.program.why_not(t, tx.counts, tx.data, dict(env)) is not None:
                    continue  # it has happened already while this item waits
                self._fire(tx, t, env, actor=None, actor_kind="message",
                           reason=f"message {message} arrived; {item.task} goes on")
                self._conclude(tx)
                return self._case(case_id)
            try:
                reason = tx.dep.program.why_not(t, tx.counts, tx.data, dict(env))
                if reason is not None:  # the receive task's check is false on this message
                    self._event(tx, EventKind.REFUSED, transition=t.id, task=t.task,
                                action=t.action, actor_kind="message", binding=_binding(env),
                                reason=f"message {message}: {reason}", work_item=item.id,
                                policies=(("outcome_check", "fail"),))
                    raise PolicyRefusal(f"case {tx.rec.id}: message {message}: {reason}",
                                        case=tx.rec.id, policy="outcome_check")
                self._fire(tx, t, env, actor=None, actor_kind="message", item=item,
                           closes=closes, reason=f"message {message} arrived")
            except PolicyRefusal:
                self._commit(tx)  # the refusal is recorded; nothing else changed
                raise
            self._conclude(tx)
            return self._case(case_id)
        raise WorkItemError(f"case {case_id} is not waiting for {message}", case=case_id)

    def perform(self, item_id: str) -> CaseRecord:
        """Call the agent or service that does a work item (deferred dispatch)."""
        tx, item, info = self._open_item(item_id)
        self._call(tx, item, info)
        self._drain()
        return self._case(item.case)

    # -- time ----------------------------------------------------------------------------------

    def fire_timers(self, now: float | None = None, *, case: str | None = None,
                    cases: Container[str] | None = None,
                    quarantine: dict[str, str] | None = None) -> int:
        """Do everything due by ``now`` (the clock's time by default): timeouts and retries,
        of one ``case`` or of some ``cases`` if given. Returns how many were handled.

        ``quarantine`` (case id -> why) is a worker's way to keep serving the other cases
        when one cannot be read or its process no longer rebuilds: such a case is added
        to it and left alone, as are the cases already in it. Without it, that
        :class:`~petriflow.errors.CorruptionError` is raised."""
        now = self.clock.now() if now is None else now
        done = 0
        while True:
            due = self.store.timers(case=case, due_by=now)
            if cases is not None:
                due = [t for t in due if t.case in cases]
            if not due:
                return done
            progressed = False
            for timer in due:
                if quarantine is not None and timer.case in quarantine:
                    continue
                try:
                    handled = self._timer(timer)
                except (EngineError, ConflictError):  # another worker took it: theirs
                    handled = False
                except CorruptionError as exc:
                    if quarantine is None:
                        raise
                    quarantine[timer.case] = str(exc)
                    handled = False
                done += handled
                progressed = progressed or handled
            if not progressed:
                return done

    def next_timer(self, cases: Container[str] | None = None) -> float | None:
        """When the earliest timer (of ``cases``, if given) is due. Read from the store
        once, then kept up to date from this engine's own commits (call :meth:`refresh`
        when other workers share the store)."""
        if self._timer_dues is None:
            self._timer_dues = {t.id: (t.due, t.case) for t in self.store.timers()}
        if cases is None:
            return min((due for due, _ in self._timer_dues.values()), default=None)
        return min((due for due, case in self._timer_dues.values() if case in cases),
                   default=None)

    def refresh(self) -> None:
        """Forget what this engine remembers of the store (timers, kill switches)."""
        self._timer_dues = None
        self._switches = None
        self._recent.clear()
        self._recent_items.clear()
        self._last = None

    def _timer(self, timer: Timer) -> bool:
        rec = self._case(timer.case)
        if self._held(rec.status, rec):
            return False
        if isinstance(self.clock, SystemClock) and rec.labels.get("clock") == "simulated":
            return False  # process time of a simulation: the wall clock would fire it at once
        item = self._item(timer.work_item)
        if not item.status.open or rec.status is CaseStatus.COMPLETED:
            # left behind by a step that closed the item: nothing to do but forget it
            tx = self._begin(rec, allow_suspended=True)
            tx.cancel.append(timer.id)
            self._commit(tx)
            return True
        tx = self._begin(rec)
        tx.now = max(tx.now, timer.due)  # fired late or ahead of the clock: at its due time
        info = tx.dep.by_place[item.place]
        if timer.kind == "timeout":
            assert info.timeout is not None
            timeout = tx.dep.variant(info.timeout, tx.counts)
            if timeout.meta.get("interrupting") == "false":  # the item stays open
                tx.cancel.append(timer.id)
                if tx.dep.program.why_not(timeout, tx.counts, tx.data, {}) is None:
                    self._fire(tx, timeout, {}, actor=None, actor_kind="timer",
                               reason=f"{_duration(info.timeout_after)} passed; "
                               f"{item.task} goes on")
                self._conclude(tx)
                return True
            self._fire(tx, timeout, {}, actor=None, actor_kind="timer", item=item,
                       closes=ItemStatus.TIMED_OUT, reason=f"no answer within "
                       f"{_duration(info.timeout_after)}")
            self._conclude(tx)
            return True
        if timer.kind == "remind":
            waited = tx.now - item.created
            self._event(tx, EventKind.WORK, task=item.task, action="remind",
                        actor_kind=ENGINE, work_item=item.id,
                        reason=f"waiting for {_duration(waited)}")
            every = info.remind_every
            assert every is not None
            missed = int((tx.now - timer.due) // every)  # late: one reminder, then on cadence
            tx.timers.append(Timer(timer.id, tx.rec.id, timer.due + (missed + 1) * every,
                                   "remind", item.id))
            self._commit(tx)
            for hook in self.on_remind:
                hook(item)
            return True
        tx.cancel.append(timer.id)
        self._call(tx, item, info)
        self._drain()
        return True

    # -- kill switch ---------------------------------------------------------------------------

    def suspend(self, case_id: str, *, by: str = ENGINE, reason: str = "") -> CaseRecord:
        rec = self._case(case_id)
        if rec.status is CaseStatus.SUSPENDED:
            return rec
        if rec.status is CaseStatus.COMPLETED:
            raise EngineError(f"case {case_id} has completed; there is nothing to suspend",
                              case=case_id)
        tx = self._begin(rec, allow_suspended=True)
        tx.status = CaseStatus.SUSPENDED
        self._event(tx, EventKind.CASE, action="suspend", actor=by, actor_kind="person",
                    reason=reason or None)
        self._commit(tx)
        return self._case(case_id)

    def resume(self, case_id: str, *, by: str = ENGINE) -> CaseRecord:
        rec = self._case(case_id)
        if rec.status is not CaseStatus.SUSPENDED:
            return rec
        tx = self._begin(rec, allow_suspended=True)
        tx.status = CaseStatus.RUNNING
        self._event(tx, EventKind.CASE, action="resume", actor=by, actor_kind="person")
        self._settle(tx)
        self._commit(tx)
        self._queue.extend(i.id for i in self.store.work_items(case=case_id)
                           if i.kind in ("agent", "bot", "api") and i.status.open)
        self._drain()
        self.fire_timers(case=case_id)
        return self._case(case_id)

    def suspend_process(self, name: str, *, by: str = ENGINE, reason: str = "") -> None:
        """No case of ``name`` starts or moves until it is resumed (the decision goes into
        the operators' log: who, when, why)."""
        self._set_switch("process", name, True, by, reason)

    def resume_process(self, name: str, *, by: str = ENGINE, reason: str = "") -> None:
        self._set_switch("process", name, False, by, reason)
        ids = set()
        for rec in self.store.cases(process=name):
            ids.add(rec.id)
            if rec.status is CaseStatus.WAITING:
                self._queue.extend(i.id for i in self.store.work_items(case=rec.id)
                                   if i.kind in ("agent", "bot", "api"))
        self._drain()
        self.fire_timers(cases=ids)  # what came due while it stood still

    def suspend_agent(self, agent_id: str, *, by: str = ENGINE, reason: str = "") -> int:
        """Stop calling ``agent_id``; its open items go to the model's human fallback where
        the task has one, and wait otherwise. Returns how many items were handed over."""
        self._set_switch("agent", agent_id, True, by, reason)
        moved = 0
        for item in self.store.work_items(agent=agent_id):
            rec = self._case(item.case)
            if self._held(rec.status, rec):
                continue  # (a failed case's items wait for its retry, with the switch on)
            tx = self._begin(rec)
            info = tx.dep.by_place[item.place]
            if self._fallback(tx, item, info):
                moved += 1
                self._settle(tx)
                self._commit(tx)
        self._drain()
        return moved

    def resume_agent(self, agent_id: str, *, by: str = ENGINE, reason: str = "") -> None:
        self._set_switch("agent", agent_id, False, by, reason)
        self._queue.extend(i.id for i in self.store.work_items(agent=agent_id))
        self._drain()

    def retry(self, case_id: str, *, by: str = ENGINE) -> CaseRecord:
        """Clear a case's incident and call its failed services again."""
        rec = self._case(case_id)
        if rec.status is not CaseStatus.FAILED:
            return rec
        tx = self._begin(rec, allow_failed=True)
        tx.incident = None
        tx.status = CaseStatus.RUNNING
        self._event(tx, EventKind.CASE, action="retry", actor=by, actor_kind="person")
        for item in self.store.work_items(case=case_id):
            if item.kind in ("agent", "bot", "api"):
                tx.items[item.id] = replace(item, attempt=0, outcome=None)
                self._queue.append(item.id)
        self._conclude(tx)
        return self._case(case_id)

    # -- evidence ------------------------------------------------------------------------------

    def replay(self, case_id: str) -> ReplayReport:
        """Rebuild the case from its journal with the kernel and compare with the store."""
        rec = self.store.case(case_id)  # evidence: never this engine's cached copy
        dep = self.deployment(rec.fingerprint)

        def waits(place: str) -> tuple[float | None, bool, float | None] | None:
            info = dep.by_place.get(place)
            if info is None:
                return None
            interrupting = (info.timeout is not None
                            and info.timeout.meta.get("interrupting") != "false")
            return info.timeout_after, interrupting, info.remind_every

        return replay_case(dep.compiled, rec, self.store.events(case_id),
                           self.store.work_items(case=case_id, open_only=False),
                           self.store.timers(case=case_id), waits, dep.enforcer.remember)

    def agent_records(self) -> dict[str, AgentRecord]:
        """Every registered agent's record, from the journals of all cases."""
        agents = {a.id: a for d in self._deployments.values() for a in d.registry}
        events = (e for cid in self.store.case_ids() for e in self.store.events(cid))
        return agent_records(agents.values(), events)

    # -- internals: transactions -----------------------------------------------------------------

    def _begin(self, rec: CaseRecord, *, allow_suspended: bool = False,
               allow_failed: bool = False) -> _Txn:
        if rec.status is CaseStatus.SUSPENDED and not allow_suspended:
            raise EngineError(f"case {rec.id} is suspended", case=rec.id,
                              hint="resume it first")
        if rec.status is CaseStatus.COMPLETED and not allow_suspended:
            raise EngineError(f"case {rec.id} has completed", case=rec.id)
        if rec.status is CaseStatus.FAILED and not (allow_failed or allow_suspended):
            # an incident stops the case until an operator looks (models/SEMANTICS.md):
            # no call, completion or timer moves it before retry()
            raise EngineError(f"case {rec.id} has an incident: {rec.incident}", case=rec.id,
                              hint="find the cause, then retry the case")
        if not allow_suspended and self._process_suspended(rec):
            raise EngineError(f"process {rec.process} is suspended", case=rec.id,
                              hint="resume the process first")
        dep = self.deployment(rec.fingerprint)
        return _Txn(dep, rec, dep.program.counts_of(rec.marking), rec.data,
                    rec.memory, rec.status, rec.incident, rec.version, rec.head,
                    self.clock.now())

    def _switch_set(self, kind: str, default: Any = ()) -> frozenset[str]:
        """The kill-switch settings, re-read from the store at most every
        :attr:`switch_refresh` seconds (wall time) so other workers' switches take effect."""
        now = time.monotonic()
        cached = self._switches
        if cached is None or now - cached[0] > self.switch_refresh:
            cached = self._switches = (now, self.store.switches())
        return cached[1].get(kind, frozenset())

    def _set_switch(self, kind: str, key: str, on: bool, by: str, reason: str) -> None:
        self.store.set_switch(kind, key, on, actor=by, reason=reason or None,
                              at=self.clock.now())
        self._switches = None

    def _process_suspended(self, rec: CaseRecord) -> bool:
        return rec.process in self._switch_set("process", ())

    def held(self, rec: CaseRecord) -> bool:
        """Whether nothing may move the case now: suspended, failed (an incident waits for
        an operator's retry) or its process suspended (a worker leaves its work alone)."""
        return self._held(rec.status, rec)

    def held_cases(self) -> set[str]:
        """The ids of the cases nothing may move now (see :meth:`held`)."""
        store = self.store
        held = {c.id for status in _HELD for c in store.cases(status=status)}
        for name in self._switch_set("process", ()):
            held.update(c.id for c in store.cases(process=name))
        return held

    def _held(self, status: CaseStatus, rec: CaseRecord) -> bool:
        """:meth:`held`, with the status a transaction has reached so far."""
        return status in _HELD or self._process_suspended(rec)

    def _snapshot(self, item_id: str) -> tuple[WorkItem, CaseRecord]:
        """The item and its case, read case first: every change to an item commits with a
        new case version, so an item read after its case is at least as new as the case,
        and if anyone moves either before our commit, the commit's version check fails.
        (Read the other way round, a worker could act on an item that another worker had
        closed in between, and its commit would pass.)"""
        case_id = self._item(item_id).case
        rec = self._case(case_id)
        return self._item(item_id), rec

    def _open_item(self, item_id: str) -> tuple[_Txn, WorkItem, TaskInfo]:
        item, rec = self._snapshot(item_id)
        if not item.status.open:
            raise WorkItemError(f"work item {item_id} is {item.status.value}", case=item.case)
        tx = self._begin(rec)
        return tx, item, tx.dep.by_place[item.place]

    def _event(self, tx: _Txn, kind: str, **fields: Any) -> AuditEvent:
        tx.seq += 1
        event = AuditEvent(case=tx.rec.id, seq=tx.seq, kind=kind, at=tx.now, prev=tx.head,
                           **fields)
        if self.audit:
            seal(event)
        tx.head = event.hash
        tx.events.append(event)
        return event

    def _commit(self, tx: _Txn, *, new: bool = False, batch: bool = True) -> None:
        if batch and tx.performed < len(tx.offered) and self.dispatch == "inline" and \
                not getattr(self.store, "durable", False):
            try:
                self._perform_offered(tx)
            except BaseException:
                self._commit(tx, new=new, batch=False)  # what came before the failed call
                raise
        program = tx.dep.program
        old = tx.rec
        rec = new_case(old.id, old.process, old.fingerprint, tx.status,
                       program.named(tx.counts), tx.data or {}, tx.memory, tx.seq, tx.head,
                       old.started, tx.now, tx.incident, old.labels)
        items = list(tx.items.values())
        try:
            self.store.commit(Change(rec, None if new else tx.rec.version, tx.events,
                                     items, tx.timers, tx.cancel,
                                     tuple([i.id for i in tx.offered])))
        except ConflictError:
            self._recent.pop(rec.id, None)
            self._recent_items = {k: v for k, v in self._recent_items.items()
                                  if v.case != rec.id}
            if self._last is not None and self._last.id == rec.id:
                self._last = None
            raise
        if self.cache:
            if rec.status is CaseStatus.COMPLETED:
                self._recent.pop(rec.id, None)
            else:
                if len(self._recent) > self.CACHE_LIMIT:
                    self._recent.clear()
                    self._recent_items.clear()
                self._recent[rec.id] = rec
            self._last = rec
            for item in items:
                if (status := item.status) is _OFFERED or status is _CLAIMED:  # (.open)
                    self._recent_items[item.id] = item
                else:
                    self._recent_items.pop(item.id, None)
        dues = self._timer_dues
        if dues is not None:
            for tid in tx.cancel:
                dues.pop(tid, None)
            for timer in tx.timers:
                dues[timer.id] = (timer.due, timer.case)
        if self.dispatch == "inline":
            self._queue.extend(i.id for i in tx.offered[tx.performed:]
                               if i.kind in ("agent", "bot", "api"))
        for hook in self.on_offer:
            for offered in tx.offered:
                hook(tx.items.get(offered.id, offered))

    def _perform_offered(self, tx: _Txn) -> None:
        """Inline dispatch on a store that keeps nothing across a crash: call the agents
        and services of the items this transaction offered before it commits, so that a
        request and the calls it leads to are one write (as :meth:`_drain` would call
        them, in the same order, one after the other). A durable store commits each
        offer first instead, so that recovery finds the item (and its idempotency key)
        whatever happens during the call. If a call raises, the transaction is taken
        back to before that call (and committed so), and the items after it wait in the
        queue, as they would have after separate commits."""
        while tx.performed < len(tx.offered):
            offered = tx.offered[tx.performed]
            if offered.kind not in ("agent", "bot", "api"):
                tx.performed += 1
                continue
            if tx.status is CaseStatus.COMPLETED or self._held(tx.status, tx.rec):
                tx.performed = len(tx.offered)  # as _drain: left for resume
                return
            item = tx.items.get(offered.id, offered)
            tx.performed += 1
            if not item.status.open:
                continue
            # (the lists only grow during a call: their lengths are enough to go back)
            saved = (len(tx.events), dict(tx.items), len(tx.timers), len(tx.cancel),
                     len(tx.offered), tx.counts, tx.data, tx.memory, tx.status,
                     tx.incident, tx.seq, tx.head, tx.now, tx.performed)
            tx.now = max(tx.now, self.clock.now())
            try:
                self._perform(tx, item, tx.dep.by_place[item.place])
            except BaseException:
                (events, tx.items, timers, cancel, offered, tx.counts, tx.data,
                 tx.memory, tx.status, tx.incident, tx.seq, tx.head, tx.now,
                 tx.performed) = saved
                del tx.events[events:], tx.timers[timers:], tx.cancel[cancel:]
                del tx.offered[offered:]
                raise

    def _conclude(self, tx: _Txn, *, new: bool = False) -> None:
        """End a request: its automatic steps, one commit, then the calls it offered."""
        self._settle(tx)
        self._commit(tx, new=new)
        self._drain()

    def _commit_changes(self, tx: _Txn) -> None:
        if tx.events or tx.items or tx.timers or tx.cancel:
            self._commit(tx)

    def _drain(self) -> None:
        """Call the agents and services of items offered by the commits so far."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                item_id = self._queue.popleft()
                item, rec = self._snapshot(item_id)
                if not item.status.open:
                    continue
                if rec.status is CaseStatus.COMPLETED or self._held(rec.status, rec):
                    continue
                tx = self._begin(rec)
                self._call(tx, item, tx.dep.by_place[item.place])
        finally:
            self._draining = False

    # -- internals: firing ---------------------------------------------------------------------

    def _fire(self, tx: _Txn, t: ProgramTransition, env: dict[str, Any], *, actor: str | None,
              actor_kind: str, item: WorkItem | None = None,
              closes: ItemStatus = ItemStatus.COMPLETED, confidence: float | None = None,
              rationale: str | None = None, reason: str | None = None,
              reads: tuple[str, ...] = (), checked: bool = False) -> None:
        """Fire ``t`` in the transaction, under the policies; a refusal raises PolicyRefusal
        after recording it (the caller decides whether the refusal commits). ``checked``:
        the caller has just seen ``t`` enabled with ``env`` in this very state."""
        dep = tx.dep
        before = tx.data
        # the answer is the event's binding as given (firing adds the data to a copy)
        binding = env
        counts, data, written = dep.program.fire(t, tx.counts, before,
                                                 dict(env) if t.reads_data else env,
                                                 checked=checked)
        # an agent acting is an agent acting, whichever work item it reaches for
        agent = actor if actor is not None and actor in dep.agent_ids else None
        outcomes: tuple[tuple[str, str], ...] = ()
        if self.enforce:
            enforcer = dep.enforcer
            # Enforcer.concerns, inlined: most steps (routing, offers) concern no policy
            if t.id in enforcer.rules or agent is not None or enforcer.stateful or (
                    written and (before is None
                                 or not enforcer.after_reads.isdisjoint(written))):
                outcomes = self._enforce(tx, t, env, actor, actor_kind, agent, before, data,
                                         written, item, confidence, rationale)
            elif t.id in enforcer.remembers:
                tx.memory = enforcer.remember(t.id, actor, data, tx.memory)
        tx.counts = counts
        tx.data = data
        tx.seq += 1
        version = dep.agent_versions.get(agent) if agent else None
        event = AuditEvent(tx.rec.id, tx.seq, EventKind.STEP, tx.now, t.id, t.task, t.action,
                           actor, actor_kind, version, binding, reads, written, outcomes,
                           confidence, rationale, reason,
                           item.id if item is not None else None, tx.head)
        if self.audit:
            if actor is None and item is None and not binding and not written and \
                    not outcomes and not reads and reason is None and confidence is None \
                    and rationale is None:  # a plain step (routing, an offer)
                dep.plain_template(t, actor_kind).seal(event)
            else:
                dep.step_template(t, actor_kind, version, reads).seal(event)
        tx.head = event.hash
        tx.events.append(event)
        if item is not None:
            tx.items[item.id] = new_item(item.id, item.case, item.task, item.place, item.kind,
                                         closes, item.created, item.role, item.agent,
                                         item.claimed_by, item.attempt, item.key, item.due,
                                         item.lease_until, tx.now, t.action, item.leased_by,
                                         item.answer)
            tx.cancel.extend(_timer_ids(item, dep.by_place[item.place]))
        elif "withdraws" in t.meta:  # a scope's cancellation or completion took its token
            self._withdraw(tx, t.meta["withdraws"].split())
        if t.action == _OFFER:
            self._offer(tx, t, event)

    def _fire_automatic(self, tx: _Txn, t: ProgramTransition) -> None:
        """:meth:`_fire` of an automatic transition that :meth:`Program.next_automatic`
        has just found enabled (no answer, no actor, no work item): the engine's most
        frequent step (routing, offers, automatic tasks), so written out on its own."""
        dep = tx.dep
        before = tx.data
        counts, data, written = dep.program.fire(t, tx.counts, before, {}, checked=True)
        outcomes: tuple[tuple[str, str], ...] = ()
        if self.enforce:
            enforcer = dep.enforcer
            if t.id in enforcer.rules or enforcer.stateful or (written and (
                    before is None or not enforcer.after_reads.isdisjoint(written))):
                outcomes = self._enforce(tx, t, {}, None, "auto", None, before, data,
                                         written, None, None, None)
            elif t.id in enforcer.remembers:
                tx.memory = enforcer.remember(t.id, None, data, tx.memory)
        tx.counts = counts
        tx.data = data
        seq = tx.seq = tx.seq + 1
        event = AuditEvent(tx.rec.id, seq, EventKind.STEP, tx.now, t.id, t.task, t.action,
                           None, "auto", None, NOTHING, (), written, outcomes, None, None,
                           None, None, tx.head)
        if self.audit:
            if written or outcomes:
                dep.auto_steps[t.id].seal(event)
            else:
                dep.auto_plain[t.id].seal(event)
        tx.head = event.hash
        tx.events.append(event)
        if "withdraws" in t.meta:  # a scope's cancellation or completion took its token
            self._withdraw(tx, t.meta["withdraws"].split())
        if t.action == _OFFER:
            self._offer(tx, t, event)

    def _withdraw(self, tx: _Txn, places: list[str]) -> None:
        """Close the oldest open work item at each place: a step that is not the item's own
        took its token (models/SEMANTICS.md, Scopes)."""
        known = {i.id: i for i in self.store.work_items(case=tx.rec.id)}
        known.update(tx.items)
        for place in places:
            found = sorted((i for i in known.values() if i.place == place and i.status.open),
                           key=lambda i: (i.created, i.id))
            if found:
                item = replace(found[0], status=ItemStatus.WITHDRAWN, closed=tx.now,
                               outcome="withdrawn")
                tx.items[item.id] = known[item.id] = item
                tx.cancel.extend(_timer_ids(item, tx.dep.by_place[item.place]))

    def _enforce(self, tx: _Txn, t: ProgramTransition, env: dict[str, Any], actor: str | None,
                 actor_kind: str, agent: str | None, before: Mapping[str, Any] | None,
                 after: Mapping[str, Any], written: Mapping[str, Any], item: WorkItem | None,
                 confidence: float | None, rationale: str | None
                 ) -> tuple[tuple[str, str], ...]:
        """The policies' outcomes for a step about to happen that concerns them (the
        callers ask :meth:`Enforcer.concerns` first, inlined), and what the case remembers
        after it (in ``tx.memory``); a refusal is recorded and raised as PolicyRefusal."""
        enforcer = tx.dep.enforcer
        tid = t.id
        verdict = enforcer.evaluate(tid, t.task, t.action, actor, agent, before, after,
                                    tx.memory, written)
        outcomes = verdict.outcomes
        if not verdict.allowed:
            self._event(tx, EventKind.REFUSED, transition=tid, task=t.task,
                        action=t.action, actor=actor, actor_kind=actor_kind,
                        binding=_binding(env), policies=outcomes,
                        reason=verdict.reason, work_item=item.id if item else None,
                        confidence=confidence, rationale=rationale)
            raise PolicyRefusal(f"case {tx.rec.id}: {t.task} refused: "
                                f"{verdict.reason}", case=tx.rec.id,
                                policy=verdict.failure or "", transition=tid)
        if tid in enforcer.remembers:
            tx.memory = enforcer.remember(tid, actor, after, tx.memory)
        return outcomes

    def _offer(self, tx: _Txn, t: ProgramTransition, event: AuditEvent) -> None:
        dep = tx.dep
        place = dep.offer_place[t.id]
        info = dep.by_place[place]
        case, seq = tx.rec.id, event.seq
        item_id = f"{case}.{seq}"
        due = tx.now + info.timeout_after if info.timeout is not None else None
        item = new_item(item_id, case, info.id, place, info.kind_value, ItemStatus.OFFERED,
                        tx.now, info.role, info.agent, None, 0, f"{case}:{seq}", due, None,
                        None, None, None, None)
        tx.items[item_id] = item
        tx.offered.append(item)
        if due is not None:
            tx.timers.append(Timer(f"{item_id}:timeout", tx.rec.id, due, "timeout", item_id,
                                   info.timeout.id if info.timeout else None))
        if info.remind_every:
            tx.timers.append(Timer(f"{item_id}:remind", tx.rec.id, tx.now + info.remind_every,
                                   "remind", item_id))

    def _settle(self, tx: _Txn) -> None:
        """Fire automatic transitions until none is enabled, then set the status."""
        program = tx.dep.program
        if tx.status is CaseStatus.SUSPENDED:
            return
        fired = 0
        while True:
            t = program.next_automatic(tx.counts, tx.data)
            if t is None:
                break
            if fired == self.max_automatic_steps:
                tx.incident = (f"more than {fired} automatic steps without waiting for anyone "
                               f"(an automatic loop at {t.task}); stopped")
                self._event(tx, EventKind.CASE, action="incident", actor_kind=ENGINE,
                            reason=tx.incident)
                break
            fired += 1
            try:
                self._fire_automatic(tx, t)
            except (PolicyRefusal, NotEnabledError) as exc:
                # (not enabled after all: what it writes is outside a field's type, which
                # the model allowed; the checker reports such a process as deadlocking)
                tx.incident = str(exc) if isinstance(exc, PolicyRefusal) else \
                    f"{t.task or t.id} cannot run: {exc}"
                self._event(tx, EventKind.CASE, action="incident", actor_kind=ENGINE,
                            reason=tx.incident)
                break
        if program.is_final(tx.counts):
            tx.status, tx.incident = CaseStatus.COMPLETED, None
        elif tx.incident is not None:
            tx.status = CaseStatus.FAILED
        elif program.waits(tx.counts):
            tx.status = CaseStatus.WAITING
        else:
            marked = ", ".join(sorted(program.named(tx.counts)))
            tx.incident = f"no step can fire and the case has not ended (tokens in {marked})"
            tx.status = CaseStatus.FAILED
            self._event(tx, EventKind.CASE, action="incident", actor_kind=ENGINE,
                        reason=tx.incident)

    # -- internals: answers ----------------------------------------------------------------------

    def _validate(self, colors: Mapping[str, Any], values: Mapping[str, Any], what: str,
                  optional: Iterable[str] = ()) -> dict[str, Any]:
        if values.keys() != colors.keys():  # (the usual case, equal, costs one comparison)
            unknown = sorted(set(values) - set(colors))
            if unknown:
                raise OutputError(f"{what}: unknown field(s) {', '.join(unknown)}",
                                  hint=f"expected: {', '.join(colors) or 'none'}")
            missing = sorted(set(colors) - set(values) - set(optional))
            if missing:
                raise OutputError(f"{what}: missing field(s) {', '.join(missing)}")
        out = {}
        for name, value in values.items():
            color = colors[name]
            if isinstance(value, float) and isinstance(color, DecimalColor):
                value = Decimal(repr(value))  # the shortest decimal that reads back the same
            try:
                out[name] = color.validate(value)
            except ColorError as exc:
                raise OutputError(f"{what}: field '{name}': {exc}") from None
        return out

    def _checked(self, item: WorkItem, info: TaskInfo, outputs: dict[str, Any],
                 confidence: float | None) -> dict[str, Any]:
        """The answer's outputs validated by their declared types (the agent's stated
        confidence fills the task's confidence field when the output leaves it out)."""
        if info.confidence and confidence is not None and info.confidence not in outputs:
            outputs = {**outputs, info.confidence: confidence}
        return self._validate(info.colors, outputs, f"answer to {info.id} ({item.id})")

    def _answer(self, tx: _Txn, item: WorkItem, info: TaskInfo, outputs: dict[str, Any],
                actor: str | None, confidence: float | None, rationale: str | None,
                actor_kind: str | None = None, *, checked: bool = False) -> None:
        """Fire the completion (or handoff) that accepts this answer (``checked``: the
        outputs went through :meth:`_checked` already)."""
        values = outputs if checked else self._checked(item, info, outputs, confidence)
        if info.confidence and info.confidence in values:  # record what routing used
            confidence = float(values[info.confidence])
        env = tx.dep.env_for(info, values, actor)
        program = tx.dep.program
        chosen = None
        for t in info.answers:
            if program.why_not(t, tx.counts, tx.data, dict(env)) is None:
                chosen = t
                break
        kind = actor_kind or item.kind
        if chosen is None:
            assert tx.data is not None
            rule, reason = tx.dep.diagnose(info, tx.data, env)
            self._event(tx, EventKind.REFUSED, transition=info.answers[0].id if info.answers
                        else None, task=info.id, action=Action.COMPLETE.value, actor=actor,
                        actor_kind=kind, binding=_binding(env), reason=reason,
                        work_item=item.id, confidence=confidence, rationale=rationale,
                        policies=((rule, "fail"),))
            raise PolicyRefusal(f"case {tx.rec.id}: {reason}", case=tx.rec.id, policy=rule)
        closes = ItemStatus.HANDED_OFF if chosen.action == _HANDOFF else ItemStatus.COMPLETED
        self._fire(tx, chosen, env, actor=actor, actor_kind=kind, item=item, closes=closes,
                   confidence=confidence, rationale=rationale, reads=info.reads, checked=True)

    def candidates(self, item_id: str, people: Iterable[str]) -> list[str]:
        """Those of ``people`` who may do the work item now (role, candidate rule,
        segregation of duties): what a worklist shows each person. Records nothing."""
        tx, item, info = self._open_item(item_id)
        return [p for p in people if self._objection(tx, item, info, p) is None]

    def _objection(self, tx: _Txn, item: WorkItem, info: TaskInfo, person: str
                   ) -> tuple[str, str] | None:
        """(rule, reason) if ``person`` may not do the item, whatever they answer."""
        if not person:
            return "participant", f"task {info.id} needs the name of who does it"
        if person != person.strip() or any(c in _INVISIBLE or unicodedata.category(c) == "Cc"
                                           for c in person):
            # ("mia " is not "mia": segregation of duties would take them for two people)
            return "participant", (f"{person!r} is not a usable name: leading or trailing "
                                   "spaces, control and invisible characters are refused")
        if self.people and item.role and item.role not in self.people.get(person, ()):
            return "role", f"{person} does not hold the role {item.role}"
        if info.candidate is not None and tx.data is not None:
            try:
                ok = info.candidate({DATA_VAR: tx.data, ACTOR_VAR: person}) is True
            except (ArithmeticError, KeyError, TypeError):
                ok = False
            if not ok:
                return "candidate", (f"{person} may not do {info.id}: the candidate rule "
                                     f"'{info.candidate_text}' is false")
        if self.enforce and info.answers:
            return tx.dep.enforcer.actor_conflict(info.answers[0].id, person, tx.memory)
        return None

    def _not_a_person(self, tx: _Txn, item: WorkItem, info: TaskInfo, person: str | None,
                      action: str) -> None:
        """Refuse (and record) a person acting on work that is not a person's: a service's
        result typed in by hand, or an agent's item held by someone."""
        reason = (f"{info.id} is done by its {info.kind.value}"
                  + (f" {item.agent}" if item.agent else "") + f", not by {person or 'anyone'}")
        self._event(tx, EventKind.REFUSED, task=info.id, action=action, actor=person,
                    actor_kind="person", reason=reason, work_item=item.id,
                    policies=(("participant", "fail"),))
        self._commit(tx)
        raise PolicyRefusal(f"case {tx.rec.id}: {reason}", case=tx.rec.id, policy="participant")

    def _may_do(self, tx: _Txn, item: WorkItem, info: TaskInfo, person: str, *,
                action: str = "claim", by: str | None = None) -> None:
        """Refuse (and record) a person who lacks the role or breaks a candidate rule
        (``by``: who tried to hand the item to them)."""
        objection = self._objection(tx, item, info, person)
        if objection is None:
            return
        rule, reason = objection
        if by is not None:
            reason = f"{by} cannot hand it to {person}: {reason}"
        self._event(tx, EventKind.REFUSED, task=info.id, action=action,
                    actor=person if by is None else by, actor_kind=item.kind, reason=reason,
                    work_item=item.id, policies=((str(rule), "fail"),))
        self._commit(tx)
        raise PolicyRefusal(f"case {tx.rec.id}: {reason}", case=tx.rec.id, policy=str(rule))

    # -- internals: agents and services ----------------------------------------------------------

    def _call(self, tx: _Txn, item: WorkItem, info: TaskInfo) -> None:
        """Call the agent or service of an open item and commit what came of it."""
        self._commit_changes(self._perform(tx, item, info))

    def _perform(self, tx: _Txn, item: WorkItem, info: TaskInfo) -> _Txn:
        """Call the agent or service of an open item and apply what came of it to the
        transaction (returned: a durable store commits the answer first, see _record)."""
        if item.kind == "agent":
            if item.agent in self._switch_set("agent", ()):
                if self._fallback(tx, item, info):
                    self._settle(tx)
                return tx
            adapter = self._agents.get(item.agent or "")
            if adapter is None:  # waits for someone to answer on the agent's behalf
                return tx
        elif item.kind in ("bot", "api"):
            handler = self._services.get(info.id)
            if handler is None:
                return tx
        else:
            return tx
        assert tx.data is not None
        recorded = item.answer
        if recorded is not None and recorded.get("attempt") == item.attempt:
            # the answer of this attempt was recorded before a crash: use it, don't call again
            self._check_recorded(tx, item, recorded)
            try:
                self._answer(tx, item, info, dict(recorded["output"]), recorded.get("actor"),
                             recorded.get("confidence"), recorded.get("rationale"),
                             checked=False)  # re-checked: the row came back from storage
            except (PolicyRefusal, OutputError, NotEnabledError) as exc:
                self._failed(tx, item, info, str(exc), permanent=False)
            self._settle(tx)
            return tx
        attempt = item.attempt + 1
        hidden = tx.dep.enforcer.hidden.get(item.agent or "")
        fields = (tx.dep.enforcer.visible(item.agent, info.reads) if item.agent
                  else info.reads)
        visible = Visible(tx.data, fields, case=tx.rec.id, task=info.id, hidden=hidden)
        i = item
        if i.leased_by == "engine:retry":  # this attempt is the one its back-off waited for
            tx.cancel.append(f"{i.id}:retry{i.attempt}")
        item = new_item(i.id, i.case, i.task, i.place, i.kind, i.status, i.created, i.role,
                        i.agent, i.claimed_by, attempt, i.key, i.due, i.lease_until, i.closed,
                        i.outcome, i.leased_by, i.answer)
        tx.items[item.id] = item
        if self.enforce and self._refused_before_the_call(tx, item, info):
            self._settle(tx)
            return tx
        limit = info.retry.timeout
        try:
            if item.kind == "agent":
                answer = _within(limit, adapter, new_request(
                    tx.rec.id, info.id, str(item.agent), visible, info.writes, item.id,
                    attempt))
                if not isinstance(answer, AgentAnswer):
                    raise PermanentError(f"agent {item.agent} returned "
                                         f"{type(answer).__name__}, not an AgentAnswer")
                output, actor = dict(answer.output), item.agent
                confidence, rationale = answer.confidence, answer.rationale
            else:
                result = _within(limit, handler, new_call(
                    tx.rec.id, info.id, item.kind, visible, info.writes, item.id, attempt,
                    item.key))
                output, actor, confidence, rationale = dict(result or {}), None, None, None
            if getattr(self.store, "durable", False):
                tx, item, checked = self._record(tx, item, info, output, actor, confidence,
                                                 rationale)
                self._answer(tx, item, info, checked, actor, confidence, rationale,
                             checked=True)
            else:
                self._answer(tx, item, info, output, actor, confidence, rationale)
        except PolicyRefusal as exc:
            # a refused answer (outcome check, scope, a field it may not see) is a failed
            # attempt: the step did not happen; the refusal is already in tx.events
            if not tx.events or tx.events[-1].kind != EventKind.REFUSED:
                self._event(tx, EventKind.REFUSED, task=info.id, action=Action.COMPLETE.value,
                            actor=item.agent, actor_kind=item.kind, reason=str(exc),
                            work_item=item.id, policies=((exc.policy or "rule", "fail"),))
            self._failed(tx, item, info, str(exc), permanent=False)
        except OutputError as exc:
            self._failed(tx, item, info, f"invalid answer: {exc}", permanent=False)
        except PermanentError as exc:
            self._failed(tx, item, info, f"{type(exc).__name__}: {exc}", permanent=True)
        except NotEnabledError as exc:
            self._failed(tx, item, info, str(exc), permanent=False)
        except Exception as exc:  # a handler's failure is the case's business, not ours
            self._failed(tx, item, info, f"{type(exc).__name__}: {exc}", permanent=False)
        self._settle(tx)
        return tx

    def _check_recorded(self, tx: _Txn, item: WorkItem, recorded: Mapping[str, Any]) -> None:
        """A recorded answer is used instead of calling again: it must be the one the
        journal recorded (a row edited behind the engine's back would pass for the
        service's answer). Read only on this rare path: after a crash or a lost race."""
        answered = None
        for e in self.store.events(tx.rec.id):
            if e.work_item == item.id and e.action == "answered":
                answered = e
        problems = answer_differences(f"work item {item.id} ({item.task})", recorded,
                                      answered)
        if problems:
            raise CorruptionError(f"case {tx.rec.id}: {problems[0]}",
                                  hint="`petriflow audit verify` lists what changed; restore "
                                       "the database from a backup")

    def _refused_before_the_call(self, tx: _Txn, item: WorkItem, info: TaskInfo) -> bool:
        """Whether the policies refuse every answer of this attempt whatever it says (an
        agent outside its scope; a payment whose approval has not happened): then the
        agent or service is not called at all, since its effect (a payment made) could not
        be undone by refusing the step after it. The rules that do not read the answer
        are those the engine applies to the step itself, on the same data and memory; the
        attempt counts as failed (a parallel branch may still complete what is missing
        before the next one)."""
        enforcer = tx.dep.enforcer
        agent = item.agent if item.kind == "agent" else None
        if agent is None and not any(t.id in enforcer.rules for t in info.answers):
            return False
        refusal = None
        for t in info.answers:
            verdict = enforcer.evaluate(t.id, t.task, t.action, agent, agent, tx.data, None,
                                        tx.memory)
            if verdict.allowed:
                return False
            refusal = refusal or (t, verdict)
        if refusal is None:
            return False
        t, verdict = refusal
        reason = f"not called: {verdict.reason}"
        self._event(tx, EventKind.REFUSED, transition=t.id, task=info.id, action=t.action,
                    actor=agent, actor_kind=item.kind, policies=verdict.outcomes,
                    reason=reason, work_item=item.id)
        self._failed(tx, item, info, reason, permanent=False)
        return True

    def _record(self, tx: _Txn, item: WorkItem, info: TaskInfo, output: dict[str, Any],
                actor: str | None, confidence: float | None, rationale: str | None
                ) -> tuple[_Txn, WorkItem, dict[str, Any]]:
        """Commit an external answer before the step that consumes it, so that a crash in
        between never makes recovery call the agent or service again for this attempt."""
        values = self._checked(item, info, output, confidence)
        answer = {"attempt": item.attempt, "output": values, "actor": actor,
                  "confidence": confidence, "rationale": rationale}
        item = replace(item, answer=answer)
        tx.items[item.id] = item
        self._event(tx, EventKind.WORK, task=info.id, action="answered", actor=actor,
                    actor_kind=item.kind, work_item=item.id, confidence=confidence,
                    rationale=rationale, reason=f"attempt {item.attempt} answered",
                    writes=values)  # (what the answer says: the hash chain covers it)
        self._commit(tx)
        fresh = self._begin(self._case(tx.rec.id), allow_failed=True)
        return fresh, item, values

    def _failed(self, tx: _Txn, item: WorkItem, info: TaskInfo, reason: str, *,
                permanent: bool) -> None:
        """An attempt failed: retry later, take the error path, or raise an incident."""
        if item.answer is not None:  # this attempt is over: the next one calls again (kept,
            item = replace(item, answer=None)  # its recorded answer would be refused again
            tx.items[item.id] = item           # on every retry, for ever)
        retry = info.retry
        left = retry.attempts - item.attempt
        self._event(tx, EventKind.ATTEMPT, task=info.id, action="attempt",
                    actor=item.agent, actor_kind=item.kind, reason=reason, work_item=item.id)
        if left > 0 and not permanent:
            due = tx.now + retry.delay(item.attempt)
            tx.timers.append(Timer(f"{item.id}:retry{item.attempt}", tx.rec.id, due, "retry",
                                   item.id))
            # no worker takes the item before its back-off ends (its timer calls again)
            tx.items[item.id] = replace(item, lease_until=due, leased_by="engine:retry")
            return
        if info.error is not None:
            self._fire(tx, tx.dep.variant(info.error, tx.counts), {}, actor=None,
                       actor_kind=ENGINE, item=item,
                       closes=ItemStatus.FAILED, reason=f"gave up after {item.attempt} "
                       f"attempt(s): {reason}")
            return
        if item.kind == "agent" and self._fallback(tx, item, info, reason=reason):
            return
        tx.incident = (f"{info.id} failed after {item.attempt} attempt(s): {reason}")
        tx.items[item.id] = replace(item, outcome="incident")
        self._event(tx, EventKind.CASE, action="incident", actor_kind=ENGINE,
                    reason=tx.incident, work_item=item.id)

    def _fallback(self, tx: _Txn, item: WorkItem, info: TaskInfo, reason: str | None = None
                  ) -> bool:
        """Hand an agent's item to the model's human fallback without an answer: the
        handoff fires with the data unchanged and confidence zero."""
        handoff = next((t for t in info.answers if t.action == Action.HANDOFF.value), None)
        if handoff is None or tx.data is None:
            return False
        handoff = tx.dep.variant(handoff, tx.counts)  # (non-interrupting events: see there)
        values = {w: tx.data[w] for w in info.writes}
        if info.confidence:
            values[info.confidence] = 0
        env = tx.dep.env_for(info, values, item.agent)
        if tx.dep.program.why_not(handoff, tx.counts, tx.data, dict(env)) is not None:
            return False
        self._fire(tx, handoff, env, actor=item.agent, actor_kind="agent", item=item,
                   closes=ItemStatus.HANDED_OFF, confidence=0.0,
                   reason=reason or f"agent {item.agent} is suspended: handed to a person "
                   "without calling it")
        return True


_POOL: ThreadPoolExecutor | None = None


def _within(limit: float | None, fn: Callable[[Any], Any], request: Any) -> Any:
    """Call ``fn(request)``; with a limit, give up waiting after ``limit`` seconds (the
    call may still finish in its thread: the idempotency key makes a retry safe)."""
    if limit is None:
        return fn(request)
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="petriflow-call")
    future = _POOL.submit(fn, request)
    try:
        return future.result(timeout=limit)
    except FutureTimeout:
        raise TimeoutError(f"no answer within {limit:g} s") from None


def _binding(env: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env.items() if k != "_d"}


def _timer_ids(item: WorkItem, info: TaskInfo) -> list[str]:
    """The timers that may be pending for an open item (so that closing it cancels them)."""
    ids = []
    if item.due is not None:
        ids.append(f"{item.id}:timeout")
    if info.remind_every:
        ids.append(f"{item.id}:remind")
    if item.leased_by == "engine:retry":
        ids.append(f"{item.id}:retry{item.attempt}")
    return ids


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "0 s"
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


__all__ = ["Engine"]
