"""Sub-processes, call activities and processes that can be interrupted: their boundary
events and event sub-processes become a ``scope`` of the process language.

- A timer (``timeDuration``), message or signal boundary event on a sub-process or call
  activity (BPMN 2.0 section 10.5.2; interrupting or not) is the scope's ``timeout`` or
  a ``catch`` leading to the boundary event (a pass-through with its outgoing flows).
- An event sub-process (section 10.3.6; ``triggeredByEvent="true"``) is imported like an
  embedded sub-process, inside the scope of the activity (or process) that holds it: its
  start event is a pass-through that the scope's event leads to (a message or signal:
  a ``catch``; a timer: the ``timeout``; an error or escalation: the raising events
  inside the scope lead to it, see :mod:`.raised`), and its end leads to where the
  scope ends (the activity's exit, or an end event of the process).
- Errors and escalations caught by a boundary of the sub-process: :mod:`.raised`.

The scope's nodes are the nodes imported under the activity's prefix (not its own loop
or multi-instance helpers); the process's scope holds every node. A sub-process with no
event is no scope: it is flattened as before. ``models/SEMANTICS.md`` (Scopes) says
what the net does; ``models/BPMN.md`` lists the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petriflow.model.bpmn import events
from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN
from petriflow.model.bpmn.xmlread import XNode

PROCESS = None  # the key of the process's own scope
_ESP_TRIGGERS = {"messageEventDefinition", "timerEventDefinition", events.SIGNAL,
                 "errorEventDefinition", events.ESCALATION}


@dataclass
class Draft:
    """What the importer knows of one scope while it imports."""

    key: str | None          # our id of the exit (None: the process)
    entry: str | None = None
    timeout: dict[str, Any] | None = None
    catch: list[dict[str, Any]] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    line: int = 0


def draft(imp: Any, key: str | None) -> Draft:
    found = imp.drafts.get(key)
    if found is None:
        found = imp.drafts[key] = Draft(key)
    return found


def event_subprocess(imp: Any, c: XNode, our: str, defs: Definitions, stack: Any,
                     base: dict[str, Any], key: str | None) -> str | None:
    """Import an event sub-process of the scope ``key``; returns the element kind made."""
    start_el = next((x for x in c.children if x.ns == BPMN and x.tag == "startEvent"), None)
    if start_el is None:
        imp.unsupported(c, "an event sub-process needs a start event", defs)
        return None
    kind, definition, ok = imp.definition(start_el, defs)
    if not ok:
        return None
    if kind not in _ESP_TRIGGERS:
        what = kind[: -len("EventDefinition")] if kind else "none"
        imp.unsupported(start_el, f"{what} start events of event sub-processes are not "
                        "supported", defs, hint="supported: message, timer (timeDuration), "
                        "signal, error, escalation")
        return None
    interrupting = str(start_el.get("isInterrupting", "true")).lower() != "false"
    if kind == "errorEventDefinition" and not interrupting:
        imp.unsupported(start_el, "an error start event always interrupts (BPMN 10.3.6)",
                        defs)
        return None
    after = None
    if kind == "timerEventDefinition":
        assert definition is not None
        after = imp.duration(start_el, definition, defs)
        if after is None:
            return None
    d = draft(imp, key)
    if after is not None and d.timeout is not None:
        imp.unsupported(start_el, "a second timer of the same scope (a scope has one "
                        "timer: its boundary timer or one timer event sub-process)", defs)
        return None
    imp.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
    imp.map.scopes.append(imp.scope_class(f"{our}__", our))
    start = imp.nested(c, f"{our}__", defs, stack, our, esp=True)
    if start is None:
        return None
    if key is None:  # at the process level, it ends at an end event of its own
        end = imp.new_id(f"{our}__end")
        imp.map.node_of[end], imp.map.tag_of[end] = str(c.get("id")), c.tag
        imp.add(end, {"type": "end"}, c.line)
        imp.flows.append(imp.flow_class(our, end, c.line))
    else:
        imp.flows.append(imp.flow_class(our, key, c.line))
        next(s for s in imp.map.scopes if s.element == key).ends.append(our)
    event = {"to": start, **({} if interrupting else {"interrupting": False})}
    if after is not None:
        d.timeout = {"after": after, **event}
    elif kind in ("messageEventDefinition", events.SIGNAL):
        d.catch.append({"message": start, **event})
        if kind == events.SIGNAL:
            events.heard(imp, definition, start)
    else:
        imp.esp_catchers.append((start_el, start))
    return "container"


def boundary(imp: Any, b: XNode, our: str, kind: str | None, definition: XNode | None,
             interrupting: bool, host_id: str, defs: Definitions) -> bool:
    """A timer, message or signal boundary event of a sub-process or call activity (or an
    error or escalation one that something inside raises); False if not one of those."""
    if host_id not in imp.entries:
        return False
    d = draft(imp, host_id)
    event = {"to": our, **({} if interrupting else {"interrupting": False})}
    if kind == "timerEventDefinition":
        if d.timeout is not None:
            return False
        assert definition is not None
        after = imp.duration(b, definition, defs)
        if after is None:
            return True  # reported
        d.timeout = {"after": after, **event}
        return True
    if kind in ("messageEventDefinition", events.SIGNAL):
        d.catch.append({"message": our, **event})
        if kind == events.SIGNAL:
            events.heard(imp, definition, our)
        return True
    if kind in ("errorEventDefinition", events.ESCALATION):
        from petriflow.model.bpmn import raised

        return raised.accepts(imp, b)
    return False


def check_catchers(imp: Any) -> None:
    """Error and escalation event sub-processes that nothing inside raises can never
    start: refused (errors of tasks themselves are not modelled)."""
    targets = {r.catcher for r in imp.raised}
    for start_el, _ in imp.esp_catchers:
        if start_el.get("id") not in targets:
            imp.unsupported(start_el, "nothing inside the scope raises what this start event "
                            "catches (an error or escalation of a task itself is not "
                            "modelled)", imp.defs)


def terminate(imp: Any) -> None:
    """A terminate end event of a scope withdraws the scope's other branches (BPMN 2.0
    section 10.5.3: it ends the sub-process or process it is in): a ``cancel`` node.
    Sub-processes (and the process) whose ending needs a scope are ``forced``."""
    for key in imp.map.forced:
        if key is None or key in imp.entries:
            draft(imp, key)
    for our, key in imp.map.terminate_in.items():
        if key in imp.drafts and our in imp.nodes:
            imp.drafts[key].cancel.append(our)
            imp.map.terminate.discard(our)


def emit(imp: Any) -> dict[str, Any]:
    """The ``scopes`` of the process, once every node is known."""
    out: dict[str, Any] = {}
    for key, d in imp.drafts.items():
        if not (d.timeout or d.catch or d.cancel or key in imp.map.forced):
            continue
        if key is None:
            sid = imp.new_id("process_scope")
            imp.map.node_of[sid], imp.map.tag_of[sid] = imp.name, "process"
            entry = next((n for n, s in imp.nodes.items() if s.get("type") == "start"), None)
            nodes = list(imp.nodes)
            exit_id = None
        else:
            sid, exit_id = key, key
            entry = imp.entries.get(key)
            own = imp.map.node_of.get(key)
            nodes = [n for n in imp.nodes if n.startswith(f"{key}__")
                     and imp.map.node_of.get(n) != own and n not in imp.map.messages]
        if entry is None:
            continue  # its start is reported
        if exit_id is not None:  # its last step is a pass-through (models/SEMANTICS.md)
            nodes += _leave_through_pass_throughs(imp, exit_id)
        imp.map.scoped.add(sid)
        out[sid] = {"nodes": nodes, "entry": entry,
                    **({"exit": exit_id} if exit_id else {}),
                    **({"timeout": d.timeout} if d.timeout else {}),
                    **({"catch": d.catch} if d.catch else {}),
                    **({"cancel": list(dict.fromkeys(d.cancel))} if d.cancel else {})}
    return out


def _leave_through_pass_throughs(imp: Any, exit_id: str) -> list[str]:
    """A node that is no pass-through and leads straight to the exit (a sub-process
    without end events) leaves through a pass-through ``<node>__leave``."""
    made = []
    for f in imp.incoming(exit_id):
        node = imp.nodes.get(f.source, {})
        if node.get("type") in ("exclusive", "parallel", "inclusive") or (
                node.get("type") == "task" and node.get("kind") == "auto"
                and not node.get("set") and not node.get("check")):
            continue
        mid = imp.new_id(f"{f.source}__leave")
        imp.add(mid, {"type": "task", "kind": "auto"}, f.line)
        imp.flows.append(imp.flow_class(mid, exit_id, f.line))
        f.target = mid
        imp._moved()
        made.append(mid)
    return made


__all__ = ["PROCESS", "Draft", "boundary", "check_catchers", "draft", "emit",
           "event_subprocess", "terminate"]
