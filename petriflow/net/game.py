"""The token game for long runs: a mutable marking with an incrementally kept enabled set.

:func:`~petriflow.net.firing.fire` builds a new immutable marking per firing, which is
right for search and audit but wasteful for a simulation of millions of steps.
:class:`TokenGame` keeps P/T markings as a list of integer counts and, after each
firing, re-examines only the transitions that read a place whose count changed; for
colored nets it delegates to :class:`~petriflow.net.case_game.CaseState` when the net is
case-shaped (interned tokens, one tight loop) and otherwise to
:class:`~petriflow.net.colored_game.ColoredState`; both keep every transition's bindings
up to date from token deltas. All use the firing plans of ``fire``, so a game fires
exactly what is enabled and produces what ``fire`` would; :meth:`TokenGame.marking`
returns the state as an immutable :class:`~petriflow.net.marking.Marking` at any time.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from petriflow.errors import ColorError, FiringError, NotEnabledError
from petriflow.ids import PlaceId, TransitionId
from petriflow.net.case_game import CaseState
from petriflow.net.colored_game import ColoredState
from petriflow.net.colors import DOT
from petriflow.net.firing import EMPTY_BINDING, Binding, Step
from petriflow.net.marking import Marking, Multiset, token_collection
from petriflow.net.plan import Bag, TransitionPlan
from petriflow.net.structure import Net


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a random run did: how many transitions fired and whether it ended dead."""

    fired: int
    dead: bool


