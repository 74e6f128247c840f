"""Scopes: regions of a process that are interrupted, and complete, as one.

A scope is what BPMN 2.0 calls the instance of a sub-process (section 10.3.5) or of the
process itself: boundary events (10.5.2, 10.5.4) and event sub-processes (10.3.6) are
its events. The net of a scope ``S`` (``models/SEMANTICS.md``, Scopes, has the pictures):

- ``(S:scope)`` holds one token while ``S`` is active: its entry node marks
  ``(S:scope:start)``, and ``[S:offer]`` turns that into ``(S:scope)`` plus an *armed*
  token per non-interrupting event. When ``S`` has a timer or messages, ``(S:scope)`` is
  a work item (the engine's timer and deliveries find it there).
- ``S`` completes when its last token has left: the exit node takes ``(S:scope)`` and one
  token from its input place, and is inhibited while any place of ``S`` holds a token
  (``[X:merge]`` joins the tokens of branches that ended separately: BPMN's implicit end
  of a sub-process). The process scope's ``[S:complete]`` takes ``(S:scope)`` once only
  end places are marked.
- An interrupting event (a timer, a message, a node listed in ``cancel``) marks
  ``(S:scope:cancel)``: while it is marked every other transition that consumes a place of
  ``S`` is inhibited, ``[S:scope:drain:p]`` removes the tokens of ``S`` one by one, and
  ``[<event>:resume]`` (inhibited until nothing of ``S`` is left) puts the token where
  the event leads. Leading out of ``S`` (a boundary event) ends ``S``: the event took
  ``(S:scope)``. Leading into ``S`` (an event sub-process, a terminate end) keeps ``S``
  active; its events that lead into ``S`` are disarmed (they cannot happen any more).
- A non-interrupting event happens at most once per activation of ``S`` (its armed token
  becomes a fired one), as for tasks; every transition that takes ``(S:scope)`` comes in
  one variant per state of those events.

A drain or a completion that takes a work item's token carries meta ``withdraws``: the
engine closes that item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petriflow.governance.participants import ParticipantKind
from petriflow.model.compiled import DATA_PLACE, SOURCE_PLACE, Action
from petriflow.model.durations import parse_duration
from petriflow.model.events import INTERRUPTING_META, MESSAGE_META
from petriflow.model.spec import (
    CallSpec,
    EndSpec,
    GatewaySpec,
    ProcessSpec,
    ScopeSpec,
    StartSpec,
    TaskSpec,
)
from petriflow.net.structure import ArcKind

WITHDRAWS_META = "withdraws"   # space-separated work places whose items a step closes
BOOKKEEPING = {"scope": "bookkeeping"}  # meta of drains, disarms and merges: no model step,
                                        # exempt from soundness's "no dead transitions"
MAX_PENDING = 4                # non-interrupting events (and the inner pair) per scope
SCOPE_KIND = "scope"           # origin kind of a scope's bookkeeping places


def place(sid: str, *parts: str) -> str:
    return ":".join([sid, "scope", *parts])


def is_scope_place(pid: str) -> bool:
    return ":scope" in pid and not pid.startswith("flow:")


def targets(spec: ProcessSpec) -> set[str]:
    """Nodes entered by a scope's events (they need no incoming flow)."""
    out: set[str] = set()
    for s in spec.scopes.values():
        if s.timeout is not None:
            out.add(s.timeout.to)
        out.update(c.to for c in s.catch)
    return out


# -- validation ------------------------------------------------------------------------------


