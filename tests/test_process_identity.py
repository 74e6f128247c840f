"""A process's identity (its fingerprint) covers the net and its runtime settings.

It is stable where the process is the same (compiled twice, stored and rebuilt, exported
to BPMN and read back, durations and keys written differently), it changes where the
engine would act differently, and a stored definition that no longer rebuilds to the
identity its cases reference is reported in one line, never run and never overwritten.
A definition written differently (spacing in a condition, nodes in another order) may
be another identity: that errs on the safe side.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from petriflow.cli import run
from petriflow.errors import CorruptionError, ModelError, PetriflowError
from petriflow.model import compile_file, compile_loaded, load_text
from petriflow.model.bpmn import compile_import, read_bpmn
from petriflow.model.bpmn.export import to_bpmn
from petriflow.model.document import from_document, to_document
from petriflow.runtime import Engine
from petriflow.store.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
INVOICE = MODELS / "invoice_to_payment.yaml"
REFERENCE = ["invoice_to_payment", "hr_hiring", "customer_service", "fraud_review"]
Capsys = pytest.CaptureFixture[str]

BASE = """\
process: pay
version: "1"
data:
  amount: {type: decimal, min: 0, max: 1000000, input: true}
  requester: {type: actor, input: true}
  ok: {type: bool}
  score: {type: float, min: 0, max: 1}
  paid: {type: bool}
roles: [clerk, manager]
agents:
  - id: scorer
    version: "1"
    tasks: [score_it]
    threshold: 0.8
nodes:
  s: {type: start}
  score_it:
    type: task
    kind: agent
    agent: scorer
    reads: [amount]
    writes: [score]
    confidence: score
    threshold: 0.8
    handoff: approve
  approve:
    type: task
    role: manager
    candidate: actor != requester
    reads: [amount]
    writes: [ok]
    check: ok or amount > 0
    remind: P1D
  pay_it:
    type: task
    kind: api
    reads: [amount]
    writes: [paid]
    retry: {attempts: 3, backoff_seconds: 2}
  e: {type: end}
flows:
  - {from: s, to: score_it}
  - {from: score_it, to: approve}
  - {from: approve, to: pay_it}
  - {from: pay_it, to: e}
policies:
  - {id: big, type: conditional_requirement, when: "amount > 10000", task: pay_it,
     requires: approve}
  - {id: scope, type: agent_scope, agent: scorer, tasks: [score_it]}
