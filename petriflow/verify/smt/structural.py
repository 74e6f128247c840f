"""Structural facts decided by linear arithmetic: boundedness from place weights.

If some weighting ``y >= 1`` of the places satisfies ``y · C <= 0`` (no transition
increases the weighted token sum), every reachable marking has
``y · M <= y · M0``, so each place holds at most ``y · M0`` tokens: the net is bounded
whatever its behaviour (a structural bound; Murata, "Petri nets: properties, analysis
and applications", 1989). The weights are the certificate.
"""

from __future__ import annotations

import z3

from petriflow.verify.ptnet import PTNet
from petriflow.verify.smt.solver import check, make_solver


def structurally_bounded(net: PTNet, *, timeout: float = 10.0) -> dict[str, int] | None:
    """Place weights proving boundedness, or None if none exist (or time ran out)."""
    if any(net.inhibit):
        return None  # inhibitor arcs are not in C; keep the argument simple and sound
    y = [z3.Int(f"y{i}") for i in range(len(net.places))]
    s = make_solver(timeout)
    for v in y:
        s.add(v >= 1)
    for _t, d in enumerate(net.delta):
        if d:
            s.add(z3.Sum([c * y[p] for p, c in d]) <= 0)
    if check(s)[0] != "sat":
        return None
    model = s.model()
    return {net.places[i]: model.eval(v, model_completion=True).as_long()
            for i, v in enumerate(y)}


def check_weights(net: PTNet, weights: dict[str, int]) -> bool:
    """Re-check a boundedness certificate by plain arithmetic."""
    if set(weights) != set(net.places) or any(w < 1 for w in weights.values()):
        return False
    return all(sum(c * weights[net.places[p]] for p, c in d) <= 0 for d in net.delta)


__all__ = ["check_weights", "structurally_bounded"]
