"""Participants: the kinds of actor a task can have, roles, and the registry of AI agents."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from petriflow.errors import ModelError, Problem, did_you_mean


class ParticipantKind(enum.Enum):
    """Who performs a task. ``auto`` tasks are expressions the engine evaluates itself;
    ``receive`` waits for a message from outside (a customer's reply, a callback)."""

    HUMAN = "human"
    AGENT = "agent"
    BOT = "bot"
    API = "api"
    AUTO = "auto"
    RECEIVE = "receive"
    TIMER = "timer"

    @property
    def external(self) -> bool:
        """External work is offered as a work item and completed from outside."""
        return self not in (ParticipantKind.AUTO, ParticipantKind.TIMER)

    @property
    def has_actor(self) -> bool:
        """Whether a completion names who did it (a person or an agent)."""
        return self in (ParticipantKind.HUMAN, ParticipantKind.AGENT)


@dataclass(frozen=True, slots=True)
class Role:
    """A role people hold (``clerk``, ``manager``); human tasks are offered to a role."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Agent:
    """An AI agent as the registry knows it: identity, version, vendor, and its scope."""

    id: str
    version: str = "1"
    vendor: str | None = None
    model: str | None = None
    tasks: tuple[str, ...] = ()
    threshold: float | None = None
    description: str | None = None


@dataclass(frozen=True)
class AgentRegistry:
    """The agents a process may call. An ordinary value: pass it where it is needed."""

    agents: tuple[Agent, ...] = field(default=())

    def __post_init__(self) -> None:
        seen: set[str] = set()
        problems = []
        for a in self.agents:
            if a.id in seen:
                problems.append(Problem(f"agent '{a.id}' is registered twice", element=a.id))
            seen.add(a.id)
        ModelError.collect(problems)

    def get(self, agent_id: str) -> Agent:
        for a in self.agents:
            if a.id == agent_id:
                return a
        raise ModelError(Problem(f"no agent '{agent_id}' in the registry", element=agent_id,
                                 hint=did_you_mean(agent_id, self.ids())))

    def ids(self) -> list[str]:
        return [a.id for a in self.agents]

    def __contains__(self, agent_id: object) -> bool:
        return any(a.id == agent_id for a in self.agents)

    def __iter__(self) -> Iterator[Agent]:
        return iter(self.agents)

    @classmethod
    def of(cls, agents: Iterable[Agent]) -> AgentRegistry:
        return cls(tuple(agents))


__all__ = ["Agent", "AgentRegistry", "ParticipantKind", "Role"]
