"""The engine commands of the CLI: ``run``, ``cases``, ``tasks`` and ``audit``, in process
against SQLite files (and memory), with exit code 2 and one clear message for every user
mistake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from petriflow.cli import run
from petriflow.governance.audit import EventKind
from petriflow.runtime import AgentAnswer, Engine
from petriflow.store.base import CaseStatus
from petriflow.store.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
REFERENCE = ["invoice_to_payment", "customer_service", "fraud_review", "hr_hiring"]
INVOICE = MODELS / "invoice_to_payment.yaml"
INPUTS = {"invoice_id": "INV-3", "channel": "pdf", "document_quality": "good",
          "submitted_by": "sam"}

Capsys = pytest.CaptureFixture[str]


def _ok(capsys: Capsys, argv: list[str]) -> str:
    code = run(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _json(capsys: Capsys, argv: list[str]) -> Any:
    return json.loads(_ok(capsys, [*argv, "--format", "json"]))


def _bad(capsys: Capsys, argv: list[str]) -> str:
    """Run a mistaken command: exit 2, one clear message on stderr, no traceback."""
    code = run(argv)
    out = capsys.readouterr()
    assert code == 2, (code, out.out, out.err)
    assert "Traceback" not in out.out + out.err
    assert out.err.strip(), "the mistake must be explained on stderr"
    return out.err


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'petriflow.db'}"


@pytest.fixture(autouse=True)
def _no_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that forget --db would write petriflow.db in the working directory."""
    monkeypatch.chdir(tmp_path)


# -- run ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE)
def test_run_completes_every_case_of_each_reference_model(capsys: Capsys, name: str) -> None:
    s = _json(capsys, ["run", str(MODELS / f"{name}.yaml"), "--memory", "--cases", "20"])
    assert s["cases"] == 20
    assert s["completed"] == s["cases"]
    assert sum(s["outcomes"].values()) == s["completed"]
    assert s["tasks"] > 0
    assert s["incidents"] == 0
    assert s["statuses"] == {"completed": 20}


def test_run_text_summary(capsys: Capsys) -> None:
    out = _ok(capsys, ["run", str(INVOICE), "--memory", "--cases", "5"])
    assert out.startswith("invoice_to_payment: 5 cases in")
    assert "outcomes:" in out and "refused by policy:" in out


def test_the_same_seed_gives_the_same_summary(capsys: Capsys, url: str) -> None:
    argv = ["run", str(INVOICE), "--cases", "25", "--seed", "11"]
    first = _json(capsys, [*argv, "--memory"])
    second = _json(capsys, [*argv, "--memory"])
    durable = _json(capsys, [*argv, "--db", url])
    for s in (first, second, durable):
        s.pop("seconds")
    assert first == second
    assert durable == first  # the store does not change what happens
    other = _json(capsys, ["run", str(INVOICE), "--cases", "25", "--seed", "12", "--memory"])
    other.pop("seconds")
    assert other != first


def test_seed_zero_is_a_seed_and_resume_needs_a_database(capsys: Capsys,
                                                          tmp_path: Path) -> None:
    argv = ["run", str(INVOICE), "--cases", "25", "--memory"]
    zero, default = _json(capsys, [*argv, "--seed", "0"]), _json(capsys, argv)
    for s in (zero, default):
        s.pop("seconds")
    assert zero != default, "the model's scenario has a seed of its own (7): 0 is another"
    err = _bad(capsys, ["run", str(INVOICE), "--resume", "--db",
                        f"sqlite:///{tmp_path / 'typo.db'}"])
    assert "typo.db" in err and not (tmp_path / "typo.db").exists()


