"""A BPMN 2.0 file as a whole: its processes, collaboration, and which process to import."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from petriflow.errors import ModelError, Problem
from petriflow.model.bpmn.names import BPMN, FLOW_NODES
from petriflow.model.bpmn.xmlread import MAX_BYTES, XNode, parse_xml


@dataclass
class Definitions:
    """The ``definitions`` element of one file, indexed."""

    root: XNode
    file: str | None
    path: Path | None
    processes: dict[str, XNode] = field(default_factory=dict)
    participants: dict[str, XNode] = field(default_factory=dict)  # participant id -> element
    message_flows: list[XNode] = field(default_factory=list)
    by_id: dict[str, XNode] = field(default_factory=dict)

    @property
    def expression_language(self) -> str | None:
        return self.root.get("expressionLanguage")

    def where(self, node: XNode) -> dict[str, object]:
        return {"file": self.file, "line": node.line, "element": node.get("id")}


def read_definitions(data: bytes | str, file: str | None = None,
                     path: Path | None = None) -> Definitions:
    root = parse_xml(data, file)
    if root.ns != BPMN or root.tag != "definitions":
        raise ModelError(Problem(
            f"not a BPMN 2.0 file: the root element is '{root.tag}'"
            + (f" in namespace {root.ns}" if root.ns else ""), file=file, line=root.line,
            hint=f"BPMN 2.0 files start with <definitions xmlns=\"{BPMN}\">"))
    defs = Definitions(root, file, path)
    for node in root.iter():
        if node.ns == BPMN and node.get("id"):
            defs.by_id.setdefault(str(node.get("id")), node)
    for child in root.children:
        if child.ns != BPMN:
            continue
        if child.tag == "process" and child.get("id"):
            defs.processes[str(child.get("id"))] = child
        elif child.tag == "collaboration":
            for part in child.findall(BPMN, "participant"):
                if part.get("id"):
                    defs.participants[str(part.get("id"))] = part
            defs.message_flows += child.findall(BPMN, "messageFlow")
    return defs


def read_file(path: Path) -> Definitions:
    if not path.is_file():
        raise ModelError(Problem("no such file", file=str(path)))
    if path.stat().st_size > MAX_BYTES:
        raise ModelError(Problem(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                                 file=str(path)))
    return read_definitions(path.read_bytes(), str(path), path)


def has_flow_nodes(process: XNode) -> bool:
    return any(c.ns == BPMN and c.tag in FLOW_NODES for c in process.children)


def called_ids(defs: Definitions) -> set[str]:
    """Ids of processes that a call activity of this file calls."""
    out = set()
    for node in defs.root.iter():
        if node.ns == BPMN and node.tag == "callActivity" and node.get("calledElement"):
            out.add(str(node.get("calledElement")))
    return out


def choose_process(defs: Definitions, wanted: str | None) -> XNode:
    """The process to import: ``wanted``, or the only one with flow nodes that no call
    activity of the file calls."""
    if wanted is not None:
        if wanted in defs.processes:
            return defs.processes[wanted]
        for part in defs.participants.values():
            if wanted == part.get("id") and part.get("processRef") in defs.processes:
                return defs.processes[str(part.get("processRef"))]
        raise ModelError(Problem(f"no process '{wanted}' in this file", file=defs.file,
                                 hint="processes here: " + (", ".join(defs.processes) or
                                                            "none")))
    with_nodes = [p for p in defs.processes.values() if has_flow_nodes(p)]
    called = called_ids(defs)
    main = [p for p in with_nodes if p.get("id") not in called] or with_nodes
    if len(main) == 1:
        return main[0]
    if not main:
        raise ModelError(Problem("the file holds no process with flow nodes", file=defs.file,
                                 line=defs.root.line))
    names = ", ".join(f"'{p.get('id')}' (line {p.line})" for p in main)
    raise ModelError(Problem(f"the file holds {len(main)} processes: {names}; say which one",
                             file=defs.file, line=main[0].line,
                             hint=f"write FILE.bpmn#{main[0].get('id')}"))


def message_flow_problems(defs: Definitions, process: XNode) -> list[Problem]:
    """Message flows that touch ``process`` (its pool or one of its elements)."""
    inside = {str(n.get("id")) for n in process.iter() if n.get("id")}
    pools = {pid for pid, p in defs.participants.items()
             if p.get("processRef") == process.get("id")}
    out = []
    for mf in defs.message_flows:
        ends = {mf.get("sourceRef"), mf.get("targetRef")}
        if ends & (inside | pools):
            out.append(Problem(
                f"messageFlow '{mf.get('id')}' ({mf.get('sourceRef')} -> {mf.get('targetRef')}): "
                "collaborations with message flows are not supported yet", file=defs.file,
                line=mf.line, element=mf.get("id"),
                hint="petriflow verifies one process at a time; a pool without message flows "
                "can be imported alone (FILE.bpmn#<process id>)"))
    return out


__all__ = ["Definitions", "called_ids", "choose_process", "has_flow_nodes",
           "message_flow_problems", "read_definitions", "read_file"]
