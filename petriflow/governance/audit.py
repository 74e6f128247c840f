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
from types import MappingProxyType
from typing import Any

GENESIS = "0" * 64
HASH_VERSION = 1
#: The empty binding and writes of most of the engine's events, shared (read-only).
NOTHING: Mapping[str, Any] = MappingProxyType({})


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
    t = type(value)
    if t is float:
        if value - value == 0:  # (false for NaN and the infinities)
            return float.__repr__(value)
        raise ValueError("an audit event cannot hold NaN or infinity")
    if t is int:
        return int.__repr__(value)
    if value is None:
        return "null"
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
        return '{"$decimal":"' + str(v) + '"}'
    return canonical(v)


#: The keys of a mapping in insertion order -> its keys in canonical (sorted) order, each
#: with its text and what comes before it (``{"key":`` for the first, ``,"key":`` for
#: the others); None when not all keys are strings. A process writes mappings of a few
#: shapes over and over (a task's answer, the fields a step changes), so the sorting and
#: the escaping of keys are done once per shape.
_ORDERS: dict[tuple[Any, ...], tuple[tuple[str, str], ...] | None] = {}
_ORDERS_LIMIT = 4096


def _order(keys: tuple[Any, ...]) -> tuple[tuple[str, str], ...] | None:
    if any(type(k) is not str for k in keys):
        return None
    order = tuple((k, ("," if i else "{") + _string(k) + ":")
                  for i, k in enumerate(sorted(keys)))
    if len(_ORDERS) < _ORDERS_LIMIT:
        _ORDERS[keys] = order
    return order


def _mapping(m: Mapping[str, Any]) -> str:
    if not m:
        return "{}"
    keys = tuple(m)
    try:
        order = _ORDERS[keys]
    except KeyError:
        order = _order(keys)
    if order is None:  # keys that are not all strings: the encoder says what is wrong
        return canonical(m)
    s = _string
    parts = []  # (joined at the end: adding to a string gets slow past a few fields)
    for k, key in order:
        v = m[k]
        t = type(v)
        if t is str:
            parts.append(key + s(v))
        elif t is bool:
            parts.append(key + ("true" if v else "false"))
        elif t is Decimal:  # (a decimal's text has nothing to escape)
            parts.append(key + '{"$decimal":"' + str(v) + '"}')
        else:
            parts.append(key + _value(v))
    parts.append("}")
    return "".join(parts)


#: (policy id, outcome) pairs -> their text: a process has a few policies and outcomes.
_PAIRS: dict[tuple[Any, ...], str] = {}


def _pairs(policies: tuple[tuple[str, str], ...]) -> str:
    try:
        return _PAIRS[policies]
    except (KeyError, TypeError):
        pass
    s = _string
    try:  # the usual shape: (policy id, outcome) pairs of strings
        text = "[" + ",".join([f"[{s(a)},{s(b)}]" for a, b in policies]) + "]"
    except (TypeError, ValueError):
        return "[" + ",".join("[" + ",".join(map(_value, p)) + "]" for p in policies) + "]"
    if len(_PAIRS) < _ORDERS_LIMIT:
        _PAIRS[policies] = text
    return text


def _strings(values: tuple[str, ...]) -> str:
    try:
        return "[" + ",".join(map(_string, values)) + "]"
    except TypeError:  # not all strings
        return "[" + ",".join(map(_value, values)) + "]"


def _layout(case: str, seq: str, kind: str, at: str, transition: str, task: str,
            action: str, actor: str, actor_kind: str, agent_version: str, binding: str,
            reads: str, writes: str, policies: str, confidence: str, rationale: str,
            reason: str, work_item: str, prev: str) -> str:
    """The canonical text from the JSON texts of an event's fields: the one definition of
    the layout (the format version, then :data:`BODY_FIELDS` in order), used by
    :func:`event_text` and, with placeholders, by the templates below."""
    return (f"[{HASH_VERSION},{case},{seq},{kind},{at},{transition},{task},{action},{actor},"
            f"{actor_kind},{agent_version},{binding},{reads},{writes},{policies},"
            f"{confidence},{rationale},{reason},{work_item},{prev}]")


