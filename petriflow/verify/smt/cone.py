"""The cone of influence: which case-data fields a check must track.

A field that no guard reads, that the property does not mention, and that no tracked
field's update reads cannot change which transitions fire or whether the property holds;
the symbolic checker leaves it out, which keeps its formulas small. One more thing makes
a field matter: a write that may leave the field's declared type (``attempts + 1`` into
``int[0..3]``) is a condition of the firing, since the kernel refuses a token outside its
color set; such a field is tracked too, or the checker would miss that deadlock.
"""

from __future__ import annotations

from petriflow.errors import ColorError
from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.net.colors import (
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    RecordColor,
    StrColor,
)
from petriflow.net.expr import (
    Const,
    Expr,
    Field,
    IfElse,
    RecordExpr,
    Update,
    Var,
    subexpressions,
)


def fields_read(expr: Expr | None) -> set[str]:
    """Case-data fields an expression reads (``_d.<field>``)."""
    return {n.name for n in subexpressions(expr)
            if isinstance(n, Field) and isinstance(n.base, Var)}


def relevant_fields(compiled: CompiledProcess, needs: set[str]) -> set[str]:
    """Fields read by guards or ``needs``, closed under "an update of it reads them"."""
    net = compiled.net
    relevant = set(needs)
    writes: dict[str, set[str]] = {}
    record = compiled.data_color
    for t in net.transitions:
        relevant |= fields_read(t.guard)
        answers = dict(t.variables)
        for a in net.outputs[t.id]:
            if a.place != DATA_PLACE or a.inscription is None:
                continue
            for name, value in write_pairs(a.inscription):
                writes.setdefault(name, set()).update(fields_read(value))
                color = record.field(name) if record is not None else None
                if color is not None and may_leave(value, name, color, answers, record):
                    relevant.add(name)
    changed = True
    while changed:
        changed = False
        for name in list(relevant):
            extra = writes.get(name, set()) - relevant
            if extra:
                relevant |= extra
                changed = True
    return relevant


def write_pairs(inscription: Expr) -> tuple[tuple[str, Expr], ...]:
    """The (field, value) pairs a data arc's inscription writes."""
    if isinstance(inscription, Update):
        return tuple(inscription.changes)
    if isinstance(inscription, RecordExpr):
        return tuple(inscription.fields)
    return ()


def _unrestricted(color: ColorSet) -> bool:
    """Every value of the expression language's type is a value of ``color``."""
    if isinstance(color, IntColor | DecimalColor):
        return color.low is None and color.high is None
    if isinstance(color, StrColor):
        return color.min_length == 0 and color.max_length is None
    return isinstance(color, BoolColor)


def _within(inner: ColorSet | None, outer: ColorSet) -> bool:
    """Every value of ``inner`` is a value of ``outer`` (False when unsure)."""
    if inner is None:
        return False
    if inner == outer or (_unrestricted(outer) and type(inner) is type(outer)):
        return True
    if type(inner) is not type(outer):
        return False
    if isinstance(inner, IntColor | DecimalColor):
        assert isinstance(outer, IntColor | DecimalColor)
        return (outer.low is None or (inner.low is not None and inner.low >= outer.low)) \
            and (outer.high is None or (inner.high is not None and inner.high <= outer.high))
    if isinstance(inner, EnumColor):
        assert isinstance(outer, EnumColor)
        return set(inner.values) <= set(outer.values)
    if isinstance(inner, StrColor):
        assert isinstance(outer, StrColor)
        return inner.min_length >= outer.min_length and (
            outer.max_length is None
            or (inner.max_length is not None and inner.max_length <= outer.max_length))
    return False


def may_leave(value: Expr, name: str, color: ColorSet, answers: dict[str, ColorSet],
              fields: RecordColor | None = None) -> bool:
    """Whether writing ``value`` into field ``name`` (of ``color``) may be refused by the
    kernel: a constant outside ``color``, or anything but a copy of a field or an answer
    whose color lies within ``color``, when ``color`` is narrower than its type."""
    if isinstance(value, Const):
        try:
            color.validate(value.value)
        except ColorError:
            return True
        return False
    if isinstance(value, IfElse):
        return may_leave(value.then, name, color, answers, fields) or \
            may_leave(value.otherwise, name, color, answers, fields)
    if isinstance(value, Field) and isinstance(value.base, Var) and (
            value.name == name
            or (fields is not None and _within(fields.field(value.name), color))):
        return False
    if isinstance(value, Var) and _within(answers.get(value.name), color):
        return False
    return not _unrestricted(color)


__all__ = ["fields_read", "may_leave", "relevant_fields", "write_pairs"]
