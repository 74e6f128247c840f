"""The one place a Z3 solver is made: fixed seeds, a wall-clock timeout, no ambient state.

A solver answering ``unknown`` is never read as ``sat`` or ``unsat``: :func:`check`
returns the three answers as they are, with Z3's reason for ``unknown``.
"""

from __future__ import annotations

import z3

SEED = 7


def make_solver(timeout_seconds: float | None = None, *, logic: str | None = None) -> z3.Solver:
    solver = z3.SolverFor(logic) if logic else z3.Solver()
    solver.set("random_seed", SEED)
    if timeout_seconds is not None:
        solver.set("timeout", max(1, int(timeout_seconds * 1000)))
    return solver


def check(solver: z3.Solver, *assumptions: z3.BoolRef) -> tuple[str, str | None]:
    """``("sat" | "unsat" | "unknown", reason)``."""
    answer = solver.check(*assumptions)
    if answer == z3.sat:
        return "sat", None
    if answer == z3.unsat:
        return "unsat", None
    return "unknown", solver.reason_unknown()


def all_unsat(formulas: list[z3.BoolRef], timeout_seconds: float) -> bool:
    """Whether every formula is unsatisfiable, each asked of a fresh solver (how a
    certificate's proof obligations are re-checked)."""
    for formula in formulas:
        s = make_solver(timeout_seconds)
        s.add(formula)
        if s.check() != z3.unsat:
            return False
    return True


__all__ = ["SEED", "all_unsat", "check", "make_solver"]
