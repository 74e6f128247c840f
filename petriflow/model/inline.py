"""The process as a graph of nodes and flows, with call activities inlined.

A call activity ``c`` that calls process ``P`` is replaced by a copy of ``P``'s nodes,
renamed ``c__<node>``: ``P``'s start event becomes a pass-through that the call's
incoming flows enter, and each of ``P``'s end events becomes a pass-through that leaves
along the call's outgoing flows. ``P`` shares the caller's case data, so every field
``P`` declares must exist in the caller with the same type. Calls that loop back to a
process already being inlined are refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petriflow.errors import ModelError, Problem
from petriflow.model.compiled import actor_field
from petriflow.model.loader import LoadedProcess
from petriflow.model.lowering import substitute
from petriflow.model.spec import AgentSpec, CallSpec, EndSpec, GatewaySpec, StartSpec, TaskSpec
from petriflow.net.colors import ColorSet
from petriflow.net.expr import Expr, Var, parse, subexpressions, unparse

SEPARATOR = "__"


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    when: str | None = None
    default: bool = False
    file: str | None = None
    line: int | None = None

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass
class Graph:
    nodes: dict[str, Any] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    where: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    agents: list[AgentSpec] = field(default_factory=list)
    side_entries: set[str] = field(default_factory=set)

    def _index(self) -> tuple[dict[str, list[Flow]], dict[str, list[Flow]]]:
        """Flows by target and by source, rebuilt when the flow list changed (flows are
        frozen, and the list is only appended to or replaced)."""
        key = (id(self.flows), len(self.flows))
        cached = self.__dict__.get("_by")
        if cached is None or cached[0] != key:
            into: dict[str, list[Flow]] = {}
            out: dict[str, list[Flow]] = {}
            for f in self.flows:
                into.setdefault(f.target, []).append(f)
                out.setdefault(f.source, []).append(f)
            cached = self.__dict__["_by"] = (key, into, out)
        return cached[1], cached[2]

    def incoming(self, nid: str) -> list[Flow]:
        return list(self._index()[0].get(nid, ()))

    def outgoing(self, nid: str) -> list[Flow]:
        return list(self._index()[1].get(nid, ()))

    def reaching(self, start: str, target: str, stop: set[str]) -> list[Flow]:
        """Flows into ``target`` on some path from ``start`` that avoids ``stop``."""
        seen = {start}
        queue = deque([start])
        hits: list[Flow] = []
        while queue:
            for f in self.outgoing(queue.popleft()):
                if f.target == target:
                    if f not in hits:
                        hits.append(f)
                elif f.target not in seen and f.target not in stop:
                    seen.add(f.target)
                    queue.append(f.target)
        return hits


def _side_targets(node: TaskSpec) -> list[str]:
    return [x for x in (node.handoff, node.on_error, node.timeout.to if node.timeout else None,
                        *(c.to for c in node.catch)) if x]


def flatten(loaded: LoadedProcess, colors: dict[str, ColorSet],
            load: Callable[[Path], LoadedProcess],
            _stack: tuple[Path, ...] = ()) -> Graph:
    """The graph of ``loaded`` with every call activity replaced by the process it calls."""
    spec, src = loaded.spec, loaded.source
    g = Graph(agents=list(spec.agents))
    for nid, node in spec.nodes.items():
        g.nodes[nid] = node
        g.where[nid] = (src.file, src.line("nodes", nid))
    for i, f in enumerate(spec.flows):
        g.flows.append(Flow(f.source, f.target, f.when, f.default, src.file,
                            src.line("flows", i)))
    here = loaded.path.resolve() if loaded.path else None
    stack = (*_stack, here) if here else _stack
    problems: list[Problem] = []
    for nid, node in list(g.nodes.items()):
        if isinstance(node, CallSpec):
            try:
                _inline(g, nid, node, loaded, colors, load, stack)
            except ModelError as exc:
                problems.extend(exc.problems)
    ModelError.collect(problems)
    for node in g.nodes.values():
        if isinstance(node, TaskSpec):
            g.side_entries.update(_side_targets(node))
    return g


def _inline(g: Graph, nid: str, node: CallSpec, caller: LoadedProcess,
            colors: dict[str, ColorSet], load: Callable[[Path], LoadedProcess],
            stack: tuple[Path, ...]) -> None:
    from petriflow.model.validate import validate

    file, line = g.where[nid]
    where = {"file": file, "line": line, "element": nid}
    base = caller.path.parent if caller.path else Path.cwd()
    path = (base / node.process).resolve()
    if path in stack:
        chain = " -> ".join(p.name for p in (*stack, path))
        raise ModelError(Problem(f"call activity '{nid}' calls back into a process it is part "
                                 f"of ({chain})", **where, hint="call activities cannot recurse"))
    sub = load(path)
    sub_colors = validate(sub)
    problems = []
    if sub.spec.scopes or sub.spec.broadcasts:  # their ids would need renaming too
        problems.append(Problem(f"call activity '{nid}': the called process has scopes or "
                                "broadcasts, which a call activity does not inline", **where))
    if sub.spec.termination == "implicit":  # its ends would each leave the call once
        problems.append(Problem(f"call activity '{nid}': the called process has implicit "
                                "termination; a call activity waits for one end of it",
                                **where, hint="join its branches before one end event"))
    for name in sub.spec.data:
        if name not in colors:
            problems.append(Problem(f"call activity '{nid}': the called process uses field "
                                    f"'{name}', which this process does not declare", **where))
        elif colors[name] != sub_colors[name]:
            problems.append(Problem(f"call activity '{nid}': field '{name}' is {sub_colors[name]} "
                                    f"in the called process but {colors[name]} here", **where))
    ModelError.collect(problems)
    inner = flatten(sub, sub_colors, load, stack)
    rename = {old: f"{nid}{SEPARATOR}{old}" for old in inner.nodes}
    clash = [n for n in rename.values() if n in g.nodes]
    if clash:
        raise ModelError(Problem(f"call activity '{nid}': inlined node ids clash with "
                                 f"{', '.join(clash)}", **where))
    del g.nodes[nid]
    outgoing = [f for f in g.flows if f.source == nid]
    g.flows = [f for f in g.flows if f.source != nid]
    g.flows = [Flow(f.source, rename[_start(inner)], f.when, f.default, f.file, f.line)
               if f.target == nid else f for f in g.flows]
    # who did a called task is recorded under its inlined id: its expressions say so too
    actors = {actor_field(old): Var(actor_field(rename[old]))
              for old, n in inner.nodes.items() if isinstance(n, TaskSpec)}
    for old, sub_node in inner.nodes.items():
        new = rename[old]
        if isinstance(sub_node, StartSpec | EndSpec):
            # a start splits into all its flows; an end reached by several flows merges
            # them: under explicit termination (the only one a called process may have)
            # one token reaches the ends of a case, whichever flow it takes (a join would
            # wait for all of them)
            merge = isinstance(sub_node, EndSpec) and len(inner.incoming(old)) > 1
            kind = "exclusive" if merge else "parallel"
            sub_node = GatewaySpec(type=kind, name=sub_node.name or old)
            if isinstance(inner.nodes[old], EndSpec):
                g.flows += [Flow(new, f.target, None, False, f.file, f.line) for f in outgoing]
        elif isinstance(sub_node, TaskSpec):
            sub_node = sub_node.model_copy(update={
                key: rename[getattr(sub_node, key)] for key in ("handoff", "on_error",
                                                                "compensation")
                if getattr(sub_node, key)
            } | {
                "candidate": _renamed(sub_node.candidate, actors),
                "check": _renamed(sub_node.check, actors),
                "set": {k: _renamed(v, actors) for k, v in sub_node.set.items()},
            })
            if sub_node.timeout is not None:
                moved = sub_node.timeout.model_copy(update={"to": rename[sub_node.timeout.to]})
                sub_node = sub_node.model_copy(update={"timeout": moved})
            if sub_node.catch:  # message names are prefixed too: one name, one place
                sub_node = sub_node.model_copy(update={"catch": tuple(
                    c.model_copy(update={"to": rename[c.to], "message": f"{nid}{SEPARATOR}"
                                         f"{c.message}"}) for c in sub_node.catch)})
        g.nodes[new] = sub_node
        g.where[new] = inner.where[old]
    g.flows += [Flow(rename[f.source], rename[f.target], _renamed(f.when, actors), f.default,
                     f.file, f.line) for f in inner.flows]
    known = {a.id for a in g.agents}
    g.agents += [a for a in inner.agents if a.id not in known]


def _renamed(text: Any, names: dict[str, Expr]) -> Any:
    """An expression of a called process with the variables in ``names`` replaced (its
    own text when it names none of them)."""
    if not isinstance(text, str) or not names:
        return text
    expr = parse(text)
    if not any(isinstance(e, Var) and e.name in names for e in subexpressions(expr)):
        return text
    return unparse(substitute(expr, names))


def _start(g: Graph) -> str:
    return next(n for n, s in g.nodes.items() if isinstance(s, StartSpec))


__all__ = ["SEPARATOR", "Flow", "Graph", "flatten"]