def _opt(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _at(at: float) -> str:
    return float.__repr__(at) if type(at) is float and at - at == 0 else _num(at)


def _seq(seq: int) -> str:
    return int.__repr__(seq) if type(seq) is int else _num(seq)


def event_text(e: AuditEvent) -> str:
    """``canonical(e.body())``, field by field: events are sealed on the engine's hot path,
    and most of their fields are short strings or empty (``tests`` check that the two
    texts are identical)."""
    s = _string
    reads, policies, conf = e.reads, e.policies, e.confidence
    return _layout(
        s(e.case), _seq(e.seq), s(e.kind), _at(e.at), _opt(e.transition), _opt(e.task),
        _opt(e.action), _opt(e.actor), _opt(e.actor_kind), _opt(e.agent_version),
        _mapping(e.binding), _strings(reads) if reads else "[]", _mapping(e.writes),
        _pairs(policies) if policies else "[]", "null" if conf is None else _num(conf),
        _opt(e.rationale), _opt(e.reason), _opt(e.work_item), s(e.prev))


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(event_text(event).encode()).hexdigest()


def seal(event: AuditEvent) -> AuditEvent:
    """The event with its hash filled in (``prev`` must already be set)."""
    event.hash = hashlib.sha256(event_text(event).encode()).hexdigest()
    return event


# -- templates: the same text, with the fields that a kind of event fixes written once ------

#: Stands for a field that varies in a template's layout. The texts of fields never hold
#: it: JSON writes a NUL character as ``\u0000``.
_SLOT = "\x00"


def _pieces(text: str, slots: int) -> tuple[str, ...]:
    """The fixed parts of a layout around its slots."""
    pieces = tuple(text.split(_SLOT))
    assert len(pieces) == slots + 1
    return pieces


class StepTemplate:
    """Seals events whose kind, transition, task, action, actor kind, agent version and
    reads are the ones given (the engine keeps one per transition and participant): the
    canonical text is the other fields' texts between fixed parts, laid out by the same
    :func:`_layout` (``tests`` check that the hash is :func:`event_hash`'s)."""

    __slots__ = ("_pieces", "fixed")

    def __init__(self, kind: str, transition: str | None, task: str | None,
                 action: str | None, actor_kind: str | None, agent_version: str | None,
                 reads: tuple[str, ...]) -> None:
        self.fixed = (kind, transition, task, action, actor_kind, agent_version, reads)
        v = _SLOT
        self._pieces = _pieces(_layout(
            v, v, _string(kind), v, _opt(transition), _opt(task), _opt(action), v,
            _opt(actor_kind), _opt(agent_version), v, _strings(reads) if reads else "[]",
            v, v, v, v, v, v, v), 12)

    def seal(self, e: AuditEvent) -> AuditEvent:
        """:func:`seal` for an event with this template's fixed fields."""
        s = _string
        p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12 = self._pieces
        at, seq, conf, policies = e.at, e.seq, e.confidence, e.policies
        text = (
            f"{p0}{s(e.case)}{p1}{int.__repr__(seq) if type(seq) is int else _num(seq)}{p2}"
            f"{float.__repr__(at) if type(at) is float and at - at == 0 else _num(at)}{p3}"
            f"{'null' if (x := e.actor) is None else s(x)}{p4}{_mapping(e.binding)}{p5}"
            f"{_mapping(e.writes)}{p6}{_pairs(policies) if policies else '[]'}{p7}"
            f"{'null' if conf is None else _num(conf)}{p8}"
            f"{'null' if (x := e.rationale) is None else s(x)}{p9}"
            f"{'null' if (x := e.reason) is None else s(x)}{p10}"
            f"{'null' if (x := e.work_item) is None else s(x)}{p11}{s(e.prev)}{p12}")
        e.hash = hashlib.sha256(text.encode()).hexdigest()
        return e


class PlainTemplate:
    """Seals *plain* events: these kind, transition, task, action and actor kind, and no
    other field (no actor, binding, reads, writes, policies, confidence, rationale,
    reason or work item), as the engine's routing steps and offers are. Only the case,
    the number, the time and the link vary (``tests`` check the hash)."""

    __slots__ = ("_pieces", "fixed")

    def __init__(self, kind: str, transition: str | None, task: str | None,
                 action: str | None, actor_kind: str | None) -> None:
        self.fixed = (kind, transition, task, action, actor_kind)
        v = _SLOT
        self._pieces = _pieces(_layout(
            v, v, _string(kind), v, _opt(transition), _opt(task), _opt(action), "null",
            _opt(actor_kind), "null", "{}", "[]", "{}", "[]", "null", "null", "null", "null",
            v), 4)

    def seal(self, e: AuditEvent) -> AuditEvent:
        """:func:`seal` for a plain event with this template's fixed fields."""
        p0, p1, p2, p3, p4 = self._pieces
        at, seq = e.at, e.seq
        text = (f"{p0}{_string(e.case)}{p1}"
                f"{int.__repr__(seq) if type(seq) is int else _num(seq)}{p2}"
                f"{float.__repr__(at) if type(at) is float and at - at == 0 else _num(at)}"
                f"{p3}{_string(e.prev)}{p4}")
        e.hash = hashlib.sha256(text.encode()).hexdigest()
        return e


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
    "NOTHING",
    "AuditEvent",
    "ChainReport",
    "EventKind",
    "PlainTemplate",
    "StepTemplate",
    "canonical",
    "event_hash",
    "event_text",
    "seal",
    "verify_chain",
]
