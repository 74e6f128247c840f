"""Lower model expressions (over field names) to net expressions (over ``_d`` and outputs).

In a process file a condition reads the case data by field name (``amount > 10000``)
and a candidate rule names the completing person ``actor``. In the compiled net the
case data is the record bound to ``_d``, the values a task writes are the completion's
free variables ``_o_<field>``, and the person is ``_actor``. Lowering is a plain
substitution on the AST, so the engine and the checker read the same expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from petriflow.model.compiled import ACTOR_VAR, DATA_VAR, output_var
from petriflow.net.expr import (
    Arith,
    BoolOp,
    Call,
    Compare,
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


def substitute(expr: Expr, mapping: Mapping[str, Expr]) -> Expr:
    """``expr`` with every variable named in ``mapping`` replaced by its expression."""
    s = substitute
    if isinstance(expr, Var):
        return mapping.get(expr.name, expr)
    if isinstance(expr, Field):
        return replace(expr, base=s(expr.base, mapping))
    if isinstance(expr, Neg | Not):
        return replace(expr, operand=s(expr.operand, mapping))
    if isinstance(expr, Arith | Compare):
        return replace(expr, left=s(expr.left, mapping), right=s(expr.right, mapping))
    if isinstance(expr, BoolOp):
        return replace(expr, operands=tuple(s(o, mapping) for o in expr.operands))
    if isinstance(expr, In):
        return replace(expr, item=s(expr.item, mapping))
    if isinstance(expr, IfElse):
        return replace(expr, condition=s(expr.condition, mapping), then=s(expr.then, mapping),
                       otherwise=s(expr.otherwise, mapping))
    if isinstance(expr, Call):
        return replace(expr, args=tuple(s(a, mapping) for a in expr.args))
    if isinstance(expr, TupleExpr):
        return replace(expr, items=tuple(s(i, mapping) for i in expr.items))
    if isinstance(expr, RecordExpr):
        return replace(expr, fields=tuple((k, s(v, mapping)) for k, v in expr.fields))
    if isinstance(expr, Update):
        return replace(expr, base=s(expr.base, mapping),
                       changes=tuple((k, s(v, mapping)) for k, v in expr.changes))
    return expr


def data_field(name: str) -> Expr:
    return Field(Var(DATA_VAR), name)


def lower(expr: Expr, fields: list[str] | tuple[str, ...], *, written: Mapping[str, Expr]
          | None = None, actor: bool = False) -> Expr:
    """Lower a model expression: fields read ``_d``, except those in ``written``, which
    read their new value; ``actor`` (when allowed) reads ``_actor``."""
    used = {e.name for e in subexpressions(expr) if isinstance(e, Var)}
    known = fields if isinstance(fields, set | frozenset | dict) else set(fields)
    mapping: dict[str, Expr] = {f: data_field(f) for f in used if f in known}
    if written:
        mapping.update(written)
    if actor:
        mapping["actor"] = Var(ACTOR_VAR)
    return substitute(expr, mapping)


def outputs(names: list[str] | tuple[str, ...]) -> dict[str, Expr]:
    """The new-value expressions of fields written by an external completion."""
    return {n: Var(output_var(n)) for n in names}


def conjunction(parts: list[Expr]) -> Expr | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))


__all__ = ["conjunction", "data_field", "lower", "outputs", "substitute"]
