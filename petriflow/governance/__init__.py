"""Who may act and what must hold: participants, the agent registry, and policies.

Policies are declared once here; the checker proves them and the engine enforces them.
"""

from petriflow.governance.participants import Agent, AgentRegistry, ParticipantKind, Role
from petriflow.governance.policies import (
    AgentScope,
    ConditionalRequirement,
    DataMinimisation,
    ForbiddenState,
    LowConfidenceReview,
    Policy,
    Precedence,
    SegregationOfDuties,
    Severity,
    parse_policy,
)

__all__ = [
    "Agent",
    "AgentRegistry",
    "AgentScope",
    "ConditionalRequirement",
    "DataMinimisation",
    "ForbiddenState",
    "LowConfidenceReview",
    "ParticipantKind",
    "Policy",
    "Precedence",
    "Role",
    "SegregationOfDuties",
    "Severity",
    "parse_policy",
]
