"""Layered drawings of directed graphs: where each process element or net node goes.

Uses grandalf's Sugiyama layout (Sugiyama, Tagawa and Toda, "Methods for visual
understanding of hierarchical system structures", 1981: layering, crossing reduction,
coordinate assignment), a pure-Python library, so a plain ``pip install`` draws
pictures without Graphviz. Flows run left to right; disconnected parts are stacked.
Edges are drawn as polylines from the source's right side to the target's left side
(or between top and bottom for edges that go back), bending at the midpoint.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

GAP = 60.0        # between layers and between stacked components
MARGIN = 30.0
MAX_NODES = 2000  # beyond this a drawing is unreadable and the layout slow


class LayoutTooLarge(ValueError):
    """The graph has more nodes than a readable drawing can hold."""


@dataclass(frozen=True)
class Layout:
    """Top-left corners and sizes of nodes, and the polyline of each edge."""

    boxes: Mapping[Hashable, tuple[float, float, float, float]]   # x, y, width, height
    edges: Sequence[tuple[Hashable, Hashable, tuple[tuple[float, float], ...]]]
    width: float
    height: float

    def center(self, node: Hashable) -> tuple[float, float]:
        x, y, w, h = self.boxes[node]
        return x + w / 2, y + h / 2


class _Vertex(Vertex):
    """A vertex hashed by its index, so grandalf's hashed containers iterate in the same
    order in every run (object hashes follow memory addresses, text hashes a seed)."""

    def __hash__(self) -> int:
        return int(self.data)


class _Edge(Edge):
    """An edge hashed by its creation number (grandalf collects edges in a ``set``)."""

    def __init__(self, number: int, a: Vertex, b: Vertex) -> None:
        super().__init__(a, b)
        self.number = number

    def __hash__(self) -> int:
        return self.number


class _View:
    __slots__ = ("h", "w", "xy")

    def __init__(self, w: float, h: float) -> None:
        # grandalf lays out top to bottom; we turn the drawing, so swap the sizes
        self.w, self.h = h, w
        self.xy = (0.0, 0.0)


def layout(sizes: Mapping[Hashable, tuple[float, float]],
           edges: Sequence[tuple[Hashable, Hashable]]) -> Layout:
    """Lay out nodes (``sizes``: width, height) and directed ``edges`` left to right."""
    if len(sizes) > MAX_NODES:
        raise LayoutTooLarge(f"{len(sizes)} nodes is more than a readable drawing holds "
                             f"({MAX_NODES})")
    names = list(sizes)
    vertices = {n: _Vertex(i) for i, n in enumerate(names)}
    for n, v in vertices.items():
        v.view = _View(*sizes[n])
    kept = [(a, b) for a, b in edges if a in vertices and b in vertices and a != b]
    graph = Graph(list(vertices.values()),
                  [_Edge(i, vertices[a], vertices[b]) for i, (a, b) in enumerate(kept)])
    boxes: dict[Hashable, tuple[float, float, float, float]] = {}
    top = MARGIN
    width = 0.0
    for component in graph.C:
        verts = sorted(component.sV, key=lambda v: v.data)
        if len(verts) == 1:
            name = names[verts[0].data]
            w, h = sizes[name]
            boxes[name] = (MARGIN, top, w, h)
            top += h + GAP
            width = max(width, MARGIN + w)
            continue
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 30, GAP
        sug.init_all()
        sug.draw()
        # grandalf: y grows with the layer (flow direction), x across; turn it
        placed = {names[v.data]: (v.view.xy[1], v.view.xy[0]) for v in verts}
        min_x = min(p[0] - sizes[n][0] / 2 for n, p in placed.items())
        min_y = min(p[1] - sizes[n][1] / 2 for n, p in placed.items())
        bottom = top
        for n, (cx, cy) in placed.items():
            w, h = sizes[n]
            x = MARGIN + cx - w / 2 - min_x
            y = top + cy - h / 2 - min_y
            boxes[n] = (x, y, w, h)
            bottom = max(bottom, y + h)
            width = max(width, x + w)
        top = bottom + GAP
    routed = tuple((a, b, _route(boxes[a], boxes[b])) for a, b in edges
                   if a in boxes and b in boxes)
    return Layout(boxes, routed, width + MARGIN, max(top - GAP + MARGIN, 2 * MARGIN))


def _route(src: tuple[float, float, float, float], dst: tuple[float, float, float, float]
           ) -> tuple[tuple[float, float], ...]:
    sx, sy, sw, sh = src
    dx, dy, dw, dh = dst
    if dx >= sx + sw:  # forward: right side to left side, one vertical segment between
        start, end = (sx + sw, sy + sh / 2), (dx, dy + dh / 2)
        mid = (start[0] + end[0]) / 2
        return (start, (mid, start[1]), (mid, end[1]), end)
    # backward or overlapping: leave from the bottom, come in from the bottom
    start, end = (sx + sw / 2, sy + sh), (dx + dw / 2, dy + dh)
    low = max(start[1], end[1]) + 25
    return (start, (start[0], low), (end[0], low), end)


__all__ = ["MAX_NODES", "Layout", "LayoutTooLarge", "layout"]
