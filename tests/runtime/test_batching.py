"""Inline dispatch on the in-memory store: a request and the agent and service calls it
leads to commit as one write; on a durable store each offer commits first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from petriflow.runtime import AgentAnswer, Engine, ManualClock
from petriflow.store.base import CaseStatus, Change
from petriflow.store.memory import InMemoryStore
from tests.runtime.helpers import assert_intact, fired, model

INVOICE_IN = {"invoice_id": "INV1", "channel": "pdf", "document_quality": "good",
              "submitted_by": "sam"}


class CountingStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.commits: list[Change] = []

    def commit(self, change: Change) -> None:
        self.commits.append(change)
        super().commit(change)


def _engine(store: InMemoryStore, engine_type: type[Engine] = Engine) -> Engine:
    e = engine_type(store, clock=ManualClock())
    e.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "ACME", "amount": Decimal("500"), "currency": "EUR", "po_number": "P"},
        0.95, "ok"))
    e.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    e.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    e.service("pay", lambda c: {"payment_reference": "P1"})
    return e


def test_a_request_and_its_inline_calls_are_one_commit() -> None:
    store = CountingStore()
    e = _engine(store)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert len(store.commits) == 1
    assert {"extract_invoice:complete", "validate_invoice:complete",
            "screen_sanctions:complete"} <= set(fired(e, case.id))
    item = next(i for i in e.work_items(case.id) if i.task == "approve_manager")
    e.complete(item.id, "mia", {"approved": True})
    assert len(store.commits) == 2  # the approval, the payment call and its offer
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    assert case.status is CaseStatus.COMPLETED and len(store.commits) == 3
    assert_intact(e, case.id)


def test_a_durable_store_commits_each_offer_before_its_call() -> None:
    store = CountingStore()
    store.durable = True  # type: ignore[attr-defined]
    e = _engine(store)
    e.start(model("invoice_to_payment"), INVOICE_IN)
    assert len(store.commits) > 3


def test_same_journal_as_deferred_calls() -> None:
    """The steps, and their order, are those of calling the items one by one."""
    inline = _engine(InMemoryStore())
    deferred = _engine(InMemoryStore())
    deferred.dispatch = "deferred"
    a = inline.start(model("invoice_to_payment"), INVOICE_IN, case_id="c")
    b = deferred.start(model("invoice_to_payment"), INVOICE_IN, case_id="c")
    while True:
        due = [i for i in deferred.work_items("c") if i.kind in ("agent", "bot", "api")]
        if not due:
            break
        deferred.perform(due[0].id)
    assert fired(inline, a.id) == fired(deferred, b.id)
    assert [(ev.seq, ev.hash) for ev in inline.store.events("c")] == \
        [(ev.seq, ev.hash) for ev in deferred.store.events("c")]


class Failing(Engine):
    """Its call of ``screen_sanctions`` raises (as a bug past the handler would)."""

    def _perform(self, tx: Any, item: Any, info: Any) -> Any:
        if item.task == "screen_sanctions" and not getattr(self, "healed", False):
            raise RuntimeError("boom")
        return super()._perform(tx, item, info)


def test_a_call_that_raises_leaves_what_came_before_committed() -> None:
    store = CountingStore()
    e = _engine(store, Failing)
    with pytest.raises(RuntimeError, match="boom"):
        e.start(model("invoice_to_payment"), INVOICE_IN, case_id="c")
    steps = fired(e, "c")
    assert "validate_invoice:complete" in steps  # committed with the start
    assert "screen_sanctions:complete" not in steps
    items = {i.task: i for i in e.work_items("c")}
    assert {"screen_sanctions", "approve_manager"} <= set(items)
    assert_intact(e, "c")
    e.healed = True  # type: ignore[attr-defined]
    e.perform(items["screen_sanctions"].id)
    assert "screen_sanctions:complete" in fired(e, "c")
    assert_intact(e, "c")
