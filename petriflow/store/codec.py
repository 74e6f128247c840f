"""JSON forms of what a store keeps: case data, memory, markings, audit events.

Values are plain JSON except decimals, written ``{"$decimal": "12.50"}`` (the audit
hash's own canonical form, so an event read back hashes to the same text). Case data is
decoded through the process's declared record color, so a stored row that does not fit
its type raises :class:`~petriflow.errors.CorruptionError` naming the row, never turns
into ``None`` or a default. Every stored document carries :data:`FORMAT`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from petriflow.errors import ColorError, CorruptionError
from petriflow.governance.audit import AuditEvent
from petriflow.net.colors import Record, RecordColor

FORMAT = 1


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Mapping):   # a read-only view, say: stored as its dict
        return dict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$decimal" in obj:
        try:
            return Decimal(obj["$decimal"])
        except (InvalidOperation, TypeError):
            raise CorruptionError(f"not a decimal: {obj['$decimal']!r}") from None
    return obj


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                            default=_default)
# The C encoder that ``_ENCODER.encode`` sets up on every call, set up once (the commit
# path encodes a handful of small documents per change; without circular-reference
# markers, which plain data does not need).
_C_ENCODE = (None if json.encoder.c_make_encoder is None else json.encoder.c_make_encoder(
    None, _default, json.encoder.encode_basestring, None, ":", ",", False, False, False))


def dumps(value: Any) -> str:
    if _C_ENCODE is None:  # pragma: no cover - a Python without the C accelerator
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_DECODER = json.JSONDecoder(object_hook=_hook)   # set up once, not per call


def loads(text: str | bytes | None, what: str) -> Any:
    """Decode stored JSON; ``what`` names the row for the error message."""
    if text is None:
        raise CorruptionError(f"{what}: the stored value is missing")
    try:
        return _DECODER.decode(text if isinstance(text, str) else text.decode())
    except (ValueError, TypeError) as exc:
        raise CorruptionError(f"{what}: the stored value is not valid JSON ({exc})") from None


def decode_data(color: RecordColor | None, raw: Any, what: str) -> Mapping[str, Any]:
    """Case data read back as a Record of its declared color."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise CorruptionError(f"{what}: case data is not a record")
    if color is None:
        return Record(raw)
    try:
        return color.validate(raw)
    except ColorError as exc:
        raise CorruptionError(f"{what}: case data does not fit its declared types: {exc}"
                              ) from None


EVENT_COLUMNS = ("case_id", "seq", "kind", "at", "prev", "hash", "body")


def event_row(e: AuditEvent) -> tuple[Any, ...]:
    """An event as a journal row, in the order of :data:`EVENT_COLUMNS` (tuples are
    JSON arrays, so ``reads`` and ``policies`` go in as they are)."""
    return (e.case, e.seq, e.kind, e.at, e.prev, e.hash, dumps({
        "f": FORMAT, "transition": e.transition, "task": e.task, "action": e.action,
        "actor": e.actor, "actor_kind": e.actor_kind, "agent_version": e.agent_version,
        "binding": e.binding, "reads": e.reads, "writes": e.writes,
        "policies": e.policies, "confidence": e.confidence, "rationale": e.rationale,
        "reason": e.reason, "work_item": e.work_item}))


def event_to_row(e: AuditEvent) -> dict[str, Any]:
    """:func:`event_row` by column name."""
    return dict(zip(EVENT_COLUMNS, event_row(e), strict=True))


def event_from_row(row: Mapping[str, Any]) -> AuditEvent:
    what = f"journal row (case {row['case_id']}, event {row['seq']})"
    body = loads(row["body"], what)
    if not isinstance(body, dict) or body.get("f") != FORMAT:
        raise CorruptionError(f"{what}: unknown event format")
    try:
        return AuditEvent(
            case=row["case_id"], seq=int(row["seq"]), kind=row["kind"], at=float(row["at"]),
            transition=body["transition"], task=body["task"], action=body["action"],
            actor=body["actor"], actor_kind=body["actor_kind"],
            agent_version=body["agent_version"], binding=body["binding"],
            reads=tuple(body["reads"]), writes=body["writes"],
            policies=tuple(tuple(p) for p in body["policies"]),
            confidence=body["confidence"], rationale=body["rationale"],
            reason=body["reason"], work_item=body["work_item"], prev=row["prev"],
            hash=row["hash"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptionError(f"{what}: cannot be read ({exc})") from None


__all__ = ["EVENT_COLUMNS", "FORMAT", "decode_data", "dumps", "event_from_row", "event_row",
           "event_to_row", "loads"]
