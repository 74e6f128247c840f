"""Static types of expressions, so an ill-typed guard is a model error, not a runtime surprise.

Types are color sets. Integers and decimals are both numbers (mixing gives a decimal);
an enumeration compares with a string literal only if the literal is one of its values.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping

from petriflow.errors import ExpressionError, Problem, did_you_mean
from petriflow.net.colors import (
    BlackColor,
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    RecordColor,
    StrColor,
    TupleColor,
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
)

INT = IntColor()
DECIMAL = DecimalColor()
BOOL = BoolColor()
STR = StrColor()


def _numeric(c: ColorSet) -> bool:
    return isinstance(c, IntColor | DecimalColor)


def _text(c: ColorSet) -> bool:
    return isinstance(c, StrColor | EnumColor)


def comparable(a: ColorSet, b: ColorSet) -> bool:
    """Whether values of ``a`` and ``b`` may be compared for equality."""
    if _numeric(a) and _numeric(b):
        return True
    if _text(a) and _text(b):
        return True
    if isinstance(a, TupleColor) and isinstance(b, TupleColor):
        return len(a.items) == len(b.items) and all(
            comparable(x, y) for x, y in zip(a.items, b.items, strict=True)
        )
    if isinstance(a, RecordColor) and isinstance(b, RecordColor):
        fa, fb = dict(a.fields), dict(b.fields)
        return fa.keys() == fb.keys() and all(comparable(fa[k], fb[k]) for k in fa)
    return type(a) is type(b)


def _const_type(value: object) -> ColorSet:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, decimal.Decimal):
        return DECIMAL
    if isinstance(value, str):
        return STR
    raise TypeError(f"unsupported constant {value!r}")


class _Checker:
    def __init__(self, env: Mapping[str, ColorSet], file: str | None, element: str | None):
        self.env = env
        self.file = file
        self.element = element

    def fail(self, node: Expr, message: str, hint: str | None = None) -> ExpressionError:
        return ExpressionError(Problem(message, file=self.file, line=node.line,
                                      column=node.column or None, element=self.element, hint=hint))

    def want(self, node: Expr, predicate: object, what: str) -> ColorSet:
        t = self(node)
        assert callable(predicate)
        if not predicate(t):
            raise self.fail(node, f"expected {what}, found a value of type {t}")
        return t

    def __call__(self, node: Expr) -> ColorSet:
        if isinstance(node, Const):
            return _const_type(node.value)
        if isinstance(node, Var):
            if node.name not in self.env:
                raise self.fail(node, f"unknown name '{node.name}'",
                                did_you_mean(node.name, self.env))
            return self.env[node.name]
        if isinstance(node, Field):
            base = self(node.base)
            if not isinstance(base, RecordColor):
                raise self.fail(node, f"'.{node.name}' needs a record, found a value of "
                                f"type {base}")
            ftype = base.field(node.name)
            if ftype is None:
                raise self.fail(node, f"record {base} has no field '{node.name}'",
                                did_you_mean(node.name, [k for k, _ in base.fields]))
            return ftype
        if isinstance(node, Neg):
            t = self.want(node.operand, _numeric, "a number")
            return INT if isinstance(t, IntColor) else DECIMAL
        if isinstance(node, Not):
            self.want(node.operand, lambda t: isinstance(t, BoolColor), "a boolean")
            return BOOL
        if isinstance(node, Arith):
            return self.arith(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, BoolOp):
            for operand in node.operands:
                self.want(operand, lambda t: isinstance(t, BoolColor), "a boolean")
            return BOOL
        if isinstance(node, In):
            item = self(node.item)
            for option in node.options:
                self.check_equal_types(option, item, self(option), option)
            return BOOL
        if isinstance(node, IfElse):
            self.want(node.condition, lambda t: isinstance(t, BoolColor), "a boolean condition")
            a, b = self(node.then), self(node.otherwise)
            if not comparable(a, b) and not (_numeric(a) and _numeric(b)):
                raise self.fail(node, f"both branches must have the same type, found {a} and {b}")
            return _join(a, b)
        if isinstance(node, Call):
            types = [self.want(a, _numeric, "a number") for a in node.args]
            return INT if all(isinstance(t, IntColor) for t in types) else DECIMAL
        if isinstance(node, TupleExpr):
            return TupleColor(tuple(self(i) for i in node.items))
        if isinstance(node, RecordExpr):
            return RecordColor(tuple((k, self(v)) for k, v in node.fields), "record")
        if isinstance(node, Update):
            base = self(node.base)
            if not isinstance(base, RecordColor):
                raise self.fail(node, f"update() needs a record, found a value of type {base}")
            literal = isinstance(node.base, RecordExpr)  # its field types are inferred
            fields = dict(base.fields)
            for name, value in node.changes:
                target = base.field(name)
                if target is None:
                    raise self.fail(node, f"record {base} has no field '{name}'",
                                    did_you_mean(name, [k for k, _ in base.fields]))
                vt = self(value)
                if literal and _numeric(vt) and _numeric(target):
                    fields[name] = _join(target, vt)  # a literal's number field widens
                elif not assignable(vt, target):
                    raise self.fail(value, f"field '{name}' holds {target}, not {vt}")
            if literal:
                return RecordColor(tuple(fields.items()), base.name)
            return base
        raise self.fail(node, f"unknown expression node {type(node).__name__}")

    def arith(self, node: Arith) -> ColorSet:
        left, right = self(node.left), self(node.right)
        if node.op == "+" and isinstance(left, StrColor) and isinstance(right, StrColor):
            return STR
        for side, t in ((node.left, left), (node.right, right)):
            if not _numeric(t):
                raise self.fail(side, f"'{node.op}' needs numbers, found a value of type {t}")
        if node.op in ("//", "%"):
            if not (isinstance(left, IntColor) and isinstance(right, IntColor)):
                raise self.fail(node, f"'{node.op}' is integer arithmetic", "use '/' for decimals")
            return INT
        if node.op == "/":
            return DECIMAL
        return INT if isinstance(left, IntColor) and isinstance(right, IntColor) else DECIMAL

    def compare(self, node: Compare) -> ColorSet:
        left, right = self(node.left), self(node.right)
        if node.op in ("==", "!="):
            self.check_equal_types(node, left, right, node.right)
            self.check_equal_types(node, right, left, node.left)
        else:
            for side, t in ((node.left, left), (node.right, right)):
                if not _numeric(t):
                    raise self.fail(side, f"'{node.op}' orders numbers, found a value of type {t}")
        return BOOL

    def check_equal_types(self, node: Expr, a: ColorSet, b: ColorSet, literal: Expr) -> None:
        if not comparable(a, b):
            raise self.fail(node, f"cannot compare a value of type {a} with one of type {b}")
        if (isinstance(a, EnumColor) and isinstance(literal, Const)
                and literal.value not in a.values):
            raise self.fail(literal, f"{literal.value!r} is not a value of {a}",
                            did_you_mean(str(literal.value), a.values))


def infer(
    expr: Expr,
    env: Mapping[str, ColorSet],
    *,
    file: str | None = None,
    element: str | None = None,
) -> ColorSet:
    """The type of ``expr`` when its names have the types in ``env``.

    Raises :class:`ExpressionError` (with line, column and a did-you-mean hint) for
    unknown names, unknown fields and ill-typed operations.
    """
    return _Checker(env, file, element)(expr)


def check_condition(expr: Expr, env: Mapping[str, ColorSet], *, file: str | None = None,
                    element: str | None = None) -> None:
    """Check that ``expr`` is a well-typed boolean condition (a guard)."""
    t = infer(expr, env, file=file, element=element)
    if not isinstance(t, BoolColor):
        raise ExpressionError(Problem(f"a condition must be true or false, this one is of type {t}",
                                      file=file, line=expr.line, column=expr.column or None,
                                      element=element))


def _join(a: ColorSet, b: ColorSet) -> ColorSet:
    """The type of a value that is either an ``a`` or a ``b`` (branches of a conditional):
    numbers widen to decimal unless both are integers, records and tuples field by field."""
    if _numeric(a) and _numeric(b):
        return INT if isinstance(a, IntColor) and isinstance(b, IntColor) else DECIMAL
    if isinstance(a, RecordColor) and isinstance(b, RecordColor):
        fb = dict(b.fields)
        if [k for k, _ in a.fields] == [k for k, _ in b.fields]:
            return RecordColor(tuple((k, _join(c, fb[k])) for k, c in a.fields), a.name)
    if isinstance(a, TupleColor) and isinstance(b, TupleColor) and len(a.items) == len(b.items):
        return TupleColor(tuple(_join(x, y) for x, y in zip(a.items, b.items, strict=True)))
    return a


def assignable(value_type: ColorSet, target: ColorSet) -> bool:
    """Whether a value of ``value_type`` may be stored in a place or field of ``target``."""
    if value_type is target or value_type == target:  # the common case, without the walk
        return True
    if isinstance(target, BlackColor):
        return isinstance(value_type, BlackColor)
    if isinstance(target, DecimalColor):
        return _numeric(value_type)
    if isinstance(target, IntColor):
        return isinstance(value_type, IntColor)
    if isinstance(target, EnumColor):
        return _text(value_type)
    if isinstance(target, RecordColor) and isinstance(value_type, RecordColor):
        fv, ft = dict(value_type.fields), dict(target.fields)
        return fv.keys() == ft.keys() and all(assignable(fv[k], ft[k]) for k in ft)
    return comparable(value_type, target)


__all__ = ["assignable", "check_condition", "comparable", "infer"]
