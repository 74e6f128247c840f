"""The fast path of colored token games: case-shaped nets, interned tokens, one tight loop.

The nets a process compiles to are *case-shaped*: every input arc takes black tokens or
binds one variable to a whole token, there are no read or inhibitor arcs and no free
variables, and output arcs copy a variable or compute a token with a compiled closure.
For such a net :func:`~petriflow.net.case_layout.case_layout` plans the firing rule once
(it is cached on the net and shared by every game of it) into integer-indexed tables, and
:class:`CaseState` runs it:

* every token value is *interned* to an integer id (one table per color set) when it
  enters: by :meth:`CaseState.put`, or from an output arc that computes a value. Bags map
  ids to counts, so the firing loop hashes small integers, never records, and a token an
  output arc copies keeps its id;
* each transition keeps its bindings (ids, or tuples of ids when it has several
  variables) in a swap-remove list with positions, updated from token deltas only. A
  transition whose arcs all bind the same variable (a step of a case, or a case-keyed
  join) costs one dictionary lookup per input arc, as in the hand-written floor;
* the transitions with a binding are kept the same way, so a uniform random step is two
  indexings (none when there is a single choice), and :meth:`CaseState.run` does the
  whole step inline for transitions with one variable whose outputs copy it.

The bindings, the enabled transitions and the tokens moved are exactly those of
:class:`~petriflow.net.plan.TransitionPlan` (guards and output colors are checked by the
same closures, with the same errors meaning "not enabled"); a property test runs this
state and :class:`~petriflow.net.colored_game.ColoredState` side by side on random nets.
Ids that no place holds any more are reclaimed when the table has doubled since the last
compaction. Nets of any other shape use ``ColoredState``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from petriflow.ids import PlaceId
from petriflow.net.case_code import pure_fires
from petriflow.net.case_layout import INLINE, MULTI, SAME, CaseLayout
from petriflow.net.colors import DOT
from petriflow.net.marking import Marking, Multiset

Env = dict[str, Any]
_DOT = 0  # the id of the black token, in table 0
_MIN_TABLE = 4096  # ids are compacted when the table outgrows max(this, twice the live ids)


class CaseState:
    """Mutable colored marking of a case-shaped net with exact, incremental bindings."""

    def __init__(self, layout: CaseLayout, start: Marking) -> None:
        self.layout = layout
        self.values: list[Any] = [DOT]        # id -> token
        self.owner: list[int] = [0]           # id -> table
        self.tables: list[dict[Any, int]] = [{DOT: _DOT}] + [{} for _ in range(layout.tables - 1)]
        self.bags: list[dict[int, int]] = [{} for _ in layout.places]
        n = len(layout.plans)
        self.bind: list[list[Any]] = [[] for _ in range(n)]
        self.bpos: list[dict[Any, int]] = [{} for _ in range(n)]
        self.enabled: list[int] = []
        self.epos = [-1] * n
        self.limit = _MIN_TABLE
        self._fires: list[Any] | None = None  # the pure transitions' functions, on first run
        values, owner = self.values, self.owner
        for place, tokens in start.items():
            i = layout.index[place]
            bag, t = self.bags[i], layout.table[i]
            table = self.tables[t]
            for token, count in tokens.items():
                x = table.get(token)
                if x is None:
                    x = table[token] = len(values)
                    values.append(token)
                    owner.append(t)
                bag[x] = count
        self._rebuild()

    def __deepcopy__(self, memo: dict[int, Any]) -> CaseState:
        """A copy with its own containers: the layout (the net's, immutable) is shared and
        the generated firing functions, bound to this state's containers, are made
        again on the copy's first run."""
        memo[id(self.layout)] = self.layout
        new = CaseState.__new__(CaseState)
        memo[id(self)] = new
        for name, value in self.__dict__.items():
            setattr(new, name, None if name == "_fires" else copy.deepcopy(value, memo))
        return new

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fires": None}  # (closures over this state's containers)

    # -- ids -----------------------------------------------------------------------------------

    def _intern(self, t: int, value: Any) -> int:
        table = self.tables[t]
        x = table.get(value)
        if x is None:
            x = table[value] = len(self.values)
            self.values.append(value)
            self.owner.append(t)
        return x

    def _compact(self) -> None:
        """Drop the ids no place holds (keeping the order of the others) and renumber."""
        live = {_DOT}
        for bag in self.bags:
            live.update(bag)
        order = sorted(live)
        remap = {old: new for new, old in enumerate(order)}
        values = [self.values[x] for x in order]
        owner = [self.owner[x] for x in order]
        for table in self.tables:
            table.clear()
        for x, (value, t) in enumerate(zip(values, owner, strict=True)):
            self.tables[t][value] = x
        self.values[:] = values
        self.owner[:] = owner
        for bag in self.bags:
            items = [(remap[x], n) for x, n in bag.items()]
            bag.clear()
            bag.update(items)
        for u, keys in enumerate(self.bind):
            if self.layout.single[u]:
                keys[:] = [remap[x] for x in keys]
            else:
                keys[:] = [tuple(remap[x] for x in key) for key in keys]
            pos = self.bpos[u]
            pos.clear()
            pos.update((key, k) for k, key in enumerate(keys))
        self.limit = max(_MIN_TABLE, 2 * len(values))

    # -- reading -------------------------------------------------------------------------------

    def lookup(self, place: PlaceId) -> Mapping[Any, int]:
        values = self.values
        return {values[x]: n for x, n in self.bags[self.layout.index[place]].items()}

    def marking(self) -> Marking:
        values = self.values
        return Marking._trusted({
            p: Multiset._trusted({values[x]: n for x, n in bag.items()})
            for p, bag in zip(self.layout.places, self.bags, strict=True) if bag
        })

    def enabled_indices(self) -> list[int]:
        return list(self.enabled)

    def is_dead(self) -> bool:
        return not self.enabled

    def _env(self, u: int, key: Any) -> Env:
        names, values = self.layout.names[u], self.values
        if self.layout.single[u]:
            return {names[0]: values[key]}
        return {name: values[x] for name, x in zip(names, key, strict=True)}

    def bindings(self, u: int) -> list[Env]:
        if self.epos[u] < 0:
            return []
        if not self.layout.names[u]:
            return [{}]
        return [self._env(u, key) for key in self.bind[u]]

    # -- keeping bindings up to date -----------------------------------------------------------

    def _rebuild(self) -> None:
        """Every transition's bindings and the enabled set, from the bags."""
        layout = self.layout
        for u in range(len(layout.plans)):
            keys, pos = self.bind[u], self.bpos[u]
            keys.clear()
            pos.clear()
            if layout.single[u]:  # one variable: a token of the first arc, on all arcs
                (i, w, _), *others = layout.var_arcs[u]
                ok, name, bags = layout.oks[u], layout.names[u][0], self.bags
                for x, n in bags[i].items():
                    if n >= w and all(bags[q].get(x, 0) >= wq for q, wq, _ in others) and (
                            ok is None or ok({name: self.values[x]})):
                        pos[x] = len(keys)
                        keys.append(x)
            elif layout.names[u]:
                for key in self._extend(u, [-1] * len(layout.names[u]), 0):
                    if key not in pos:
                        pos[key] = len(keys)
                        keys.append(key)
            self._refresh(u)

    def _extend(self, u: int, ids: list[int], k: int) -> list[Any]:
        """The keys of ``u`` completing ``ids`` (-1: unbound) over its variable arcs from
        the ``k``-th, that pass the guard and the output colors."""
        arcs = self.layout.var_arcs[u]
        if k == len(arcs):
            key = ids[0] if self.layout.single[u] else tuple(ids)
            ok = self.layout.oks[u]
            return [key] if ok is None or ok(self._env(u, key)) else []
        i, w, v = arcs[k]
        bag = self.bags[i]
        if ids[v] >= 0:
            return self._extend(u, ids, k + 1) if bag.get(ids[v], 0) >= w else []
        out: list[Any] = []
        for x, n in list(bag.items()):
            if n >= w:
                ids[v] = x
                out += self._extend(u, ids, k + 1)
        ids[v] = -1
        return out

    def _refresh(self, u: int) -> None:
        layout = self.layout
        now = bool(self.bind[u]) if layout.names[u] else layout.const_ok[u]
        if now:
            bags = self.bags
            for i, w in layout.gates[u]:
                if bags[i].get(_DOT, 0) < w:
                    now = False
                    break
        if now:
            self._enable(u)
        else:
            self._disable(u)

    def _enable(self, u: int) -> None:
        if self.epos[u] < 0:
            self.epos[u] = len(self.enabled)
            self.enabled.append(u)

    def _disable(self, u: int) -> None:
        enabled, epos = self.enabled, self.epos
        at = epos[u]
        if at >= 0:
            last = enabled.pop()
            if last != u:
                enabled[at] = last
                epos[last] = at
            epos[u] = -1

    def _add(self, u: int, key: Any) -> None:
        keys, pos = self.bind[u], self.bpos[u]
        if key in pos:
            return
        pos[key] = len(keys)
        keys.append(key)
        if len(keys) == 1:
            if self.layout.gated[u]:
                self._refresh(u)
            else:
                self._enable(u)

    def _drop(self, u: int, key: Any) -> None:
        keys, pos = self.bind[u], self.bpos[u]
        at = pos.pop(key, -1)
        if at < 0:
            return
        last = keys.pop()
        if at < len(keys):
            keys[at] = last
            pos[last] = at
        if not keys:
            self._disable(u)

    def _changed(self, i: int, x: int, old: int, new: int) -> None:
        """React to the count of token ``x`` on place ``i`` going from ``old`` to ``new``."""
        layout = self.layout
        for u, w, v, mode in layout.watch[i]:
            if old < w <= new:
                if mode == MULTI:
                    ids = [-1] * len(layout.names[u])
                    ids[v] = x
                    for key in self._extend(u, ids, 0):
                        self._add(u, key)
                    continue
                if mode == SAME:
                    bags = self.bags
                    if any(bags[q].get(x, 0) < wq for q, wq, _ in layout.var_arcs[u]):
                        continue
                ok = layout.oks[u]
                if ok is None or ok({layout.names[u][0]: self.values[x]}):
                    self._add(u, x)
            elif new < w <= old:
                if mode == MULTI:
                    for key in [k for k in self.bind[u] if k[v] == x]:
                        self._drop(u, key)
                else:
                    self._drop(u, x)
        if x == _DOT:
            for u in layout.gate_watch[i]:
                self._refresh(u)

    def _move(self, i: int, x: int, delta: int) -> None:
        bag = self.bags[i]
        old = bag.get(x, 0)
        new = old + delta
        if new:
            bag[x] = new
        else:
            del bag[x]
        self._changed(i, x, old, new)

    # -- changing the marking ------------------------------------------------------------------

    def put(self, place: PlaceId, token: Any, count: int = 1) -> None:
        """Add ``count`` copies of ``token`` (already validated) to ``place``."""
        self.put_at(self.layout.index[place], token, count)

    def put_at(self, i: int, token: Any, count: int = 1) -> None:
        """:meth:`put` by place index (the path of a case entering a running game)."""
        table = self.tables[self.layout.table[i]]
        x = table.get(token)
        if x is None:
            x = table[token] = len(self.values)
            self.values.append(token)
            self.owner.append(self.layout.table[i])
        bag = self.bags[i]
        old = bag.get(x, 0)
        bag[x] = old + count
        if old or not self.layout.pure_place[i]:
            self._changed(i, x, old, old + count)
        else:
            self._arrive(i, x)
        if len(self.values) > self.limit:
            self._compact()

    def _arrive(self, i: int, x: int) -> None:
        """The bindings a first token ``x`` on the pure place ``i`` completes (the
        arrival half of :meth:`_changed` for places whose watchers all take one token of
        one variable, as :meth:`run` does it for pure transitions)."""
        layout, bind, bpos, epos, enabled = (self.layout, self.bind, self.bpos, self.epos,
                                             self.enabled)
        for t in layout.plain_adds[i]:
            lst = bind[t]
            bpos[t][x] = len(lst)
            lst.append(x)
            if len(lst) == 1:
                epos[t] = len(enabled)
                enabled.append(t)
        for t, others, ok, name in layout.adds[i]:
            if others is not None:
                bags = self.bags
                if any(x not in bags[q] for q in others):
                    continue
            if ok is not None and not ok({name: self.values[x]}):
                continue
            lst = bind[t]
            bpos[t][x] = len(lst)
            lst.append(x)
            if len(lst) == 1:
                if layout.gated[t]:
                    self._refresh(t)
                elif epos[t] < 0:
                    epos[t] = len(enabled)
                    enabled.append(t)

    def apply(self, consumed: Mapping[PlaceId, Mapping[Any, int]],
              produced: Mapping[PlaceId, Mapping[Any, int]]) -> None:
        """Move tokens (already checked by the firing rule) and update the bindings."""
        index, table = self.layout.index, self.layout.table
        for sign, bag in ((-1, consumed), (1, produced)):
            for place, per in bag.items():
                i = index[place]
                for token, n in per.items():
                    self._move(i, self._intern(table[i], token), sign * n)
        if len(self.values) > self.limit:
            self._compact()

    def _outputs(self, u: int, key: Any) -> list[tuple[int, int, int]]:
        """(place, weight, id) of every token ``u`` produces with binding ``key``, computed
        before anything moves (so an error in an output expression leaves the state as is)."""
        layout = self.layout
        single = layout.single[u]
        out = [(i, w, _DOT if v < 0 else key if single else key[v])
               for i, w, v in layout.copy_outs[u]]
        if layout.calc_outs[u]:
            env = self._env(u, key) if layout.names[u] else {}
            for i, w, value, check, t in layout.calc_outs[u]:
                token = value(env)
                if check is not None:
                    token = check.validate(token)
                out.append((i, w, self._intern(t, token)))
        return out

    def fire_key(self, u: int, key: Any) -> None:
        """Fire ``u`` with the binding ``key`` (one of ``self.bind[u]``, or () without
        variables)."""
        layout = self.layout
        produced = self._outputs(u, key)
        single = layout.single[u]
        for i, w, v in layout.ins[u]:
            self._move(i, _DOT if v < 0 else key if single else key[v], -w)
        for i, w, x in produced:
            self._move(i, x, w)
        if len(self.values) > self.limit:
            self._compact()

    def run(self, steps: int, rand: Callable[[], float]) -> int:
        """Fire up to ``steps`` random transitions; returns how many fired.

        A transition is chosen uniformly among the enabled ones, then a binding uniformly
        among its own. A pure transition fires through its generated function (see
        :mod:`~petriflow.net.case_code`); the step of another transition with one
        variable whose outputs copy it is done inline here (the same moves as
        :meth:`fire_key`, with the updates of :meth:`_changed` for the watchers of one
        variable); the others call ``fire_key``.
        """
        enabled, epos, bind, bpos = self.enabled, self.epos, self.bind, self.bpos
        bags, values = self.bags, self.values
        fires = self._fires
        if fires is None:
            fires = self._fires = pure_fires(self)
        kinds, ins, copy_outs, watch, gate_watch, var_arcs, names, oks, gated = self.layout.loop
        multi, same = MULTI, SAME
        fired = 0
        if len(self.layout.pure) == len(fires):  # every transition pure: the whole loop
            while fired < steps and enabled:
                # (no random number is drawn for a choice of one: it is still uniform)
                u = enabled[int(rand() * len(enabled))] if len(enabled) > 1 else enabled[0]
                keys = bind[u]
                fires[u](keys[int(rand() * len(keys))] if len(keys) > 1 else keys[0])
                fired += 1
            return fired
        while fired < steps and enabled:
            # (no random number is drawn for a choice of one: the choice is still uniform)
            u = enabled[int(rand() * len(enabled))] if len(enabled) > 1 else enabled[0]
            keys = bind[u]
            fire = fires[u]
            if fire is not None:
                fire(keys[int(rand() * len(keys))] if len(keys) > 1 else keys[0])
                fired += 1
                continue
            kind = kinds[u]
            if kind != INLINE:
                self.fire_key(u, keys[int(rand() * len(keys))] if keys else ())
                fired += 1
                continue
            x = keys[int(rand() * len(keys))]
            for i, w, v in ins[u]:
                tok = x if v >= 0 else 0
                bag = bags[i]
                old = bag[tok]
                new = old - w
                if new:
                    bag[tok] = new
                else:
                    del bag[tok]
                for t, wt, vt, mode in watch[i]:
                    if new < wt <= old:
                        if mode == multi:
                            for key in [k for k in bind[t] if k[vt] == tok]:
                                self._drop(t, key)
                            continue
                        pos = bpos[t]
                        at = pos.pop(tok, -1)
                        if at >= 0:
                            lst = bind[t]
                            last = lst.pop()
                            if at < len(lst):
                                lst[at] = last
                                pos[last] = at
                            elif not lst:
                                at = epos[t]
                                if at >= 0:
                                    last = enabled.pop()
                                    if last != t:
                                        enabled[at] = last
                                        epos[last] = at
                                    epos[t] = -1
                if not tok:  # the black token: transitions that need it as a gate
                    for t in gate_watch[i]:
                        self._refresh(t)
            for i, w, v in copy_outs[u]:
                tok = x if v >= 0 else 0
                bag = bags[i]
                old = bag.get(tok, 0)
                new = old + w
                bag[tok] = new
                for t, wt, vt, mode in watch[i]:
                    if old < wt <= new:
                        if mode == multi:
                            self._changed_multi_up(t, vt, tok)
                            continue
                        if mode == same:
                            missing = False
                            for q, wq, _ in var_arcs[t]:
                                if bags[q].get(tok, 0) < wq:
                                    missing = True
                                    break
                            if missing:
                                continue
                        ok = oks[t]
                        if ok is not None and not ok({names[t][0]: values[tok]}):
                            continue
                        lst = bind[t]
                        bpos[t][tok] = len(lst)
                        lst.append(tok)
                        if len(lst) == 1:
                            if gated[t]:
                                self._refresh(t)
                            elif epos[t] < 0:
                                epos[t] = len(enabled)
                                enabled.append(t)
                if not tok:  # the black token: transitions that need it as a gate
                    for t in gate_watch[i]:
                        self._refresh(t)
            fired += 1
        return fired

    def _changed_multi_up(self, u: int, v: int, x: int) -> None:
        ids = [-1] * len(self.layout.names[u])
        ids[v] = x
        for key in self._extend(u, ids, 0):
            self._add(u, key)


__all__ = ["CaseState"]
