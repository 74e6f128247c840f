"""Export the audit journal for process mining: XES (IEEE 1849-2016) and OCEL 2.0 JSON.

Both writers read a :class:`~petriflow.store.base.Store` one case at a time (its record,
its journal and its work items) and write that case before reading the next, so a large
journal is never held in memory at once. ``out`` is a path (``str`` or
:class:`os.PathLike`), written to a temporary file beside it and renamed into place only
when the export is complete, or an open file object: a text file gets ``str``, a binary
one UTF-8 bytes; it is neither closed nor rewound. ``process`` keeps only the cases of
the process with that name. Both return an :class:`Exported` count.

Times
    An event's ``at`` is process time in seconds; it is written as the UTC instant
    ``1970-01-01T00:00:00+00:00 + at`` (POSIX time with the system clock; a
    :class:`~petriflow.runtime.ManualClock` starts at 1970-01-01), in ISO 8601 with
    microseconds.

Who
    The performer of an event is its ``actor`` (a person's or an agent's name). Bot and
    API calls, which the journal records without a name, are performed by the handler
    registered for the task, named ``bot:<task>`` or ``api:<task>``. Timers, automatic
    steps, the engine and message deliveries have no performer.

Data
    The fields a step writes (``writes``) become attributes named after the field (a
    field name holding ``:`` is prefixed ``data:``); the journal's own fields are under
    the ``petriflow:`` prefix. Booleans, integers (XES: within 64 bits), floats and
    strings keep their type. Decimals are floats: XES gets the exact decimal text in a
    ``<float>`` (infinities as ``INF``), OCEL a JSON number (``float(d)``; NaN and the
    infinities become strings, as JSON has no such numbers). Anything else (lists,
    mappings) is a string holding its canonical JSON. ``None`` is left out.

XES (one ``<trace>`` per case)
    Trace: ``concept:name`` = case id, ``petriflow:process``, ``petriflow:fingerprint``,
    ``petriflow:status`` and, when there is one, ``petriflow:incident``. One ``<event>``
    per journal event that is an occurrence of an activity, in journal order:

    ==============================  ======================  ========================
    journal event                   ``concept:name``        ``lifecycle:transition``
    ==============================  ======================  ========================
    step start / run / end          the element (task)      ``complete``
    step offer (work offered)       the task                ``schedule``
    step complete / handoff         the task                ``complete``
    step timeout / error            the task                ``ate_abort``
    step compensate                 ``compensate:<task>``   ``complete``
    step skip (nothing to undo)     ``compensate:<task>``   ``autoskip``
    refused (by a policy or rule)   the task                ``unknown``
    ==============================  ======================  ========================

    Gateway routing (step ``route``), failed call attempts, work-item claims, releases
    and delegations, and case events (suspend, resume, incident) are not activity
    occurrences and are left out of XES (OCEL has them). ``offers=False`` leaves out the
    ``schedule`` events, ``refusals=False`` the refusals. Every event also has
    ``time:timestamp``, ``org:resource`` (the performer, when there is one), ``org:role``
    (the role its work item was offered to, when there is one), ``petriflow:kind``
    (``step`` or ``refused``), ``petriflow:action``, ``petriflow:seq``,
    ``petriflow:hash`` and, when set, ``petriflow:transition``, ``petriflow:actor_kind``,
    ``petriflow:agent_version``, ``petriflow:work_item``, ``petriflow:confidence``,
    ``petriflow:rationale``, ``petriflow:reason`` and ``petriflow:policies``
    (``policy=outcome`` pairs joined by ``;``). The log declares the Concept, Time,
    Lifecycle (standard model) and Organizational extensions, globals for the
    attributes every trace and event has, and two classifiers: ``Activity``
    (``concept:name``) and ``Activity and lifecycle``
    (``concept:name lifecycle:transition``).

OCEL 2.0 (the JSON format of the 2024 OCEL 2.0 specification)
    Every journal event is an event; its ``id`` is ``<case id>#<seq>``. Object types:
    ``case`` (``process``, ``fingerprint``, ``status``, ``incident``), ``work_item``
    (``task``, ``kind``, ``role``, ``agent``, ``status``, ``outcome``, ``attempts``) and
    ``actor`` (``kind``: human, agent, bot, api, ...; ``version``: an agent's version,
    one time-stamped value per version seen, from the first event it acted in). Object
    ids are prefixed with their type: ``case:<id>``, ``work_item:<id>``,
    ``actor:<name>``. A work item is related to its case (qualifier ``part of``), to
    the agent it was offered to (``offered to``) and to who claimed it
    (``claimed by``). Each event is related to its case (qualifier ``case``), to its work
    item when it has one (qualifier: the event's action, e.g. ``offer``, ``complete``,
    ``claim``, ``timeout``; an offer is related to the item it created, the one whose
    idempotency key is ``<case id>:<seq>``) and to its performer (``actor``). Event
    types are named:

    ==========================================  ==========================
    journal event                               event type
    ==========================================  ==========================
    step start / run / end / complete           the element (task)
    any other step (offer, handoff, route, ..)  ``<task>:<action>``
    refused                                     ``<task>:refused``
    attempt (a failed call)                     ``<task>:attempt``
    work (claim, release, delegate)             ``<task>:<action>``
    case (suspend, resume, incident, retry)     ``case:<action>``
    ==========================================  ==========================

    Each event type declares the attributes its events carry (the ``petriflow:``
    fields as in XES, and the data written); an attribute seen with different types is
    declared ``float`` if all were numbers, else ``string``.

Text: XES strings are cleaned of what XML 1.0 cannot hold (control characters other
than tab, line feed and carriage return, unpaired surrogates, U+FFFE and U+FFFF), each
replaced by U+FFFD, and escaped (``&``, ``<``, ``>``, ``"``, and tab and line breaks as
character references, so attribute-value normalisation keeps them). OCEL strings only
lose unpaired surrogates (to U+FFFD); JSON escapes the rest. Both are UTF-8.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from petriflow.governance.audit import AuditEvent, EventKind, canonical
from petriflow.store.base import CaseRecord, Store, WorkItem

Out = str | os.PathLike[str] | IO[bytes] | IO[str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = (-(2**63), 2**63 - 1)
_BAD_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SERVICE_KINDS = ("bot", "api")


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote: cases (traces or case objects) and events."""

    cases: int
    events: int


