"""Refuse BPMN processes whose ending the net cannot express.

BPMN ends a process (or a sub-process) when no token is left in it: parallel branches
may each run into their own end event ("implicit termination"), and a terminate end
event withdraws whatever else is still running. A petriflow case ends properly when
exactly one end event holds one token and nothing else is left; a flattened
sub-process leaves along its outgoing flows once per token that reaches one of its
ends. The two agree exactly when an end of a scope is reached only while no other
token is inside that scope. This module checks that on the compiled net's control
skeleton (guards ignored, so every run of the real net is a run of the skeleton), and
reports every end event where it can fail. A process that would need more than
``MAX_STATES`` skeleton states to confirm it is refused too: we do not guess.

A sub-process (or the process) that is a *scope* of the process language completes when
its last token has left and withdraws its branches at a terminate end, as BPMN does
(models/SEMANTICS.md, Scopes): its ends are not checked, but entering it again while it
runs is refused. The sub-processes whose ends fail, and the activities of terminate ends
that meet another branch, are collected in ``mapping.scopable``: the importer imports
the process again with those as scopes.
"""

from __future__ import annotations

from collections import deque

from petriflow.errors import Problem
from petriflow.model.bpmn.importer import Mapping
from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.model.scopes import is_scope_place
from petriflow.model.scopes import place as scope_place
from petriflow.model.spec import EndSpec
from petriflow.net.structure import ArcKind

MAX_STATES = 50_000


def _node_of(place: str, element: str) -> str:
    """The node a control place belongs to (a flow place belongs to its target)."""
    if place.startswith("flow:") and "->" in element:
        return element.split("->", 1)[1]
    return element


def ending_problems(compiled: CompiledProcess, mapping: Mapping, file: str | None,
                    lines: dict[str, int]) -> list[Problem]:
    """The endings the net cannot express, under implicit termination when ``compiled``
    has it (then an end event of the process may be reached while other branches run)."""
    problems, implicit = check_endings(compiled, mapping, file, lines)
    return problems if compiled.implicit else problems + implicit


