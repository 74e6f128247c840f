"""The firing tables of the colored fast path, planned once per case-shaped net.

A net is *case-shaped* when every transition's input arcs take black tokens or bind one
variable each to a whole token (``TransitionPlan.simple_in``), with no read or inhibitor
arcs and no free variables, and a variable bound on several arcs reads places of one
color set. :func:`case_layout` turns such a net into integer-indexed tables (places and
transitions by position, variables by position in the transition, token tables by color
set) for :class:`~petriflow.net.case_game.CaseState`; ``Net._case_layout`` caches it, so
every game of a net shares one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from petriflow.ids import PlaceId, TransitionId
from petriflow.net.case_code import pure_maker
from petriflow.net.colors import BLACK, ColorSet
from petriflow.net.plan import TransitionPlan

if TYPE_CHECKING:
    from petriflow.net.structure import Net

Check = Callable[[Mapping[str, Any]], bool]
# Watcher modes: how a token arriving on or leaving a place changes a transition's bindings.
SOLO = 0    # the transition's only input arc: the token is a binding by itself
SAME = 1    # every variable arc binds the same variable: look the token up on the others
MULTI = 2   # several variables: enumerate (arrivals) or scan (departures)
GENERAL, INLINE, PURE = 0, 1, 2  # how CaseState.run fires a transition
_UNMADE = object()


def _checker(plan: TransitionPlan) -> Check | None:
    """``plan``'s test of a complete binding (guard, output colors), or None if always true."""
    if plan.open_outputs:
        return None
    guard = plan.guard
    checked = any(check is not None and value is not None
                  for _, _, value, check in plan.simple_out)
    if checked or guard is None:
        return plan._outputs_ok

    def ok(env: Mapping[str, Any]) -> bool:
        try:
            return guard(env) is True
        except (ArithmeticError, KeyError, TypeError):
            return False

    return ok


