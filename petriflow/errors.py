"""The one exception tree of petriflow.

Every error a user can cause or meet derives from :class:`PetriflowError`, carries
its facts as attributes (``file``, ``line``, ``column``, ``element``) rather than only
inside the message, and says what to do next (``hint``)::

    PetriflowError
    ├── ModelError (ValueError)            a model or net is wrong; lists every Problem
    │   ├── ExpressionError                an expression outside the language, or ill-typed
    │   └── PnmlError                      a PNML file that cannot be read
    ├── ColorError (TypeError)             a token is not a value of its place's color set
    ├── FiringError                        a firing that the semantics refuses
    │   ├── NotEnabledError                the transition has no such enabling binding
    │   └── UnboundVariableError           a binding leaves a variable without a value
    ├── StateSpaceLimitError (RuntimeError) an exploration hit its state cap
    ├── EngineError                        the engine refuses a request about a case
    │   ├── PolicyRefusal                  a step a policy forbids (refused and audited)
    │   ├── OutputError                    an answer that does not fit the task's outputs
    │   └── WorkItemError                  no such work item, or not in a state for that
    └── StoreError                         persistence failed
        ├── NotFoundError                  no such case, process or work item
        ├── ConflictError                  another writer changed the case first; retry
        └── CorruptionError                a stored row that cannot be decoded or verified

Library code raises; only ``petriflow.cli`` prints and chooses exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a model, located as precisely as we know."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    element: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}" + (f":{self.column}" if self.column else ""))
        if self.element:
            where.append(f"element '{self.element}'")
        text = (", ".join(where) + ": " if where else "") + self.message
        return f"{text} ({self.hint})" if self.hint else text


class PetriflowError(Exception):
    """Root of every petriflow error; ``hint`` says what to do next."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ModelError(PetriflowError, ValueError):
    """A model, net or file is wrong. Holds every problem found, not only the first."""

    def __init__(self, problems: Problem | Sequence[Problem] | str, **fields: object) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, **fields)]  # type: ignore[arg-type]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ModelError needs at least one problem")
        first = self.problems[0]
        self.file = first.file
        self.line = first.line
        self.column = first.column
        self.element = first.element
        if len(self.problems) == 1:
            text = str(first)
        else:
            text = f"{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(text)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def collect(cls, problems: Iterable[Problem]) -> None:
        """Raise one error with all ``problems`` if there are any."""
        problems = list(problems)
        if problems:
            raise cls(problems)


class ExpressionError(ModelError):
    """An expression uses syntax outside the language, an unknown name, or wrong types."""


class PnmlError(ModelError):
    """A PNML document that cannot be turned into a net."""


class ColorError(PetriflowError, TypeError):
    """A value is not a member of the color set it was given to."""

    def __init__(self, message: str, *, color: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.color = color
        self.value = value


class FiringError(PetriflowError):
    """The firing rule refuses what was asked."""

    def __init__(self, message: str, *, transition: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.transition = transition


class NotEnabledError(FiringError):
    """The transition is not enabled in this marking with this binding."""


class UnboundVariableError(FiringError):
    """A variable of the transition has no value and cannot be enumerated."""


class StateSpaceLimitError(PetriflowError, RuntimeError):
    """An exploration reached its state cap before finishing."""

    def __init__(self, message: str, *, limit: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class EngineError(PetriflowError):
    """The engine cannot do what was asked with this case or work item."""

    def __init__(self, message: str, *, case: str | None = None, hint: str | None = None
                 ) -> None:
        super().__init__(message, hint=hint)
        self.case = case


class PolicyRefusal(EngineError):
    """A policy forbids the step. The refusal is in the audit trail; nothing else changed."""

    def __init__(self, message: str, *, case: str | None = None, policy: str = "",
                 transition: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, case=case, hint=hint)
        self.policy = policy
        self.transition = transition


class OutputError(EngineError):
    """An answer (a person's, an agent's or a service's) does not fit the task's outputs."""


class WorkItemError(EngineError):
    """No such work item, or it is not in a state that allows the request."""


class StoreError(PetriflowError):
    """Persistence failed."""


class NotFoundError(StoreError, KeyError):
    """No case, process or work item with that id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return PetriflowError.__str__(self)


class ConflictError(StoreError):
    """Another writer committed a step of the same case first; reload and retry."""


class CorruptionError(StoreError):
    """Stored data that cannot be decoded or does not verify; never read as a default."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" hint for an unknown ``name``, or None when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
