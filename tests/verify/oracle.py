"""A brute-force P/T oracle for the checker's tests, independent of the checker.

It reads the arcs of a kernel :class:`~petriflow.net.structure.Net` directly (the firing
rule of :mod:`tests.net.ptsemantics`: normal and read arcs counted separately, each
inhibitor arc on its own), explores the reachability graph breadth first up to a state
cap, and evaluates the checker's state formulas on token-count vectors. Nothing here
uses :mod:`petriflow.verify`'s index form, search, or solvers, so a disagreement points
at one of the two sides.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from petriflow.net import BLACK, ArcKind, Marking, Net, TokenGame
from petriflow.verify.formulas import (
    And,
    BoolConst,
    Compare,
    Deadlock,
    Fireable,
    IntConst,
    Not,
    Or,
    StateFormula,
    TokenSum,
)
from petriflow.verify.result import TraceStep
from tests.net.ptsemantics import incidence
from tests.strategies import NetSpec

State = tuple[int, ...]


class PT:
    """The firing rule of a P/T net on count vectors (place order: ``net.places``)."""

    def __init__(self, net: Net) -> None:
        self.net = net
        self.places = [p.id for p in net.places]
        self.index = {p: i for i, p in enumerate(self.places)}
        self.transitions = [t.id for t in net.transitions]
        c = incidence(net)
        self.consume: list[dict[int, int]] = []
        self.read: list[dict[int, int]] = []
        self.inhibit: list[list[tuple[int, int]]] = []
        self.delta: list[list[tuple[int, int]]] = []
        for t in self.transitions:
            consume: dict[int, int] = {}
            read: dict[int, int] = {}
            inhibit: list[tuple[int, int]] = []
            for a in net.arcs:
                if a.transition != t or not a.is_input:
                    continue
                i = self.index[a.place]
                if a.kind is ArcKind.INHIBITOR:
                    inhibit.append((i, a.weight))
                elif a.kind is ArcKind.READ:
                    read[i] = read.get(i, 0) + a.weight
                else:
                    consume[i] = consume.get(i, 0) + a.weight
            self.consume.append(consume)
            self.read.append(read)
            self.inhibit.append(inhibit)
            self.delta.append([(self.index[p], c[p, t]) for p in self.places if c[p, t]])
        self.initial: State = tuple(net.initial_marking.count(p) for p in self.places)

    def enabled(self, j: int, m: State) -> bool:
        if any(m[i] >= w for i, w in self.inhibit[j]):
            return False
        return all(m[i] >= w for bag in (self.consume[j], self.read[j]) for i, w in bag.items())

    def enabled_ids(self, m: State) -> list[int]:
        return [j for j in range(len(self.transitions)) if self.enabled(j, m)]

    def fire(self, j: int, m: State) -> State:
        out = list(m)
        for i, d in self.delta[j]:
            out[i] += d
        return tuple(out)

    def state(self, marking: Marking) -> State:
        return tuple(marking.count(p) for p in self.places)

    def holds(self, f: StateFormula, m: State) -> bool:
        """The value of a state formula at ``m``."""
        if isinstance(f, BoolConst):
            return f.value
        if isinstance(f, Compare):
            a, b = self._int(f.left, m), self._int(f.right, m)
            return {"<=": a <= b, ">=": a >= b, "==": a == b, "<": a < b, ">": a > b,
                    "!=": a != b}[f.op]
        if isinstance(f, Deadlock):
            return not self.enabled_ids(m)
        if isinstance(f, Fireable):
            return any(self.enabled(self.transitions.index(t), m) for t in f.transitions)
        if isinstance(f, Not):
            return not self.holds(f.operand, m)
        if isinstance(f, And):
            return all(self.holds(o, m) for o in f.operands)
        assert isinstance(f, Or)
        return any(self.holds(o, m) for o in f.operands)

    def _int(self, e: TokenSum | IntConst, m: State) -> int:
        if isinstance(e, IntConst):
            return e.value
        return sum(m[self.index[p]] for p in e.places)


@dataclass
class Graph:
    """The explored part of the reachability graph."""

    pt: PT
    succ: dict[State, list[tuple[int, State]]] = field(default_factory=dict)
    depth: dict[State, int] = field(default_factory=dict)  # shortest distance from M0
    complete: bool = False

    @property
    def states(self) -> list[State]:
        return list(self.succ)

    def dead(self) -> list[State]:
        return [m for m, out in self.succ.items() if not out]

    def max_tokens(self) -> int:
        return max((max(m, default=0) for m in self.succ), default=0)

    def satisfying(self, f: StateFormula) -> list[State]:
        return [m for m in self.succ if self.pt.holds(f, m)]


def explore(net: Net, cap: int = 2000) -> Graph:
    """Breadth-first reachability graph; ``complete`` unless more than ``cap`` states."""
    pt = PT(net)
    g = Graph(pt)
    seen = {pt.initial}
    g.depth[pt.initial] = 0
    queue = deque([pt.initial])
    while queue:
        m = queue.popleft()
        out = []
        for j in pt.enabled_ids(m):
            n = pt.fire(j, m)
            out.append((j, n))
            if n not in seen:
                if len(seen) >= cap:
                    g.succ[m] = out
                    return g
                seen.add(n)
                g.depth[n] = g.depth[m] + 1
                queue.append(n)
        g.succ[m] = out
    g.complete = True
    return g


def replay_trace(net: Net, trace: tuple[TraceStep, ...] | None) -> State:
    """Replay a P/T counterexample with the kernel's token game; the state reached."""
    assert trace is not None, "a violation without a trace"
    marking = TokenGame(net).replay([s.transition for s in trace])
    return PT(net).state(marking)


