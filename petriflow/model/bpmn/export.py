"""BPMN 2.0 export: a petriflow process as BPMN XML with diagram interchange (BPMNDI).

The inverse of the importer (``models/BPMN.md``, section Export): every node becomes
the BPMN element the importer maps back onto it, and everything BPMN has no word for
(fields, agents, policies, what tasks read and write, checks, candidate rules,
confidence, handoffs, retries, reminders, compensation) travels in
``extensionElements`` of the petriflow namespace, so that importing the file gives the
same process and the same net. Timeouts, error handlers and caught messages are
interrupting boundary events marked ``<pf:direct/>`` (the importer then leads the
timeout, error or message straight to the target of the event's one flow instead of
making the event a node); timers are timer catch events, ``event`` gateways
event-based gateways.

The drawing comes from :func:`petriflow.model.layout.layout` (left to right); the
process sits in a pool with one horizontal lane per role (its human tasks) and a lane
for everything else. XML is written as text, every value escaped.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from petriflow.errors import ModelError, Problem
from petriflow.governance.participants import ParticipantKind
from petriflow.governance.policies import parse_policy
from petriflow.model.bpmn.names import BPMN, PF, XSI
from petriflow.model.compiled import CompiledProcess
from petriflow.model.durations import parse_duration
from petriflow.model.layout import MARGIN, layout
from petriflow.model.spec import (
    CallSpec,
    EndSpec,
    FieldSpec,
    GatewaySpec,
    ProcessSpec,
    StartSpec,
    TaskSpec,
    TimerSpec,
)

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
EXPRESSION_LANGUAGE = "https://petriflow.dev/expression"
EXPORTER = "petriflow"

EVENT = (36.0, 36.0)
GATEWAY = (50.0, 50.0)
ACTIVITY = (100.0, 80.0)
POOL_LABEL = 30.0    # the pool's name strip on its left
PAD = 20.0           # inside a lane, above and below its rows and left of the first node
ROW = 120.0          # height of one row of nodes in a lane
BACK = 40.0          # under the last lane, for flows that go back
SAME_ROW = 40.0      # layout centres closer than this (never in one layer) share a row
SYSTEM_LANE = "System"

_TAGS = {ParticipantKind.HUMAN: "userTask", ParticipantKind.API: "serviceTask",
         ParticipantKind.BOT: "serviceTask", ParticipantKind.AGENT: "serviceTask",
         ParticipantKind.AUTO: "scriptTask", ParticipantKind.RECEIVE: "receiveTask"}
_GATEWAYS = {"exclusive": "exclusiveGateway", "parallel": "parallelGateway",
             "inclusive": "inclusiveGateway", "event": "eventBasedGateway"}
Box = tuple[float, float, float, float]


def _attr(value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return quoteattr(str(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _attrs(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f" {k}={_attr(v)}" for k, v in pairs if v is not None)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") if value == int(value) else f"{value:.2f}"


def iso_duration(value: str | float) -> str:
    """An ISO 8601 duration for a duration given as text (kept) or as seconds."""
    if isinstance(value, str):
        return value
    seconds = parse_duration(value)
    if seconds != int(seconds):
        return f"PT{seconds}S"
    rest = int(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


class _Xml:
    """Lines of XML text, indented."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def open(self, tag: str, attrs: Iterable[tuple[str, Any]] = ()) -> None:
        self.lines.append("  " * self.depth + f"<{tag}{_attrs(attrs)}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{tag}>")

    def empty(self, tag: str, attrs: Iterable[tuple[str, Any]] = ()) -> None:
        self.lines.append("  " * self.depth + f"<{tag}{_attrs(attrs)}/>")

    def text(self, tag: str, text: str, attrs: Iterable[tuple[str, Any]] = ()) -> None:
        self.lines.append("  " * self.depth + f"<{tag}{_attrs(attrs)}>{escape(text)}</{tag}>")


