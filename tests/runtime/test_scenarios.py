"""End-to-end scenarios on the four reference processes (and a few small ones).

Every scenario drives the engine on a manual clock and ends by checking the evidence:
the kernel replay of the journal gives the stored state and the hash chain verifies.
A step a policy refuses must raise PolicyRefusal, be journalled as ``refused`` with the
failing policy, and change nothing else.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from petriflow.errors import EngineError, PolicyRefusal, WorkItemError
from petriflow.governance.audit import verify_chain
from petriflow.net.colors import Record
from petriflow.runtime import AgentAnswer, AgentRequest, PermanentError, ServiceCall
from petriflow.store.base import CaseStatus, ItemStatus
from tests.runtime.helpers import (
    DAY,
    HOUR,
    assert_intact,
    compile_yaml,
    ended_at,
    engine,
    events,
    fired,
    items_of,
    model,
    one_item,
    refuse,
    snapshot,
)

# -- invoice to payment ------------------------------------------------------------------------

INVOICE_IN = {"invoice_id": "INV1", "channel": "pdf", "document_quality": "good",
              "submitted_by": "sam"}
EXTRACTED = {"supplier": "ACME", "amount": Decimal("500"), "currency": "EUR",
             "po_number": "PO1"}


def extractor(confidence: float = 0.95, **fields: Any) -> Any:
    def answer(req: AgentRequest) -> AgentAnswer:
        return AgentAnswer({**EXTRACTED, **fields}, confidence, "scan read")
    return answer


def invoice_engine(confidence: float = 0.95, *, pay: Any = None, **fields: Any) -> Any:
    e, clock = engine()
    e.agent("invoice_extractor", extractor(confidence, **fields))
    e.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    e.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    e.service("pay", pay or (lambda c: {"payment_reference": "PAY-" + c.key}))
    e.service("reverse_payment", lambda c: None)
    return e, clock


def test_invoice_happy_path_is_paid() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert case.status is CaseStatus.WAITING
    item = one_item(e, case.id, "approve_manager")
    assert item.role == "manager" and item.status is ItemStatus.OFFERED
    case = e.complete(item.id, "mia", {"approved": True})
    assert case.data["by_approve_manager"] == "mia"
    bank = one_item(e, case.id, "bank_confirmation")
    assert bank.kind == "receive"
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    assert case.status is CaseStatus.COMPLETED
    assert ended_at(case) == "paid"
    assert case.data["payment_reference"].startswith("PAY-")
    assert e.work_items(case.id) == []
    assert "review_extraction:offer" not in fired(e, case.id)
    assert_intact(e, case.id)
    record = e.agent_records()["invoice_extractor"]
    assert (record.completions, record.handoffs) == (1, 0)


def test_invoice_low_confidence_goes_to_a_clerk() -> None:
    e, _ = invoice_engine(0.5)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert "extract_invoice:handoff" in fired(e, case.id)
    review = one_item(e, case.id, "review_extraction")
    assert review.role == "clerk"
    assert case.data["extraction_confidence"] == Decimal("0.5")
    assert case.data["supplier"] == "ACME"  # the draft is kept for the reviewer
    assert case.memory.get("pending")  # a low-confidence answer awaits its review
    # the submitter may not review their own invoice
    refuse(e, case.id, lambda: e.complete(review.id, "sam", EXTRACTED), "candidate")
    case = e.complete(review.id, "carl", {**EXTRACTED, "amount": Decimal("450")})
    assert case.data["amount"] == Decimal("450")
    assert not case.memory.get("pending")
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    assert ended_at(case) == "paid"
    assert_intact(e, case.id)
    assert e.agent_records()["invoice_extractor"].handoffs == 1


def test_invoice_submitter_may_not_approve() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    refuse(e, case.id, lambda: e.complete(item.id, "sam", {"approved": True}), "candidate")
    refuse(e, case.id, lambda: e.claim(item.id, "sam"), "candidate")
    case = e.complete(item.id, "mia", {"approved": False})
    assert ended_at(case) == "rejected"
    assert_intact(e, case.id)


def test_invoice_reviewer_may_not_approve_too() -> None:
    """Four eyes: the clerk who corrected the extraction does not approve it."""
    e, _ = invoice_engine(0.5)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.complete(one_item(e, case.id, "review_extraction").id, "carl", EXTRACTED)
    item = one_item(e, case.id, "approve_manager")
    refuse(e, case.id, lambda: e.complete(item.id, "carl", {"approved": True}),
           "candidate", "four_eyes_approval")
    refuse(e, case.id, lambda: e.delegate(item.id, "carl", by="boss"),
           "candidate", "four_eyes_approval")
    e.complete(item.id, "mia", {"approved": True})
    assert_intact(e, case.id)


def test_work_that_is_not_a_persons_cannot_be_delegated_to_one() -> None:
    """As claim refuses it: a person holding an agent's or a service's item would block
    the answer sent on their behalf."""
    e, _ = invoice_engine()
    e._agents.clear()                            # the agent waits: its item stays open
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "extract_invoice")
    refuse(e, case.id, lambda: e.delegate(item.id, "bob", by="bob"), "participant")
    assert e.work_item(item.id).claimed_by is None


@pytest.mark.parametrize("alias", ["sam ", " sam", "sam\t", "sa\u200bm", "\u202esam",
                                   "sam\u3000"])
def test_a_name_padded_to_pass_for_another_person_is_refused(alias: str) -> None:
    """Segregation of duties compares names: the submitter may not approve under a name
    that only differs by invisible characters."""
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    refused = refuse(e, case.id, lambda: e.claim(item.id, alias), "participant")
    assert "is not a usable name" in str(refused)


@pytest.mark.parametrize("name", [
    "José", "Mary Ann", "Mary\u00a0Ann", "山田\u3000太郎", "O\u2019Brien",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"])
def test_names_of_every_script_may_do_work(name: str) -> None:
    """Inner spaces of any kind and the zero-width non-joiner (Persian spelling) are part
    of real names."""
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    assert e.claim(item.id, name).claimed_by == name


def test_a_refused_delegation_names_who_tried_it() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    refuse(e, case.id, lambda: e.delegate(item.id, "sam", by="boss"), "candidate")
    last = events(e, case.id)[-1]
    assert (last.action, last.actor) == ("delegate", "boss")
    assert last.reason.startswith("boss cannot hand it to sam: ")


def test_invoice_above_limit_needs_the_cfo() -> None:
    e, _ = invoice_engine(amount=Decimal("25000"))
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    cfo = one_item(e, case.id, "approve_cfo")
    assert "pay:offer" not in fired(e, case.id)
    refuse(e, case.id, lambda: e.complete(cfo.id, "mia", {"cfo_approved": True}), "candidate",
           "four_eyes_approval")
    case = e.complete(cfo.id, "cleo", {"cfo_approved": True})
    pay = next(ev for ev in events(e, case.id) if ev.transition == "pay:complete")
    assert ("cfo_above_limit", "pass") in pay.policies
    assert ("manager_before_payment", "pass") in pay.policies
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    assert ended_at(case) == "paid"
    assert_intact(e, case.id)


def test_invoice_cfo_refusal_rejects() -> None:
    e, _ = invoice_engine(amount=Decimal("25000"))
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    case = e.complete(one_item(e, case.id, "approve_cfo").id, "cleo", {"cfo_approved": False})
    assert ended_at(case) == "rejected"
    assert "pay:offer" not in fired(e, case.id)
    assert_intact(e, case.id)


def test_invoice_sanctions_hit_is_blocked() -> None:
    e, _ = invoice_engine()
    e.service("screen_sanctions", lambda c: {"sanctions_hit": True})
    notified: list[str] = []
    e.service("notify_compliance", lambda c: notified.append(c.data["invoice_id"]))
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    assert ended_at(case) == "blocked"
    assert notified == ["INV1"]
    assert_intact(e, case.id)


def test_invoice_invalid_is_rejected() -> None:
    e, _ = invoice_engine()
    e.service("validate_invoice", lambda c: {"contract_ok": False, "terms_ok": True})
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert case.status is CaseStatus.COMPLETED and ended_at(case) == "rejected"
    assert_intact(e, case.id)


def test_invoice_outcome_check_refuses_a_zero_amount_review() -> None:
    e, _ = invoice_engine(0.4)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    review = one_item(e, case.id, "review_extraction")
    refuse(e, case.id,
           lambda: e.complete(review.id, "carl", {**EXTRACTED, "amount": Decimal(0)}),
           "outcome_check")
    e.complete(review.id, "carl", EXTRACTED)
    assert_intact(e, case.id)


def test_invoice_agent_check_failure_is_a_failed_attempt() -> None:
    """An agent answer that fails the outcome check does not fire: no phantom progress.
    The agent task has no retries and a human fallback, so the clerk gets the work."""
    e, _ = invoice_engine(0.99, amount=Decimal(0))
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    kinds = [ev.kind for ev in events(e, case.id)]
    assert "refused" in kinds and "attempt" in kinds
    assert "extract_invoice:complete" not in fired(e, case.id)
    one_item(e, case.id, "review_extraction")
    assert_intact(e, case.id)


def test_the_data_an_agent_and_a_service_see() -> None:
    seen: dict[str, Any] = {}

    def nosy(req: AgentRequest) -> AgentAnswer:
        seen["agent"] = dict(req.data)
        with pytest.raises(PolicyRefusal):
            req.data["submitted_by"]
        return AgentAnswer(EXTRACTED, 0.9)

    def validate(call: ServiceCall) -> dict[str, Any]:
        seen["api"] = dict(call.data)
        return {"contract_ok": True, "terms_ok": True}

    e, _ = invoice_engine()
    e.agent("invoice_extractor", nosy)
    e.service("validate_invoice", validate)
    e.start(model("invoice_to_payment"), INVOICE_IN)
    assert set(seen["agent"]) == {"invoice_id", "channel", "document_quality",
                                  "extraction_method"}
    assert seen["agent"]["extraction_method"] == "ocr"
    assert set(seen["api"]) == {"supplier", "amount", "currency", "po_number"}


def test_invoice_agent_may_not_review_its_own_extraction() -> None:
    e, _ = invoice_engine(0.5)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    review = one_item(e, case.id, "review_extraction")
    refuse(e, case.id, lambda: e.complete(review.id, "invoice_extractor", EXTRACTED),
           "extractor_scope", "candidate", "participant")


def test_invoice_agent_may_not_approve() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    refuse(e, case.id, lambda: e.complete(item.id, "invoice_extractor", {"approved": True}),
           "extractor_scope", "candidate", "participant")


def test_an_agent_item_is_answered_by_its_agent_only() -> None:
    e, _ = invoice_engine()
    e._agents.clear()  # nobody answers for the extractor: its item waits
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "extract_invoice")
    refuse(e, case.id, lambda: e.complete(item.id, "mia", EXTRACTED, confidence=0.99),
           "participant")
    case = e.complete(item.id, "invoice_extractor", EXTRACTED, confidence=0.99)
    assert "extract_invoice:complete" in fired(e, case.id)
    assert_intact(e, case.id)


def test_invoice_manager_timeout_reoffers_the_approval() -> None:
    e, clock = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    first = one_item(e, case.id, "approve_manager")
    assert first.due == pytest.approx(3 * DAY)
    assert e.next_timer() == pytest.approx(1 * DAY)  # the daily reminder comes first
    e.claim(first.id, "mia")
    for _ in range(2):
        clock.advance(DAY)
        assert e.fire_timers() == 1  # the day's reminder
    clock.advance(DAY - 1)
    assert e.fire_timers() == 0  # no timeout yet
    reminders = [ev for ev in e.store.events(case.id) if ev.action == "remind"]
    assert [ev.at for ev in reminders] == [pytest.approx(DAY), pytest.approx(2 * DAY)]
    assert one_item(e, case.id, "approve_manager").id == first.id
    clock.advance(1)
    assert e.fire_timers() >= 1
    assert fired(e, case.id).count("approve_manager:timeout") == 1
    assert e.store.work_item(first.id).status is ItemStatus.TIMED_OUT
    second = one_item(e, case.id, "approve_manager")
    assert second.id != first.id and second.claimed_by is None
    assert second.due == pytest.approx(6 * DAY)
    with pytest.raises(WorkItemError):
        e.complete(first.id, "mia", {"approved": True})
    e.complete(second.id, "mia", {"approved": True})
    assert_intact(e, case.id)


def test_invoice_unconfirmed_payment_goes_to_investigation() -> None:
    e, clock = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    bank = one_item(e, case.id, "bank_confirmation")
    clock.advance(2 * DAY)
    e.fire_timers()
    assert e.store.work_item(bank.id).status is ItemStatus.TIMED_OUT
    assert "bank_confirmation:timeout" in fired(e, case.id)
    investigate = one_item(e, case.id, "investigate_payment")
    assert investigate.role == "ap_specialist"
    with pytest.raises(WorkItemError):
        e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    case = e.complete(investigate.id, "alex", {"payment_confirmed": True})
    assert ended_at(case) == "paid"
    assert_intact(e, case.id)


def test_invoice_api_retry_keeps_the_idempotency_key() -> None:
    calls: list[ServiceCall] = []

    def flaky(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        if len(calls) < 3:
            raise ConnectionError("ERP unavailable")
        return {"contract_ok": True, "terms_ok": True}

    e, clock = invoice_engine()
    e.service("validate_invoice", flaky)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert len(calls) == 1 and case.status is CaseStatus.WAITING
    item = one_item(e, case.id, "validate_invoice")
    assert item.attempt == 1
    due = e.next_timer()
    assert due is not None and 1.0 <= due <= 2.0  # backoff 2 s with equal jitter
    assert e.fire_timers() == 0
    clock.set(due)
    assert e.fire_timers() == 1
    assert len(calls) == 2
    due2 = e.next_timer()
    assert due2 is not None and due + 2.0 <= due2 <= due + 4.0  # the delay doubles
    clock.set(due2)
    e.fire_timers()
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert len({c.key for c in calls}) == 1 and calls[0].key == item.key
    assert len({c.work_item for c in calls}) == 1
    case = e.case(case.id)
    assert case.data["contract_ok"] is True
    attempts = [ev for ev in events(e, case.id) if ev.kind == "attempt"]
    assert len(attempts) == 2 and "ERP unavailable" in str(attempts[0].reason)
    one_item(e, case.id, "approve_manager")
    assert_intact(e, case.id)


def test_invoice_retries_exhausted_without_error_path_is_an_incident() -> None:
    calls: list[int] = []

    def down(call: ServiceCall) -> dict[str, Any]:
        calls.append(call.attempt)
        if len(calls) > 3:
            return {"contract_ok": True, "terms_ok": True}
        raise TimeoutError("no answer")

    e, clock = invoice_engine()
    e.service("validate_invoice", down)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    for _ in range(5):
        clock.advance(60)
        e.fire_timers()
    case = e.case(case.id)
    assert calls == [1, 2, 3]
    assert case.status is CaseStatus.FAILED
    assert case.incident and "validate_invoice" in case.incident
    assert e.next_timer() is None
    assert_intact(e, case.id)
    case = e.retry(case.id)
    assert calls == [1, 2, 3, 1]
    assert case.status is CaseStatus.WAITING and case.incident is None
    one_item(e, case.id, "approve_manager")
    assert_intact(e, case.id)


def test_invoice_payment_failure_takes_the_error_path() -> None:
    keys: list[str] = []

    def bank_down(call: ServiceCall) -> dict[str, Any]:
        keys.append(call.key)
        raise ConnectionError("bank down")

    e, clock = invoice_engine(pay=bank_down)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    for _ in range(10):
        clock.advance(600)
        e.fire_timers()
    assert len(keys) == 5 and len(set(keys)) == 1
    case = e.case(case.id)
    assert "pay:error" in fired(e, case.id)
    assert case.status is CaseStatus.WAITING
    handle = one_item(e, case.id, "payment_failed")
    case = e.complete(handle.id, "alex", {})
    assert ended_at(case) == "rejected"
    assert_intact(e, case.id)


def test_invoice_permanent_error_is_not_retried() -> None:
    calls: list[int] = []

    def rejected(call: ServiceCall) -> dict[str, Any]:
        calls.append(call.attempt)
        raise PermanentError("account closed")

    e, _ = invoice_engine(pay=rejected)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    assert calls == [1]
    assert e.next_timer() is None
    assert "pay:error" in fired(e, case.id)
    one_item(e, case.id, "payment_failed")
    assert_intact(e, case.id)


def test_invoice_returned_payment_is_reversed() -> None:
    reversed_: list[str] = []
    e, _ = invoice_engine()
    e.service("reverse_payment", lambda c: reversed_.append(c.data["payment_reference"]))
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    case = e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    ref = case.data["payment_reference"]
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": False})
    assert reversed_ == [ref]
    assert case.status is CaseStatus.COMPLETED
    assert ended_at(case) == "payment_returned"
    assert case.marking.get("pay:done", 0) == 0  # the payment's history token is used up
    order = fired(e, case.id)
    tail = order[order.index("confirmed@payment_returned"):]
    assert tail == ["confirmed@payment_returned", "payment_returned", "compensate:pay",
                    "reverse_payment:offer", "reverse_payment:complete",
                    "compensation:done"]
    assert order.index("pay:complete") < order.index("compensate:pay")
    assert_intact(e, case.id)


TRIP = """
process: trip
roles: [travel_agent]
data:
  fail: {type: bool}
