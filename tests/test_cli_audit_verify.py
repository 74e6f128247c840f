"""``petriflow audit verify`` catches a database edited behind the engine's back.

The journal is the source of truth: a case's status, incident, version, start time,
process and work items must be what its events imply, and no journal may outlive its
case. Each test copies one genuine SQLite database, changes it with ``sqlite3`` as an
intruder would, and expects exit 1 with a line naming the case and what differs.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from petriflow.cli import run
from petriflow.errors import ConflictError, CorruptionError, EngineError
from petriflow.model import compile_file
from petriflow.runtime import AgentAnswer, Engine, PermanentError
from petriflow.runtime.replay import orphan_journals, replay_case
from petriflow.store.base import CaseStatus
from petriflow.store.memory import InMemoryStore
from petriflow.store.sql import SqlStore
from petriflow.store.sql.read import journal_cases

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
INVOICE = MODELS / "invoice_to_payment.yaml"
INPUTS = {"invoice_id": "INV-3", "channel": "pdf", "document_quality": "good",
          "submitted_by": "sam"}

Capsys = pytest.CaptureFixture[str]

@dataclass(frozen=True)
class Db:
    """A genuine database and the cases and work items the tests change."""

    path: Path
    cases: int
    waiting: str          # waits for a manager's approval (offered)
    offered: str          # its approval work item
    closed: str           # a work item of the same case that was completed
    claimed: str          # a case whose approval mia holds
    claimed_item: str
    failed: str           # an incident stopped it
    held: str             # suspended while it waited
    done: str             # completed


def _engine(url: str) -> Engine:
    engine = Engine(SqlStore(url))
    engine.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "ACME", "amount": Decimal("812.40"), "currency": "EUR",
         "po_number": "PO3"}, 0.97, "scan"))
    engine.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    engine.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    return engine


def _approval(engine: Engine, case_id: str) -> str:
    [item] = [i for i in engine.work_items(case_id) if i.task == "approve_manager"]
    return item.id


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> Db:
    path = tmp_path_factory.mktemp("audit") / "genuine.db"
    url = f"sqlite:///{path}"
    for name in ("invoice_to_payment", "customer_service", "fraud_review", "hr_hiring"):
        assert run(["run", str(MODELS / f"{name}.yaml"), "--cases", "6", "--db", url,
                    "--format", "json"]) == 0
    engine = _engine(url)
    waiting = engine.start(INVOICE, INPUTS, case_id="waiting").id
    offered = _approval(engine, waiting)
    closed = next(i.id for i in engine.store.work_items(case=waiting, open_only=False)
                  if i.task == "extract_invoice")
    claimed = engine.start(INVOICE, INPUTS, case_id="claimed").id
    claimed_item = engine.claim(_approval(engine, claimed), "mia").id
    held = engine.start(INVOICE, INPUTS, case_id="held").id
    engine.suspend(held, reason="under investigation")

    def broken(call: Any) -> Any:
        raise PermanentError("the ERP refuses the invoice")

    engine.service("validate_invoice", broken)
    failed = engine.start(INVOICE, INPUTS, case_id="failed").id
    assert engine.case(failed).status is CaseStatus.FAILED
    store = engine.store
    done = next(c.id for c in store.cases(status=CaseStatus.COMPLETED))
    cases = len(store.case_ids())
    assert isinstance(store, SqlStore)
    store.close()
    return Db(path, cases, waiting, offered, closed, claimed, claimed_item, failed, held,
              done)


@pytest.fixture
def db(genuine: Db, tmp_path: Path) -> Iterator[Db]:
    """A fresh copy of the genuine database, to be tampered with."""
    copy = tmp_path / "copy.db"
    shutil.copy(genuine.path, copy)
    yield replace(genuine, path=copy)


def _url(db: Db) -> str:
    return f"sqlite:///{db.path}"


def _sql(db: Db, statement: str, *params: Any) -> None:
    with sqlite3.connect(db.path) as conn:
        assert conn.execute(statement, params).rowcount == 1, statement
    conn.close()


def _value(db: Db, query: str, *params: Any) -> Any:
    with sqlite3.connect(db.path) as conn:
        [(value,)] = conn.execute(query, params).fetchall()
    conn.close()
    return value


def _tampered(capsys: Capsys, db: Db, case_id: str, *expected: str) -> str:
    """audit verify exits 1; one problem names ``case_id`` and says ``expected``."""
    code = run(["audit", "verify", "--db", _url(db)])
    out = capsys.readouterr().out
    assert code == 1, out
    lines = [ln for ln in out.splitlines() if ln.startswith(f"case {case_id}:")]
    assert lines, out
    for text in expected:
        assert any(text in ln for ln in lines), (text, out)
    others = [ln for ln in out.splitlines()
              if ln.startswith("case ") and not ln.startswith(f"case {case_id}:")]
    assert not others, out  # only the case that was changed is reported
    return out


def test_the_genuine_database_is_intact(capsys: Capsys, db: Db) -> None:
    assert run(["audit", "verify", "--db", _url(db)]) == 0
    assert f"{db.cases} of {db.cases} case(s) intact" in capsys.readouterr().out


# -- the case row -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "failed", "suspended", "running"])
def test_a_waiting_case_marked_otherwise(capsys: Capsys, db: Db, status: str) -> None:
    _sql(db, "update petriflow_cases set status = ? where id = ?", status, db.waiting)
    _tampered(capsys, db, db.waiting, f"stored status {status}, journal says waiting")


@pytest.mark.parametrize(("which", "journal", "status"), [
    ("failed", "failed", "waiting"), ("failed", "failed", "completed"),
    ("held", "suspended", "waiting"), ("held", "suspended", "running"),
    ("done", "completed", "waiting"), ("done", "completed", "failed"),
    ("claimed", "waiting", "completed")])
def test_a_case_marked_with_another_status(capsys: Capsys, db: Db, which: str, journal: str,
                                           status: str) -> None:
    case_id = getattr(db, which)
    _sql(db, "update petriflow_cases set status = ? where id = ?", status, case_id)
    _tampered(capsys, db, case_id, f"stored status {status}, journal says {journal}")


def test_an_incident_edited(capsys: Capsys, db: Db) -> None:
    real = _value(db, "select incident from petriflow_cases where id = ?", db.failed)
    assert "validate_invoice failed" in real
    _sql(db, "update petriflow_cases set incident = 'a harmless hiccup' where id = ?",
         db.failed)
    _tampered(capsys, db, db.failed,
              f"stored incident 'a harmless hiccup', journal says {real!r}")


def test_an_incident_cleared(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_cases set incident = null where id = ?", db.failed)
    _tampered(capsys, db, db.failed, "stored incident none, journal says 'validate_invoice")


def test_an_incident_cleared_and_the_case_set_waiting(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_cases set incident = null, status = 'waiting' where id = ?",
         db.failed)
    _tampered(capsys, db, db.failed, "stored status waiting, journal says failed",
              "stored incident none, journal says 'validate_invoice")


def test_an_incident_invented(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_cases set incident = 'made up' where id = ?", db.waiting)
    _tampered(capsys, db, db.waiting, "stored incident 'made up', journal says none")


@pytest.mark.parametrize("delta", [-1, 1])
def test_a_version_edited(capsys: Capsys, db: Db, delta: int) -> None:
    n = _value(db, "select count(*) from petriflow_events where case_id = ?", db.done)
    _sql(db, "update petriflow_cases set version = ? where id = ?", n + delta, db.done)
    _tampered(capsys, db, db.done, f"stored version {n + delta}, the journal holds {n} event")


def test_a_start_time_edited(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_cases set started = started - 86400 where id = ?", db.done)
    _tampered(capsys, db, db.done, "stored start time", "the journal's first event is at")


def test_a_process_name_edited(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_cases set process = 'petty_cash' where id = ?", db.waiting)
    _tampered(capsys, db, db.waiting, "stored process 'petty_cash'", "'invoice_to_payment'")


# -- work items --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "withdrawn", "claimed"])
def test_open_work_marked_otherwise(capsys: Capsys, db: Db, status: str) -> None:
    _sql(db, "update petriflow_work_items set status = ? where id = ?", status, db.offered)
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager): stored "
              f"{status}, journal says offered")


def test_open_work_deleted(capsys: Capsys, db: Db) -> None:
    _sql(db, "delete from petriflow_work_items where id = ?", db.offered)
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager) is missing "
              "from the store (the journal says offered)")


def test_closed_work_reopened(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_work_items set status = 'offered' where id = ?", db.closed)
    _tampered(capsys, db, db.waiting, f"work item {db.closed} (extract_invoice): stored "
              "offered, journal says completed")


def test_claimed_work_given_to_someone_else(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_work_items set claimed_by = 'eve' where id = ?",
         db.claimed_item)
    _tampered(capsys, db, db.claimed, f"work item {db.claimed_item} (approve_manager): "
              "stored claimed by 'eve', journal says 'mia'")


def test_work_nobody_offered(capsys: Capsys, db: Db) -> None:
    _sql(db, "insert into petriflow_work_items select 'waiting.999', case_id, task, place, "
         "kind, status, created, role, agent, claimed_by, attempt, key || 'x', due, "
         "lease_until, closed, outcome, leased_by, answer from petriflow_work_items "
         "where id = ?", db.offered)
    _tampered(capsys, db, db.waiting, "work item waiting.999 (approve_manager, offered) is "
              "stored, but no journal event offered it")


def test_the_policy_memory_forgets_an_approver(capsys: Capsys, db: Db) -> None:
    """Who approved is what segregation of duties checks the next approver against: a
    memory that forgets the manager lets the manager approve again as the CFO."""
    import json

    with sqlite3.connect(db.path) as conn:
        rows = conn.execute("select id, memory from petriflow_cases where status = "
                            "'completed' and process = 'invoice_to_payment'").fetchall()
    conn.close()
    case_id, memory = next((cid, json.loads(m)) for cid, m in rows
                           if "approve_manager" in json.loads(m).get("actors", {}))
    forgot = {**memory, "actors": {**memory["actors"], "approve_manager": []}}
    _sql(db, "update petriflow_cases set memory = ? where id = ?", json.dumps(forgot),
         case_id)
    _tampered(capsys, db, case_id, "stored policy memory", "journal says")


# -- timers --------------------------------------------------------------------------------------
# The manager's approval is reminded daily and escalates (times out) after three days.


def test_an_escalation_deleted(capsys: Capsys, db: Db) -> None:
    _sql(db, "delete from petriflow_timers where id = ?", f"{db.offered}:timeout")
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager): its "
              "timeout, due at", "is missing from the store (it would never fire)")


def test_an_escalation_postponed(capsys: Capsys, db: Db) -> None:
    due = _value(db, "select due from petriflow_timers where id = ?", f"{db.offered}:timeout")
    _sql(db, "update petriflow_timers set due = due + 31536000 where id = ?",
         f"{db.offered}:timeout")
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager): stored "
              f"timeout due at {due + 31536000!r}, journal says {due!r}")


def test_a_reminder_deleted_or_moved_off_its_cadence(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_timers set due = due + 3600 where id = ?",
         f"{db.claimed_item}:remind")
    _sql(db, "delete from petriflow_timers where id = ?", f"{db.offered}:remind")
    code = run(["audit", "verify", "--db", _url(db)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"case {db.waiting}: " in out and "its reminder is missing from the store" in out
    assert f"case {db.claimed}: " in out and "is off the task's cadence (every 86400.0 s" in out
    assert f"{db.cases - 2} of {db.cases} case(s) intact" in out


def test_a_reminder_that_came_round_is_on_its_cadence(db: Db) -> None:
    """Reminders re-arm a period after their due time: two days on is still intact."""
    _sql(db, "update petriflow_timers set due = due + 2 * 86400 where id = ?",
         f"{db.offered}:remind")
    assert _engine(_url(db)).replay(db.waiting).ok


# -- a journal without its case -------------------------------------------------------------


def test_a_deleted_case_leaves_its_journal(capsys: Capsys, db: Db) -> None:
    _sql(db, "delete from petriflow_cases where id = ?", db.done)
    out = _tampered(capsys, db, db.done, "the store has no record of this case, yet its "
                    "journal holds")
    assert f"{db.cases - 1} of {db.cases} case(s) intact" in out


def test_a_case_named_that_never_existed_is_a_mistake_not_a_finding(capsys: Capsys,
                                                                     db: Db) -> None:
    assert run(["audit", "verify", "--db", _url(db), "--case", "nosuch"]) == 2
    assert "no case 'nosuch' in the database" in capsys.readouterr().err
    _sql(db, "delete from petriflow_cases where id = ?", db.done)
    assert run(["audit", "verify", "--db", _url(db), "--case", db.done]) == 1
    assert f"case {db.done}:" in capsys.readouterr().out


def test_the_journal_query_finds_a_deleted_case(db: Db) -> None:
    """The SQL of SqlStore.journal_case_ids (store/sql/read.py), on the tampered file."""
    sql, params = journal_cases()
    with sqlite3.connect(db.path) as conn:
        before = [r[0] for r in conn.execute(sql, params)]
        conn.execute("delete from petriflow_cases where id = ?", (db.done,))
        after = [r[0] for r in conn.execute(sql, params)]
        rows = {r[0] for r in conn.execute("select id from petriflow_cases")}
    conn.close()
    assert before == after and len(after) == db.cases
    assert [c for c in after if c not in rows] == [db.done]


# -- the same checks without the CLI -----------------------------------------------------------


def _replay(db: Db, case_id: str) -> str:
    store = SqlStore(_url(db), create=False)
    try:
        rec = store.case(case_id)
        compiled = Engine(store).deployment(rec.fingerprint).compiled
        report = replay_case(compiled, rec, store.events(case_id),
                             store.work_items(case=case_id, open_only=False))
    finally:
        store.close()
    assert not report.ok
    return str(report)


def test_replay_compares_the_work_items(db: Db) -> None:
    store = SqlStore(_url(db), create=False)
    try:
        engine = Engine(store)
        for cid in store.case_ids():
            rec = store.case(cid)
            report = replay_case(engine.deployment(rec.fingerprint).compiled, rec,
                                 store.events(cid),
                                 store.work_items(case=cid, open_only=False))
            assert report.ok, str(report)
    finally:
        store.close()
    _sql(db, "update petriflow_work_items set status = 'completed' where id = ?", db.offered)
    _sql(db, "delete from petriflow_work_items where id = ?", db.closed)
    text = _replay(db, db.waiting)
    assert text.startswith(f"case {db.waiting}: replay differs from the stored state: ")
    assert f"work item {db.offered} (approve_manager): stored completed, journal says " \
           "offered" in text
    assert f"work item {db.closed} (extract_invoice) is missing from the store" in text


def test_orphan_journals_in_memory() -> None:
    store = InMemoryStore()
    engine = Engine(store)
    compiled = compile_file(INVOICE)
    for n in range(3):
        engine.start(compiled, INPUTS, case_id=f"c{n}")
    assert store.journal_case_ids() == ["c0", "c1", "c2"]
    assert orphan_journals(store) == []
    events = len(store.events("c1"))
    del store._cases["c1"]                      # as `delete from petriflow_cases` would
    [report] = orphan_journals(store)
    assert (report.case, report.ok, report.chain.ok) == ("c1", False, True)
    assert str(report) == (f"case c1: the store has no record of this case, yet its "
                           f"journal holds {events} event(s) (was the case deleted?)")



# -- the stored definition ------------------------------------------------------------------


def test_a_policy_weakened_in_the_stored_definition(capsys: Capsys, db: Db) -> None:
    """The CFO limit raised in the stored document: the cases that started under the real
    one are reported, and the engine refuses to run on the edited definition."""
    import json

    with sqlite3.connect(db.path) as conn:
        rows = conn.execute("select fingerprint, document from petriflow_processes "
                            "where name = 'invoice_to_payment'").fetchall()
    conn.close()
    [(fingerprint, text)] = rows
    doc = json.loads(text)
    [limit] = [p for p in doc["policies"] if p["id"] == "cfo_above_limit"]
    assert limit["when"] == "amount > 10000"
    limit["when"] = "amount > 99999999"
    _sql(db, "update petriflow_processes set document = ? where fingerprint = ?",
         json.dumps(doc), fingerprint)
    code = run(["audit", "verify", "--db", _url(db)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "changed after it was deployed" in out, out
    engine = _engine(_url(db))
    with pytest.raises(CorruptionError, match="changed after it was deployed"):
        engine.deployment(fingerprint)
    # a worker rebuilds processes from the database: it leaves those cases alone, naming
    # each in one clear line, and says so in its exit code
    code = run(["worker", "--db", _url(db), "--until-idle"])
    err = capsys.readouterr().err
    assert code == 1 and "changed after it was deployed" in err, err
    assert "Traceback" not in err


def test_a_case_id_taken_says_so(db: Db) -> None:
    engine = _engine(_url(db))
    with pytest.raises(ConflictError, match="case waiting exists already"):
        engine.start(INVOICE, INPUTS, case_id="waiting")
    for bad in ("", "   "):
        with pytest.raises(EngineError, match="non-empty"):
            engine.start(INVOICE, INPUTS, case_id=bad)
    assert len(engine.store.case_ids()) == db.cases


# -- who may do the work, and the answers kept for recovery ------------------------------------


@pytest.mark.parametrize(("columns", "stored"), [
    ("role = null", "stored for human,"),
    ("role = 'clerk'", "stored for human in role clerk,"),
    ("kind = 'agent', agent = 'invoice_extractor', role = null",
     "stored for agent invoice_extractor,"),
])
def test_who_may_do_open_work_edited(capsys: Capsys, db: Db, columns: str,
                                     stored: str) -> None:
    """A role dropped lets anyone claim the approval; a kind changed hands it to an agent."""
    role = _value(db, "select role from petriflow_work_items where id = ?", db.offered)
    _sql(db, f"update petriflow_work_items set {columns} where id = ?", db.offered)
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager): {stored} "
              f"its offer says human in role {role}")


def test_an_idempotency_key_edited(capsys: Capsys, db: Db) -> None:
    _sql(db, "update petriflow_work_items set key = 'other' where id = ?", db.offered)
    _tampered(capsys, db, db.waiting, "with idempotency key 'other'")


def _service_item(db: Db) -> str:
    return _value(db, "select id from petriflow_work_items where case_id = ? and task = "
                      "'validate_invoice'", db.waiting)


def test_a_recorded_answer_edited(capsys: Capsys, db: Db) -> None:
    """The engine consumes a recorded answer instead of calling the service again: a
    forged one must not pass for the service's."""
    import json

    item = _service_item(db)
    answer = json.loads(_value(db, "select answer from petriflow_work_items where id = ?",
                               item))
    assert answer["output"] == {"contract_ok": True, "terms_ok": True}
    answer["output"]["terms_ok"] = False
    _sql(db, "update petriflow_work_items set answer = ? where id = ?", json.dumps(answer),
         item)
    _tampered(capsys, db, db.waiting, f"work item {item} (validate_invoice): the stored "
              "recorded answer differs from the one event")


def test_a_recorded_answer_invented(capsys: Capsys, db: Db) -> None:
    import json

    forged = {"attempt": 1, "output": {"approved": True}, "actor": None, "confidence": None,
              "rationale": None}
    _sql(db, "update petriflow_work_items set answer = ? where id = ?", json.dumps(forged),
         db.offered)
    _tampered(capsys, db, db.waiting, f"work item {db.offered} (approve_manager): a recorded "
              "answer is stored, but no journal event recorded one")
