"""Audit events and their hash chain: who decided what, why and when, tamper-evident.

Every step of a case (a firing) and every refusal is one :class:`AuditEvent`. Events of
a case form a chain: each carries the hash of the one before it, and its own hash
covers all of its fields and that link, so changing, removing or reordering an event
breaks every hash after it (the construction of a hash-linked log, as in Haber and
Stornetta, "How to time-stamp a digital document", 1991). The chain is per case, so
workers on different cases never wait for each other; the case keeps the hash of its
latest event (its *head*), so dropping events from the end is detected too.

The hash is SHA-256 over a canonical JSON text of the event: a list of its fields in
the order of :data:`BODY_FIELDS` after a format version, mappings with sorted keys, no
spaces, decimals as ``{"$decimal": "<text>"}``, so any implementation can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64
HASH_VERSION = 1


class EventKind:
    """What an event records (plain strings, stable in stored journals)."""

    STEP = "step"              # a firing: the marking and the data changed
    REFUSED = "refused"        # a step a policy or a rule refused; nothing changed
    ATTEMPT = "attempt"        # a call to a bot, an API or an agent that failed
    WORK = "work"              # a work item was claimed, released or delegated
    CASE = "case"              # suspended, resumed, incident raised or cleared


@dataclass(slots=True)
class AuditEvent:
    """One entry of a case's journal. ``seq`` counts from 1 within the case.

    Treat it as immutable (it is not frozen only because building events is on the
    engine's hot path); any change after sealing is exactly what the chain detects."""

    case: str
    seq: int
    kind: str
    at: float                              # process time (the engine's clock)
    transition: str | None = None
    task: str | None = None
    action: str | None = None
    actor: str | None = None
    actor_kind: str | None = None          # human, agent, bot, api, auto, timer, engine
    agent_version: str | None = None
    binding: Mapping[str, Any] = field(default_factory=dict)   # the answer that fired it
    reads: tuple[str, ...] = ()             # data fields shown to the participant
    writes: Mapping[str, Any] = field(default_factory=dict)    # data fields changed
    policies: tuple[tuple[str, str], ...] = ()                  # (policy id, outcome)
    confidence: float | None = None
    rationale: str | None = None
    reason: str | None = None               # why a refusal, failure or state change
    work_item: str | None = None
    prev: str = GENESIS
    hash: str = ""

    def body(self) -> list[Any]:
        """Every field but ``hash``, in a fixed order (see :data:`BODY_FIELDS`)."""
        return [HASH_VERSION, self.case, self.seq, self.kind, self.at, self.transition,
                self.task, self.action, self.actor, self.actor_kind, self.agent_version,
                self.binding, self.reads, self.writes, self.policies, self.confidence,
                self.rationale, self.reason, self.work_item, self.prev]


#: The order of an event's fields in the hashed text (after the format version).
BODY_FIELDS = ("case", "seq", "kind", "at", "transition", "task", "action", "actor",
               "actor_kind", "agent_version", "binding", "reads", "writes", "policies",
               "confidence", "rationale", "reason", "work_item", "prev")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list | set | frozenset):
        return [_plain(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into an audit event")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False, default=_plain)


def canonical(value: Any) -> str:
    """The canonical JSON text of an event body (decimals tagged, keys sorted)."""
    return _ENCODER.encode(value)


_string = json.encoder.encode_basestring  # the encoder's own escaping (ensure_ascii=False)


def _num(value: float | int | None) -> str:
    if value is None:
        return "null"
    if type(value) is float or type(value) is int:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("an audit event cannot hold NaN or infinity")
        return type(value).__repr__(value)
    return canonical(value)


def _value(v: Any) -> str:
    t = type(v)
    if t is str:
        return _string(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if t is int or t is float:
        return _num(v)
    if t is Decimal:
        return '{"$decimal":' + _string(str(v)) + "}"
    return canonical(v)


def _mapping(m: Mapping[str, Any]) -> str:
    if not m:
        return "{}"
    try:
        keys = sorted(m)
    except TypeError:  # keys of mixed types: the encoder says what is wrong
        return canonical(m)
    s = _string
    parts = []
    for k in keys:
        if type(k) is not str:
            return canonical(m)
        v = m[k]
        t = type(v)
        if t is str:
            parts.append(f"{s(k)}:{s(v)}")
        elif t is bool:
            parts.append(f"{s(k)}:{'true' if v else 'false'}")
        elif t is Decimal:
            parts.append(f'{s(k)}:{{"$decimal":{s(str(v))}}}')
        else:
            parts.append(f"{s(k)}:{_value(v)}")
    return "{" + ",".join(parts) + "}"


def _pairs(policies: tuple[tuple[str, str], ...]) -> str:
    s = _string
    try:  # the usual shape: (policy id, outcome) pairs of strings
        return "[" + ",".join([f"[{s(a)},{s(b)}]" for a, b in policies]) + "]"
    except (TypeError, ValueError):
        return "[" + ",".join("[" + ",".join(map(_value, p)) + "]" for p in policies) + "]"


def _strings(values: tuple[str, ...]) -> str:
    try:
        return "[" + ",".join(map(_string, values)) + "]"
    except TypeError:  # not all strings
        return "[" + ",".join(map(_value, values)) + "]"


def event_text(e: AuditEvent) -> str:
    """``canonical(e.body())``, built in one expression: events are sealed on the engine's
    hot path, and most of their fields are short strings or empty (``tests`` check that
    the two texts are identical)."""
    s = _string
    seq, at, reads, policies, conf = e.seq, e.at, e.reads, e.policies, e.confidence
    return (
        f'[{HASH_VERSION},{s(e.case)},{seq if type(seq) is int else _num(seq)},{s(e.kind)},'
        f'{float.__repr__(at) if type(at) is float and at - at == 0 else _num(at)},'
        f'{"null" if (x := e.transition) is None else s(x)},'
        f'{"null" if (x := e.task) is None else s(x)},'
        f'{"null" if (x := e.action) is None else s(x)},'
        f'{"null" if (x := e.actor) is None else s(x)},'
        f'{"null" if (x := e.actor_kind) is None else s(x)},'
        f'{"null" if (x := e.agent_version) is None else s(x)},'
        f'{_mapping(e.binding)},'
        f'{_strings(reads) if reads else "[]"},'
        f'{_mapping(e.writes)},'
        f'{_pairs(policies) if policies else "[]"},'
        f'{"null" if conf is None else _num(conf)},'
        f'{"null" if (x := e.rationale) is None else s(x)},'
        f'{"null" if (x := e.reason) is None else s(x)},'
        f'{"null" if (x := e.work_item) is None else s(x)},'
        f'{s(e.prev)}]')


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(event_text(event).encode()).hexdigest()


def seal(event: AuditEvent) -> AuditEvent:
    """The event with its hash filled in (``prev`` must already be set)."""
    event.hash = hashlib.sha256(event_text(event).encode()).hexdigest()
    return event


def plain_middle(transition: str | None, task: str | None, action: str | None,
                 actor_kind: str | None) -> str:
    """The part of :func:`event_text` between ``at`` and ``prev`` for a *plain* event:
    one with these four fields and no other (no actor, binding, reads, writes, policies,
    confidence, rationale, reason or work item), as the engine's routing steps and offers
    are. The engine keeps it per transition for :func:`seal_plain`."""
    e = AuditEvent("", 0, "", 0.0, transition, task, action, None, actor_kind)
    text = event_text(e)
    head = f'[{HASH_VERSION},"",0,"",0.0,'
    tail = f"{_string(e.prev)}]"
    assert text.startswith(head) and text.endswith(tail)
    return text[len(head):-len(tail)]


def seal_plain(event: AuditEvent, middle: str) -> AuditEvent:
    """:func:`seal` for a plain event whose :func:`plain_middle` is ``middle`` (the same
    hash, with a fifth of the work; ``tests`` check that the two agree)."""
    s, seq, at = _string, event.seq, event.at
    text = (f'[{HASH_VERSION},{s(event.case)},{seq if type(seq) is int else _num(seq)},'
            f'{s(event.kind)},'
            f'{float.__repr__(at) if type(at) is float and at - at == 0 else _num(at)},'
            f'{middle}{s(event.prev)}]')
    event.hash = hashlib.sha256(text.encode()).hexdigest()
    return event


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of verifying one case's chain."""

    case: str
    ok: bool
    events: int
    seq: int | None = None      # the first event that does not verify
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"case {self.case}: {self.events} events, chain intact"
        return f"case {self.case}: event {self.seq}: {self.reason}"


def verify_chain(case: str, events: Iterable[AuditEvent], head: str | None = None
                 ) -> ChainReport:
    """Check the links, the hashes and the numbering of a case's events, and that the
    last one is the case's recorded ``head`` (when given)."""
    prev = GENESIS
    n = 0
    for n, e in enumerate(events, start=1):
        if e.case != case:
            return ChainReport(case, False, n, e.seq, f"belongs to case {e.case!r}")
        if e.seq != n:
            return ChainReport(case, False, n, e.seq, f"numbered {e.seq}, expected {n} "
                               "(an event is missing or duplicated)")
        if e.prev != prev:
            return ChainReport(case, False, n, e.seq, "does not link to the event before it")
        if event_hash(e) != e.hash:
            return ChainReport(case, False, n, e.seq, "its content does not match its hash "
                               "(the event was changed)")
        prev = e.hash
    if head is not None and head != prev:
        return ChainReport(case, False, n, n + 1 if head else n,
                           "the case's last recorded event is missing from the journal")
    return ChainReport(case, True, n)


__all__ = [
    "GENESIS",
    "AuditEvent",
    "ChainReport",
    "EventKind",
    "canonical",
    "event_hash",
    "plain_middle",
    "seal",
    "seal_plain",
    "verify_chain",
]