nodes:
  s: {type: start}
  fork: {type: parallel}
  book_hotel: {type: task, kind: human, role: travel_agent, compensation: cancel_hotel}
  book_flight: {type: task, kind: human, role: travel_agent, compensation: cancel_flight}
  join: {type: parallel}
  confirm: {type: task, kind: api, writes: [fail]}
  outcome: {type: exclusive}
  cancel_hotel: {type: task, kind: api}
  cancel_flight: {type: task, kind: api}
  booked: {type: end}
  cancelled: {type: end, compensate: true}
flows:
  - s -> fork
  - fork -> book_hotel
  - fork -> book_flight
  - book_hotel -> join
  - book_flight -> join
  - join -> confirm
  - confirm -> outcome
  - {from: outcome, to: cancelled, when: fail}
  - {from: outcome, to: booked, default: true}
"""


@pytest.mark.parametrize("order", [("book_flight", "book_hotel"),
                                   ("book_hotel", "book_flight")])
def test_parallel_compensations_run_in_reverse_completion_order(order: tuple[str, str]) -> None:
    """Two compensable tasks run in parallel; whichever completed last is undone first
    (the first order is the opposite of the declaration order)."""
    e, _ = engine()
    undone: list[str] = []
    e.service("confirm", lambda c: {"fail": True})
    e.service("cancel_hotel", lambda c: undone.append("cancel_hotel"))
    e.service("cancel_flight", lambda c: undone.append("cancel_flight"))
    case = e.start(compile_yaml(TRIP), {})
    for task in order:
        case = e.complete(one_item(e, case.id, task).id, "ana", {})
    assert case.status is CaseStatus.COMPLETED and ended_at(case) == "cancelled"
    expected = [t.replace("book_", "cancel_") for t in reversed(order)]
    assert undone == expected
    steps = fired(e, case.id)
    assert [t for t in steps if t.startswith("compensat")] == [
        *(f"compensate:{t}" for t in reversed(order)), "compensation:done"]
    assert case.marking.get("book_hotel:done", 0) == case.marking.get("book_flight:done", 0) == 0
    assert_intact(e, case.id)


def test_invoice_suspend_and_resume_a_case() -> None:
    e, clock = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "approve_manager")
    case = e.suspend(case.id, by="ops", reason="fraud suspicion")
    assert case.status is CaseStatus.SUSPENDED
    before = snapshot(e, case.id)
    n = len(events(e, case.id))
    with pytest.raises(EngineError):
        e.complete(item.id, "mia", {"approved": True})
    with pytest.raises(EngineError):
        e.claim(item.id, "mia")
    clock.advance(4 * DAY)  # past the approval's timeout
    e.fire_timers()
    assert snapshot(e, case.id) == before
    assert len(events(e, case.id)) == n
    case = e.resume(case.id, by="ops")
    # the overdue timeout fires on resume: the approval is offered again
    assert fired(e, case.id).count("approve_manager:timeout") == 1
    item = one_item(e, case.id, "approve_manager")
    case = e.complete(item.id, "mia", {"approved": True})
    case = e.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    assert ended_at(case) == "paid"
    actions = [ev.action for ev in events(e, case.id) if ev.kind == "case"]
    assert actions == ["suspend", "resume"]
    assert_intact(e, case.id)


def test_invoice_suspended_case_does_not_retry_calls() -> None:
    calls: list[int] = []

    def flaky(call: ServiceCall) -> dict[str, Any]:
        calls.append(call.attempt)
        if len(calls) == 1:
            raise ConnectionError("blip")
        return {"contract_ok": True, "terms_ok": True}

    e, clock = invoice_engine()
    e.service("validate_invoice", flaky)
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.suspend(case.id)
    clock.advance(60)
    assert e.fire_timers() == 0
    assert calls == [1]
    case = e.resume(case.id)
    assert calls == [1, 2]
    one_item(e, case.id, "approve_manager")
    assert_intact(e, case.id)


def test_invoice_suspended_process_starts_nothing() -> None:
    e, _ = invoice_engine()
    e.suspend_process("invoice_to_payment")
    with pytest.raises(EngineError):
        e.start(model("invoice_to_payment"), INVOICE_IN)
    e.resume_process("invoice_to_payment")
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    one_item(e, case.id, "approve_manager")


def test_invoice_suspend_agent_hands_pending_work_to_the_clerk() -> None:
    e, _ = invoice_engine()
    e._agents.clear()  # the extractor has not answered yet
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    item = one_item(e, case.id, "extract_invoice")
    assert e.suspend_agent("invoice_extractor") == 1
    assert e.store.work_item(item.id).status is ItemStatus.HANDED_OFF
    review = one_item(e, case.id, "review_extraction")
    assert "extract_invoice:handoff" in fired(e, case.id)
    # while suspended, the agent is not called on new cases either
    called: list[str] = []
    e.agent("invoice_extractor", lambda r: called.append(r.case) or AgentAnswer(EXTRACTED, 1))
    other = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert called == []
    one_item(e, other.id, "review_extraction")
    e.complete(review.id, "carl", EXTRACTED)
    one_item(e, case.id, "approve_manager")
    e.resume_agent("invoice_extractor")
    third = e.start(model("invoice_to_payment"), INVOICE_IN)
    assert called == [third.id]
    for cid in (case.id, other.id, third.id):
        assert_intact(e, cid)


def test_tampering_is_detected() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.complete(one_item(e, case.id, "approve_manager").id, "mia", {"approved": True})
    assert e.replay(case.id).ok
    journal = e.store._events[case.id]  # type: ignore[attr-defined]
    original = list(journal)
    # a changed actor
    journal[3] = dataclasses.replace(journal[3], actor="mallory")
    assert not e.replay(case.id).ok
    rec = e.case(case.id)
    assert not verify_chain(case.id, e.store.events(case.id), rec.head).ok
    # a changed answer, re-sealed: the link to the next event breaks
    journal[:] = original
    approve = next(i for i, ev in enumerate(journal)
                   if ev.transition == "approve_manager:complete")
    from petriflow.governance.audit import seal
    journal[approve] = seal(dataclasses.replace(journal[approve], actor="sam", hash=""))
    assert not e.replay(case.id).ok
    # the last event dropped
    journal[:] = original[:-1]
    report = e.replay(case.id)
    assert not report.ok and not report.chain.ok
    journal[:] = original
    assert e.replay(case.id).ok


def test_replay_notices_a_stored_state_the_journal_does_not_explain() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    store = e.store._cases  # type: ignore[attr-defined]
    store[case.id] = dataclasses.replace(case, data=Record({**case.data, "amount": Decimal(1)}))
    report = e.replay(case.id)
    assert report.chain.ok and not report.matches and not report.ok
    assert "amount" in str(report.reason)
    store[case.id] = dataclasses.replace(case, marking={**case.marking, "pay:done": 1})
    assert not e.replay(case.id).ok
    store[case.id] = case
    assert e.replay(case.id).ok


def test_replay_accepts_case_data_as_a_plain_mapping() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    e.store._cases[case.id] = dataclasses.replace(  # type: ignore[attr-defined]
        case, data=dict(case.data))
    assert e.replay(case.id).ok


def test_fire_timers_ahead_of_the_clock_terminates() -> None:
    e, _ = invoice_engine()
    case = e.start(model("invoice_to_payment"), INVOICE_IN)
    real = e._timer
    calls = []

    def guarded(timer: Any) -> bool:
        calls.append(timer.id)
        if len(calls) > 20:
            raise AssertionError("fire_timers does not terminate")
        return real(timer)

    e._timer = guarded  # type: ignore[method-assign]
    e.fire_timers(now=10 * DAY)
    # deadlines at 3, 6 and 9 days have passed by day 10
    assert 1 <= fired(e, case.id).count("approve_manager:timeout") <= 3


# -- hr hiring -----------------------------------------------------------------------------------

HR_IN = {"requisition_id": "R1", "job_title": "Engineer", "required_skills": "python",
         "salary_band_max": Decimal("90000"), "hiring_manager": "hana"}
APPLICATIONS = {"applications_received": 4, "candidate_profiles": "p1;p2;p3;p4",
                "applicant_genders": "f,m,f,x", "applicant_ages": "30,41,25,38",
                "applicant_nationalities": "DE,FR,IT,ES"}


def hr_engine(confidence: float = 0.9, screen: Any = None) -> Any:
    e, clock = engine()
    sent: list[str] = []

    def default_screen(req: AgentRequest) -> AgentAnswer:
        if req.task == "screen_candidates":
            return AgentAnswer({"shortlist": "p2,p4", "shortlist_size": 2}, confidence,
                               "skills match")
        sent.append(req.data["approved_wording"])
        return AgentAnswer({"invitations_sent": 2}, 1.0, "sent")

    e.agent("screening_agent", screen or default_screen)
    e.service("send_offer", lambda c: None)
    e.service("withdraw_offer", lambda c: None)
    return e, clock, sent


def hr_to_offer(e: Any, case_id: str, preparer: str = "rita") -> None:
    e.complete(one_item(e, case_id, "review_shortlist").id, "hana",
               {"shortlist_approved": True, "approved_wording": "Dear candidate"})
    e.complete(one_item(e, case_id, "interview").id, "hana",
               {"interview_score": 8, "selected_candidate": "p2"})
    e.complete(one_item(e, case_id, "prepare_offer").id, preparer,
               {"offer_salary": Decimal("80000")})


def test_hr_happy_path_hires() -> None:
    e, _, sent = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    assert one_item(e, case.id, "collect_applications").kind == "receive"
    case = e.deliver(case.id, "collect_applications", APPLICATIONS)
    assert case.data["shortlist"] == "p2,p4"
    hr_to_offer(e, case.id)
    assert sent == ["Dear candidate"]
    case = e.complete(one_item(e, case.id, "approve_offer").id, "dora", {"offer_approved": True})
    case = e.deliver(case.id, "candidate_response", {"offer_accepted": True})
    assert case.status is CaseStatus.COMPLETED and ended_at(case) == "hired"
    invite = next(ev for ev in events(e, case.id) if ev.transition == "send_invitations:complete")
    assert ("review_before_invitations", "pass") in invite.policies
    assert ("invitations_only_after_approval", "pass") in invite.policies
    assert invite.agent_version == "1.4"
    assert_intact(e, case.id)


def test_hr_no_applications_closes_unfilled() -> None:
    e, _, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    case = e.deliver(case.id, "collect_applications", {**APPLICATIONS,
                                                       "applications_received": 0})
    assert ended_at(case) == "unfilled"
    assert_intact(e, case.id)


def test_hr_posting_timeout_extends_the_posting() -> None:
    e, clock, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    clock.advance(30 * DAY)
    e.fire_timers()
    assert "collect_applications:timeout" in fired(e, case.id)
    extend = one_item(e, case.id, "extend_posting")
    e.complete(extend.id, "rita", {})
    again = one_item(e, case.id, "collect_applications")
    assert again.due == pytest.approx(60 * DAY)
    case = e.deliver(case.id, "collect_applications", APPLICATIONS)
    one_item(e, case.id, "review_shortlist")
    assert_intact(e, case.id)


def test_hr_screening_agent_never_sees_protected_attributes() -> None:
    seen: list[set[str]] = []

    def screen(req: AgentRequest) -> AgentAnswer:
        seen.append(set(req.data))
        return AgentAnswer({"shortlist": "p1", "shortlist_size": 1}, 0.9)

    e, _, _ = hr_engine(screen=screen)
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    assert seen == [{"job_title", "required_skills", "candidate_profiles"}]
    assert_intact(e, case.id)


def test_hr_agent_reading_a_protected_field_is_refused_and_handed_over() -> None:
    def nosy(req: AgentRequest) -> AgentAnswer:
        req.data["applicant_genders"]
        return AgentAnswer({"shortlist": "p1", "shortlist_size": 1}, 0.9)

    e, _, _ = hr_engine(screen=nosy)
    case = e.start(model("hr_hiring"), HR_IN)
    case = e.deliver(case.id, "collect_applications", APPLICATIONS)
    refused = [ev for ev in events(e, case.id) if ev.kind == "refused"]
    assert len(refused) == 1 and refused[0].task == "screen_candidates"
    assert "applicant_genders" in str(refused[0].reason)
    assert "screen_candidates:complete" not in fired(e, case.id)
    # no retries: the agent's work goes to its human fallback
    one_item(e, case.id, "manual_screening")
    assert case.data["shortlist"] == ""
    assert_intact(e, case.id)


def test_hr_data_minimisation_refusal_names_the_policy() -> None:
    def nosy(req: AgentRequest) -> AgentAnswer:
        req.data["applicant_genders"]
        return AgentAnswer({"shortlist": "p1", "shortlist_size": 1}, 0.9)

    e, _, _ = hr_engine(screen=nosy)
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    refused = next(ev for ev in events(e, case.id) if ev.kind == "refused")
    assert ("no_protected_attributes_to_agent", "fail") in refused.policies


def test_hr_low_confidence_screening_is_redone_by_a_recruiter() -> None:
    e, _, sent = hr_engine(confidence=0.4)
    case = e.start(model("hr_hiring"), HR_IN)
    case = e.deliver(case.id, "collect_applications", APPLICATIONS)
    assert "screen_candidates:handoff" in fired(e, case.id)
    manual = one_item(e, case.id, "manual_screening")
    assert case.memory.get("pending") == ["low_confidence_screening_reviewed"]
    case = e.complete(manual.id, "rita", {"shortlist": "p1,p3", "shortlist_size": 2})
    assert not case.memory.get("pending")
    hr_to_offer(e, case.id)
    assert sent == ["Dear candidate"]
    assert_intact(e, case.id)


def test_hr_rejected_shortlist_goes_to_manual_screening() -> None:
    e, _, sent = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    review = one_item(e, case.id, "review_shortlist")
    refuse(e, case.id, lambda: e.complete(review.id, "rita", {"shortlist_approved": True,
                                                              "approved_wording": "x"}),
           "candidate")
    e.complete(review.id, "hana", {"shortlist_approved": False, "approved_wording": ""})
    assert sent == []
    one_item(e, case.id, "manual_screening")
    assert_intact(e, case.id)


def test_hr_offer_four_eyes() -> None:
    e, _, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    hr_to_offer(e, case.id, preparer="rita")
    approve = one_item(e, case.id, "approve_offer")
    refuse(e, case.id, lambda: e.complete(approve.id, "rita", {"offer_approved": True}),
           "candidate", "offer_four_eyes")
    refuse(e, case.id, lambda: e.claim(approve.id, "hana"), "candidate")
    # sent back: only the preparer prepares again, and still may not approve
    e.complete(approve.id, "dora", {"offer_approved": False})
    again = one_item(e, case.id, "prepare_offer")
    refuse(e, case.id, lambda: e.complete(again.id, "dora", {"offer_salary": Decimal(1)}),
           "candidate", "offer_four_eyes")
    e.complete(again.id, "rita", {"offer_salary": Decimal("85000")})
    approve = one_item(e, case.id, "approve_offer")
    refuse(e, case.id, lambda: e.complete(approve.id, "rita", {"offer_approved": True}),
           "candidate", "offer_four_eyes")
    case = e.complete(approve.id, "dora", {"offer_approved": True})
    one_item(e, case.id, "candidate_response")
    assert_intact(e, case.id)


def test_hr_offer_outside_the_band_goes_back_to_preparation() -> None:
    e, _, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    e.complete(one_item(e, case.id, "review_shortlist").id, "hana",
               {"shortlist_approved": True, "approved_wording": "Hi"})
    e.complete(one_item(e, case.id, "interview").id, "hana",
               {"interview_score": 9, "selected_candidate": "p4"})
    prep = one_item(e, case.id, "prepare_offer")
    refuse(e, case.id, lambda: e.complete(prep.id, "rita", {"offer_salary": Decimal(0)}),
           "outcome_check")
    e.complete(prep.id, "rita", {"offer_salary": Decimal("120000")})
    case = e.complete(one_item(e, case.id, "approve_offer").id, "dora", {"offer_approved": True})
    assert "offer_ok@prepare_offer" in fired(e, case.id)
    one_item(e, case.id, "prepare_offer")
    assert_intact(e, case.id)


def test_hr_lapsed_offer_is_withdrawn() -> None:
    withdrawn: list[str] = []
    e, clock, _ = hr_engine()
    e.service("withdraw_offer", lambda c: withdrawn.append(c.case))
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    hr_to_offer(e, case.id)
    e.complete(one_item(e, case.id, "approve_offer").id, "dora", {"offer_approved": True})
    clock.advance(7 * DAY)
    e.fire_timers()
    case = e.case(case.id)
    assert withdrawn == [case.id]
    assert ended_at(case) == "no_hire"
    assert_intact(e, case.id)


def test_hr_interview_timeout_reoffers() -> None:
    e, clock, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    e.complete(one_item(e, case.id, "review_shortlist").id, "hana",
               {"shortlist_approved": True, "approved_wording": "Hi"})
    first = one_item(e, case.id, "interview")
    clock.advance(14 * DAY)
    e.fire_timers()
    second = one_item(e, case.id, "interview")
    assert second.id != first.id
    case = e.complete(second.id, "hana", {"interview_score": 3, "selected_candidate": ""})
    assert ended_at(case) == "no_hire"
    assert_intact(e, case.id)


def test_hr_agent_may_not_decide_on_offers() -> None:
    e, _, _ = hr_engine()
    case = e.start(model("hr_hiring"), HR_IN)
    e.deliver(case.id, "collect_applications", APPLICATIONS)
    hr_to_offer(e, case.id)
    approve = one_item(e, case.id, "approve_offer")
    refuse(e, case.id,
           lambda: e.complete(approve.id, "screening_agent", {"offer_approved": True}),
           "screening_agent_scope")
    assert_intact(e, case.id)


# -- customer service -------------------------------------------------------------------------

TICKET = {"ticket_id": "T1", "channel": "chat", "customer_tier": "gold",
          "message": "I was charged twice"}


def assistant(confidence: float = 0.95, *, risk: str = "low", action: str = "send_article",
              refund: str = "0", needs_input: Any = False) -> Any:
    asked = iter(needs_input) if isinstance(needs_input, list) else None

    def answer(req: AgentRequest) -> AgentAnswer:
        if req.task == "classify_ticket":
            return AgentAnswer({"category": "billing", "urgency": "medium", "risk": risk},
                               confidence, "billing words")
        if req.task == "retrieve_knowledge":
            return AgentAnswer({"kb_article": "KB-42"}, 0.9, "search")
        if req.task == "propose_resolution":
            need = next(asked) if asked is not None else needs_input
            return AgentAnswer({"proposed_resolution": "see KB-42", "evidence": "logs",
                                "needs_customer_input": need, "action": action,
                                "refund_amount": Decimal(refund)}, 0.9, "proposal")
        assert req.task == "apply_action"
        return AgentAnswer({"resolved": True}, 0.99, "done")

    return answer


def cs_engine(**kw: Any) -> Any:
    e, clock = engine()
    e.agent("service_assistant", assistant(**kw))
    for bot in ("ask_customer", "send_reminder", "close_unanswered", "confirm_with_customer"):
        e.service(bot, lambda c: None)
    return e, clock


def test_cs_happy_path_is_resolved_by_the_assistant() -> None:
    e, _ = cs_engine()
    case = e.start(model("customer_service"), TICKET)
    assert case.status is CaseStatus.COMPLETED and ended_at(case) == "resolved_end"
    assert case.data["resolved"] is True and case.data["by_apply_action"] == "service_assistant"
    assert_intact(e, case.id)
    assert e.agent_records()["service_assistant"].completions == 4


@pytest.mark.parametrize("kw", [{"risk": "high"}, {"action": "escalate"},
                                {"action": "refund", "refund": "250"}])
def test_cs_risky_cases_go_to_a_person(kw: dict[str, Any]) -> None:
    e, _ = cs_engine(**kw)
    case = e.start(model("customer_service"), TICKET)
    review = one_item(e, case.id, "human_review")
    assert "apply_action:offer" not in fired(e, case.id)
    case = e.complete(review.id, "sue", {"action": "refund", "refund_amount": Decimal("250"),
                                         "proposed_resolution": "refund in full"})
    assert ended_at(case) == "resolved_end"
    assert case.data["by_human_review"] == "sue"
    assert_intact(e, case.id)


def test_cs_small_refund_is_applied_by_the_assistant() -> None:
    e, _ = cs_engine(action="refund", refund="40")
    case = e.start(model("customer_service"), TICKET)
    assert ended_at(case) == "resolved_end" and case.data["by_human_review"] == ""
    assert_intact(e, case.id)


def test_cs_sla_timeout_goes_to_the_supervisor() -> None:
    e, clock = cs_engine(risk="high")
    case = e.start(model("customer_service"), TICKET)
    review = one_item(e, case.id, "human_review")
    assert review.due == pytest.approx(4 * HOUR)
    e.claim(review.id, "sue")
    clock.advance(4 * HOUR)
    e.fire_timers()
    assert "human_review:timeout" in fired(e, case.id)
    sup = one_item(e, case.id, "supervisor_review")
    assert sup.role == "supervisor"
    case = e.complete(sup.id, "sam", {"action": "none", "refund_amount": Decimal(0),
                                      "proposed_resolution": "no action"})
    assert ended_at(case) == "resolved_end"
    assert case.data["by_supervisor_review"] == "sam"
    assert_intact(e, case.id)


def test_cs_low_confidence_classification_is_triaged_by_a_person() -> None:
    e, _ = cs_engine(confidence=0.6)
    case = e.start(model("customer_service"), TICKET)
    triage = one_item(e, case.id, "triage_manually")
    assert case.memory.get("pending") == ["low_confidence_classification_reviewed"]
    case = e.complete(triage.id, "sue", {"category": "billing", "urgency": "low",
                                         "risk": "low"})
    assert ended_at(case) == "resolved_end"
    apply = next(ev for ev in events(e, case.id) if ev.transition == "apply_action:complete")
    assert ("low_confidence_classification_reviewed", "pass") in apply.policies
    assert_intact(e, case.id)


def test_cs_customer_reply_loop() -> None:
    e, _ = cs_engine(needs_input=[True, False])
    case = e.start(model("customer_service"), TICKET)
    one_item(e, case.id, "await_reply")
    case = e.deliver(case.id, "await_reply", {"reply": "order 17", "customer_replied": True})
    assert ended_at(case) == "resolved_end"
    assert fired(e, case.id).count("propose_resolution:complete") == 2
    assert_intact(e, case.id)


def test_cs_unanswered_ticket_is_reminded_then_closed() -> None:
    sent: list[str] = []
    e, clock = cs_engine(needs_input=True)
    e.service("send_reminder", lambda c: sent.append("reminder"))
    e.service("close_unanswered", lambda c: sent.append("closed"))
    case = e.start(model("customer_service"), TICKET)
    clock.advance(2 * DAY)
    e.fire_timers()
    assert sent == ["reminder"]
    after = one_item(e, case.id, "await_reply_after_reminder")
    assert after.due == pytest.approx(5 * DAY)
    clock.advance(3 * DAY)
    e.fire_timers()
    case = e.case(case.id)
    assert sent == ["reminder", "closed"]
    assert ended_at(case) == "closed_unanswered"
    assert_intact(e, case.id)


def test_cs_suspended_assistant_hands_classification_to_a_person() -> None:
    e, _ = cs_engine()
    e.suspend_agent("service_assistant")
    case = e.start(model("customer_service"), TICKET)
    triage = one_item(e, case.id, "triage_manually")
    case = e.complete(triage.id, "sue", {"category": "billing", "urgency": "low",
                                         "risk": "low"})
    # retrieve_knowledge has no human fallback: it waits for the agent
    item = one_item(e, case.id, "retrieve_knowledge")
    assert item.attempt == 0
    e.resume_agent("service_assistant")
    assert ended_at(e.case(case.id)) == "resolved_end"
    assert_intact(e, case.id)


# -- fraud review --------------------------------------------------------------------------------

TXN = {"transaction_id": "X1", "customer_id": "C1", "amount": Decimal("1200"),
       "country": "NL", "channel": "card", "flag_reason": "velocity"}


def fraud_engine(decision: str = "approve", confidence: float = 0.95, *, aml: bool = False,
                 conflict: bool = False) -> Any:
    e, clock = engine()
    e.agent("fraud_agent", lambda r: AgentAnswer(
        {"agent_decision": decision, "risk_score": 20, "policy_conflict": conflict,
         "rationale": "history is clean"}, confidence, "history is clean"))
    e.service("fetch_kyc", lambda c: {"kyc_status": "verified"})
    e.service("aml_screen", lambda c: {"aml_hit": aml})
    e.service("fetch_history", lambda c: {"history_risk": 10})
    e.service("release_funds", lambda c: None)
    e.service("block_account", lambda c: None)
    return e, clock


def test_fraud_confident_approval_releases() -> None:
    e, _ = fraud_engine()
    case = e.start(model("fraud_review"), TXN)
    assert ended_at(case) == "approved"
    assert case.data["final_decision"] == "approve"
    assert_intact(e, case.id)


def test_fraud_low_confidence_goes_to_an_analyst() -> None:
    e, _ = fraud_engine(confidence=0.6)
    case = e.start(model("fraud_review"), TXN)
    review = one_item(e, case.id, "analyst_review")
    assert case.data["agent_decision"] == "approve"  # the draft is kept as evidence
    case = e.complete(review.id, "ann", {"final_decision": "approve",
                                         "rationale": "checked"})
    assert ended_at(case) == "approved"
    assert_intact(e, case.id)


def test_fraud_aml_hit_on_an_approval_goes_to_an_analyst() -> None:
    e, _ = fraud_engine(aml=True)
    case = e.start(model("fraud_review"), TXN)
    one_item(e, case.id, "analyst_review")
    assert "conflict@analyst_review" in fired(e, case.id)
    assert_intact(e, case.id)


def test_fraud_block_needs_compliance_by_another_person() -> None:
    blocked: list[str] = []
    e, _ = fraud_engine(confidence=0.5)
    e.service("block_account", lambda c: blocked.append(c.data["customer_id"]))
    case = e.start(model("fraud_review"), TXN)
    e.complete(one_item(e, case.id, "analyst_review").id, "ann",
               {"final_decision": "block", "rationale": "mule account"})
    compliance = one_item(e, case.id, "compliance_review")
    refuse(e, case.id, lambda: e.complete(compliance.id, "ann", {"sar_filed": True}),
           "candidate", "analyst_and_compliance_differ")
    assert blocked == []
    case = e.complete(compliance.id, "cora", {"sar_filed": True})
    assert blocked == ["C1"]
    assert ended_at(case) == "blocked"
    block = next(ev for ev in events(e, case.id) if ev.transition == "block_account:complete")
    assert ("compliance_before_block", "pass") in block.policies
    assert_intact(e, case.id)


def test_fraud_hold_then_verified_releases() -> None:
    e, _ = fraud_engine(decision="hold")
    case = e.start(model("fraud_review"), TXN)
    case = e.deliver(case.id, "verify_customer", {"customer_verified": True})
    assert ended_at(case) == "approved"
    assert_intact(e, case.id)


def test_fraud_hold_without_verification_escalates_to_compliance() -> None:
    e, clock = fraud_engine(decision="hold")
    case = e.start(model("fraud_review"), TXN)
    clock.advance(3 * DAY)
    e.fire_timers()
    assert "verify_customer:timeout" in fired(e, case.id)
    case = e.complete(one_item(e, case.id, "compliance_review").id, "cora",
                      {"sar_filed": False})
    assert ended_at(case) == "blocked"
    assert_intact(e, case.id)


def test_fraud_parallel_fetch_with_a_flaky_api() -> None:
    calls: list[tuple[int, str]] = []

    def flaky(call: ServiceCall) -> dict[str, Any]:
        calls.append((call.attempt, call.key))
        if call.attempt < 3:
            raise ConnectionError("AML provider busy")
        return {"aml_hit": False}

    e, clock = fraud_engine()
    e.service("aml_screen", flaky)
    case = e.start(model("fraud_review"), TXN)
    assert case.status is CaseStatus.WAITING
    assert items_of(e, case.id) and all(i.task == "aml_screen" for i in e.work_items(case.id))
    for _ in range(4):
        clock.advance(10)
        e.fire_timers()
    case = e.case(case.id)
    assert [a for a, _ in calls] == [1, 2, 3] and len({k for _, k in calls}) == 1
    assert ended_at(case) == "approved"
    assert_intact(e, case.id)


def test_fraud_api_exhausted_is_an_incident_and_retry_recovers() -> None:
    state = {"up": False}

    def kyc(call: ServiceCall) -> dict[str, Any]:
        if not state["up"]:
            raise ConnectionError("KYC down")
        return {"kyc_status": "verified"}

    e, clock = fraud_engine()
    e.service("fetch_kyc", kyc)
    case = e.start(model("fraud_review"), TXN)
    for _ in range(5):
        clock.advance(10)
        e.fire_timers()
    case = e.case(case.id)
    assert case.status is CaseStatus.FAILED and "fetch_kyc" in str(case.incident)
    incident = [ev for ev in events(e, case.id) if ev.action == "incident"]
    assert len(incident) == 1
    assert_intact(e, case.id)
    state["up"] = True
    case = e.retry(case.id, by="ops")
    assert ended_at(case) == "approved"
    assert_intact(e, case.id)


def test_fraud_analyst_timeout_reoffers() -> None:
    e, clock = fraud_engine(confidence=0.1)
    case = e.start(model("fraud_review"), TXN)
    first = one_item(e, case.id, "analyst_review")
    clock.advance(24 * HOUR)
    e.fire_timers()
    second = one_item(e, case.id, "analyst_review")
    assert second.id != first.id
    assert_intact(e, case.id)


def test_fraud_suspend_agent_sends_pending_evaluation_to_the_analyst() -> None:
    e, _ = fraud_engine()
    e._agents.clear()
    case = e.start(model("fraud_review"), TXN)
    item = one_item(e, case.id, "evaluate_signals")
    assert e.suspend_agent("fraud_agent") == 1
    assert e.store.work_item(item.id).status is ItemStatus.HANDED_OFF
    review = one_item(e, case.id, "analyst_review")
    case = e.complete(review.id, "ann", {"final_decision": "approve", "rationale": "ok"})
    assert ended_at(case) == "approved"
    assert_intact(e, case.id)


# -- small processes: policies without a candidate rule in front of them ------------------------

SMALL = """
process: sod_demo
data:
  amount: {type: int, input: true}
  ok: {type: bool}
  conf: {type: float, min: 0, max: 1}
  level: {type: int}
