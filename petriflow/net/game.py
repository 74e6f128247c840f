"""The token game for long runs: a mutable marking with an incrementally kept enabled set.

:func:`~petriflow.net.firing.fire` builds a new immutable marking per firing, which is
right for search and audit but wasteful for a simulation of millions of steps.
:class:`TokenGame` keeps the marking as integer counts (P/T places) or token counts
per place (colored places), and after each firing re-examines only the transitions
whose enabledness can have changed: those reading a place whose contents the firing
changed. It uses the same firing plans as ``fire``, so it fires exactly what is
enabled and produces what ``fire`` would; :meth:`TokenGame.marking` returns the
state as an immutable :class:`~petriflow.net.marking.Marking` at any time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petriflow.errors import FiringError, NotEnabledError
from petriflow.ids import PlaceId, TransitionId
from petriflow.net.colors import DOT
from petriflow.net.firing import EMPTY_BINDING, Binding, Step
from petriflow.net.marking import Marking, Multiset
from petriflow.net.plan import TransitionPlan
from petriflow.net.structure import Net


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a random run did: how many transitions fired and whether it ended dead."""

    fired: int
    dead: bool


class TokenGame:
    """A mutable token game over a frozen net, starting from ``marking`` (default: initial)."""

    def __init__(self, net: Net, marking: Marking | None = None) -> None:
        self.net = net
        start = net.initial_marking if marking is None else marking
        self._places = [p.id for p in net.places]
        index = {p: i for i, p in enumerate(self._places)}
        self._tids = [t.id for t in net.transitions]
        self._tindex = {t: i for i, t in enumerate(self._tids)}
        self._plans: list[TransitionPlan] = [net.plan(t) for t in self._tids]
        self._colored = not net.is_pt
        # Count-based enabling condition of each transition (exact for P/T nets, a
        # necessary condition for colored ones): need[t] places with minimum counts,
        # inhibit[t] places with exclusive upper bounds, delta[t] count changes.
        need: list[tuple[tuple[int, int], ...]] = []
        inhibit: list[tuple[tuple[int, int], ...]] = []
        delta: list[tuple[tuple[int, int], ...]] = []
        dependents: list[set[int]] = [set() for _ in self._places]
        for ti, plan in enumerate(self._plans):
            req: dict[int, int] = {}
            for arcs in (plan.consume, plan.read):
                per: dict[int, int] = {}
                for a in arcs:
                    per[index[a.place]] = per.get(index[a.place], 0) + a.weight
                for p, w in per.items():
                    req[p] = max(req.get(p, 0), w)
            d: dict[int, int] = {}
            for a in plan.consume:
                d[index[a.place]] = d.get(index[a.place], 0) - a.weight
            for a in plan.produce:
                d[index[a.place]] = d.get(index[a.place], 0) + a.weight
            inh = tuple((index[p], w) for p, w in plan.inhibit)
            need.append(tuple(req.items()))
            inhibit.append(inh)
            delta.append(tuple((p, x) for p, x in d.items() if x or self._colored))
            for p in req:
                dependents[p].add(ti)
            for p, _ in inh:
                dependents[p].add(ti)
        self._need = need
        self._inhibit = inhibit
        self._delta = delta
        self._affected = [
            tuple(sorted({u for p, _ in delta[ti] for u in dependents[p]}))
            for ti in range(len(self._tids))
        ]
        self._index = index
        self._counts = [start.count(p) for p in self._places]
        # Colored places keep their tokens; P/T places only their counts.
        self._tokens: list[dict[Any, int]] = [
            dict(start[p]) if self._colored else {} for p in self._places
        ]
        self._enabled: list[int] = []
        self._position = [-1] * len(self._tids)
        for ti in range(len(self._tids)):
            if self._count_enabled(ti):
                self._position[ti] = len(self._enabled)
                self._enabled.append(ti)

    # -- state -----------------------------------------------------------------------------

    def marking(self) -> Marking:
        """The current marking, as an immutable value."""
        data: dict[PlaceId, Multiset] = {}
        for i, p in enumerate(self._places):
            if self._counts[i]:
                if self._colored:
                    data[p] = Multiset._trusted(dict(self._tokens[i]))
                else:
                    data[p] = Multiset._trusted({DOT: self._counts[i]})
        return Marking._trusted(data)

    def _lookup(self, place: PlaceId) -> Mapping[Any, int]:
        i = self._index[place]
        if self._colored:
            return self._tokens[i]
        n = self._counts[i]
        return {DOT: n} if n else {}

    def _count_enabled(self, ti: int) -> bool:
        counts = self._counts
        for p, w in self._need[ti]:
            if counts[p] < w:
                return False
        return all(counts[p] < w for p, w in self._inhibit[ti])

    def enabled(self) -> list[TransitionId]:
        """The transitions enabled now (with at least one binding), in declaration order."""
        out = []
        for ti in sorted(self._enabled):
            if not self._colored or next(self._plans[ti].bindings(self._lookup), None) is not None:
                out.append(self._tids[ti])
        return out

    def is_dead(self) -> bool:
        return not self.enabled()

    # -- firing ----------------------------------------------------------------------------

    def fire(self, transition: str, binding: Mapping[str, Any] | None = None) -> Step:
        """Fire one transition (checked, like :func:`~petriflow.net.firing.fire`)."""
        ti = self._tindex.get(transition)  # type: ignore[call-overload]
        if ti is None:
            raise FiringError(f"net '{self.net.name}' has no transition '{transition}'",
                              transition=transition)
        plan = self._plans[ti]
        if not self._colored and self._position[ti] < 0:
            raise NotEnabledError(f"transition '{transition}' is not enabled",
                                  transition=transition)
        before = self.marking()
        env = plan.complete_binding(self._lookup, binding)
        consumed, produced = plan.step_bags(env, self._lookup)
        self._apply(ti, consumed, produced)
        c = Marking._trusted({p: Multiset._trusted(t) for p, t in consumed.items() if t})
        pr = Marking._trusted({p: Multiset._trusted(t) for p, t in produced.items() if t})
        return Step(TransitionId(transition), Binding(env) if env else EMPTY_BINDING, c, pr,
                    before, self.marking())

    def _apply(self, ti: int, consumed: Mapping[PlaceId, Mapping[Any, int]],
               produced: Mapping[PlaceId, Mapping[Any, int]]) -> None:
        index, tokens, counts = self._index, self._tokens, self._counts
        colored = self._colored
        for place, per in consumed.items():
            i = index[place]
            bag = tokens[i]
            for token, n in per.items():
                if colored:
                    left = bag[token] - n
                    if left:
                        bag[token] = left
                    else:
                        del bag[token]
                counts[i] -= n
        for place, per in produced.items():
            i = index[place]
            bag = tokens[i]
            for token, n in per.items():
                if colored:
                    bag[token] = bag.get(token, 0) + n
                counts[i] += n
        self._refresh(ti)

    def _refresh(self, ti: int) -> None:
        enabled, position = self._enabled, self._position
        for u in self._affected[ti]:
            now = self._count_enabled(u)
            pos = position[u]
            if now and pos < 0:
                position[u] = len(enabled)
                enabled.append(u)
            elif not now and pos >= 0:
                last = enabled.pop()
                if last != u:
                    enabled[pos] = last
                    position[last] = pos
                position[u] = -1

    # -- random runs -----------------------------------------------------------------------

    def run(self, steps: int, rng: random.Random | None = None) -> RunResult:
        """Fire up to ``steps`` transitions, each chosen uniformly among the enabled ones.

        Stops early in a dead marking. For colored nets a transition is chosen
        uniformly among those with a binding, then a binding uniformly among its own.
        """
        rng = rng or random.Random()
        if self._colored:
            return self._run_colored(steps, rng)
        return self._run_pt(steps, rng)

    def _run_pt(self, steps: int, rng: random.Random) -> RunResult:
        counts, enabled, position = self._counts, self._enabled, self._position
        need, inhibit, delta, affected = self._need, self._inhibit, self._delta, self._affected
        rand = rng.random
        fired = 0
        while fired < steps:
            n = len(enabled)
            if not n:
                break
            ti = enabled[int(rand() * n)]
            for p, d in delta[ti]:
                counts[p] += d
            fired += 1
            for u in affected[ti]:
                ok = True
                for p, w in need[u]:
                    if counts[p] < w:
                        ok = False
                        break
                if ok:
                    for p, w in inhibit[u]:
                        if counts[p] >= w:
                            ok = False
                            break
                pos = position[u]
                if ok:
                    if pos < 0:
                        position[u] = len(enabled)
                        enabled.append(u)
                elif pos >= 0:
                    last = enabled.pop()
                    if last != u:
                        enabled[pos] = last
                        position[last] = pos
                    position[u] = -1
        return RunResult(fired, not enabled)

    def _run_colored(self, steps: int, rng: random.Random) -> RunResult:
        plans, lookup = self._plans, self._lookup
        fired = 0
        while fired < steps:
            choices = []
            for ti in self._enabled:
                found = list(plans[ti].bindings(lookup))
                if found:
                    choices.append((ti, found))
            if not choices:
                return RunResult(fired, True)
            ti, found = choices[int(rng.random() * len(choices))]
            env = found[int(rng.random() * len(found))]
            plan = plans[ti]
            self._apply(ti, plan.demand(env, plan.consume), plan.demand(env, plan.produce))
            fired += 1
        return RunResult(fired, self.is_dead())


__all__ = ["RunResult", "TokenGame"]
