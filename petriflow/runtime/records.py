"""Agents' track records, derived from the audit trail (never kept separately).

For each agent: completions, hand-offs to a person, refusals (a policy or rule said
no), failed calls, and the average confidence of its answers. Because the figures are
computed from the hash-chained journal, they cannot drift from what happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from petriflow.governance.audit import AuditEvent, EventKind
from petriflow.governance.participants import Agent


@dataclass
class AgentRecord:
    agent: str
    version: str | None = None
    vendor: str | None = None
    model: str | None = None
    tasks: tuple[str, ...] = ()
    completions: int = 0
    handoffs: int = 0
    refusals: int = 0
    failures: int = 0
    confidence_sum: float = 0.0
    answers: int = 0

    @property
    def average_confidence(self) -> float | None:
        return self.confidence_sum / self.answers if self.answers else None

    def as_dict(self) -> dict[str, object]:
        return {"agent": self.agent, "version": self.version, "vendor": self.vendor,
                "model": self.model, "tasks": list(self.tasks),
                "completions": self.completions, "handoffs": self.handoffs,
                "refusals": self.refusals, "failures": self.failures,
                "average_confidence": self.average_confidence}


def agent_records(agents: Iterable[Agent], events: Iterable[AuditEvent]
                  ) -> dict[str, AgentRecord]:
    """Records of the registered ``agents`` (and of any agent the journal names)."""
    out = {a.id: AgentRecord(a.id, a.version, a.vendor, a.model, a.tasks) for a in agents}
    for e in events:
        if e.actor_kind != "agent" or not e.actor:
            continue
        rec = out.setdefault(e.actor, AgentRecord(e.actor))
        if e.kind == EventKind.STEP and e.action == "complete":
            rec.completions += 1
        elif e.kind == EventKind.STEP and e.action == "handoff":
            rec.handoffs += 1
        elif e.kind == EventKind.REFUSED:
            rec.refusals += 1
        elif e.kind == EventKind.ATTEMPT:
            rec.failures += 1
        if e.kind == EventKind.STEP and e.confidence is not None and e.reason is None:
            rec.confidence_sum += float(e.confidence)
            rec.answers += 1
    return out


__all__ = ["AgentRecord", "agent_records"]
