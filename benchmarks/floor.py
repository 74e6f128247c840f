"""The pure-Python floor: a plain hand-written token game, the yardstick for petriflow.

This is what a careful engineer writes in an afternoon, with no library behind it:

* **P/T** (:class:`PTNet`, :class:`PTGame`): the PNML is parsed here with
  :mod:`defusedxml` (the same expat parser petriflow uses), places and transitions become
  integer indexes, the marking is a list of counts, and the set of enabled transitions is
  kept incrementally in a list with swap-remove (plus a position array), so a uniform
  random choice is one index. After a firing only the transitions that read a place whose
  count changed are re-checked. The choice rule, the initial order of the enabled list
  (declaration order), the order of the re-checks (sorted) and the swap-remove are the
  same as in ``petriflow.net.game.TokenGame``, so with the same seed both fire exactly the
  same sequence; the benchmark checks that the final markings agree.
* **Colored, case-keyed** (:class:`CaseNet`, :class:`CaseGame`): every arc carries the
  case variable ``c`` (the case token itself), so a place holds ``{case id: token}``, a
  transition's bindings are the case ids present in all its input places whose token
  passes its guard (a Python callable), and those are kept incrementally per transition
  (again a swap-remove list) so a join costs O(inputs), never a cross product. A random
  step uses petriflow's rule: a transition uniformly among those with a binding, then a
  binding uniformly among its own.

Command line (a whole-process peer of ``petriflow net simulate``)::

    python benchmarks/floor.py NET.pnml --steps 500000 --seed 1 [--format text|json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# ---------------------------------------------------------------------------------------
# P/T nets
# ---------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def _label_text(e: Any, name: str) -> str | None:
    for c in e:
        if _local(c.tag) == name:
            for t in c:
                if _local(t.tag) == "text":
                    return t.text.strip() if t.text else None
    return None


class PTNet:
    """A P/T net with integer indexes: pre/post arcs per transition, initial counts."""

    def __init__(self, name: str, places: list[str], initial: list[int],
                 transitions: list[str],
                 pre: list[list[tuple[int, int]]], post: list[list[tuple[int, int]]]) -> None:
        self.name = name
        self.places = places
        self.initial = initial
        self.transitions = transitions
        self.pre = pre      # per transition: (place index, weight)
        self.post = post

    @property
    def arcs(self) -> int:
        return sum(len(a) for a in self.pre) + sum(len(a) for a in self.post)


def parse_pnml(data: bytes) -> PTNet:
    """Read a P/T net from PNML text (pages at any depth, reference nodes, weights)."""
    try:
        from defusedxml.ElementTree import fromstring
    except ImportError:  # pragma: no cover - defusedxml is a petriflow dependency
        from xml.etree.ElementTree import fromstring
    root = fromstring(data)
    net_el = next(e for e in root.iter() if _local(e.tag) == "net")
    name = _label_text(net_el, "name") or net_el.get("id") or "net"
    pindex: dict[str, int] = {}
    tindex: dict[str, int] = {}
    places: list[str] = []
    initial: list[int] = []
    transitions: list[str] = []
    refs: dict[str, str] = {}
    arcs: list[Any] = []
    stack = [net_el]
    while stack:  # same traversal as petriflow's reader: pages after their container
        container = stack.pop()
        for e in container:
            tag = _local(e.tag)
            if tag == "page":
                stack.append(e)
            elif tag == "place":
                pid = e.get("id")
                pindex[pid] = len(places)
                places.append(pid)
                text = _label_text(e, "initialMarking")
                initial.append(int(text) if text else 0)
            elif tag == "transition":
                tid = e.get("id")
                tindex[tid] = len(transitions)
                transitions.append(tid)
            elif tag == "arc":
                arcs.append(e)
            elif tag in ("referencePlace", "referenceTransition"):
                refs[e.get("id")] = e.get("ref")
    pre: list[dict[int, int]] = [{} for _ in transitions]
    post: list[dict[int, int]] = [{} for _ in transitions]
    for e in arcs:
        source, target = e.get("source"), e.get("target")
        while source in refs:
            source = refs[source]
        while target in refs:
            target = refs[target]
        for c in e:
            if _local(c.tag) == "type" and (c.get("value") or "normal") != "normal":
                raise ValueError(f"arc {e.get('id')}: only normal arcs are supported")
        text = _label_text(e, "inscription")
        w = int(text) if text else 1
        if source in pindex:
            d, p, t = pre, pindex[source], tindex[target]
        else:
            d, p, t = post, pindex[target], tindex[source]
        d[t][p] = d[t].get(p, 0) + w
    return PTNet(name, places, initial, transitions,
                 [list(d.items()) for d in pre], [list(d.items()) for d in post])


class PTGame:
    """List marking, incrementally kept enabled list with swap-remove, uniform choice."""

    def __init__(self, net: PTNet) -> None:
        self.net = net
        n_t = len(net.transitions)
        self.counts = list(net.initial)
        self.need = [tuple(arcs) for arcs in net.pre]
        deltas: list[tuple[tuple[int, int], ...]] = []
        readers: list[list[int]] = [[] for _ in net.places]
        for t, arcs in enumerate(net.pre):
            for p, _ in arcs:
                readers[p].append(t)
        for t in range(n_t):
            d: dict[int, int] = {}
            for p, w in net.pre[t]:
                d[p] = d.get(p, 0) - w
            for p, w in net.post[t]:
                d[p] = d.get(p, 0) + w
            deltas.append(tuple((p, x) for p, x in d.items() if x))
        self.delta = deltas
        self.affected = [tuple(sorted({u for p, _ in deltas[t] for u in readers[p]}))
                         for t in range(n_t)]
        self.enabled: list[int] = []
        self.position = [-1] * n_t
        counts = self.counts
        for t in range(n_t):
            if all(counts[p] >= w for p, w in self.need[t]):
                self.position[t] = len(self.enabled)
                self.enabled.append(t)

    def run(self, steps: int, rng: random.Random) -> tuple[int, bool]:
        """Fire up to ``steps`` uniformly chosen enabled transitions: (fired, dead)."""
        counts, enabled, position = self.counts, self.enabled, self.position
        need, delta, affected = self.need, self.delta, self.affected
        rand = rng.random
        fired = 0
        while fired < steps:
            n = len(enabled)
            if not n:
                break
            t = enabled[int(rand() * n)]
            for p, d in delta[t]:
                counts[p] += d
            fired += 1
            for u in affected[t]:
                ok = True
                for p, w in need[u]:
                    if counts[p] < w:
                        ok = False
                        break
                pos = position[u]
                if ok:
                    if pos < 0:
                        position[u] = len(enabled)
                        enabled.append(u)
                elif pos >= 0:
                    last = enabled.pop()
                    if last != u:
                        enabled[pos] = last
                        position[last] = pos
                    position[u] = -1
        return fired, not enabled

    def marking(self) -> dict[str, int]:
        """Non-empty places and their counts, in declaration order."""
        return {p: n for p, n in zip(self.net.places, self.counts, strict=True) if n}


# ---------------------------------------------------------------------------------------
# Colored, case-keyed nets
# ---------------------------------------------------------------------------------------

Guard = Callable[[Any], bool]


class CaseNet:
    """A net whose arcs all carry the case token ``c``: inputs, outputs and a guard on c."""

    def __init__(self) -> None:
        self.places: list[str] = []
        self.pindex: dict[str, int] = {}
        self.transitions: list[str] = []
        self.tindex: dict[str, int] = {}
        self.inputs: list[tuple[int, ...]] = []
        self.outputs: list[tuple[int, ...]] = []
        self.guards: list[Guard | None] = []

    def place(self, name: str) -> int:
        self.pindex[name] = len(self.places)
        self.places.append(name)
        return self.pindex[name]

    def transition(self, name: str, inputs: Iterable[str], outputs: Iterable[str],
                   guard: Guard | None = None) -> int:
        self.tindex[name] = len(self.transitions)
        self.transitions.append(name)
        self.inputs.append(tuple(self.pindex[p] for p in inputs))
        self.outputs.append(tuple(self.pindex[p] for p in outputs))
        self.guards.append(guard)
        return self.tindex[name]


class CaseGame:
    """Tokens keyed by case id; per-transition ready lists; petriflow's random rule.

    ``key`` extracts the case id from a token (default ``token["id"]``). The game is
    reusable: :meth:`put` adds a case token to a place at any time.
    """

    def __init__(self, net: CaseNet, key: Callable[[Any], Any] | None = None) -> None:
        self.net = net
        self.key = key or (lambda token: token["id"])
        self.tokens: list[dict[Any, Any]] = [{} for _ in net.places]
        self.consumers: list[tuple[int, ...]] = [
            tuple(t for t, ins in enumerate(net.inputs) if p in ins)
            for p in range(len(net.places))
        ]
        n_t = len(net.transitions)
        self.ready: list[list[Any]] = [[] for _ in range(n_t)]       # case ids per transition
        self.ready_pos: list[dict[Any, int]] = [{} for _ in range(n_t)]
        self.enabled: list[int] = []                                 # transitions with a binding
        self.position = [-1] * n_t

    def put(self, place: str | int, token: Any) -> None:
        p = place if isinstance(place, int) else self.net.pindex[place]
        self._add(p, self.key(token), token)

    def _add(self, p: int, cid: Any, token: Any) -> None:
        tokens = self.tokens
        tokens[p][cid] = token
        net = self.net
        for u in self.consumers[p]:
            for q in net.inputs[u]:
                if cid not in tokens[q]:
                    break
            else:
                guard = net.guards[u]
                if guard is None or guard(token):
                    ready = self.ready[u]
                    self.ready_pos[u][cid] = len(ready)
                    ready.append(cid)
                    if self.position[u] < 0:
                        self.position[u] = len(self.enabled)
                        self.enabled.append(u)

    def _remove(self, p: int, cid: Any) -> Any:
        token = self.tokens[p].pop(cid)
        for u in self.consumers[p]:
            rpos = self.ready_pos[u]
            i = rpos.pop(cid, -1)
            if i < 0:
                continue
            ready = self.ready[u]
            last = ready.pop()
            if last != cid:
                ready[i] = last
                rpos[last] = i
            if not ready:
                enabled, position = self.enabled, self.position
                pos = position[u]
                moved = enabled.pop()
                if moved != u:
                    enabled[pos] = moved
                    position[moved] = pos
                position[u] = -1
        return token

    def fire(self, t: int, cid: Any) -> None:
        """Fire transition ``t`` for case ``cid`` (it must be ready)."""
        token = None
        for p in self.net.inputs[t]:
            token = self._remove(p, cid)
        for p in self.net.outputs[t]:
            self._add(p, cid, token)

    def run(self, steps: int, rng: random.Random) -> tuple[int, bool]:
        """Fire up to ``steps`` random steps: (fired, dead). Same as :meth:`fire`, inlined."""
        enabled, position = self.enabled, self.position
        ready, ready_pos = self.ready, self.ready_pos
        tokens, consumers = self.tokens, self.consumers
        inputs, outputs, guards = self.net.inputs, self.net.outputs, self.net.guards
        rand = rng.random
        fired = 0
        while fired < steps and enabled:
            t = enabled[int(rand() * len(enabled))]
            cases = ready[t]
            cid = cases[int(rand() * len(cases))]
            token = None
            for p in inputs[t]:
                token = tokens[p].pop(cid)
                for u in consumers[p]:
                    rpos = ready_pos[u]
                    i = rpos.pop(cid, -1)
                    if i < 0:
                        continue
                    r = ready[u]
                    last = r.pop()
                    if last != cid:
                        r[i] = last
                        rpos[last] = i
                    if not r:
                        pos = position[u]
                        moved = enabled.pop()
                        if moved != u:
                            enabled[pos] = moved
                            position[moved] = pos
                        position[u] = -1
            for p in outputs[t]:
                tokens[p][cid] = token
                for u in consumers[p]:
                    for q in inputs[u]:
                        if cid not in tokens[q]:
                            break
                    else:
                        guard = guards[u]
                        if guard is None or guard(token):
                            r = ready[u]
                            ready_pos[u][cid] = len(r)
                            r.append(cid)
                            if position[u] < 0:
                                position[u] = len(enabled)
                                enabled.append(u)
            fired += 1
        return fired, not enabled


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The hand-written floor: simulate a P/T PNML net.")
    ap.add_argument("path")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--format", dest="fmt", choices=("text", "json"), default="text")
    args = ap.parse_args(argv)
    with open(args.path, "rb") as f:
        net = parse_pnml(f.read())
    game = PTGame(net)
    fired, dead = game.run(args.steps, random.Random(args.seed))
    marking = game.marking()
    if args.fmt == "json":
        print(json.dumps({"fired": fired, "dead": dead, "marking": marking}))
        return 0
    out = [f"fired {fired} of at most {args.steps} transitions",
           "stopped in a dead marking: no transition is enabled" if dead
           else "the net can still fire",
           "final marking (non-empty places):"]
    out += [f"  {p}: {n}" for p, n in marking.items()]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