def check_endings(compiled: CompiledProcess, mapping: Mapping, file: str | None,
                  lines: dict[str, int]) -> tuple[list[Problem], list[Problem]]:
    """(endings no termination mode expresses, endings that need implicit termination).

    The second list names the end events of the process itself (not of a sub-process or
    a pool, not terminate end events, not a collaboration's synthetic end) that can be
    reached while other branches still run: BPMN's implicit termination, which
    ``termination: implicit`` expresses exactly (see models/SEMANTICS.md)."""
    net = compiled.net
    places = [p.id for p in net.places if p.id != DATA_PLACE and not p.id.endswith(":done")]
    index = {p: i for i, p in enumerate(places)}
    trans = []
    inhibit: list[list[tuple[int, int]]] = []
    grows = False
    for t in net.transitions:
        ins = [(index[a.place], a.weight) for a in net.inputs[t.id] if a.place in index
               and a.kind is ArcKind.NORMAL]
        outs = [(index[a.place], a.weight) for a in net.outputs[t.id] if a.place in index]
        trans.append((ins, outs))
        inhibit.append([(index[a.place], a.weight) for a in net.inputs[t.id]
                        if a.place in index and a.kind is ArcKind.INHIBITOR])
        grows = grows or sum(w for _, w in outs) > max(1, sum(w for _, w in ins))
    spec_nodes = compiled.spec.nodes if compiled.spec is not None else {}
    origins = compiled.source_map.places
    # scope -> (control places inside it, input places of its ends)
    checks: list[tuple[str, set[int], set[int]]] = []
    top_ends = {index[p] for p in places if p.endswith(":in")
                and isinstance(spec_nodes.get(p[:-3]), EndSpec)}
    final = {index[p] for p in places if p.startswith("end:")}
    # a scope's bookkeeping (its active token, armed events...) is no branch of the case
    branches = {i for i, p in enumerate(places) if not is_scope_place(p)}
    checks.append(("", branches, top_ends))
    # a scope of the language (models/SEMANTICS.md, Scopes) completes when its last token
    # has left, as BPMN's sub-processes do: only entering it again while it runs is wrong
    twice = [(sid, [index[q] for q in (scope_place(sid), scope_place(sid, "start")) if q in index])
             for sid in sorted(mapping.scoped)]
    for scope in mapping.scopes:
        if scope.element in mapping.scoped:
            continue
        inside = {index[p] for p in places if not is_scope_place(p)
                  and _node_of(p, origins[p].element).startswith(scope.prefix)}
        ends = {index[f"{e}:in"] for e in scope.ends if f"{e}:in" in index}
        if mapping.implicit and scope.element in mapping.pools:
            # the pool ends on its own (implicit termination): only a terminate end event
            # that meets another branch of the pool cannot be expressed
            ends = {e for e in ends if places[e][:-3] in mapping.terminate}
        checks.append((scope.element, inside, ends))
    # the places of a message in transit: under implicit termination a case whose
    # branches have all ended but a message is still unconsumed would be stuck, where
    # BPMN drops the message and ends
    in_transit = {index[f"{n}:in"] for n in mapping.messages if f"{n}:in" in index}
    in_transit.update(index[a.place] for n in mapping.messages
                      for t in compiled.source_map.transitions_of(n)
                      for a in net.outputs[t] if a.place in index)
    stranded: dict[int, None] = {}
    if not grows and not mapping.terminate and not mapping.scoped:
        return [], []  # one token at most, ever: nothing can run beside an end
    first = {i: n for i, p in enumerate(places) if (n := net.initial_marking.count(p))}
    watched = set(final) | in_transit | {i for _, marks in twice for i in marks}
    for _, _, ends in checks:
        watched |= ends
    trans, removed = _fuse_series(trans, inhibit, first, watched,
                                  [inside for _, inside, _ in checks])
    consumers: list[list[int]] = [[] for _ in places]  # only these can fire when i is marked
    for t, (ins, _) in enumerate(trans):
        for i, _ in ins:
            if t not in removed:
                consumers[i].append(t)
    always = [t for t, (ins, _) in enumerate(trans) if not ins and t not in removed]
    # states are sparse (place -> count of the marked places only): a step costs the
    # size of the marking, not the number of places
    start = tuple(sorted(first.items()))
    seen = {start}
    queue = deque([start])
    bad: dict[int, str] = {}
    again: set[str] = set()
    while queue:
        state = queue.popleft()
        m = dict(state)
        for sid, marks in twice:
            if sum(m.get(i, 0) for i in marks) > 1:
                again.add(sid)
        for scope, inside, ends in checks:
            for e in ends:
                if m.get(e) and (sum(n for i, n in m.items() if i in inside) > 1 or (
                        not scope and any(f in m for f in final))):
                    bad.setdefault(e, scope)
        candidates = {t for i in m for t in consumers[i]}
        candidates.update(always)
        moved = False
        for t in sorted(candidates):
            ins, outs = trans[t]
            if all(m.get(i, 0) >= w for i, w in ins) and all(
                    m.get(i, 0) < w for i, w in inhibit[t]):
                moved = True
                n = dict(m)
                for i, w in ins:
                    left = n[i] - w
                    if left:
                        n[i] = left
                    else:
                        del n[i]
                for i, w in outs:
                    n[i] = n.get(i, 0) + w
                nt = tuple(sorted(n.items()))
                if nt not in seen:
                    if len(seen) >= MAX_STATES:
                        return [Problem(
                            f"the process has more than {MAX_STATES} control states; petriflow "
                            "cannot confirm that every end event is reached with no other "
                            "branch still running", file=file)], []
                    seen.add(nt)
                    queue.append(nt)
        if not moved and in_transit and any(i in final for i in m) and all(
                i in final or i in in_transit for i in m):
            for i in m:
                if i in in_transit:
                    stranded.setdefault(i)
    out: list[Problem] = []
    implicit: list[Problem] = []
    for sid in sorted(again):
        bid = mapping.node_of.get(sid, sid)
        out.append(Problem(
            f"{mapping.tag_of.get(sid, 'subProcess')} '{bid}': can be entered again while it "
            "still runs (two instances of one sub-process at once are not supported)",
            file=file, line=lines.get(sid), element=bid,
            hint="join the branches before the sub-process"))
    for e, scope in sorted(bad.items()):
        node = places[e][:-3]
        bid = mapping.node_of.get(node, node)
        tag = mapping.tag_of.get(node, "endEvent")
        where = f"sub-process '{mapping.node_of.get(scope, scope)}'" if scope else "the process"
        if mapping.tag_of.get(scope) in ("participant", "process"):
            where = f"pool '{mapping.node_of.get(scope, scope)}'"
        if tag == "collaboration":
            why = ("the collaboration can end while a message is still unconsumed or a "
                   "branch of some pool still runs")
        elif node in mapping.terminate:
            why = ("terminate end event reached while other branches of "
                   f"{where} may still run; withdrawing them is not supported")
        else:
            why = (f"reached while other branches of {where} may still run (or more than "
                   "once" + (", or while a message to it is unconsumed" if where.startswith(
                       "pool") else "") + "); BPMN's implicit termination is not supported")
        problem = Problem(f"{tag} '{bid}': {why}", file=file, line=lines.get(node),
                          element=bid, hint="join the branches (parallel or inclusive "
                          "gateway) before a single end event")
        # what a scope would express (models/SEMANTICS.md, Scopes): the sub-process ends
        # when its last branch does; a terminate end withdraws the others first
        key = mapping.terminate_in.get(node, "") if node in mapping.terminate else scope
        if key is None or (key and mapping.tag_of.get(key) in ("subProcess", "callActivity")):
            mapping.scopable.add(key)
        if not scope and tag != "collaboration" and node not in mapping.terminate:
            implicit.append(problem)  # the process's own end: implicit termination
        else:
            out.append(problem)
    if not (implicit or compiled.implicit or mapping.implicit):
        stranded = {}  # (explicit: an end met by the message's token is reported above)
    for i in stranded:
        place = places[i]
        node = next((n for n in sorted(mapping.messages) if place == f"{n}:in"), None) or \
            next(n for n in sorted(mapping.messages) for t in
                 compiled.source_map.transitions_of(n)
                 if any(a.place == place for a in net.outputs[t]))
        bid = mapping.node_of.get(node, node)
        tag = mapping.tag_of.get(node, "messageFlow")
        out.append(Problem(
            f"{tag} '{bid}': every branch can have ended while this message is still "
            "unconsumed; BPMN then drops the message and ends, a case would be stuck",
            file=file, line=lines.get(node), element=bid,
            hint="make sure the receiver always takes the message"))
    return out, implicit


