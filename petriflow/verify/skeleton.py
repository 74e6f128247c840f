"""The control skeleton of a compiled process: its net without the case data.

Dropping the data place and every guard gives a P/T net with *more* behaviour than the
process. When, in addition, data can never block a choice (for every group of
transitions that take the same tokens, some answer always enables one of them; the
symbolic checker decides this), every dead marking of the process is a dead marking
of the skeleton, so a P/T proof of deadlock-freedom on the skeleton (state equation
with traps, or a complete search) is a proof for the process. This is what lets
petriflow prove processes with hundreds of parallel branches, whose state spaces no
enumeration can cover.
"""

from __future__ import annotations

from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.net.builder import NetBuilder
from petriflow.net.structure import Net
from petriflow.verify.formulas import (
    And,
    Compare,
    Deadlock,
    IntConst,
    Not,
    StateFormula,
    TokenSum,
)


def skeleton(compiled: CompiledProcess) -> Net:
    """The P/T net of the control places and transitions (no data, no guards)."""
    net = compiled.net
    b = NetBuilder(f"{net.name} (control skeleton)")
    for p in net.places:
        if p.id != DATA_PLACE:
            b.place(p.id, initial=net.initial_marking.count(p.id))
    for t in net.transitions:
        b.transition(t.id)
    for a in net.arcs:
        if a.place == DATA_PLACE:
            continue
        source, target = (a.place, a.transition) if a.is_input else (a.transition, a.place)
        b.arc(source, target, weight=a.weight, kind=a.kind, arc_id=a.id)
    return b.build()


def improper_dead(compiled: CompiledProcess) -> StateFormula:
    """A dead marking that is not a proper end of the case."""
    ends = tuple(compiled.final_places)
    history = set(compiled.history_places)
    others = tuple(p.id for p in compiled.net.places
                   if p.id != DATA_PLACE and p.id not in ends and p.id not in history)
    # explicit termination: exactly one end token; implicit: at least one
    reached = Compare(">=", TokenSum(ends), IntConst(1)) if compiled.implicit else Compare(
        "==", TokenSum(ends), IntConst(1))
    proper = And((reached, Compare("==", TokenSum(others), IntConst(0)))) if others \
        else reached
    return And((Deadlock(), Not(proper)))


__all__ = ["improper_dead", "skeleton"]
