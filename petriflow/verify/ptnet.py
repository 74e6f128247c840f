"""A P/T net as integer vectors: the form every P/T checker works on.

Places and transitions are numbered; a marking is a tuple of token counts. Each
transition keeps what it needs (input and read arcs, aggregated per place), what it
forbids (inhibitor arcs), and its effect on the marking. Built from a kernel
:class:`~petriflow.net.structure.Net` whose places are all black.
"""

from __future__ import annotations

from collections.abc import Sequence

from petriflow.errors import ModelError, Problem
from petriflow.net.structure import Net

Marking = tuple[int, ...]


class PTNet:
    """Index form of a P/T net (read-only after construction)."""

    def __init__(self, net: Net) -> None:
        if not net.is_pt:
            raise ModelError(Problem(f"net '{net.name}' is colored; this check needs a P/T net",
                                     element=net.name))
        self.net = net
        self.name = net.name
        self.places = [p.id for p in net.places]
        self.pindex = {p: i for i, p in enumerate(self.places)}
        self.transitions = [t.id for t in net.transitions]
        self.tindex = {t: i for i, t in enumerate(self.transitions)}
        pre: list[dict[int, int]] = [{} for _ in self.transitions]
        read: list[dict[int, int]] = [{} for _ in self.transitions]
        post: list[dict[int, int]] = [{} for _ in self.transitions]
        inhibit: list[dict[int, int]] = [{} for _ in self.transitions]
        for ti, t in enumerate(self.transitions):
            plan = net.plan(t)
            for a in plan.consume:
                i = self.pindex[a.place]
                pre[ti][i] = pre[ti].get(i, 0) + a.weight
            for a in plan.read:
                i = self.pindex[a.place]
                read[ti][i] = read[ti].get(i, 0) + a.weight
            for a in plan.produce:
                i = self.pindex[a.place]
                post[ti][i] = post[ti].get(i, 0) + a.weight
            for p, w in plan.inhibit:
                i = self.pindex[p]
                inhibit[ti][i] = min(inhibit[ti].get(i, w), w)
        self.pre = [tuple(sorted(d.items())) for d in pre]
        self.read = [tuple(sorted(d.items())) for d in read]
        self.post = [tuple(sorted(d.items())) for d in post]
        self.inhibit = [tuple(sorted(d.items())) for d in inhibit]
        self.need = []
        for ti in range(len(self.transitions)):
            req = dict(pre[ti])
            for p, w in read[ti].items():
                req[p] = max(req.get(p, 0), w)
            self.need.append(tuple(sorted(req.items())))
        self.delta = []
        for ti in range(len(self.transitions)):
            d: dict[int, int] = {}
            for p, w in pre[ti].items():
                d[p] = d.get(p, 0) - w
            for p, w in post[ti].items():
                d[p] = d.get(p, 0) + w
            self.delta.append(tuple((p, x) for p, x in sorted(d.items()) if x))
        # Transitions whose enabledness can change when a place's count changes.
        self.watchers: list[list[int]] = [[] for _ in self.places]
        for ti in range(len(self.transitions)):
            for p in {p for p, _ in self.need[ti]} | {p for p, _ in self.inhibit[ti]}:
                self.watchers[p].append(ti)
        self.unconditional = [ti for ti in range(len(self.transitions)) if not self.need[ti]]
        # Transitions that consume from / produce into each place.
        self.consumers: list[list[int]] = [[] for _ in self.places]
        self.producers: list[list[int]] = [[] for _ in self.places]
        for ti in range(len(self.transitions)):
            for p, _ in self.pre[ti]:
                self.consumers[p].append(ti)
            for p, _ in self.post[ti]:
                self.producers[p].append(ti)
        self.initial: Marking = tuple(net.initial_marking.count(p) for p in self.places)

    @property
    def size(self) -> tuple[int, int]:
        return len(self.places), len(self.transitions)

    def enabled(self, t: int, m: Sequence[int]) -> bool:
        for p, w in self.need[t]:
            if m[p] < w:
                return False
        return all(m[p] < w for p, w in self.inhibit[t])

    def enabled_list(self, m: Sequence[int]) -> list[int]:
        """Enabled transitions of ``m``, checking only those a marked place can enable."""
        candidates = set(self.unconditional)
        for p, n in enumerate(m):
            if n:
                candidates.update(self.watchers[p])
        return sorted(t for t in candidates if self.enabled(t, m))

    def any_enabled(self, m: Sequence[int]) -> bool:
        for t in self.unconditional:
            if self.enabled(t, m):
                return True
        for p, n in enumerate(m):
            if n:
                for t in self.watchers[p]:
                    if self.enabled(t, m):
                        return True
        return False

    def fire(self, t: int, m: Marking) -> Marking:
        out = list(m)
        for p, d in self.delta[t]:
            out[p] += d
        return tuple(out)

    def marking_dict(self, m: Sequence[int]) -> dict[str, int]:
        return {self.places[i]: n for i, n in enumerate(m) if n}


__all__ = ["Marking", "PTNet"]