def _fuse_series(trans: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]],
                 inhibit: list[list[tuple[int, int]]], first: dict[int, int],
                 watched: set[int], scopes: list[set[int]]
                 ) -> tuple[list[tuple[list[tuple[int, int]], list[tuple[int, int]]]], set[int]]:
    """The skeleton with each run of places in series fused into one (Murata's fusion of
    series places), and the transitions that fusion removed. A transition whose only
    input is ``p``, taken by nothing else, and whose only output is ``q`` just moves a
    token from ``p`` to ``q``, so ``p`` can stand for both. The check looks at places
    only through the scopes that hold them, the ends, the final and message places
    (``watched``, never fused) and inhibitor arcs (their places are never fused either);
    fused places lie in the same scopes, so every state the check judges is kept, up to
    the interleavings of those moves, which it cannot tell apart. A branch of three tasks
    is then one place, not nine: eight such branches in parallel are 2^8 states instead
    of 10^8. ``first`` (the initial marking) is updated in place."""
    blocked = watched | {i for arcs in inhibit for i, _ in arcs}
    alias: dict[int, int] = {}

    def find(i: int) -> int:
        while i in alias:
            i = alias[i]
        return i

    takers: dict[int, list[int]] = {}
    for t, (ins, _) in enumerate(trans):
        for i, _ in ins:
            takers.setdefault(i, []).append(t)
    removed: set[int] = set()
    fused = True
    while fused:
        fused = False
        for t, (ins, outs) in enumerate(trans):
            if t in removed or len(ins) != 1 or len(outs) != 1 or inhibit[t]:
                continue
            (p, wp), (q, wq) = (find(ins[0][0]), ins[0][1]), (find(outs[0][0]), outs[0][1])
            if p == q or wp != 1 or wq != 1 or p in blocked or q in blocked \
                    or takers.get(p) != [t] \
                    or any((p in inside) != (q in inside) for inside in scopes):
                continue
            removed.add(t)
            alias[q] = p                         # q is p from now on
            takers[p] = takers.pop(q, [])
            if q in first:
                first[p] = first.get(p, 0) + first.pop(q)
            fused = True
    out = []
    for ins, outs in trans:
        out.append(([(find(i), w) for i, w in ins], [(find(i), w) for i, w in outs]))
    return out, removed


__all__ = ["MAX_STATES", "check_endings", "ending_problems"]
