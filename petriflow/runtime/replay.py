"""Replay: rebuild a case from its journal with the bare kernel, and compare.

The journal is the source of truth; everything the store keeps about a case is a cache
of it. :func:`replay_case` fires every recorded step with :func:`petriflow.net.fire`
(the kernel's checked firing rule, not the engine's indexed copy of it), starting from
the net's initial marking, and derives from the journal what the engine would have
stored: the marking and the data, the status and the incident, the number of events and
the head of the chain, and the work items with their status and timers. Any difference
from the stored case (and, when given, its work items and timers) is reported, naming
what differs. It also verifies the hash chain, so one call answers "is this case's
record intact and does it explain the state we have?".

What the journal implies, mirroring the engine (``runtime/engine.py``):

- **Status.** ``suspend`` and ``resume`` events (kind ``case``) switch the kill switch;
  an ``incident`` event sets the incident, ``retry`` clears it. Otherwise the engine
  settles every request the same way: completed when the marking is final (which
  clears the incident), failed while an incident stands, waiting while a work place is
  marked. Steps that do not settle (claims, refusals, recorded answers, reminders)
  leave the status as it was, and so as the last settling left it.
- **Work items.** A step of an ``offer`` transition creates the item ``<case>.<seq>`` at
  the transition's work place (its first control output); a step naming a work item
  closes it (handoff: handed off; timeout: timed out; error: failed; a message caught
  by the item's own task: withdrawn; anything else: completed); a step without one
  whose transition ``withdraws`` places closes the oldest open item at each of them;
  ``claim``, ``release`` and ``delegate`` (kind ``work``) move an open item between
  offered and claimed.

- **Timers.** An open work item keeps the timers its offer set: an interrupting timeout
  due the task's timeout after the offer, and a reminder on the task's cadence.
- **Policy memory** (who completed which task, which steps fired, reviews pending): the
  enforcer's own rule applied to every step, in order.

:func:`orphan_journals` finds what a per-case replay cannot see: journal events whose
case record is gone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from petriflow.errors import FiringError, PetriflowError
from petriflow.governance.audit import AuditEvent, ChainReport, EventKind, verify_chain
from petriflow.model.compiled import DATA_PLACE, Action, CompiledProcess
from petriflow.net.colors import Record
from petriflow.net.firing import fire
from petriflow.net.marking import Marking
from petriflow.store.base import CaseRecord, CaseStatus, ItemStatus, Store, Timer, WorkItem

#: A task's waits at a work place: (timeout in seconds or None, whether the timeout
#: closes the item, reminder period in seconds or None); None for a place it does not know.
Waits = Callable[[str], tuple[float | None, bool, float | None] | None]
_EPSILON = 1e-9  # relative: due times are sums of floats
#: The enforcer's rule for what a case remembers after a step: (transition, actor, data
#: after the step, memory before) -> memory after (``Enforcer.remember``).
Remember = Callable[[str, str | None, Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


def _canonical(memory: Mapping[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(memory), sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    case: str
    chain: ChainReport
    steps: int
    matches: bool
    reason: str | None = None
    orphan: bool = False         # the journal outlived the case's record

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.matches

    def __str__(self) -> str:
        if self.orphan:
            held = f"{self.chain.events} event(s)" if self.chain.events else "events"
            return (f"case {self.case}: the store has no record of this case, yet its "
                    f"journal holds {held} (was the case deleted?)")
        if not self.chain.ok:
            return str(self.chain)
        if not self.matches:
            return f"case {self.case}: replay differs from the stored state: {self.reason}"
        return f"case {self.case}: {self.steps} steps replayed, state matches, chain intact"


def stored_marking(compiled: CompiledProcess, rec: CaseRecord) -> Marking:
    places: dict[str, Any] = {p: n for p, n in rec.marking.items() if n}
    if rec.data is not None:  # a stored case has started: its record exists, maybe empty
        places[DATA_PLACE] = [rec.data if isinstance(rec.data, Record) else Record(rec.data)]
    return Marking(places)


@dataclass(slots=True)
class _Item:
    """A work item as the journal tells it."""

    id: str
    task: str | None
    place: str
    created: float
    offered_by: int                      # the seq of the offer event
    offer: str = ""                      # the offer transition (its meta: kind, role, agent)
    status: ItemStatus = ItemStatus.OFFERED
    claimed_by: str | None = None
    answered: AuditEvent | None = None   # the last answer recorded for it


@dataclass(slots=True)
class _Journal:
    """What the events other than the marking say: kill switch, incident, work items."""

    case: str
    suspended: bool = False
    incident: str | None = None
    items: dict[str, _Item] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def step(self, compiled: CompiledProcess, e: AuditEvent) -> None:
        net = compiled.net
        tid = str(e.transition)
        if e.work_item is not None:
            item = self._known(e, "closes")
            if item is not None:
                if not item.status.open:
                    self.problems.append(f"event {e.seq} closes work item {item.id}, which "
                                         f"was {item.status.value} already")
                item.status = _closes(e, item)
        else:
            withdraws = dict(net.transition(tid).meta).get("withdraws")
            if withdraws:
                for place in withdraws.split():
                    found = sorted((i for i in self.items.values()
                                    if i.place == place and i.status.open),
                                   key=lambda i: (i.created, i.id))
                    if found:
                        found[0].status = ItemStatus.WITHDRAWN
        if e.action == Action.OFFER.value:
            item_id = f"{self.case}.{e.seq}"
            place = next(p for p, *_ in net.plan(tid).simple_out if p != DATA_PLACE)
            self.items[item_id] = _Item(item_id, e.task, place, e.at, e.seq, tid)

    def work(self, e: AuditEvent) -> None:
        if e.action == "answered":  # an agent's or service's answer, kept for its step
            answered = self._known(e, "answers")
            if answered is not None:
                answered.answered = e
            return
        if e.action not in ("claim", "release", "delegate"):
            return  # "remind": the item stays as it is
        item = self._known(e, e.action + "s")
        if item is None:
            return
        if not item.status.open:
            self.problems.append(f"event {e.seq} {e.action}s work item {item.id}, which "
                                 f"was {item.status.value}")
        elif e.action == "release":
            item.status, item.claimed_by = ItemStatus.OFFERED, None
        else:  # claim: the actor takes it; delegate: its reason says "to <person>"
            item.status = ItemStatus.CLAIMED
            item.claimed_by = (e.actor if e.action == "claim"
                               else (e.reason or "").removeprefix("to "))

    def case_event(self, e: AuditEvent) -> None:
        if e.action == "suspend":
            self.suspended = True
        elif e.action == "resume":
            self.suspended = False
        elif e.action == "incident":
            self.incident = e.reason
        elif e.action == "retry":
            self.incident = None

    def _known(self, e: AuditEvent, verb: str) -> _Item | None:
        item = self.items.get(str(e.work_item))
        if item is None:
            self.problems.append(f"event {e.seq} {verb} work item {e.work_item}, which no "
                                 "offer in the journal created")
        return item


def _closes(e: AuditEvent, item: _Item) -> ItemStatus:
    """The status a step that names ``item`` leaves it in (as the engine's callers of
    ``_fire(item=...)`` decide it)."""
    action = e.action
    if action == Action.HANDOFF.value:
        return ItemStatus.HANDED_OFF
    if action == Action.TIMEOUT.value:
        return ItemStatus.TIMED_OUT
    if action == Action.ERROR.value:
        return ItemStatus.FAILED
    if action == Action.MESSAGE.value and e.task == item.task:
        return ItemStatus.WITHDRAWN  # the task's own catch interrupted it
    return ItemStatus.COMPLETED


def replay_case(compiled: CompiledProcess, rec: CaseRecord, events: list[Any],
                items: Sequence[WorkItem] | None = None,
                timers: Sequence[Timer] | None = None, waits: Waits | None = None,
                remember: Remember | None = None) -> ReplayReport:
    """Replay ``events`` of ``rec`` on ``compiled`` and compare with ``rec`` and, when
    given, with the case's work items (all of them, closed ones too), its timers
    (``waits`` tells, per work place, the task's timeout and reminder period) and what
    the case remembers for its policies (``remember``: the enforcer's rule)."""
    chain = verify_chain(rec.id, events, rec.head)
    marking = compiled.net.initial_marking
    journal = _Journal(rec.id)
    steps = 0
    memory: Mapping[str, Any] = {}
    enforced = bool(rec.memory)
    for e in events:
        kind = e.kind
        if kind == EventKind.STEP:
            steps += 1
            try:
                binding = _decode(compiled.net, e.transition, e.binding)
                marking = fire(compiled.net, marking, e.transition, binding).after
                journal.step(compiled, e)
                if remember is not None:
                    enforced = enforced or bool(e.policies)
                    data = next(iter(marking[DATA_PLACE])) if DATA_PLACE in marking else {}
                    memory = remember(str(e.transition), e.actor, data, memory)
            except FiringError as exc:
                return ReplayReport(rec.id, chain, steps, False,
                                    f"event {e.seq} ({e.transition}) does not fire: {exc}")
            except (KeyError, TypeError, ValueError, StopIteration) as exc:
                return ReplayReport(rec.id, chain, steps, False,
                                    f"event {e.seq} cannot be read: {exc}")
        elif kind == EventKind.WORK:
            journal.work(e)
        elif kind == EventKind.CASE:
            journal.case_event(e)
    diffs = []
    expected = stored_marking(compiled, rec)
    if marking != expected:
        diffs.append(_difference(marking, expected))
    diffs += _case_differences(compiled, rec, events, marking, journal)
    diffs += journal.problems
    if items is not None:
        diffs += _item_differences(journal.items, items, compiled)
    if timers is not None and waits is not None:
        diffs += _timer_differences(journal.items, timers, waits)
    # (an engine without enforcement remembers nothing: compared once the journal shows
    # a policy evaluated, or the store remembers something)
    if remember is not None and enforced and _canonical(memory) != _canonical(rec.memory):
        diffs.append(f"stored policy memory {_canonical(rec.memory)}, journal says "
                     f"{_canonical(memory)}")
    if diffs:
        return ReplayReport(rec.id, chain, steps, False, "; ".join(diffs))
    return ReplayReport(rec.id, chain, steps, True)


def _status(compiled: CompiledProcess, marking: Marking, suspended: bool,
            incident: str | None) -> tuple[CaseStatus, str | None]:
    """The status and incident the engine stores for a case whose journal ends in
    ``marking`` with the kill switch and incident given (see the module docstring)."""
    if suspended:
        return CaseStatus.SUSPENDED, incident
    if _is_final(compiled, marking):
        return CaseStatus.COMPLETED, None
    if incident is not None:
        return CaseStatus.FAILED, incident
    work = {p for p, o in compiled.source_map.places.items() if o.kind == "work item"}
    if any(marking.count(p) for p in work):
        return CaseStatus.WAITING, None
    # the engine never stores this: it records an incident instead (nothing can fire)
    return CaseStatus.RUNNING, None


def _is_final(compiled: CompiledProcess, marking: Marking) -> bool:
    """``Program.is_final`` on a kernel marking (models/SEMANTICS.md, Final markings)."""
    final = set(compiled.final_places)
    ignored = {*compiled.history_places, DATA_PLACE}
    reached = 0
    for place in marking:
        if place in final:
            reached += marking.count(place)
        elif place not in ignored:
            return False
    return reached == 1 or (reached > 1 and compiled.implicit)


def _case_differences(compiled: CompiledProcess, rec: CaseRecord, events: list[Any],
                      marking: Marking, journal: _Journal) -> list[str]:
    diffs = []
    status, incident = _status(compiled, marking, journal.suspended, journal.incident)
    if rec.status is not status:
        diffs.append(f"stored status {_text(rec.status)}, journal says {_text(status)}")
    if rec.incident != incident:
        diffs.append(f"stored incident {_text(rec.incident)}, journal says {_text(incident)}")
    if rec.version != len(events):
        diffs.append(f"stored version {rec.version}, the journal holds {len(events)} "
                     "event(s)")
    if events and rec.started != events[0].at:
        diffs.append(f"stored start time {rec.started!r}, the journal's first event is at "
                     f"{events[0].at!r}")
    if rec.process != compiled.name:
        diffs.append(f"stored process {rec.process!r}, its definition (fingerprint "
                     f"{rec.fingerprint[:12]}) is {compiled.name!r}")
    return diffs


def _item_differences(derived: Mapping[str, _Item], stored: Sequence[WorkItem],
                      compiled: CompiledProcess) -> list[str]:
    diffs = []
    by_id = {i.id: i for i in stored}
    for item in sorted(derived.values(), key=lambda i: i.offered_by):
        got = by_id.get(item.id)
        what = f"work item {item.id} ({item.task})"
        if got is None:
            diffs.append(f"{what} is missing from the store (the journal says "
                         f"{item.status.value})")
            continue
        meta = dict(compiled.net.transition(item.offer).meta) if item.offer else {}
        offered = (meta.get("participant"), meta.get("role"), meta.get("agent"))
        if item.offer and (got.kind, got.role, got.agent) != offered:
            diffs.append(f"{what}: stored for {_who(got.kind, got.role, got.agent)}, its "
                         f"offer says {_who(*offered)}")
        if got.created != item.created or got.key != f"{got.case}:{item.offered_by}":
            diffs.append(f"{what}: stored as created at {got.created!r} with idempotency "
                         f"key {got.key!r}, its offer (event {item.offered_by}) says "
                         f"{item.created!r} and {got.case}:{item.offered_by}")
        if got.answer is not None:
            diffs += answer_differences(what, got.answer, item.answered)
        if got.status is not item.status:
            diffs.append(f"{what}: stored {got.status.value}, journal says "
                         f"{item.status.value}")
        if got.claimed_by != item.claimed_by:
            diffs.append(f"{what}: stored claimed by {_text(got.claimed_by)}, journal says "
                         f"{_text(item.claimed_by)}")
        if (got.task, got.place) != (item.task, item.place):
            diffs.append(f"{what}: stored as {got.task} at {got.place}, journal says "
                         f"{item.task} at {item.place}")
    for got in stored:
        if got.id not in derived:
            diffs.append(f"work item {got.id} ({got.task}, {got.status.value}) is stored, "
                         "but no journal event offered it")
    return diffs


def _who(kind: str | None, role: str | None, agent: str | None) -> str:
    return f"{kind or 'nobody'}" + (f" {agent}" if agent else "") + (
        f" in role {role}" if role else "")


_ATTEMPT = re.compile(r"attempt (\d+) answered")


def answer_differences(what: str, answer: Mapping[str, Any], event: AuditEvent | None
                        ) -> list[str]:
    """A recorded answer is what the engine consumes instead of calling the agent or
    service again: it must be the one the journal's last ``answered`` event of the item
    records (attempt, who answered, confidence, rationale, and, from journals that carry
    it, the output)."""
    if event is None:
        return [f"{what}: a recorded answer is stored, but no journal event recorded one"]
    match = _ATTEMPT.fullmatch(event.reason or "")
    claimed = (answer.get("attempt"), answer.get("actor"), answer.get("confidence"),
               answer.get("rationale"))
    journal = (int(match.group(1)) if match else None, event.actor, event.confidence,
               event.rationale)
    if claimed != journal or (event.writes and dict(answer.get("output") or {})
                              != dict(event.writes)):
        return [f"{what}: the stored recorded answer differs from the one event "
                f"{event.seq} recorded"]
    return []


def _timer_differences(derived: Mapping[str, _Item], timers: Sequence[Timer], waits: Waits
                       ) -> list[str]:
    """The timers every open work item must have, as the engine set them when it offered
    the item: an interrupting timeout due the task's timeout after the offer (a deleted
    or postponed one is an escalation that never comes), and a reminder on the cadence of
    the task's period. A non-interrupting timeout leaves the item open once it has fired,
    so only its due time is compared while it exists. Closed items' timers are left
    alone: the engine forgets them when they come due."""
    diffs = []
    by_id = {t.id: t for t in timers}
    for item in sorted(derived.values(), key=lambda i: i.offered_by):
        if not item.status.open:
            continue
        wait = waits(item.place)
        if wait is None:
            continue
        after, interrupting, every = wait
        what = f"work item {item.id} ({item.task})"
        if after is not None:
            due = item.created + after
            got = by_id.get(f"{item.id}:timeout")
            if got is None:
                if interrupting:
                    diffs.append(f"{what}: its timeout, due at {due!r}, is missing from the "
                                 "store (it would never fire)")
            elif abs(got.due - due) > _EPSILON * max(1.0, abs(due)):
                diffs.append(f"{what}: stored timeout due at {got.due!r}, journal says "
                             f"{due!r}")
        if every:
            got = by_id.get(f"{item.id}:remind")
            if got is None:
                diffs.append(f"{what}: its reminder is missing from the store")
                continue
            periods = (got.due - item.created) / every
            if periods < 1 - _EPSILON or abs(periods - round(periods)) > _EPSILON * periods:
                diffs.append(f"{what}: stored reminder due at {got.due!r} is off the "
                             f"task's cadence (every {every!r} s from {item.created!r})")
    return diffs


def orphan_journals(store: Store) -> list[ReplayReport]:
    """A report for each case whose journal events are stored but whose case record is
    not (deleted): a replay per case, which starts from the records, cannot see these.
    The journals are listed before the records, so a case that starts meanwhile (its
    record and first events commit together) is never taken for an orphan."""
    journals = store.journal_case_ids()
    records = set(store.case_ids())
    out = []
    for cid in journals:
        if cid not in records:
            try:
                chain = verify_chain(cid, store.events(cid))
            except PetriflowError as exc:  # undecodable rows: still an orphan
                chain = ChainReport(cid, False, 0, reason=str(exc))
            out.append(ReplayReport(cid, chain, 0, False, "no case record", orphan=True))
    return out


def _text(value: CaseStatus | str | None) -> str:
    if value is None:
        return "none"
    if isinstance(value, CaseStatus):
        return value.value
    return repr(value)


def _decode(net: Any, transition: str, binding: Mapping[str, Any]) -> dict[str, Any]:
    colors = net.plan(transition).var_colors
    return {k: colors[k].validate(v) if k in colors else v for k, v in binding.items()}


def _difference(replayed: Marking, stored: Marking) -> str:
    diffs = []
    for place in sorted(set(replayed) | set(stored)):
        a, b = replayed.get(place), stored.get(place)
        if a != b:
            if place == DATA_PLACE and a and b:
                ra, rb = next(iter(a)), next(iter(b))
                fields = [k for k in ra if ra.get(k) != rb.get(k)]
                diffs.append(f"data fields {', '.join(fields)} differ")
            else:
                diffs.append(f"place {place}: replay {dict(a or {})!r}, stored "
                             f"{dict(b or {})!r}")
    return "; ".join(diffs) or "markings differ"


__all__ = ["ReplayReport", "orphan_journals", "replay_case", "stored_marking"]
