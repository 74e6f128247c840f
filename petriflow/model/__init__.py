"""The process language: schema, loaders, the Python builder, and the compiler to nets."""

from __future__ import annotations

from pathlib import Path

from petriflow.model.builder import Process
from petriflow.model.compile import compile_loaded
from petriflow.model.compiled import CompiledProcess, Obligation, Origin, SourceMap
from petriflow.model.loader import LoadedProcess, load_process, load_text


def compile_file(path: str | Path, policies: list[str | Path] = ()) -> CompiledProcess:  # type: ignore[assignment]
    """Read a process file (YAML or JSON) and the policy files it names, and compile it."""
    return compile_loaded(load_process(path, list(policies)))


__all__ = [
    "CompiledProcess",
    "LoadedProcess",
    "Obligation",
    "Origin",
    "Process",
    "SourceMap",
    "compile_file",
    "compile_loaded",
    "load_process",
    "load_text",
]