class _Ids:
    """Document-wide unique XML ids."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        out, i = wanted, 2
        while out in self.used:
            out = f"{wanted}_{i}"
            i += 1
        self.used.add(out)
        return out


@dataclass
class _Flow:
    id: str
    source: str           # XML ids
    target: str
    when: str | None = None
    default: bool = False


@dataclass
class _Boundary:
    id: str
    host: str             # XML id of the task
    kind: str             # "timer", "error" or "message"
    flow: _Flow
    after: str | None = None
    message: str | None = None
    interrupting: bool = True


@dataclass
class _Process:
    """One process to write, with its XML ids."""

    spec: ProcessSpec
    id: str
    node_ids: dict[str, str] = field(default_factory=dict)      # spec id -> XML id
    flows: list[_Flow] = field(default_factory=list)
    boundaries: list[_Boundary] = field(default_factory=list)
    called: dict[str, str] = field(default_factory=dict)        # call node -> process XML id
    main: bool = False


class _Exporter:
    def __init__(self, base: Path | None) -> None:
        self.ids = _Ids()
        self.base = base
        self.processes: list[_Process] = []
        self.by_path: dict[Path, str] = {}

    # -- ids and structure -------------------------------------------------------------------

    def add_process(self, spec: ProcessSpec, main: bool, base: Path | None,
                    stack: tuple[Path, ...]) -> _Process:
        node_ids = {nid: self.ids.take(nid) for nid in spec.nodes}  # nodes keep their ids
        proc = _Process(spec, self.ids.take(spec.process), node_ids, main=main)
        self.processes.append(proc)
        for f in spec.flows:
            fid = self.ids.take(f"Flow_{f.source}__{f.target}")
            proc.flows.append(_Flow(fid, proc.node_ids[f.source], proc.node_ids[f.target],
                                    f.when, f.default))
        for nid, node in spec.nodes.items():
            if not isinstance(node, TaskSpec):
                continue
            host = proc.node_ids[nid]
            if node.timeout is not None:
                bid = self.ids.take(f"{host}_timeout")
                flow = _Flow(self.ids.take(f"Flow_{bid}"), bid,
                             proc.node_ids[node.timeout.to])
                proc.boundaries.append(_Boundary(bid, host, "timer", flow,
                                                 iso_duration(node.timeout.after),
                                                 interrupting=node.timeout.interrupting))
            if node.on_error is not None:
                bid = self.ids.take(f"{host}_error")
                flow = _Flow(self.ids.take(f"Flow_{bid}"), bid, proc.node_ids[node.on_error])
                proc.boundaries.append(_Boundary(bid, host, "error", flow))
            for c in node.catch:
                bid = self.ids.take(f"{host}_{c.message}")
                flow = _Flow(self.ids.take(f"Flow_{bid}"), bid, proc.node_ids[c.to])
                proc.boundaries.append(_Boundary(bid, host, "message", flow,
                                                 message=c.message,
                                                 interrupting=c.interrupting))
        for nid, node in spec.nodes.items():
            if isinstance(node, CallSpec):
                proc.called[nid] = self.call(node, base, stack)
        return proc

    def call(self, node: CallSpec, base: Path | None, stack: tuple[Path, ...]) -> str:
        """The XML id of the process a call activity calls (written into this file when
        its process file can be read)."""
        from petriflow.errors import ModelError
        from petriflow.model.loader import load_process

        path = ((base or Path.cwd()) / node.process).resolve()
        if path in self.by_path:
            return self.by_path[path]
        if path in stack or not path.is_file():
            return Path(node.process).stem
        try:
            sub = load_process(path)
        except ModelError:
            return Path(node.process).stem
        pid = sub.spec.process
        self.by_path[path] = pid  # before recursing: a cycle refers back by id
        proc = self.add_process(sub.spec, False, path.parent, (*stack, path))
        self.by_path[path] = proc.id
        return proc.id


def _policy_attrs(policy: Any, refs: Mapping[str, str]) -> list[tuple[str, Any]]:
    data = policy.model_dump(mode="json", exclude_none=True)
    out: list[tuple[str, Any]] = []
    for key in ("id", "type", *[k for k in data if k not in ("id", "type")]):
        value = data[key]
        if key == "tasks":
            value = " ".join(refs.get(t, t) for t in value)
        elif key in ("task", "after", "requires", "review", "before"):
            value = refs.get(value, value)
        elif isinstance(value, list):
            value = " ".join(str(v) for v in value)
        out.append((key, value))
    return out


def _field_attrs(name: str, f: FieldSpec) -> list[tuple[str, Any]]:
    default = f.default
    if isinstance(default, Decimal | float | int) and not isinstance(default, bool):
        default = str(default)
    return [("name", name), ("type", f.type), ("input", True if f.input else None),
            ("default", default), ("min", f.min), ("max", f.max),
            ("values", " ".join(f.values) if f.values is not None else None),
            ("description", f.description or None)]


def _task_attrs(node: TaskSpec, refs: Mapping[str, str]) -> list[tuple[str, Any]]:
    return [
        ("kind", node.kind.value), ("role", node.role), ("agent", node.agent),
        ("reads", " ".join(node.reads) or None), ("writes", " ".join(node.writes) or None),
        ("check", node.check), ("candidate", node.candidate), ("confidence", node.confidence),
        ("threshold", node.threshold),
        ("handoff", refs[node.handoff] if node.handoff else None),
        ("remind", iso_duration(node.remind) if node.remind is not None else None),
        ("compensation", refs[node.compensation] if node.compensation else None),
        ("description", node.description or None),
    ]


def _size(node: Any) -> tuple[float, float]:
    if isinstance(node, StartSpec | EndSpec | TimerSpec):
        return EVENT
    if isinstance(node, GatewaySpec):
        return GATEWAY
    return ACTIVITY


# -- the drawing --------------------------------------------------------------------------

@dataclass
class _Drawing:
    boxes: dict[str, Box]
    lanes: list[tuple[str, str, Box, list[str]]]   # lane id, name, bounds, node ids
    pool: Box
    edges: dict[str, list[tuple[float, float]]]


def _route(src: Box, dst: Box) -> list[tuple[float, float]]:
    sx, sy, sw, sh = src
    dx, dy, dw, dh = dst
    if dx >= sx + sw:  # forward: right side to left side, one vertical segment between
        start, end = (sx + sw, sy + sh / 2), (dx, dy + dh / 2)
        mid = (start[0] + end[0]) / 2
        return [start, (mid, start[1]), (mid, end[1]), end]
    start, end = (sx + sw / 2, sy + sh), (dx + dw / 2, dy + dh)  # back: under both
    low = max(start[1], end[1]) + 25
    return [start, (start[0], low), (end[0], low), end]


def _route_boundary(b: Box, host: Box, dst: Box) -> list[tuple[float, float]]:
    bx, by, bw, bh = b
    start = (bx + bw / 2, by + bh)
    hx, _, hw, _ = host
    dx, dy, dw, dh = dst
    if dx >= hx + hw:
        mid = (hx + hw + dx) / 2
        below = start[1] + 20
        return [start, (start[0], below), (mid, below), (mid, dy + dh / 2), (dx, dy + dh / 2)]
    low = max(start[1], dy + dh) + 25
    return [start, (start[0], low), (dx + dw / 2, low), (dx + dw / 2, dy + dh)]


def _clean(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return out if len(out) >= 2 else [points[0], points[-1]]


def _draw(proc: _Process, ids: _Ids) -> _Drawing:
    """Where every element goes: the layout's columns, rows within each lane."""
    spec = proc.spec
    sizes: dict[Hashable, tuple[float, float]] = {
        proc.node_ids[n]: _size(node) for n, node in spec.nodes.items()}
    hints = [(f.source, f.target) for f in proc.flows]
    for nid, node in spec.nodes.items():  # side targets go after the task that leads there
        if isinstance(node, TaskSpec):
            for other in (node.handoff, node.on_error, node.compensation,
                          node.timeout.to if node.timeout else None,
                          *(c.to for c in node.catch)):
                if other and other != nid:
                    hints.append((proc.node_ids[nid], proc.node_ids[other]))
    placed = layout(sizes, hints)
    # bands: one lane per role with its human tasks, then one with everything else
    roles = list(spec.roles) if proc.main else []  # lanes need a pool: the main process
    band_of: dict[str, int] = {}
    for nid, node in spec.nodes.items():
        role = node.role if isinstance(node, TaskSpec) else None
        band_of[proc.node_ids[nid]] = roles.index(role) if role in roles else len(roles)
    names = [*roles, SYSTEM_LANE]
    members: list[list[str]] = [[] for _ in names]
    for xid in sorted(band_of, key=lambda x: placed.boxes[x][1]):
        members[band_of[xid]].append(xid)
    left = POOL_LABEL + (POOL_LABEL if roles else 0)
    boxes: dict[str, Box] = {}
    lanes: list[tuple[str, str, Box, list[str]]] = []
    top = 0.0
    right = 0.0
    for i, nodes in enumerate(members):
        # rows keep the layout's vertical order: centres less than SAME_ROW apart share one
        rows = 0
        anchor: float | None = None
        for xid in nodes:  # sorted by the layout's y
            x, y, w, h = placed.boxes[xid]
            centre = y + h / 2
            if anchor is None or centre - anchor >= SAME_ROW:
                rows, anchor = rows + 1, centre
            x = x - MARGIN + left + PAD
            boxes[xid] = (x, top + PAD + (rows - 1) * ROW + (ACTIVITY[1] - h) / 2, w, h)
            right = max(right, x + w)
        if not nodes and i == len(roles) and roles:
            continue  # no node outside the role lanes: no system lane
        height = max(rows, 1) * ROW
        in_order = [x for x in proc.node_ids.values() if band_of[x] == i]
        lanes.append((ids.take(f"Lane_{proc.id}_{names[i]}"), names[i],
                      (POOL_LABEL, top, 0.0, height), in_order))
        top += height
    width = max(right + 2 * PAD, 400.0)
    lanes = [(lid, name, (x, y, width - x, h), nodes) for lid, name, (x, y, _, h), nodes in lanes]
    edges: dict[str, list[tuple[float, float]]] = {}
    for f in proc.flows:
        edges[f.id] = _clean(_route(boxes[f.source], boxes[f.target]))
    for host in dict.fromkeys(b.host for b in proc.boundaries):  # in order, not by hash
        hx, hy, hw, hh = boxes[host]
        for i, b in enumerate(bb for bb in proc.boundaries if bb.host == host):
            bx = hx + hw - EVENT[0] - 8 - i * (EVENT[0] + 8)
            boxes[b.id] = (bx, hy + hh - EVENT[1] / 2, *EVENT)
            edges[b.flow.id] = _clean(_route_boundary(boxes[b.id], boxes[host],
                                                      boxes[b.flow.target]))
    order = [*proc.node_ids.values(), *(b.id for b in proc.boundaries)]
    boxes = {xid: boxes[xid] for xid in order}
    if lanes:  # room under the last lane for flows that go back
        lid, name, (lx, ly, lw, lh), nodes = lanes[-1]
        lanes[-1] = (lid, name, (lx, ly, lw, lh + BACK), nodes)
    height = max(top, ROW) + BACK
    return _Drawing(boxes, lanes if roles else [], (0.0, 0.0, width, height), edges)


