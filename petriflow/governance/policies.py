"""Policies: rules a process must obey, declared once, proved by the checker and enforced
by the engine.

Each policy has an ``id``, a human-readable ``statement`` (what a compliance officer
signs) and a ``severity``. Task and agent names refer to the process's own ids;
conditions are expressions of the expression language over the case data.

=========================  ==============================================================
``segregation_of_duties``  no one actor completes two of ``tasks`` in one case (four eyes)
``precedence``             ``task`` completes only after ``after`` has completed
``conditional_requirement`` when ``when`` holds, ``task`` completes only after ``requires``
``agent_scope``            agent ``agent`` completes no task outside ``tasks``
``low_confidence_review``  when ``task``'s confidence is below ``below``, the human task
                           ``review`` completes before ``before`` (default: the case's end)
``data_minimisation``      agent ``agent`` never receives any of ``fields``
``forbidden_state``        no reachable state satisfies ``condition``
=========================  ==============================================================
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from petriflow.errors import ModelError, Problem


class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    statement: str = ""
    severity: Severity = Severity.HIGH

    def describe(self) -> str:
        """The statement, or a generated one when the author gave none."""
        return self.statement or self.default_statement()

    def default_statement(self) -> str:
        return self.id

    def tasks_named(self) -> list[str]:
        """Task ids this policy refers to (for reference checks)."""
        return []

    def agents_named(self) -> list[str]:
        return []

    def conditions(self) -> list[str]:
        return []


class SegregationOfDuties(_Policy):
    type: Literal["segregation_of_duties", "four_eyes"] = "segregation_of_duties"
    tasks: tuple[str, ...] = Field(min_length=2)

    def __init__(self, *tasks: str, **data: Any) -> None:
        """``SegregationOfDuties(submit, approve)`` with task handles, or keywords."""
        if tasks:
            data["tasks"] = tuple(str(t) for t in tasks)
            data.setdefault("id", "segregation_of_duties_" + "_".join(data["tasks"]))
        super().__init__(**data)

    def default_statement(self) -> str:
        return f"No one person or agent completes more than one of {', '.join(self.tasks)}."

    def tasks_named(self) -> list[str]:
        return list(self.tasks)


class Precedence(_Policy):
    type: Literal["precedence"] = "precedence"
    task: str
    after: str

    def __init__(self, task: str | None = None, /, **data: Any) -> None:
        """``Precedence(pay, after=screen)`` with task handles, or keywords."""
        if task is not None:
            data["task"] = str(task)
            data.setdefault("id", f"{task}_after_{data.get('after')}")
        super().__init__(**data)

    def default_statement(self) -> str:
        return f"{self.task} happens only after {self.after}."

    def tasks_named(self) -> list[str]:
        return [self.task, self.after]


class ConditionalRequirement(_Policy):
    type: Literal["conditional_requirement"] = "conditional_requirement"
    when: str
    task: str
    requires: str

    def default_statement(self) -> str:
        return f"When {self.when}, {self.task} happens only after {self.requires}."

    def tasks_named(self) -> list[str]:
        return [self.task, self.requires]

    def conditions(self) -> list[str]:
        return [self.when]


class AgentScope(_Policy):
    type: Literal["agent_scope"] = "agent_scope"
    agent: str
    tasks: tuple[str, ...]

    def default_statement(self) -> str:
        return f"Agent {self.agent} completes only {', '.join(self.tasks) or 'no task'}."

    def tasks_named(self) -> list[str]:
        return list(self.tasks)

    def agents_named(self) -> list[str]:
        return [self.agent]


class LowConfidenceReview(_Policy):
    type: Literal["low_confidence_review"] = "low_confidence_review"
    task: str
    below: float = Field(ge=0, le=1)
    review: str
    before: str | None = None

    def default_statement(self) -> str:
        until = self.before or "the case ends"
        return (f"When {self.task} answers with confidence below {self.below}, "
                f"{self.review} happens before {until}.")

    def tasks_named(self) -> list[str]:
        return [t for t in (self.task, self.review, self.before) if t]


class DataMinimisation(_Policy):
    type: Literal["data_minimisation"] = "data_minimisation"
    agent: str
    fields: tuple[str, ...] = Field(min_length=1)

    def default_statement(self) -> str:
        return f"Agent {self.agent} never receives {', '.join(self.fields)}."

    def agents_named(self) -> list[str]:
        return [self.agent]


class ForbiddenState(_Policy):
    type: Literal["forbidden_state"] = "forbidden_state"
    condition: str

    def default_statement(self) -> str:
        return f"No case ever reaches a state where {self.condition}."

    def conditions(self) -> list[str]:
        return [self.condition]


Policy = Annotated[
    SegregationOfDuties
    | Precedence
    | ConditionalRequirement
    | AgentScope
    | LowConfidenceReview
    | DataMinimisation
    | ForbiddenState,
    Field(discriminator="type"),
]
POLICY_TYPES = (
    "segregation_of_duties", "four_eyes", "precedence", "conditional_requirement",
    "agent_scope", "low_confidence_review", "data_minimisation", "forbidden_state",
)
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Policy)


def parse_policy(data: Any, *, file: str | None = None, line: int | None = None) -> Any:
    """Validate one policy given as a mapping; raises ModelError naming what is wrong."""
    if isinstance(data, dict) and data.get("type") not in POLICY_TYPES:
        element = str(data.get("id")) if data.get("id") else None
        raise ModelError(Problem(f"unknown policy type {data.get('type')!r}", file=file,
                                 line=line, element=element,
                                 hint=f"one of: {', '.join(POLICY_TYPES)}"))
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        element = str(data.get("id")) if isinstance(data, dict) and data.get("id") else None
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"][1:]) or "policy"
            problems.append(Problem(f"policy {where}: {err['msg']}", file=file, line=line,
                                    element=element))
        raise ModelError(problems) from None


__all__ = [
    "POLICY_TYPES",
    "AgentScope",
    "ConditionalRequirement",
    "DataMinimisation",
    "ForbiddenState",
    "LowConfidenceReview",
    "Policy",
    "Precedence",
    "SegregationOfDuties",
    "Severity",
    "parse_policy",
]
