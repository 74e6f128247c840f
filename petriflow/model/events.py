"""Waiting for events: intermediate timers, event-based gateways, interrupting messages.

Three constructs of the process language wait for something that happens outside the
case (a deadline, a message) and share one shape in the net: an *offer* creates a work
item, and the transitions that consume it are the events that may end the wait. The
first one that happens wins; the others are withdrawn with the item. This is the
deferred choice of workflow nets: the choice is made by the environment, not by data.

- ``type: timer`` (after ``after``): ``(t:in) -> [t:offer] -> (t:work) -> [t:timeout]``.
- ``type: event`` gateway: one work item ``(g:work)``; every receive task ``r`` that
  follows it is a transition ``[r:message]`` on that item (meta ``message: r``), every
  timer ``t`` that follows it a transition ``[t:timeout]`` on that item.
- ``catch: [{message, to}]`` on an external task: ``(t:work) -> [t:message:<m>] ->
  (to:in)`` withdraws the task's work item when the message arrives.

The engine fires a timeout when its deadline passes on its clock and a message
transition when :meth:`~petriflow.runtime.engine.Engine.deliver` names its message; the
checker lets either fire at any time while the item waits, like the boundary timers of
``timeout``. The translation is documented in ``models/SEMANTICS.md``.
"""

from __future__ import annotations

from typing import Any

from petriflow.governance.participants import ParticipantKind
from petriflow.model.compiled import DATA_VAR, Action, output_var
from petriflow.model.durations import parse_duration
from petriflow.model.lowering import lower, outputs
from petriflow.model.spec import CallSpec, GatewaySpec, StartSpec, TaskSpec, TimerSpec
from petriflow.net.expr import Update, Var

MESSAGE_META = "message"
INTERRUPTING_META = "interrupting"   # "false" on a non-interrupting event's transition


def waits_of(nodes: dict[str, Any], flows: Any) -> dict[str, str]:
    """Each receive task or timer that follows an event-based gateway -> that gateway."""
    kinds = {n for n, s in nodes.items() if isinstance(s, GatewaySpec) and s.type == "event"}
    return {f.target: f.source for f in flows if f.source in kinds}


def catch_targets(node: TaskSpec) -> list[str]:
    return [c.to for c in node.catch]


# -- validation ------------------------------------------------------------------------------

def check_events(v: Any) -> None:
    """Checks of timers, event-based gateways and catches (``v``: the Validator, after its
    ``flows`` pass, so that ``v.incoming``/``v.outgoing`` index the flows)."""
    nodes = v.spec.nodes
    flows = v.spec.flows
    follows = waits_of(nodes, flows)
    side: set[str] = set()
    for n in nodes.values():
        if isinstance(n, TaskSpec):
            side |= {x for x in (n.handoff, n.on_error, n.timeout.to if n.timeout else None)
                     if x}
            side |= set(catch_targets(n))
    messages: dict[str, str] = {}
    for nid, node in nodes.items():
        at = ("nodes", nid)
        if isinstance(node, TimerSpec):
            try:
                parse_duration(node.after)
            except ValueError as exc:
                v.problem(f"timer '{nid}': {exc}", *at, "after", element=nid)
        if isinstance(node, GatewaySpec) and node.type == "event":
            _check_gateway(v, nid, [flows[i].target for i in v.outgoing.get(nid, [])], side)
        if isinstance(node, TaskSpec):
            _check_noninterrupting(v, nid, node)
            for i, c in enumerate(node.catch):
                where = (*at, "catch", i)
                if not node.kind.external:
                    v.problem(f"only external tasks catch messages ('{nid}' is auto)", *where,
                              element=nid)
                if c.message in messages:
                    v.problem(f"message '{c.message}' is caught by '{messages[c.message]}' "
                              f"and '{nid}'; a message name is caught in one place", *where,
                              element=nid)
                messages[c.message] = nid
                named = nodes.get(c.message)
                if isinstance(named, TaskSpec) and named.kind.external:
                    v.problem(f"the message '{c.message}' caught by '{nid}' has the name of an "
                              "external task; deliveries to that name go to the task", *where,
                              element=nid)
                target = nodes.get(c.to)
                if target is None:
                    v.problem(f"task '{nid}' catch names unknown node '{c.to}'", *where, "to",
                              element=nid)
                elif isinstance(target, StartSpec | CallSpec) or c.to in follows or (
                        isinstance(target, GatewaySpec)
                        and target.type in ("parallel", "inclusive", "event")):
                    v.problem(f"task '{nid}' catch leads to '{c.to}', a {target.type} node; "
                              "it must lead to a task, an exclusive gateway or an end event",
                              *where, "to", element=nid)
    for r, g in follows.items():
        if r in messages:
            v.problem(f"'{r}' follows event-based gateway '{g}' and is also the name of a "
                      "caught message", "nodes", r, element=r)