# -- shared -----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _BAD_XML.sub("\ufffd", text)


def _time(at: float) -> str:
    return (_EPOCH + timedelta(seconds=at)).isoformat(timespec="microseconds")


def _performer(e: AuditEvent) -> tuple[str, str] | None:
    """(name, kind) of who performed the event, or None for the engine, timers, etc."""
    if e.actor:
        return e.actor, "agent" if e.agent_version else (e.actor_kind or "unknown")
    if e.actor_kind in _SERVICE_KINDS and e.task:
        return f"{e.actor_kind}:{e.task}", e.actor_kind
    return None


def _data_key(name: str) -> str:
    return f"data:{name}" if ":" in name else name


def _meta(e: AuditEvent) -> list[tuple[str, Any]]:
    """The journal's own fields of an event, as ``petriflow:`` attributes."""
    fields: list[tuple[str, Any]] = [
        ("petriflow:kind", e.kind), ("petriflow:action", e.action),
        ("petriflow:seq", e.seq), ("petriflow:transition", e.transition),
        ("petriflow:actor_kind", e.actor_kind), ("petriflow:agent_version", e.agent_version),
        ("petriflow:work_item", e.work_item), ("petriflow:confidence", e.confidence),
        ("petriflow:rationale", e.rationale), ("petriflow:reason", e.reason),
        ("petriflow:policies", ";".join(f"{p}={o}" for p, o in e.policies) or None),
        ("petriflow:hash", e.hash or None),
    ]
    return [(k, v) for k, v in fields if v is not None]


def _writes(e: AuditEvent) -> list[tuple[str, Any]]:
    return [(_data_key(str(k)), v) for k, v in e.writes.items() if v is not None]


def _json_text(value: Any) -> str:
    try:
        return canonical(value)
    except (TypeError, ValueError):
        return str(value)


def _cases(store: Store, process: str | None) -> Iterator[CaseRecord]:
    for cid in store.case_ids():
        rec = store.case(cid)
        if process is None or rec.process == process:
            yield rec


def _is_text(out: Any) -> bool:
    if isinstance(out, io.TextIOBase):
        return True
    if isinstance(out, io.RawIOBase | io.BufferedIOBase):
        return False
    mode = getattr(out, "mode", None)
    return isinstance(mode, str) and "b" not in mode