def check_scopes(v: Any) -> None:
    """Checks of the ``scopes`` section (``v``: the Validator, after its flows pass)."""
    spec: ProcessSpec = v.spec
    nodes = spec.nodes
    flows = spec.flows
    sets = {sid: set(s.nodes) for sid, s in spec.scopes.items()}
    names = {c.message: nid for nid, n in nodes.items() if isinstance(n, TaskSpec)
             for c in n.catch}
    for sid, s in spec.scopes.items():  # one message name, one place that catches it
        for c in s.catch:
            other = names.get(c.message)
            named = nodes.get(c.message)
            if other is not None or (isinstance(named, TaskSpec) and named.kind.external
                                     and c.to != c.message):
                v.problem(f"scope '{sid}': message '{c.message}' is also caught by "
                          f"'{other or c.message}'; a message name is caught in one place",
                          "scopes", sid, element=sid)
            names[c.message] = sid
    for sid, s in spec.scopes.items():
        def problem(msg: str, *where: str | int, _sid: str = sid) -> None:
            v.problem(f"scope '{_sid}': {msg}", "scopes", _sid, *where, element=_sid)

        inside = sets[sid]
        unknown = [n for n in s.nodes if n not in nodes]
        if unknown:
            problem(f"names unknown node(s) {', '.join(unknown)}", "nodes")
            continue
        if sid in nodes and sid != s.exit:
            problem("a scope is named after a node only when that node is its exit")
        if s.entry not in inside:
            problem(f"its entry '{s.entry}' is not one of its nodes", "entry")
            continue
        entry = nodes[s.entry]
        if s.exit is None:
            if not isinstance(entry, StartSpec) or inside != set(nodes):
                problem("a scope without an exit is the whole process: its nodes are every "
                        "node and its entry is the start event")
        else:
            exit_node = nodes.get(s.exit)
            if s.exit in inside or not _pass_through(exit_node):
                problem(f"its exit '{s.exit}' must be an automatic task outside the scope "
                        "with nothing to do (a pass-through)", "exit")
            if not _pass_through(entry):
                problem(f"its entry '{s.entry}' must be an automatic task with nothing to "
                        "do (a pass-through)", "entry")
            for f in flows:
                if f.target == s.entry and f.source in inside:
                    problem(f"flow {f.id} leads back to the entry from inside")
                elif f.target in inside and f.target != s.entry and f.source not in inside:
                    problem(f"flow {f.id} enters the scope elsewhere than at its entry")
                elif f.target == s.exit and f.source not in inside:
                    problem(f"flow {f.id} enters its exit from outside the scope")
                elif f.target == s.exit and not (
                        _pass_through(nodes.get(f.source))
                        or isinstance(nodes.get(f.source), GatewaySpec)):
                    # the last step of a scope moves nothing but its token: an event that
                    # the checker lets happen after it is as if it happened before it
                    problem(f"flow {f.id} enters its exit from '{f.source}', which is not a "
                            "pass-through (an automatic task with nothing to do) or gateway")
        for other, nodes_other in sets.items():
            if other != sid and inside & nodes_other and not (
                    inside <= nodes_other or nodes_other <= inside):
                problem(f"overlaps scope '{other}' without one holding the other")
        for nid in s.nodes:
            node = nodes[nid]
            if isinstance(node, CallSpec):
                problem(f"call activity '{nid}' inside a scope is not supported")
            if isinstance(node, TaskSpec):
                if node.compensation:
                    problem(f"task '{nid}' is compensable; compensation inside a scope is not "
                            "supported")
                sides = [x for x in (node.handoff, node.on_error,
                                     node.timeout.to if node.timeout else None,
                                     *(c.to for c in node.catch)) if x]
                if any(x not in inside for x in sides):
                    problem(f"task '{nid}' leads out of the scope by a handoff, timeout, error "
                            "or catch")
            if isinstance(node, EndSpec) and node.compensate:
                problem(f"end event '{nid}' compensates; compensation inside a scope is not "
                        "supported")
        timers = 1 if s.timeout is not None else 0
        events = [e for e in ([s.timeout] if s.timeout else []) + list(s.catch)]
        for e in events:
            target = nodes.get(e.to)
            if target is None:
                problem(f"an event leads to unknown node '{e.to}'")
            elif isinstance(target, StartSpec | CallSpec) or (
                    isinstance(target, GatewaySpec) and target.type != "exclusive"):
                problem(f"an event leads to '{e.to}'; it must lead to a task, an exclusive "
                        "gateway or an end event")
            elif e.to == s.exit:
                problem("an event leads to the scope's own exit")
        pending = sum(1 for e in events if not e.interrupting)
        pending += any(e.interrupting and e.to in inside for e in events) or any(
            _resets(s, n, flows) for n in s.cancel)
        if pending > MAX_PENDING:
            problem(f"{pending} non-interrupting events; at most {MAX_PENDING} are supported")
        if timers > 1:
            problem("one timer per scope")
        if events and s.exit is None and any(e.to not in inside for e in events):
            problem("the events of the process scope lead into it")
        for n in s.cancel:
            node = nodes.get(n)
            if n not in inside:
                problem(f"cancel node '{n}' is not one of its nodes", "cancel")
                continue
            if not ((isinstance(node, TaskSpec) and node.kind is ParticipantKind.AUTO)
                    or isinstance(node, EndSpec)):
                problem(f"cancel node '{n}' must be an automatic task or an end event",
                        "cancel")
            outs = [f.target for f in flows if f.source == n]
            inner = [t for t in outs if t in inside or t == s.exit]
            if inner and len(inner) != len(outs):
                problem(f"cancel node '{n}' leads both into and out of the scope", "cancel")
            if isinstance(node, EndSpec) and s.exit is not None:
                problem(f"cancel node '{n}' is an end event of a scope with an exit",
                        "cancel")


