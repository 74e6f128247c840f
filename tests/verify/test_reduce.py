"""Structural reductions keep the answer to "is a deadlock reachable?", and every
deadlock of the reduced net lifts to a replayable deadlock of the original."""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from petriflow.net import BLACK, ArcKind, TokenGame
from petriflow.net.structure import Net
from petriflow.verify.portfolio import check
from petriflow.verify.ptcheck import check_wf_soundness
from petriflow.verify.ptnet import PTNet
from petriflow.verify.reduce import reduce_for_deadlock, reduce_for_soundness
from petriflow.verify.result import Verdict
from tests.strategies import NetSpec, pt_nets, scaled
from tests.verify.oracle import PT, explore, replay_trace
from tests.verify.test_ptnets import wf_sound, workflow_specs

CAP = 3000


def _stretch(draw: st.DrawFn, spec: NetSpec) -> NetSpec:
    """``spec`` with some output arcs of weight one replaced by a short chain
    ``t -> s -> u -> q`` (what processes are made of), and maybe a copied transition:
    every rule of the reducer gets something to do."""
    out = NetSpec(spec.name, list(spec.places), list(spec.transitions), [], dict(spec.env))
    for k, (source, target, weight, kind, inscription) in enumerate(spec.arcs):
        is_output = source.startswith("t")
        if is_output and weight == 1 and not draw(st.booleans()):
            s, u = f"s{k}", f"u{k}"
            out.places.append((s, BLACK, 0, None))
            out.transitions.append((u, None, {}, {}, None))
            out.arcs += [(source, s, 1, kind, None), (s, u, 1, ArcKind.NORMAL, None),
                         (u, target, 1, ArcKind.NORMAL, None)]
        else:
            out.arcs.append((source, target, weight, kind, inscription))
    if spec.transitions and draw(st.booleans()):  # a duplicate transition
        tid = spec.transitions[0][0]
        out.transitions.append((f"{tid}_copy", None, {}, {}, None))
        out.arcs += [(s if t == tid else f"{tid}_copy", f"{tid}_copy" if t == tid else t, w, k,
                      None) for s, t, w, k, _ in spec.arcs if tid in (s, t)]
    return out


@st.composite
def stretched_nets(draw: st.DrawFn) -> NetSpec:
    return _stretch(draw, draw(pt_nets(max_places=4, max_transitions=4,
                                       inhibitor_arcs=draw(st.booleans()))))


@st.composite
def stretched_workflows(draw: st.DrawFn) -> NetSpec:
    return _stretch(draw, draw(workflow_specs()))


def _dead_paths(net: Net) -> tuple[bool, list[list[str]]]:
    """(complete, a shortest path to each dead state of the oracle's graph)."""
    g = explore(net, CAP)
    pt = g.pt
    parents: dict[tuple[int, ...], tuple[tuple[int, ...], int] | None] = {pt.initial: None}
    queue = deque([pt.initial])
    while queue:
        m = queue.popleft()
        for j, n in g.succ.get(m, []):
            if n not in parents:
                parents[n] = (m, j)
                queue.append(n)
    paths = []
    for d in g.dead():
        path: list[str] = []
        step = parents[d]
        while step is not None:
            prev, j = step
            path.append(pt.transitions[j])
            step = parents[prev]
        paths.append(path[::-1])
    return g.complete, paths


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(stretched_nets(), pt_nets()))
def test_reduction_keeps_deadlocks(spec) -> None:  # type: ignore[no-untyped-def]
    net = spec.net
    red = reduce_for_deadlock(PTNet(net))
    for rule in red.removed:
        event(f"{rule}: applied")
    complete, dead = _dead_paths(net)
    red_complete, red_dead = _dead_paths(red.net)
    if complete and red_complete:
        assert bool(dead) == bool(red_dead), (
            f"original has a deadlock: {bool(dead)}, reduced: {bool(red_dead)} "
            f"({dict(red.removed)})")
    pt = PT(net)
    for path in red_dead[:5]:
        end = pt.state(TokenGame(net).replay(red.lift(path)))
        assert not pt.enabled_ids(end), "a lifted deadlock is not dead in the original"


def _sequence(n: int) -> Net:
    spec = NetSpec("seq")
    spec.places += [(f"p{i}", BLACK, 1 if i == 0 else 0, None) for i in range(n + 1)]
    spec.transitions += [(f"t{i}", None, {}, {}, None) for i in range(n)]
    spec.arcs += [a for i in range(n) for a in ((f"p{i}", f"t{i}", 1, ArcKind.NORMAL, None),
                                                (f"t{i}", f"p{i + 1}", 1, ArcKind.NORMAL, None))]
    return spec.net


def test_a_sequence_fuses_into_one_transition() -> None:
    red = reduce_for_deadlock(PTNet(_sequence(50)))
    assert len(red.ptnet.transitions) == 1
    assert red.lift(red.ptnet.transitions) == [f"t{i}" for i in range(50)]


def test_deadlock_check_on_the_reduced_net_reports_an_original_trace() -> None:
    [r] = check(_sequence(30), ["deadlock"], timeout=10)
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None
    assert [s.transition for s in r.trace] == [f"t{i}" for i in range(30)]
    assert r.method.endswith("on the reduced net")


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(stretched_workflows(), workflow_specs()))
def test_soundness_on_the_reduced_net_agrees_with_brute_force(spec) -> None:  # type: ignore[no-untyped-def]
    net = spec.net
    g = explore(net, CAP)
    sound = wf_sound(net, g)
    red = reduce_for_soundness(PTNet(net))
    for rule in red.removed:
        event(f"{rule}: applied")
    r = check_wf_soundness(net, PTNet(net), 10)
    if sound is None:
        assert r.verdict is Verdict.UNKNOWN
        return
    if r.trace is not None:
        replay_trace(net, r.trace)
    if g.complete:
        assert r.verdict is (Verdict.PROVED if sound else Verdict.VIOLATED), \
            f"{r.verdict.value} ({r.reason}); brute force sound={sound}; {dict(red.removed)}"


# -- siphons ---------------------------------------------------------------------------------


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pt_nets())
def test_siphon_dead_transitions_never_fire(spec) -> None:  # type: ignore[no-untyped-def]
    from petriflow.verify.siphons import dead_by_siphon, is_siphon

    net = spec.net
    pt = PTNet(net)
    dead, siphon = dead_by_siphon(pt)
    places = {pt.pindex[p] for p in siphon}
    assert is_siphon(pt, places)
    assert not any(pt.initial[p] for p in places)
    g = explore(net, CAP)
    fired = {pt.tindex[g.pt.transitions[j]] for out in g.succ.values() for j, _ in out}
    if dead:
        event("a transition is dead by a siphon")
    assert not set(dead) & fired, "a transition the siphon calls dead fires"


# -- T-invariants ----------------------------------------------------------------------------


@settings(max_examples=scaled(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflow_specs())
def test_a_transition_on_no_t_invariant_means_unsound(spec) -> None:  # type: ignore[no-untyped-def]
    from petriflow.verify.smt.structural import uncovered_transitions
    from tests.verify.test_ptnets import wf_shape

    net = spec.net
    shape = wf_shape(net)
    if shape is None:
        return
    source, sink = shape
    pt = PTNet(net)
    uncovered = uncovered_transitions(pt, extra=(sink, source))
    assert uncovered is not None
    g = explore(net, CAP)
    if uncovered:
        event("a transition on no T-invariant")
        if g.complete:
            assert wf_sound(net, g) is False, "a sound net has a transition on no T-invariant"