"""


def _compile(text: str) -> Any:
    return compile_loaded(load_text(text, "/tmp/review_identity_pay.yaml"))


def _edit(old: str, new: str) -> Any:
    assert old in BASE, old
    return _compile(BASE.replace(old, new, 1))


@pytest.fixture(scope="module")
def base() -> Any:
    return _compile(BASE)


# -- what holds ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_processes_are_stable_across_compile_document_and_bpmn(name: str) -> None:
    a = compile_file(MODELS / f"{name}.yaml")
    b = compile_file(MODELS / f"{name}.yaml")
    assert a.fingerprint == b.fingerprint
    stored = json.loads(json.dumps(to_document(a, str(MODELS / f"{name}.yaml"))))
    assert from_document(stored).fingerprint == a.fingerprint
    again = compile_import(read_bpmn(to_bpmn(a), str(MODELS / f"{name}.bpmn")))
    assert again.fingerprint == a.fingerprint


CHANGES = {
    "policy limit": ("amount > 10000", "amount > 20000"),
    "policy severity": ("requires: approve}", "requires: approve, severity: low}"),
    "agent threshold": ("tasks: [score_it]\n    threshold: 0.8",
                        "tasks: [score_it]\n    threshold: 0.9"),
    "agent scope": ("    tasks: [score_it]\n", "    tasks: [score_it, approve]\n"),
    "task reads": ("reads: [amount]\n    writes: [ok]",
                   "reads: [amount, requester]\n    writes: [ok]"),
    "task check": ("check: ok or amount > 0", "check: ok or amount > 1"),
    "task candidate": ("candidate: actor != requester", "candidate: actor == requester"),
    "task retry": ("attempts: 3", "attempts: 4"),
    "task threshold": ("    threshold: 0.8\n    handoff", "    threshold: 0.5\n    handoff"),
    "task remind": ("remind: P1D", "remind: P2D"),
}


@pytest.mark.parametrize("what", list(CHANGES))
def test_a_runtime_change_is_another_process(base: Any, what: str) -> None:
    assert _edit(*CHANGES[what]).fingerprint != base.fingerprint


SAME = {
    "remind in seconds": ("remind: P1D", "remind: 86400"),
    "remind in hours": ("remind: P1D", "remind: PT24H"),
    "backoff 2.0": ("backoff_seconds: 2}", "backoff_seconds: 2.0}"),
    "agent description": ('version: "1"\n    tasks',
                          'version: "1"\n    description: hi\n    tasks'),
    "policy keys reordered": (
        '{id: big, type: conditional_requirement, when: "amount > 10000", task: pay_it,\n'
        '     requires: approve}',
        '{requires: approve, task: pay_it, when: "amount > 10000", '
        'type: conditional_requirement, id: big}'),
    "top-level keys reordered": ("roles: [clerk, manager]\n", ""),
}


@pytest.mark.parametrize("what", list(SAME))
def test_a_cosmetic_change_keeps_the_identity(base: Any, what: str) -> None:
    old, new = SAME[what]
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    if what == "top-level keys reordered":
        text = text.replace("process: pay\n", "process: pay\nroles: [clerk, manager]\n")
    assert _compile(text).fingerprint == base.fingerprint


def _genuine(tmp_path: Path) -> tuple[str, Path, str]:
    db = tmp_path / "g.db"
    url = f"sqlite:///{db}"
    assert run(["start", str(INVOICE), "--cases", "2", "--db", url]) == 0
    with sqlite3.connect(db) as conn:
        [(fp,)] = conn.execute("select fingerprint from petriflow_processes").fetchall()
    conn.close()
    return url, db, fp


def _set_document(db: Path, fp: str, doc: Any) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("update petriflow_processes set document = ? where fingerprint = ?",
                     (json.dumps(doc), fp))
    conn.close()


def _document(db: Path, fp: str) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        [(text,)] = conn.execute("select document from petriflow_processes where "
                                 "fingerprint = ?", (fp,)).fetchall()
    conn.close()
    return json.loads(text)


def test_a_document_downgraded_to_format_1_is_still_caught(tmp_path: Path,
                                                           capsys: Capsys) -> None:
    """Edited policy, format set to 1 and the document's fingerprint set to the legacy one:
    the rebuild passes, the key it is filed under does not."""
    url, db, fp = _genuine(tmp_path)
    doc = _document(db, fp)
    legacy = compile_file(INVOICE).legacy_fingerprint
    next(p for p in doc["policies"] if p["id"] == "cfo_above_limit")["when"] = "amount > 9e9"
    _set_document(db, fp, {**doc, "format": 1, "fingerprint": legacy})
    with pytest.raises(CorruptionError, match="changed after it was deployed"):
        Engine(SqlStore(url)).deployment(fp)
    assert run(["audit", "verify", "--db", url]) == 1
    assert "changed after it was deployed" in capsys.readouterr().out


def test_a_worker_leaves_the_cases_of_an_edited_definition_alone_and_does_the_rest(
        tmp_path: Path, capsys: Capsys) -> None:
    """One tampered process must not stop the work of the others: its cases are named
    and left untouched, the other process's cases go on, and the worker exits 1."""
    url, db, fp = _genuine(tmp_path)
    hiring = MODELS / "hr_hiring.yaml"
    assert run(["start", str(hiring), "--cases", "2", "--db", url]) == 0
    doc = _document(db, fp)
    next(p for p in doc["policies"] if p["id"] == "cfo_above_limit")["when"] = "amount > 9e9"
    _set_document(db, fp, doc)
    with sqlite3.connect(db) as conn:
        before = dict(conn.execute("select id, version from petriflow_cases").fetchall())
        process_of = dict(conn.execute("select id, fingerprint from petriflow_cases"))
    conn.close()
    capsys.readouterr()
    assert run(["worker", "--db", url, "--until-idle", "--max-seconds", "30", "--seed", "1",
                "--format", "json"]) == 1
    out = capsys.readouterr()
    tampered = sorted(c for c, f in process_of.items() if f == fp)
    assert sorted(json.loads(out.out)["quarantined"]) == tampered
    for case_id in tampered:
        assert f"case {case_id} left alone" in out.err
        assert "changed after it was deployed" in out.err
    with sqlite3.connect(db) as conn:
        after = dict(conn.execute("select id, version from petriflow_cases").fetchall())
    conn.close()
    assert all(after[c] == before[c] for c in tampered)
    assert all(after[c] > before[c] for c in before if c not in tampered)


