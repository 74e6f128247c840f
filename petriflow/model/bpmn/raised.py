"""Errors and escalations raised inside a scope and caught by a boundary event of an
enclosing sub-process (or call activity) or by an event sub-process's start event.

BPMN 2.0 (sections 10.5.4, 10.3.6): an error end event, an escalation end or intermediate
throw event raises; the innermost enclosing activity with a matching catcher catches it
(its event sub-processes first, then its boundary events). An interrupting catch
withdraws everything else in that activity; a non-interrupting one (escalations only)
starts its path beside the work that goes on.

petriflow maps the raising event onto a pass-through with a flow to the catcher (the
boundary event's pass-through, or the event sub-process's start). When the catch
interrupts, the pass-through is a ``cancel`` node of the catching scope
(``models/SEMANTICS.md``, Scopes): reaching it withdraws every other token of the scope
first. A non-interrupting escalation end still ends its branch; an intermediate throw
goes on along its flows. An error nobody catches is refused; an escalation nobody
catches goes on (BPMN lets it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN
from petriflow.model.bpmn.xmlread import XNode

_REF = {"errorEventDefinition": "errorRef", "escalationEventDefinition": "escalationRef"}


@dataclass
class Level:
    """One enclosing activity of the element being imported (innermost last)."""

    activity: str | None     # BPMN id boundary events attach to (None: a process)
    body: XNode              # the element whose children hold its event sub-processes
    defs: Definitions        # where the activity (and its boundary events) are written
    key: str | None          # our id of its exit (None: the process itself)
    esp: bool = False        # an event sub-process


@dataclass
class Catcher:
    element: XNode           # the boundary event, or the event sub-process's start event
    interrupting: bool
    key: str | None          # the scope it interrupts (our exit id; None: the process)
    esp: bool


@dataclass
class Raised:
    our: str                 # the raising event's pass-through
    catcher: str             # BPMN id of the boundary event or start event that catches it
    interrupting: bool
    key: str | None
    line: int


def _definition(el: XNode, kind: str) -> XNode | None:
    return next((x for x in el.children if x.ns == BPMN and x.tag == kind), None)


def _matches(el: XNode, kind: str, ref: str | None) -> bool:
    d = _definition(el, kind)
    if d is None:
        return False
    caught = d.get(_REF[kind]) or None
    return caught is None or ref is None or caught == ref


def find_catcher(imp: Any, kind: str, ref: str | None) -> Catcher | None:
    """The innermost catcher of an error or escalation raised where the importer is."""
    chain: list[Level] = imp.chain
    for i in range(len(chain) - 1, -1, -1):
        level = chain[i]
        inner = chain[i + 1] if i + 1 < len(chain) else None
        if inner is None or not inner.esp:  # raised inside an event sub-process: not its own
            for sub in level.body.children:
                if sub.ns != BPMN or sub.tag != "subProcess" or str(
                        sub.get("triggeredByEvent", "false")).lower() != "true":
                    continue
                start = next((x for x in sub.children if x.ns == BPMN
                              and x.tag == "startEvent"), None)
                if start is not None and _matches(start, kind, ref):
                    interrupting = str(start.get("isInterrupting", "true")).lower() != "false"
                    return Catcher(start, interrupting, level.key, True)
        if level.activity is None:
            continue
        for el in level.defs.by_id.values():
            if el.tag == "boundaryEvent" and el.ns == BPMN and \
                    el.get("attachedToRef") == level.activity and _matches(el, kind, ref):
                interrupting = str(el.get("cancelActivity", "true")).lower() != "false"
                return Catcher(el, interrupting, level.key, False)
    return None


def raising(imp: Any, c: XNode, our: str, kind: str, definition: XNode | None,
            base: dict[str, Any], end: bool) -> str | None:
    """Map an error or escalation end (``end``) or intermediate throw event. Returns
    ``"end"``/``"event"`` when it is mapped here, ``"plain"`` when it is to be mapped as
    an ordinary end or pass-through, or None when it is refused (and reported)."""
    ref = definition.get(_REF[kind]) if definition is not None else None
    catcher = find_catcher(imp, kind, ref or None)
    what = "error" if kind == "errorEventDefinition" else "escalation"
    if catcher is None:
        if what == "error":
            imp.unsupported(c, "no boundary event or event sub-process of an enclosing "
                            "activity catches this error", imp.defs)
            return None
        return "plain"  # an escalation nobody catches goes on
    if catcher.interrupting and not end:
        imp.unsupported(c, "an intermediate escalation throw event caught by an "
                        "interrupting catcher is not supported (its outgoing flows would "
                        "never be taken)", imp.defs)
        return None
    imp.raised.append(Raised(our, str(catcher.element.get("id")), catcher.interrupting,
                             catcher.key, c.line))
    if catcher.interrupting:
        imp.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
        return "end"
    return "plain"  # non-interrupting: the end or throw goes on as usual


def accepts(imp: Any, b: XNode) -> bool:
    """Whether an error or escalation boundary event catches something raised inside."""
    return any(r.catcher == b.get("id") for r in imp.raised)


def wire(imp: Any, flow: Any) -> None:
    """Once every catcher is imported: a flow from each raising event to its catcher, and
    interrupting ones become cancel nodes of the scope they interrupt."""
    for r in imp.raised:
        target = imp.map.ours.get(r.catcher)
        if target not in imp.nodes:
            continue  # the catcher itself is refused and reported
        imp.flows.append(flow(r.our, target, r.line))
        if r.interrupting:
            imp.draft(r.key).cancel.append(r.our)


__all__ = ["Catcher", "Level", "Raised", "accepts", "find_catcher", "raising", "wire"]
