"""An answer is recorded before the step that consumes it: recovery never calls again."""

from __future__ import annotations

from pathlib import Path

import pytest

from petriflow.model import compile_file
from petriflow.runtime import Engine, ManualClock
from petriflow.runtime.handlers import AgentAnswer
from petriflow.store.base import CaseStatus, ItemStatus
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


def test_a_crash_after_the_answer_is_recorded_does_not_call_the_service_again(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    calls: list[str] = []
    first = _engine(url, calls)
    real = first._answer

    def crash_on_validation(tx, item, info, *args, **kwargs):  # type: ignore[no-untyped-def]
        if info.id == "validate_invoice":
            raise Crash
        return real(tx, item, info, *args, **kwargs)

    first._answer = crash_on_validation  # type: ignore[method-assign]
    with pytest.raises(Crash):
        first.start(compile_file(INVOICE), INPUTS, case_id="c1")
    assert len(calls) == 1
    store = SqlStore(url)
    [item] = [i for i in store.work_items(case="c1") if i.task == "validate_invoice"]
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
