"""networkx views of a net: its structure as a graph, and its bounded reachability graph.

The only kernel module that imports networkx; the kernel itself never needs it.
"""

from __future__ import annotations

from collections import deque

import networkx as nx

from petriflow.errors import StateSpaceLimitError
from petriflow.net.expr import unparse
from petriflow.net.firing import bindings, fire
from petriflow.net.marking import Marking
from petriflow.net.structure import Net

DEFAULT_STATE_CAP = 100_000


def net_graph(net: Net) -> nx.DiGraph:
    """The net as a bipartite directed graph.

    Nodes are place and transition ids with attributes ``kind`` (``"place"`` or
    ``"transition"``) and ``label``; edges carry ``weight``, ``arc`` (the arc id),
    ``arc_kind`` and, for colored arcs, ``inscription``. Parallel arcs between the
    same nodes are merged, their weights added.
    """
    g = nx.DiGraph(name=net.name)
    for p in net.places:
        g.add_node(p.id, kind="place", label=p.label, color=str(p.color),
                   tokens=net.initial_marking.count(p.id))
    for t in net.transitions:
        g.add_node(t.id, kind="transition", label=t.label,
                   guard=unparse(t.guard) if t.guard is not None else None)
    for a in net.arcs:
        if g.has_edge(a.source, a.target):
            g.edges[a.source, a.target]["weight"] += a.weight
            continue
        g.add_edge(a.source, a.target, weight=a.weight, arc=a.id, arc_kind=a.kind.value,
                   inscription=unparse(a.inscription) if a.inscription is not None else None)
    return g


def reachability_graph(
    net: Net,
    *,
    initial: Marking | None = None,
    max_states: int = DEFAULT_STATE_CAP,
    partial: bool = False,
) -> nx.MultiDiGraph:
    """All markings reachable from ``initial`` (default: the net's), breadth first.

    Nodes are :class:`Marking` values (attribute ``depth``: shortest distance from
    the start); edges go from a marking to its successor with attributes
    ``transition`` and ``binding``. The graph attribute ``complete`` says whether the
    whole state space was explored. With more than ``max_states`` markings this
    raises :class:`StateSpaceLimitError`, unless ``partial`` is true, in which case
    the explored part is returned with ``complete`` false.
    """
    start = net.initial_marking if initial is None else initial
    g = nx.MultiDiGraph(name=net.name, initial=start, complete=True)
    g.add_node(start, depth=0)
    queue = deque([start])
    while queue:
        marking = queue.popleft()
        depth = g.nodes[marking]["depth"]
        for t in net.transitions:
            for binding in bindings(net, marking, t.id):
                after = fire(net, marking, t.id, binding).after
                if after not in g:
                    if g.number_of_nodes() >= max_states:
                        if not partial:
                            raise StateSpaceLimitError(
                                f"net '{net.name}' has more than {max_states} reachable markings",
                                limit=max_states,
                                hint="raise max_states, or use the checker, which does not "
                                "need the whole state space",
                            )
                        g.graph["complete"] = False
                        return g
                    g.add_node(after, depth=depth + 1)
                    queue.append(after)
                g.add_edge(marking, after, transition=t.id, binding=binding)
    return g


def dead_markings(graph: nx.MultiDiGraph) -> list[Marking]:
    """Markings of a complete reachability graph that have no successor."""
    if not graph.graph.get("complete", False):
        raise ValueError("the reachability graph is partial: unexplored markings would look dead")
    return [m for m in graph.nodes if graph.out_degree(m) == 0]


__all__ = ["DEFAULT_STATE_CAP", "dead_markings", "net_graph", "reachability_graph"]
