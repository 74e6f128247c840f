"""``petriflow processes`` and ``petriflow agents``: an operator lists what is deployed and
pulls the kill switches from the command line; every worker on the database obeys them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from petriflow.cli import run
from petriflow.store.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent
INVOICE = ROOT / "models" / "invoice_to_payment.yaml"
Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _no_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def url(tmp_path: Path, capsys: Capsys) -> str:
    """Three invoice cases waiting for their work."""
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert run(["start", str(INVOICE), "--cases", "3", "--db", url]) == 0
    capsys.readouterr()
    return url


def _out(capsys: Capsys, argv: list[str]) -> str:
    code = run(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _json(capsys: Capsys, argv: list[str]) -> Any:
    return json.loads(_out(capsys, [*argv, "--format", "json"]))


def _worker(capsys: Capsys, url: str) -> dict[str, Any]:
    return _json(capsys, ["worker", "--db", url, "--until-idle", "--max-seconds", "20",
                          "--seed", "3"])


def _versions(url: str) -> dict[str, int]:
    store = SqlStore(url)
    try:
        return {c.id: c.version for c in store.cases()}
    finally:
        store.close()


def test_a_suspended_process_stands_still_for_every_worker_until_resumed(
        capsys: Capsys, url: str) -> None:
    [row] = _json(capsys, ["processes", "list", "--db", url])
    assert (row["process"], row["suspended"], row["cases"]) == (
        "invoice_to_payment", False, {"waiting": 3})
    assert len(row["fingerprint"]) == 64
    assert "process invoice_to_payment: suspended" in _out(
        capsys, ["processes", "suspend", "invoice_to_payment", "--db", url])
    [row] = _json(capsys, ["processes", "list", "--db", url])
    assert row["suspended"] is True
    assert "SUSPENDED" in _out(capsys, ["processes", "list", "--db", url])
    before = _versions(url)
    stats = _worker(capsys, url)
    assert (stats["items"], stats["timers"]) == (0, 0)
    assert _versions(url) == before, "no case of a suspended process moved"
    _out(capsys, ["processes", "resume", "invoice_to_payment", "--db", url])
    assert _worker(capsys, url)["items"] > 0
    assert all(v > before[c] for c, v in _versions(url).items())


def test_a_suspended_agent_hands_its_work_to_people_and_is_never_called(
        capsys: Capsys, url: str) -> None:
    [agent] = _json(capsys, ["agents", "list", "--db", url])
    assert (agent["agent"], agent["suspended"], agent["completions"]) == (
        "invoice_extractor", False, 0)
    assert agent["tasks"] == ["extract_invoice"]
    out = _out(capsys, ["agents", "suspend", "invoice_extractor", "--db", url])
    assert "3 open work item(s) handed to people" in out
    [agent] = _json(capsys, ["agents", "list", "--db", url])
    assert (agent["suspended"], agent["handoffs"]) == (True, 3)
    _worker(capsys, url)
    store = SqlStore(url)
    try:
        calls = [e for c in store.case_ids() for e in store.events(c)
                 if e.actor == "invoice_extractor"
                 and not (e.transition or "").endswith(":handoff")]  # (handed on uncalled)
    finally:
        store.close()
    assert calls == [], "a suspended agent was called"
    _out(capsys, ["agents", "resume", "invoice_extractor", "--db", url])
    [agent] = _json(capsys, ["agents", "list", "--db", url])
    assert agent["suspended"] is False


@pytest.mark.parametrize(("argv", "message"), [
    (["processes", "suspend", "invoice_to_paymnt"], "did you mean 'invoice_to_payment'"),
    (["processes", "resume", "hiring"], "the database has invoice_to_payment"),
    (["agents", "suspend", "invoice_extractr"], "did you mean 'invoice_extractor'"),
    (["agents", "resume", "nobody"], "no agent 'nobody' in the database"),
])
def test_a_name_that_is_not_deployed_is_refused(capsys: Capsys, url: str, argv: list[str],
                                                message: str) -> None:
    before = _versions(url)
    code = run([*argv, "--db", url])
    out = capsys.readouterr()
    assert code == 2 and message in out.err and "Traceback" not in out.err
    assert _versions(url) == before
    assert all(not r["suspended"] for r in _json(capsys, ["processes", "list", "--db", url]))


def test_an_empty_database_says_so(capsys: Capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    SqlStore(url).close()
    assert _out(capsys, ["processes", "list", "--db", url]).strip() == "no process deployed"
    assert _out(capsys, ["agents", "list", "--db", url]).strip() == "no agent registered"
    assert _json(capsys, ["agents", "list", "--db", url]) == []


# -- the operators' log ----------------------------------------------------------------------------


def _sql(url: str, statement: str) -> None:
    import sqlite3

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(statement)
    conn.close()


def _verify(capsys: Capsys, url: str) -> tuple[int, str]:
    code = run(["audit", "verify", "--db", url])
    return code, capsys.readouterr().out


def test_each_decision_is_logged_with_who_and_why(capsys: Capsys, url: str) -> None:
    _out(capsys, ["agents", "suspend", "invoice_extractor", "--db", url, "--by", "olga",
                  "--reason", "invents supplier names"])
    [agent] = _json(capsys, ["agents", "list", "--db", url])
    assert agent["decision"]["action"] == "suspend"
    assert (agent["decision"]["by"], agent["decision"]["reason"]) == (
        "olga", "invents supplier names")
    assert "SUSPENDED by olga: invents supplier names" in _out(
        capsys, ["agents", "list", "--db", url])
    _out(capsys, ["processes", "suspend", "invoice_to_payment", "--db", url, "--by", "cfo"])
    _out(capsys, ["processes", "resume", "invoice_to_payment", "--db", url, "--by", "cfo"])
    code, out = _verify(capsys, url)
    assert code == 0 and "operators' log intact" in out
    store = SqlStore(url)
    try:
        log = [(o.kind, o.key, o.action, o.actor) for o in store.operations()]
    finally:
        store.close()
    assert log == [("agent", "invoice_extractor", "suspend", "olga"),
                   ("process", "invoice_to_payment", "suspend", "cfo"),
                   ("process", "invoice_to_payment", "resume", "cfo")]


@pytest.mark.parametrize(("tamper", "expected"), [
    ("DELETE FROM petriflow_switches", "the log says it is suspended, but it is not"),
    ("INSERT INTO petriflow_switches (kind, key) VALUES ('process', 'invoice_to_payment')",
     "process invoice_to_payment: suspended, but no operator decision"),
    ("UPDATE petriflow_operations SET reason = 'routine check'",
     "operations log, entry 1: does not verify"),
    ("UPDATE petriflow_operations SET actor = 'someone else'",
     "operations log, entry 1: does not verify"),
])
def test_a_switch_or_a_decision_changed_behind_the_log_is_found(
        capsys: Capsys, url: str, tamper: str, expected: str) -> None:
    _out(capsys, ["agents", "suspend", "invoice_extractor", "--db", url, "--by", "olga",
                  "--reason", "invents supplier names"])
    _sql(url, tamper)
    code, out = _verify(capsys, url)
    assert code == 1 and expected in out and "operators' log NOT intact" in out


def test_a_version_1_database_migrates_with_its_switches_in_the_log(
        capsys: Capsys, url: str) -> None:
    """Schema version 1 had no operators' log: `petriflow db migrate` adds it, entering
    each switch already set, so that the log explains it."""
    _out(capsys, ["agents", "suspend", "invoice_extractor", "--db", url])
    _sql(url, "DROP TABLE petriflow_operations")
    _sql(url, "UPDATE petriflow_schema SET version = 1")
    code = run(["cases", "list", "--db", url])
    assert code == 2 and "petriflow db migrate" in capsys.readouterr().err
    _out(capsys, ["db", "migrate", "--db", url])
    code, out = _verify(capsys, url)
    assert code == 0 and "operators' log intact" in out
    [agent] = _json(capsys, ["agents", "list", "--db", url])
    assert (agent["suspended"], agent["decision"]["by"]) == (True, "migration")
