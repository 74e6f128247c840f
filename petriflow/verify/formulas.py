"""Reachability formulas over P/T markings, as in the Model Checking Contest.

State formulas: linear comparisons of token counts (sums over places) and constants,
``deadlock``, transition fireability, and boolean connectives. Temporal shells:
``EF φ`` (some reachable marking satisfies φ) and ``AG φ`` (every reachable marking does).
Formulas come from the contest's property XML (:mod:`petriflow.verify.mcc`) or are built
here; they are evaluated on integer marking vectors by compiled closures and translated
to linear constraints by the SMT checkers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from petriflow.verify.ptnet import PTNet


@dataclass(frozen=True, slots=True)
class TokenSum:
    """The number of tokens in a set of places (``tokens-count``)."""

    places: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IntConst:
    value: int


IntExpr = TokenSum | IntConst


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # "<=", ">=", "==", "<", ">", "!="
    left: IntExpr
    right: IntExpr


@dataclass(frozen=True, slots=True)
class Fireable:
    """Some of these transitions is enabled."""

    transitions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Deadlock:
    """No transition is enabled."""


@dataclass(frozen=True, slots=True)
class BoolConst:
    value: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: StateFormula


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[StateFormula, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[StateFormula, ...]


StateFormula = Compare | Fireable | Deadlock | BoolConst | Not | And | Or


@dataclass(frozen=True, slots=True)
class EF:
    formula: StateFormula


@dataclass(frozen=True, slots=True)
class AG:
    formula: StateFormula


Temporal = EF | AG


@dataclass(frozen=True, slots=True)
class NamedFormula:
    id: str
    formula: Temporal
    description: str = ""


def negate(f: StateFormula) -> StateFormula:
    return f.operand if isinstance(f, Not) else Not(f)


def places_of(f: StateFormula | IntExpr) -> set[str]:
    """Places whose tokens the formula reads (``deadlock``/fireability read input places)."""
    if isinstance(f, TokenSum):
        return set(f.places)
    if isinstance(f, IntConst | BoolConst):
        return set()
    if isinstance(f, Compare):
        return places_of(f.left) | places_of(f.right)
    if isinstance(f, Not):
        return places_of(f.operand)
    if isinstance(f, And | Or):
        out: set[str] = set()
        for o in f.operands:
            out |= places_of(o)
        return out
    return set()  # Deadlock / Fireable: handled by the enabled set


def uses_enabling(f: StateFormula) -> bool:
    if isinstance(f, Deadlock | Fireable):
        return True
    if isinstance(f, Not):
        return uses_enabling(f.operand)
    if isinstance(f, And | Or):
        return any(uses_enabling(o) for o in f.operands)
    return False


_OPS: dict[str, Callable[[int, int], bool]] = {
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "!=": lambda a, b: a != b,
}

Evaluator = Callable[[Sequence[int]], bool]


def compile_formula(f: StateFormula, net: PTNet) -> Evaluator:
    """A closure evaluating ``f`` on a marking vector of ``net``."""
    if isinstance(f, BoolConst):
        value = f.value
        return lambda m: value
    if isinstance(f, Compare):
        left, right, op = _int(f.left, net), _int(f.right, net), _OPS[f.op]
        return lambda m: op(left(m), right(m))
    if isinstance(f, Deadlock):
        return lambda m: not net.any_enabled(m)
    if isinstance(f, Fireable):
        ts = [net.tindex[t] for t in f.transitions]
        return lambda m: any(net.enabled(t, m) for t in ts)
    if isinstance(f, Not):
        inner = compile_formula(f.operand, net)
        return lambda m: not inner(m)
    parts = [compile_formula(o, net) for o in f.operands]
    if isinstance(f, And):
        return lambda m: all(p(m) for p in parts)
    return lambda m: any(p(m) for p in parts)


def _int(e: IntExpr, net: PTNet) -> Callable[[Sequence[int]], int]:
    if isinstance(e, IntConst):
        value = e.value
        return lambda m: value
    idx = [net.pindex[p] for p in e.places]
    if len(idx) == 1:
        i = idx[0]
        return lambda m: m[i]
    return lambda m: sum(m[i] for i in idx)


def describe(f: StateFormula | Temporal | IntExpr) -> str:
    """A compact text form, for messages."""
    if isinstance(f, EF | AG):
        return f"{type(f).__name__} {describe(f.formula)}"
    if isinstance(f, TokenSum):
        return "+".join(f.places) if len(f.places) <= 3 else f"sum({len(f.places)} places)"
    if isinstance(f, IntConst):
        return str(f.value)
    if isinstance(f, BoolConst):
        return str(f.value).lower()
    if isinstance(f, Compare):
        return f"{describe(f.left)} {f.op} {describe(f.right)}"
    if isinstance(f, Deadlock):
        return "deadlock"
    if isinstance(f, Fireable):
        return f"fireable({', '.join(f.transitions)})"
    if isinstance(f, Not):
        return f"not ({describe(f.operand)})"
    joiner = " and " if isinstance(f, And) else " or "
    return "(" + joiner.join(describe(o) for o in f.operands) + ")"


__all__ = [
    "AG", "EF", "And", "BoolConst", "Compare", "Deadlock", "Fireable", "IntConst", "NamedFormula",
    "Not", "Or", "StateFormula", "Temporal", "TokenSum", "compile_formula", "describe", "negate",
    "places_of", "uses_enabling",
]
