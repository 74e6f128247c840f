"""The engine: cases of compiled processes run by firing their nets, under policy and audit."""

from petriflow.runtime.clock import Clock, ManualClock, SystemClock
from petriflow.runtime.engine import Engine
from petriflow.runtime.handlers import (
    AgentAnswer,
    AgentRequest,
    PermanentError,
    RetryPolicy,
    ServiceCall,
)

__all__ = [
    "AgentAnswer",
    "AgentRequest",
    "Clock",
    "Engine",
    "ManualClock",
    "PermanentError",
    "RetryPolicy",
    "ServiceCall",
    "SystemClock",
]
