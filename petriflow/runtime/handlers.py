"""How the engine talks to participants that are code: agents, bots and APIs.

The interface is deliberately small and vendor-neutral:

- an **agent adapter** is any callable taking an :class:`AgentRequest` and returning an
  :class:`AgentAnswer` (output fields, a confidence in [0, 1], a rationale); wrap an
  LLM SDK, a document-AI service or a rules engine in ten lines;
- a **service handler** (bot or API) is any callable taking a :class:`ServiceCall` and
  returning the task's output fields as a mapping.

Both receive only the case fields their task reads (minus those a data-minimisation
policy hides from an agent): asking for anything else raises
:class:`~petriflow.errors.PolicyRefusal`, which the engine records. A service call
carries an idempotency key that is the same for every attempt at one work item, so a
retry after a timeout cannot pay twice. Raise :class:`PermanentError` for a failure
that retrying cannot fix; any other exception is retried as the task's retry policy
says.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from petriflow.errors import PolicyRefusal


class PermanentError(Exception):
    """A failure that retrying will not fix (a rejected request, a validation error)."""


class Visible(Mapping[str, Any]):
    """The case fields a participant may read; any other field is refused by name."""

    __slots__ = ("_case", "_data", "_hidden", "_task", "denied")

    def __init__(self, data: Mapping[str, Any], fields: tuple[str, ...], *, case: str,
                 task: str, hidden: Mapping[str, str] | None = None) -> None:
        self._data = {f: data[f] for f in fields if f in data}
        self._hidden = dict(hidden or {})  # field -> the policy that hides it
        self._case = case
        self._task = task
        self.denied: list[str] = []

    def __getitem__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            self.denied.append(name)
            why = ("a data-minimisation policy hides it" if name in self._hidden
                   else f"task {self._task} does not read it")
            raise PolicyRefusal(f"case {self._case}: field '{name}' is not given to task "
                                f"{self._task}: {why}", case=self._case,
                                policy=self._hidden.get(name, "reads")) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Visible({self._data!r})"


@dataclass(frozen=True, slots=True)
class AgentRequest:
    case: str
    task: str
    agent: str
    data: Visible
    writes: tuple[str, ...]
    work_item: str
    attempt: int


@dataclass(frozen=True, slots=True)
class AgentAnswer:
    output: Mapping[str, Any]
    confidence: float
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class ServiceCall:
    case: str
    task: str
    kind: str                      # "bot" or "api"
    data: Visible
    writes: tuple[str, ...]
    work_item: str
    attempt: int
    key: str                       # idempotency key: the same for every attempt


AgentAdapter = Callable[[AgentRequest], AgentAnswer]
ServiceHandler = Callable[[ServiceCall], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with "equal jitter" (half the delay fixed, half random), the
    scheme of Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015."""

    attempts: int = 1
    backoff: float = 1.0
    multiplier: float = 2.0
    timeout: float | None = None
    jitter: bool = True
    rng: random.Random = field(default_factory=lambda: random.Random(0), compare=False)

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt, after ``failed_attempts`` failures."""
        base = self.backoff * self.multiplier ** max(failed_attempts - 1, 0)
        if not self.jitter:
            return base
        return base / 2 + self.rng.uniform(0, base / 2)

    @classmethod
    def of(cls, spec: Any, rng: random.Random) -> RetryPolicy:
        if spec is None:
            return cls(rng=rng)
        return cls(attempts=spec.attempts, backoff=spec.backoff_seconds,
                   multiplier=spec.multiplier, timeout=spec.timeout_seconds, rng=rng)


__all__ = [
    "AgentAdapter",
    "AgentAnswer",
    "AgentRequest",
    "PermanentError",
    "RetryPolicy",
    "ServiceCall",
    "ServiceHandler",
    "Visible",
]
