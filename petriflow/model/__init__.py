"""The process language: schema, loaders, the Python builder, and the compiler to nets."""

from petriflow.model.compile import compile_loaded
from petriflow.model.compiled import CompiledProcess, Obligation, Origin, SourceMap
from petriflow.model.loader import LoadedProcess, load_process, load_text

__all__ = [
    "CompiledProcess",
    "LoadedProcess",
    "Obligation",
    "Origin",
    "SourceMap",
    "compile_loaded",
    "load_process",
    "load_text",
]
