"""Straight-line firing functions for the pure transitions of a case-shaped net.

:meth:`~petriflow.net.case_game.CaseState.run` fires a *pure* transition (one variable,
single tokens copied between places whose watchers bind one variable; see
:mod:`~petriflow.net.case_layout`) by walking its tables: the input places and the
bindings each one drops, the output places and the bindings each one may complete. The
walk is the same for every firing of the transition, so it becomes one Python function
per pure transition whose body is that walk unrolled: the tables' loops, tuple
unpackings and indexings disappear, and a step of a case costs about a quarter less (see
``benchmarks/RESULTS.md``). The moves and their order are those of the table walk the
functions replaced (the property tests compare every step with the firing rule).
Transitions of one *shape* (the steps of a chain, the branches of a fork) share one
compiled maker, cached by its text.

The one piece of text this module writes and compiles is built **only from integers**
(slot numbers local to a transition's function) and fixed text: :func:`_n` refuses
anything else, so no name, inscription or value from a model file can reach the
compiler. The objects the code
touches (bags, binding lists, guard closures, variable names) are handed over as values
when a state makes its functions, never written into the text. This is the technique of
:mod:`dataclasses` and :func:`collections.namedtuple`; it is not evaluation of user text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from petriflow.net.case_game import CaseState
    from petriflow.net.case_layout import CaseLayout

Maker = Callable[..., list[Callable[[int], None] | None]]


def _n(value: int) -> str:
    """An integer as source text: the only way data enters the generated code."""
    if type(value) is not int:
        raise TypeError(f"generated code takes integers only, not {type(value).__name__}")
    return str(value)


class _Slots:
    """Local names for what one transition's function touches, in order of first use: the
    text then depends only on the transition's *shape*, so transitions of one shape (the
    steps of a chain, the branches of a fork) share one compiled maker."""

    def __init__(self) -> None:
        self.places: dict[int, str] = {}
        self.trans: dict[int, str] = {}

    def bag(self, i: int) -> str:
        return self.places.setdefault(i, f"B{_n(len(self.places))}")

    def t(self, t: int) -> str:
        return self.trans.setdefault(t, _n(len(self.trans)))

    def params(self) -> str:
        names = [*self.places.values()]
        for s in self.trans.values():
            names += [f"K{s}", f"P{s}", f"OK{s}", f"N{s}", f"T{s}"]
        return ", ".join(names)


def _drop(t: str, pad: str) -> list[str]:
    """Remove binding ``x`` of transition ``T<t>`` (swap-remove), disabling it when empty."""
    return [f"{pad}at = P{t}.pop(x, -1)",
            f"{pad}if at >= 0:",
            f"{pad}    last = K{t}.pop()",
            f"{pad}    if at < len(K{t}):",
            f"{pad}        K{t}[at] = last",
            f"{pad}        P{t}[last] = at",
            f"{pad}    elif not K{t}:",
            f"{pad}        at = epos[T{t}]",
            f"{pad}        if at >= 0:",
            f"{pad}            last = enabled.pop()",
            f"{pad}            if last != T{t}:",
            f"{pad}                enabled[at] = last",
            f"{pad}                epos[last] = at",
            f"{pad}            epos[T{t}] = -1"]


def _add(t: str, pad: str, gated: bool) -> list[str]:
    """Append binding ``x`` to transition ``T<t>``, enabling it when it is the first."""
    lines = [f"{pad}P{t}[x] = len(K{t})",
             f"{pad}K{t}.append(x)",
             f"{pad}if len(K{t}) == 1:"]
    if gated:
        return [*lines, f"{pad}    refresh(T{t})"]
    return [*lines,
            f"{pad}    if epos[T{t}] < 0:",
            f"{pad}        epos[T{t}] = len(enabled)",
            f"{pad}        enabled.append(T{t})"]


def _plain_add(t: str, pad: str) -> list[str]:
    """:func:`_add` for a transition that an empty binding list proves disabled."""
    return [f"{pad}P{t}[x] = len(K{t})",
            f"{pad}K{t}.append(x)",
            f"{pad}if len(K{t}) == 1:",
            f"{pad}    epos[T{t}] = len(enabled)",
            f"{pad}    enabled.append(T{t})"]


def _body(layout: CaseLayout, u: int, slots: _Slots) -> list[str]:
    """The firing function of pure transition ``u``: its input places' tokens leave (and
    the bindings they made go), its output places' tokens arrive (and complete bindings),
    in the order of the layout's tables."""
    lines = ["    def fire(x):"]
    for i, drops in layout.pure_ins[u]:
        b = slots.bag(i)
        lines += [f"        n = {b}.pop(x)",
                  "        if n > 1:",
                  f"            {b}[x] = n - 1"]
        if drops:
            lines.append("        else:")
            for t in drops:
                lines += _drop(slots.t(t), " " * 12)
    for i, plain, checked in layout.pure_outs[u]:
        b = slots.bag(i)
        lines += [f"        if x in {b}:",
                  f"            {b}[x] += 1",
                  "        else:",
                  f"            {b}[x] = 1"]
        for t in plain:
            lines += _plain_add(slots.t(t), " " * 12)
        for t, others, ok, _ in checked or ():
            s = slots.t(t)
            tests = [f"x in {slots.bag(q)}" for q in others or ()]
            if ok is not None:
                tests.append(f"OK{s}({{N{s}: values[x]}})")
            pad = " " * 12
            if tests:
                lines.append(f"{pad}if {' and '.join(tests)}:")
                pad += "    "
            lines += _add(s, pad, layout.gated[t])
    return lines


