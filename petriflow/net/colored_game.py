"""Incremental bindings for colored token games with many tokens in flight.

Recomputing every binding of every transition after each firing costs the number of
tokens in flight per step. Here each transition of the common shape (input arcs that
take black tokens or bind one variable each; see ``TransitionPlan.simple_in``) keeps
its set of bindings up to date from token *deltas*: when token ``x`` appears on a
place, only the bindings that use ``x`` there are enumerated; when it disappears,
exactly those are dropped. A join whose arcs all bind the case variable therefore
costs one dictionary lookup per arc, whatever the number of cases. Black-token arcs
only gate enabledness. Transitions of other shapes (read or inhibitor arcs, free
variables, tuple patterns) are recomputed in full when a place they read changes.
The result is the same set of bindings that :meth:`TransitionPlan.bindings` lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from petriflow.ids import PlaceId
from petriflow.net.colors import DOT
from petriflow.net.indexed import IndexedSet
from petriflow.net.marking import Marking, Multiset
from petriflow.net.plan import TransitionPlan

Env = dict[str, Any]


class ColoredState:
    """Mutable colored marking with an exact, incrementally kept set of enabled transitions."""

    def __init__(self, places: list[PlaceId], plans: list[TransitionPlan], start: Marking):
        self.places = places
        self.index = {p: i for i, p in enumerate(places)}
        self.plans = plans
        self.tokens: list[dict[Any, int]] = [dict(start[p]) for p in places]
        n = len(plans)
        index = self.index
        self.vars: list[tuple[str, ...]] = [()] * n
        self.var_arcs: list[tuple[tuple[int, int, str], ...]] = [()] * n
        self.black: list[tuple[tuple[int, int], ...]] = [()] * n
        self.keys: list[IndexedSet[tuple[Any, ...]]] = [IndexedSet() for _ in range(n)]
        self.full: list[list[Env]] = [[] for _ in range(n)]
        # var_watch[place]: (transition, weight, variable, solo) for each arc binding a
        # variable there; ``solo`` marks the arc as the transition's only input arc, so a
        # new token is a binding by itself (after the guard).
        self.var_watch: list[list[tuple[int, int, str, bool]]] = [[] for _ in places]
        self.gate_watch: list[list[int]] = [[] for _ in places]
        self.full_watch: list[list[int]] = [[] for _ in places]
        for u, plan in enumerate(plans):
            if plan.simple_in is None:
                watched = {a.place for a in plan.consume + plan.read} | {p for p, _ in plan.inhibit}
                for p in watched:
                    self.full_watch[index[p]].append(u)
                continue
            arcs = tuple((index[p], w, v) for p, w, v in plan.simple_in if v is not None)
            self.var_arcs[u] = arcs
            self.vars[u] = tuple(dict.fromkeys(v for _, _, v in arcs))
            self.black[u] = tuple((index[p], w) for p, w, v in plan.simple_in if v is None)
            solo = len(plan.simple_in) == 1
            for i, w, v in arcs:
                self.var_watch[i].append((u, w, v, solo))
            for i, _ in self.black[u]:
                self.gate_watch[i].append(u)
        # Index-based copies of the simple plans' arcs, for the firing hot path.
        self.sin = [tuple((index[p], w, v) for p, w, v in plan.simple_in)
                    if plan.simple_in is not None else () for plan in plans]
        self.sout = [tuple((index[p], w, value) for p, w, value, _ in plan.simple_out)
                     for plan in plans]
        self.enabled: IndexedSet[int] = IndexedSet()
        self._dirty: set[int] = set()
        for u, plan in enumerate(plans):
            if plan.simple_in is None:
                self.full[u] = list(plan.bindings(self.lookup))
            elif self.var_arcs[u]:
                for env in self._extend(u, {}, 0):
                    self.keys[u].add(tuple(env[v] for v in self.vars[u]))
            self._update(u)

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, place: PlaceId) -> Mapping[Any, int]:
        return self.tokens[self.index[place]]

    def marking(self) -> Marking:
        return Marking._trusted({
            p: Multiset._trusted(dict(bag)) for p, bag in zip(self.places, self.tokens,
                                                              strict=True) if bag
        })

    def enabled_indices(self) -> list[int]:
        return list(self.enabled.items)

    def is_dead(self) -> bool:
        return not self.enabled

    def bindings(self, u: int) -> list[Env]:
        if self.plans[u].simple_in is None:
            return list(self.full[u])
        if not self.var_arcs[u]:
            return [{}] if u in self.enabled else []
        if not self._gates_open(u):
            return []
        names = self.vars[u]
        return [dict(zip(names, key, strict=True)) for key in self.keys[u].items]

    # -- keeping bindings up to date -----------------------------------------------------------

    def _gates_open(self, u: int) -> bool:
        tokens = self.tokens
        return all(tokens[i].get(DOT, 0) >= w for i, w in self.black[u])

    def _update(self, u: int) -> None:
        if self.plans[u].simple_in is None:
            now = bool(self.full[u])
        else:
            now = (bool(self.keys[u]) or not self.var_arcs[u]) and self._gates_open(u)
            if not self.var_arcs[u] and now:
                now = self.plans[u]._outputs_ok({})
        if now:
            self.enabled.add(u)
        else:
            self.enabled.discard(u)

    def _extend(self, u: int, env: Env, i: int) -> list[Env]:
        """Complete ``env`` over the variable arcs of ``u`` from arc ``i`` on."""
        arcs = self.var_arcs[u]
        if i == len(arcs):
            return [dict(env)] if self.plans[u]._outputs_ok(env) else []
        place, weight, var = arcs[i]
        bag = self.tokens[place]
        if var in env:
            return self._extend(u, env, i + 1) if bag.get(env[var], 0) >= weight else []
        out: list[Env] = []
        for token, count in list(bag.items()):
            if count >= weight:
                env[var] = token
                out += self._extend(u, env, i + 1)
        env.pop(var, None)
        return out

    def _changed(self, place: int, token: Any, old: int, new: int) -> None:
        """React to the count of ``token`` on ``place`` going from ``old`` to ``new``."""
        for u, weight, var, solo in self.var_watch[place]:
            if solo:
                # The common case, inlined: one input arc binding one variable.
                keys = self.keys[u]
                position, items = keys.position, keys.items
                if old < weight <= new:
                    plan = self.plans[u]
                    if not plan.open_outputs and not plan._outputs_ok({var: token}):
                        continue
                    key = (token,)
                    if key not in position:
                        position[key] = len(items)
                        items.append(key)
                        if len(items) == 1:
                            self.enabled.add(u)
                elif new < weight <= old:
                    at = position.pop((token,), None)
                    if at is not None:
                        last = items.pop()
                        if at < len(items):
                            items[at] = last
                            position[last] = at
                        if not items:
                            self.enabled.discard(u)
                continue
            if old < weight <= new:
                names = self.vars[u]
                keys = self.keys[u]
                for env in self._extend(u, {var: token}, 0):
                    keys.add(tuple(env[v] for v in names))
            elif new < weight <= old:
                names = self.vars[u]
                if len(names) == 1:
                    self.keys[u].discard((token,))
                else:
                    at = names.index(var)
                    for key in [k for k in self.keys[u].items if k[at] == token]:
                        self.keys[u].discard(key)
            else:
                continue
            self._update(u)
        if token is DOT:
            for u in self.gate_watch[place]:
                self._update(u)
        if self.full_watch[place]:
            self._dirty.update(self.full_watch[place])

    def _settle(self) -> None:
        for u in self._dirty:
            self.full[u] = list(self.plans[u].bindings(self.lookup))
            self._update(u)
        self._dirty.clear()

    # -- firing --------------------------------------------------------------------------------

    def apply(self, consumed: Mapping[PlaceId, Mapping[Any, int]],
              produced: Mapping[PlaceId, Mapping[Any, int]]) -> None:
        """Move tokens (already checked by the firing rule) and update the bindings."""
        index, tokens = self.index, self.tokens
        for place, per in consumed.items():
            i = index[place]
            bag = tokens[i]
            for token, n in per.items():
                old = bag[token]
                if old == n:
                    del bag[token]
                else:
                    bag[token] = old - n
                self._changed(i, token, old, old - n)
        self._produce(produced)

    def _produce(self, produced: Mapping[PlaceId, Mapping[Any, int]]) -> None:
        index, tokens = self.index, self.tokens
        for place, per in produced.items():
            i = index[place]
            bag = tokens[i]
            for token, n in per.items():
                old = bag.get(token, 0)
                bag[token] = old + n
                self._changed(i, token, old, old + n)
        self._settle()

    def put(self, place: PlaceId, token: Any, count: int = 1) -> None:
        """Add ``count`` copies of ``token`` (already validated) to ``place``."""
        i = self.index[place]
        bag = self.tokens[i]
        old = bag.get(token, 0)
        bag[token] = old + count
        self._changed(i, token, old, old + count)
        if self._dirty:
            self._settle()

    def fire_simple(self, u: int, env: Env) -> None:
        """Fire transition ``u`` of the simple shape with an enabling binding ``env``."""
        tokens, changed = self.tokens, self._changed
        for i, weight, var in self.sin[u]:
            bag = tokens[i]
            token = DOT if var is None else env[var]
            old = bag[token]
            if old == weight:
                del bag[token]
            else:
                bag[token] = old - weight
            changed(i, token, old, old - weight)
        for i, weight, value in self.sout[u]:
            bag = tokens[i]
            token = DOT if value is None else value(env)
            old = bag.get(token, 0)
            bag[token] = old + weight
            changed(i, token, old, old + weight)
        if self._dirty:
            self._settle()

    def run(self, steps: int, rand: Callable[[], float]) -> int:
        """Fire up to ``steps`` random transitions; returns how many fired."""
        enabled, plans, keys, names = self.enabled, self.plans, self.keys, self.vars
        fired = 0
        active = enabled.items
        while fired < steps and active:
            u = active[int(rand() * len(active))]
            plan = plans[u]
            if plan.simple_in is None:
                found = self.full[u]
                env = found[int(rand() * len(found))]
                self.apply(plan.demand(env, plan.consume), plan.demand(env, plan.produce))
            else:
                items = keys[u].items
                if not items:
                    env: Env = {}
                elif len(names[u]) == 1:
                    env = {names[u][0]: items[int(rand() * len(items))][0]}
                else:
                    env = dict(zip(names[u], items[int(rand() * len(items))], strict=True))
                self.fire_simple(u, env)
            fired += 1
        return fired


__all__ = ["ColoredState"]
