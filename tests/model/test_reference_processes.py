"""The four reference processes and the corpus of broken variants: they load and compile,
EXPECTED.tsv describes them all, static policies are decided as expected, and a happy
path of each reference process reaches an end event with hand-written answers."""

from __future__ import annotations

import csv
import functools
import re
from decimal import Decimal
from pathlib import Path

import pytest

from petriflow.governance.policies import AgentScope, DataMinimisation
from petriflow.model import CompiledProcess, compile_file
from petriflow.net.pnml import read_pnml, write_pnml
from tests.model.helpers import Case

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted(p for p in (ROOT / "models").glob("*.yaml")
                if not p.name.endswith(".scenario.yaml"))  # scenarios are not processes
CORPUS = sorted((ROOT / "verification" / "corpus" / "processes").glob("*.yaml"))
EXPECTED = ROOT / "verification" / "corpus" / "EXPECTED.tsv"
NET_PROPERTIES = {"deadlock", "soundness", "bounded"}
REFERENCE = {"invoice_to_payment", "hr_hiring", "customer_service", "fraud_review"}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def compiled(path: str) -> CompiledProcess:
    return compile_file(ROOT / path)


@functools.cache
def expected_rows() -> tuple[tuple[str, str, str], ...]:
    """The rows of EXPECTED.tsv about process models (nets are tested in tests/verify)."""
    with EXPECTED.open(newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["path", "property", "verdict"]
    assert all(len(r) == 3 for r in rows[1:]), [r for r in rows[1:] if len(r) != 3]
    return tuple((r[0], r[1], r[2]) for r in rows[1:] if r[0].endswith((".yaml", ".json")))


def expected() -> dict[tuple[str, str], str]:
    return {(p, prop): verdict for p, prop, verdict in expected_rows()}


def test_there_are_four_reference_processes_and_a_corpus() -> None:
    assert {p.stem for p in MODELS} == REFERENCE
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("path", [rel(p) for p in MODELS + CORPUS])
def test_loads_and_compiles(path: str) -> None:
    c = compiled(path)
    assert c.name in REFERENCE
    assert c.net.places and c.net.transitions
    assert c.final_places and all(p.startswith("end:") for p in c.final_places)
    assert dict(c.net.initial_marking.counts()) == {"source": 1}
    assert read_pnml(write_pnml(c.net)).fingerprint == c.net.fingerprint
    assert compile_file(ROOT / path).fingerprint == c.fingerprint  # deterministic


# -- EXPECTED.tsv ----------------------------------------------------------------------------

def test_expected_has_no_duplicate_rows_and_valid_verdicts() -> None:
    rows = expected_rows()
    keys = [(p, prop) for p, prop, _ in rows]
    assert len(keys) == len(set(keys))
    assert {v for _, _, v in rows} <= {"proved", "violated"}


def test_expected_lists_every_reference_process_and_corpus_file() -> None:
    listed = {p for p, _, _ in expected_rows()}
    assert listed == {rel(p) for p in MODELS + CORPUS}
    for path in listed:
        assert (ROOT / path).is_file(), path


@pytest.mark.parametrize("path", sorted({p for p, _, _ in expected_rows()}))
def test_expected_properties_are_net_properties_or_policies_of_the_model(path: str) -> None:
    policies = {ob.policy.id for ob in compiled(path).obligations}
    properties = {prop for p, prop, _ in expected_rows() if p == path}
    assert properties <= NET_PROPERTIES | policies, properties - NET_PROPERTIES - policies
    assert "deadlock" in properties
    if path.startswith("models/"):  # a reference process: every property, every policy
        assert properties == NET_PROPERTIES | policies
        assert {v for p, _, v in expected_rows() if p == path} == {"proved"}
    else:  # a broken variant breaks something, as its header says
        header = (ROOT / path).read_text().splitlines()[0]
        m = re.search(r"\(expected: (\w+) violated", header)
        assert m, header
        assert expected()[(path, m.group(1))] == "violated"
        assert header.startswith(f"# BROKEN VARIANT of models/{compiled(path).name}.yaml")


@pytest.mark.parametrize("path", sorted({p for p, _, _ in expected_rows()}))
def test_static_policies_are_violated_exactly_when_expected(path: str) -> None:
    table = expected()
    static = [ob for ob in compiled(path).obligations
              if isinstance(ob.policy, AgentScope | DataMinimisation)]
    assert static  # every process here has an agent scope
    for ob in static:
        verdict = table.get((path, ob.policy.id), "proved")
        assert (ob.static_violation is not None) == (verdict == "violated"), (
            ob.policy.id, ob.static_violation)


def test_the_static_violation_says_why() -> None:
    path = "verification/corpus/processes/hr_hiring__agent_sees_protected.yaml"
    (ob,) = [ob for ob in compiled(path).obligations
             if ob.policy.id == "no_protected_attributes_to_agent"]
    assert ob.static_violation is not None
    assert "screening_agent" in ob.static_violation
    assert "applicant_ages" in ob.static_violation


# -- happy paths -----------------------------------------------------------------------------

def test_invoice_to_payment_happy_path() -> None:
    case = Case(compiled("models/invoice_to_payment.yaml"))
    case.start(invoice_id="INV-1", channel="pdf", document_quality="good", submitted_by="sam")
    case.fire("choose_method")
    assert case.data["extraction_method"] == "ocr"
    case.do("extract_invoice", "invoice_extractor", supplier="ACME", amount=Decimal("500"),
            currency="EUR", po_number="PO-7", extraction_confidence=Decimal("0.95"))
    case.do("validate_invoice", contract_ok=True, terms_ok=True)
    case.fire("valid@fork")
    case.fire("fork")
    case.do("screen_sanctions", sanctions_hit=False)
    case.offer("approve_manager")
    assert not case.can_complete("approve_manager", "sam", approved=True)  # the submitter
    case.complete("approve_manager", "mia", approved=True)
    case.fire("join")
    case.fire("decide@pay")
    case.do("pay", payment_reference="PAY-1")
    case.do("bank_confirmation", payment_confirmed=True)
    case.fire("confirmed@paid")
    case.fire("paid")
    assert case.ended_at() == "paid"
    assert case.control() == {"end:paid": 1, "pay:done": 1}
    d = case.data
    assert (d["by_approve_manager"], d["by_extract_invoice"], d["payment_reference"]) == (
        "mia", "invoice_extractor", "PAY-1")


def test_invoice_to_payment_above_the_cfo_limit_then_returned_and_reversed() -> None:
    case = Case(compiled("models/invoice_to_payment.yaml"))
    case.start(invoice_id="INV-2", channel="edi", document_quality="poor", submitted_by="sam")
    case.fire("choose_method")
    assert case.data["extraction_method"] == "edi_parser"
    case.do("extract_invoice", "invoice_extractor", supplier="BIG", amount=Decimal("25000"),
            currency="USD", po_number="PO-9", extraction_confidence=Decimal("0.85"))
    case.do("validate_invoice", contract_ok=True, terms_ok=True)
    case.fire("valid@fork")
    case.fire("fork")
    case.do("approve_manager", "mia", approved=True)
    case.do("screen_sanctions", sanctions_hit=False)
    case.fire("join")
    case.fire("decide@approve_cfo")
    case.offer("approve_cfo")
    assert not case.can_complete("approve_cfo", "mia", cfo_approved=True)  # the manager
    case.complete("approve_cfo", "carl", cfo_approved=True)
    case.fire("cfo_decision@pay")
    case.do("pay", payment_reference="PAY-2")
    case.offer("bank_confirmation")
    case.fire("bank_confirmation:timeout")
    case.do("investigate_payment", "ivy", payment_confirmed=False)
    case.fire("confirmed@payment_returned")
    case.fire("payment_returned")
    case.fire("compensate:pay")
    case.do("reverse_payment")
    case.fire("compensation:done")
    assert case.ended_at() == "payment_returned"
    assert case.control() == {"end:payment_returned": 1}


def test_hr_hiring_happy_path() -> None:
    case = Case(compiled("models/hr_hiring.yaml"))
    case.start(requisition_id="R-1", job_title="Engineer", required_skills="python",
               salary_band_max=Decimal("90000"), hiring_manager="hank")
    case.do("collect_applications", applications_received=3, candidate_profiles="a; b; c",
            applicant_genders="", applicant_ages="", applicant_nationalities="")
    case.fire("enough_applicants@screen_candidates")
    case.do("screen_candidates", "screening_agent", shortlist="a, b", shortlist_size=2,
            screening_confidence=Decimal("0.9"))
    case.offer("review_shortlist")
    assert not case.can_complete("review_shortlist", "rita", shortlist_approved=True,
                                 approved_wording="x")  # only the hiring manager
    case.complete("review_shortlist", "hank", shortlist_approved=True,
                  approved_wording="Dear candidate")
    case.fire("shortlist_ok@send_invitations")
    case.do("send_invitations", "screening_agent", invitations_sent=2)
    case.do("interview", "hank", interview_score=8, selected_candidate="a")
    case.fire("hire_decision@prepare_offer")
    case.do("prepare_offer", "rita", offer_salary=Decimal("85000"))
    case.offer("approve_offer")
    for who in ("rita", "hank"):  # the preparer and the hiring manager may not approve
        assert not case.can_complete("approve_offer", who, offer_approved=True)
    case.complete("approve_offer", "dora", offer_approved=True)
    case.fire("offer_ok@send_offer")
    case.do("send_offer")
    case.do("candidate_response", offer_accepted=True)
    case.fire("accepted@hired")
    case.fire("hired")
    assert case.ended_at() == "hired"


def test_customer_service_happy_path() -> None:
    case = Case(compiled("models/customer_service.yaml"))
    case.start(ticket_id="T-1", channel="email", customer_tier="gold",
               message="I cannot log in")
    bot = "service_assistant"
    case.do("classify_ticket", bot, category="account", urgency="low", risk="low",
            classification_confidence=Decimal("0.93"))
    case.do("retrieve_knowledge", bot, kb_article="KB-12")
    case.do("propose_resolution", bot, proposed_resolution="reset the password",
            evidence="KB-12", needs_customer_input=True, action="reset_password",
            refund_amount=Decimal(0))
    case.fire("need_info@ask_customer")  # one round of questions
    case.do("ask_customer")
    case.do("await_reply", reply="yes, please", customer_replied=True)
    case.do("propose_resolution", bot, proposed_resolution="reset the password",
            evidence="KB-12", needs_customer_input=False, action="reset_password",
            refund_amount=Decimal(0))
    case.fire("need_info@route")
    case.fire("route@apply_action")
    case.do("apply_action", bot, resolved=True)
    case.do("confirm_with_customer")
    case.fire("resolved_end")
    assert case.ended_at() == "resolved_end"
    assert case.data["by_apply_action"] == bot and case.data["by_human_review"] == ""


def test_fraud_review_happy_path() -> None:
    case = Case(compiled("models/fraud_review.yaml"))
    case.start(transaction_id="TX-1", customer_id="C-1", amount=Decimal("120.50"),
               country="NL", channel="card", flag_reason="velocity")
    case.fire("fetch_signals")
    case.do("aml_screen", aml_hit=False)
    case.do("fetch_history", history_risk=10)
    assert "signals_ready" not in case.token_enabled()
    case.do("fetch_kyc", kyc_status="verified")
    case.fire("signals_ready")
    case.do("evaluate_signals", "fraud_agent", agent_decision="approve",
            decision_confidence=Decimal("0.97"), risk_score=4, policy_conflict=False,
            rationale="known customer, usual pattern")
    case.fire("conflict@adopt_agent_decision")
    case.fire("adopt_agent_decision")
    assert case.data["final_decision"] == "approve"
    case.fire("route@release_funds")
    case.do("release_funds")
    case.fire("approved")
    assert case.ended_at() == "approved"
