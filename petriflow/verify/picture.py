"""Pictures of a process and of its compiled net, as SVG, with a counterexample drawn on them.

Two drawings, both laid out left to right by :func:`petriflow.model.layout.layout`:

* the *process diagram*, BPMN-style: events are circles, tasks rounded boxes (name,
  participant kind and role or agent), gateways diamonds (``×`` exclusive, ``+``
  parallel, ``○`` inclusive), flows arrows labelled with their conditions; the implicit
  paths of a task (hand-off, timeout, error, compensation) are dashed;
* the *net*: places are circles, transitions boxes, arcs arrows (read arcs dashed,
  inhibitor arcs ending in a small circle); for a compiled process, the nodes of each
  model element sit on a light background box labelled with the element. The case-data
  place, which every step reads and writes, is drawn once without its arcs.

A counterexample (a :class:`~petriflow.verify.result.TraceStep` sequence, for instance
read from ``petriflow check --format json`` with :func:`read_trace`) is drawn on top: the
elements of the path carry numbered markers in firing order, the flows taken are
highlighted, the breaking (last) step is red, each marker's tooltip holds the case data
after that step, and a numbered list under the drawing says every step in the model's
words, with the data values that change.

Every string that comes from a model, a net or a trace is escaped (``html.escape``);
nothing is ever evaluated. Pictures are plain SVG strings with no scripts and no
external references, so they can be inlined into a self-contained HTML report.
"""

from __future__ import annotations

import html
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from petriflow.errors import PetriflowError
from petriflow.model.compiled import DATA_PLACE, CompiledProcess, SourceMap
from petriflow.model.layout import MAX_NODES, Layout, LayoutTooLarge, layout
from petriflow.net.structure import ArcKind, Net
from petriflow.verify.render import describe_step
from petriflow.verify.result import TraceStep

MAX_PICTURE_NODES = 600   # a readable drawing; the layout itself refuses beyond MAX_NODES
MAX_TRACE_BYTES = 64 * 1024 * 1024
MAX_LISTED_STEPS = 200

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
PATH_COLOR = "#1565c0"
BREAK_COLOR = "#c62828"
KIND_FILL = {"human": "#fde2b8", "agent": "#d7c6f2", "api": "#c6e2f2", "bot": "#c6e2f2",
             "receive": "#e6f2c6", "timer": "#f2c6c6", "auto": "#eeeeee"}
_HIDDEN_ACTIONS = ("offer", "route", "end")


class PictureTooLarge(PetriflowError, ValueError):
    """The drawing would have more nodes than a readable picture holds."""


class TraceError(PetriflowError, ValueError):
    """A counterexample file that cannot be read, or that belongs to another model."""


# -- counterexamples ---------------------------------------------------------------------------


def shown_steps(trace: Sequence[TraceStep]) -> list[TraceStep]:
    """The steps the text report numbers (as :func:`petriflow.verify.render.to_text`):
    without offers, routings and ends when the steps say what they are."""
    if any(s.action for s in trace):
        return [s for s in trace if s.action not in _HIDDEN_ACTIONS]
    return list(trace)


