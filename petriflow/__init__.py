"""petriflow: run and prove business processes on colored Petri nets.

The names below are the public surface (pinned by ``tests/test_public_api.py``).
They are imported on first use, so ``import petriflow`` stays cheap for the
command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "check": "petriflow.verify.portfolio",
    "Result": "petriflow.verify.result",
    "Verdict": "petriflow.verify.result",
    "Process": "petriflow.model.builder",
    "CompiledProcess": "petriflow.model.compiled",
    "compile_file": "petriflow.model",
    "Role": "petriflow.governance.participants",
    "SegregationOfDuties": "petriflow.governance.policies",
    "Precedence": "petriflow.governance.policies",
    "PetriflowError": "petriflow.errors",
    "ModelError": "petriflow.errors",
    "NotEnabledError": "petriflow.errors",
    "Net": "petriflow.net.structure",
    "NetBuilder": "petriflow.net.builder",
    "Marking": "petriflow.net.marking",
    "Step": "petriflow.net.firing",
    "fire": "petriflow.net.firing",
    "bindings": "petriflow.net.firing",
    "TokenGame": "petriflow.net.game",
    "read_pnml": "petriflow.net.pnml",
    "write_pnml": "petriflow.net.pnml",
    "Engine": "petriflow.runtime.engine",
    "AgentAnswer": "petriflow.runtime.handlers",
    "ManualClock": "petriflow.runtime.clock",
    "InMemoryStore": "petriflow.store.memory",
    "SqlStore": "petriflow.store.sql.store",
    "PolicyRefusal": "petriflow.errors",
}

__all__ = [
    "AgentAnswer",
    "CompiledProcess",
    "Engine",
    "InMemoryStore",
    "ManualClock",
    "Marking",
    "ModelError",
    "Net",
    "NetBuilder",
    "NotEnabledError",
    "PetriflowError",
    "PolicyRefusal",
    "Precedence",
    "Process",
    "Result",
    "Role",
    "SegregationOfDuties",
    "SqlStore",
    "Step",
    "TokenGame",
    "Verdict",
    "bindings",
    "check",
    "compile_file",
    "fire",
    "read_pnml",
    "write_pnml",
]

if TYPE_CHECKING:
    from petriflow.errors import ModelError, NotEnabledError, PetriflowError, PolicyRefusal
    from petriflow.governance.participants import Role
    from petriflow.governance.policies import Precedence, SegregationOfDuties
    from petriflow.model import compile_file
    from petriflow.model.builder import Process
    from petriflow.model.compiled import CompiledProcess
    from petriflow.net.builder import NetBuilder
    from petriflow.net.firing import Step, bindings, fire
    from petriflow.net.game import TokenGame
    from petriflow.net.marking import Marking
    from petriflow.net.pnml import read_pnml, write_pnml
    from petriflow.net.structure import Net
    from petriflow.runtime.clock import ManualClock
    from petriflow.runtime.engine import Engine
    from petriflow.runtime.handlers import AgentAnswer
    from petriflow.store.memory import InMemoryStore
    from petriflow.store.sql.store import SqlStore
    from petriflow.verify.portfolio import check
    from petriflow.verify.result import Result, Verdict


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'petriflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
