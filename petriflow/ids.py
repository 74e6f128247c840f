"""Typed identifiers, so a place id cannot be passed where a transition id is expected."""

from __future__ import annotations

from typing import NewType

PlaceId = NewType("PlaceId", str)
TransitionId = NewType("TransitionId", str)
ArcId = NewType("ArcId", str)
CaseId = NewType("CaseId", str)
ActorId = NewType("ActorId", str)
StepSeq = NewType("StepSeq", int)

__all__ = ["ActorId", "ArcId", "CaseId", "PlaceId", "StepSeq", "TransitionId"]
