"""Build a frozen :class:`~petriflow.net.structure.Net`, reporting every problem at once.

The builder accepts places, transitions and arcs in any order (PNML files reference
nodes before defining them), then :meth:`NetBuilder.build` checks the whole net:
unique ids, arcs between a place and a transition that both exist, positive weights,
valid initial tokens, well-typed guards and inscriptions, and variables that are bound.
All problems are raised together in one :class:`~petriflow.errors.ModelError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from petriflow.errors import ColorError, ExpressionError, ModelError, Problem, did_you_mean
from petriflow.ids import ArcId, PlaceId, TransitionId
from petriflow.net.colors import BLACK, BlackColor, ColorSet, TupleColor
from petriflow.net.expr import Expr, TupleExpr, Var, expression_variables, parse, unparse
from petriflow.net.marking import Marking, Multiset
from petriflow.net.plan import ArcPlan, TransitionPlan, is_pattern
from petriflow.net.structure import Arc, ArcKind, Net, Place, Transition
from petriflow.net.typecheck import assignable, check_condition, infer


@dataclass(slots=True)
class _Origin:
    """Where a node came from, for error messages (file and line, when known)."""

    file: str | None = None
    line: int | None = None


class NetBuilder:
    """Collects the parts of a net; :meth:`build` validates and freezes them."""

    def __init__(self, name: str = "net", *, file: str | None = None) -> None:
        self.name = name
        self.file = file
        self._places: dict[str, tuple[Place, Any, _Origin]] = {}
        self._transitions: dict[str, tuple[Transition, _Origin]] = {}
        self._arcs: list[tuple[str, str, str, int, ArcKind, Expr | str | None, _Origin]] = []
        self._problems: list[Problem] = []
        self._arc_ids: set[str] = set()

    # -- collecting ----------------------------------------------------------------------

    def place(
        self,
        place_id: str,
        *,
        color: ColorSet = BLACK,
        initial: int | Iterable[Any] | Mapping[Any, int] = 0,
        name: str | None = None,
        line: int | None = None,
    ) -> PlaceId:
        """Declare a place; ``initial`` is a token count (P/T) or tokens (colored)."""
        origin = _Origin(self.file, line)
        if place_id in self._places or place_id in self._transitions:
            self._problem(f"the id '{place_id}' is used twice", place_id, origin)
        else:
            self._places[place_id] = (Place(PlaceId(place_id), color, name), initial, origin)
        return PlaceId(place_id)

    def transition(
        self,
        transition_id: str,
        *,
        guard: Expr | str | None = None,
        variables: Mapping[str, ColorSet] | None = None,
        name: str | None = None,
        meta: Mapping[str, str] | None = None,
        line: int | None = None,
    ) -> TransitionId:
        """Declare a transition with an optional guard and typed free variables."""
        origin = _Origin(self.file, line)
        if transition_id in self._places or transition_id in self._transitions:
            self._problem(f"the id '{transition_id}' is used twice", transition_id, origin)
            return TransitionId(transition_id)
        parsed = self._parse(guard, transition_id, origin) if isinstance(guard, str) else guard
        t = Transition(
            TransitionId(transition_id),
            name=name,
            guard=parsed,
            variables=tuple((variables or {}).items()),
            meta=tuple(sorted((meta or {}).items())),
        )
        self._transitions[transition_id] = (t, origin)
        return TransitionId(transition_id)

    def arc(
        self,
        source: str,
        target: str,
        *,
        weight: int = 1,
        kind: ArcKind = ArcKind.NORMAL,
        inscription: Expr | str | None = None,
        arc_id: str | None = None,
        line: int | None = None,
    ) -> ArcId:
        """Declare an arc from ``source`` to ``target`` (place->transition or back)."""
        origin = _Origin(self.file, line)
        if arc_id is None:
            arc_id = f"a{len(self._arcs) + 1}"
            while arc_id in self._arc_ids:
                arc_id += "_"
        elif arc_id in self._arc_ids:
            self._problem(f"the arc id '{arc_id}' is used twice", arc_id, origin)
        self._arc_ids.add(arc_id)
        self._arcs.append((arc_id, source, target, weight, kind, inscription, origin))
        return ArcId(arc_id)

    def _problem(self, message: str, element: str | None, origin: _Origin,
                 hint: str | None = None) -> None:
        self._problems.append(Problem(message, file=origin.file, line=origin.line,
                                      element=element, hint=hint))

    def _parse(self, text: str, element: str, origin: _Origin,
               sink: list[Problem] | None = None) -> Expr | None:
        try:
            return parse(text, file=origin.file, line=origin.line or 1, element=element)
        except ExpressionError as exc:
            (self._problems if sink is None else sink).extend(
                _within(exc.problems, origin, text))
            return None

    # -- building ------------------------------------------------------------------------

    def build(self) -> Net:
        """Validate everything and return the frozen net, or raise one ModelError."""
        problems = list(self._problems)
        arcs = self._resolve_arcs(problems)
        initial = self._initial_marking(problems)
        transitions = []
        plans: dict[TransitionId, TransitionPlan] = {}
        by_transition: dict[str, list[Arc]] = {t: [] for t in self._transitions}
        for a in arcs:
            by_transition[a.transition].append(a)
        for tid, (t, origin) in self._transitions.items():
            plan = self._plan(t, by_transition[tid], origin, problems)
            transitions.append(t)
            if plan is not None:
                plans[t.id] = plan
        ModelError.collect(problems)
        return Net(
            name=self.name,
            places=tuple(p for p, _, _ in self._places.values()),
            transitions=tuple(transitions),
            arcs=tuple(arcs),
            initial_marking=initial,
            _plans=plans,
        )

    def _resolve_arcs(self, problems: list[Problem]) -> list[Arc]:
        arcs: list[Arc] = []
        for arc_id, source, target, weight, kind, inscription, origin in self._arcs:
            where = {"file": origin.file, "line": origin.line, "element": arc_id}
            bad = False
            for end in (source, target):
                if end not in self._places and end not in self._transitions:
                    problems.append(Problem(f"arc refers to '{end}', which is neither a place "
                                            "nor a transition", **where,
                                            hint=did_you_mean(end, [*self._places,
                                                                    *self._transitions])))
                    bad = True
            if bad:
                continue
            if (source in self._places) == (target in self._places):
                both = "places" if source in self._places else "transitions"
                problems.append(Problem(f"arc joins two {both} ('{source}' -> '{target}'); "
                                        "an arc joins a place and a transition", **where))
                continue
            if type(weight) is not int or weight < 1:
                problems.append(Problem(f"arc weight must be a positive integer, got {weight!r}",
                                        **where))
                continue
            is_input = source in self._places
            if kind is not ArcKind.NORMAL and not is_input:
                problems.append(Problem(f"a {kind.value} arc must go from a place to a "
                                        "transition", **where))
                continue
            if isinstance(inscription, str):
                parsed = self._parse(inscription, arc_id, origin, problems)
                if parsed is None:
                    continue
                inscription = parsed
            place, transition = (source, target) if is_input else (target, source)
            arcs.append(Arc(ArcId(arc_id), PlaceId(place), TransitionId(transition), is_input,
                            weight, kind, inscription))
        return arcs

    def _initial_marking(self, problems: list[Problem]) -> Marking:
        data: dict[str, Multiset] = {}
        for pid, (place, initial, origin) in self._places.items():
            where = {"file": origin.file, "line": origin.line, "element": pid}
            if isinstance(initial, bool | str | bytes | float) or initial is None or not (
                isinstance(initial, int | Mapping) or hasattr(initial, "__iter__")
            ):
                problems.append(Problem(f"initial marking of place '{pid}' must be a token "
                                        f"count or a collection of tokens, not {initial!r}",
                                        **where))
                continue
            try:
                if isinstance(initial, int):
                    if initial < 0:
                        problems.append(Problem(f"initial marking of place '{pid}' is negative "
                                                f"({initial})", **where))
                        continue
                    if initial and not isinstance(place.color, BlackColor):
                        problems.append(Problem(f"colored place '{pid}' needs tokens, not a "
                                                "count, as its initial marking", **where))
                        continue
                    ms = Multiset({place.color.validate(next(place.color.members())): initial}
                                  if initial else {})
                elif isinstance(initial, Mapping):
                    ms = Multiset({place.color.validate(t): n for t, n in initial.items()})
                else:
                    ms = Multiset([place.color.validate(t) for t in initial])
            except ColorError as exc:
                problems.append(Problem(f"initial token of place '{pid}': {exc}", **where))
                continue
            if ms.size:
                data[pid] = ms
        return Marking(data)

    def _plan(self, t: Transition, arcs: list[Arc], origin: _Origin,
              problems: list[Problem]) -> TransitionPlan | None:
        where = {"file": origin.file, "line": origin.line, "element": t.id}
        before = len(problems)
        env: dict[str, ColorSet] = dict(t.variables)
        seen: set[tuple[str, bool, ArcKind]] = set()
        for a in arcs:
            key = (a.place, a.is_input, a.kind)
            if key in seen and a.inscription is not None:
                problems.append(Problem(f"two {a.kind.value} arcs join place '{a.place}' and "
                                        f"transition '{t.id}'", **where,
                                        hint="merge them into one arc with a tuple inscription"))
            seen.add(key)
        # 1. input patterns bind variables with the type of their place.
        for a in arcs:
            color = self._places[a.place][0].color
            if not a.is_input or a.kind is ArcKind.INHIBITOR:
                if a.kind is ArcKind.INHIBITOR and a.inscription is not None:
                    problems.append(Problem("inhibitor arcs count tokens and take no "
                                            "inscription", **where))
                continue
            if a.inscription is None:
                if not isinstance(color, BlackColor):
                    problems.append(Problem(f"arc from colored place '{a.place}' needs an "
                                            "inscription", **where,
                                            hint="write the variable that the token binds"))
                continue
            if is_pattern(a.inscription):
                self._bind_pattern(a.inscription, color, env, problems, where)
        # 2. everything else must type-check against those variables.
        if t.guard is not None:
            try:
                check_condition(t.guard, env, file=origin.file, element=t.id)
            except ExpressionError as exc:
                problems.extend(_within(exc.problems, origin, unparse(t.guard)))
        plans: dict[str, list[ArcPlan]] = {"consume": [], "read": [], "produce": []}
        inhibit: list[tuple[PlaceId, int]] = []
        for a in arcs:
            color = self._places[a.place][0].color
            if a.kind is ArcKind.INHIBITOR:
                inhibit.append((a.place, a.weight))
                continue
            plan = self._arc_plan(a, color, env, problems, where)
            if plan is not None:
                bucket = "produce" if not a.is_input else (
                    "read" if a.kind is ArcKind.READ else "consume")
                plans[bucket].append(plan)
        if len(problems) > before:
            return None
        free = tuple((n, c) for n, c in t.variables)
        return TransitionPlan(t.id, tuple(plans["consume"]), tuple(plans["read"]),
                              tuple(inhibit), tuple(plans["produce"]), t.guard, free, env)

    def _bind_pattern(self, pattern: Expr, color: ColorSet, env: dict[str, ColorSet],
                      problems: list[Problem], where: dict[str, Any]) -> None:
        if isinstance(pattern, Var):
            known = env.get(pattern.name)
            if known is not None and known != color and not assignable(known, color):
                problems.append(Problem(f"variable '{pattern.name}' is bound to values of both "
                                        f"{known} and {color}", **where))
            env.setdefault(pattern.name, color)
        elif isinstance(pattern, TupleExpr):
            if not isinstance(color, TupleColor) or len(color.items) != len(pattern.items):
                problems.append(Problem(f"tuple pattern does not fit the color set {color}",
                                        **where))
                return
            for item, item_color in zip(pattern.items, color.items, strict=True):
                self._bind_pattern(item, item_color, env, problems, where)

    def _arc_plan(self, a: Arc, color: ColorSet, env: dict[str, ColorSet],
                  problems: list[Problem], where: dict[str, Any]) -> ArcPlan | None:
        from petriflow.net.evaluate import compile_expr

        if a.inscription is None:
            if not isinstance(color, BlackColor):
                if not a.is_input:
                    problems.append(Problem(f"arc to colored place '{a.place}' needs an "
                                            "inscription", **where))
                return None
            return ArcPlan(a.place, a.weight, None, None, None)
        unbound = expression_variables(a.inscription) - set(env)
        if unbound:
            names = ", ".join(sorted(unbound))
            problems.append(Problem(f"arc {a.id}: variable(s) {names} are not bound by an input "
                                    "arc or declared on the transition", **where,
                                    hint=did_you_mean(sorted(unbound)[0], env)))
            return None
        try:
            value_type = infer(a.inscription, env, file=where["file"], element=a.id)
        except ExpressionError as exc:
            origin = _Origin(where["file"], where["line"])
            problems.extend(_within(exc.problems, origin, unparse(a.inscription)))
            return None
        if not assignable(value_type, color):
            problems.append(Problem(f"arc {a.id} carries values of type {value_type} but place "
                                    f"'{a.place}' holds {color}", **where))
            return None
        pattern = a.inscription if a.is_input and is_pattern(a.inscription) else None
        # Outputs that copy a variable of exactly the place's color need no re-validation.
        trusted = isinstance(a.inscription, Var) and env.get(a.inscription.name) == color
        check = None if (a.is_input or trusted) else color
        copies = a.inscription.name if isinstance(a.inscription, Var) and not a.is_input else None
        return ArcPlan(a.place, a.weight, pattern, compile_expr(a.inscription), check, copies)


def _within(problems: Sequence[Problem], origin: _Origin, text: str) -> list[Problem]:
    """Problems of an expression of an element whose line in its file is not known here
    (a PNML reader adds it): the expression's own line and column would pass for the
    file's, so the column goes into the message instead."""
    if origin.line is not None:
        return list(problems)
    return [replace(p, line=None, column=None,
                    message=f"in {text!r} at column {p.column}: {p.message}" if p.column
                    else f"in {text!r}: {p.message}") for p in problems]

__all__ = ["NetBuilder"]
