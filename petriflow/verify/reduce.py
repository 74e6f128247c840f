"""Structural reductions of P/T nets that keep the question "is a deadlock reachable?".

Each rule removes places or transitions so that the reduced net has a reachable deadlock
exactly when the original has one, and every firing sequence of the reduced net expands
into one of the original (so a counterexample found on the reduced net is lifted, then
replayed by the kernel on the original before anyone believes it). The rules are classic
(Berthelot, "Transformations and decompositions of nets", 1987; Murata, "Petri nets:
properties, analysis and applications", 1989), restricted here to the cases whose proof
is short enough to state next to the code:

* **duplicate transitions**: same inputs, read and inhibitor arcs and outputs; the copy
  changes neither the reachable markings nor which markings are dead.
* **duplicate places**: the same arcs to every transition and the same initial tokens;
  the two counts are always equal, so either one alone constrains the same firings.
* **unobserved places**: no transition consumes, reads or inhibits them; they never
  decide whether anything is enabled.
* **constant places**: every transition gives back what it takes, no inhibitor arc, and
  the initial tokens cover every need; the place never blocks anything.
* **chain fusion** (post-agglomeration of a series place): place ``p``, initially empty,
  is filled only by ``t1`` (one token) and emptied only by ``t2``, whose only input is
  ``p`` (one token, nothing read or inhibited), no one reads ``p``, and the net has no
  inhibitor arcs. ``t1; t2`` becomes one transition. A deadlock leaves ``p`` empty (else
  ``t2`` is enabled); moving every ``t2`` right after its ``t1`` only makes tokens
  appear earlier, which without inhibitor arcs disables nothing, so the dead marking is
  reachable in the fused net and dead there too. Conversely a fused firing is ``t1 t2``.

The rules do not keep other properties (a fused net skips the markings between ``t1``
and ``t2``), so only the deadlock check uses them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from petriflow.net import ArcKind, NetBuilder
from petriflow.net.structure import Net
from petriflow.verify.ptnet import PTNet

Arcs = dict[int, int]


@dataclass
class _T:
    pre: Arcs
    read: Arcs
    inhibit: Arcs
    post: Arcs
    origin: tuple[str, ...]

    def key(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return tuple(tuple(sorted(d.items())) for d in (self.pre, self.read, self.inhibit,
                                                         self.post))


@dataclass
class Reduction:
    """A reduced net, how each of its transitions expands into original ones, and what
    each rule removed."""

    net: Net
    ptnet: PTNet
    expands: dict[str, tuple[str, ...]]
    removed: Counter[str] = field(default_factory=Counter)
    #: an original transition removed as a duplicate -> the reduced transition it copies
    twins: dict[str, str] = field(default_factory=dict)

    @property
    def smaller(self) -> bool:
        return bool(self.removed)

    def lift(self, path: list[str]) -> list[str]:
        """A firing sequence of the reduced net as one of the original net."""
        return [t for step in path for t in self.expands[step]]

    def originals(self, reduced: str) -> list[str]:
        """The original transitions that fire exactly when ``reduced`` does."""
        own = list(self.expands[reduced])
        return own + [t for t, twin in self.twins.items() if twin == reduced
                      or twin in own]

    def summary(self, original: PTNet) -> dict[str, object]:
        return {"places": f"{len(original.places)} -> {len(self.ptnet.places)}",
                "transitions": f"{len(original.transitions)} -> {len(self.ptnet.transitions)}",
                "rules": dict(self.removed)}


def reduce_for_deadlock(pt: PTNet, *, max_rounds: int = 1000) -> Reduction:
    """Apply every rule above until none applies (or ``max_rounds``)."""
    return _reduce(pt, max_rounds=max_rounds, places_rules=True, fuse_into_nothing=True)


def reduce_for_soundness(pt: PTNet, *, max_rounds: int = 1000) -> Reduction:
    """The rules that also keep workflow-net soundness: duplicate transitions (a copy
    is dead exactly when its twin is) and chain fusion where ``t2`` produces something.

    Why fusion keeps soundness (no read or inhibitor arcs in a workflow net): a reached
    marking of the original becomes one of the fused net by firing ``t2`` once per token
    in ``p``, which keeps the sink marked and any other token in place, and adds the
    tokens of ``t2``'s outputs; so "can still complete" and "completed improperly" read
    the same on both nets, and ``t1``, ``t2`` can fire exactly when the fused
    transition can. A fused ``t2`` without outputs could hide an improper completion,
    hence the condition."""
    return _reduce(pt, max_rounds=max_rounds, places_rules=False, fuse_into_nothing=False)


def _reduce(pt: PTNet, *, max_rounds: int, places_rules: bool, fuse_into_nothing: bool
            ) -> Reduction:
    initial = dict(enumerate(pt.initial))
    places = set(range(len(pt.places)))
    ts = {
        pt.transitions[t]: _T(dict(pt.pre[t]), dict(pt.read[t]), dict(pt.inhibit[t]),
                              dict(pt.post[t]), (pt.transitions[t],))
        for t in range(len(pt.transitions))
    }
    removed: Counter[str] = Counter()
    twins: dict[str, str] = {}
    for _ in range(max_rounds):
        before = sum(removed.values())
        _duplicate_transitions(ts, removed, twins)
        if places_rules:
            _duplicate_places(ts, places, initial, removed)
            _unobserved_places(ts, places, removed)
            _constant_places(ts, places, initial, removed)
        _fuse_chains(ts, places, initial, removed, fuse_into_nothing)
        if sum(removed.values()) == before:
            break
    reduction = _build(pt, ts, places, initial, removed)
    reduction.twins = twins
    return reduction


def _duplicate_transitions(ts: dict[str, _T], removed: Counter[str],
                           twins: dict[str, str]) -> None:
    seen: dict[tuple[tuple[tuple[int, int], ...], ...], str] = {}
    for tid in list(ts):
        key = ts[tid].key()
        if key in seen:
            for original in ts[tid].origin:
                twins[original] = seen[key]
            del ts[tid]
            removed["duplicate transition"] += 1
        else:
            seen[key] = tid


def _column(ts: dict[str, _T], p: int) -> tuple[tuple[str, int, int, int, int], ...]:
    return tuple((tid, t.pre.get(p, 0), t.read.get(p, 0), t.inhibit.get(p, 0), t.post.get(p, 0))
                 for tid, t in ts.items()
                 if p in t.pre or p in t.read or p in t.inhibit or p in t.post)


def _drop_place(ts: dict[str, _T], p: int) -> None:
    for t in ts.values():
        for arcs in (t.pre, t.read, t.inhibit, t.post):
            arcs.pop(p, None)


def _duplicate_places(ts: dict[str, _T], places: set[int], initial: dict[int, int],
                      removed: Counter[str]) -> None:
    seen: set[tuple[object, ...]] = set()
    for p in sorted(places):
        key = (initial[p], _column(ts, p))
        if key in seen:
            _drop_place(ts, p)
            places.discard(p)
            removed["duplicate place"] += 1
        else:
            seen.add(key)


def _unobserved_places(ts: dict[str, _T], places: set[int], removed: Counter[str]) -> None:
    observed = {p for t in ts.values() for arcs in (t.pre, t.read, t.inhibit) for p in arcs}
    for p in sorted(places - observed):
        _drop_place(ts, p)
        places.discard(p)
        removed["unobserved place"] += 1


def _constant_places(ts: dict[str, _T], places: set[int], initial: dict[int, int],
                     removed: Counter[str]) -> None:
    for p in sorted(places):
        need = 0
        for t in ts.values():
            if p in t.inhibit or t.pre.get(p, 0) != t.post.get(p, 0):
                break
            need = max(need, t.pre.get(p, 0), t.read.get(p, 0))
        else:
            if initial[p] >= need:
                _drop_place(ts, p)
                places.discard(p)
                removed["constant place"] += 1


def _fuse_chains(ts: dict[str, _T], places: set[int], initial: dict[int, int],
                 removed: Counter[str], into_nothing: bool = True) -> None:
    if any(t.inhibit for t in ts.values()):
        return
    producers: dict[int, list[str]] = {p: [] for p in places}
    consumers: dict[int, list[str]] = {p: [] for p in places}
    readers: set[int] = set()
    for tid, t in ts.items():
        for p in t.post:
            producers[p].append(tid)
        for p in t.pre:
            consumers[p].append(tid)
        readers.update(t.read)
    touched: set[str] = set()  # fused in this pass: their neighbourhoods are stale
    for p in sorted(places):
        if initial[p] or p in readers or len(producers[p]) != 1 or len(consumers[p]) != 1:
            continue
        t1, t2 = producers[p][0], consumers[p][0]
        if t1 == t2 or t1 in touched or t2 in touched or t1 not in ts or t2 not in ts:
            continue
        a, b = ts[t1], ts[t2]
        if a.post.get(p) != 1 or b.pre != {p: 1} or b.read or p in b.post or p in a.pre:
            continue
        if not b.post and not into_nothing:
            continue
        post = {q: w for q, w in a.post.items() if q != p}
        for q, w in b.post.items():
            post[q] = post.get(q, 0) + w
        ts[t1] = _T(dict(a.pre), dict(a.read), {}, post, a.origin + b.origin)
        del ts[t2]
        places.discard(p)
        touched.update((t1, t2))
        removed["chain fusion"] += 1


def _build(pt: PTNet, ts: dict[str, _T], places: set[int], initial: dict[int, int],
           removed: Counter[str]) -> Reduction:
    b = NetBuilder(f"{pt.name} (reduced)")
    for p in sorted(places):
        b.place(pt.places[p], initial=initial[p])
    expands = {}
    for tid, t in ts.items():
        b.transition(tid)
        expands[tid] = t.origin
        for arcs, kind, into in ((t.pre, ArcKind.NORMAL, True), (t.read, ArcKind.READ, True),
                                 (t.inhibit, ArcKind.INHIBITOR, True),
                                 (t.post, ArcKind.NORMAL, False)):
            for p, w in sorted(arcs.items()):
                if into:
                    b.arc(pt.places[p], tid, weight=w, kind=kind)
                else:
                    b.arc(tid, pt.places[p], weight=w)
    net = b.build()
    return Reduction(net, PTNet(net), expands, removed)


__all__ = ["Reduction", "reduce_for_deadlock", "reduce_for_soundness"]
