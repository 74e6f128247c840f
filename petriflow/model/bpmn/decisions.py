"""Exclusive gateways without conditions: a decision someone makes at that point.

Diagrams drawn to describe a process (the usual Signavio, ARIS or bpmn.io export) leave
the conditions of an exclusive gateway out: the flows are labelled ("approved",
"rejected") and a person decides. BPMN 2.0 (section 10.6.2) calls such a model not
executable; petriflow reads it as what it describes. A human task ``<gateway>__decide``,
in the gateway's lane (the default role without one), writes the enumeration
``choice__<gateway>`` with one value per outgoing flow (the flow's name, else its id, else
its target), and the gateway routes on it. The checker lets a person's answer be anything
at every visit, so every branch is explored, as a soundness checker treats a free choice;
the engine offers the decision as a work item. A warning names every gateway read so.

Gateways whose flows carry some conditions but not all are still refused (the conditions
are then meant to decide, and one is missing), as are inclusive gateways without
conditions: which subset of their flows is taken is not a single choice.
"""

from __future__ import annotations

from typing import Any

from petriflow.errors import Problem
from petriflow.model.bpmn.names import sanitize


def rewrite(imp: Any, flow_cls: type) -> None:
    """Give every exclusive gateway whose outgoing flows have no condition a decision."""
    for nid, node in list(imp.nodes.items()):
        out = imp.outgoing(nid)
        if node.get("type") != "exclusive" or len(out) < 2 or any(
                f.condition is not None or f.when is not None for f in out):
            continue
        values = _labels(imp, out)
        # (a field name may not start with '_' or 'by_'; both names stay within MAX_ID)
        field = sanitize(f"choice__{nid.lstrip('_')}")
        decide = sanitize(f"{nid}__decide")
        if field in imp.fields or decide in imp.nodes:
            continue  # the name is taken: the gateway stays refused by conditions()
        line = imp.lines.get(("nodes", nid), 0)
        role = imp.gateway_roles.get(nid) or imp.default_role
        gateway = imp.map.node_of.get(nid, nid)
        label = node.get("name") or gateway
        imp.add(decide, {"type": "task", "kind": "human", "role": role,
                         "name": f"Decide: {label}", "writes": [field]}, line)
        imp.map.node_of[decide] = gateway
        imp.map.tag_of[decide] = imp.map.tag_of.get(nid, "exclusiveGateway")
        if role not in imp.roles:
            imp.roles.append(role)
        imp.fields[field] = {"type": "enum", "values": values}
        imp.field_lines[field] = line
        for f in imp.incoming(nid):
            f.target = decide
        imp.flows.append(flow_cls(decide, nid, line))
        imp._moved()
        for f, value in zip(out, values, strict=True):
            f.when, f.default = f"{field} == '{value}'", False
        imp.warnings.append(Problem(
            f"exclusiveGateway '{gateway}' has no conditions: read as a decision "
            f"('{decide}', role {role}) between {', '.join(values)}", file=imp.file,
            line=line, element=gateway,
            hint="give its flows conditionExpressions if the case data decides"))


def _labels(imp: Any, flows: list[Any]) -> list[str]:
    """One distinct enumeration value per flow: its name, else its id, else its target."""
    out: list[str] = []
    for f in flows:
        name = imp.flow_names.get(f.bpmn_id) if f.bpmn_id else None
        base = sanitize(name or f.bpmn_id or imp.map.node_of.get(f.target, f.target))
        value, n = base, 2
        while value in out:
            value, n = f"{base}_{n}", n + 1
        out.append(value)
    return out
