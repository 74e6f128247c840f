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


def owner_of(defs: Definitions) -> dict[str, str]:
    """BPMN id -> id of the process holding it (participants: the process they show)."""
    out: dict[str, str] = {}
    for pid, proc in defs.processes.items():
        for n in proc.iter():
            if n.get("id"):
                out.setdefault(str(n.get("id")), pid)
    for part_id, part in defs.participants.items():
        if part.get("processRef") in defs.processes:
            out.setdefault(part_id, str(part.get("processRef")))
    return out


def collaboration_of(defs: Definitions, process: XNode) -> list[XNode]:
    """``process`` and every process with flow nodes that message flows connect it to,
    directly or through others (in file order). Message flows that touch a pool boundary
    (a participant, rather than a flow node) connect nothing."""
    owner = owner_of(defs)
    links: dict[str, set[str]] = {}
    for mf in defs.message_flows:
        a, b = str(mf.get("sourceRef")), str(mf.get("targetRef"))
        if a in defs.participants or b in defs.participants:
            continue
        pa, pb = owner.get(a), owner.get(b)
        if pa and pb and pa != pb and has_flow_nodes(defs.processes[pa]) \
                and has_flow_nodes(defs.processes[pb]):
            links.setdefault(pa, set()).add(pb)
            links.setdefault(pb, set()).add(pa)
    seen, todo = {str(process.get("id"))}, [str(process.get("id"))]
    while todo:
        for other in links.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return [p for pid, p in defs.processes.items() if pid in seen]


def collaboration_name(defs: Definitions, processes: list[XNode]) -> str:
    """The id of the collaboration that shows these processes (else the first's id)."""
    ids = {p.get("id") for p in processes}
    for child in defs.root.children:
        if child.ns == BPMN and child.tag == "collaboration" and child.get("id") and any(
                part.get("processRef") in ids for part in child.findall(BPMN, "participant")):
            return str(child.get("id"))
    return str(processes[0].get("id"))


def choose_processes(defs: Definitions, wanted: str | None) -> list[XNode]:
    """The processes to import as one: the chosen process (``choose_process``) and those
    message flows connect it to. ``wanted`` may also name a collaboration."""
    if wanted is not None and wanted not in defs.processes:
        for child in defs.root.children:
            if child.ns == BPMN and child.tag == "collaboration" and child.get("id") == wanted:
                refs = [str(p.get("processRef")) for p in child.findall(BPMN, "participant")]
                procs = [defs.processes[r] for r in refs
                         if r in defs.processes and has_flow_nodes(defs.processes[r])]
                if procs:
                    out: list[XNode] = []
                    for p in procs:
                        out += [q for q in collaboration_of(defs, p) if q not in out]
                    return [q for q in defs.processes.values() if q in out]
    if wanted is None:
        with_nodes = [p for p in defs.processes.values() if has_flow_nodes(p)]
        called = called_ids(defs)
        main = [p for p in with_nodes if p.get("id") not in called] or with_nodes
        if main and all(p in collaboration_of(defs, main[0]) for p in main):
            return collaboration_of(defs, main[0])
    return collaboration_of(defs, choose_process(defs, wanted))


__all__ = ["Definitions", "called_ids", "choose_process", "choose_processes",
           "collaboration_name", "collaboration_of", "has_flow_nodes", "owner_of",
           "read_definitions", "read_file"]
