"""The firing rule on immutable markings: bindings, enabledness, and checked firing.

``fire`` is the one definition of "what happened": it checks that the transition is
enabled with the binding (tokens present, inhibitors clear, guard true, produced tokens
in their color sets) and returns a :class:`Step` with what was consumed, what was
produced and the marking after. There is no unchecked variant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from petriflow.errors import FiringError
from petriflow.ids import PlaceId, TransitionId
from petriflow.net.colors import Record
from petriflow.net.marking import Marking, Multiset
from petriflow.net.plan import Bag
from petriflow.net.structure import Net


class Binding(Record):
    """An immutable assignment of values to a transition's variables."""

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"Binding({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Binding, (dict(self),))


EMPTY_BINDING = Binding()


@dataclass(frozen=True, slots=True)
class Step:
    """One firing: the transition, its binding, the tokens moved, and both markings."""

    transition: TransitionId
    binding: Binding
    consumed: Marking
    produced: Marking
    before: Marking
    after: Marking


def _transition(net: Net, transition: str) -> TransitionId:
    if transition not in net.transition_map:
        from petriflow.errors import did_you_mean

        raise FiringError(f"net '{net.name}' has no transition '{transition}'",
                          transition=transition,
                          hint=did_you_mean(transition, net.transition_map))
    return TransitionId(transition)


def bindings(net: Net, marking: Marking, transition: str,
             given: Mapping[str, Any] | None = None) -> Iterator[Binding]:
    """Every binding that enables ``transition`` in ``marking``.

    ``given`` fixes some variables (for example the output of a person or an agent);
    the remaining ones are bound by input arcs or, if finite, enumerated.
    """
    tid = _transition(net, transition)
    plan = net.plan(tid)
    for env in plan.bindings(marking.__getitem__, given):
        yield Binding(env) if env else EMPTY_BINDING


def is_enabled(net: Net, marking: Marking, transition: str,
               binding: Mapping[str, Any] | None = None) -> bool:
    """Whether ``transition`` may fire in ``marking`` (with ``binding``, if given)."""
    plan = net.plan(_transition(net, transition))
    if binding is None:
        return next(iter(plan.bindings(marking.__getitem__)), None) is not None
    plan.check_names(binding)
    if any(v not in binding for v in plan.variables):
        return next(iter(plan.bindings(marking.__getitem__, binding)), None) is not None
    try:
        return plan.why_not(binding, marking.__getitem__) is None
    except (ArithmeticError, KeyError, TypeError):
        return False


def enabled_transitions(net: Net, marking: Marking) -> list[TransitionId]:
    """The transitions that have at least one enabling binding, in declaration order."""
    get = marking.__getitem__
    return [t.id for t in net.transitions
            if next(iter(net.plan(t.id).bindings(get)), None) is not None]


def _bag_marking(bag: Bag) -> Marking:
    return Marking._trusted({PlaceId(p): Multiset._trusted(per) for p, per in bag.items() if per})


def fire(net: Net, marking: Marking, transition: str,
         binding: Mapping[str, Any] | None = None) -> Step:
    """Fire ``transition`` in ``marking`` with ``binding`` and return the :class:`Step`.

    Raises :class:`~petriflow.errors.NotEnabledError` with the reason when the
    transition is not enabled; a partial or absent binding is completed when exactly
    one enabling binding extends it.
    """
    tid = _transition(net, transition)
    plan = net.plan(tid)
    get = marking.__getitem__
    env = plan.complete_binding(get, binding)
    consumed, produced = plan.step_bags(env, get)
    c, p = _bag_marking(consumed), _bag_marking(produced)
    after = marking - c + p
    return Step(tid, Binding(env) if env else EMPTY_BINDING, c, p, marking, after)


__all__ = ["EMPTY_BINDING", "Binding", "Step", "bindings", "enabled_transitions", "fire",
           "is_enabled"]