class CaseLayout:
    """The per-net tables of :class:`CaseState`: built once, shared by every game."""

    def __init__(self, places: list[PlaceId], colors: list[ColorSet], tids: list[TransitionId],
                 plans: list[TransitionPlan]) -> None:
        self.places = places
        self.index = {p: i for i, p in enumerate(places)}
        self.tids = tids
        self.tindex = {t: i for i, t in enumerate(tids)}
        self.plans = plans
        table_of: dict[ColorSet, int] = {BLACK: 0}
        self.table = [table_of.setdefault(c, len(table_of)) for c in colors]
        self.tables = len(table_of)
        index, n = self.index, len(plans)
        self.names: list[tuple[str, ...]] = []
        self.single: list[bool] = []
        self.ins: list[tuple[tuple[int, int, int], ...]] = []        # (place, weight, var)
        self.var_arcs: list[tuple[tuple[int, int, int], ...]] = []
        self.gates: list[tuple[tuple[int, int], ...]] = []          # black inputs
        self.copy_outs: list[tuple[tuple[int, int, int], ...]] = []  # var -1: a black token
        self.calc_outs: list[tuple[tuple[int, int, Any, ColorSet | None, int], ...]] = []
        self.oks: list[Check | None] = []
        self.const_ok: list[bool] = []   # no variables: the (constant) guard and outputs
        self.watch: list[list[tuple[int, int, int, int]]] = [[] for _ in places]
        self.gate_watch: list[list[int]] = [[] for _ in places]
        for u, plan in enumerate(plans):
            assert plan.simple_in is not None
            names = tuple(dict.fromkeys(v for _, _, v in plan.simple_in if v is not None))
            pos = {v: k for k, v in enumerate(names)}
            ins = tuple((index[p], w, -1 if v is None else pos[v]) for p, w, v in plan.simple_in)
            var_arcs = tuple(a for a in ins if a[2] >= 0)
            source = {a[2]: self.table[a[0]] for a in var_arcs}
            copies, calcs = [], []
            for a in plan.produce:
                i = index[a.place]
                if a.value is None:
                    copies.append((i, a.weight, -1))
                elif (a.copies in pos and a.check is None
                      and source[pos[a.copies]] == self.table[i]):
                    copies.append((i, a.weight, pos[a.copies]))
                else:
                    calcs.append((i, a.weight, a.value, a.check, self.table[i]))
            self.names.append(names)
            self.single.append(len(names) == 1)
            self.ins.append(ins)
            self.var_arcs.append(var_arcs)
            self.gates.append(tuple((i, w) for i, w, v in ins if v < 0))
            self.copy_outs.append(tuple(copies))
            self.calc_outs.append(tuple(calcs))
            self.oks.append(_checker(plan))
            self.const_ok.append(not names and plan._outputs_ok({}))
            mode = SOLO if len(ins) == 1 else SAME if len(names) == 1 else MULTI
            for i, w, v in ins:
                if v >= 0:
                    self.watch[i].append((u, w, v, mode))
                else:
                    self.gate_watch[i].append(u)
        self.gated = [bool(self.gates[u]) for u in range(n)]
        # How CaseState.run fires each transition: GENERAL through fire_key; INLINE (one
        # variable, every output a copy) inline; PURE moreover moves single tokens only
        # between places whose watchers all bind one variable from single tokens, so the
        # bookkeeping reduces to that of the floor (see CaseState.run).
        pure_place = [not self.gate_watch[i] and all(
            mode != MULTI and all(wq == 1 for _, wq, _ in self.var_arcs[t])
            for t, _, _, mode in self.watch[i]) for i in range(len(places))]
        self.pure_place = pure_place
        self.kind = []
        for u in range(n):
            kind = GENERAL
            if self.single[u] and not self.calc_outs[u]:
                kind = INLINE
                arcs = self.ins[u] + self.copy_outs[u]
                if all(w == 1 and v >= 0 and pure_place[i] for i, w, v in arcs):
                    kind = PURE
            self.kind.append(kind)
        self.pure = [u for u in range(n) if self.kind[u] == PURE]
        # For a place of pure transitions: the watchers a token leaving it drops, and those
        # it may complete when it arrives: (transition, the other arcs to look the token
        # up on or None, the guard test, the variable's name).
        self.drops = [tuple(t for t, _, _, _ in self.watch[i]) for i in range(len(places))]
        self.adds = [tuple((t, tuple(q for q, _, _ in self.var_arcs[t] if q != i)
                            if mode == SAME else None, self.oks[t], self.names[t][0])
                           for t, _, _, mode in self.watch[i]
                           if mode != SOLO or self.oks[t] is not None or self.gated[t])
                     for i in range(len(places))]
        # ... and those for which the token alone is a binding (no guard, no other arc).
        self.plain_adds = [tuple(t for t, _, _, mode in self.watch[i]
                                 if mode == SOLO and self.oks[t] is None
                                 and not self.gated[t])
                           for i in range(len(places))]
        # The arcs of pure transitions with what to update: (place, drops) for inputs, and
        # (place, plain adds, other adds or None) for outputs.
        self.pure_ins = [tuple((i, self.drops[i]) for i, _, _ in self.ins[u]) for u in range(n)]
        self.pure_outs = [tuple((i, self.plain_adds[i], self.adds[i] or None)
                                for i, _, _ in self.copy_outs[u]) for u in range(n)]
        # What TokenGame.put needs per place: (place index, the color set's validate).
        self.entry = {p: (i, colors[i].validate) for i, p in enumerate(places)}
        # The tables CaseState.run reads, in the order it unpacks them (one unpacking per run).
        self.loop = (self.kind, self.ins, self.copy_outs, self.watch, self.gate_watch,
                     self.var_arcs, self.names, self.oks, self.gated)
        self._maker: Any = _UNMADE

    @property
    def pure_maker(self) -> Any:
        """The compiled maker of the pure transitions' firing functions (built on first
        use, once per net; see :mod:`~petriflow.net.case_code`), or None if none is pure."""
        if self._maker is _UNMADE:
            self._maker = pure_maker(self)
        return self._maker


def case_layout(net: Net) -> CaseLayout | None:
    """The layout of ``net`` if it is case-shaped (see the module docstring), else None."""
    tids = [t.id for t in net.transitions]
    plans = [net.plan(t) for t in tids]
    color = {p.id: p.color for p in net.places}
    for plan in plans:
        if plan.simple_in is None:
            return None
        # A variable bound on several arcs must read one table (one color set) on all.
        seen: dict[str, ColorSet] = {}
        for p, _, v in plan.simple_in:
            if v is not None and seen.setdefault(v, color[p]) != color[p]:
                return None
    return CaseLayout([p.id for p in net.places], [p.color for p in net.places], tids, plans)


__all__ = ["GENERAL", "INLINE", "MULTI", "PURE", "SAME", "SOLO", "CaseLayout", "case_layout"]