# -- writing --------------------------------------------------------------------------------

def _write_process(x: _Xml, ex: _Exporter, proc: _Process, policies: list[Any],
                   drawing: _Drawing, known_agents: set[str]) -> None:
    spec = proc.spec
    refs = proc.node_ids
    x.open("bpmn:process", [("id", proc.id), ("name", spec.process), ("isExecutable", True)])
    if spec.description:
        x.text("bpmn:documentation", spec.description)
    x.open("bpmn:extensionElements")
    if proc.main:
        x.empty("pf:process", [("version", spec.version),
                               ("description", spec.description or None),
                               ("roles", " ".join(spec.roles) or None),
                               ("termination", None if spec.termination == "explicit"
                                else spec.termination)])
    for fname, fspec in spec.data.items():
        x.empty("pf:field", _field_attrs(fname, fspec))
    for a in spec.agents:
        if a.id in known_agents:
            continue
        known_agents.add(a.id)
        x.empty("pf:agent", [("id", a.id), ("version", a.version), ("vendor", a.vendor),
                             ("model", a.model), ("threshold", a.threshold),
                             ("tasks", " ".join(refs.get(t, t) for t in a.tasks) or None),
                             ("description", a.description or None)])
    for p in policies:
        x.empty("pf:policy", _policy_attrs(p, refs))
    x.close("bpmn:extensionElements")
    if drawing.lanes:
        x.open("bpmn:laneSet", [("id", ex.ids.take(f"LaneSet_{proc.id}"))])
        for lid, name, _, nodes in drawing.lanes:
            x.open("bpmn:lane", [("id", lid), ("name", name)])
            for n in nodes:
                x.text("bpmn:flowNodeRef", n)
            x.close("bpmn:lane")
        x.close("bpmn:laneSet")
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for f in [*proc.flows, *(b.flow for b in proc.boundaries)]:
        outgoing.setdefault(f.source, []).append(f.id)
        incoming.setdefault(f.target, []).append(f.id)

    def links(xid: str) -> None:
        for fid in incoming.get(xid, []):
            x.text("bpmn:incoming", fid)
        for fid in outgoing.get(xid, []):
            x.text("bpmn:outgoing", fid)

    defaults = {f.source: f.id for f in proc.flows if f.default}
    for nid, node in spec.nodes.items():
        xid = refs[nid]
        label = ("name", node.name)
        if isinstance(node, StartSpec | EndSpec):
            tag = "bpmn:startEvent" if isinstance(node, StartSpec) else "bpmn:endEvent"
            x.open(tag, [("id", xid), label])
            if node.description:
                x.text("bpmn:documentation", node.description)
            if isinstance(node, EndSpec) and node.compensate:
                x.open("bpmn:extensionElements")
                x.empty("pf:end", [("compensate", True)])
                x.close("bpmn:extensionElements")
            links(xid)
            x.close(tag)
        elif isinstance(node, GatewaySpec):
            tag = "bpmn:" + _GATEWAYS[node.type]
            n_in, n_out = len(incoming.get(xid, [])), len(outgoing.get(xid, []))
            direction = ("Mixed" if n_in > 1 and n_out > 1 else "Converging" if n_in > 1
                         else "Diverging" if n_out > 1 else "Unspecified")
            x.open(tag, [("id", xid), label, ("gatewayDirection", direction),
                         ("default", defaults.get(xid))])
            if node.description:
                x.text("bpmn:documentation", node.description)
            links(xid)
            x.close(tag)
        elif isinstance(node, TimerSpec):
            x.open("bpmn:intermediateCatchEvent", [("id", xid), label])
            if node.description:
                x.text("bpmn:documentation", node.description)
            links(xid)
            x.open("bpmn:timerEventDefinition", [("id", ex.ids.take(f"{xid}_definition"))])
            x.text("bpmn:timeDuration", iso_duration(node.after),
                   [("xsi:type", "bpmn:tFormalExpression")])
            x.close("bpmn:timerEventDefinition")
            x.close("bpmn:intermediateCatchEvent")
        elif isinstance(node, CallSpec):
            x.open("bpmn:callActivity", [("id", xid), label, ("calledElement", proc.called[nid])])
            if node.description:
                x.text("bpmn:documentation", node.description)
            links(xid)
            x.close("bpmn:callActivity")
        else:
            assert isinstance(node, TaskSpec)
            tag = "bpmn:" + _TAGS[node.kind]
            x.open(tag, [("id", xid), label])
            if node.description:
                x.text("bpmn:documentation", node.description)
            x.open("bpmn:extensionElements")
            attrs = _task_attrs(node, refs)
            if not node.set and node.retry is None:
                x.empty("pf:task", attrs)
            else:
                x.open("pf:task", attrs)
                for key, value in node.set.items():
                    x.empty("pf:set", [("field", key), ("value", value)])
                if node.retry is not None:
                    r = node.retry
                    x.empty("pf:retry", [("attempts", r.attempts),
                                         ("backoff_seconds", r.backoff_seconds),
                                         ("multiplier", r.multiplier),
                                         ("idempotent", r.idempotent),
                                         ("timeout_seconds", r.timeout_seconds)])
                x.close("pf:task")
            x.close("bpmn:extensionElements")
            links(xid)
            x.close(tag)
    for b in proc.boundaries:
        x.open("bpmn:boundaryEvent", [("id", b.id), ("cancelActivity", b.interrupting),
                                      ("attachedToRef", b.host)])
        x.open("bpmn:extensionElements")
        x.empty("pf:direct", [("message", b.message)])
        x.close("bpmn:extensionElements")
        links(b.id)
        if b.kind == "message":
            x.empty("bpmn:messageEventDefinition", [("id", ex.ids.take(f"{b.id}_definition"))])
        elif b.kind == "timer":
            x.open("bpmn:timerEventDefinition", [("id", ex.ids.take(f"{b.id}_definition"))])
            x.text("bpmn:timeDuration", str(b.after), [("xsi:type", "bpmn:tFormalExpression")])
            x.close("bpmn:timerEventDefinition")
        else:
            x.empty("bpmn:errorEventDefinition", [("id", ex.ids.take(f"{b.id}_definition"))])
        x.close("bpmn:boundaryEvent")
    for f in [*proc.flows, *(b.flow for b in proc.boundaries)]:
        attrs = [("id", f.id), ("sourceRef", f.source), ("targetRef", f.target)]
        if f.when is None:
            x.empty("bpmn:sequenceFlow", attrs)
            continue
        x.open("bpmn:sequenceFlow", attrs)
        x.text("bpmn:conditionExpression", f.when, [("xsi:type", "bpmn:tFormalExpression")])
        x.close("bpmn:sequenceFlow")
    x.close("bpmn:process")