def test_run_on_a_database_then_inspect_it(capsys: Capsys, url: str) -> None:
    s = _json(capsys, ["run", str(INVOICE), "--cases", "12", "--db", url])
    listed = _json(capsys, ["cases", "list", "--db", url])
    assert len(listed) == s["cases"] == 12
    assert {r["process"] for r in listed} == {"invoice_to_payment"}
    assert sum(r["status"] == "completed" for r in listed) == s["completed"]
    assert all(r["steps"] > 0 for r in listed)
    assert sum(r["steps"] for r in listed) >= s["steps"]
    assert _json(capsys, ["cases", "list", "--db", url, "--status", "waiting"]) == []
    assert len(_json(capsys, ["cases", "list", "--db", url, "--process",
                              "invoice_to_payment", "--status", "completed"])) == 12
    assert _json(capsys, ["cases", "list", "--db", url, "--process", "nope"]) == []
    text = _ok(capsys, ["cases", "list", "--db", url])
    assert "12 case(s)" in text
    shown = json.loads(_ok(capsys, ["cases", "show", listed[0]["id"], "--db", url,
                                    "--format", "json"]))
    assert shown["id"] == listed[0]["id"] and len(shown["events"]) == listed[0]["steps"]
    assert [e["seq"] for e in shown["events"]] == list(range(1, len(shown["events"]) + 1))
    assert run(["audit", "verify", "--db", url]) == 0
    assert "12 of 12 case(s) intact" in capsys.readouterr().out
    report = _json(capsys, ["audit", "verify", "--db", url])
    assert report == {"cases": 12, "intact": 12, "problems": []}
    # a second run adds cases next to the first ones
    _json(capsys, ["run", str(INVOICE), "--cases", "3", "--db", url])
    assert len(_json(capsys, ["cases", "list", "--db", url])) == 15


def _engine(url: str, *, agent: bool = True, confidence: float = 0.97) -> Engine:
    """An engine on the database with the wall clock, as the CLI's own engine has (a
    process-time clock at 0 would make every timer overdue for the CLI)."""
    engine = Engine(SqlStore(url))
    if agent:
        engine.agent("invoice_extractor", lambda r: AgentAnswer(
            {"supplier": "ACME", "amount": Decimal("812.40"), "currency": "EUR",
             "po_number": "PO3"}, confidence, "scan"))
        engine.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
        engine.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    return engine


def _close(engine: Engine) -> None:
    store = engine.store
    assert isinstance(store, SqlStore)
    store.close()


def test_resume_finishes_unfinished_cases_and_starts_none(capsys: Capsys, url: str) -> None:
    engine = _engine(url, agent=False)      # nobody answers: every case waits at its agent
    ids = [engine.start(INVOICE, {**INPUTS, "invoice_id": f"INV-{n}"},
                        case_id=f"left-{n}").id for n in range(4)]
    engine.start(INVOICE, INPUTS, case_id="held")
    engine.suspend("held", reason="under investigation")
    assert all(engine.case(c).status is CaseStatus.WAITING for c in ids)
    _close(engine)
    s = _json(capsys, ["run", str(INVOICE), "--db", url, "--resume"])
    assert s["cases"] == 4 and s["completed"] == 4
    assert sum(s["outcomes"].values()) == 4
    listed = {r["id"]: r["status"] for r in _json(capsys, ["cases", "list", "--db", url])}
    assert listed == {**dict.fromkeys(ids, "completed"), "held": "suspended"}
    assert run(["audit", "verify", "--db", url]) == 0
    capsys.readouterr()
    # nothing is left: a second resume has nothing to do
    again = _json(capsys, ["run", str(INVOICE), "--db", url, "--resume"])
    assert again["cases"] == 0 and again["completed"] == 0


def test_resume_after_a_simulation_cut_short(capsys: Capsys, url: str) -> None:
    """An interrupted `run`: its cases stopped half way; --resume finishes them."""
    from petriflow.model import compile_file
    from petriflow.runtime.scenario import load_scenario
    from petriflow.runtime.simulate import Simulation

    store = SqlStore(url)
    sim = Simulation(compile_file(INVOICE),
                     load_scenario(MODELS / "invoice_to_payment.scenario.yaml"), store=store)
    for n in range(6):
        sim._start(f"cut-{n}", n + 1)   # started, never run on: the process was killed
    store.close()
    statuses = {r["status"] for r in _json(capsys, ["cases", "list", "--db", url])}
    assert "completed" not in statuses
    s = _json(capsys, ["run", str(INVOICE), "--db", url, "--resume"])
    assert s["cases"] == 6 and s["completed"] == 6
    assert len(_json(capsys, ["cases", "list", "--db", url])) == 6
    assert run(["audit", "verify", "--db", url]) == 0


# -- tasks ------------------------------------------------------------------------------------


