"""An answer is recorded before the step that consumes it: recovery never calls again."""

from __future__ import annotations

from pathlib import Path

import pytest

from petriflow.model import compile_file
from petriflow.runtime import Engine, ManualClock
from petriflow.runtime.handlers import AgentAnswer
from petriflow.store.base import CaseStatus, ItemStatus, WorkItem
from petriflow.store.sql import SqlStore

INVOICE = Path(__file__).resolve().parents[2] / "models" / "invoice_to_payment.yaml"
INPUTS = {"invoice_id": "INV-1", "channel": "pdf", "document_quality": "good",
          "submitted_by": "sam"}


class Crash(BaseException):
    """A worker dying between recording an answer and firing its step."""


def _engine(url: str, calls: list[str]) -> Engine:
    from decimal import Decimal

    e = Engine(SqlStore(url), clock=ManualClock(), cache=False)
    e.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "ACME", "amount": Decimal("500"), "currency": "EUR", "po_number": "P"},
        0.95, "clear"))
    e.service("validate_invoice", lambda c: calls.append(c.key) or {"contract_ok": True,
                                                                    "terms_ok": True})
    e.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    e.service("pay", lambda c: {"payment_reference": "P-" + c.key})
    return e


def _crash_after_recording(url: str, calls: list[str]) -> WorkItem:
    """Start case c1 and let its worker die right after the ERP's answer to the contract
    validation was recorded, before the step that consumes it; returns that item."""
    first = _engine(url, calls)
    real = first._answer

    def crash_on_validation(tx, item, info, *args, **kwargs):  # type: ignore[no-untyped-def]
        if info.id == "validate_invoice":
            raise Crash
        return real(tx, item, info, *args, **kwargs)

    first._answer = crash_on_validation  # type: ignore[method-assign]
    with pytest.raises(Crash):
        first.start(compile_file(INVOICE), INPUTS, case_id="c1")
    store = SqlStore(url)
    [item] = [i for i in store.work_items(case="c1") if i.task == "validate_invoice"]
    store.close()
    return item


def test_a_crash_after_the_answer_is_recorded_does_not_call_the_service_again(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    calls: list[str] = []
    item = _crash_after_recording(url, calls)
    assert len(calls) == 1
    assert item.status is ItemStatus.OFFERED and item.answer is not None
    assert item.answer["output"] == {"contract_ok": True, "terms_ok": True}

    second = _engine(url, calls)  # recovery: another worker picks the item up
    rec = second.perform(item.id)
    assert calls == [item.key], "the service was called again for an answered attempt"
    assert rec.status is CaseStatus.WAITING
    assert second.store.work_item(item.id).status is ItemStatus.COMPLETED
    kinds = [(e.kind, e.action) for e in second.store.events("c1") if e.work_item == item.id]
    assert kinds == [("work", "answered"), ("step", "complete")]
    assert second.replay("c1").ok


def test_a_recorded_answer_edited_before_recovery_is_not_used(tmp_path: Path) -> None:
    """Recovery takes a recorded answer instead of calling the service: one forged in the
    database (here: the contract no longer checked) must not pass for the service's."""
    import sqlite3

    from petriflow.errors import CorruptionError

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    calls: list[str] = []
    item = _crash_after_recording(url, calls)
    forged = {**item.answer, "output": {"contract_ok": False, "terms_ok": True}}
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        import json

        conn.execute("update petriflow_work_items set answer = ? where id = ?",
                     (json.dumps(forged), item.id))
    conn.close()
    second = _engine(url, calls)
    before = second.store.case("c1").version
    with pytest.raises(CorruptionError, match="recorded answer differs from the one event"):
        second.perform(item.id)
    assert second.store.case("c1").version == before, "nothing was consumed"
    assert calls == [item.key]


REFUSED = """\
process: payout
data:
  amount: {type: int, input: true}
  paid: {type: int}
nodes:
  s: {type: start}
  pay: {type: task, kind: api, reads: [amount], writes: [paid],
        retry: {attempts: 3, backoff_seconds: 1}}
  e: {type: end}
flows: [s -> pay, pay -> e]
policies:
  - {id: cap, type: forbidden_state, condition: "paid > 100",
     statement: Nothing above 100 is paid out.}
"""


@pytest.mark.parametrize("durable", [True, False])
def test_an_answer_refused_by_policy_is_one_attempt_not_a_loop(tmp_path: Path,
                                                               durable: bool) -> None:
    """The recorded answer belongs to its attempt: a refused one is not reused by the
    retries (each of which would be refused again, for ever); the attempts run out and
    the case stops with an incident, on a durable store as in memory."""
    from petriflow.model import compile_loaded, load_text
    from petriflow.store.memory import InMemoryStore

    store = SqlStore(f"sqlite:///{tmp_path / 'r.sqlite'}") if durable else InMemoryStore()
    clock = ManualClock()
    engine = Engine(store, clock=clock)
    calls: list[int] = []
    engine.service("pay", lambda c: calls.append(c.attempt) or {"paid": 500})
    case = engine.start(compile_loaded(load_text(REFUSED, "payout.yaml")), {"amount": 500})
    for _ in range(10):
        clock.advance(60)
        engine.fire_timers()
    case = engine.case(case.id)
    assert case.status is CaseStatus.FAILED and "after 3 attempt(s)" in str(case.incident)
    assert calls == [1, 2, 3]
    refused = [e for e in engine.store.events(case.id) if e.kind == "refused"]
    assert len(refused) == 3 and all("cap" in dict(e.policies) for e in refused)
    assert engine.replay(case.id).ok