def _bounds(x: _Xml, box: Box) -> None:
    bx, by, bw, bh = box
    x.empty("dc:Bounds", [("x", _num(bx)), ("y", _num(by)), ("width", _num(bw)),
                          ("height", _num(bh))])


def _write_diagram(x: _Xml, ex: _Exporter, proc: _Process, drawing: _Drawing,
                   element: str, pool: str | None) -> None:
    x.open("bpmndi:BPMNDiagram", [("id", ex.ids.take(f"Diagram_{proc.id}"))])
    x.open("bpmndi:BPMNPlane", [("id", ex.ids.take(f"Plane_{proc.id}")),
                                ("bpmnElement", element)])
    if pool is not None:
        x.open("bpmndi:BPMNShape", [("id", ex.ids.take(f"{pool}_di")), ("bpmnElement", pool),
                                    ("isHorizontal", True)])
        _bounds(x, drawing.pool)
        x.close("bpmndi:BPMNShape")
    for lid, _, box, _ in drawing.lanes:
        x.open("bpmndi:BPMNShape", [("id", ex.ids.take(f"{lid}_di")), ("bpmnElement", lid),
                                    ("isHorizontal", True)])
        _bounds(x, box)
        x.close("bpmndi:BPMNShape")
    kinds = {proc.node_ids[n]: node for n, node in proc.spec.nodes.items()}
    for xid, box in drawing.boxes.items():
        node = kinds.get(xid)
        marker = isinstance(node, GatewaySpec) and node.type == "exclusive"
        x.open("bpmndi:BPMNShape", [("id", ex.ids.take(f"{xid}_di")), ("bpmnElement", xid),
                                    ("isMarkerVisible", True if marker else None)])
        _bounds(x, box)
        x.close("bpmndi:BPMNShape")
    for fid, points in drawing.edges.items():
        x.open("bpmndi:BPMNEdge", [("id", ex.ids.take(f"{fid}_di")), ("bpmnElement", fid)])
        for px, py in points:
            x.empty("di:waypoint", [("x", _num(px)), ("y", _num(py))])
        x.close("bpmndi:BPMNEdge")
    x.close("bpmndi:BPMNPlane")
    x.close("bpmndi:BPMNDiagram")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("petriflow")
    except PackageNotFoundError:
        return "unknown"