roles: [r]
agents:
  - {id: bot1, tasks: [draft], threshold: 0.8}
nodes:
  s: {type: start}
  draft: {type: task, kind: agent, agent: bot1, writes: [ok, conf], confidence: conf,
          handoff: fix}
  fix: {type: task, kind: human, role: r, writes: [ok]}
  check1: {type: task, kind: human, role: r, writes: [ok]}
  check2: {type: task, kind: human, role: r, writes: [ok]}
  bump: {type: task, kind: auto, set: {level: "level + 1"}}
  e: {type: end}
flows:
  - s -> draft
  - draft -> check1
  - fix -> check1
  - check1 -> check2
  - check2 -> bump
  - bump -> e
policies:
  - {id: two_people, type: segregation_of_duties, tasks: [check1, check2]}
  - {id: never_level_one, type: forbidden_state, condition: "level == 1 and amount > 5"}
"""


def small_engine(conf: float = 0.9, stated: float | None = None) -> Any:
    e, clock = engine()
    e.agent("bot1", lambda r: AgentAnswer({"ok": True, "conf": conf},
                                          conf if stated is None else stated, "r"))
    return e, clock


def test_segregation_of_duties_refuses_the_same_person_twice() -> None:
    e, _ = small_engine()
    case = e.start(compile_yaml(SMALL), {"amount": 1})
    e.complete(one_item(e, case.id, "check1").id, "ann", {"ok": True})
    item = one_item(e, case.id, "check2")
    refuse(e, case.id, lambda: e.complete(item.id, "ann", {"ok": False}), "two_people")
    refuse(e, case.id, lambda: e.claim(item.id, "ann"), "two_people")
    assert e.candidates(item.id, ["ann", "bob"]) == ["bob"]
    e.claim(item.id, "bob")
    with pytest.raises(WorkItemError):
        e.complete(item.id, "ann", {"ok": True})
    case = e.complete(item.id, "bob", {"ok": True})
    assert case.status is CaseStatus.COMPLETED
    assert_intact(e, case.id)


def test_people_must_hold_the_role() -> None:
    e, _ = engine(people={"ann": ["r"], "bob": ["other"]})
    e.agent("bot1", lambda r: AgentAnswer({"ok": True, "conf": 0.9}, 0.9))
    case = e.start(compile_yaml(SMALL), {"amount": 1})
    item = one_item(e, case.id, "check1")
    refuse(e, case.id, lambda: e.claim(item.id, "bob"), "role")
    refuse(e, case.id, lambda: e.complete(item.id, "bob", {"ok": True}), "role")
    e.complete(item.id, "ann", {"ok": True})
    assert_intact(e, case.id)


def test_a_forbidden_state_on_an_automatic_step_stops_the_case() -> None:
    e, _ = small_engine()
    case = e.start(compile_yaml(SMALL), {"amount": 9})
    e.complete(one_item(e, case.id, "check1").id, "ann", {"ok": True})
    case = e.complete(one_item(e, case.id, "check2").id, "bob", {"ok": True})
    assert case.status is CaseStatus.FAILED
    assert case.marking == {"bump:in": 1}
    assert case.data["level"] == 0
    refused, incident = events(e, case.id)[-2:]
    assert refused.kind == "refused" and ("never_level_one", "fail") in refused.policies
    assert incident.kind == "case" and incident.action == "incident"
    assert incident.reason == case.incident
    assert_intact(e, case.id)


def test_agent_handoff_by_its_answer() -> None:
    e, _ = small_engine(conf=0.3)
    case = e.start(compile_yaml(SMALL), {"amount": 1})
    assert one_item(e, case.id, "fix")
    handoff = next(ev for ev in events(e, case.id) if ev.transition == "draft:handoff")
    assert handoff.actor == "bot1" and handoff.confidence == pytest.approx(0.3)
    assert_intact(e, case.id)


def test_agent_confidence_in_the_journal_is_the_one_routed_on() -> None:
    e, _ = small_engine(conf=0.3, stated=0.99)
    case = e.start(compile_yaml(SMALL), {"amount": 1})
    handoff = next(ev for ev in events(e, case.id) if ev.transition == "draft:handoff")
    assert handoff.confidence == pytest.approx(float(case.data["conf"]))


def test_deferred_dispatch_calls_on_perform() -> None:
    e, _ = engine(dispatch="deferred")
    calls: list[str] = []
    e.agent("bot1", lambda r: calls.append(r.work_item) or AgentAnswer({"ok": True,
                                                                          "conf": 1}, 1))
    case = e.start(compile_yaml(SMALL), {"amount": 1})
    item = one_item(e, case.id, "draft")
    assert calls == []
    case = e.perform(item.id)
    assert calls == [item.id]
    one_item(e, case.id, "check1")
    assert_intact(e, case.id)


SPIN = """
process: spin
data:
  x: {type: int, min: 0, max: 3, input: true}
