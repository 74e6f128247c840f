"""The SQLite store against damaged files: garbage, truncation, corrupt pages, tampered
journal rows, undecodable case rows and foreign schema versions all give a clear
petriflow error (or an audit finding), never a raw SQLAlchemy traceback."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from petriflow.cli import run
from petriflow.errors import CorruptionError, PetriflowError, StoreError
from petriflow.runtime import AgentAnswer, Engine, ManualClock
from petriflow.store.base import CaseStatus
from petriflow.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "models" / "invoice_to_payment.yaml"
INPUTS = {"invoice_id": "INV-7", "channel": "pdf", "document_quality": "good",
          "submitted_by": "sam"}


def _handlers(engine: Engine) -> Engine:
    engine.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "ACME", "amount": Decimal("812.40"), "currency": "EUR",
         "po_number": "PO7"}, 0.97, "clear"))
    engine.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    engine.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    engine.service("pay", lambda c: {"payment_reference": "PAY-" + c.key})
    return engine


def _completed_case(url: str) -> str:
    store = SqlStore(url)
    try:
        engine = _handlers(Engine(store, clock=ManualClock()))
        case = engine.start(INVOICE, INPUTS, case_id="inv-7")
        [item] = [i for i in engine.work_items(case.id) if i.task == "approve_manager"]
        engine.complete(item.id, "mia", {"approved": True})
        done = engine.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
        assert done.status is CaseStatus.COMPLETED
        assert engine.replay(case.id).ok
        return case.id
    finally:
        store.close()


def _sql(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A SQLite file with one completed invoice case: (path, url, case id)."""
    path = tmp_path / "petriflow.db"
    url = f"sqlite:///{path}"
    case_id = _completed_case(url)
    _sql(path, "PRAGMA wal_checkpoint(TRUNCATE)")
    yield path, url, case_id


def _replay(url: str, case_id: str) -> str:
    store = SqlStore(url)
    try:
        report = Engine(store, clock=ManualClock()).replay(case_id)
        assert not report.ok
        return str(report)
    finally:
        store.close()


def _audit(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    code = run(["audit", "verify", "--db", url])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


# -- files that are not (whole) databases -------------------------------------------------------


def test_a_garbage_file_is_a_corruption_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database, just some bytes\n" * 200)
    with pytest.raises(CorruptionError, match=r"garbage\.db.*cannot be read"):
        SqlStore(f"sqlite:///{path}")


@pytest.mark.parametrize("fraction", [0.5, 0.1])
def test_a_truncated_file_is_a_corruption_error(db: tuple[Path, str, str], tmp_path: Path,
                                                fraction: float) -> None:
    path, _, _ = db
    data = path.read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptionError, match="malformed"):
        store = SqlStore(f"sqlite:///{cut}")
        try:
            for cid in store.case_ids():
                store.case(cid)
                store.events(cid)
        finally:
            store.close()


