"""What compiling a process produces: the net, a source map, and policy obligations.

The source map ties every place and transition back to the model element it comes
from (and that element's file and line), so that a verdict or an audit event can be
told in the model's own words. Obligations hand each policy to the checker together
with the transitions it constrains.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from petriflow.governance.participants import ParticipantKind
from petriflow.ids import PlaceId, TransitionId
from petriflow.model.durations import parse_duration
from petriflow.net.colors import RecordColor
from petriflow.net.expr import Expr
from petriflow.net.structure import Net

DATA_PLACE = PlaceId("data")
SOURCE_PLACE = PlaceId("source")
DATA_VAR = "_d"
ACTOR_VAR = "_actor"


def _plain(policy: Any) -> Any:
    """A policy as JSON data (policies are pydantic models; tests may pass plain data)."""
    dump = getattr(policy, "model_dump", None)
    return dump(mode="json") if dump is not None else policy


def output_var(field_name: str) -> str:
    """The free variable of a completion transition that carries a written field."""
    return f"_o_{field_name}"


def actor_field(task: str) -> str:
    """The case-data field that records who last completed ``task``."""
    return f"by_{task}"


class Action(enum.Enum):
    """What a transition does for its model element (its *role* in the translation)."""

    START = "start"
    END = "end"
    RUN = "run"            # an automatic task
    OFFER = "offer"        # external work offered as a work item
    COMPLETE = "complete"  # the work item completed with its outputs
    HANDOFF = "handoff"    # an agent's low-confidence answer handed to a person
    TIMEOUT = "timeout"
    MESSAGE = "message"    # a message (or signal) caught while a work item waits
    ERROR = "error"
    ROUTE = "route"        # a gateway choosing or synchronising
    COMPENSATE = "compensate"
    SKIP = "skip"          # compensation: nothing to undo for this task


@dataclass(frozen=True, slots=True)
class Origin:
    """The model element a net node comes from."""

    element: str
    kind: str                      # start, end, task, exclusive, parallel, ..., flow, data
    role: str | None = None        # for transitions: a Action value
    file: str | None = None
    line: int | None = None
    participant: ParticipantKind | None = None
    label: str | None = None       # the element's human name


@dataclass(frozen=True)
class SourceMap:
    places: Mapping[PlaceId, Origin]
    transitions: Mapping[TransitionId, Origin]

    def of(self, node: str) -> Origin:
        if node in self.transitions:
            return self.transitions[node]  # type: ignore[index]
        return self.places[node]  # type: ignore[index]

    def transitions_of(self, element: str, *roles: Action) -> tuple[TransitionId, ...]:
        """The transitions of a model element (optionally only those with ``roles``)."""
        wanted = {r.value for r in roles}
        return tuple(t for t, o in self.transitions.items()
                     if o.element == element and (not wanted or o.role in wanted))


@dataclass(frozen=True)
class Obligation:
    """A policy as the checker receives it.

    ``transitions`` names, per part of the policy, the net transitions concerned (for
    example ``{"task": (...), "requires": (...)}``); ``condition`` is the policy's
    condition lowered to an expression over the data variable ``_d``.
    """

    policy: Any
    transitions: Mapping[str, tuple[TransitionId, ...]]
    condition: Expr | None = None
    static_violation: str | None = None  # set when the model breaks it by construction
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, eq=False)
class CompiledProcess:
    """A process compiled to a colored net; the object both the checker and the engine use.

    Two compiled processes are equal when they are the same process: the same name,
    version and :attr:`fingerprint` (which covers the net and the runtime settings)."""

    name: str
    version: str
    net: Net
    source_map: SourceMap
    data_color: RecordColor
    inputs: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    spec: Any = field(repr=False, compare=False)
    final_places: tuple[PlaceId, ...] = ()
    termination: str = "explicit"   # or "implicit": see models/SEMANTICS.md, Final markings
    # the identity a definition of document format 1 was stored under (see legacy_fingerprint)
    recorded_fingerprint: str | None = field(default=None, compare=False, repr=False)
    # the specs of the processes its call activities inlined, by the path they were read
    # from (their nets are in ``net``; a stored document keeps them to rebuild without files)
    called: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # every task's spec by its id in the net, the inlined tasks of called processes
    # included (empty when the process calls none: its spec's nodes are its tasks)
    tasks: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def implicit(self) -> bool:
        """Whether the case ends when no token is left outside end places (BPMN)."""
        return self.termination == "implicit"

    @property
    def history_places(self) -> tuple[PlaceId, ...]:
        """Places that only count completions (for compensation); a final marking may mark them."""
        return tuple(p for p, o in self.source_map.places.items() if o.kind == "history")

    @cached_property
    def fingerprint(self) -> str:
        """The process's identity as the checker proved it and the engine runs it.

        It covers the net, how a case ends, and what the engine enforces beside the net
        (:meth:`runtime_settings`: policies, agents, roles, data fields, tasks' reads,
        writes, checks, candidates, thresholds, retries), so a changed limit or a widened
        agent scope is a different process, and a stored definition edited in place no
        longer matches the cases that reference it. Descriptions are left out.
        """
        if self.recorded_fingerprint is not None:
            return self.recorded_fingerprint
        text = json.dumps([self.net.fingerprint, self.termination, self.runtime_settings()],
                          sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def legacy_fingerprint(self) -> str:
        """The identity of definitions stored before it covered the runtime settings (the
        net and the termination mode only): how documents of format 1 are checked."""
        if not self.implicit:
            return self.net.fingerprint
        return hashlib.sha256(f"{self.net.fingerprint}|termination:implicit".encode()
                              ).hexdigest()

    def runtime_settings(self) -> dict[str, Any]:
        """What the engine enforces that the net does not hold, as plain data."""
        spec = self.spec
        settings: dict[str, Any] = {
            "policies": [_plain(ob.policy) for ob in self.obligations]}
        if spec is None or not hasattr(spec, "nodes"):
            return settings
        # (names and descriptions say nothing the engine does; timeouts, catches and data
        # defaults are in the net already; a reminder is compared in seconds)
        quiet = {"name", "description", "timeout", "catch"}
        settings["agents"] = [a.model_dump(mode="json", exclude={"description"})
                              for a in spec.agents]
        settings["roles"] = list(spec.roles)
        settings["inputs"] = list(self.inputs)
        tasks = {}
        for n, node in (self.tasks or spec.nodes).items():
            if getattr(node, "type", None) == "task":
                task = node.model_dump(mode="json", by_alias=True, exclude=quiet)
                if node.remind is not None:
                    task["remind"] = parse_duration(node.remind)
                tasks[n] = task
        settings["tasks"] = tasks
        return settings

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompiledProcess):
            return NotImplemented
        return (self.fingerprint, self.name, self.version) == (
            other.fingerprint, other.name, other.version)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def start_transition(self) -> TransitionId:
        starts = [t for t, o in self.source_map.transitions.items() if o.role == "start"]
        return starts[0]


__all__ = [
    "ACTOR_VAR",
    "DATA_PLACE",
    "DATA_VAR",
    "SOURCE_PLACE",
    "Action",
    "CompiledProcess",
    "Obligation",
    "Origin",
    "SourceMap",
    "actor_field",
    "output_var",
]
