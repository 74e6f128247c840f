"""Errors and escalations raised by an end event inside a sub-process and caught by an
interrupting boundary event of that sub-process (or call activity).

BPMN: reaching the end event throws the error (escalation); the boundary event catches
it, withdraws whatever else runs in the sub-process, and the case goes on along the
boundary event's flows. petriflow maps the end event onto a pass-through that leads to
the boundary event (itself a pass-through with its outgoing flows) instead of to the
sub-process's normal exit, and counts it among the ends of the sub-process: the ending
check (:mod:`.termination`) then refuses the process if the end event can be reached
while another token is still inside the sub-process, since withdrawing it is not
modelled. Ends nobody catches, and non-interrupting catches, are refused elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN
from petriflow.model.bpmn.xmlread import XNode

_REF = {"errorEventDefinition": "errorRef", "escalationEventDefinition": "escalationRef"}


@dataclass
class Raised:
    our: str            # the end event's pass-through
    container: str      # BPMN id of the sub-process or call activity
    boundary: str       # BPMN id of the boundary event that catches it
    line: int


def _catchers(defs: Definitions, container: str, kind: str, ref: str | None) -> list[XNode]:
    out = []
    for el in defs.by_id.values():
        if el.tag != "boundaryEvent" or el.ns != BPMN or el.get("attachedToRef") != container:
            continue
        if str(el.get("cancelActivity", "true")).lower() == "false":
            continue
        d = next((x for x in el.children if x.ns == BPMN and x.tag == kind), None)
        if d is None:
            continue
        caught = d.get(_REF[kind]) or None
        if caught is None or ref is None or caught == ref:
            out.append(el)
    return out


def end_event(imp: Any, c: XNode, our: str, kind: str, definition: XNode | None,
              base: dict[str, Any], exit_id: str | None) -> str | None:
    """Map an error or escalation end event caught on its sub-process's boundary; None
    when no interrupting boundary event of the enclosing sub-process catches it."""
    if exit_id is None or kind not in _REF:
        return None
    container = imp.map.node_of.get(exit_id)
    if imp.map.tag_of.get(exit_id) not in ("subProcess", "callActivity") or not container:
        return None
    ref = definition.get(_REF[kind]) if definition is not None else None
    found = _catchers(imp.defs, container, kind, ref or None)
    if not found:
        return None
    imp.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
    imp.raised.append(Raised(our, container, str(found[0].get("id")), c.line))
    next(s for s in imp.map.scopes if s.element == exit_id).ends.append(our)
    return "end"


def boundary(imp: Any, b: XNode, our: str, kind: str | None, interrupting: bool,
             is_container: bool) -> bool:
    """An interrupting error or escalation boundary event of a sub-process that catches
    some end event inside: those end events lead to it. False if this is not one."""
    if not (interrupting and is_container and kind in _REF):
        return False
    mine = [r for r in imp.raised if r.boundary == b.get("id")]
    if not mine:
        return False
    for r in mine:
        imp.flows.append(imp.flow_class(r.our, our, r.line))
    return True


__all__ = ["Raised", "boundary", "end_event"]
