"""The process language as a pydantic schema: what a YAML/JSON process file may say.

A process has case data (typed fields), roles, registered agents, nodes (start and
end events, tasks, gateways, call activities), flows between nodes, and policies.
The schema checks shapes and types of single values; :mod:`petriflow.model.validate`
checks what spans several elements (references, reachability, expression types).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from petriflow.governance.participants import ParticipantKind

FIELD_TYPES = ("int", "decimal", "float", "bool", "str", "enum", "date", "datetime", "actor")
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Spec):
    """One field of the case data. ``input`` fields are given when a case starts; the
    others start at ``default`` (or their type's zero) and are written by tasks."""

    type: Literal["int", "decimal", "float", "bool", "str", "enum", "date", "datetime", "actor"]
    values: tuple[str, ...] | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    input: bool = False
    default: Any = None
    description: str = ""


class RetrySpec(_Spec):
    attempts: int = Field(default=3, ge=1, le=100)
    backoff_seconds: float = Field(default=1.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    idempotent: bool = True
    timeout_seconds: float | None = Field(default=None, gt=0)


class TimeoutSpec(_Spec):
    """A timer on a task's work item: after ``after`` (ISO 8601 duration such as
    ``P3D`` or ``PT4H``, or seconds), the item is withdrawn and the case goes to ``to``.
    With ``interrupting: false`` the item stays open and a token also starts at ``to``
    (at most once per offer of the item)."""

    after: str | float
    to: Identifier
    interrupting: bool = True


class CatchSpec(_Spec):
    """A message (or signal) that interrupts a task's work item: when ``message`` is
    delivered while the item waits, the item is withdrawn and the case goes to ``to``.
    With ``interrupting: false`` the item stays open and a token also starts at ``to``
    (at most once per offer of the item)."""

    message: Identifier
    to: Identifier
    interrupting: bool = True


class _Node(_Spec):
    name: str | None = None
    description: str = ""


class StartSpec(_Node):
    type: Literal["start"]


class EndSpec(_Node):
    type: Literal["end"]
    compensate: bool = False


class TaskSpec(_Node):
    type: Literal["task"]
    kind: ParticipantKind = ParticipantKind.HUMAN
    role: Identifier | None = None
    candidate: str | None = None
    agent: Identifier | None = None
    reads: tuple[Identifier, ...] = ()
    writes: tuple[Identifier, ...] = ()
    set: dict[Identifier, str] = Field(default_factory=dict)
    check: str | None = None
    confidence: Identifier | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)
    handoff: Identifier | None = None
    retry: RetrySpec | None = None
    timeout: TimeoutSpec | None = None
    remind: str | float | None = None   # a reminder while the work item waits (every period)
    on_error: Identifier | None = None
    compensation: Identifier | None = None
    catch: tuple[CatchSpec, ...] = ()   # interrupting messages while the work item waits

    @field_validator("kind")
    @classmethod
    def _not_timer(cls, kind: ParticipantKind) -> ParticipantKind:
        if kind is ParticipantKind.TIMER:
            raise ValueError("'timer' is not a task kind; put a timeout on a task instead")
        return kind


class GatewaySpec(_Node):
    """``event`` is an event-based gateway: a deferred choice among the receive tasks and
    timers its flows lead to; the first message or deadline wins."""

    type: Literal["exclusive", "parallel", "inclusive", "event"]
    pairs: Identifier | None = None


class TimerSpec(_Node):
    """An intermediate timer event: the case waits ``after`` (ISO 8601 duration such as
    ``PT4H``, or seconds), then goes on."""

    type: Literal["timer"]
    after: str | float


class CallSpec(_Node):
    type: Literal["call"]
    process: str


NodeSpec = Annotated[
    StartSpec | EndSpec | TaskSpec | GatewaySpec | TimerSpec | CallSpec,
    Field(discriminator="type"),
]


class FlowSpec(_Spec):
    source: Identifier = Field(alias="from")
    target: Identifier = Field(alias="to")
    when: str | None = None
    default: bool = False

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"


class AgentSpec(_Spec):
    id: Identifier
    version: str = "1"
    vendor: str | None = None
    model: str | None = None
    tasks: tuple[Identifier, ...] = ()
    threshold: float | None = Field(default=None, ge=0, le=1)
    description: str = ""


class ScopeSpec(_Spec):
    """A region of nodes that can be interrupted as one (a BPMN sub-process, or the whole
    process with its event sub-processes): see models/SEMANTICS.md, Scopes. ``entry`` is
    the node the scope is entered by, ``exit`` the node every branch leaves it by (the
    scope completes when its last token reaches it; none: the scope is the process and
    completes when the case ends). While it is active, ``timeout`` and ``catch`` may
    happen; a node in ``cancel`` withdraws every other token of the scope when it is
    reached, then goes on along its flows."""

    nodes: tuple[Identifier, ...]
    entry: Identifier
    exit: Identifier | None = None
    timeout: TimeoutSpec | None = None
    catch: tuple[CatchSpec, ...] = ()
    cancel: tuple[Identifier, ...] = ()


class ProcessSpec(_Spec):
    process: Identifier
    version: str = "1"
    description: str = ""
    data: dict[Identifier, FieldSpec] = Field(default_factory=dict)
    roles: tuple[Identifier, ...] = ()
    agents: tuple[AgentSpec, ...] = ()
    nodes: dict[Identifier, NodeSpec]
    flows: tuple[FlowSpec, ...] = ()
    policies: tuple[dict[str, Any], ...] = ()
    policy_files: tuple[str, ...] = ()
    # when a case ends: ``explicit``, exactly one token in one end event and nothing else;
    # ``implicit`` (BPMN), no token left outside end events (models/SEMANTICS.md)
    termination: Literal["explicit", "implicit"] = "explicit"
    scopes: dict[Identifier, ScopeSpec] = Field(default_factory=dict)
    # an automatic task -> the messages it broadcasts to every catch waiting for one of
    # them when it runs (a BPMN signal thrown and caught inside the process)
    broadcasts: dict[Identifier, tuple[Identifier, ...]] = Field(default_factory=dict)


__all__ = [
    "FIELD_TYPES",
    "AgentSpec",
    "CallSpec",
    "CatchSpec",
    "EndSpec",
    "FieldSpec",
    "FlowSpec",
    "GatewaySpec",
    "NodeSpec",
    "ProcessSpec",
    "RetrySpec",
    "ScopeSpec",
    "StartSpec",
    "TaskSpec",
    "TimeoutSpec",
    "TimerSpec",
]