def _shape(layout: CaseLayout, u: int) -> tuple[str, list[int], list[int]]:
    """The text of the maker of ``u``'s firing function, and the places and transitions
    its parameters stand for, in order."""
    slots = _Slots()
    body = _body(layout, u, slots)
    lines = [f"def make(epos, enabled, values, refresh, {slots.params()}):", *body,
             "    return fire"]
    return "\n".join(lines) + "\n", list(slots.places), list(slots.trans)


_COMPILED: dict[str, Callable[..., Callable[[int], None]]] = {}  # shape text -> maker
_MAX_SHAPES = 4096


def _compiled(source: str) -> Callable[..., Callable[[int], None]]:
    maker = _COMPILED.get(source)
    if maker is None:
        namespace: dict[str, Any] = {"__builtins__": {"len": len}}
        exec(compile(source, "<petriflow pure transition>", "exec"), namespace)
        maker = namespace["make"]
        if len(_COMPILED) >= _MAX_SHAPES:
            _COMPILED.clear()
        _COMPILED[source] = maker
    return maker


def pure_source(layout: CaseLayout) -> list[str]:
    """The distinct texts of the makers of ``layout``'s pure firing functions. Every
    number in them comes through :func:`_n`; they hold no string literal."""
    return list(dict.fromkeys(_shape(layout, u)[0] for u in layout.pure))


def pure_maker(layout: CaseLayout) -> Maker | None:
    """Compile, once per net, what makes a state's pure firing functions.

    The maker takes the state's containers and returns a list indexed by transition: a
    one-argument function (the binding's token id) for each pure transition, None for
    the others. None when the net has no pure transition.
    """
    if not layout.pure:
        return None
    plans = []
    for u in layout.pure:
        source, places, trans = _shape(layout, u)
        plans.append((u, _compiled(source), tuple(places), tuple(trans)))
    size = len(layout.kind)
    oks, names = layout.oks, layout.names

    def make(bags: list[Any], bind: list[Any], bpos: list[Any], epos: list[int],
             enabled: list[int], values: list[Any], refresh: Callable[[int], None]
             ) -> list[Callable[[int], None] | None]:
        fires: list[Callable[[int], None] | None] = [None] * size
        for u, one, places, trans in plans:
            args: list[Any] = [bags[i] for i in places]
            for t in trans:
                args += (bind[t], bpos[t], oks[t], names[t][0] if names[t] else None, t)
            fires[u] = one(epos, enabled, values, refresh, *args)
        return fires

    return make


def pure_fires(state: CaseState) -> list[Callable[[int], None] | None]:
    """The pure firing functions bound to ``state``'s containers."""
    maker = state.layout.pure_maker
    if maker is None:
        return [None] * len(state.layout.kind)
    return maker(state.bags, state.bind, state.bpos, state.epos, state.enabled,
                 state.values, state._refresh)


__all__ = ["pure_fires", "pure_maker", "pure_source"]
