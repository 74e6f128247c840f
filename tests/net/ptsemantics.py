"""An independent reading of the P/T firing rule, used as an oracle by the tests."""

from __future__ import annotations

import collections

from petriflow.net import ArcKind, Marking, Net


def incidence(net: Net) -> dict[tuple[str, str], int]:
    """C[p, t]: tokens that one firing of t adds to p (read and inhibitor arcs: none)."""
    c: dict[tuple[str, str], int] = collections.defaultdict(int)
    for a in net.arcs:
        if a.kind is ArcKind.NORMAL:
            c[a.place, a.transition] += -a.weight if a.is_input else a.weight
    return c


def pt_enabled(net: Net, m: Marking, t: str) -> bool:
    """Enough tokens for the normal arcs and, separately, for the read arcs; fewer than the
    weight of every inhibitor arc."""
    consume: dict[str, int] = collections.defaultdict(int)
    read: dict[str, int] = collections.defaultdict(int)
    for a in net.arcs:
        if a.transition != t or not a.is_input:
            continue
        if a.kind is ArcKind.INHIBITOR:
            if m.count(a.place) >= a.weight:
                return False
        else:
            (consume if a.kind is ArcKind.NORMAL else read)[a.place] += a.weight
    return all(m.count(p) >= n for bag in (consume, read) for p, n in bag.items())


def equation(net: Net, m0: Marking, parikh: collections.Counter[str]) -> dict[str, int]:
    """M0 + C·x, as token counts per place."""
    c = incidence(net)
    return {p.id: m0.count(p.id) + sum(c[p.id, t] * n for t, n in parikh.items())
            for p in net.places}


def counts(net: Net, m: Marking) -> dict[str, int]:
    return {p.id: m.count(p.id) for p in net.places}