MAX_NONINTERRUPTING = 3  # each one doubles the transitions that take the work item


def _check_noninterrupting(v: Any, nid: str, node: TaskSpec) -> None:
    events = [("timeout", node.timeout)] if node.timeout and not node.timeout.interrupting \
        else []
    events += [(f"catch of '{c.message}'", c) for c in node.catch if not c.interrupting]
    for what, e in events:
        if e.to == nid:
            v.problem(f"task '{nid}': its non-interrupting {what} leads back to the task, "
                      "which is still open", "nodes", nid, element=nid)
    if len(events) > MAX_NONINTERRUPTING:
        v.problem(f"task '{nid}' has {len(events)} non-interrupting events; at most "
                  f"{MAX_NONINTERRUPTING} are supported", "nodes", nid, element=nid)


def _check_gateway(v: Any, nid: str, targets: list[str], side: set[str]) -> None:
    at = ("nodes", nid)
    timers = 0
    for t in targets:
        node = v.spec.nodes.get(t)
        if isinstance(node, TimerSpec):
            timers += 1
        elif not (isinstance(node, TaskSpec) and node.kind is ParticipantKind.RECEIVE):
            v.problem(f"event-based gateway '{nid}' leads to '{t}'; it must lead to receive "
                      "tasks and timers only (the events it waits for)", *at, element=nid)
            continue
        elif any(getattr(node, k) for k in ("timeout", "on_error", "remind", "compensation",
                                            "catch")):
            v.problem(f"receive task '{t}' follows event-based gateway '{nid}'; it cannot "
                      "also have a timeout, error, reminder, compensation or catch",
                      "nodes", t, element=t)
        entered = [v.spec.flows[i].source for i in v.incoming.get(t, [])]
        others = [s for s in entered if s != nid]
        if len(entered) - len(others) != 1 or t in side or (
                others and not isinstance(node, TaskSpec)):
            v.problem(f"'{t}' follows event-based gateway '{nid}' and must be entered by that "
                      "flow only (a receive task may also take the flows that bring its "
                      "message)", "nodes", t, element=t,
                      hint="put an exclusive gateway (a merge) after the event instead")
    if timers > 1:
        v.problem(f"event-based gateway '{nid}' waits for {timers} timers; at most one is "
                  "supported (the earliest deadline would always win)", *at, element=nid)


# -- compilation -----------------------------------------------------------------------------

def compile_timer(c: Any, nid: str, node: TimerSpec) -> None:
    """``(t:in) -> [t:offer] -> (t:work) -> [t:timeout] -> next``: a wait of ``after``."""
    if nid in c.waits:
        return  # a timer after an event-based gateway: part of the gateway's wait
    work = c.net.place(f"{nid}:work", c.origin(nid, "work item", None, ParticipantKind.TIMER))
    c.net.transition(f"{nid}:offer", c.origin(nid, "timer", Action.OFFER, ParticipantKind.TIMER),
                     inputs=[c.input_place(nid)], outputs_=[work])
    _timeout(c, nid, node, work)


def _timeout(c: Any, nid: str, node: TimerSpec, work: str) -> None:
    seconds = parse_duration(node.after)
    c.net.transition(f"{nid}:timeout",
                     c.origin(nid, "timer", Action.TIMEOUT, ParticipantKind.TIMER),
                     inputs=[work], outputs_=c.out_places(nid),
                     meta={"after_seconds": repr(seconds)})