@contextmanager
def _sink(out: Out) -> Iterator[Callable[[str], Any]]:
    if isinstance(out, str | os.PathLike):
        if str(out).endswith(("/", os.sep)):  # Path() would drop the slash: a file "dir"
            raise IsADirectoryError(errno.EISDIR, "names a folder, not a file", str(out))
        path = Path(out)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            f = open(tmp, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 (closed below)
        except OSError as exc:  # name the file asked for, not the temporary one
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None
        try:
            with f:
                yield f.write
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    elif _is_text(out):
        yield cast(IO[str], out).write
    else:
        binary = cast(IO[bytes], out)
        yield lambda text: binary.write(text.encode("utf-8"))


# -- XES --------------------------------------------------------------------------------------

_XES_STEP = {
    "start": "complete", "run": "complete", "end": "complete", "complete": "complete",
    "handoff": "complete", "offer": "schedule", "timeout": "ate_abort", "error": "ate_abort",
    "message": "complete",
    "compensate": "complete", "skip": "autoskip",
}
_XES_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                              "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})
_EXTENSIONS = (("Concept", "concept"), ("Time", "time"), ("Lifecycle", "lifecycle"),
               ("Organizational", "org"))


def _q(text: str) -> str:
    """Text for a double-quoted XML attribute value."""
    return _clean(text).translate(_XES_ESCAPES)


def _xes_float(value: float | Decimal) -> str:
    if isinstance(value, Decimal):
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "-INF" if value < 0 else "INF"
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-INF" if value < 0 else "INF"
    return repr(value)


def _xes_attr(key: str, value: Any) -> str:
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        tag, text = "int", str(value)
    elif isinstance(value, float | Decimal):
        tag, text = "float", _xes_float(value)
    elif isinstance(value, str):
        tag, text = "string", value
    elif isinstance(value, int):
        tag, text = "string", str(value)
    else:
        tag, text = "string", _json_text(value)
    return f'<{tag} key="{_q(key)}" value="{_q(text)}"/>'


def _xes_event(e: AuditEvent, offers: bool, refusals: bool) -> tuple[str, str] | None:
    """(concept:name, lifecycle:transition) of an event XES keeps, else None."""
    name = e.task or e.transition or e.kind
    if e.kind == EventKind.STEP:
        lifecycle = _XES_STEP.get(e.action or "")
        if lifecycle is None or (e.action == "offer" and not offers):
            return None
        if e.action in ("compensate", "skip"):
            name = f"compensate:{name}"
        return name, lifecycle
    if e.kind == EventKind.REFUSED and refusals:
        return name, "unknown"
    return None


def _xes_header(process: str | None) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<log xes.version="1849.2016" xes.features="" '
             'xmlns="http://www.xes-standard.org/">']
    for name, prefix in _EXTENSIONS:
        lines.append(f'  <extension name="{name}" prefix="{prefix}" '
                     f'uri="http://www.xes-standard.org/{prefix}.xesext"/>')
    lines += ['  <global scope="trace">',
              '    <string key="concept:name" value="__INVALID__"/>',
              '  </global>',
              '  <global scope="event">',
              '    <string key="concept:name" value="__INVALID__"/>',
              '    <string key="lifecycle:transition" value="complete"/>',
              f'    <date key="time:timestamp" value="{_time(0.0)}"/>',
              '    <string key="petriflow:kind" value="step"/>',
              '    <int key="petriflow:seq" value="0"/>',
              '  </global>',
              '  <classifier name="Activity" keys="concept:name"/>',
              '  <classifier name="Activity and lifecycle" '
              'keys="concept:name lifecycle:transition"/>',
              '  ' + _xes_attr("concept:name", process or "petriflow journal"),
              '  ' + _xes_attr("lifecycle:model", "standard"),
              '  ' + _xes_attr("petriflow:source", "petriflow audit journal")]
    if process is not None:
        lines.append('  ' + _xes_attr("petriflow:process", process))
    return "\n".join(lines) + "\n"


