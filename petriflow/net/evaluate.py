"""Two interpreters of the expression AST that must always agree.

:func:`evaluate` is the reference: a direct recursive reading of the semantics in
:mod:`petriflow.net.expr`. :func:`compile_expr` turns an expression into a tree of
Python closures once, so the firing hot path pays no dispatch on node types; it
specialises the shapes that guards use most (a name or field against a constant).
A property test checks that both give the same value on random expressions.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Mapping
from typing import Any

from petriflow.net.colors import Record
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

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]

# Decimal arithmetic is exact in practice (the checker reasons with exact rationals):
# a precision far beyond any amount a process handles, and division only by constants
# whose quotients terminate (see petriflow.net.expr).
_DECIMAL = decimal.Context(prec=100_000, rounding=decimal.ROUND_HALF_EVEN,
                           Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _divide(a: Any, b: Any) -> decimal.Decimal:
    return _DECIMAL.divide(decimal.Decimal(a), decimal.Decimal(b))


def _decimal_op(plain: Callable[[Any, Any], Any], exact: Callable[[Any, Any], Any]
                ) -> Callable[[Any, Any], Any]:
    """``plain`` for integers, ``exact`` (a fixed decimal context) as soon as a decimal is
    involved, so results never depend on the caller's thread-local decimal settings."""
    dec = decimal.Decimal

    def op(a: Any, b: Any) -> Any:
        if type(a) is dec or type(b) is dec:
            return exact(a, b)
        return plain(a, b)

    return op


def _neg(a: Any) -> Any:
    return _DECIMAL.minus(a) if type(a) is decimal.Decimal else -a


def _floordiv(a: int, b: int) -> int:
    return a // b


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": _decimal_op(operator.add, _DECIMAL.add),
    "-": _decimal_op(operator.sub, _DECIMAL.subtract),
    "*": _decimal_op(operator.mul, _DECIMAL.multiply),
    "/": _divide,
    "//": _floordiv,
    "%": operator.mod,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
def _widened(pick: Callable[..., Any]) -> Callable[..., Any]:
    """``min``/``max`` whose result is a decimal when any argument is one, as the type
    checker says (``min(1, 2.5)`` is the decimal 1, not the int 1)."""

    def call(*args: Any) -> Any:
        result = pick(*args)
        if type(result) is int and any(isinstance(a, decimal.Decimal) for a in args):
            return decimal.Decimal(result)
        return result

    return call


_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": _widened(min), "max": _widened(max),
                                             "abs": abs}


def evaluate(expr: Expr, env: Env) -> Any:
    """Evaluate ``expr`` with the names bound in ``env`` (the reference interpreter)."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Field):
        return evaluate(expr.base, env)[expr.name]
    if isinstance(expr, Neg):
        return _neg(evaluate(expr.operand, env))
    if isinstance(expr, Not):
        return not evaluate(expr.operand, env)
    if isinstance(expr, Arith):
        return _ARITH[expr.op](evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, Compare):
        return _COMPARE[expr.op](evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, BoolOp):
        if expr.op == "and":
            return all(evaluate(o, env) for o in expr.operands)
        return any(evaluate(o, env) for o in expr.operands)
    if isinstance(expr, In):
        value = evaluate(expr.item, env)
        found = any(value == o.value for o in expr.options)
        return not found if expr.negated else found
    if isinstance(expr, IfElse):
        if evaluate(expr.condition, env):
            return evaluate(expr.then, env)
        return evaluate(expr.otherwise, env)
    if isinstance(expr, Call):
        return _FUNCTIONS[expr.function](*(evaluate(a, env) for a in expr.args))
    if isinstance(expr, TupleExpr):
        return tuple(evaluate(i, env) for i in expr.items)
    if isinstance(expr, RecordExpr):
        return Record({k: evaluate(v, env) for k, v in expr.fields})
    if isinstance(expr, Update):
        return Record(evaluate(expr.base, env), **{k: evaluate(v, env) for k, v in expr.changes})
    raise TypeError(f"not an expression: {expr!r}")


def compile_expr(expr: Expr) -> Compiled:
    """A closure computing ``expr`` from an environment, equal to :func:`evaluate`."""
    if isinstance(expr, Const):
        value = expr.value
        return lambda env: value
    if isinstance(expr, Var):
        return operator.itemgetter(expr.name)
    if isinstance(expr, Field):
        name = expr.name
        if isinstance(expr.base, Var):
            var = expr.base.name
            return lambda env: env[var][name]
        base = compile_expr(expr.base)
        return lambda env: base(env)[name]
    if isinstance(expr, Neg):
        inner = compile_expr(expr.operand)
        return lambda env: _neg(inner(env))
    if isinstance(expr, Not):
        inner = compile_expr(expr.operand)
        return lambda env: not inner(env)
    if isinstance(expr, Arith | Compare):
        op = (_ARITH if isinstance(expr, Arith) else _COMPARE)[expr.op]
        return _binary(op, expr.left, expr.right)
    if isinstance(expr, BoolOp):
        parts = tuple(compile_expr(o) for o in expr.operands)
        if len(parts) == 2:
            a, b = parts
            if expr.op == "and":
                return lambda env: a(env) and b(env)
            return lambda env: a(env) or b(env)
        if expr.op == "and":
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(expr, In):
        item = compile_expr(expr.item)
        options = tuple(o.value for o in expr.options)
        if expr.negated:
            return lambda env: not any(item(env) == o for o in options)
        return lambda env: any(item(env) == o for o in options)
    if isinstance(expr, IfElse):
        cond, then, otherwise = (compile_expr(e) for e in (expr.condition, expr.then,
                                                           expr.otherwise))
        return lambda env: then(env) if cond(env) else otherwise(env)
    if isinstance(expr, Call):
        fn = _FUNCTIONS[expr.function]
        args = tuple(compile_expr(a) for a in expr.args)
        return lambda env: fn(*[a(env) for a in args])
    if isinstance(expr, TupleExpr):
        items = tuple(compile_expr(i) for i in expr.items)
        return lambda env: tuple([i(env) for i in items])
    if isinstance(expr, RecordExpr):
        parts = tuple((k, compile_expr(v)) for k, v in expr.fields)
        return lambda env: Record({k: f(env) for k, f in parts})
    if isinstance(expr, Update):
        base = compile_expr(expr.base)
        changes = tuple((k, compile_expr(v)) for k, v in expr.changes)
        return lambda env: Record(base(env), **{k: f(env) for k, f in changes})
    raise TypeError(f"not an expression: {expr!r}")


def _binary(op: Callable[[Any, Any], Any], left: Expr, right: Expr) -> Compiled:
    """Specialise ``left op right`` for constants and plain names/fields (the common guards)."""
    if isinstance(right, Const):
        c = right.value
        if isinstance(left, Field) and isinstance(left.base, Var):
            var, name = left.base.name, left.name
            return lambda env: op(env[var][name], c)
        if isinstance(left, Var):
            var = left.name
            return lambda env: op(env[var], c)
        lf = compile_expr(left)
        return lambda env: op(lf(env), c)
    if isinstance(left, Const):
        c = left.value
        rf = compile_expr(right)
        return lambda env: op(c, rf(env))
    lf, rf = compile_expr(left), compile_expr(right)
    return lambda env: op(lf(env), rf(env))


__all__ = ["Compiled", "Env", "compile_expr", "evaluate"]
