"""The cone of influence: which case-data fields a check must track.

A field that no guard reads, that the property does not mention, and that no tracked
field's update reads cannot change which transitions fire or whether the property holds;
the symbolic checker leaves it out, which keeps its formulas small.
"""

from __future__ import annotations

from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.net.expr import Expr, Field, RecordExpr, Update, Var, subexpressions


def fields_read(expr: Expr | None) -> set[str]:
    """Case-data fields an expression reads (``_d.<field>``)."""
    return {n.name for n in subexpressions(expr)
            if isinstance(n, Field) and isinstance(n.base, Var)}


def relevant_fields(compiled: CompiledProcess, needs: set[str]) -> set[str]:
    """Fields read by guards or ``needs``, closed under "an update of it reads them"."""
    net = compiled.net
    relevant = set(needs)
    writes: dict[str, set[str]] = {}
    for t in net.transitions:
        relevant |= fields_read(t.guard)
        for a in net.outputs[t.id]:
            if a.place != DATA_PLACE or a.inscription is None:
                continue
            ins = a.inscription
            pairs = ins.changes if isinstance(ins, Update) else (
                ins.fields if isinstance(ins, RecordExpr) else ())
            for name, value in pairs:
                writes.setdefault(name, set()).update(fields_read(value))
    changed = True
    while changed:
        changed = False
        for name in list(relevant):
            extra = writes.get(name, set()) - relevant
            if extra:
                relevant |= extra
                changed = True
    return relevant


__all__ = ["fields_read", "relevant_fields"]