def _value(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def step_changes(trace: Sequence[TraceStep]) -> list[dict[str, Any]]:
    """Per step, the case-data fields whose value it changes (besides the answers
    that :func:`describe_step` already lists, and the ``by_`` actor records)."""
    out: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for s in trace:
        answers = {k.removeprefix("_o_") for k in s.binding if k.startswith("_o_")}
        if prev is None or not s.data:
            out.append({})
        else:
            out.append({k: v for k, v in s.data.items()
                        if prev.get(k) != v and k not in answers and not k.startswith("by_")})
        if s.data:
            prev = dict(s.data)
    return out


def step_lines(trace: Sequence[TraceStep], *, all_steps: bool = False) -> list[str]:
    """Numbered lines of a counterexample in the model's words, with the data changes."""
    steps = list(trace) if all_steps else shown_steps(trace)
    changes = step_changes(steps)
    lines = []
    for i, (s, ch) in enumerate(zip(steps, changes, strict=True), start=1):
        text, where = describe_step(i, s), ""
        if "  [" in text:
            text, where = text.split("  [", 1)
            where = "  [" + where
        if ch:
            text += "; then " + ", ".join(f"{k} = {_value(v)}" for k, v in ch.items())
        lines.append(text + where)
    return lines


def _data_tooltip(s: TraceStep) -> str:
    if not s.data:
        return ""
    shown = [f"{k} = {_value(v)}" for k, v in s.data.items() if not k.startswith("by_")]
    actors = [f"{k} = {_value(v)}" for k, v in s.data.items() if k.startswith("by_") and v]
    return "\ncase data after this step:\n  " + "\n  ".join(shown + actors)


def _step(raw: Any, where: str) -> TraceStep:
    if not isinstance(raw, dict) or not isinstance(raw.get("transition"), str):
        raise TraceError(f"{where}: a step is not an object with a 'transition'")

    def text(key: str) -> str | None:
        v = raw.get(key)
        return v if isinstance(v, str) else None

    line = raw.get("line")
    binding = raw.get("binding")
    data = raw.get("data")
    return TraceStep(raw["transition"],
                     binding=binding if isinstance(binding, dict) else {},
                     element=text("element"), action=text("action"), label=text("label"),
                     actor=text("actor"), file=text("file"),
                     line=line if isinstance(line, int) and not isinstance(line, bool) else None,
                     data=data if isinstance(data, dict) else {})


@dataclass(frozen=True)
class Counterexample:
    """One violated property's path, as read from ``petriflow check --format json``."""

    property: str
    steps: tuple[TraceStep, ...]
    statement: str | None = None


def read_trace(text: str | bytes, prop: str | None = None, *,
               where: str = "results") -> Counterexample:
    """The counterexample of ``prop`` (default: the first result with one) in the JSON
    that ``petriflow check --format json`` writes."""
    if len(text) > MAX_TRACE_BYTES:
        raise TraceError(f"{where}: larger than {MAX_TRACE_BYTES // (1024 * 1024)} MiB")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TraceError(f"{where}: not JSON ({exc})") from None
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise TraceError(f"{where}: no 'results' list; expected the output of "
                         "'petriflow check --format json'")
    with_trace = [r for r in results if isinstance(r, dict) and isinstance(r.get("trace"), list)
                  and r["trace"]]
    if prop is not None:
        chosen = [r for r in with_trace if r.get("property") == prop]
        if not chosen:
            names = ", ".join(str(r.get("property")) for r in with_trace) or "none"
            raise TraceError(f"{where}: no counterexample for '{prop}' (properties with "
                             f"one: {names})")
    else:
        chosen = with_trace
        if not chosen:
            raise TraceError(f"{where}: no result has a counterexample (nothing violated)")
    r = chosen[0]
    steps = tuple(_step(s, where) for s in r["trace"])
    statement = r.get("statement") if isinstance(r.get("statement"), str) else None
    return Counterexample(str(r.get("property")), steps, statement)


def check_fits(net: Net, steps: Sequence[TraceStep]) -> None:
    """Refuse a counterexample whose transitions are not all in ``net``."""
    known = net.transition_map
    for i, s in enumerate(steps, start=1):
        if s.transition not in known:
            raise TraceError(f"step {i} fires '{s.transition}', which this net does not "
                             "have: the counterexample belongs to another model or version",
                             hint="check the same model again with --format json")


# -- SVG helpers -------------------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _wrap(text: str, width: int, lines: int) -> list[str]:
    words, out, cur = text.split(), [], ""
    for w in words:
        if len(w) > width:
            w = w[: width - 1] + "…"
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        out.append(cur)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out or [""]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _text(x: float, y: float, lines: Sequence[str], size: float = 11, anchor: str = "middle",
          weight: str = "normal", fill: str = "#222", style: str = "", halo: bool = False) -> str:
    if not lines:
        return ""
    extra = f' font-style="{style}"' if style else ""
    if halo:
        extra += ' stroke="white" stroke-width="3" paint-order="stroke"'
    spans = "".join(f'<tspan x="{_f(x)}" dy="{_f(0 if i == 0 else size * 1.2)}">{esc(t)}</tspan>'
                    for i, t in enumerate(lines))
    return (f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{extra}>{spans}</text>')


def _polyline(points: Sequence[tuple[float, float]], color: str, width: float, marker: str,
              dash: str = "") -> str:
    pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
    d = f' stroke-dasharray="{dash}"' if dash else ""
    m = f' marker-end="url(#{marker})"' if marker else ""
    return (f'<polyline points="{pts}" fill="none" stroke="{color}" '
            f'stroke-width="{_f(width)}"{d}{m}/>')


def _defs(prefix: str) -> str:
    def arrow(name: str, color: str) -> str:
        return (f'<marker id="{prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
                f'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
                f'orient="auto-start-reverse">'
                f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    dot = (f'<marker id="{prefix}-dot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
           f'markerHeight="9" markerUnits="userSpaceOnUse">'
           f'<circle cx="5" cy="5" r="4" fill="white" stroke="#555"/></marker>')
    return ("<defs>" + arrow("arrow", "#555") + arrow("path", PATH_COLOR)
            + arrow("break", BREAK_COLOR) + dot + "</defs>")


def _clip(points: tuple[tuple[float, float], ...], box: tuple[float, float, float, float],
          shape: tuple[float, float], end: bool) -> tuple[tuple[float, float], ...]:
    """Move an edge's end from the side of the node's layout box to its shape's side."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    i = -1 if end else 0
    px, py = points[i]
    if abs(py - cy) < 0.5:
        px = cx + (shape[0] / 2 if px > cx else -shape[0] / 2)
    elif abs(px - cx) < 0.5:
        py = cy + (shape[1] / 2 if py > cy else -shape[1] / 2)
    pts = list(points)
    pts[i] = (px, py)
    return tuple(pts)


def _lay(sizes: Mapping[Hashable, tuple[float, float]], edges: Sequence[tuple[Hashable, Hashable]],
         max_nodes: int, what: str, hint: str) -> Layout:
    limit = min(max_nodes, MAX_NODES)
    if len(sizes) > limit:
        raise PictureTooLarge(f"the {what} has {len(sizes)} nodes; a readable picture holds at "
                              f"most {limit}", hint=hint)
    try:
        return layout(sizes, [(a, b) for a, b in edges if a != b])
    except LayoutTooLarge as exc:
        raise PictureTooLarge(str(exc), hint=hint) from None


def _badges(cx: float, top: float, right: float, numbers: Sequence[int], last: int,
            tips: Mapping[int, str]) -> str:
    out = []
    shown = list(numbers) if len(numbers) <= 6 else [*numbers[:5], -1]
    for k, n in enumerate(shown):
        bx = right - 2 - 20 * k
        by = top
        if n == -1:
            out.append(f'<g class="step-marker-more"><circle cx="{_f(bx)}" cy="{_f(by)}" r="10" '
                       f'fill="#777"/>{_text(bx, by + 3.5, ["…"], 9, fill="white")}'
                       f'<title>{esc("also steps " + ", ".join(map(str, numbers[5:])))}'
                       f'</title></g>')
            continue
        color = BREAK_COLOR if n == last else PATH_COLOR
        cls = "step-marker breaking" if n == last else "step-marker"
        number = _text(bx, by + 3.5, [str(n)], 10 if n < 100 else 8, weight="bold", fill="white")
        out.append(f'<g class="{cls}" data-step="{n}"><circle cx="{_f(bx)}" cy="{_f(by)}" r="10" '
                   f'fill="{color}" stroke="white" stroke-width="1.5"/>{number}'
                   f'<title>{esc(tips.get(n, ""))}</title></g>')
    del cx
    return "".join(out)


def _legend(x: float, y: float, title: str, lines: Sequence[str]) -> tuple[str, float, float]:
    """The numbered path under a drawing: (svg, width, height)."""
    if len(lines) > MAX_LISTED_STEPS:
        half = MAX_LISTED_STEPS // 2
        lines = [*lines[:half], f"… {len(lines) - 2 * half} more steps …", *lines[-half:]]
    rows = [_text(x, y + 14, [title], 12, anchor="start", weight="bold")]
    for i, line in enumerate(lines):
        color = BREAK_COLOR if i == len(lines) - 1 else "#222"
        rows.append(_text(x, y + 34 + 16 * i, [line], 11, anchor="start", fill=color))
    width = max([len(title) * 7.0] + [len(s) * 6.3 for s in lines]) + 20
    height = 34 + 16 * len(lines) + 10
    return (f'<g class="trace-legend">{"".join(rows)}</g>', width, height)


def _svg(width: float, height: float, title: str, body: str, prefix: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="petriflow-picture" '
            f'id="{esc(prefix)}" width="{_f(width)}" height="{_f(height)}" '
            f'viewBox="0 0 {_f(width)} {_f(height)}" font-family="{FONT}">'
            f'<title>{esc(title)}</title>{_defs(esc(prefix))}'
            f'<rect width="100%" height="100%" fill="white"/>{body}</svg>\n')


# -- the process diagram -----------------------------------------------------------------------

_EVENT = (36.0, 36.0)
_GATEWAY = (46.0, 46.0)
_TASK = (150.0, 66.0)
_LABEL_ROOM = 30.0
_FLOW_ROOM = 30.0   # on each side of a node, for the labels of the flows between layers


def _node_geometry(node: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """(layout box size, shape size) of a process node; events and gateways keep room for
    their label under the shape (and as much above, so that edges meet the shape's middle)."""
    kind = node.type
    if kind in ("start", "end"):
        return (120.0 + 2 * _FLOW_ROOM, _EVENT[1] + 2 * _LABEL_ROOM), _EVENT
    if kind in ("exclusive", "parallel", "inclusive", "event"):
        return (130.0 + 2 * _FLOW_ROOM, _GATEWAY[1] + 2 * _LABEL_ROOM), _GATEWAY
    return (_TASK[0] + 2 * _FLOW_ROOM, _TASK[1]), _TASK


def _participant(node: Any) -> str:
    if node.type == "call":
        return f"calls {node.process}"
    if node.type == "timer":
        return f"timer · {node.after}"
    kind = node.kind.value
    if node.agent:
        return f"{kind} · {node.agent}"
    if node.role:
        return f"{kind} · {node.role}"
    return kind


def _process_edges(spec: Any) -> list[tuple[str, str, str, str]]:
    """(source, target, label, style) of every flow, then of every implicit path."""
    edges = []
    for f in spec.flows:
        label = f.when or ("default" if f.default else "")
        edges.append((f.source, f.target, label, "flow"))
    for nid, node in spec.nodes.items():
        if node.type != "task":
            continue
        if node.handoff:
            edges.append((nid, node.handoff, "low confidence", "exception"))
        if node.timeout is not None:
            edges.append((nid, node.timeout.to, f"after {node.timeout.after}", "exception"))
        if node.on_error:
            edges.append((nid, node.on_error, "on error", "exception"))
        for c in node.catch:
            edges.append((nid, c.to, f"message {c.message}", "exception"))
        if node.compensation:
            edges.append((nid, node.compensation, "compensation", "compensation"))
    return [e for e in edges if e[0] in spec.nodes and e[1] in spec.nodes]


def _taken(compiled: CompiledProcess, steps: Sequence[TraceStep]) -> set[tuple[str, str]]:
    """The (source, target) element pairs that the path's firings hand a token along."""
    sm, outputs = compiled.source_map, compiled.net.outputs
    taken: set[tuple[str, str]] = set()
    for s in steps:
        origin = sm.transitions.get(s.transition)  # type: ignore[call-overload]
        if origin is None:
            continue
        for arc in outputs.get(s.transition, ()):  # type: ignore[call-overload]
            po = sm.places.get(arc.place)
            if po is None:
                continue
            if po.kind == "flow" and "->" in po.element:
                a, b = po.element.split("->", 1)
                taken.add((a, b))
            elif po.kind == "input" and (po.element != origin.element
                                         or s.action == "timeout"):
                taken.add((origin.element, po.element))
    return taken


def _element_of(compiled: CompiledProcess, s: TraceStep) -> str | None:
    origin = compiled.source_map.transitions.get(s.transition)  # type: ignore[call-overload]
    return origin.element if origin is not None else s.element


def process_svg(compiled: CompiledProcess, trace: Sequence[TraceStep] | None = None, *,
                title: str | None = None, legend: bool = True, prefix: str = "pf-process",
                max_nodes: int = MAX_PICTURE_NODES) -> str:
    """The process of ``compiled`` as a BPMN-style SVG diagram, with ``trace`` drawn on it."""
    spec = compiled.spec
    nodes: Mapping[str, Any] = spec.nodes
    geometry = {nid: _node_geometry(n) for nid, n in nodes.items()}
    edges = _process_edges(spec)
    plain = [(a, b) for a, b, _, _ in edges if a != b]
    lay = _lay({nid: g[0] for nid, g in geometry.items()}, plain, max_nodes,
               f"process '{compiled.name}'", "split the process into called sub-processes")
    routed = iter(lay.edges)

    numbers: dict[str, list[int]] = {}
    tips: dict[int, str] = {}
    last = 0
    taken: set[tuple[str, str]] = set()
    breaking_element = None
    if trace:
        check_fits(compiled.net, trace)
        steps = shown_steps(trace)
        lines = step_lines(trace)
        for i, s in enumerate(steps, start=1):
            el = _element_of(compiled, s)
            if el in nodes:
                numbers.setdefault(el, []).append(i)
            tips[i] = lines[i - 1] + _data_tooltip(s)
        last = len(steps)
        taken = _taken(compiled, trace)
        breaking_element = _element_of(compiled, trace[-1])
        if steps and _element_of(compiled, steps[-1]) in nodes:
            breaking_element = _element_of(compiled, steps[-1])

    body: list[str] = []
    stacked: dict[tuple[int, int], float] = {}
    # edges first, so that shapes cover their ends
    for a, b, label, style in edges:
        on_path = (a, b) in taken
        color = PATH_COLOR if on_path else ("#555" if style == "flow" else "#888")
        width = 2.6 if on_path else 1.3
        marker = f"{prefix}-path" if on_path else f"{prefix}-arrow"
        dash = {"flow": "", "exception": "6 4", "compensation": "2 3"}[style]
        cls = "flow on-path" if on_path else "flow"
        if a == b:  # a timeout that re-offers the task: a loop over its top
            x, y, w, _ = lay.boxes[a]
            x, w = x + (w - geometry[a][1][0]) / 2, geometry[a][1][0]
            pts = ((x + w * 0.7, y), (x + w * 0.7, y - 18), (x + w * 0.3, y - 18), (x + w * 0.3, y))
        else:
            _, _, pts = next(routed)
            pts = _clip(pts, lay.boxes[a], geometry[a][1], end=False)
            pts = _clip(pts, lay.boxes[b], geometry[b][1], end=True)
        tip = f"<title>{esc(f'{a} → {b}' + (f': {label}' if label else ''))}</title>"
        text = ""
        if label:
            anchor = "middle"
            if a == b:
                lx, ly = (pts[1][0] + pts[2][0]) / 2, pts[1][1] - 4
            elif len(pts) == 4 and pts[1][1] == pts[2][1] and pts[1][0] != pts[2][0]:
                lx, ly = (pts[1][0] + pts[2][0]) / 2, pts[1][1] - 4   # a backward edge
            else:  # just before the target, above the last segment, growing upwards
                lx, ly, anchor = pts[-1][0] - 10, pts[-1][1] - 5, "end"
            lines = _wrap(label, 26, 2)
            ly -= 11.4 * (len(lines) - 1)
            key = (round(lx), round(ly))
            ly -= stacked.get(key, 0.0)   # labels of flows that meet at one point: stack them
            stacked[key] = stacked.get(key, 0.0) + 11.4 * len(lines)
            text = _text(lx, ly, lines, 9.5, anchor=anchor,
                         fill=PATH_COLOR if on_path else "#444", style="italic",
                         halo=True)
        body.append(f'<g class="{cls}" data-from="{esc(a)}" data-to="{esc(b)}">'
                    f'{_polyline(pts, color, width, marker, dash)}{text}{tip}</g>')

    for nid, node in nodes.items():
        x, y, w, h = lay.boxes[nid]
        cx, cy = x + w / 2, y + h / 2
        sw, sh = geometry[nid][1]
        visited = nid in numbers or nid == breaking_element
        stroke = BREAK_COLOR if nid == breaking_element else (PATH_COLOR if visited else "#333")
        extra = 1.2 if visited else 0.0
        name = node.name or nid
        tip = f"{nid} ({node.type})" + (f": {name}" if node.name else "")
        if node.description:
            tip += "\n" + node.description
        parts: list[str] = []
        if node.type in ("start", "end"):
            sw_ = (3.0 if node.type == "end" else 1.5) + extra
            fill = "#fdecea" if node.type == "end" else "#e8f5e9"
            parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(sw / 2)}" fill="{fill}" '
                         f'stroke="{stroke}" stroke-width="{_f(sw_)}"/>')
            if node.type == "end" and node.compensate:
                parts.append(_text(cx, cy + 5, ["⟲"], 14, fill=stroke))
            parts.append(_text(cx, cy + sh / 2 + 13, _wrap(name, 22, 2), 10))
        elif node.type in ("exclusive", "parallel", "inclusive", "event"):
            d = f"M{_f(cx)},{_f(cy - sh / 2)} L{_f(cx + sw / 2)},{_f(cy)} " \
                f"L{_f(cx)},{_f(cy + sh / 2)} L{_f(cx - sw / 2)},{_f(cy)} z"
            parts.append(f'<path d="{d}" fill="#fffde7" stroke="{stroke}" '
                         f'stroke-width="{_f(1.5 + extra)}"/>')
            k = 8.0
            if node.type == "exclusive":
                parts.append(f'<path d="M{_f(cx - k * .7)},{_f(cy - k * .7)} L{_f(cx + k * .7)},'
                             f'{_f(cy + k * .7)} M{_f(cx + k * .7)},{_f(cy - k * .7)} '
                             f'L{_f(cx - k * .7)},{_f(cy + k * .7)}" stroke="#333" '
                             f'stroke-width="3"/>')
            elif node.type == "parallel":
                parts.append(f'<path d="M{_f(cx - k)},{_f(cy)} L{_f(cx + k)},{_f(cy)} '
                             f'M{_f(cx)},{_f(cy - k)} L{_f(cx)},{_f(cy + k)}" stroke="#333" '
                             f'stroke-width="3"/>')
            else:  # inclusive: a circle; event-based: a double circle
                for r in (k, k - 3) if node.type == "event" else (k,):
                    parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" '
                                 f'fill="none" stroke="#333" '
                                 f'stroke-width="{2.5 if node.type == "inclusive" else 1.5}"/>')
            if node.name:
                parts.append(_text(cx, cy + sh / 2 + 13, _wrap(name, 24, 2), 10))
        else:
            kind = node.kind.value if node.type == "task" else "auto"
            fill = KIND_FILL.get(kind, "#eeeeee")
            sw_ = (3.0 if node.type == "call" else 1.5) + extra
            parts.append(f'<rect x="{_f(cx - sw / 2)}" y="{_f(cy - sh / 2)}" width="{_f(sw)}" '
                         f'height="{_f(sh)}" rx="10" fill="{fill}" stroke="{stroke}" '
                         f'stroke-width="{_f(sw_)}"/>')
            label = _wrap(name, 24, 3)
            top = cy - 6 - 6.5 * (len(label) - 1)
            parts.append(_text(cx, top, label, 11))
            parts.append(_text(cx, cy + sh / 2 - 6, [_short(_participant(node), 28)], 9,
                               fill="#555", style="italic"))
            if node.type == "task":
                tip += f"\nparticipant: {_participant(node)}"
                if node.candidate:
                    tip += f"\nwho may: {node.candidate}"
        if nid in numbers:
            parts.append(_badges(cx, cy - sh / 2 - 2, cx + sw / 2, numbers[nid], last, tips))
        cls = "node visited" if visited else "node"
        body.append(f'<g class="{cls}" data-element="{esc(nid)}" data-type="{esc(node.type)}">'
                    f'<title>{esc(tip)}</title>{"".join(parts)}</g>')

    width, height = lay.width, lay.height
    if trace and legend:
        head = f"Counterexample{': ' + title if title else ''} ({len(trace)} firings)"
        g, lw, lh = _legend(20, height, head, step_lines(trace))
        body.append(g)
        width, height = max(width, lw + 20), height + lh
    label = title or f"process {compiled.name} {compiled.version}"
    return _svg(width, height, label, "".join(body), prefix)


# -- the net -----------------------------------------------------------------------------------

_PLACE = 24.0
_PLACE_BOX = (64.0, 24.0 + 2 * 16)
_TRANSITION = (88.0, 26.0)


def _part(node_id: str, element: str | None) -> str:
    if element and node_id.startswith(element) and node_id != element:
        rest = node_id[len(element):].lstrip(":@")
        if rest:
            return rest
    return node_id


def net_svg(net: Net, source_map: SourceMap | None = None,
            trace: Sequence[TraceStep] | None = None, *, title: str | None = None,
            legend: bool = True, prefix: str = "pf-net",
            max_nodes: int = MAX_PICTURE_NODES, process: str | None = None) -> str:
    """``net`` as SVG: places, transitions, arcs; with a source map, one light box per
    model element around its nodes; with a ``trace``, the firings numbered in order."""
    data_place = DATA_PLACE if source_map is not None and DATA_PLACE in net.place_map else None
    sizes: dict[Hashable, tuple[float, float]] = {}
    for p in net.places:
        sizes[p.id] = _PLACE_BOX
    for t in net.transitions:
        sizes[t.id] = _TRANSITION
    edges = [(a.source, a.target) for a in net.arcs if a.place != data_place]
    hint = ("draw the process instead of its net (petriflow render MODEL without --net)"
            if source_map is not None else "draw a smaller net, or raise --max-nodes")
    lay = _lay(sizes, edges, max_nodes, f"net '{net.name}'", hint)
    shapes = {n: ((_PLACE, _PLACE) if n in net.place_map else _TRANSITION) for n in sizes}

    numbers: dict[str, list[int]] = {}
    tips: dict[int, str] = {}
    last = 0
    if trace:
        check_fits(net, trace)
        lines = step_lines(trace, all_steps=True)
        for i, s in enumerate(trace, start=1):
            numbers.setdefault(s.transition, []).append(i)
            tips[i] = lines[i - 1] + _data_tooltip(s)
        last = len(trace)
    fired = {s.transition for s in trace or ()}

    body: list[str] = []
    if source_map is not None:  # one background box per model element
        members: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        labels: dict[str, str] = {}
        for n in sizes:
            o = source_map.places.get(n) or source_map.transitions.get(n)  # type: ignore[call-overload]
            if o is None or o.element == process or n == data_place:
                continue
            members.setdefault(o.element, []).append(str(n))
            labels.setdefault(o.element, o.label or o.element)
            if o.participant is not None and o.participant.value != "timer":
                kinds[o.element] = o.participant.value
        for element, ids in members.items():
            xs0, ys0, xs1, ys1 = [], [], [], []
            for n in ids:
                x, y, w, h = lay.boxes[n]
                cx, cy = x + w / 2, y + h / 2
                sw, sh = shapes[n]
                xs0.append(cx - max(sw, _PLACE_BOX[0] if n in net.place_map else 0) / 2)
                xs1.append(cx + max(sw, _PLACE_BOX[0] if n in net.place_map else 0) / 2)
                ys0.append(cy - sh / 2)
                ys1.append(cy + sh / 2 + (16 if n in net.place_map else 0))
            x0, y0 = min(xs0) - 8, min(ys0) - 22
            x1, y1 = max(xs1) + 8, max(ys1) + 6
            fill = KIND_FILL.get(kinds.get(element, ""), "#f0f0f0")
            head = _text(x0 + 5, y0 + 12, [_short(labels[element], 40)], 9.5, "start", "bold",
                         "#666")
            body.append(f'<g class="group" data-element="{esc(element)}">'
                        f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(x1 - x0)}" '
                        f'height="{_f(y1 - y0)}" rx="8" fill="{fill}" fill-opacity="0.35" '
                        f'stroke="#bbb" stroke-dasharray="3 3"/>'
                        f'{head}'
                        f'<title>{esc(element + ": " + labels[element])}</title></g>')

    polylines = {(s, d): p for s, d, p in lay.edges}
    for a in net.arcs:
        if a.place == data_place:
            continue
        src, dst = a.source, a.target
        pts = polylines.get((src, dst), ())
        if not pts:
            continue
        pts = _clip(pts, lay.boxes[src], shapes[src], end=False)
        pts = _clip(pts, lay.boxes[dst], shapes[dst], end=True)
        on_path = a.transition in fired
        color = PATH_COLOR if on_path else "#666"
        marker = f"{prefix}-path" if on_path else f"{prefix}-arrow"
        dash = ""
        if a.kind is ArcKind.READ:
            marker, dash = "", "4 3"
        elif a.kind is ArcKind.INHIBITOR:
            marker = f"{prefix}-dot"
        label = str(a.weight) if a.weight != 1 else ""
        text = _text(pts[-2][0] + 3, pts[-2][1] - 3, [label], 9, "start") if label else ""
        body.append(f'<g class="arc">{_polyline(pts, color, 2.0 if on_path else 1.0, marker, dash)}'
                    f'{text}</g>')

    for p in net.places:
        x, y, w, h = lay.boxes[p.id]
        cx, cy = x + w / 2, y + h / 2
        o = source_map.places.get(p.id) if source_map is not None else None
        n = net.initial_marking.count(p.id)
        tip = p.id + (f" ({o.kind} of {o.element})" if o is not None else "")
        if p.name and p.name != p.id:
            tip += f"\n{p.name}"
        if p.id == data_place:
            tip += "\nthe case record: every step reads or writes it (its arcs are not drawn)"
        marks = _text(cx, cy + 4, ["•" * n if n <= 3 else str(n)], 11) if n else ""
        label = "case data" if p.id == data_place else _part(p.label, o.element if o else None)
        body.append(f'<g class="place" data-id="{esc(p.id)}"><title>{esc(tip)}</title>'
                    f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(_PLACE / 2)}" fill="white" '
                    f'stroke="#333" stroke-width="1.4"/>{marks}'
                    f'{_text(cx, cy + _PLACE / 2 + 11, [_short(label, 12)], 8.5, fill="#444")}'
                    f'</g>')
    for t in net.transitions:
        x, y, w, h = lay.boxes[t.id]
        cx, cy = x + w / 2, y + h / 2
        o = source_map.transitions.get(t.id) if source_map is not None else None
        is_fired = t.id in fired
        stroke = BREAK_COLOR if last and t.id == trace[-1].transition else (  # type: ignore[index]
            PATH_COLOR if is_fired else "#333")
        fill = "#e3f2fd" if is_fired else "#fafafa"
        tip = t.id
        if o is not None:
            tip += f"\n{o.label or o.element}: {o.role or o.kind}"
            if o.participant is not None:
                tip += f" ({o.participant.value})"
        if t.name and t.name != t.id:
            tip += f"\n{t.name}"
        label = _part(t.id, o.element if o else None) if o else t.label
        badges = _badges(cx, y - 2, x + w, numbers[t.id], last, tips) if t.id in numbers else ""
        body.append(f'<g class="transition{" visited" if is_fired else ""}" '
                    f'data-id="{esc(t.id)}"><title>{esc(tip)}</title>'
                    f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" fill="{fill}" '
                    f'stroke="{stroke}" stroke-width="{2.4 if is_fired else 1.4}"/>'
                    f'{_text(cx, cy + 3.5, [_short(label, 14)], 9.5)}{badges}</g>')

    width, height = lay.width, lay.height
    if trace and legend:
        head = f"Counterexample{': ' + title if title else ''} ({len(trace)} firings)"
        g, lw, lh = _legend(20, height, head, step_lines(trace, all_steps=True))
        body.append(g)
        width, height = max(width, lw + 20), height + lh
    return _svg(width, height, title or f"net {net.name}", "".join(body), prefix)


def compiled_net_svg(compiled: CompiledProcess, trace: Sequence[TraceStep] | None = None,
                     **kwargs: Any) -> str:
    """The compiled net of a process, grouped by model element."""
    kwargs.setdefault("process", compiled.name)
    return net_svg(compiled.net, compiled.source_map, trace, **kwargs)


__all__ = [
    "MAX_PICTURE_NODES",
    "Counterexample",
    "PictureTooLarge",
    "TraceError",
    "check_fits",
    "compiled_net_svg",
    "esc",
    "net_svg",
    "process_svg",
    "read_trace",
    "shown_steps",
    "step_changes",
    "step_lines",
]
