"""Expressions and case data of a compiled process as Z3 terms.

The same AST the engine evaluates is translated here, so guards mean the same thing to
both. Sorts: ``int`` is Int, ``decimal`` is Real, ``bool`` is Bool, an enumeration is
an Int holding the value's index, and text is an Int *code*: text in processes is only
compared for equality (the expression language has no ordering on text), so an
injective coding is exact. Each text literal of the process has a fixed code; other
codes stand for other texts (decoded as fresh names such as ``person_7``).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from petriflow.net.colors import (
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    Record,
    RecordColor,
    StrColor,
)
from petriflow.net.expr import (
    Arith,
    BoolOp,
    Call,
    Compare,
    Const,
    Expr,
    Field,
    IfElse,
    In,
    Neg,
    Not,
    RecordExpr,
    TupleExpr,
    Update,
    Var,
    subexpressions,
)
from petriflow.net.typecheck import DECIMAL, INT, STR


class Unsupported(ValueError):
    """An expression outside what the symbolic checker can translate exactly."""


Term = Any  # a z3 expression, or a dict of field terms for a record


@dataclass
class Texts:
    """The injective code of text values."""

    codes: dict[str, int] = field(default_factory=lambda: {"": 0})

    def code(self, text: str) -> int:
        if text not in self.codes:
            self.codes[text] = len(self.codes)
        return self.codes[text]

    def decode(self, value: int, prefix: str = "text") -> str:
        for text, code in self.codes.items():
            if code == value:
                return text
        return f"{prefix}_{value}" if value >= 0 else f"{prefix}_m{-value}"

    def collect(self, exprs: Iterable[Expr | None]) -> None:
        for e in exprs:
            for c in _constants(e):
                if isinstance(c, str):
                    self.code(c)


def _constants(e: Expr | None) -> list[Any]:
    return [n.value for n in subexpressions(e) if isinstance(n, Const)]


def sort_of(color: ColorSet) -> z3.SortRef:
    if isinstance(color, BoolColor):
        return z3.BoolSort()
    if isinstance(color, DecimalColor):
        return z3.RealSort()
    if isinstance(color, IntColor | EnumColor | StrColor):
        return z3.IntSort()
    raise Unsupported(f"values of type {color} cannot be checked symbolically")


def fresh(name: str, color: ColorSet) -> z3.ExprRef:
    return z3.Const(name, sort_of(color))


def domain(term: z3.ExprRef, color: ColorSet, texts: Texts) -> z3.BoolRef:
    """The constraint that ``term`` is a value of ``color``."""
    parts: list[z3.BoolRef] = []
    if isinstance(color, IntColor | DecimalColor):
        conv = (lambda v: z3.RealVal(str(v))) if isinstance(color, DecimalColor) else z3.IntVal
        if color.low is not None:
            parts.append(term >= conv(color.low))
        if color.high is not None:
            parts.append(term <= conv(color.high))
    elif isinstance(color, EnumColor):
        parts += [term >= 0, term < len(color.values)]
    elif isinstance(color, StrColor) and color.min_length >= 1:
        parts.append(term != texts.code(""))
    return z3.And(parts) if parts else z3.BoolVal(True)


def encode_value(value: Any, color: ColorSet, texts: Texts) -> z3.ExprRef:
    if isinstance(color, BoolColor):
        return z3.BoolVal(bool(value))
    if isinstance(color, DecimalColor):
        return z3.RealVal(str(value))
    if isinstance(color, IntColor):
        return z3.IntVal(int(value))
    if isinstance(color, EnumColor):
        return z3.IntVal(color.values.index(value))
    if isinstance(color, StrColor):
        return z3.IntVal(texts.code(value))
    raise Unsupported(f"cannot encode {value!r}")


def decode_value(value: z3.ExprRef, color: ColorSet, texts: Texts, prefix: str = "text") -> Any:
    if isinstance(color, BoolColor):
        return z3.is_true(value)
    if isinstance(color, DecimalColor):
        frac = value.as_fraction() if z3.is_rational_value(value) else None
        if frac is None:
            raise Unsupported(f"cannot read {value} as a decimal")
        d = decimal.Decimal(frac.numerator) / decimal.Decimal(frac.denominator)
        return d.normalize() if d == d.to_integral_value() else d
    if isinstance(color, IntColor):
        return value.as_long()
    if isinstance(color, EnumColor):
        return color.values[value.as_long()]
    if isinstance(color, StrColor):
        return texts.decode(value.as_long(), prefix)
    raise Unsupported(f"cannot decode {value}")


Typed = tuple[Any, ColorSet]


class Translator:
    """Translate net expressions with ``env``: name -> (term, color); a record variable
    maps to ({field: term}, RecordColor)."""

    def __init__(self, texts: Texts) -> None:
        self.texts = texts

    def __call__(self, e: Expr, env: Mapping[str, Typed]) -> Typed:
        if isinstance(e, Const):
            v = e.value
            if isinstance(v, bool):
                return z3.BoolVal(v), BoolColor()
            if isinstance(v, int):
                return z3.IntVal(v), INT
            if isinstance(v, decimal.Decimal):
                return z3.RealVal(str(v)), DECIMAL
            if isinstance(v, str):
                return ("literal", v), STR
            if isinstance(v, Record):
                raise Unsupported("record constants are not supported")
            raise Unsupported(f"constant {v!r}")
        if isinstance(e, Var):
            if e.name not in env:
                raise Unsupported(f"unknown name {e.name}")
            return env[e.name]
        if isinstance(e, Field):
            base, color = self(e.base, env)
            if not isinstance(base, dict) or not isinstance(color, RecordColor):
                raise Unsupported("field of a non-record")
            fc = color.field(e.name)
            assert fc is not None
            return base[e.name], fc
        if isinstance(e, Neg):
            t, c = self(e.operand, env)
            return -t, c
        if isinstance(e, Not):
            return z3.Not(self.boolean(e.operand, env)), BoolColor()
        if isinstance(e, BoolOp):
            parts = [self.boolean(o, env) for o in e.operands]
            return (z3.And(parts) if e.op == "and" else z3.Or(parts)), BoolColor()
        if isinstance(e, Arith):
            return self.arith(e, env)
        if isinstance(e, Compare):
            return self.compare(e.op, e.left, e.right, env), BoolColor()
        if isinstance(e, In):
            hits = [self.compare("==", e.item, o, env) for o in e.options]
            found = z3.Or(hits) if hits else z3.BoolVal(False)
            return (z3.Not(found) if e.negated else found), BoolColor()
        if isinstance(e, IfElse):
            cond = self.boolean(e.condition, env)
            a, ca = self(e.then, env)
            b, cb = self(e.otherwise, env)
            if isinstance(a, dict) and isinstance(b, dict):  # records: field by field
                if a.keys() != b.keys():
                    raise Unsupported("a conditional between different records")
                return {k: z3.If(cond, a[k], b[k]) for k in a}, ca
            textual = (EnumColor, StrColor)
            if isinstance(ca, textual) and isinstance(cb, textual) and ca != cb and not (
                    isinstance(ca, StrColor) and isinstance(cb, StrColor)):
                # an enum's index and a text's code (or two enums' indexes) mean different
                # values: each branch is mapped where the value is stored or compared
                return ("ite", cond, (a, ca), (b, cb)), STR
            if isinstance(a, tuple) or isinstance(b, tuple):
                # A branch is text whose code depends on where the value goes (an enum
                # field or plain text): decide when it is stored or compared.
                if isinstance(a, tuple) and isinstance(b, tuple):
                    return ("ite", cond, (a, ca), (b, cb)), STR
                known = cb if isinstance(a, tuple) else ca
                return z3.If(cond, self.coerce(a, ca, known), self.coerce(b, cb, known)), known
            if z3.is_int(a) and z3.is_real(b):
                a = z3.ToReal(a)
            if z3.is_real(a) and z3.is_int(b):
                b = z3.ToReal(b)
            return z3.If(cond, a, b), ca if not isinstance(ca, IntColor) else cb
        if isinstance(e, Call):
            args = [self(a, env) for a in e.args]
            terms = [t for t, _ in args]
            is_dec = any(isinstance(c, DecimalColor) for _, c in args)
            color: ColorSet = DECIMAL if is_dec else INT
            if e.function == "abs":
                t = terms[0]
                return z3.If(t >= 0, t, -t), color
            acc = terms[0]
            for t in terms[1:]:
                acc = z3.If(t < acc, t, acc) if e.function == "min" else z3.If(t > acc, t, acc)
            return acc, color
        if isinstance(e, RecordExpr):
            raise Unsupported("record construction is handled by the caller")
        if isinstance(e, Update):
            base, color = self(e.base, env)
            if not isinstance(base, dict) or not isinstance(color, RecordColor):
                raise Unsupported("update of a non-record")
            new = dict(base)
            for name, value in e.changes:
                fc = color.field(name)
                assert fc is not None
                t, c = self(value, env)
                new[name] = self.coerce(t, c, fc)
            return new, color
        if isinstance(e, TupleExpr):
            raise Unsupported("tuples are not supported by the symbolic checker")
        raise Unsupported(f"expression {type(e).__name__}")

    def coerce(self, term: Any, color: ColorSet, target: ColorSet) -> Any:
        """``term`` (of ``color``) as a value stored in a field of ``target``."""
        if isinstance(term, tuple) and term[0] == "ite":
            _, cond, (a, ca), (b, cb) = term
            return z3.If(cond, self.coerce(a, ca, target), self.coerce(b, cb, target))
        if isinstance(term, tuple) and term[0] == "literal":
            text = term[1]
            if isinstance(target, EnumColor):
                if text not in target.values:
                    raise Unsupported(f"{text!r} is not a value of {target}")
                return z3.IntVal(target.values.index(text))
            return z3.IntVal(self.texts.code(text))
        if isinstance(target, DecimalColor) and isinstance(color, IntColor):
            return z3.ToReal(term)
        # an enum is its value's index, a text its code: between the two, map value by value
        if isinstance(color, EnumColor) and isinstance(target, StrColor):
            text = z3.IntVal(self.texts.code(color.values[-1]))
            for i, v in enumerate(color.values[:-1]):
                text = z3.If(term == i, z3.IntVal(self.texts.code(v)), text)
            return text
        if isinstance(color, StrColor) and isinstance(target, EnumColor):
            index = z3.IntVal(-1)  # a text that is none of its values: out of its domain
            for i, v in enumerate(target.values):
                index = z3.If(term == self.texts.code(v), z3.IntVal(i), index)
            return index
        if isinstance(target, EnumColor) and isinstance(color, EnumColor) and (
            color.values != target.values
        ):
            mapped = z3.IntVal(-1)
            for i, v in enumerate(color.values):
                if v in target.values:
                    mapped = z3.If(term == i, z3.IntVal(target.values.index(v)), mapped)
            return mapped
        return term

    def boolean(self, e: Expr, env: Mapping[str, Typed]) -> z3.BoolRef:
        t, _ = self(e, env)
        return t

    def arith(self, e: Arith, env: Mapping[str, Typed]) -> Typed:
        a, ca = self(e.left, env)
        b, cb = self(e.right, env)
        if isinstance(a, tuple) or isinstance(b, tuple) or isinstance(
                ca, StrColor | EnumColor) or isinstance(cb, StrColor | EnumColor):
            raise Unsupported("text concatenation is not supported by the symbolic checker")
        dec = isinstance(ca, DecimalColor) or isinstance(cb, DecimalColor) or e.op == "/"
        if dec:
            a = z3.ToReal(a) if z3.is_int(a) else a
            b = z3.ToReal(b) if z3.is_int(b) else b
        if e.op == "+":
            r = a + b
        elif e.op == "-":
            r = a - b
        elif e.op == "*":
            r = a * b
        elif e.op == "/":
            r = a / b
        elif e.op == "//":
            r = a / b  # Int division in Z3 is Euclidean: floor for the positive divisors allowed
        else:
            r = a % b
        return r, (DECIMAL if dec else INT)

    def compare(self, op: str, left: Expr, right: Expr, env: Mapping[str, Typed]) -> z3.BoolRef:
        a, ca = self(left, env)
        b, cb = self(right, env)
        if isinstance(a, tuple) and isinstance(b, tuple):
            a, b = self.coerce(a, ca, STR), self.coerce(b, cb, STR)
            return a == b if op == "==" else a != b
        if isinstance(a, tuple):
            a, ca, b, cb = b, cb, a, ca
        if isinstance(b, tuple) and b[0] == "ite":
            b = self.coerce(b, cb, ca)
        elif isinstance(b, tuple):  # a term against a text literal
            if isinstance(ca, EnumColor):
                if b[1] not in ca.values:
                    return z3.BoolVal(op == "!=")
                b = z3.IntVal(ca.values.index(b[1]))
            else:
                b = z3.IntVal(self.texts.code(b[1]))
        elif isinstance(ca, EnumColor) and isinstance(cb, EnumColor) and ca.values != cb.values:
            b = self.coerce(b, cb, ca)
        elif isinstance(ca, EnumColor) and isinstance(cb, StrColor):
            a = self.coerce(a, ca, STR)    # compared as texts (an index is not a code)
        elif isinstance(ca, StrColor) and isinstance(cb, EnumColor):
            b = self.coerce(b, cb, STR)
        if isinstance(a, dict) and isinstance(b, dict):  # records: field by field
            same = z3.And([a[k] == b[k] for k in a]) if a else z3.BoolVal(True)
            return same if op == "==" else z3.Not(same)
        if z3.is_int(a) and z3.is_real(b):
            a = z3.ToReal(a)
        if z3.is_real(a) and z3.is_int(b):
            b = z3.ToReal(b)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b


__all__ = ["Texts", "Translator", "Unsupported", "decode_value", "domain", "encode_value",
           "fresh", "sort_of"]