class TokenGame:
    """A mutable token game over a frozen net, starting from ``marking`` (default: initial).

    A colored net that is case-shaped (see :mod:`petriflow.net.case_game`) runs on the
    fast path, whose tables are built once per net; ``fast=False`` forces the general
    binding machinery instead (same firings, for comparison and testing).
    """

    def __init__(self, net: Net, marking: Marking | None = None, *, fast: bool = True) -> None:
        self.net = net
        start = net.initial_marking if marking is None else marking
        for place in start:
            if place not in net.place_map:
                raise FiringError(f"the marking puts tokens on '{place}', which is not a place "
                                  f"of net '{net.name}'")
            if marking is not None:  # the P/T game keeps counts: a stray value would count
                color = net.place_map[place].color
                for token in start[place]:
                    if not color.contains(token):
                        raise ColorError(f"the marking puts {token!r} on place '{place}', "
                                         f"which holds values of {color}", color=str(color),
                                         value=token)
        self._colored: ColoredState | CaseState | None = None
        layout = net._case_layout if fast else None
        self._entry: dict[PlaceId, tuple[int, Any]] | None = None
        if layout is not None:  # the fast path: tables shared by every game of the net
            self._entry = layout.entry
            self._places, self._tids, self._tindex = layout.places, layout.tids, layout.tindex
            self._plans: list[TransitionPlan] = layout.plans
            self._colored = CaseState(layout, start)
            return
        self._places = [p.id for p in net.places]
        self._tids = [t.id for t in net.transitions]
        self._tindex = {t: i for i, t in enumerate(self._tids)}
        self._plans = [net.plan(t) for t in self._tids]
        if not net.is_pt:
            self._colored = ColoredState(self._places, self._plans, start)
            return
        index = {p: i for i, p in enumerate(self._places)}
        self._index = index
        # need[t]: minimum counts; inhibit[t]: exclusive upper bounds; delta[t]: changes.
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
            delta.append(tuple((p, x) for p, x in d.items() if x))
            for p in req:
                dependents[p].add(ti)
            for p, _ in inh:
                dependents[p].add(ti)
        self._need, self._inhibit, self._delta = need, inhibit, delta
        self._affected = [
            tuple(sorted({u for p, _ in delta[ti] for u in dependents[p]}))
            for ti in range(len(self._tids))
        ]
        self._counts = [start.count(p) for p in self._places]
        self._enabled: list[int] = []
        self._position = [-1] * len(self._tids)
        for ti in range(len(self._tids)):
            if self._count_enabled(ti):
                self._position[ti] = len(self._enabled)
                self._enabled.append(ti)

    # -- state -----------------------------------------------------------------------------

    def marking(self) -> Marking:
        """The current marking, as an immutable value."""
        if self._colored is not None:
            return self._colored.marking()
        return Marking._trusted({
            p: Multiset._trusted({DOT: n})
            for p, n in zip(self._places, self._counts, strict=True) if n
        })

    def _lookup(self, place: PlaceId) -> Mapping[Any, int]:
        if self._colored is not None:
            return self._colored.lookup(place)
        n = self._counts[self._index[place]]
        return {DOT: n} if n else {}

    def _count_enabled(self, ti: int) -> bool:
        counts = self._counts
        for p, w in self._need[ti]:
            if counts[p] < w:
                return False
        return all(counts[p] < w for p, w in self._inhibit[ti])

    def enabled(self) -> list[TransitionId]:
        """The transitions enabled now (with at least one binding), in declaration order."""
        indices = (self._colored.enabled_indices() if self._colored is not None
                   else self._enabled)
        return [self._tids[ti] for ti in sorted(indices)]

    def bindings(self, transition: str) -> list[Binding]:
        """The enabling bindings of ``transition`` now."""
        ti = self._ti(transition)
        if self._colored is not None:
            return [Binding(env) for env in self._colored.bindings(ti)]
        return [EMPTY_BINDING] if self._position[ti] >= 0 else []

    def is_dead(self) -> bool:
        return self._colored.is_dead() if self._colored is not None else not self._enabled

    def put(self, place: str, tokens: int | Iterable[Any] = 1) -> None:
        """Add tokens to a place of the running game (a new case entering, say).

        ``tokens`` is a count of black tokens for a P/T place, or an iterable of values
        for a colored place; each value is validated by the place's color set.
        """
        entry = self._entry.get(place) if self._entry is not None else None  # type: ignore[call-overload]
        if entry is not None and type(tokens) is list:  # a case entering the fast path
            i, validate = entry
            if len(tokens) == 1:
                self._colored.put_at(i, validate(tokens[0]))  # type: ignore[union-attr]
                return
            values = [validate(v) for v in tokens]  # all checked before any is put
            put_at = self._colored.put_at  # type: ignore[union-attr]
            for v in values:
                put_at(i, v)
            return
        found = self.net.place_map.get(place)  # type: ignore[call-overload]
        if found is None:
            raise FiringError(f"net '{self.net.name}' has no place '{place}'")
        color = found.color
        if isinstance(tokens, int):
            values = [DOT] * tokens if tokens >= 0 else None
            if values is None:
                raise FiringError(f"cannot put a negative number of tokens on '{place}'")
        else:
            values = list(token_collection(place, tokens))
        values = [color.validate(v) for v in values]
        if self._colored is not None:
            for v in values:
                self._colored.put(PlaceId(place), v)
            return
        i = self._index[place]
        self._counts[i] += len(values)
        for u in range(len(self._tids)):  # rare: recompute the enabled set exactly
            now = self._count_enabled(u)
            pos = self._position[u]
            if now and pos < 0:
                self._position[u] = len(self._enabled)
                self._enabled.append(u)
            elif not now and pos >= 0:
                last = self._enabled.pop()
                if last != u:
                    self._enabled[pos] = last
                    self._position[last] = pos
                self._position[u] = -1

    # -- firing ----------------------------------------------------------------------------

    def _ti(self, transition: str) -> int:
        ti = self._tindex.get(transition)  # type: ignore[call-overload]
        if ti is None:
            raise FiringError(f"net '{self.net.name}' has no transition '{transition}'",
                              transition=transition)
        return int(ti)

    def fire(self, transition: str, binding: Mapping[str, Any] | None = None) -> Step:
        """Fire one transition (checked, like :func:`~petriflow.net.firing.fire`)."""
        ti = self._ti(transition)
        plan = self._plans[ti]
        if self._colored is None and self._position[ti] < 0:
            raise NotEnabledError(f"transition '{transition}' is not enabled",
                                  transition=transition)
        before = self.marking()
        env = plan.complete_binding(self._lookup, binding)
        consumed, produced = plan.step_bags(env, self._lookup)
        if self._colored is not None:
            self._colored.apply(consumed, produced)
        else:
            self._fire_pt(ti)
        return Step(TransitionId(transition), Binding(env) if env else EMPTY_BINDING,
                    _marking(consumed), _marking(produced), before, self.marking())

    def replay(self, transitions: Iterable[str]) -> Marking:
        """Fire a sequence of transitions, each checked; returns the marking reached.

        The fast way to confirm a long counterexample: on P/T nets no :class:`Step` is
        built. Raises :class:`NotEnabledError` naming the first step that cannot fire.
        """
        for i, transition in enumerate(transitions):
            ti = self._ti(transition)
            if self._colored is not None:
                self.fire(transition)
            elif self._position[ti] < 0:
                raise NotEnabledError(f"step {i + 1}: transition '{transition}' is not enabled",
                                      transition=transition)
            else:
                self._fire_pt(ti)
        return self.marking()

    def _fire_pt(self, ti: int) -> None:
        counts = self._counts
        for p, d in self._delta[ti]:
            counts[p] += d
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
        colored = self._colored
        if colored is not None:
            return RunResult(colored.run(steps, rng.random), colored.is_dead())
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


def _marking(bag: Bag) -> Marking:
    return Marking._trusted({p: Multiset._trusted(dict(t)) for p, t in bag.items() if t})


__all__ = ["RunResult", "TokenGame"]