def _pass_through(node: Any) -> bool:
    return isinstance(node, TaskSpec) and node.kind is ParticipantKind.AUTO and not (
        node.set or node.check or node.compensation)


def _resets(s: ScopeSpec, n: str, flows: Any) -> bool:
    """Whether cancel node ``n`` keeps the scope active (it leads into it or to its exit)."""
    if s.exit is None:
        return True
    return any(f.source == n and (f.target in s.nodes or f.target == s.exit) for f in flows)


# -- compilation -----------------------------------------------------------------------------


@dataclass
class _Plan:
    sid: str
    spec: ScopeSpec
    active: str
    work: bool
    # non-interrupting events and the inner pair: (name, armed, fired, leads inside)
    pairs: list[tuple[str, str, str, bool]] = field(default_factory=list)
    inner: tuple[str, str] | None = None
    resumes: list[tuple[str, str, list[str]]] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    own: set[str] = field(default_factory=set)
    reached: dict[str, str] = field(default_factory=dict)  # end event -> its reached place
    swept: str = ""          # the sweep's last place: every item of the scope is done


def plan(c: Any) -> list[_Plan]:
    """Before the nodes are compiled: the scopes' places, the pending events of their
    active tokens, and the hooks on entry, exit and cancel nodes (``c.net.hooks``)."""
    plans = []
    scopes = c.spec.scopes
    for sid, s in scopes.items():
        events = ([s.timeout] if s.timeout else []) + list(s.catch)
        who = ParticipantKind.RECEIVE if s.catch else ParticipantKind.TIMER
        work = bool(events)
        origin = c.origin(sid, "work item" if work else SCOPE_KIND, None,
                          who if work else None)
        active = c.net.place(place(sid), origin)
        p = _Plan(sid, s, active, work)
        for e in events:
            c.g.side_entries.add(e.to)
        for e in events:
            if not e.interrupting:
                name = _event_name(e)
                armed = c.net.place(place(sid, name, "armed"), c.origin(sid, SCOPE_KIND))
                fired = c.net.place(place(sid, name, "fired"), c.origin(sid, SCOPE_KIND))
                p.pairs.append((name, armed, fired, _inside(s, e.to)))
        if any(e.interrupting and _inside(s, e.to) for e in events) or any(
                _resets(s, n, c.spec.flows) for n in s.cancel):
            armed = c.net.place(place(sid, "inner", "armed"), c.origin(sid, SCOPE_KIND))
            fired = c.net.place(place(sid, "inner", "fired"), c.origin(sid, SCOPE_KIND))
            p.inner = (armed, fired)
            p.pairs.append(("inner", armed, fired, True))
        c.net.pending[active] = [(n, a, f) for n, a, f, _ in p.pairs]
        start = c.net.place(place(sid, "start"), c.origin(sid, SCOPE_KIND))
        c.net.hook(s.entry, outputs=[start])
        if s.exit is None:  # the process's ends: reached, final once the scope completed
            for n in s.nodes:
                if isinstance(c.g.nodes.get(n), EndSpec):
                    reached = c.net.place(f"{n}:reached", c.origin(n, "end reached"))
                    p.reached[n] = reached
                    if n not in s.cancel:
                        c.net.hook(n, divert=[reached])
        cancel = c.net.place(place(sid, "cancel"), c.origin(sid, SCOPE_KIND))
        sweep = c.net.place(place(sid, "sweep", "0"), c.origin(sid, SCOPE_KIND))
        for n in s.cancel:
            then = c.net.place(place(sid, "then", n), c.origin(sid, SCOPE_KIND))
            if _resets(s, n, c.spec.flows):
                assert p.inner is not None
                c.net.hook(n, inputs=[p.inner[0]], divert=[p.inner[1], cancel, sweep, then])
            else:
                c.net.hook(n, inputs=[active], divert=[cancel, sweep, then],
                           meta=_withdraw(p, active))
        if s.exit is not None:
            c.net.hook(s.exit, inputs=[active], meta=_withdraw(p, active))
        plans.append(p)
    return plans


def _event_name(e: Any) -> str:
    return f"message:{e.message}" if hasattr(e, "message") else "timeout"