def test_a_garbage_file_gives_exit_2_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(8192))
    assert run(["cases", "list", "--db", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and "Traceback" not in err


def _corrupt_table(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage, leaving the rest intact."""
    [(page_size,)] = _sql(path, "PRAGMA page_size")
    [(root,)] = _sql(path, "SELECT rootpage FROM sqlite_master WHERE name = ?", table)
    data = bytearray(path.read_bytes())
    start = (int(root) - 1) * int(page_size)
    data[start:start + int(page_size)] = b"\xa5" * int(page_size)
    path.write_bytes(bytes(data))


def test_a_corrupt_journal_page_is_a_corruption_error(db: tuple[Path, str, str]) -> None:
    path, url, case_id = db
    _corrupt_table(path, "petriflow_events")
    store = SqlStore(url)           # the schema pages are fine: it opens
    try:
        with pytest.raises(StoreError, match="malformed"):
            store.events(case_id)
    finally:
        store.close()


def test_audit_verify_on_a_corrupt_page_exits_without_a_traceback(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, url, _ = db
    _corrupt_table(path, "petriflow_events")
    code, text = _audit(capsys, url)
    assert code in (1, 2)
    assert "malformed" in text


# -- tampered journals --------------------------------------------------------------------------


def test_a_changed_event_body_is_detected(db: tuple[Path, str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, url, case_id = db
    [(body,)] = _sql(path, "SELECT body FROM petriflow_events WHERE case_id = ? AND seq = 13",
                     case_id)
    doc = json.loads(str(body))
    doc["actor"] = "mallory"
    _sql(path, "UPDATE petriflow_events SET body = ? WHERE case_id = ? AND seq = 13",
         json.dumps(doc), case_id)
    text = _replay(url, case_id)
    assert case_id in text and "event 13" in text and "does not match its hash" in text
    code, out = _audit(capsys, url)
    assert code == 1
    assert f"case {case_id}: event 13" in out
    assert "0 of 1 case(s) intact" in out


def test_a_changed_event_hash_is_detected(db: tuple[Path, str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, url, case_id = db
    _sql(path, "UPDATE petriflow_events SET hash = ? WHERE case_id = ? AND seq = 4",
         "f" * 64, case_id)
    text = _replay(url, case_id)
    assert f"case {case_id}: event 4" in text
    code, out = _audit(capsys, url)
    assert code == 1 and f"case {case_id}: event 4" in out


def test_a_consistently_rehashed_edit_is_caught_by_the_head(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Dropping the last events (a clean cut of the chain) is caught by the case's head."""
    path, url, case_id = db
    [(n,)] = _sql(path, "SELECT count(*) FROM petriflow_events WHERE case_id = ?", case_id)
    _sql(path, "DELETE FROM petriflow_events WHERE case_id = ? AND seq > ?", case_id,
         int(str(n)) - 2)
    text = _replay(url, case_id)
    assert case_id in text and "missing" in text
    code, out = _audit(capsys, url)
    assert code == 1 and case_id in out


def test_an_unreadable_event_body_is_an_audit_finding(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, url, case_id = db
    _sql(path, "UPDATE petriflow_events SET body = '{not json' WHERE case_id = ? AND seq = 2",
         case_id)
    store = SqlStore(url)
    try:
        with pytest.raises(CorruptionError, match=rf"case {case_id}, event 2"):
            store.events(case_id)
    finally:
        store.close()
    code, out = _audit(capsys, url)
    assert code == 1
    assert f"case {case_id}" in out and "event 2" in out


# -- schema versions -------------------------------------------------------------------------


def test_another_schema_version_is_refused_with_a_way_to_migrate(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, url, _ = db
    _sql(path, "UPDATE petriflow_schema SET version = 99")
    with pytest.raises(StoreError, match="schema version 99") as caught:
        SqlStore(url)
    assert not isinstance(caught.value, CorruptionError)
    assert "migrate" in str(caught.value)
    assert run(["cases", "list", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "schema version 99" in err and "migrate" in err and "Traceback" not in err


def test_the_migration_command_named_by_the_hint_exists(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db", "migrate", "--help"]) == 0


@pytest.mark.parametrize("version", ["'abc'", "1.5", "0", "-3", "X'01'"])
def test_a_schema_version_that_is_no_version_is_corruption(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str], version: str) -> None:
    path, url, _ = db
    _sql(path, f"UPDATE petriflow_schema SET version = {version}")
    for create in (True, False):
        with pytest.raises(CorruptionError, match="not a positive whole number") as caught:
            SqlStore(url, create=create)
        assert str(path) in str(caught.value) and "petriflow_schema" in str(caught.value)
    assert run(["cases", "list", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "petriflow_schema" in err and "Traceback" not in err


def test_a_deleted_schema_row_is_reported_not_rewritten(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, url, _ = db
    _sql(path, "DELETE FROM petriflow_schema")
    for create in (False, True):  # not even a creating open may guess the version of data
        with pytest.raises(CorruptionError, match="row was deleted") as caught:
            SqlStore(url, create=create)
        assert str(path) in str(caught.value) and "petriflow_cases" in str(caught.value)
    assert run(["cases", "list", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "petriflow_schema is empty" in err and "Traceback" not in err
    assert _sql(path, "SELECT version FROM petriflow_schema") == []


def test_an_interrupted_creation_is_finished_only_by_a_creating_open(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from petriflow.store.sql.schema import SCHEMA_VERSION, metadata

    path = tmp_path / "half.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    metadata.create_all(engine)        # the tables, then a crash before the version row
    engine.dispose()
    with pytest.raises(StoreError, match="creation was interrupted") as caught:
        SqlStore(url, create=False)
    assert not isinstance(caught.value, CorruptionError)
    assert _sql(path, "SELECT version FROM petriflow_schema") == []
    SqlStore(url).close()              # a creating open finishes the creation
    assert _sql(path, "SELECT version FROM petriflow_schema") == [(SCHEMA_VERSION,)]
    SqlStore(url, create=False).close()


def test_two_schema_rows_open_only_when_they_agree(db: tuple[Path, str, str]) -> None:
    path, url, case_id = db
    _sql(path, "INSERT INTO petriflow_schema (version) SELECT version FROM petriflow_schema")
    store = SqlStore(url, create=False)   # two creators racing may both write the row
    try:
        assert store.case(case_id).status is CaseStatus.COMPLETED
    finally:
        store.close()
    _sql(path, "UPDATE petriflow_schema SET version = 7 WHERE rowid = "
               "(SELECT max(rowid) FROM petriflow_schema)")
    with pytest.raises(CorruptionError, match="several schema versions"):
        SqlStore(url, create=False)


# -- undecodable case rows -------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "message"), [
    ("data", '{"amount": "lots"}', "does not fit its declared types"),
    ("data", "{broken", "data: the stored value is not valid JSON"),
    ("data", "[1, 2]", "case data is not a record"),
    ("marking", '{"pay:done": -1}', "the marking is not a count per place"),
    ("status", "paused", "unknown status 'paused'"),
])
def test_an_undecodable_case_row_names_the_case(
        db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str], column: str,
        value: str, message: str) -> None:
    path, url, case_id = db
    _sql(path, f"UPDATE petriflow_cases SET {column} = ? WHERE id = ?", value, case_id)
    store = SqlStore(url)
    try:
        with pytest.raises(CorruptionError, match=f"case {case_id}") as caught:
            store.case(case_id)
        assert message in str(caught.value)
        with pytest.raises(CorruptionError):
            store.cases()
    finally:
        store.close()
    assert run(["cases", "show", case_id, "--db", url]) == 2
    err = capsys.readouterr().err
    assert case_id in err and message in err and "Traceback" not in err
    code, out = _audit(capsys, url)
    assert code == 1 and case_id in out


# -- opening -----------------------------------------------------------------------------------


def test_an_unreachable_server_is_not_called_corrupt() -> None:
    with pytest.raises(StoreError) as caught:
        SqlStore("postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert not isinstance(caught.value, CorruptionError)
    assert "cannot be read" not in str(caught.value)


def test_a_missing_database_is_reported_as_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.db"
    assert run(["cases", "list", "--db", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" not in err
    assert not path.exists()


def test_errors_are_petriflow_errors_with_safe_urls() -> None:
    with pytest.raises(PetriflowError) as caught:
        SqlStore("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test")
    assert "s3cret" not in str(caught.value)
