"""Every BPMN file of the MIWG corpus: read without a crash, counts that match a plain
ElementTree count, one transition path per sequence flow, and a verdict from the checker."""

from __future__ import annotations

import xml.etree.ElementTree as StdET  # tests only: the corpus is trusted input here
from pathlib import Path

import pytest

from petriflow.cli import run
from petriflow.errors import ModelError
from petriflow.model.bpmn import compile_import, import_definitions
from petriflow.model.bpmn.document import read_file
from tests.corpus import corpus_dir, require_corpus

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FLOW_NODES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "scriptTask",
              "businessRuleTask", "receiveTask", "startEvent", "endEvent",
              "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
              "complexGateway", "subProcess", "transaction", "adHocSubProcess", "callActivity"}
FILES = sorted((corpus_dir() / "bpmn-miwg").rglob("*.bpmn"))


def _processes(path: Path) -> list[tuple[str, int, int]]:
    """(id, flow nodes, sequence flows) of each process with flow nodes, counted plainly."""
    out = []
    for proc in StdET.parse(path).getroot().iter(f"{BPMN}process"):
        nodes = sum(1 for e in proc.iter() if e.tag[len(BPMN):] in FLOW_NODES
                    and e.tag.startswith(BPMN))
        flows = sum(1 for _ in proc.iter(f"{BPMN}sequenceFlow"))
        if any(c.tag[len(BPMN):] in FLOW_NODES for c in proc):
            out.append((proc.get("id", ""), nodes, flows))
    return out


def test_the_corpus_is_there() -> None:
    assert list(require_corpus("bpmn-miwg").rglob("*.bpmn"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_process_imports_or_names_what_is_unsupported(path: Path) -> None:
    defs = read_file(path)
    counts = {pid: (n_nodes, n_flows) for pid, n_nodes, n_flows in _processes(path)}
    for pid in counts:
        try:
            imported = import_definitions(defs, pid)
            compiled = compile_import(imported)
        except ModelError as exc:
            assert exc.problems
            assert all(p.element for p in exc.problems), [str(p) for p in exc.problems]
            continue
        calls = any(t == "callActivity" for t in imported.mapping.tag_of.values())
        if not calls:  # a collaboration imports every pool that messages connect
            assert imported.mapping.flow_nodes == sum(counts[p][0] for p in imported.processes)
            assert imported.mapping.sequence_flows == sum(counts[p][1]
                                                          for p in imported.processes)
        net = compiled.net
        origin = compiled.source_map.transitions
        for fid, (src, tgt) in imported.mapping.flows.items():
            into = {f"{tgt}:in", f"flow:{src}->{tgt}"}
            if imported.mapping.tag_of.get(src) == "eventBasedGateway":
                into.add(f"{src}:work")  # the events after it take the gateway's one wait
            producers = [t for t in net.transitions if origin[t.id].element == src
                         and any(a.place in into for a in net.outputs[t.id])]
            consumers = [t for t in net.transitions if origin[t.id].element == tgt
                         and any(a.place in into for a in net.inputs[t.id])]
            assert producers and consumers, f"{pid}: sequence flow {fid} has no path"
        assert run(["check", "--timeout", "5", f"{path}#{pid}"]) in (0, 1, 3)


COMPILED_AT_LEAST = 65  # of 172 processes (models/BPMN.md, section Corpus): raise, never lower


def test_how_many_corpus_processes_compile() -> None:
    require_corpus("bpmn-miwg")
    compiled = 0
    for path in FILES:
        defs = read_file(path)
        for pid, _, _ in _processes(path):
            try:
                compile_import(import_definitions(defs, pid))
            except ModelError:
                continue
            compiled += 1
    assert compiled >= COMPILED_AT_LEAST