def _inside(s: ScopeSpec, target: str) -> bool:
    return s.exit is None or target in s.nodes


def _withdraw(p: _Plan, *places: str) -> dict[str, str]:
    work = [x for x in places if x == p.active and p.work]
    return {WITHDRAWS_META: " ".join(work)} if work else {}


def finish(c: Any, plans: list[_Plan]) -> None:
    """After the nodes: offers, events, completion, drains and resumptions (then
    :func:`freeze`, once every transition exists)."""
    own: set[str] = set()
    for p in plans:  # first what creates places: the offer and the events' triggers
        s, sid = p.spec, p.sid
        cancel = c.net.place(place(sid, "cancel"), c.origin(sid, SCOPE_KIND))
        who = ParticipantKind.RECEIVE if s.catch else ParticipantKind.TIMER
        own.add(c.net.transition(
            f"{sid}:offer", c.origin(sid, "scope", Action.OFFER if p.work else Action.ROUTE,
                                     who if p.work else None),
            inputs=[place(sid, "start")], outputs_=[p.active, *(a for _, a, _, _ in p.pairs)]))
        for e in ([s.timeout] if s.timeout else []) + list(s.catch):
            _event(c, p, e, cancel)
    contents_of = {p.sid: contents(c, p) for p in plans}
    for p in plans:
        s, sid, content = p.spec, p.sid, contents_of[p.sid]
        cancel = place(sid, "cancel")
        if s.exit is None:  # the case's ends count once the process scope has completed
            reached = set(p.reached.values())
            own.add(c.net.transition(f"{sid}:complete", c.origin(sid, "scope", Action.ROUTE),
                                     inputs=[p.active],
                                     inhibitors=[q for q in content if q not in reached],
                                     meta={**BOOKKEEPING, **_withdraw(p, p.active)}))
            for n, q in p.reached.items():
                own.add(c.net.transition(f"{n}:final", c.origin(n, "end", Action.ROUTE),
                                         inputs=[q], outputs_=[f"end:{n}"],
                                         inhibitors=[p.active, place(sid, "start")],
                                         meta=BOOKKEEPING))
        else:  # the exit waits until nothing is left inside; ended branches merge first
            x_in = c.input_place(s.exit)
            for vid in c.net.variants.get(s.exit, ()):
                for q in content:
                    c.net.builder.arc(q, vid, kind=ArcKind.INHIBITOR,
                                      weight=2 if q == x_in else 1)
            tid = f"{s.exit}:merge"
            origin = c.origin(s.exit, "task", Action.ROUTE)
            c.net.builder.transition(tid, name=origin.label, line=origin.line,
                                     meta={"element": s.exit, "action": Action.ROUTE.value,
                                           **BOOKKEEPING})
            c.net.transitions[tid] = origin
            c.net.builder.arc(x_in, tid, weight=2)
            c.net.builder.arc(tid, x_in)
            c.net.ins[tid] = [x_in]
        _sweep(c, p, content, own)
        for name, then, outs in p.resumes:
            _resume(c, p, f"{sid}:{name}:resume", then, outs, content, own)
        for n in s.cancel:  # (a terminate end of the process: reached, then final)
            outs = [p.reached.get(n, q) if q == f"end:{n}" else q
                    for q in c.net.hooks[n].get("diverted", [])]
            _resume(c, p, f"{n}:resume", place(sid, "then", n), outs, content, own)
        p.content, p.own = content, own


def freeze(c: Any, plans: list[_Plan]) -> None:
    """While a scope is cancelled, nothing else inside it moves: every transition that
    consumes a place of the scope, but its own drains and resumptions, is inhibited."""
    for p in plans:
        watched = {*p.content, p.active}  # (its leaving events and its exit take the latter)
        cancel = place(p.sid, "cancel")
        sweeping = {t for t in p.own if t.startswith(f"{place(p.sid)}:")}
        sweeping |= {f"{p.sid}:{name}:resume" for name, _, _ in p.resumes}
        sweeping |= {f"{n}:resume" for n in p.spec.cancel}
        for tid, ins in list(c.net.ins.items()):
            if tid not in sweeping and watched.intersection(ins):
                c.net.builder.arc(cancel, tid, kind=ArcKind.INHIBITOR)


