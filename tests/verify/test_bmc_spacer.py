"""BMC and Spacer agree with brute force on random P/T nets, and their evidence checks."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings

from petriflow.verify.formulas import Deadlock
from petriflow.verify.ptnet import PTNet
from petriflow.verify.smt.bmc import bmc, recheck_invariant, spacer
from tests.strategies import pt_nets
from tests.verify.oracle import PT, explore


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(read_arcs=False))
def test_bmc_witnesses_are_real_deadlocks(spec) -> None:  # type: ignore[no-untyped-def]
    net = spec.net
    graph = explore(net, cap=3000)
    result = bmc(PTNet(net), Deadlock(), deadline=time.monotonic() + 5, max_depth=12)
    if result.answer == "reachable":
        pt = PT(net)
        m = pt.initial
        for t in result.path:
            assert pt.enabled(t, m)
            m = pt.fire(t, m)
        assert not pt.enabled_ids(m)
    elif result.answer == "bounded" and graph.complete:
        # no deadlock within 12 steps: every dead state brute force finds is deeper
        assert all(len(_shortest(graph, d)) > 12 for d in graph.dead())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets(read_arcs=False))
def test_spacer_proofs_hold_and_their_invariants_recheck(spec) -> None:  # type: ignore[no-untyped-def]
    net = spec.net
    graph = explore(net, cap=3000)
    pt = PTNet(net)
    result = spacer(pt, Deadlock(), deadline=time.monotonic() + 5)
    if result.answer == "unreachable":
        if graph.complete:
            assert not graph.dead(), "Spacer proved deadlock-freedom of a net with a deadlock"
        if result.invariant is not None:
            assert recheck_invariant(pt, Deadlock(), result.invariant)
    elif result.answer == "reachable" and graph.complete:
        assert graph.dead()


def _shortest(graph, target):  # type: ignore[no-untyped-def]
    from collections import deque

    start = graph.pt.initial
    seen = {start: []}
    queue = deque([start])
    while queue:
        m = queue.popleft()
        if m == target:
            return seen[m]
        for j, n in graph.succ.get(m, []):
            if n not in seen:
                seen[n] = [*seen[m], j]
                queue.append(n)
    return [0] * 10_000