# -- stored definitions ------------------------------------------------------------------------


def test_a_format_1_process_written_out_again_can_be_read_back() -> None:
    """A process rebuilt from a format-1 document is written out as format 1 again, so
    another store (or a copy of the database) reads it back under the same identity."""
    compiled = compile_file(INVOICE)
    old = {**to_document(compiled), "format": 1, "fingerprint": compiled.legacy_fingerprint}
    legacy = from_document(old)
    assert legacy.fingerprint == compiled.legacy_fingerprint
    again = from_document(json.loads(json.dumps(to_document(legacy))))
    assert again.fingerprint == legacy.fingerprint


def test_deploying_again_keeps_the_edited_definition_as_evidence(tmp_path: Path) -> None:
    """The edited row is not overwritten by a later deployment of the genuine file, and
    the error says what helps: restoring the database."""
    url, db, fp = _genuine(tmp_path)
    doc = _document(db, fp)
    doc["spec"]["agents"][0]["threshold"] = 0.01
    _set_document(db, fp, doc)
    Engine(SqlStore(url)).deploy(INVOICE)
    assert _document(db, fp) == doc
    with pytest.raises(PetriflowError, match="changed after it was deployed") as err:
        Engine(SqlStore(url)).deployment(fp)
    assert "restore the database" in str(err.value)


def test_start_takes_a_bpmn_file(tmp_path: Path) -> None:
    bpmn = tmp_path / "invoice.bpmn"
    bpmn.write_text(to_bpmn(compile_file(INVOICE)))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert run(["start", str(bpmn), "--cases", "2", "--db", url]) == 0
    assert run(["worker", "--db", url, "--until-idle"]) == 0
    assert run(["audit", "verify", "--db", url]) == 0


MAIN = """\
process: main
data:
  amount: {type: int, input: true}
  ok: {type: bool}
  done: {type: bool}
roles: [clerk]
nodes:
  s: {type: start}
  vet: {type: call, process: sub.yaml}
  finish: {type: task, kind: auto, set: {done: "True"}}
  e: {type: end}
flows: [s -> vet, vet -> finish, finish -> e]
"""
_SUB_HEAD = """\
process: sub
data:
  amount: {type: int, input: true}
  ok: {type: bool}
roles: [clerk]
nodes:
  b: {type: start}
"""
SUB = _SUB_HEAD + """\
  check: {type: task, role: clerk, candidate: actor != "eve", reads: [amount], writes: [ok]}
  e: {type: end}
flows: [b -> check, check -> e]
"""


