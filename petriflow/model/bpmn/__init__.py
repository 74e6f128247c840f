"""BPMN 2.0 import: a process of a ``.bpmn`` file becomes a petriflow process.

``load_bpmn`` reads and maps (raising one :class:`ModelError` that lists every
unsupported element with its id, tag and line); ``compile_bpmn`` also compiles it and
refuses endings the net cannot express (see :mod:`.termination`). The mapping is
documented in ``models/BPMN.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from petriflow.errors import ModelError, Problem
from petriflow.governance.policies import parse_policy
from petriflow.model.bpmn.document import (
    Definitions,
    choose_processes,
    collaboration_name,
    read_definitions,
    read_file,
)
from petriflow.model.bpmn.importer import Importer, Mapping
from petriflow.model.bpmn.termination import check_endings
from petriflow.model.compile import compile_loaded
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import LoadedProcess, SourceLines, load_policies, spec_from_data


@dataclass
class BpmnImport:
    """A BPMN process mapped onto the process language."""

    loaded: LoadedProcess
    mapping: Mapping
    process_id: str
    warnings: list[Problem] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)  # BPMN ids of the imported pools
    # what it was imported from: a collaboration may be imported again with pools that
    # end on their own (implicit termination) when the joined end cannot express it
    source: tuple[Definitions, str | None, tuple[str | Path, ...]] | None = None


def split_target(target: str | Path) -> tuple[Path, str | None]:
    """``FILE.bpmn#process`` -> (path, process id)."""
    text = str(target)
    if "#" in text and not Path(text).exists():
        path, _, proc = text.rpartition("#")
        return Path(path), proc or None
    return Path(text), None


def _in_bpmn_words(exc: ModelError, mapping: Mapping) -> ModelError:
    """The same problems, naming BPMN elements (id and tag) instead of petriflow ids."""
    by_ends = {ends: fid for fid, ends in mapping.flows.items()}
    out = []
    for p in exc.problems:
        element, message = p.element, p.message
        if element in mapping.tag_of:
            message = f"{mapping.tag_of[element]} '{mapping.node_of[element]}': {message}"
            element = mapping.node_of[element]
        elif element and "->" in element:
            a, _, b = element.partition("->")
            if (a, b) in by_ends:
                element = by_ends[(a, b)]
                message = f"sequenceFlow '{element}': {message}"
        out.append(Problem(message, file=p.file, line=p.line, column=p.column,
                           element=element, hint=p.hint))
    return type(exc)(out)


def import_definitions(defs: Definitions, process: str | None = None,
                       extra_policies: list[str | Path] = (),  # type: ignore[assignment]
                       implicit: bool = False,
                       forced: frozenset[str | None] = frozenset()) -> BpmnImport:
    chosen = choose_processes(defs, process)
    name = collaboration_name(defs, chosen) if len(chosen) > 1 else None
    imp = Importer(defs, chosen[0], pools=chosen[1:] and chosen, name=name,
                   implicit=implicit and len(chosen) > 1, forced=forced)
    data = imp.run()
    src = SourceLines(defs.file, dict(imp.lines))
    try:
        spec = spec_from_data(data, src)
    except ModelError as exc:
        raise _in_bpmn_words(exc, imp.map) from None
    policies, sources, paths, problems = [], [], [], []
    for i, item in enumerate(spec.policies):
        try:
            policies.append(parse_policy(dict(item), file=defs.file, line=src.line("policies", i)))
            sources.append(src)
            paths.append(("policies", i))
        except ModelError as exc:
            problems.extend(exc.problems)
    for pf in [*imp.policy_files, *map(Path, extra_policies)]:
        try:
            more, psrc, more_paths = load_policies(pf)
        except ModelError as exc:
            problems.extend(exc.problems)
            continue
        policies += more
        sources += [psrc] * len(more)
        paths += more_paths
    ModelError.collect(problems)
    loaded = LoadedProcess(spec, src, defs.path, policies, sources, paths)
    return BpmnImport(loaded, imp.map, name or str(chosen[0].get("id")), imp.warnings,
                      [str(p.get("id")) for p in chosen],
                      (defs, process, tuple(extra_policies)))


def load_bpmn(path: str | Path, process: str | None = None,
              extra_policies: list[str | Path] = ()) -> BpmnImport:  # type: ignore[assignment]
    """Read a ``.bpmn`` file (``FILE.bpmn#process`` picks one of several processes)."""
    p, fragment = split_target(path)
    return import_definitions(read_file(p), process or fragment, extra_policies)


def read_bpmn(text: str | bytes, file: str | None = None,
              process: str | None = None) -> BpmnImport:
    """Map BPMN given as text (call activities resolve within the text only)."""
    return import_definitions(read_definitions(text, file), process)


def compile_import(imported: BpmnImport) -> CompiledProcess:
    try:
        compiled = compile_loaded(imported.loaded)
    except ModelError as exc:
        raise _in_bpmn_words(exc, imported.mapping) from None
    lines = {k[1]: v for k, v in imported.loaded.source.lines.items()
             if len(k) == 2 and k[0] == "nodes"}
    problems, implicit = check_endings(compiled, imported.mapping,
                                       imported.loaded.source.file, lines)  # type: ignore[arg-type]
    more = imported.mapping.scopable - imported.mapping.forced
    if problems and more and imported.source is not None:
        # sub-processes that end when their last branch does, terminate end events: import
        # again with those sub-processes (or the process) as scopes (BPMN.md, Endings)
        again = import_definitions(*imported.source, implicit=imported.mapping.implicit,
                                   forced=imported.mapping.forced | more)
        compiled = compile_import(again)  # raises what even that cannot express
        imported.loaded, imported.mapping = again.loaded, again.mapping
        imported.warnings[:] = again.warnings
        return compiled
    if problems and len(imported.processes) > 1 and not imported.mapping.implicit \
            and imported.source is not None:
        # a collaboration whose pools end on their own: import it again with each pool's
        # end an end event of the case, under implicit termination (BPMN.md, Endings)
        again = import_definitions(*imported.source, implicit=True)
        compiled = compile_import(again)  # raises what even that cannot express
        imported.loaded, imported.mapping = again.loaded, again.mapping
        imported.warnings[:] = [*again.warnings, Problem(
            "termination: implicit (the pools end on their own, each at its own end event: "
            "the case ends when no pool has a branch left running)",
            file=imported.loaded.source.file)]
        return compiled
    ModelError.collect(problems)
    if implicit and not compiled.implicit:
        # BPMN's implicit termination: the same net, ending when no token is left outside
        # the end events (models/SEMANTICS.md, Termination)
        spec = imported.loaded.spec.model_copy(update={"termination": "implicit"})
        imported.loaded = replace(imported.loaded, spec=spec)
        compiled = compile_loaded(imported.loaded)
        ends = ", ".join(sorted({p.element or "?" for p in implicit}))
        imported.warnings.append(Problem(
            f"termination: implicit (end event(s) {ends} can be reached while other "
            "branches still run; the case ends when every branch has ended)",
            file=imported.loaded.source.file))
    return compiled


def compile_bpmn(path: str | Path, process: str | None = None,
                 extra_policies: list[str | Path] = ()  # type: ignore[assignment]
                 ) -> tuple[CompiledProcess, list[Problem]]:
    """Read and compile a BPMN process; returns the compiled process and the warnings."""
    imported = load_bpmn(path, process, extra_policies)
    return compile_import(imported), imported.warnings


__all__ = ["BpmnImport", "compile_bpmn", "compile_import", "import_definitions", "load_bpmn",
           "read_bpmn", "split_target"]