nodes:
  s: {type: start}
  loop: {type: exclusive}
  t: {type: task, kind: auto}
  again: {type: exclusive}
  e: {type: end}
flows:
  - s -> loop
  - loop -> t
  - t -> again
  - {from: again, to: loop, when: x > 0}
  - {from: again, to: e, default: true}
"""


def test_an_automatic_cycle_does_not_hang_the_engine() -> None:
    e, _ = engine()
    real = e._fire
    count = [0]

    def guarded(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        if count[0] > 20_000:
            raise AssertionError("the engine keeps firing automatic steps")
        return real(*args, **kwargs)

    e._fire = guarded  # type: ignore[method-assign]
    case = e.start(compile_yaml(SPIN), {"x": 1})
    assert case.status is CaseStatus.FAILED and case.incident


def test_the_kill_switches_work_on_a_failed_case() -> None:
    """Suspending a failed case, or the agent whose item it failed on, must work: a kill
    switch that raises is no kill switch. The incident still stands after resume."""
    from petriflow import Process
    from petriflow.runtime import Engine

    p = Process("scoring")
    p.field("amount", "decimal", input=True)
    p.field("risk", "enum", values=["low", "high"])
    p.agent("scorer")
    p.task("rate", kind="agent", agent="scorer", writes=["risk"])
    engine = Engine()

    def broken(request: Any) -> Any:
        raise PermanentError("the model is unavailable")

    engine.agent("scorer", broken)
    case = engine.start(p.compile(), {"amount": 5})
    assert case.status is CaseStatus.FAILED
    assert engine.suspend_agent("scorer") == 0
    assert engine.suspend(case.id).status is CaseStatus.SUSPENDED
    assert engine.resume(case.id).status is CaseStatus.FAILED
    assert engine.replay(case.id).ok
