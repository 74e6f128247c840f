"""Build a process in Python, with handles instead of strings.

Each method returns a handle for the node it adds, and ``after=`` takes handles, so a
misspelt reference is a Python ``NameError`` rather than a model error. The builder
produces the same :class:`~petriflow.model.spec.ProcessSpec` a YAML file would, and
:meth:`Process.compile` goes through the same validation and compiler::

    p = Process("expense")
    submit = p.task("submit", role=Role("employee"))
    approve = p.task("approve", role=Role("manager"), after=submit)
    p.require(SegregationOfDuties(submit, approve))
    compiled = p.compile()

A process without a start event gets one (``start``) leading to every node nothing
leads to; nodes without an outgoing flow lead to an end event (``end``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from petriflow.governance.participants import ParticipantKind, Role
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import LoadedProcess, SourceLines, spec_from_data


class NodeHandle(str):
    """The id of a node added by the builder; pass it wherever a node is expected."""

    __slots__ = ()


class FieldHandle(str):
    """The name of a case-data field added by the builder."""

    __slots__ = ()


After = NodeHandle | Iterable[NodeHandle] | None


class Process:
    """A mutable process under construction; :meth:`compile` freezes it into a net."""

    def __init__(self, name: str, *, version: str = "1", description: str = "") -> None:
        self.name = name
        self.version = version
        self.description = description
        self._data: dict[str, dict[str, Any]] = {}
        self._roles: list[str] = []
        self._agents: list[dict[str, Any]] = []
        self._nodes: dict[str, dict[str, Any]] = {}
        self._flows: list[dict[str, Any]] = []
        self._policies: list[Any] = []

    # -- declarations --------------------------------------------------------------------

    def field(self, name: str, type: str, *, input: bool = False, **options: Any) -> FieldHandle:
        """Declare a case-data field (``type``: int, decimal, float, bool, str, enum, date,
        datetime or actor; options: values, min, max, default, description)."""
        self._data[name] = {"type": type, "input": input, **options}
        return FieldHandle(name)

    def role(self, role: Role | str) -> Role:
        name = str(role)
        if name not in self._roles:
            self._roles.append(name)
        return role if isinstance(role, Role) else Role(name)

    def agent(self, agent_id: str, **options: Any) -> str:
        """Register an agent (options: version, vendor, model, tasks, threshold)."""
        self._agents.append({"id": agent_id, **options})
        return agent_id

    def _node(self, node_id: str, data: dict[str, Any], after: After) -> NodeHandle:
        if node_id in self._nodes:
            raise ValueError(f"the node id '{node_id}' is used twice")
        self._nodes[node_id] = data
        for source in self._sources(after):
            self.flow(source, node_id)
        return NodeHandle(node_id)

    @staticmethod
    def _sources(after: After) -> list[str]:
        if after is None:
            return []
        if isinstance(after, str):
            return [after]
        return list(after)

    def start(self, node_id: str = "start", *, name: str | None = None) -> NodeHandle:
        return self._node(node_id, {"type": "start", "name": name}, None)

    def end(self, node_id: str = "end", *, after: After = None, compensate: bool = False,
            name: str | None = None) -> NodeHandle:
        return self._node(node_id, {"type": "end", "compensate": compensate, "name": name},
                          after)

    def task(self, node_id: str, *, kind: ParticipantKind | str | None = None,
             role: Role | str | None = None, agent: str | None = None, after: After = None,
             **options: Any) -> NodeHandle:
        """Add a task. The kind follows from ``role`` (human), ``agent`` (agent) or ``set``
        (auto) unless given; other options are those of the YAML language (reads, writes,
        set, check, candidate, confidence, threshold, handoff, retry, timeout, on_error,
        compensation, catch, name)."""
        if kind is None:
            kind = ("human" if role is not None else "agent" if agent is not None
                    else "auto" if options.get("set") else None)
            if kind is None:
                raise ValueError(f"task '{node_id}': say its kind (human, agent, bot, api, "
                                 "receive or auto)")
        data: dict[str, Any] = {"type": "task", "kind": ParticipantKind(kind).value}
        if role is not None:
            data["role"] = str(self.role(role))
        if agent is not None:
            data["agent"] = agent
        data.update(options)
        return self._node(node_id, data, after)

    def exclusive(self, node_id: str, *, after: After = None) -> NodeHandle:
        return self._node(node_id, {"type": "exclusive"}, after)

    def parallel(self, node_id: str, *, after: After = None) -> NodeHandle:
        return self._node(node_id, {"type": "parallel"}, after)

    def inclusive(self, node_id: str, *, after: After = None,
                  pairs: str | None = None) -> NodeHandle:
        return self._node(node_id, {"type": "inclusive", "pairs": pairs}, after)

    def event(self, node_id: str, *, after: After = None) -> NodeHandle:
        """An event-based gateway: the receive tasks and timers after it wait together,
        and the first to happen wins."""
        return self._node(node_id, {"type": "event"}, after)

    def timer(self, node_id: str, after_time: str | float, *, after: After = None) -> NodeHandle:
        """A wait of ``after_time`` (ISO 8601 duration or seconds)."""
        return self._node(node_id, {"type": "timer", "after": after_time}, after)

    def call(self, node_id: str, process_file: str, *, after: After = None) -> NodeHandle:
        return self._node(node_id, {"type": "call", "process": process_file}, after)

    def flow(self, source: str, target: str, *, when: str | None = None,
             default: bool = False) -> None:
        self._flows.append({"from": str(source), "to": str(target), "when": when,
                            "default": default})

    def require(self, *policies: Any) -> None:
        """Add policies (``SegregationOfDuties(a, b)``, ``Precedence(pay, after=screen)``...)."""
        self._policies.extend(policies)

    # -- freezing ------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """The process as the plain data a YAML file would hold."""
        nodes = {k: {x: y for x, y in v.items() if y is not None} for k, v in self._nodes.items()}
        flows = list(self._flows)
        if not any(n["type"] == "start" for n in nodes.values()):
            targets = {f["to"] for f in flows}
            side = {v.get(k) for v in nodes.values() for k in ("handoff", "on_error")}
            side |= {v["timeout"]["to"] for v in nodes.values()
                     if isinstance(v.get("timeout"), dict)}
            side |= {v.get("compensation") for v in nodes.values()}
            side |= {str(c["to"]) for v in nodes.values() for c in v.get("catch", ())}
            first = [n for n in nodes if n not in targets and n not in side]
            nodes = {"start": {"type": "start"}, **nodes}
            flows = [{"from": "start", "to": n} for n in first] + flows
        if not any(n["type"] == "end" for n in nodes.values()):
            sources = {f["from"] for f in flows}
            compensators = {v.get("compensation") for v in nodes.values()}
            last = [n for n, v in nodes.items() if n not in sources and v["type"] != "start"
                    and n not in compensators]
            nodes["end"] = {"type": "end"}
            flows += [{"from": n, "to": "end"} for n in last]
        data = _plain({
            "process": self.name, "version": self.version, "description": self.description,
            "data": self._data, "roles": self._roles, "agents": self._agents, "nodes": nodes,
            "flows": [{k: v for k, v in f.items() if v not in (None, False)} for f in flows],
        })
        if self._policies:  # (a file without them would be a process without its rules)
            data["policies"] = [p.model_dump(mode="json") for p in self._policies]
        return data

    def compile(self) -> CompiledProcess:
        """Validate and compile; raises one ModelError listing every problem."""
        from petriflow.model.compile import compile_loaded

        src = SourceLines(f"<process {self.name}>")
        spec = spec_from_data(self.to_data(), src)
        loaded = LoadedProcess(spec, src, None, list(self._policies),
                               [src] * len(self._policies), [()] * len(self._policies))
        return compile_loaded(loaded)


def _plain(value: Any) -> Any:
    """Handles become plain strings, so the data can be written as YAML or JSON."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


__all__ = ["FieldHandle", "NodeHandle", "Process"]