def test_a_process_with_a_call_run_by_petriflow_run_is_verified_from_anywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> None:
    """``petriflow run`` stores where the process came from, so its called files are
    found from any directory."""
    (tmp_path / "sub.yaml").write_text(SUB)
    (tmp_path / "main.yaml").write_text(MAIN)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert run(["run", str(tmp_path / "main.yaml"), "--cases", "2", "--db", url]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    code = run(["audit", "verify", "--db", url])
    assert code == 0, capsys.readouterr().out


def test_a_stored_process_needs_none_of_the_files_it_calls(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The document holds the called processes as they were inlined: a worker elsewhere
    (the files edited, moved or gone) runs the cases on the process they started on."""
    (tmp_path / "sub.yaml").write_text(SUB)
    (tmp_path / "main.yaml").write_text(MAIN)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert run(["start", str(tmp_path / "main.yaml"), "--cases", "2", "--db", url]) == 0
    (tmp_path / "sub.yaml").write_text(SUB.replace('"eve"', '"mallory"'))
    engine = Engine(SqlStore(url))
    [case, _] = engine.store.cases()
    assert engine.deployment(case.fingerprint).fingerprint == case.fingerprint
    (tmp_path / "sub.yaml").unlink()
    (tmp_path / "main.yaml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run(["worker", "--db", url, "--until-idle"]) == 0
    assert run(["audit", "verify", "--db", url]) == 0
    statuses = {c.status.value for c in Engine(SqlStore(url)).store.cases()}
    assert statuses <= {"completed", "waiting"}


@pytest.mark.parametrize("what", ["policies not a list", "path not a text"])
def test_a_malformed_document_is_a_model_error(what: str) -> None:
    """A document edited into another shape is a ModelError (one line), not a crash."""
    doc = copy.deepcopy(to_document(compile_file(INVOICE)))
    if what == "policies not a list":
        doc["policies"] = 5
    else:
        doc["path"] = 5
    with pytest.raises(ModelError):
        from_document(doc)


def test_a_document_that_is_not_an_object_is_a_finding(tmp_path: Path,
                                                       capsys: Capsys) -> None:
    """A stored document edited into a JSON array is a finding of `audit verify`."""
    url, db, fp = _genuine(tmp_path)
    _set_document(db, fp, [1, 2])
    capsys.readouterr()
    assert run(["audit", "verify", "--db", url]) == 1


def test_an_unreadable_document_is_reported_in_one_line() -> None:
    """A spec that no longer validates is reported in one line, naming the field."""
    doc = copy.deepcopy(to_document(compile_file(INVOICE)))
    doc["spec"]["nodes"]["pay"]["retry"] = {"attempts": "many"}
    with pytest.raises(ModelError) as err:
        from_document(doc)
    assert "\n" not in str(err.value), str(err.value)


def test_equal_processes_have_one_identity(base: Any) -> None:
    """Equality is identity: processes that differ in an agent's threshold (what the
    engine does) are not equal, though their nets are."""
    other = _edit(*CHANGES["agent threshold"])
    assert (other == base) == (other.fingerprint == base.fingerprint)


def test_the_tasks_of_a_called_process_keep_their_runtime_settings(tmp_path: Path) -> None:
    """An inlined task is run with its own spec (what it reads, its candidate rule), and
    that spec is part of the caller's identity."""
    from petriflow.errors import PolicyRefusal

    (tmp_path / "sub.yaml").write_text(SUB)
    (tmp_path / "main.yaml").write_text(MAIN)
    compiled = compile_file(tmp_path / "main.yaml")
    engine = Engine()
    case = engine.start(compiled, {"amount": 5})
    [item] = engine.work_items(case.id)
    info = engine.deployment(case.fingerprint).tasks[item.task]
    assert info.reads == ("amount",) and info.candidate_text == 'actor != "eve"'
    with pytest.raises(PolicyRefusal, match="the candidate rule"):
        engine.complete(item.id, "eve", {"ok": True})
    engine.complete(item.id, "bob", {"ok": True})
    (tmp_path / "sub.yaml").write_text(SUB.replace("reads: [amount]", "reads: []"))
    assert compile_file(tmp_path / "main.yaml").fingerprint != compiled.fingerprint


SUB_WITH_ACTORS = _SUB_HEAD + """\
  prepare: {type: task, role: clerk, writes: [ok]}
  who: {type: exclusive}
  check: {type: task, role: clerk, candidate: actor != by_prepare, writes: [ok],
          check: "ok or by_prepare != ''"}
  e: {type: end}
flows:
  - b -> prepare
  - prepare -> who
  - {from: who, to: check, when: "by_prepare != 'robot'"}
  - {from: who, to: e, default: true}
  - check -> e
"""


def test_a_called_process_may_name_who_did_its_own_tasks(tmp_path: Path) -> None:
    """``by_prepare`` in the called process is the actor of its inlined task
    (``by_vet__prepare``): four eyes inside a called process hold in the caller."""
    from petriflow.errors import PolicyRefusal

    (tmp_path / "sub.yaml").write_text(SUB_WITH_ACTORS)
    (tmp_path / "main.yaml").write_text(MAIN)
    compiled = compile_file(tmp_path / "main.yaml")
    assert {"by_vet__prepare", "by_vet__check"} <= {n for n, _ in compiled.data_color.fields}
    engine = Engine()
    case = engine.start(compiled, {"amount": 5})
    [item] = engine.work_items(case.id)
    engine.complete(item.id, "ann", {"ok": True})
    [item] = engine.work_items(case.id)
    with pytest.raises(PolicyRefusal, match="actor != by_vet__prepare"):
        engine.complete(item.id, "ann", {"ok": True})
    engine.complete(item.id, "bob", {"ok": True})
    assert engine.case(case.id).status.value == "completed"
    assert engine.replay(case.id).ok
    # the routing condition was renamed too: a robot's preparation skips the check
    robot = engine.start(compiled, {"amount": 5})
    [item] = engine.work_items(robot.id)
    engine.complete(item.id, "robot", {"ok": True})
    assert engine.case(robot.id).status.value == "completed"
