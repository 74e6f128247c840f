"""BPMN loop and multi-instance markers, rewritten into gateways and copies.

- ``standardLoopCharacteristics`` with a ``loopCondition``: the activity runs again while
  the condition holds. ``testBefore="false"`` (the default, do-while): an exclusive
  gateway ``<a>__loop`` after the activity, whose conditional flow goes back to it and
  whose default flow leaves; ``testBefore="true"`` (while): the same gateway before it.
  Refused: no condition (it would repeat an unknown number of times) and ``loopMaximum``
  (a counter the case data does not have).
- ``multiInstanceLoopCharacteristics`` with a constant ``loopCardinality`` n (at most
  ``MAX_INSTANCES``) on a task: n copies ``<a>``, ``<a>__2`` ... ``<a>__n``, in a chain
  (``isSequential="true"``) or between a parallel split ``<a>__instances`` and join
  ``<a>__joined``. Refused: collections (the count is known only at run time),
  completion conditions, multi-instance sub-processes and call activities (each instance
  would need its own copy of the body), and boundary events on a multi-instance task (they
  belong to all instances together).

Every copy and gateway maps back to the BPMN activity. See ``models/BPMN.md``.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN, CAMUNDA, TASKS, ZEEBE
from petriflow.model.bpmn.xmlread import XNode

MAX_INSTANCES = 20


@dataclass
class Marker:
    our: str
    line: int
    loop: bool                     # standard loop (else multi-instance)
    test_before: bool = False
    condition: tuple[str, str | None, int] | None = None
    count: int = 1
    sequential: bool = False


def record(imp: Any, c: XNode, marker: XNode, our: str | None, defs: Definitions) -> None:
    """Check one loop or multi-instance marker; keep it for :func:`rewrite` or report it."""
    if our is None:
        imp.unsupported(c, f"{marker.tag} is not supported here", defs)
        return
    if marker.tag == "standardLoopCharacteristics":
        cond = marker.find(BPMN, "loopCondition")
        if cond is None or not cond.text.strip():
            imp.unsupported(c, "a loop without a loopCondition repeats an unknown number of "
                            "times", defs, hint="give it a loopCondition, or model the loop "
                            "with a gateway and a flow back")
            return
        if marker.get("loopMaximum") is not None:
            imp.unsupported(c, "loopMaximum is not supported (the case data has no counter)",
                            defs, hint="count in a field and test it in the loopCondition")
            return
        lang = cond.get("language") or defs.expression_language
        imp.loop_markers.append(Marker(our, c.line, True, str(marker.get(
            "testBefore", "false")).lower() == "true", (cond.text, lang, cond.line)))
        return
    why = _multi_instance_problem(c, marker)
    if why is not None:
        imp.unsupported(c, why, defs)
        return
    card = marker.find(BPMN, "loopCardinality")
    assert card is not None
    imp.loop_markers.append(Marker(our, c.line, False, count=int(
        card.text.strip().lstrip("=").strip()), sequential=str(marker.get(
            "isSequential", "false")).lower() == "true"))


def _multi_instance_problem(c: XNode, marker: XNode) -> str | None:
    if c.tag not in TASKS:
        return ("multi-instance sub-processes and call activities are not supported (each "
                "instance would need its own copy of the body)")
    zeebe = any(e.ns == ZEEBE and e.tag == "loopCharacteristics" for e in marker.iter())
    if marker.find(BPMN, "loopDataInputRef") is not None or zeebe or any(
            marker.attr(ns, "collection") for ns in CAMUNDA):
        return ("multi-instance over a collection is not supported (the number of instances "
                "is known only at run time, and unbounded); give it a constant "
                "loopCardinality, or model a loop with a condition")
    if marker.find(BPMN, "completionCondition") is not None:
        return "multi-instance with a completionCondition is not supported"
    card = marker.find(BPMN, "loopCardinality")
    text = card.text.strip().lstrip("=").strip() if card is not None else ""
    if not text.isdigit() or not 1 <= int(text) <= MAX_INSTANCES:
        return (f"multi-instance needs a constant loopCardinality from 1 to {MAX_INSTANCES} "
                f"(found {text or 'none'})")
    return None


def rewrite(imp: Any, flow: Any) -> None:
    """Turn every kept marker into gateways and copies (``flow``: the importer's flow
    class). Runs once the sequence flows are known."""
    for m in imp.loop_markers:
        if m.our not in imp.nodes:
            continue
        if m.loop:
            _loop(imp, flow, m)
        elif any(k in imp.nodes[m.our] for k in ("timeout", "on_error", "catch")):
            imp.problems.append(_problem(imp, m, "boundary events on a multi-instance task "
                                         "(they belong to all instances together) are not "
                                         "supported"))
        elif m.count > 1:
            _instances(imp, flow, m)


def _problem(imp: Any, m: Marker, why: str) -> Any:
    from petriflow.errors import Problem

    bid = imp.map.node_of.get(m.our, m.our)
    return Problem(f"{imp.map.tag_of.get(m.our, 'activity')} '{bid}': {why}", file=imp.file,
                   line=m.line, element=bid)


def _node(imp: Any, m: Marker, suffix: str, spec: dict[str, Any]) -> str:
    new = imp.new_id(f"{m.our}__{suffix}")
    imp.map.node_of[new] = imp.map.node_of.get(m.our, m.our)
    imp.map.tag_of[new] = imp.map.tag_of.get(m.our, "task")
    imp.add(new, spec, m.line)
    return new


def _leave_through(imp: Any, flow: Any, m: Marker, source: str) -> None:
    """Move the activity's outgoing flows to ``source`` (through a parallel gateway when it
    is a choice and the activity had several)."""
    outs = imp.outgoing(m.our)
    if imp.nodes[source].get("type") == "exclusive" and len(outs) != 1:
        after = _node(imp, m, "next", {"type": "parallel"})
        imp.flows.append(flow(source, after, m.line, default=True))
        source = after
    for f in outs:
        f.source = source
        if imp.nodes[source].get("type") == "exclusive":
            f.default = True
    imp._moved()


def _loop(imp: Any, flow: Any, m: Marker) -> None:
    entry = imp.entries.get(m.our, m.our)  # a sub-process is entered at its start
    gate = _node(imp, m, "loop", {"type": "exclusive"})
    if m.test_before:
        for f in imp.incoming(entry):
            f.target = gate
        imp._moved()
    _leave_through(imp, flow, m, gate)
    imp.flows.append(flow(m.our, gate, m.line))
    imp.flows.append(flow(gate, entry, m.line, condition=m.condition))


def _instances(imp: Any, flow: Any, m: Marker) -> None:
    copies = [m.our] + [_node(imp, m, str(i), copy.deepcopy(imp.nodes[m.our]))
                        for i in range(2, m.count + 1)]
    if m.sequential:
        for f in imp.outgoing(m.our):
            f.source = copies[-1]
        imp._moved()
        imp.flows += [flow(a, b, m.line) for a, b in itertools.pairwise(copies)]
        return
    split = _node(imp, m, "instances", {"type": "parallel"})
    join = _node(imp, m, "joined", {"type": "parallel"})
    for f in imp.incoming(m.our):
        f.target = split
    for f in imp.outgoing(m.our):
        f.source = join
    imp._moved()
    imp.flows += [flow(split, c, m.line) for c in copies]
    imp.flows += [flow(c, join, m.line) for c in copies]


__all__ = ["MAX_INSTANCES", "Marker", "record", "rewrite"]