def to_xes(store: Store, out: Out, *, process: str | None = None, offers: bool = True,
           refusals: bool = True) -> Exported:
    """Write the journal of ``store`` to ``out`` as an XES log, one trace per case (see
    the module docstring for the mapping)."""
    n_cases = n_events = 0
    with _sink(out) as write:
        write(_xes_header(process))
        for rec in _cases(store, process):
            roles = {i.id: i.role for i in store.work_items(case=rec.id, open_only=False)
                     if i.role}
            parts = ["  <trace>", "    " + _xes_attr("concept:name", rec.id),
                     "    " + _xes_attr("petriflow:process", rec.process),
                     "    " + _xes_attr("petriflow:fingerprint", rec.fingerprint),
                     "    " + _xes_attr("petriflow:status", rec.status.value)]
            if rec.incident:
                parts.append("    " + _xes_attr("petriflow:incident", rec.incident))
            for e in store.events(rec.id):
                mapped = _xes_event(e, offers, refusals)
                if mapped is None:
                    continue
                attrs = [("concept:name", mapped[0]), ("lifecycle:transition", mapped[1])]
                who = _performer(e)
                if who is not None:
                    attrs.append(("org:resource", who[0]))
                role = roles.get(e.work_item or "")
                if role:
                    attrs.append(("org:role", role))
                attrs += _meta(e)
                attrs += _writes(e)
                parts.append("    <event>")
                parts.append(f'      <date key="time:timestamp" value="{_time(e.at)}"/>')
                parts += ["      " + _xes_attr(k, v) for k, v in attrs]
                parts.append("    </event>")
                n_events += 1
            parts.append("  </trace>\n")
            write("\n".join(parts))
            n_cases += 1
        write("</log>\n")
    return Exported(n_cases, n_events)


# -- OCEL 2.0 ---------------------------------------------------------------------------------

_PLAIN_STEPS = ("start", "run", "end", "complete")
_OBJECT_TYPES = {
    "case": {"process": "string", "fingerprint": "string", "status": "string",
             "incident": "string"},
    "work_item": {"task": "string", "kind": "string", "role": "string", "agent": "string",
                  "status": "string", "outcome": "string", "attempts": "integer"},
    "actor": {"kind": "string", "version": "string"},
}
_SURROGATES = re.compile("[\ud800-\udfff]")


def _s(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text)


def _ocel_type_name(e: AuditEvent) -> str:
    what = e.task or e.transition
    if e.kind == EventKind.CASE or what is None:
        return f"{e.kind}:{e.action or 'event'}"
    if e.kind == EventKind.STEP:
        return what if e.action in _PLAIN_STEPS else f"{what}:{e.action}"
    if e.kind in (EventKind.REFUSED, EventKind.ATTEMPT):
        return f"{what}:{e.kind}"
    return f"{what}:{e.action or e.kind}"


def _ocel_value(value: Any) -> tuple[Any, str]:
    """A JSON value and its OCEL attribute type."""
    if isinstance(value, bool):
        return value, "boolean"
    if isinstance(value, int):
        return value, "integer"
    if isinstance(value, float | Decimal):
        f = float(value)
        if math.isfinite(f):
            return f, "float"
        return _xes_float(value), "string"
    if isinstance(value, str):
        return _s(value), "string"
    return _s(_json_text(value)), "string"


def _merge_type(old: str | None, new: str) -> str:
    if old is None or old == new:
        return new
    if {old, new} <= {"integer", "float"}:
        return "float"
    return "string"


@dataclass(slots=True)
class _Actor:
    kind: str
    versions: dict[str, float] = field(default_factory=dict)


