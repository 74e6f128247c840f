"""The P/T portfolio on classic nets with known answers, and its parts one by one:
stubborn sets, traps, structural boundedness weights, workflow-net soundness.

The classic nets are built by ``verification/corpus/nets/make_nets.py`` (their PNML files
and the rows of ``EXPECTED.tsv`` are generated from it); here each expected verdict is
also confirmed by brute force, so that a wrong expectation cannot hide a checker bug.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from petriflow.net import ArcKind, Net, NetBuilder, read_pnml
from petriflow.net.colors import BLACK
from petriflow.verify.explicit import Search, search, stubborn
from petriflow.verify.formulas import Deadlock, compile_formula
from petriflow.verify.portfolio import check
from petriflow.verify.ptcheck import check_wf_soundness
from petriflow.verify.ptnet import PTNet
from petriflow.verify.result import TraceStep, Verdict
from petriflow.verify.smt.state_equation import is_trap, maximal_trap
from petriflow.verify.smt.structural import check_weights, structurally_bounded
from tests.corpus import REPO
from tests.strategies import NetSpec, pt_nets, scaled
from tests.verify.oracle import (
    PT,
    Graph,
    explore,
    is_pumping_witness,
    read_arc_deadlock_spec,
    replay_trace,
)

NETS_DIR = REPO / "verification" / "corpus" / "nets"


def _load_make_nets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_nets", NETS_DIR / "make_nets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_nets", module)
    spec.loader.exec_module(module)
    return module


MAKE_NETS = _load_make_nets()
CLASSIC = {stem: (builder, verdicts) for stem, builder, verdicts in MAKE_NETS.NETS}


def brute_force_verdicts(net: Net, g: Graph) -> dict[str, str]:
    """What brute force says about each property (on a complete state space)."""
    assert g.complete
    pt = g.pt
    fired = {j for out in g.succ.values() for j, _ in out}
    verdict = {True: "proved", False: "violated"}
    out = {
        "deadlock": verdict[not g.dead()],
        "bounded": "proved",
        "one-safe": verdict[g.max_tokens() <= 1],
        "quasi-liveness": verdict[len(fired) == len(pt.transitions)],
    }
    sound = wf_sound(net, g)
    if sound is not None:
        out["soundness"] = verdict[sound]
    return out


def wf_shape(net: Net) -> tuple[int, int] | None:
    """(source, sink) indexes if ``net`` is a workflow net as the checker defines it."""
    pt = PT(net)
    n = len(pt.places)
    produced = {pt.index[a.place] for a in net.arcs if not a.is_input}
    consumed = {pt.index[a.place] for a in net.arcs
                if a.is_input and a.kind is ArcKind.NORMAL}
    sources = [i for i in range(n) if i not in produced]
    sinks = [i for i in range(n) if i not in consumed]
    if len(sources) != 1 or len(sinks) != 1:
        return None
    if pt.initial != tuple(1 if i == sources[0] else 0 for i in range(n)):
        return None
    if any(a.kind is not ArcKind.NORMAL for a in net.arcs):
        return None
    # every place and transition on a path from the source (the sink may be out of reach:
    # that net is unsound, and its state space shows why)
    reached, todo = {net.places[sources[0]].id}, [net.places[sources[0]].id]
    while todo:
        node = todo.pop()
        for a in net.arcs:
            nxt = (a.transition if a.is_input else a.place) if (
                a.place if a.is_input else a.transition) == node else None
            if nxt is not None and nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    if any(p.id not in reached for p in net.places) or any(
            t.id not in reached for t in net.transitions):
        return None
    return sources[0], sinks[0]


def wf_sound(net: Net, g: Graph) -> bool | None:
    """Classical soundness on a complete graph; None if ``net`` is not a workflow net."""
    shape = wf_shape(net)
    if shape is None:
        return None
    _, sink = shape
    final = tuple(1 if i == sink else 0 for i in range(len(g.pt.places)))
    if any(m[sink] and m != final for m in g.succ):
        return False
    back: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for m, out in g.succ.items():
        for _, n in out:
            back.setdefault(n, []).append(m)
    good = {final} if final in g.succ else set()
    stack = list(good)
    while stack:
        for prev in back.get(stack.pop(), []):
            if prev not in good:
                good.add(prev)
                stack.append(prev)
    if len(good) != len(g.succ):
        return False
    fired = {j for out in g.succ.values() for j, _ in out}
    return len(fired) == len(g.pt.transitions)


# -- the classic nets -----------------------------------------------------------------------


@pytest.mark.parametrize("stem", sorted(CLASSIC))
def test_pnml_file_is_what_the_generator_writes(stem):
    from petriflow.net.pnml import write_pnml

    builder, _ = CLASSIC[stem]
    assert (NETS_DIR / f"{stem}.pnml").read_text() == write_pnml(builder.build()), \
        "run verification/corpus/nets/make_nets.py"


def test_expected_tsv_lists_every_classic_verdict():
    rows = set()
    for line in (REPO / "verification/corpus/EXPECTED.tsv").read_text().splitlines()[1:]:
        path, prop, verdict = line.split("\t")
        if path.startswith("verification/corpus/nets/"):
            rows.add((Path(path).stem, prop, verdict))
    assert rows == {(stem, p, v) for stem, (_, vs) in CLASSIC.items() for p, v in vs.items()}


@pytest.mark.parametrize("stem", sorted(CLASSIC))
def test_expected_verdicts_hold_by_brute_force(stem):
    """The answers in EXPECTED.tsv are right (independently of the checker)."""
    builder, verdicts = CLASSIC[stem]
    net = builder.build()
    g = explore(net, 20_000)
    if not g.complete:
        assert verdicts.get("bounded") == "violated"
        assert is_pumping_witness(net, _pump(net))
        return
    truth = brute_force_verdicts(net, g)
    for prop, verdict in verdicts.items():
        assert truth[prop] == verdict, prop


def _pump(net: Net) -> tuple[TraceStep, ...]:
    s = search(PTNet(net), None, max_states=10_000, detect_unbounded=True)
    assert s.unbounded_witness is not None
    prefix, cycle = s.unbounded_witness
    ptnet = PTNet(net)
    return tuple(TraceStep(ptnet.transitions[t]) for t in prefix + cycle)


@pytest.mark.parametrize("stem", sorted(CLASSIC))
def test_portfolio_gets_the_expected_verdicts(stem):
    _, verdicts = CLASSIC[stem]
    net = read_pnml((NETS_DIR / f"{stem}.pnml").read_bytes())
    results = check(net, list(verdicts), timeout=10)
    assert {r.property: r.verdict.value for r in results} == verdicts
    pt = PT(net)
    for r in results:
        assert r.method
        if r.verdict is Verdict.VIOLATED and r.trace is not None:
            end = replay_trace(net, r.trace)
            if r.property == "deadlock":
                assert not pt.enabled_ids(end)
            if r.property == "one-safe":
                assert max(end) >= 2


@pytest.mark.parametrize("n", [3, 5, 7])
def test_philosophers_deadlock_is_everyone_holding_the_left_fork(n):
    net = MAKE_NETS.philosophers(n).build()
    (r,) = check(net, ["deadlock"], timeout=10)
    assert r.verdict is Verdict.VIOLATED
    end = replay_trace(net, r.trace)
    pt = PT(net)
    assert {pt.places[i] for i, x in enumerate(end) if x} == {f"has_left_{i}" for i in range(n)}
    assert len(r.trace) == n  # breadth first: the shortest counterexample


@pytest.mark.parametrize("k, length", [(2, 2), (3, 3), (4, 2), (7, 2)])
def test_parallel_branches_are_sound(k, length):
    net = MAKE_NETS.parallel_branches(k, length).build()
    r = check_wf_soundness(net, PTNet(net), 20)
    assert r.verdict is Verdict.PROVED
    # chain fusion folds every branch into the fork: i, the k branch ends, o
    assert r.certificate is not None and r.certificate["states"] == 3
    assert r.certificate["reduction"]["rules"] == {"chain fusion": k * length}


@pytest.mark.parametrize("k", [3, 17, 200])
def test_rings_never_deadlock(k):
    net = MAKE_NETS.ring(k).build()
    results = {r.property: r for r in check(net, ["deadlock", "one-safe", "bounded"],
                                            timeout=10)}
    assert all(r.verdict is Verdict.PROVED for r in results.values()), results


def test_soundness_of_a_net_that_is_not_a_workflow_net_is_unknown():
    net = MAKE_NETS.mutex(2).build()
    (r,) = check(net, ["soundness"], timeout=5)
    assert r.verdict is Verdict.UNKNOWN and "workflow" in (r.reason or "")


def test_unbounded_producer_trace_pumps():
    net = MAKE_NETS.unbounded_producer().build()
    (r,) = check(net, ["bounded"], timeout=5)
    assert r.verdict is Verdict.VIOLATED
    assert is_pumping_witness(net, r.trace)


# -- random workflow nets: soundness against brute force -----------------------------------


@st.composite
def workflow_specs(draw: st.DrawFn) -> NetSpec:
    """Random ordinary nets shaped like workflow nets: i is consumed, o is produced, and
    (unless ``strict`` is drawn false) every inner place is both produced and consumed."""
    inner = [f"p{i}" for i in range(draw(st.integers(0, 4)))]
    spec = NetSpec("wf")
    spec.places = [("i", BLACK, 1, None), *[(p, BLACK, 0, None) for p in inner],
                   ("o", BLACK, 0, None)]
    n = draw(st.integers(1, 6))
    arcs: dict[str, tuple[set[str], set[str]]] = {}
    for j in range(n):
        ins = set(draw(st.lists(st.sampled_from(["i", *inner]), min_size=1, max_size=2)))
        outs = set(draw(st.lists(st.sampled_from([*inner, "o"]), min_size=1, max_size=2)))
        arcs[f"t{j}"] = (ins, outs)
    tids = sorted(arcs)
    arcs[tids[0]][0].add("i")
    arcs[tids[-1]][1].add("o")
    if draw(st.integers(0, 9)):  # one in ten may leave an inner place unconnected
        for p in inner:
            if not any(p in outs for _, outs in arcs.values()):
                arcs[draw(st.sampled_from(tids))][1].add(p)
            if not any(p in ins for ins, _ in arcs.values()):
                arcs[draw(st.sampled_from(tids))][0].add(p)
    for tid in tids:
        spec.transitions.append((tid, None, {}, {}, None))
        spec.env[tid] = {}
        ins, outs = arcs[tid]
        spec.arcs += [(p, tid, 1, ArcKind.NORMAL, None) for p in sorted(ins)]
        spec.arcs += [(tid, p, 1, ArcKind.NORMAL, None) for p in sorted(outs)]
    return spec


@settings(max_examples=scaled(150))
@given(workflow_specs())
def test_wf_soundness_agrees_with_brute_force(spec):
    net = spec.net
    r = check_wf_soundness(net, PTNet(net), 5)
    if wf_shape(net) is None:
        assert r.verdict is Verdict.UNKNOWN
        event("not a workflow net")
        return
    g = explore(net, 3000)
    event(f"soundness: {r.verdict.value}")
    if r.trace is not None:
        replay_trace(net, r.trace)
    if not g.complete:
        assert r.verdict is not Verdict.PROVED or r.certificate["states"] > 3000 \
            or "reduction" in r.certificate
        return
    sound = wf_sound(net, g)
    assert r.verdict is (Verdict.PROVED if sound else Verdict.VIOLATED), r.reason


# -- stubborn sets ---------------------------------------------------------------------------


def _deadlock_searches(net: Net, cap: int = 2000) -> tuple[Search, Search]:
    ptnet = PTNet(net)
    dead = compile_formula(Deadlock(), ptnet)
    reduced = search(ptnet, dead, max_states=cap, deadlock_only=True)
    full = search(ptnet, dead, max_states=cap)
    return reduced, full


def _stubborn_agrees(spec: NetSpec) -> None:
    net = spec.net
    reduced, full = _deadlock_searches(net)
    assume(reduced.complete or reduced.found is not None)
    assume(full.complete or full.found is not None)
    event("deadlock" if full.found is not None else "no deadlock")
    assert (reduced.found is None) == (full.found is None)
    if reduced.found is not None:
        ptnet = PTNet(net)
        end = replay_trace(net, tuple(TraceStep(ptnet.transitions[t]) for t in reduced.path))
        assert not PT(net).enabled_ids(end)
    elif reduced.complete:
        assert reduced.states <= full.states


@settings(max_examples=scaled(200))
@given(pt_nets(read_arcs=False))
def test_stubborn_sets_find_a_deadlock_exactly_when_full_search_does(spec):
    _stubborn_agrees(spec)


@settings(max_examples=scaled(100), derandomize=True, database=None)
@example(read_arc_deadlock_spec())
@given(pt_nets(inhibitor_arcs=False))
def test_stubborn_sets_with_read_arcs(spec):
    _stubborn_agrees(spec)


def test_read_arc_deadlock_minimal_repro():
    net = read_arc_deadlock_spec().net
    (r,) = check(net, ["deadlock"], timeout=5)
    assert r.verdict is Verdict.VIOLATED


def test_stubborn_sets_prune_independent_chains():
    b = NetBuilder("chains")
    k, length = 6, 3
    for j in range(k):
        for s in range(length + 1):
            b.place(f"c{j}_{s}", initial=1 if s == 0 else 0)
        for s in range(length):
            b.transition(f"t{j}_{s}")
            b.arc(f"c{j}_{s}", f"t{j}_{s}")
            b.arc(f"t{j}_{s}", f"c{j}_{s + 1}")
    reduced, full = _deadlock_searches(b.build(), cap=10_000)
    assert reduced.found is not None and full.found is not None
    assert len(reduced.path) == len(full.path) == k * length
    # the full search explores most of the (length+1)**k interleavings before the end
    assert reduced.states <= k * length + 1 < full.states


def test_stubborn_set_of_a_conflict_keeps_both_sides():
    b = NetBuilder("conflict")
    b.place("p", initial=1)
    b.place("a")
    b.place("b")
    b.place("q", initial=1)
    for t, src, dst in (("left", "p", "a"), ("right", "p", "b"), ("other", "q", "a")):
        b.transition(t)
        b.arc(src, t)
        b.arc(t, dst)
    ptnet = PTNet(b.build())
    enabled = ptnet.enabled_list(ptnet.initial)
    # the stubborn set grown from the first enabled transition, 'left': its conflict
    # partner 'right' must come along; the independent 'other' is left for later
    chosen = {ptnet.transitions[t] for t in stubborn(ptnet, ptnet.initial, enabled)}
    assert chosen == {"left", "right"}


# -- traps -----------------------------------------------------------------------------------


def _ptnet_of(builder: NetBuilder) -> PTNet:
    return PTNet(builder.build())


def test_traps_of_a_ring():
    ptnet = _ptnet_of(MAKE_NETS.ring(4))
    everything = set(range(4))
    assert is_trap(ptnet, everything)
    assert maximal_trap(ptnet, everything) == everything
    for i in range(4):
        assert not is_trap(ptnet, {i})
        assert maximal_trap(ptnet, everything - {i}) == set()


def test_traps_of_the_mutex():
    ptnet = _ptnet_of(MAKE_NETS.mutex(2))
    idx = ptnet.pindex
    sem_and_critical = {idx["sem"], idx["crit_0"], idx["crit_1"]}
    assert is_trap(ptnet, sem_and_critical)
    assert not is_trap(ptnet, {idx["sem"]})
    assert maximal_trap(ptnet, sem_and_critical | {idx["idle_0"]}) >= sem_and_critical
    assert is_trap(ptnet, set())
    assert maximal_trap(ptnet, {idx["sem"], idx["idle_0"]}) == set()


def test_traps_of_the_philosophers_contain_every_fork_and_eater():
    ptnet = _ptnet_of(MAKE_NETS.philosophers(3))
    trap = maximal_trap(ptnet, set(range(len(ptnet.places))))
    assert is_trap(ptnet, trap)
    assert trap == set(range(len(ptnet.places)))


@settings(max_examples=scaled(150))
@given(pt_nets(max_places=5), st.data())
def test_maximal_trap_is_the_union_of_all_traps_inside(spec, data):
    ptnet = PTNet(spec.net)
    n = len(ptnet.places)
    candidates = data.draw(st.sets(st.integers(0, n - 1)), label="candidates")
    trap = maximal_trap(ptnet, candidates)
    assert trap <= candidates and is_trap(ptnet, trap)
    union: set[int] = set()
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(sorted(candidates), size):
            if _is_trap_by_definition(ptnet, set(subset)):
                union |= set(subset)
    assert trap == union
    assert is_trap(ptnet, candidates) == _is_trap_by_definition(ptnet, candidates)


def _is_trap_by_definition(ptnet: PTNet, places: set[int]) -> bool:
    """Q is a trap iff every transition that takes a token from Q puts one back into Q."""
    net = ptnet.net
    for t in net.transitions:
        takes = any(a.is_input and a.kind is ArcKind.NORMAL and ptnet.pindex[a.place] in places
                    for a in net.inputs[t.id])
        gives = any(ptnet.pindex[a.place] in places for a in net.outputs[t.id])
        if takes and not gives:
            return False
    return True


@settings(max_examples=scaled(100))
@given(pt_nets(max_places=4))
def test_initially_marked_traps_stay_marked(spec):
    net = spec.net
    ptnet = PTNet(net)
    trap = maximal_trap(ptnet, set(range(len(ptnet.places))))
    assume(any(ptnet.initial[p] for p in trap))
    g = explore(net, 500)
    assert all(any(m[p] for p in trap) for m in g.succ)


# -- structural boundedness ------------------------------------------------------------------


def test_weights_of_the_producer_consumer():
    ptnet = _ptnet_of(MAKE_NETS.producer_consumer(3))
    weights = structurally_bounded(ptnet)
    assert weights is not None and check_weights(ptnet, weights)
    assert not check_weights(ptnet, {**weights, "buffer": 0})
    assert not check_weights(ptnet, {k: v for k, v in weights.items() if k != "buffer"})
    assert not check_weights(ptnet, {**weights, "extra": 1})


def test_no_weights_for_the_unbounded_producer():
    ptnet = _ptnet_of(MAKE_NETS.unbounded_producer())
    assert structurally_bounded(ptnet) is None
    # weights that would "prove" it are refused by the re-check
    assert not check_weights(ptnet, dict.fromkeys(ptnet.places, 1))


def test_weights_are_refused_when_a_transition_adds_weight():
    b = NetBuilder("grow")
    b.place("p", initial=1)
    b.place("q")
    b.transition("t")
    b.arc("p", "t")
    b.arc("t", "q", weight=2)
    ptnet = _ptnet_of(b)
    assert not check_weights(ptnet, {"p": 1, "q": 1})
    assert check_weights(ptnet, {"p": 2, "q": 1})
    weights = structurally_bounded(ptnet)
    assert weights is not None and weights["p"] >= 2 * weights["q"]


@settings(max_examples=scaled(150))
@given(pt_nets(inhibitor_arcs=False))
def test_structural_weights_bound_every_reachable_marking(spec):
    net = spec.net
    ptnet = PTNet(net)
    weights = structurally_bounded(ptnet, timeout=5)
    if weights is None:
        event("no weights")
        return
    event("weights")
    assert check_weights(ptnet, weights)
    y = [weights[p] for p in ptnet.places]
    bound = sum(a * b for a, b in zip(y, ptnet.initial, strict=True))
    g = explore(net, 2000)
    assert all(sum(a * b for a, b in zip(y, m, strict=True)) <= bound for m in g.succ)
    assert g.complete or len(g.succ) >= 2000


# -- time budget -----------------------------------------------------------------------------


def toggles(n: int) -> Net:
    """n switches behind one lock: 2n transitions that all conflict, 2**n markings."""
    b = NetBuilder(f"toggles_{n}")
    b.place("lock", initial=1)
    for i in range(n):
        b.place(f"a{i}", initial=1)
        b.place(f"b{i}")
        for t, src, dst in ((f"on{i}", f"a{i}", f"b{i}"), (f"off{i}", f"b{i}", f"a{i}")):
            b.transition(t)
            for p in ("lock", src):
                b.arc(p, t)
            for p in ("lock", dst):
                b.arc(t, p)
    return b.build()


def test_small_toggles_are_answered():
    results = {r.property: r.verdict for r in check(toggles(4), ["deadlock", "one-safe",
                                                                 "bounded"], timeout=5)}
    assert results == {"deadlock": Verdict.PROVED, "one-safe": Verdict.PROVED,
                       "bounded": Verdict.PROVED}


def test_the_time_budget_is_kept_on_nets_with_many_transitions():
    net = toggles(120)
    t0 = time.monotonic()
    (r,) = check(net, ["one-safe"], timeout=0.1)
    assert time.monotonic() - t0 < 2.0, f"{r.verdict.value} after {time.monotonic() - t0:.1f} s"


@pytest.mark.parametrize("extra", ["isolated", "source"])
def test_a_transition_off_the_workflow_is_not_a_workflow_net(extra: str) -> None:
    """A transition with no arcs (or no input) lies on no path from the source place:
    the net is no workflow net (as pm4py's check_wfnet and Woflan say), and the
    reductions would drop it; soundness must not be proved for it."""
    from petriflow.net import NetBuilder

    b = NetBuilder("wf")
    b.place("i", initial=1)
    b.place("o")
    b.transition("t")
    b.transition("x")
    b.arc("i", "t")
    b.arc("t", "o")
    if extra == "source":
        b.place("p")
        b.arc("x", "p")
        b.transition("eat")
        b.arc("p", "eat")
        b.arc("eat", "o")
    net = b.build()
    r = check_wf_soundness(net, PTNet(net), 5)
    assert r.verdict is Verdict.UNKNOWN and "not a workflow net: " in str(r.reason)
    assert "x" in str(r.reason)