@pytest.fixture
def waiting(url: str) -> Iterator[tuple[str, str]]:
    """A case waiting for a manager's approval: (case id, work item id)."""
    engine = _engine(url)
    case = engine.start(INVOICE, INPUTS, case_id="inv-3")
    [item] = [i for i in engine.work_items(case.id) if i.task == "approve_manager"]
    _close(engine)
    yield case.id, item.id


def test_a_people_directory_checks_roles(capsys: Capsys, url: str, tmp_path: Path,
                                         waiting: tuple[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a directory nobody's roles are known; with one (--people or
    $PETRIFLOW_PEOPLE) only a manager takes a manager's approval."""
    _, item_id = waiting
    people = tmp_path / "people.yaml"
    people.write_text("manager: [mia]\nclerk: [carl]\n")
    err = _bad(capsys, ["tasks", "claim", item_id, "--as", "carl", "--db", url,
                        "--people", str(people)])
    assert "carl does not hold the role manager" in err
    monkeypatch.setenv("PETRIFLOW_PEOPLE", str(people))
    assert "does not hold the role manager" in _bad(
        capsys, ["tasks", "complete", item_id, "--as", "carl", "--set", "approved=true",
                 "--db", url])
    assert "claimed by mia" in _ok(capsys, ["tasks", "claim", item_id, "--as", "mia",
                                            "--db", url])
    people.write_text("manager: mia\n")
    assert "people.yaml, line 1: role 'manager' takes a list of names" in _bad(
        capsys, ["tasks", "complete", item_id, "--as", "mia", "--set", "approved=true",
                 "--db", url])


def test_tasks_list_claim_complete(capsys: Capsys, url: str,
                                   waiting: tuple[str, str]) -> None:
    case_id, item_id = waiting
    rows = _json(capsys, ["tasks", "list", "--db", url, "--role", "manager"])
    assert [(r["id"], r["task"], r["status"], r["case"]) for r in rows] == [
        (item_id, "approve_manager", "offered", case_id)]
    assert _json(capsys, ["tasks", "list", "--db", url, "--role", "clerk"]) == []
    assert [r["id"] for r in _json(capsys, ["tasks", "list", "--db", url, "--case", case_id])
            ] == [item_id]
    assert "1 open work item(s)" in _ok(capsys, ["tasks", "list", "--db", url])
    out = _ok(capsys, ["tasks", "claim", item_id, "--as", "mia", "--db", url])
    assert f"{item_id}: claimed by mia" in out
    [row] = _json(capsys, ["tasks", "list", "--db", url, "--case", case_id])
    assert row["status"] == "claimed" and row["claimed_by"] == "mia"
    out = _ok(capsys, ["tasks", "complete", item_id, "--as", "mia", "--set", "approved=true",
                       "--db", url])
    assert f"{item_id}: completed; case {case_id} is waiting" in out
    rows = _json(capsys, ["tasks", "list", "--db", url, "--case", case_id])
    assert [r["task"] for r in rows] == ["pay"]      # no pay service here: it waits
    shown = json.loads(_ok(capsys, ["cases", "show", case_id, "--db", url, "--format",
                                    "json"]))
    assert shown["data"]["approved"] is True
    assert shown["data"]["by_approve_manager"] == "mia"
    assert run(["audit", "verify", "--db", url]) == 0
    capsys.readouterr()
    # the completed item cannot be completed again
    err = _bad(capsys, ["tasks", "complete", item_id, "--as", "max", "--set",
                        "approved=true", "--db", url])
    assert item_id in err and "completed" in err


def test_a_refused_completion_names_the_rule_and_is_journalled(
        capsys: Capsys, url: str, waiting: tuple[str, str]) -> None:
    case_id, item_id = waiting
    before = _json(capsys, ["cases", "list", "--db", url])
    err = _bad(capsys, ["tasks", "complete", item_id, "--as", "sam", "--set",
                        "approved=true", "--db", url])
    assert "sam may not do approve_manager" in err
    assert "candidate rule" in err and "actor != submitted_by" in err
    store = SqlStore(url)
    try:
        last = store.events(case_id)[-1]
        assert last.kind == EventKind.REFUSED
        assert last.actor == "sam" and ("candidate", "fail") in last.policies
        assert store.work_item(item_id).status.open
        assert store.case(case_id).data["approved"] is False
    finally:
        store.close()
    after = _json(capsys, ["cases", "list", "--db", url])
    assert after[0]["steps"] == before[0]["steps"] + 1
    assert after[0]["status"] == "waiting"
    assert run(["audit", "verify", "--db", url]) == 0     # a refusal is evidence, not damage
    capsys.readouterr()


def test_an_answer_of_the_wrong_type_is_refused(capsys: Capsys, url: str,
                                                waiting: tuple[str, str]) -> None:
    _, item_id = waiting
    err = _bad(capsys, ["tasks", "complete", item_id, "--as", "mia", "--set",
                        "approved=maybe", "--db", url])
    assert "approved" in err


def test_a_decimal_can_be_entered_with_set(capsys: Capsys, url: str) -> None:
    """`--set amount=812.40` reads a JSON number; the engine takes it as that decimal."""
    engine = _engine(url, confidence=0.5)    # a low-confidence extraction goes to a clerk
    case = engine.start(INVOICE, INPUTS, case_id="low")
    [item] = [i for i in engine.work_items(case.id) if i.task == "review_extraction"]
    _close(engine)
    _ok(capsys, ["tasks", "complete", item.id, "--as", "carla", "--set", "supplier=ACME",
                 "--set", "amount=812.40", "--set", "currency=EUR", "--set", "po_number=PO3",
                 "--db", url])
    store = SqlStore(url)
    try:
        assert store.case("low").data["amount"] == Decimal("812.40")
    finally:
        store.close()


@pytest.mark.parametrize("how", ["set", "data"])
def test_an_entered_decimal_keeps_every_digit(capsys: Capsys, url: str, how: str) -> None:
    """A float would round 10000.0000000000001 to 10000.0, and the CFO's approval above
    10,000 would no longer be required."""
    engine = _engine(url, confidence=0.5)
    case = engine.start(INVOICE, INPUTS, case_id="low")
    [item] = [i for i in engine.work_items(case.id) if i.task == "review_extraction"]
    _close(engine)
    fields = ["--set", "supplier=ACME", "--set", "currency=EUR", "--set", "po_number=PO3"]
    amount = (["--set", "amount=10000.0000000000001"] if how == "set" else
              ["--data", '{"amount": 10000.0000000000001}'])
    _ok(capsys, ["tasks", "complete", item.id, "--as", "carla", *fields, *amount,
                 "--db", url])
    store = SqlStore(url)
    try:
        assert store.case("low").data["amount"] == Decimal("10000.0000000000001")
    finally:
        store.close()


def test_a_quoted_decimal_can_be_entered(capsys: Capsys, url: str) -> None:
    engine = _engine(url, confidence=0.5)
    case = engine.start(INVOICE, INPUTS, case_id="low")
    [item] = [i for i in engine.work_items(case.id) if i.task == "review_extraction"]
    _close(engine)
    _ok(capsys, ["tasks", "complete", item.id, "--as", "carla", "--data",
                 '{"supplier": "ACME", "amount": "812.40", "currency": "EUR", '
                 '"po_number": "PO3"}', "--db", url])
    store = SqlStore(url)
    try:
        assert store.case("low").data["amount"] == Decimal("812.40")
    finally:
        store.close()


# -- suspend and resume ---------------------------------------------------------------------


def test_suspend_then_resume(capsys: Capsys, url: str, waiting: tuple[str, str]) -> None:
    case_id, item_id = waiting
    out = _ok(capsys, ["cases", "suspend", case_id, "--db", url, "--reason", "fraud check"])
    assert f"case {case_id}: suspended" in out
    assert [r["status"] for r in _json(capsys, ["cases", "list", "--db", url])] == [
        "suspended"]
    err = _bad(capsys, ["tasks", "complete", item_id, "--as", "mia", "--set",
                        "approved=true", "--db", url])
    assert "suspended" in err
    steps = _json(capsys, ["cases", "list", "--db", url])[0]["steps"]
    assert "suspended" in _ok(capsys, ["cases", "suspend", case_id, "--db", url])  # no-op
    assert _json(capsys, ["cases", "list", "--db", url])[0]["steps"] == steps
    out = _ok(capsys, ["cases", "resume", case_id, "--db", url])
    assert f"case {case_id}: waiting" in out
    _ok(capsys, ["tasks", "complete", item_id, "--as", "mia", "--set", "approved=true",
                 "--db", url])
    shown = json.loads(_ok(capsys, ["cases", "show", case_id, "--db", url, "--format",
                                    "json"]))
    kinds = [(e["kind"], e["reason"]) for e in shown["events"] if e["kind"] == "case"]
    assert len(kinds) == 2 and "fraud check" in (kinds[0][1] or "")
    assert run(["audit", "verify", "--db", url]) == 0
    capsys.readouterr()


def test_a_completed_case_cannot_be_suspended(capsys: Capsys, url: str) -> None:
    _json(capsys, ["run", str(INVOICE), "--cases", "1", "--db", url])
    [row] = _json(capsys, ["cases", "list", "--db", url])
    assert row["status"] == "completed"
    err = _bad(capsys, ["cases", "suspend", row["id"], "--db", url])
    assert row["id"] in err and "completed" in err
    assert "completed" in _ok(capsys, ["cases", "resume", row["id"], "--db", url])


# -- mistakes ---------------------------------------------------------------------------------


def test_a_missing_model_file(capsys: Capsys, tmp_path: Path) -> None:
    err = _bad(capsys, ["run", str(tmp_path / "nope.yaml"), "--memory", "--cases", "1"])
    assert "nope.yaml" in err and "no such file" in err


@pytest.mark.parametrize("text", [
    "inputs: [unclosed\n",
    "tasks:\n  approve_manager:\n    delay: {uniform: [PT1H]}\n",
    "- just\n- a list\n",
    "tasks:\n  approve_manager:\n    misbehave: {probability: 2, actor: sam}\n",
])
def test_a_bad_scenario(capsys: Capsys, tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(text)
    err = _bad(capsys, ["run", str(INVOICE), "--memory", "--cases", "1", "--scenario",
                        str(path)])
    assert "bad.scenario.yaml" in err


def _no_managers(tmp_path: Path, horizon: str) -> Path:
    """The invoice scenario without its managers (approvals wait) and with ``horizon``."""
    import yaml

    doc = yaml.safe_load((MODELS / "invoice_to_payment.scenario.yaml").read_text())
    del doc["people"]["manager"]
    doc["horizon"] = horizon
    path = tmp_path / "no_managers.scenario.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_run_whose_work_nobody_may_do_stops_at_the_horizon(capsys: Capsys,
                                                             tmp_path: Path) -> None:
    """No managers: every invoice waits for an approval nobody may give while its daily
    reminder repeats; the run stops at the scenario's horizon and says what is open."""
    path = _no_managers(tmp_path, "P30D")
    argv = ["run", str(INVOICE), "--memory", "--cases", "4", "--scenario", str(path)]
    out = _json(capsys, argv)
    assert out["completed"] == 0 and out["statuses"] == {"waiting": 4}
    assert out["stopped_at_horizon"] == 30 * 86400
    text = _ok(capsys, argv)
    assert "stopped at the scenario's horizon, 30.0 d" in text
    assert "4 case(s) still open" in text
    done = _json(capsys, ["run", str(INVOICE), "--memory", "--cases", "4"])
    assert done["stopped_at_horizon"] is None, "a run that ends by itself is not stopped"


def test_a_run_leaves_the_other_cases_of_its_database_alone(capsys: Capsys, url: str,
                                                             tmp_path: Path) -> None:
    """The first run's invoices wait for a manager its scenario does not have; a second
    run on the same database must not time them out and have its own managers do them."""
    path = _no_managers(tmp_path, "P30D")
    first = _json(capsys, ["run", str(INVOICE), "--cases", "3", "--db", url,
                           "--scenario", str(path)])
    assert first["statuses"] == {"waiting": 3}
    store = SqlStore(url)
    try:
        before = {c.id: c.version for c in store.cases()}
    finally:
        store.close()
    second = _json(capsys, ["run", str(INVOICE), "--cases", "2", "--db", url])
    assert second["cases"] == 2 and second["completed"] == 2
    store = SqlStore(url)
    try:
        after = {c.id: (c.status, c.version) for c in store.cases() if c.id in before}
    finally:
        store.close()
    assert after == {cid: (CaseStatus.WAITING, v) for cid, v in before.items()}


def test_a_missing_scenario_file(capsys: Capsys, tmp_path: Path) -> None:
    err = _bad(capsys, ["run", str(INVOICE), "--memory", "--scenario",
                        str(tmp_path / "gone.yaml")])
    assert "gone.yaml" in err and "no such file" in err


def test_memory_does_not_go_with_db_or_resume(capsys: Capsys, url: str) -> None:
    assert "--memory" in _bad(capsys, ["run", str(INVOICE), "--memory", "--db", url])
    assert "--memory" in _bad(capsys, ["run", str(INVOICE), "--memory", "--resume"])


def test_unknown_ids(capsys: Capsys, url: str, waiting: tuple[str, str]) -> None:
    assert "no case 'nope'" in _bad(capsys, ["cases", "show", "nope", "--db", url])
    assert "nope" in _bad(capsys, ["cases", "suspend", "nope", "--db", url])
    assert "nope" in _bad(capsys, ["cases", "resume", "nope", "--db", url])
    assert "nope.1" in _bad(capsys, ["tasks", "claim", "nope.1", "--as", "mia", "--db", url])
    assert "nope.1" in _bad(capsys, ["tasks", "complete", "nope.1", "--as", "mia", "--db",
                                     url])
    capsys.readouterr()


def test_unknown_case_in_audit_verify(capsys: Capsys, url: str,
                                      waiting: tuple[str, str]) -> None:
    """No record and no journal: a typo (exit 2), not a tampered case (exit 1)."""
    assert "no case 'nope' in the database" in _bad(
        capsys, ["audit", "verify", "--db", url, "--case", "nope"])


@pytest.mark.parametrize("pair", ["approved", "=true", "approved:true"])
def test_set_without_equals(capsys: Capsys, url: str, waiting: tuple[str, str],
                            pair: str) -> None:
    _, item_id = waiting
    err = _bad(capsys, ["tasks", "complete", item_id, "--as", "mia", "--set", pair,
                        "--db", url])
    assert "--set takes FIELD=VALUE" in err and repr(pair) in err


@pytest.mark.parametrize("data", ["{not json", "[1, 2]"])
def test_bad_data_json(capsys: Capsys, url: str, waiting: tuple[str, str], data: str) -> None:
    _, item_id = waiting
    assert "--data" in _bad(capsys, ["tasks", "complete", item_id, "--as", "mia", "--data",
                                     data, "--db", url])


def test_a_bad_database_url(capsys: Capsys) -> None:
    err = _bad(capsys, ["cases", "list", "--db", "nosuchdialect://x"])
    assert "cannot use database" in err


def test_worker_does_the_open_work_and_reports_its_working_time(
        capsys: Capsys, tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((MODELS / "invoice_to_payment.scenario.yaml").read_text())
    for task in doc.get("tasks", {}).values():
        task.pop("failure_rate", None)  # a failed call would wait seconds for its retry
    scenario = tmp_path / "no_failures.scenario.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    url = f"sqlite:///{tmp_path / 'work.db'}"
    _ok(capsys, ["start", str(INVOICE), "--cases", "3", "--db", url,
                 "--scenario", str(scenario)])
    stats = _json(capsys, ["worker", "--db", url, "--until-idle", "--scenario",
                           str(scenario), "--seed", "1"])
    assert stats["items"] >= 3 and stats["conflicts"] == 0
    assert stats["busy_from"] <= stats["busy_until"]
    assert stats["busy_seconds"] == pytest.approx(stats["busy_until"] - stats["busy_from"])
    cases = _json(capsys, ["cases", "list", "--db", url])
    assert [c["status"] for c in cases] == ["completed"] * 3


def test_a_failed_case_waits_for_an_operator_then_retries(capsys: Capsys, url: str,
                                                           tmp_path: Path) -> None:
    """An incident stops the case: no worker calls the failing service again, no person
    completes its work, and `worker --until-idle` ends; `cases retry` clears it."""
    from petriflow.runtime import PermanentError

    engine = _engine(url)

    def broken(call: Any) -> Any:
        raise PermanentError("the ERP refuses the invoice")

    engine.service("validate_invoice", broken)
    case = engine.start(INVOICE, INPUTS, case_id="stuck")
    assert engine.case(case.id).status is CaseStatus.FAILED
    events = len(engine.store.events(case.id))
    [item] = [i for i in engine.work_items(case.id) if i.task == "validate_invoice"]
    _close(engine)
    err = _bad(capsys, ["tasks", "complete", item.id, "--as", "mia", "--set",
                        "contract_ok=true", "--set", "terms_ok=true", "--db", url])
    assert "incident" in err and "retry" in err
    scenario = tmp_path / "broken.scenario.yaml"
    scenario.write_text("tasks: {validate_invoice: {permanent_failure_rate: 1}}\n")
    _ok(capsys, ["worker", "--db", url, "--until-idle", "--lease", "1", "--scenario",
                 str(scenario)])
    store = SqlStore(url)
    try:
        assert store.case(case.id).status is CaseStatus.FAILED
        assert len(store.events(case.id)) == events, "nothing moved the failed case"
    finally:
        store.close()
    assert "failed" not in _ok(capsys, ["cases", "retry", case.id, "--db", url])
    assert "not failed" in _bad(capsys, ["cases", "retry", case.id, "--db", url])


def test_a_person_cannot_hold_an_agents_work(url: str) -> None:
    from petriflow.errors import PolicyRefusal

    engine = _engine(url, agent=False)       # no agent: its work waits
    case = engine.start(INVOICE, INPUTS, case_id="waits")
    [extract] = [i for i in engine.work_items(case.id) if i.task == "extract_invoice"]
    with pytest.raises(PolicyRefusal, match="done by its agent invoice_extractor"):
        engine.claim(extract.id, "mallory")
    last = engine.store.events(case.id)[-1]
    assert (last.kind, last.actor, last.policies) == (
        EventKind.REFUSED, "mallory", (("participant", "fail"),))
    assert engine.work_item(extract.id).claimed_by is None
    _close(engine)


def test_a_person_cannot_type_in_a_services_result(capsys: Capsys, url: str) -> None:
    engine = Engine(SqlStore(url))
    engine.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "ACME", "amount": Decimal("812.40"), "currency": "EUR",
         "po_number": "PO3"}, 0.97, "scan"))
    case = engine.start(INVOICE, INPUTS, case_id="api")   # waits for validate_invoice's API
    [item] = [i for i in engine.work_items(case.id) if i.task == "validate_invoice"]
    _close(engine)
    err = _bad(capsys, ["tasks", "complete", item.id, "--as", "mallory", "--set",
                        "contract_ok=true", "--set", "terms_ok=true", "--db", url])
    assert "validate_invoice is done by its api, not by mallory" in err
    store = SqlStore(url)
    try:
        assert store.work_item(item.id).status.open
        assert store.events(case.id)[-1].policies == (("participant", "fail"),)
    finally:
        store.close()


def test_a_worker_leaves_the_cases_of_a_simulation_alone(capsys: Capsys, url: str,
                                                         tmp_path: Path) -> None:
    """A `run` case lives in process time (from 0): the wall clock would find every
    deadline passed at once, and real workers would do simulated work."""
    path = _no_managers(tmp_path, "PT1H")
    _json(capsys, ["run", str(INVOICE), "--cases", "2", "--db", url, "--scenario", str(path)])
    store = SqlStore(url)
    try:
        before = {c.id: c.version for c in store.cases()}
    finally:
        store.close()
    _ok(capsys, ["worker", "--db", url, "--until-idle"])
    store = SqlStore(url)
    try:
        assert {c.id: c.version for c in store.cases()} == before
    finally:
        store.close()


def test_a_scenario_key_that_names_nothing_is_refused(capsys: Capsys, tmp_path: Path) -> None:
    path = tmp_path / "typo.scenario.yaml"
    path.write_text("tasks:\n  aprove_manager:\n    delay: PT1H\n")
    err = _bad(capsys, ["run", str(INVOICE), "--memory", "--cases", "1", "--scenario",
                        str(path)])
    assert "typo.scenario.yaml, line 2" in err and "did you mean 'approve_manager'" in err