def prefix_states(net: Net, trace: tuple[TraceStep, ...]) -> list[State]:
    """The states along a trace (the initial one first), fired with the oracle's rule,
    each step checked to be enabled."""
    pt = PT(net)
    m = pt.initial
    out = [m]
    for s in trace:
        j = pt.transitions.index(s.transition)
        assert pt.enabled(j, m), f"{s.transition} is not enabled at {m}"
        m = pt.fire(j, m)
        out.append(m)
    return out


def is_pumping_witness(net: Net, trace: tuple[TraceStep, ...]) -> bool:
    """Whether ``trace`` = prefix + cycle with the cycle strictly increasing the marking,
    on a net without inhibitor arcs (then repeating the cycle grows a place forever)."""
    if any(a.kind is ArcKind.INHIBITOR for a in net.arcs):
        return False
    states = prefix_states(net, trace)
    end = states[-1]
    return any(all(a >= b for a, b in zip(end, s, strict=True)) and end != s
               for s in states[:-1])


def read_arc_deadlock_spec() -> NetSpec:
    """A minimal net on which stubborn sets lose a deadlock: ``t`` consumes the token of
    ``p`` that ``u`` only reads. The run u, t, w empties p, r and q (dead); firing t first
    disables u for ever and leaves the live loop x. The stubborn set grown from t ignores
    u (a reader, not a consumer, of p), so the reduced search never fires u."""
    spec = NetSpec("read_arc_deadlock")
    for pid, initial in (("p", 1), ("r", 0), ("q", 0), ("done", 0)):
        spec.places.append((pid, BLACK, initial, None))
    for tid in ("t", "u", "x", "w"):
        spec.transitions.append((tid, None, {}, {}, None))
        spec.env[tid] = {}
    spec.arcs += [
        ("p", "t", 1, ArcKind.NORMAL, None), ("t", "r", 1, ArcKind.NORMAL, None),
        ("p", "u", 1, ArcKind.READ, None), ("u", "q", 1, ArcKind.NORMAL, None),
        ("r", "x", 1, ArcKind.NORMAL, None), ("x", "r", 1, ArcKind.NORMAL, None),
        ("q", "w", 1, ArcKind.NORMAL, None), ("r", "w", 1, ArcKind.NORMAL, None),
        ("w", "done", 1, ArcKind.NORMAL, None),
    ]
    return spec


__all__ = ["PT", "Graph", "explore", "is_pumping_witness", "prefix_states",
           "read_arc_deadlock_spec", "replay_trace"]
