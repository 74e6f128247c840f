"""Broadcasts: a message delivered, in one moment, to every catch that waits for it.

A BPMN signal thrown and caught inside one process (BPMN 2.0 section 10.5.1, signal:
"broadcast communication") reaches every catch event waiting for it *at that moment*,
and none that starts waiting later. ``broadcasts: {x: [m1, m2]}`` says that the automatic
task ``x`` broadcasts the messages ``m1``, ``m2`` (the names its catchers are delivered
by: receive tasks, a task's ``catch``, a scope's ``catch``, receive tasks after an
event-based gateway). The net (``models/SEMANTICS.md``, Broadcasts):

- ``[x]`` marks ``(x:broadcast)`` instead of going on;
- each catch transition ``t`` of one of the messages has a copy ``[t@x]`` that also takes
  and gives back ``(x:broadcast)``: it fires, automatically, for every catch waiting;
- ``[x:broadcast:done]``, inhibited while any catch still waits, ends the broadcast and
  goes on along ``x``'s flows;
- while ``(x:broadcast)`` is marked, no new catch of those messages can begin waiting
  (the transitions that would mark its waiting place are inhibited).

Catches that write data or check it are not broadcast targets (a signal carries
nothing). A copy that takes a work item closes it (meta ``withdraws``). Copies count as
bookkeeping for soundness: a catch that is never waiting when ``x`` broadcasts misses
the signal, as in BPMN, and can still be delivered from outside.
"""

from __future__ import annotations

from typing import Any

from petriflow.governance.participants import ParticipantKind
from petriflow.model.compiled import Action
from petriflow.model.events import MESSAGE_META
from petriflow.model.scopes import BOOKKEEPING, WITHDRAWS_META
from petriflow.model.spec import ProcessSpec, TaskSpec
from petriflow.net.structure import ArcKind


def check_broadcasts(v: Any) -> None:
    """Each broadcaster is an automatic task; each message is caught somewhere."""
    spec: ProcessSpec = v.spec
    caught = {c.message for n in spec.nodes.values() if isinstance(n, TaskSpec)
              for c in n.catch}
    caught |= {c.message for s in spec.scopes.values() for c in s.catch}
    caught |= {n for n, s in spec.nodes.items() if isinstance(s, TaskSpec)
               and s.kind is ParticipantKind.RECEIVE}
    for x, messages in spec.broadcasts.items():
        node = spec.nodes.get(x)
        if not (isinstance(node, TaskSpec) and node.kind is ParticipantKind.AUTO):
            v.problem(f"broadcast '{x}': only an automatic task broadcasts", "broadcasts",
                      x, element=x)
            continue
        for m in messages:
            target = spec.nodes.get(m)
            if m not in caught:
                v.problem(f"broadcast '{x}': nothing catches '{m}'", "broadcasts", x,
                          element=x)
            elif isinstance(target, TaskSpec) and (target.writes or target.check):
                v.problem(f"broadcast '{x}': receive task '{m}' writes or checks data; a "
                          "broadcast carries none", "broadcasts", x, element=x)


def plan(c: Any) -> None:
    """Before the nodes: each broadcaster's token waits in ``(x:broadcast)``."""
    for x in c.spec.broadcasts:
        held = c.net.place(f"{x}:broadcast", c.origin(x, "broadcast"))
        c.net.hook(x, divert=[held])


def _catchers(c: Any, message: str) -> list[str]:
    """The transitions (every variant) that deliver ``message`` to a waiting catch."""
    found = [t for t, meta in c.net.metas.items() if meta.get(MESSAGE_META) == message]
    node = c.g.nodes.get(message)
    if isinstance(node, TaskSpec) and node.kind is ParticipantKind.RECEIVE and \
            f"{message}:complete" in c.net.variants:
        found += c.net.variants[f"{message}:complete"]
    return found


def finish(c: Any) -> None:
    """After the nodes and scopes: the copies, the end of each broadcast, and the
    inhibitor arcs that keep new catches from waiting during it."""
    for x, messages in c.spec.broadcasts.items():
        held = f"{x}:broadcast"
        waiting: list[str] = []
        copies = []
        for m in messages:
            for tid in _catchers(c, m):
                ins, outs = c.net.ins[tid], c.net.outs[tid]
                base = c.net.metas[tid].get("variant_of", tid)
                first = c.net.ins[base][0]
                if first not in waiting:
                    waiting.append(first)
                work = [p for p in ins if c.net.places[p].kind == "work item"]
                origin = c.net.transitions[tid]
                meta = {k: v for k, v in c.net.metas[tid].items()
                        if k in ("interrupting", MESSAGE_META)}
                # (each variant is copied as it is: no second expansion into variants)
                copies.append(c.net._transition(
                    f"{tid}@{x}", c.origin(origin.element, origin.kind, Action.RUN),
                    [*ins, held], [*outs, held], None, False, None, None, [],
                    {**meta, **BOOKKEEPING,
                     **({WITHDRAWS_META: " ".join(work)} if work else {})}))
        c.net.transition(f"{x}:broadcast:done", c.origin(x, "broadcast", Action.ROUTE),
                         inputs=[held], inhibitors=waiting,
                         outputs_=c.net.hooks[x].get("diverted", []))
        for tid, outs in list(c.net.outs.items()):
            if tid not in copies and set(outs) & set(waiting):
                c.net.builder.arc(held, tid, kind=ArcKind.INHIBITOR)


__all__ = ["check_broadcasts", "finish", "plan"]
