"""A compiled process as JSON (for tools) and as Graphviz DOT (for people).

Both keep the source map: every place and transition says which model element it
comes from, so a picture or a script can point back at the model.
"""

from __future__ import annotations

import json
from typing import Any

from petriflow.model.compiled import CompiledProcess
from petriflow.net.colorjson import color_to_json, token_to_json
from petriflow.net.expr import unparse


def to_json(compiled: CompiledProcess) -> dict[str, Any]:
    """The compiled net with its source map, policies and fingerprint, as plain data."""
    net, sm = compiled.net, compiled.source_map
    places = []
    for p in net.places:
        o = sm.places[p.id]
        tokens = net.initial_marking[p.id]
        places.append({
            "id": p.id, "element": o.element, "kind": o.kind, "file": o.file, "line": o.line,
            "color": color_to_json(p.color),
            "initial": [token_to_json(p.color, t) for t in tokens.elements()],
        })
    transitions = []
    for t in net.transitions:
        o = sm.transitions[t.id]
        transitions.append({
            "id": t.id, "element": o.element, "kind": o.kind, "action": o.role,
            "participant": o.participant.value if o.participant else None,
            "label": o.label, "file": o.file, "line": o.line,
            "guard": unparse(t.guard) if t.guard is not None else None,
            "variables": {n: color_to_json(c) for n, c in t.variables},
            "meta": dict(t.meta),
        })
    arcs = [{"id": a.id, "source": a.source, "target": a.target, "weight": a.weight,
             "kind": a.kind.value,
             "inscription": unparse(a.inscription) if a.inscription is not None else None}
            for a in net.arcs]
    policies = [{"id": ob.policy.id, "type": ob.policy.type, "statement": ob.policy.describe(),
                 "severity": ob.policy.severity.value,
                 "transitions": {k: list(v) for k, v in ob.transitions.items()},
                 "condition": unparse(ob.condition) if ob.condition is not None else None,
                 "static_violation": ob.static_violation}
                for ob in compiled.obligations]
    return {
        "process": compiled.name, "version": compiled.version,
        "fingerprint": compiled.fingerprint, "inputs": list(compiled.inputs),
        "final_places": list(compiled.final_places), "termination": compiled.termination,
        "places": places, "transitions": transitions, "arcs": arcs, "policies": policies,
    }


def _q(text: str) -> str:
    # A JSON string literal is a valid DOT string literal (\n is a line break in both).
    return json.dumps(text, ensure_ascii=False)


_SHAPES = {"human": "#fde2b8", "agent": "#d7c6f2", "api": "#c6e2f2", "bot": "#c6e2f2",
           "receive": "#e6f2c6", "timer": "#f2c6c6", "auto": "#eeeeee"}


def to_dot(compiled: CompiledProcess) -> str:
    """Graphviz DOT of the net, its nodes grouped in one cluster per model element."""
    net, sm = compiled.net, compiled.source_map
    lines = [f"digraph {_q(compiled.name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    clusters: dict[str, list[str]] = {}
    for p in net.places:
        o = sm.places[p.id]
        n = net.initial_marking.count(p.id)
        label = p.id + (f"\n{'•' * n if n <= 3 else n}" if n else "")
        clusters.setdefault(o.element, []).append(
            f"    {_q(p.id)} [shape=circle, label={_q(label)}, fixedsize=false];")
    for t in net.transitions:
        o = sm.transitions[t.id]
        fill = _SHAPES.get(o.participant.value if o.participant else "auto", "#eeeeee")
        label = t.id + (f"\n[{unparse(t.guard)}]" if t.guard is not None else "")
        clusters.setdefault(o.element, []).append(
            f"    {_q(t.id)} [shape=box, style=filled, fillcolor={_q(fill)}, label={_q(label)}];")
    for i, (element, body) in enumerate(clusters.items()):
        lines.append(f"  subgraph cluster_{i} {{ label={_q(element)}; color=\"#bbbbbb\";")
        lines += body
        lines.append("  }")
    for a in net.arcs:
        attrs = []
        if a.weight != 1:
            attrs.append(f"label={_q(str(a.weight))}")
        if a.inscription is not None and a.place != "data":
            attrs.append(f"label={_q(unparse(a.inscription))}")
        if a.kind.value == "inhibitor":
            attrs.append("arrowhead=odot")
        if a.kind.value == "read":
            attrs.append("arrowhead=none, style=dashed")
        if a.place == "data":
            attrs.append('color="#bbbbbb"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_q(a.source)} -> {_q(a.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["to_dot", "to_json"]
