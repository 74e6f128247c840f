"""BPMN events that wait or signal: timers, signals, escalations, event-based gateways and
message or signal boundary events, mapped onto the process language.

- intermediate timer catch (``timeDuration``) -> ``type: timer``;
- event-based gateway -> ``type: event`` (a deferred choice among the catch events and
  receive tasks after it: the first to happen wins);
- signal catch -> a ``receive`` task, signal throw -> an ``api`` task (the broadcast
  leaves the process), signal end -> that ``api`` task, then the end; but only while
  no imported process both throws and catches the same signal: a broadcast inside the
  case, heard by every catch waiting at that moment, is not modelled and is refused;
- escalation throw (intermediate or end) that nothing in the imported processes catches
  -> a pass-through (or the end): BPMN lets an uncaught escalation go on; a caught one
  (a boundary or an event sub-process) is refused;
- interrupting message or signal boundary event on a task done by someone outside
  (human, agent, bot, api, receive) -> ``catch: {message: <event>, to: <event>}``.

The mapping is documented in ``models/BPMN.md``.
"""

from __future__ import annotations

from typing import Any

from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN, PF, sanitize
from petriflow.model.bpmn.xmlread import XNode

SIGNAL = "signalEventDefinition"
ESCALATION = "escalationEventDefinition"
_EXTERNAL = ("human", "agent", "bot", "api", "receive")


def _uses(imp: Any, definition: str, ref: str) -> tuple[set[str | None], set[str | None]]:
    """(thrown, caught) references of one kind of event over the imported processes."""
    key = f"_uses_{definition}"
    found = imp.__dict__.get(key)
    if found is None:
        thrown: set[str | None] = set()
        caught: set[str | None] = set()
        for proc in imp.pools or [imp.process]:
            for el in proc.iter():
                if el.ns != BPMN:
                    continue
                d = next((x for x in el.children if x.ns == BPMN and x.tag == definition),
                         None)
                if d is None:
                    continue
                name = d.get(ref) or None
                if el.tag in ("intermediateThrowEvent", "endEvent"):
                    thrown.add(name)
                elif el.tag in ("intermediateCatchEvent", "boundaryEvent", "startEvent"):
                    caught.add(name)
        found = imp.__dict__[key] = (thrown, caught)
    return found


def _meets(names: set[str | None], name: str | None) -> bool:
    return bool(names) and (name is None or None in names or name in names)


def signal_inside(imp: Any, definition: XNode | None, throwing: bool) -> bool:
    """Whether the signal of this throw (catch) is also caught (thrown) in the import."""
    thrown, caught = _uses(imp, SIGNAL, "signalRef")
    name = definition.get("signalRef") if definition is not None else None
    return _meets(caught if throwing else thrown, name or None)


def escalation_caught(imp: Any, definition: XNode | None) -> bool:
    _, caught = _uses(imp, ESCALATION, "escalationRef")
    name = definition.get("escalationRef") if definition is not None else None
    return _meets(caught, name or None)


def catch_event(imp: Any, c: XNode, our: str, kind: str | None, definition: XNode | None,
                base: dict[str, Any], defs: Definitions) -> str | None:
    """An intermediate timer or signal catch event; None if refused (and reported)."""
    if kind == "timerEventDefinition":
        assert definition is not None
        after = imp.duration(c, definition, defs)
        if after is None:
            return None
        imp.add(our, {**base, "type": "timer", "after": after}, c.line)
        return "event"
    if kind == SIGNAL:
        if signal_inside(imp, definition, throwing=False):
            imp.unsupported(c, "this signal is also thrown inside the process; a broadcast "
                            "to the catch events waiting at that moment is not supported",
                            defs, hint="use a message flow (collaboration) or a gateway")
            return None
        imp.add(our, {**base, "type": "task", "kind": "receive", **imp.pf_task(c, defs)},
                c.line)
        return "event"
    return None


def throw_event(imp: Any, c: XNode, our: str, kind: str | None, definition: XNode | None,
                base: dict[str, Any], defs: Definitions) -> str | None:
    """An intermediate signal or escalation throw event; None if refused (and reported)."""
    if kind == SIGNAL:
        if signal_inside(imp, definition, throwing=True):
            imp.unsupported(c, "this signal is also caught inside the process; a broadcast "
                            "to the catch events waiting at that moment is not supported",
                            defs, hint="use a message flow (collaboration) or a gateway")
            return None
        imp.add(our, {**base, **broadcast(imp, c, definition, defs)}, c.line)
        return "event"
    if kind == ESCALATION:
        if escalation_caught(imp, definition):
            imp.unsupported(c, "this escalation is caught inside the process (boundary event "
                            "or event sub-process), which is not supported", defs)
            return None
        imp.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
        return "event"
    return None


def broadcast(imp: Any, c: XNode, definition: XNode | None, defs: Definitions
              ) -> dict[str, Any]:
    """The ``api`` task that broadcasts a signal to the world outside the case."""
    ref = definition.get("signalRef") if definition is not None else None
    signal = defs.by_id.get(ref) if ref else None
    name = (signal.get("name") if signal is not None else None) or ref or "signal"
    return {"type": "task", "kind": "api", "description": f"broadcast signal {name}",
            **imp.pf_task(c, defs)}


def end_trigger(imp: Any, c: XNode, kind: str | None, definition: XNode | None,
                defs: Definitions) -> str | None:
    """How a signal or escalation end event is mapped: ``"send"`` (an api task, then the
    end), ``"end"`` (a plain end), or None when refused (and reported)."""
    if kind == SIGNAL and not signal_inside(imp, definition, throwing=True):
        return "send"
    if kind == ESCALATION and not escalation_caught(imp, definition):
        return "end"
    what = "signal" if kind == SIGNAL else "escalation"
    imp.unsupported(c, f"this {what} end event is caught inside the process, which is not "
                    "supported", defs)
    return None


def event_gateway(imp: Any, c: XNode, our: str, base: dict[str, Any],
                  defs: Definitions) -> str | None:
    if str(c.get("instantiate", "false")).lower() == "true" or \
            str(c.get("eventGatewayType", "Exclusive")) != "Exclusive":
        imp.unsupported(c, "instantiating and parallel event-based gateways are not "
                        "supported", defs)
        return None
    imp.add(our, {**base, "type": "event"}, c.line)
    return "gateway"


def boundary_catch(imp: Any, b: XNode, our: str, host: dict[str, Any], kind: str | None,
                   interrupting: bool, is_task: bool) -> bool:
    """A message or signal boundary event on external work becomes a ``catch`` of the
    host task (``interrupting: false`` for a non-interrupting one); False if this
    boundary is not one of those."""
    if not (is_task and host.get("kind") in _EXTERNAL
            and kind in ("messageEventDefinition", SIGNAL)):
        return False
    if kind == SIGNAL:
        definition = next((x for x in b.children if x.ns == BPMN and x.tag == SIGNAL), None)
        if signal_inside(imp, definition, throwing=False):
            return False
    ext = b.find(BPMN, "extensionElements")
    direct = ext.find(PF, "direct") if ext is not None else None
    name = direct.get("message") if direct is not None else None  # as the exporter wrote it
    host.setdefault("catch", []).append({"message": sanitize(name) if name else our,
                                         "to": our,
                                         **({} if interrupting else {"interrupting": False})})
    return True


def follows_event_gateway(imp: Any, nid: str) -> bool:
    return any(imp.nodes.get(f.source, {}).get("type") == "event" for f in imp.incoming(nid))


__all__ = ["boundary_catch", "broadcast", "catch_event", "end_trigger", "event_gateway",
           "follows_event_gateway", "throw_event"]
