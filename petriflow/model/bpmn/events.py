"""BPMN events that wait or signal: timers, signals, escalations, event-based gateways and
message or signal boundary events, mapped onto the process language.

- intermediate timer catch (``timeDuration``) -> ``type: timer``;
- event-based gateway -> ``type: event`` (a deferred choice among the catch events and
  receive tasks after it: the first to happen wins);
- signal catch -> a ``receive`` task, signal throw -> an ``api`` task (the broadcast
  leaves the process), signal end -> that ``api`` task, then the end; when the imported
  processes also catch the signal, the throw is an ``auto`` task that *broadcasts* to
  every catch of it (``broadcasts``, models/SEMANTICS.md: heard by every catch waiting
  at that moment, BPMN 2.0 section 10.5.1);
- escalations: :mod:`.raised`;
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


def _inside(proc: XNode) -> list[XNode]:
    """The elements of a process, without the start events of the process itself (a
    signal that starts a case is not heard inside one)."""
    out: list[XNode] = []

    def walk(node: XNode, top: bool) -> None:
        for ch in node.children:
            if not (top and ch.ns == BPMN and ch.tag == "startEvent"):
                out.append(ch)
                walk(ch, False)
    walk(proc, True)
    return out


def _uses(imp: Any, definition: str, ref: str) -> tuple[set[str | None], set[str | None]]:
    """(thrown, caught) references of one kind of event over the imported processes."""
    key = f"_uses_{definition}"
    found = imp.__dict__.get(key)
    if found is None:
        thrown: set[str | None] = set()
        caught: set[str | None] = set()
        for proc in imp.pools or [imp.process]:
            for el in _inside(proc):
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


def heard(imp: Any, definition: XNode | None, message: str) -> None:
    """A catch of a signal that the imported processes also throw: a broadcast target."""
    if signal_inside(imp, definition, throwing=False):
        ref = definition.get("signalRef") if definition is not None else None
        imp.signal_catches.append((ref or None, message))


def broadcasts(imp: Any) -> dict[str, list[str]]:
    """Each throw of a signal caught inside -> the messages of the catches it reaches."""
    out: dict[str, list[str]] = {}
    for ref, our in imp.signal_throws:
        out[our] = list(dict.fromkeys(m for r, m in imp.signal_catches
                                      if r is None or ref is None or r == ref))
    return out


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
        heard(imp, definition, our)
        imp.add(our, {**base, "type": "task", "kind": "receive", **imp.pf_task(c, defs)},
                c.line)
        return "event"
    return None


def throw_event(imp: Any, c: XNode, our: str, kind: str | None, definition: XNode | None,
                base: dict[str, Any], defs: Definitions) -> str | None:
    """An intermediate signal or escalation throw event; None if refused (and reported)."""
    if kind == SIGNAL:
        imp.add(our, {**base, **broadcast(imp, c, definition, defs, our)}, c.line)
        return "event"
    return None


def broadcast(imp: Any, c: XNode, definition: XNode | None, defs: Definitions, our: str
              ) -> dict[str, Any]:
    """The ``api`` task that broadcasts a signal to the world outside the case, or, when
    the imported processes catch it, the ``auto`` task that broadcasts it to them."""
    ref = definition.get("signalRef") if definition is not None else None
    if signal_inside(imp, definition, throwing=True):
        imp.signal_throws.append((ref or None, our))
        return {"type": "task", "kind": "auto"}
    signal = defs.by_id.get(ref) if ref else None
    name = (signal.get("name") if signal is not None else None) or ref or "signal"
    return {"type": "task", "kind": "api", "description": f"broadcast signal {name}",
            **imp.pf_task(c, defs)}


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
    ext = b.find(BPMN, "extensionElements")
    direct = ext.find(PF, "direct") if ext is not None else None
    name = direct.get("message") if direct is not None else None  # as the exporter wrote it
    if kind == SIGNAL:
        definition = next((x for x in b.children if x.ns == BPMN and x.tag == SIGNAL), None)
        heard(imp, definition, sanitize(name) if name else our)
    host.setdefault("catch", []).append({"message": sanitize(name) if name else our,
                                         "to": our,
                                         **({} if interrupting else {"interrupting": False})})
    return True


def follows_event_gateway(imp: Any, nid: str) -> bool:
    return any(imp.nodes.get(f.source, {}).get("type") == "event" for f in imp.incoming(nid))


__all__ = ["boundary_catch", "broadcast", "broadcasts", "catch_event", "event_gateway",
           "follows_event_gateway", "heard", "throw_event"]
