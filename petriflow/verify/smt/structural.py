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


__all__ = ["check_weights", "structurally_bounded", "uncovered_transitions"]


def uncovered_transitions(net: PTNet, *, extra: tuple[int, int] | None = None,
                          timeout: float = 10.0) -> list[int] | None:
    """Transitions that no T-invariant (firing counts ``x >= 0`` with ``C·x = 0``)
    contains; None if the solver could not decide in time.

    A bounded and live net is covered by T-invariants (every transition lies on a
    cycle of the finite reachability graph; Murata, 1989), so an uncovered transition
    is a structural proof that the net is not both. With ``extra = (sink, source)``
    the question is asked of the net short-circuited by a transition from the sink
    place back to the source place, as for workflow-net soundness (van der Aalst)."""
    n_t = len(net.transitions)
    x = [z3.Int(f"x{t}") for t in range(n_t + (1 if extra else 0))]
    s = make_solver(timeout)
    s.add(*[v >= 0 for v in x])
    effect: list[list[z3.ArithRef]] = [[] for _ in net.places]
    for t, delta in enumerate(net.delta):
        for p, d in delta:
            effect[p].append(d * x[t])
    if extra is not None:
        sink, source = extra
        effect[sink].append(-1 * x[n_t])
        effect[source].append(x[n_t])
    s.add(*[z3.Sum(e) == 0 for e in effect if e])
    out = []
    for t in range(n_t):
        s.push()
        s.add(x[t] >= 1)
        answer, _ = check(s)
        s.pop()
        if answer == "unknown":
            return None
        if answer == "unsat":
            out.append(t)
    return out
