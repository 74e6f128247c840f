"""The frozen structure of a net: places, transitions, arcs.

A :class:`Net` is made once by :class:`~petriflow.net.builder.NetBuilder` and never
changes; the running state lives in :class:`~petriflow.net.marking.Marking` values.
Besides what the user declared, a net keeps the indexes that make firing fast
(arcs per transition, transitions per place) and its fingerprint.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from petriflow.ids import ArcId, PlaceId, TransitionId
from petriflow.net.colors import BLACK, BlackColor, ColorSet
from petriflow.net.expr import Expr, unparse
from petriflow.net.marking import Marking

if TYPE_CHECKING:
    from petriflow.net.case_layout import CaseLayout
    from petriflow.net.plan import TransitionPlan


class ArcKind(enum.Enum):
    """``normal`` arcs move tokens; ``read`` (test) arcs require them without consuming;
    ``inhibitor`` arcs forbid firing while the place holds ``weight`` tokens or more."""

    NORMAL = "normal"
    READ = "read"
    INHIBITOR = "inhibitor"


@dataclass(frozen=True, slots=True)
class Place:
    id: PlaceId
    color: ColorSet = BLACK
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition: an optional guard and the declared types of its free variables.

    A *free* variable is one no input arc binds; its value comes from the caller of
    ``fire`` (for example a person's answer) or, for a finite color set, is enumerated.
    ``meta`` carries facts for higher layers (participant, model element) as text.
    """

    id: TransitionId
    name: str | None = None
    guard: Expr | None = None
    variables: tuple[tuple[str, ColorSet], ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Arc:
    """An arc between a place and a transition.

    ``inscription`` (colored places only) is the token expression: on an input or read
    arc it is a pattern (a variable, a literal, or a tuple of them) that binds variables,
    or an expression over variables bound elsewhere; on an output arc it computes the
    produced token. ``weight`` tokens of that value move.
    """

    id: ArcId
    place: PlaceId
    transition: TransitionId
    is_input: bool
    weight: int = 1
    kind: ArcKind = ArcKind.NORMAL
    inscription: Expr | None = None

    @property
    def source(self) -> str:
        return self.place if self.is_input else self.transition

    @property
    def target(self) -> str:
        return self.transition if self.is_input else self.place


@dataclass(frozen=True, eq=False)
class Net:
    """An immutable colored Petri net with its initial marking.

    Two nets are equal when their fingerprints are: same places, colors, transitions,
    guards, arcs and initial marking.
    """

    name: str
    places: tuple[Place, ...]
    transitions: tuple[Transition, ...]
    arcs: tuple[Arc, ...]
    initial_marking: Marking
    _plans: Mapping[TransitionId, TransitionPlan] = field(repr=False, compare=False)

    @cached_property
    def place_map(self) -> dict[PlaceId, Place]:
        return {p.id: p for p in self.places}

    @cached_property
    def transition_map(self) -> dict[TransitionId, Transition]:
        return {t.id: t for t in self.transitions}

    def place(self, place_id: str) -> Place:
        return self.place_map[place_id]  # type: ignore[index]

    def transition(self, transition_id: str) -> Transition:
        return self.transition_map[transition_id]  # type: ignore[index]

    def plan(self, transition_id: str) -> TransitionPlan:
        return self._plans[transition_id]  # type: ignore[index]

    @cached_property
    def _case_layout(self) -> CaseLayout | None:
        """The firing tables of the colored fast path, if the net is case-shaped (else None).

        Built on first use and shared by every :class:`~petriflow.net.game.TokenGame` of
        the net (see :mod:`petriflow.net.case_game`)."""
        from petriflow.net.case_layout import case_layout

        return None if self.is_pt else case_layout(self)

    @cached_property
    def is_pt(self) -> bool:
        """True when every place holds black tokens and no transition has a guard."""
        return all(isinstance(p.color, BlackColor) for p in self.places) and all(
            t.guard is None and not t.variables for t in self.transitions
        )

    @cached_property
    def inputs(self) -> dict[TransitionId, tuple[Arc, ...]]:
        """Input, read and inhibitor arcs of each transition."""
        out: dict[TransitionId, list[Arc]] = {t.id: [] for t in self.transitions}
        for a in self.arcs:
            if a.is_input:
                out[a.transition].append(a)
        return {t: tuple(v) for t, v in out.items()}

    @cached_property
    def outputs(self) -> dict[TransitionId, tuple[Arc, ...]]:
        out: dict[TransitionId, list[Arc]] = {t.id: [] for t in self.transitions}
        for a in self.arcs:
            if not a.is_input:
                out[a.transition].append(a)
        return {t: tuple(v) for t, v in out.items()}

    def preset(self, transition_id: str) -> frozenset[PlaceId]:
        return frozenset(a.place for a in self.inputs[transition_id]  # type: ignore[index]
                         if a.kind is ArcKind.NORMAL)

    def postset(self, transition_id: str) -> frozenset[PlaceId]:
        return frozenset(a.place for a in self.outputs[transition_id])  # type: ignore[index]

    @cached_property
    def fingerprint(self) -> str:
        """A SHA-256 over a canonical, unambiguous text of the net (order-independent).

        Each element is one JSON array, so names and ids with spaces or quotes cannot
        run into each other."""
        h = hashlib.sha256()

        def line(*parts: object) -> None:
            h.update(json.dumps(parts, default=repr).encode() + b"\n")

        line("net", self.name)
        for p in sorted(self.places, key=lambda p: p.id):
            line("place", p.id, repr(p.color), p.name)
        for t in sorted(self.transitions, key=lambda t: t.id):
            guard = unparse(t.guard) if t.guard is not None else None
            line("transition", t.id, t.name, guard, [[n, repr(c)] for n, c in t.variables],
                 [list(kv) for kv in t.meta])
        for a in sorted(self.arcs, key=lambda a: (a.place, a.transition, a.is_input, a.id)):
            insc = unparse(a.inscription) if a.inscription is not None else None
            line("arc", a.id, a.place, a.transition, a.is_input, a.weight, a.kind.value, insc)
        for p, ms in sorted(self.initial_marking.items()):
            line("initial", p, sorted([repr(t), n] for t, n in ms.items()))
        return h.hexdigest()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Net):
            return self.fingerprint == other.fingerprint
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return (f"Net({self.name!r}, {len(self.places)} places, {len(self.transitions)} "
                f"transitions, {len(self.arcs)} arcs)")

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "places": len(self.places),
            "transitions": len(self.transitions),
            "arcs": len(self.arcs),
            "initial_tokens": self.initial_marking.total,
            "colored": not self.is_pt,
        }


__all__ = ["Arc", "ArcKind", "Net", "Place", "Transition"]
