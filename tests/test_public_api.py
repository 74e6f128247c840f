"""The public surface is deliberate: widening or narrowing it must change this test."""

from __future__ import annotations

import subprocess
import sys

import petriflow
import petriflow.net

PUBLIC = {
    "CompiledProcess", "Precedence", "Process", "Role", "SegregationOfDuties", "compile_file",
    "Result", "Verdict", "check",
    "Marking", "ModelError", "Net", "NetBuilder", "NotEnabledError", "PetriflowError", "Step",
    "TokenGame", "bindings", "fire", "read_pnml", "write_pnml",
    "AgentAnswer", "Engine", "InMemoryStore", "ManualClock", "PolicyRefusal", "SqlStore",
}
KERNEL = {
    "BLACK", "DOT", "Arc", "ArcKind", "Binding", "BoolColor", "ColorSet", "DecimalColor",
    "EnumColor", "Expr", "IntColor", "Marking", "Multiset", "Net", "NetBuilder", "Place",
    "Record", "RecordColor", "RunResult", "Step", "StrColor", "TokenGame", "Transition",
    "TupleColor", "bindings", "compile_expr", "enabled_transitions", "evaluate", "fire",
    "is_enabled", "parse", "read_pnml", "write_pnml",
}


def test_top_level_exports_are_pinned() -> None:
    assert set(petriflow.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(petriflow, name) is not None


def test_kernel_exports_are_pinned() -> None:
    assert set(petriflow.net.__all__) == KERNEL
    for name in KERNEL:
        assert getattr(petriflow.net, name) is not None


def test_importing_petriflow_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, petriflow, petriflow.cli; "
        "heavy = [m for m in ('z3', 'sqlalchemy', 'networkx', 'pydantic', 'rich') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
