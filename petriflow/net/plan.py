"""Firing plans: each transition's arcs, precompiled once for the firing rule.

A :class:`TransitionPlan` knows, for one transition, which tokens its input arcs can
match (patterns that bind variables), what its output arcs produce (compiled closures),
its guard, and its free variables. It reads tokens through a ``lookup(place)``
function so that the immutable :class:`~petriflow.net.marking.Marking` and the mutable
state of :class:`~petriflow.net.game.TokenGame` share one implementation of the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from petriflow.errors import (
    ColorError,
    FiringError,
    NotEnabledError,
    UnboundVariableError,
    did_you_mean,
)
from petriflow.ids import PlaceId, TransitionId
from petriflow.net.colors import DOT, ColorSet
from petriflow.net.evaluate import Compiled, compile_expr
from petriflow.net.expr import Const, Expr, TupleExpr, Var

Lookup = Callable[[PlaceId], Mapping[Any, int]]
Bag = dict[PlaceId, dict[Any, int]]
#: the most values the free variables of one transition are enumerated over
MAX_FREE_COMBINATIONS = 100_000
_NOTHING: Mapping[Any, int] = {}


def is_pattern(expr: Expr | None) -> bool:
    """Whether an input inscription can be matched against tokens (binds variables)."""
    if expr is None or isinstance(expr, Var | Const):
        return True
    if isinstance(expr, TupleExpr):
        return all(is_pattern(i) for i in expr.items)
    return False


def pattern_variables(expr: Expr | None) -> list[str]:
    if isinstance(expr, Var):
        return [expr.name]
    if isinstance(expr, TupleExpr):
        return [v for i in expr.items for v in pattern_variables(i)]
    return []


def _match(pattern: Expr | None, token: Any, env: dict[str, Any], new: dict[str, Any]) -> bool:
    """Unify ``token`` with ``pattern`` under ``env``, adding fresh bindings to ``new``."""
    if pattern is None:
        return token is DOT
    if isinstance(pattern, Var):
        name = pattern.name
        if name in env:
            return bool(env[name] == token)
        if name in new:
            return bool(new[name] == token)
        new[name] = token
        return True
    if isinstance(pattern, Const):
        return bool(pattern.value == token)
    if isinstance(pattern, TupleExpr):
        if type(token) is not tuple or len(token) != len(pattern.items):
            return False
        return all(_match(p, v, env, new) for p, v in zip(pattern.items, token, strict=True))
    return False


@dataclass(frozen=True, slots=True)
class ArcPlan:
    place: PlaceId
    weight: int
    pattern: Expr | None      # for input arcs that bind variables (None = black token)
    value: Compiled | None    # computes the token from the binding (None = black token)
    check: ColorSet | None    # output color to validate against, when not guaranteed
    copies: str | None = None  # output arcs inscribed with a plain variable: its name


class TransitionPlan:
    """The firing rule of one transition, precompiled."""

    __slots__ = (
        "consume",
        "free",
        "guard",
        "inhibit",
        "matchers",
        "open_outputs",
        "produce",
        "pt",
        "read",
        "simple_in",
        "simple_out",
        "transition",
        "var_colors",
        "variables",
    )

    def __init__(
        self,
        transition: TransitionId,
        consume: tuple[ArcPlan, ...],
        read: tuple[ArcPlan, ...],
        inhibit: tuple[tuple[PlaceId, int], ...],
        produce: tuple[ArcPlan, ...],
        guard: Expr | None,
        free: tuple[tuple[str, ColorSet], ...],
        var_colors: Mapping[str, ColorSet] | None = None,
    ) -> None:
        self.transition = transition
        # The color of every variable (declared, or that of the place whose tokens it
        # binds): values a caller gives are checked against it.
        self.var_colors = dict(var_colors or {})
        self.var_colors.update(free)
        self.consume = consume
        self.read = read
        self.inhibit = inhibit
        self.produce = produce
        self.guard: Compiled | None = compile_expr(guard) if guard is not None else None
        self.free = free
        # Arcs whose inscription is a pattern bind variables; match those first.
        self.matchers = tuple(a for a in consume + read if a.pattern is not None)
        names: list[str] = [v for a in self.matchers for v in pattern_variables(a.pattern)]
        names += [n for n, _ in free]
        self.variables = tuple(dict.fromkeys(names))
        self.pt = (
            guard is None
            and not free
            and all(a.value is None for a in consume + read + produce)
        )
        # The shape compiled processes use: every input arc takes one place's black
        # tokens or binds one variable, no read or inhibitor arcs, no free variables.
        # Such transitions get a fast, exactly equivalent binding enumeration.
        places = [a.place for a in consume]
        simple = (
            not read and not inhibit and not free and len(set(places)) == len(places)
            and all(a.pattern is None or isinstance(a.pattern, Var) for a in consume)
        )
        self.simple_in: tuple[tuple[PlaceId, int, str | None], ...] | None = None
        self.simple_out: tuple[tuple[PlaceId, int, Compiled | None, ColorSet | None], ...] = (
            tuple((a.place, a.weight, a.value, a.check) for a in produce)
        )
        # No guard and no produced value to validate: every binding of the inputs fires.
        self.open_outputs = guard is None and all(a.check is None for a in produce)
        if simple:
            ordered = sorted(consume, key=lambda a: a.pattern is not None)
            self.simple_in = tuple(
                (a.place, a.weight, a.pattern.name if isinstance(a.pattern, Var) else None)
                for a in ordered
            )

    # -- enumeration -------------------------------------------------------------------

    def binding_list(self, lookup: Lookup) -> list[dict[str, Any]]:
        """All enabling bindings, as a list (the fast path for the common shape)."""
        if self.simple_in is None:
            return list(self.bindings(lookup))
        out: list[dict[str, Any]] = []
        self._fast(0, {}, lookup, out)
        return out

    def _fast(self, i: int, env: dict[str, Any], lookup: Lookup,
              out: list[dict[str, Any]]) -> None:
        arcs = self.simple_in
        assert arcs is not None
        if i == len(arcs):
            if self._outputs_ok(env):
                out.append(dict(env))
            return
        place, weight, var = arcs[i]
        tokens = lookup(place)
        if var is None:
            if tokens.get(DOT, 0) >= weight:
                self._fast(i + 1, env, lookup, out)
        elif var in env:
            if tokens.get(env[var], 0) >= weight:
                self._fast(i + 1, env, lookup, out)
        else:
            for token, count in tokens.items():
                if count >= weight:
                    env[var] = token
                    self._fast(i + 1, env, lookup, out)
            env.pop(var, None)

    def _outputs_ok(self, env: Mapping[str, Any]) -> bool:
        """The guard holds and every produced token fits its place's color set."""
        if self.open_outputs:
            return True
        try:
            if self.guard is not None and self.guard(env) is not True:
                return False
            for _, _, value, check in self.simple_out:
                if check is not None and value is not None and not check.contains(value(env)):
                    return False
        except (ArithmeticError, KeyError, TypeError):
            return False
        return True

    def bindings(self, lookup: Lookup, given: Mapping[str, Any] | None = None
                 ) -> Iterator[dict[str, Any]]:
        """Every binding that enables the transition with the tokens ``lookup`` shows."""
        if given:
            self.check_names(given)
        if self.pt:
            if self._pt_enabled(lookup):
                yield {}
            return
        # Token counts first: a transition whose inputs are missing has no binding, and
        # its unbounded free variables need not (cannot) be enumerated.
        if not self._pt_enabled(lookup):
            return
        try:
            env = self.checked(given) if given else {}
        except ColorError:
            return
        yield from self._bind(0, env, lookup)

    def checked(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with each value validated (and normalised) by its variable's color."""
        self.check_names(given)
        colors = self.var_colors
        return {k: (colors[k].validate(v) if k in colors else v) for k, v in given.items()}

    def check_names(self, given: Mapping[str, Any]) -> None:
        """Refuse a binding that names a variable the transition does not have: a typo
        would otherwise be dropped silently, and the transition fire anyway."""
        unknown = [k for k in given if k not in self.variables]
        if unknown:
            names = ", ".join(f"'{k}'" for k in unknown)
            has = (f"its variables are {', '.join(repr(v) for v in self.variables)}"
                   if self.variables else "it has no variables")
            raise FiringError(
                f"transition '{self.transition}' has no variable {names} ({has})",
                transition=self.transition,
                hint=did_you_mean(str(unknown[0]), self.variables),
            )

    def _bind(self, i: int, env: dict[str, Any], lookup: Lookup) -> Iterator[dict[str, Any]]:
        if i < len(self.matchers):
            arc = self.matchers[i]
            tokens = lookup(arc.place)
            for token, count in list(tokens.items()):
                if count < arc.weight:
                    continue
                new: dict[str, Any] = {}
                if _match(arc.pattern, token, env, new):
                    if new:
                        env.update(new)
                        yield from self._bind(i + 1, env, lookup)
                        for k in new:
                            del env[k]
                    else:
                        yield from self._bind(i + 1, env, lookup)
            return
        missing = [(n, c) for n, c in self.free if n not in env]
        if missing:
            self._check_enumerable(missing)
            yield from self._enumerate_free(missing, env, lookup)
            return
        if self._complete(env, lookup):
            yield {k: env[k] for k in self.variables}

    def _check_enumerable(self, missing: list[tuple[str, ColorSet]]) -> None:
        """Refuse to enumerate an infinite type, or more than MAX_FREE_COMBINATIONS values
        (int[0..10^11] is finite, but enumerating it would hang)."""
        combinations = 1
        for name, color in missing:
            size = color.size
            if size is None:
                raise UnboundVariableError(
                    f"transition '{self.transition}': variable '{name}' of type {color} is "
                    "not bound by any input arc and cannot be enumerated",
                    transition=self.transition,
                    hint=f"pass a value for '{name}' in the binding",
                )
            combinations *= size
        if combinations > MAX_FREE_COMBINATIONS:
            names = ", ".join(f"'{n}' of type {c}" for n, c in missing)
            which, it = ((f"variable {names} is", "it") if len(missing) == 1
                         else (f"variables {names} are", "them"))
            raise UnboundVariableError(
                f"transition '{self.transition}': {which} not bound by any input arc, and "
                f"enumerating {it} would try {combinations:,} values (the limit is "
                f"{MAX_FREE_COMBINATIONS:,})",
                transition=self.transition,
                hint="bind the variable on an input arc, narrow its type, or pass its value "
                "in the binding",
            )

    def _enumerate_free(self, missing: list[tuple[str, ColorSet]], env: dict[str, Any],
                        lookup: Lookup) -> Iterator[dict[str, Any]]:
        name, color = missing[0]
        for value in color.members():
            env[name] = value
            if len(missing) > 1:
                yield from self._enumerate_free(missing[1:], env, lookup)
            elif self._complete(env, lookup):
                yield {k: env[k] for k in self.variables}
            del env[name]

    def _complete(self, env: Mapping[str, Any], lookup: Lookup) -> bool:
        """All variables are bound: check multiplicities, the guard and output colors."""
        try:
            return self.why_not(env, lookup) is None
        except (ArithmeticError, KeyError, TypeError):
            return False

    # -- checking and firing -------------------------------------------------------------

    def demand(self, env: Mapping[str, Any], arcs: tuple[ArcPlan, ...]) -> Bag:
        bag: Bag = {}
        for a in arcs:
            token = DOT if a.value is None else a.value(env)
            if a.check is not None:  # produced values take their place's normal form
                token = a.check.validate(token)
            per = bag.setdefault(a.place, {})
            per[token] = per.get(token, 0) + a.weight
        return bag

    def why_not(self, env: Mapping[str, Any], lookup: Lookup) -> str | None:
        """None if the transition may fire with binding ``env``, else the reason."""
        for place, weight in self.inhibit:
            if sum(lookup(place).values()) >= weight:
                return f"inhibitor arc: place '{place}' holds {weight} or more tokens"
        for arcs in (self.consume, self.read):
            for place, per in self.demand(env, arcs).items():
                have = lookup(place)
                for token, n in per.items():
                    if have.get(token, 0) < n:
                        what = "tokens" if token is DOT else f"x {token!r}"
                        return (f"place '{place}' holds {have.get(token, 0)} {what}, "
                                f"needs {n}")
        for name, color in self.free:
            if not color.contains(env[name]):
                return f"{env[name]!r} is not a value of {color} (variable '{name}')"
        if self.guard is not None and self.guard(env) is not True:
            return "the guard is false for this binding"
        for a in self.produce:
            if a.check is not None and a.value is not None:
                try:
                    a.check.validate(a.value(env))
                except ColorError as exc:
                    return f"output to place '{a.place}': {exc}"
        return None

    def _pt_enabled(self, lookup: Lookup) -> bool:
        """Token counts allow firing (exact for P/T transitions, necessary otherwise)."""
        for place, weight in self.inhibit:
            if sum(lookup(place).values()) >= weight:
                return False
        for arcs in (self.consume, self.read):
            need: dict[PlaceId, int] = {}
            for a in arcs:
                need[a.place] = need.get(a.place, 0) + a.weight
            for place, n in need.items():
                tokens = lookup(place)
                # a P/T transition takes black tokens only, as why_not() checks: a stray
                # value on its place must not count, or bindings() would promise a firing
                # that fire() then refuses
                if (tokens.get(DOT, 0) if self.pt else sum(tokens.values())) < n:
                    return False
        return True

    def complete_binding(self, lookup: Lookup, binding: Mapping[str, Any] | None
                         ) -> dict[str, Any]:
        """Turn a caller's (possibly partial or absent) binding into one full binding."""
        given = self.checked(binding or {})
        if self.pt:
            return {}
        if all(v in given for v in self.variables):
            return {k: given[k] for k in self.variables}
        found = self.bindings(lookup, given)
        first = next(found, None)
        if first is None:
            raise NotEnabledError(
                f"transition '{self.transition}' has no enabling binding"
                + (f" extending {given}" if given else ""),
                transition=self.transition,
            )
        if next(found, None) is not None:
            raise NotEnabledError(
                f"transition '{self.transition}' has several enabling bindings; say which",
                transition=self.transition,
                hint="pass one of the bindings that bindings() lists",
            )
        return first

    def step_bags(self, env: Mapping[str, Any], lookup: Lookup) -> tuple[Bag, Bag]:
        """(consumed, produced) for binding ``env``; raises if not enabled."""
        reason = self.why_not(env, lookup)
        if reason is not None:
            raise NotEnabledError(f"transition '{self.transition}' is not enabled: {reason}",
                                  transition=self.transition)
        return self.demand(env, self.consume), self.demand(env, self.produce)


__all__ = ["ArcPlan", "Bag", "Lookup", "TransitionPlan", "is_pattern", "pattern_variables"]