def _event(c: Any, p: _Plan, e: Any, cancel: str) -> None:
    """A timer or message of the scope: non-interrupting (once per activation), leading
    out (it ends the scope) or into it (an event sub-process: the scope stays active)."""
    s, sid = p.spec, p.sid
    timer = not hasattr(e, "message")
    name = _event_name(e)
    meta = ({"after_seconds": repr(parse_duration(e.after))} if timer
            else {MESSAGE_META: e.message})
    action = Action.TIMEOUT if timer else Action.MESSAGE
    kind = ParticipantKind.TIMER if timer else ParticipantKind.RECEIVE
    origin = c.origin(sid, "scope", action, kind)
    tid = f"{sid}:{name}"
    if not e.interrupting:
        _, armed, fired, _ = next(x for x in p.pairs if x[0] == name)
        c.net.transition(tid, origin, inputs=[armed], outputs_=[fired, c.input_place(e.to)],
                         meta={**meta, INTERRUPTING_META: "false"})
        return
    then = c.net.place(place(sid, "then", name), c.origin(sid, SCOPE_KIND))
    if _inside(s, e.to):  # the engine leaves the scope's work item open
        assert p.inner is not None
        c.net.transition(tid, origin, inputs=[p.inner[0]],
                         outputs_=[p.inner[1], cancel, place(sid, "sweep", "0"), then],
                         meta={**meta, INTERRUPTING_META: "false"})
    else:
        c.net.transition(tid, origin, inputs=[p.active],
                         outputs_=[cancel, place(sid, "sweep", "0"), then], meta=meta)
    p.resumes.append((name, then, [c.input_place(e.to)]))


def _sweep(c: Any, p: _Plan, content: list[str], own: set[str]) -> None:
    """The cancellation in one fixed order (as the engine does it): first disarm the events
    that lead into the scope, then drain its places one after the other. The sweep token
    ``(S:scope:sweep:i)`` passes to ``i+1`` once item ``i`` is done, so the checker sees
    one order, not every interleaving of the drains."""
    sid = p.sid
    items: list[tuple[str, str, str | None]] = [
        ("disarm", armed, fired) for _, armed, fired, inside in p.pairs if inside]
    items += [("drain", q, None) for q in content]
    for i, (what, q, fired) in enumerate(items):
        at = c.net.place(place(sid, "sweep", str(i)), c.origin(sid, SCOPE_KIND))
        after = c.net.place(place(sid, "sweep", str(i + 1)), c.origin(sid, SCOPE_KIND))
        work = {WITHDRAWS_META: q} if c.net.places[q].kind == "work item" else {}
        own.add(c.net.transition(f"{place(sid, what)}:{q}", c.origin(sid, "scope", Action.ROUTE),
                                 inputs=[at, q], outputs_=[at, *([fired] if fired else [])],
                                 meta={**BOOKKEEPING, **work}))
        own.add(c.net.transition(f"{place(sid, 'pass')}:{i}", c.origin(sid, "scope",
                                                                       Action.ROUTE),
                                 inputs=[at], inhibitors=[q], outputs_=[after],
                                 meta=BOOKKEEPING))
    p.swept = c.net.place(place(sid, "sweep", str(len(items))), c.origin(sid, SCOPE_KIND))


def _resume(c: Any, p: _Plan, tid: str, then: str, outs: list[str], content: list[str],
            own: set[str]) -> None:
    inside_armed = [a for _, a, _, inside in p.pairs if inside]
    own.add(c.net.transition(tid, c.origin(p.sid, "scope", Action.ROUTE),
                             inputs=[place(p.sid, "cancel"), then, p.swept], outputs_=outs,
                             inhibitors=[*content, *inside_armed]))


def contents(c: Any, p: _Plan) -> list[str]:
    """The places of scope ``p`` that its cancellation empties: those of its nodes and of
    the scopes nested in it, and its exit's input place (the branches that have ended);
    not its own bookkeeping, not end places, history, data or the source."""
    s = p.spec
    members = set(s.nodes)
    members |= {sid for sid, other in c.spec.scopes.items()
                if sid != p.sid and other.entry in members}
    out = []
    for pid, origin in c.net.places.items():
        if pid in (DATA_PLACE, SOURCE_PLACE) or origin.kind in ("history", "end"):
            continue
        if pid.startswith(f"{place(p.sid)}") or pid.startswith("compensation:"):
            continue
        owner = origin.element
        if pid.startswith("flow:") and "->" in owner:
            owner = owner.split("->", 1)[1]
        if owner in members or (s.exit is not None and pid == f"{s.exit}:in"):
            out.append(pid)
    return sorted(out)


__all__ = ["MAX_PENDING", "SCOPE_KIND", "WITHDRAWS_META", "check_scopes", "contents", "finish",
           "freeze", "is_scope_place", "place", "plan", "targets"]