def compile_event_gateway(c: Any, nid: str) -> None:
    """One work item for the gateway; each following event is a transition consuming it."""
    work = c.net.place(f"{nid}:work",
                       c.origin(nid, "work item", None, ParticipantKind.RECEIVE))
    c.net.transition(f"{nid}:offer",
                     c.origin(nid, "event", Action.OFFER, ParticipantKind.RECEIVE),
                     inputs=[c.input_place(nid)], outputs_=[work])
    for f in c.g.outgoing(nid):
        node = c.g.nodes[f.target]
        if isinstance(node, TimerSpec):
            _timeout(c, f.target, node, work)
        else:
            receive(c, f.target, node, work)


def receive(c: Any, rid: str, node: TaskSpec, work: str) -> None:
    """``(work) -> [r:message] -> next``: the message ``r`` arrived, with what ``r`` writes.
    Other flows into ``r`` bring the message (from another pool): it waits for them too."""
    brought = [c.flow_place(f) for f in c.g.incoming(rid) if c.g.nodes.get(f.source) is not
               None and c.waits.get(rid) != f.source]
    written = outputs(node.writes)
    variables = {output_var(w): c.colors[w] for w in node.writes}
    data = Update(Var(DATA_VAR), tuple(written.items())) if written else None
    guard = (lower(c.expr(node.check, rid), c.fields, written=written) if node.check
             else None)
    c.net.transition(f"{rid}:message",
                     c.origin(rid, "task", Action.MESSAGE, ParticipantKind.RECEIVE),
                     inputs=[work, *dict.fromkeys(brought)], outputs_=c.out_places(rid),
                     data=data, reads_data=True, variables=variables, guard=guard,
                     meta={MESSAGE_META: rid})


def compile_catches(c: Any, nid: str, node: TaskSpec, work: str) -> None:
    """``(t:work) -> [t:message:<m>] -> (to:in)``: the message withdraws the work item."""
    for catch in node.catch:
        if not catch.interrupting:
            continue  # compiled by compile_noninterrupting
        c.net.transition(f"{nid}:message:{catch.message}",
                         c.origin(nid, "task", Action.MESSAGE, ParticipantKind.RECEIVE),
                         inputs=[work], outputs_=[c.input_place(catch.to)],
                         meta={MESSAGE_META: catch.message})


def compile_noninterrupting(c: Any, nid: str, node: TaskSpec, work: str) -> list[str]:
    """The non-interrupting events of an external task; returns the places its offer
    marks (one *armed* place per event).

    ``[t:offer] -> (t:<e>:armed)``; the event ``(t:<e>:armed) -> [t:<e>] -> (t:<e>:fired),
    (to:in)`` starts a token at ``to`` and leaves the work item alone; every transition
    that takes the work item comes in variants that also take, for each event, either
    its armed or its fired token (``c.net.pending``), so nothing is left of the event
    once the item is gone, and it cannot happen after that."""
    events: list[tuple[str, str, str, dict[str, str], ParticipantKind]] = []
    if node.timeout is not None and not node.timeout.interrupting:
        events.append(("timeout", f"{nid}:timeout", node.timeout.to,
                       {"after_seconds": repr(parse_duration(node.timeout.after))},
                       ParticipantKind.TIMER))
    for catch in node.catch:
        if not catch.interrupting:
            events.append((f"message:{catch.message}", f"{nid}:message:{catch.message}",
                           catch.to, {MESSAGE_META: catch.message}, ParticipantKind.RECEIVE))
    armed_places = []
    for name, tid, to, meta, who in events:
        origin = c.origin(nid, "boundary event", None, who)
        armed = c.net.place(f"{tid}:armed", origin)
        fired = c.net.place(f"{tid}:fired", origin)
        action = Action.TIMEOUT if who is ParticipantKind.TIMER else Action.MESSAGE
        c.net.transition(tid, c.origin(nid, "task", action, who), inputs=[armed],
                         outputs_=[fired, c.input_place(to)],
                         meta={**meta, INTERRUPTING_META: "false"})
        c.net.pending.setdefault(work, []).append((name, armed, fired))
        armed_places.append(armed)
    return armed_places


__all__ = ["INTERRUPTING_META", "MESSAGE_META", "catch_targets", "check_events",
           "compile_catches", "compile_event_gateway", "compile_noninterrupting",
           "compile_timer", "receive", "waits_of"]
