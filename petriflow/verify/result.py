"""Verdicts and results: what the checker answers, and the evidence behind it.

A :class:`Result` is ``proved`` (with the method and, where the method yields one, a
certificate that a fresh solver re-checks), ``violated`` (with a firing sequence that the
kernel replayed to the bad state) or ``unknown`` (with the reason and the budget spent).
Never ``proved`` without a proof.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.Enum):
    PROVED = "proved"
    VIOLATED = "violated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TraceStep:
    """One firing of a counterexample: the transition, its binding, and, for compiled
    processes, what it means in the model's own words."""

    transition: str
    binding: dict[str, Any] = field(default_factory=dict)
    element: str | None = None
    action: str | None = None
    label: str | None = None
    actor: str | None = None
    line: int | None = None
    file: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"transition": self.transition}
        for key in ("element", "action", "label", "actor", "file", "line"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.binding:
            out["binding"] = {k: _jsonable(v) for k, v in self.binding.items()}
        if self.data:
            out["data"] = {k: _jsonable(v) for k, v in self.data.items()}
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Result:
    property: str
    verdict: Verdict
    method: str
    seconds: float = 0.0
    trace: tuple[TraceStep, ...] | None = None
    certificate: dict[str, Any] | None = None
    reason: str | None = None
    mcc_answer: str | None = None
    statement: str | None = None
    severity: str | None = None
    file: str | None = None
    line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "property": self.property,
            "verdict": self.verdict.value,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "trace": [s.to_json() for s in self.trace] if self.trace is not None else None,
            "certificate": self.certificate,
            "reason": self.reason,
        }
        if self.mcc_answer is not None or self.extra.get("mcc"):
            out["mcc_answer"] = self.mcc_answer
        for key in ("statement", "severity", "file", "line"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


__all__ = ["Result", "TraceStep", "Verdict"]