def _model_path(compiled: CompiledProcess) -> Path | None:
    files = {o.file for o in compiled.source_map.transitions.values()
             if o.element in compiled.spec.nodes and o.file}
    return Path(next(iter(files))) if len(files) == 1 else None


def to_bpmn(model: ProcessSpec | CompiledProcess, *, policies: Iterable[Any] | None = None,
            base: str | Path | None = None) -> str:
    """BPMN 2.0 XML (with BPMNDI) for a process.

    ``policies`` (parsed policies or mappings) default to every policy of a compiled
    process (its inline ones and those of its policy files), or to the inline policies
    of a bare spec. ``base`` is the directory call activities' process files are
    relative to (by default the compiled model's own directory).
    """
    if isinstance(model, CompiledProcess):
        spec: ProcessSpec = model.spec
        path = _model_path(model)
        chosen = [ob.policy for ob in model.obligations] if policies is None else policies
    else:
        spec, path = model, None
        chosen = spec.policies if policies is None else policies
    if spec.scopes:  # sub-processes and their events would need the BPMN they came from
        raise ModelError(Problem(f"process '{spec.process}' has scopes ({', '.join(spec.scopes)}"
                                 "); exporting scopes to BPMN is not supported",
                                 element=spec.process))
    parsed = [p if not isinstance(p, Mapping) else parse_policy(dict(p)) for p in chosen]
    root = Path(base) if base is not None else (path.parent if path is not None else None)
    ex = _Exporter(root)
    stack = (path.resolve(),) if path is not None else ()
    main = ex.add_process(spec, True, root, stack)
    collab = ex.ids.take(f"Collaboration_{main.id}")
    pool = ex.ids.take(f"Participant_{main.id}")
    defs_id = ex.ids.take(f"Definitions_{main.id}")
    drawings = {p.id: _draw(p, ex.ids) for p in ex.processes}
    x = _Xml()
    x.lines.append('<?xml version="1.0" encoding="UTF-8"?>')
    x.open("bpmn:definitions", [
        ("xmlns:bpmn", BPMN), ("xmlns:bpmndi", BPMNDI), ("xmlns:dc", DC), ("xmlns:di", DI),
        ("xmlns:xsi", XSI), ("xmlns:pf", PF), ("id", defs_id),
        ("targetNamespace", f"https://petriflow.dev/processes/{spec.process}"),
        ("expressionLanguage", EXPRESSION_LANGUAGE),
        ("exporter", EXPORTER), ("exporterVersion", _version())])
    x.open("bpmn:collaboration", [("id", collab)])
    x.empty("bpmn:participant", [("id", pool), ("name", spec.process), ("processRef", main.id)])
    x.close("bpmn:collaboration")
    agents: set[str] = set()
    for proc in ex.processes:
        _write_process(x, ex, proc, parsed if proc.main else [], drawings[proc.id], agents)
    for proc in ex.processes:
        _write_diagram(x, ex, proc, drawings[proc.id], collab if proc.main else proc.id,
                       pool if proc.main else None)
    x.close("bpmn:definitions")
    return "\n".join(x.lines) + "\n"


__all__ = ["iso_duration", "to_bpmn"]