def _ref(object_id: str, qualifier: str) -> dict[str, str]:
    return {"objectId": _s(object_id), "qualifier": _s(qualifier)}


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class _Ocel:
    """State of one OCEL export: declarations and actors seen so far."""

    def __init__(self) -> None:
        self.event_types: dict[str, dict[str, str]] = {}
        self.actors: dict[str, _Actor] = {}

    def actor(self, name: str, kind: str, at: float | None = None,
              version: str | None = None) -> str:
        a = self.actors.get(name)
        if a is None:
            a = self.actors[name] = _Actor(kind)
        elif kind == "agent" and a.kind != "agent":
            a.kind = "agent"
        if version is not None and at is not None:
            first = a.versions.get(version)
            a.versions[version] = at if first is None else min(first, at)
        return f"actor:{name}"

    def event(self, e: AuditEvent, items_by_key: Mapping[str, str]) -> str:
        type_name = _ocel_type_name(e)
        declared = self.event_types.setdefault(type_name, {})
        attributes = []
        for name, raw in _meta(e) + _writes(e):
            value, kind = _ocel_value(raw)
            declared[name] = _merge_type(declared.get(name), kind)
            attributes.append({"name": _s(name), "value": value})
        relationships = [_ref(f"case:{e.case}", "case")]
        item = e.work_item or items_by_key.get(f"{e.case}:{e.seq}")
        if item:
            relationships.append(_ref(f"work_item:{item}", e.action or e.kind))
        who = _performer(e)
        if who is not None:
            oid = self.actor(who[0], who[1], e.at, e.agent_version)
            relationships.append(_ref(oid, "actor"))
        return _dump({"id": _s(f"{e.case}#{e.seq}"), "type": _s(type_name),
                      "time": _time(e.at), "attributes": attributes,
                      "relationships": relationships})

    def case_object(self, rec: CaseRecord) -> str:
        attrs = [("process", rec.process, rec.started), ("fingerprint", rec.fingerprint,
                                                          rec.started),
                 ("status", rec.status.value, rec.updated)]
        if rec.incident:
            attrs.append(("incident", rec.incident, rec.updated))
        return _dump({"id": _s(f"case:{rec.id}"), "type": "case",
                      "attributes": [{"name": n, "time": _time(t), "value": _s(v)}
                                     for n, v, t in attrs],
                      "relationships": []})

    def item_object(self, item: WorkItem) -> str:
        closed = item.closed if item.closed is not None else item.created
        attrs: list[tuple[str, Any, float]] = [("task", item.task, item.created),
                                               ("kind", item.kind, item.created)]
        if item.role:
            attrs.append(("role", item.role, item.created))
        if item.agent:
            attrs.append(("agent", item.agent, item.created))
        attrs.append(("status", item.status.value, closed))
        if item.outcome:
            attrs.append(("outcome", item.outcome, closed))
        attrs.append(("attempts", item.attempt, closed))
        relationships = [_ref(f"case:{item.case}", "part of")]
        if item.agent:
            relationships.append(_ref(self.actor(item.agent, "agent"), "offered to"))
        if item.claimed_by:
            relationships.append(_ref(self.actor(item.claimed_by, item.kind), "claimed by"))
        return _dump({"id": _s(f"work_item:{item.id}"), "type": "work_item",
                      "attributes": [{"name": n, "time": _time(t),
                                      "value": v if isinstance(v, int) else _s(v)}
                                     for n, v, t in attrs],
                      "relationships": relationships})

    def actor_objects(self) -> Iterator[str]:
        for name, a in self.actors.items():
            attrs: list[dict[str, Any]] = [{"name": "kind", "time": _time(0.0), "value": a.kind}]
            attrs += [{"name": "version", "time": _time(t), "value": _s(v)}
                      for v, t in sorted(a.versions.items(), key=lambda vt: (vt[1], vt[0]))]
            yield _dump({"id": _s(f"actor:{name}"), "type": "actor", "attributes": attrs,
                         "relationships": []})

    def declarations(self) -> str:
        def types(table: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
            return [{"name": _s(t), "attributes": [{"name": _s(n), "type": k}
                                                  for n, k in attrs.items()]}
                    for t, attrs in table.items()]

        return (f'"objectTypes":{_dump(types(_OBJECT_TYPES))},\n'
                f'"eventTypes":{_dump(types(self.event_types))}\n')


def to_ocel(store: Store, out: Out, *, process: str | None = None) -> Exported:
    """Write the journal of ``store`` to ``out`` as an OCEL 2.0 JSON log (see the module
    docstring for the mapping). Events are written as each case is read; case and work
    item objects go to a temporary file (spilled to disk when large) and follow them."""
    state = _Ocel()
    n_cases = n_events = 0
    with _sink(out) as write, tempfile.SpooledTemporaryFile(
            max_size=8 << 20, mode="w+", encoding="utf-8", newline="\n") as objects:
        write('{"events":[')
        sep = "\n"
        osep = "\n"
        for rec in _cases(store, process):
            items = store.work_items(case=rec.id, open_only=False)
            by_key = {i.key: i.id for i in items if i.key}
            chunk = []
            referenced: set[str] = set()
            for e in store.events(rec.id):
                chunk.append(sep + state.event(e, by_key))
                sep = ",\n"
                if e.work_item:
                    referenced.add(e.work_item)
                n_events += 1
            if chunk:
                write("".join(chunk))
            objects.write(osep + state.case_object(rec))
            osep = ",\n"
            for item in items:
                objects.write(osep + state.item_object(item))
            for missing in sorted(referenced - {i.id for i in items}):
                objects.write(osep + _dump({"id": _s(f"work_item:{missing}"),
                                            "type": "work_item", "attributes": [],
                                            "relationships": [_ref(f"case:{rec.id}",
                                                                   "part of")]}))
            n_cases += 1
        write('\n],\n"objects":[')
        objects.seek(0)
        while block := objects.read(1 << 16):
            write(block)
        for actor in state.actor_objects():
            write(osep + actor)
            osep = ",\n"
        write("\n],\n" + state.declarations() + "}\n")
    return Exported(n_cases, n_events)


__all__ = ["Exported", "to_ocel", "to_xes"]
