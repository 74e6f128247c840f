"""A stored process document rebuilds the very process that was deployed, or is refused.

The fingerprint is the process's identity: the net, how a case ends, and what the engine
enforces beside the net (policies, agents, tasks' reads, checks, thresholds, retries).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from petriflow.errors import ModelError
from petriflow.model import compile_file
from petriflow.model.document import from_document, to_document
from petriflow.runtime import Engine

MODELS = Path(__file__).resolve().parents[2] / "models"
REFERENCE = ["invoice_to_payment", "hr_hiring", "customer_service", "fraud_review"]


@pytest.fixture(scope="module")
def invoice() -> Any:
    return compile_file(MODELS / "invoice_to_payment.yaml")


@pytest.mark.parametrize("name", REFERENCE)
def test_a_document_rebuilds_the_same_process(name: str) -> None:
    compiled = compile_file(MODELS / f"{name}.yaml")
    back = from_document(to_document(compiled))
    assert back.fingerprint == compiled.fingerprint
    assert back.net == compiled.net
    assert back.runtime_settings() == compiled.runtime_settings()


def _edited(doc: dict[str, Any], edit: Any) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    edit(changed)
    return changed


def _policy(doc: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in doc["policies"] if p["id"] == pid)


EDITS = {
    "a policy's limit": lambda d: _policy(d, "cfo_above_limit").update(
        when="amount > 99999999"),
    "a policy dropped": lambda d: d["policies"].pop(),
    "an agent's threshold": lambda d: d["spec"]["agents"][0].update(threshold=0.01),
    "an agent's scope": lambda d: d["spec"]["agents"][0]["tasks"].append("approve_cfo"),
    "what an agent may read": lambda d: d["spec"]["nodes"]["extract_invoice"][
        "reads"].append("submitted_by"),
    "a task's retries": lambda d: d["spec"]["nodes"]["pay"].update(
        retry={"attempts": 100}),
}


@pytest.mark.parametrize("what", list(EDITS))
def test_a_document_edited_after_deployment_is_refused(invoice: Any, what: str) -> None:
    doc = to_document(invoice)
    with pytest.raises(ModelError, match="changed after it was deployed"):
        from_document(_edited(doc, EDITS[what]))


def test_descriptions_are_not_part_of_the_identity(invoice: Any) -> None:
    doc = to_document(invoice)

    def reword(d: dict[str, Any]) -> None:
        d["spec"]["description"] = "reworded"
        d["spec"]["agents"][0]["description"] = "reworded"
        d["spec"]["nodes"]["pay"]["description"] = "reworded"
        d["spec"]["data"]["amount"]["description"] = "reworded"

    assert from_document(_edited(doc, reword)).fingerprint == invoice.fingerprint


def test_a_document_of_format_1_keeps_the_identity_it_was_stored_under(invoice: Any
                                                                       ) -> None:
    """Written before the fingerprint covered the runtime settings: checked against its net
    (and termination mode) only, and its cases still find it under the old fingerprint."""
    doc = to_document(invoice)
    old = {**doc, "format": 1, "fingerprint": invoice.legacy_fingerprint}
    back = from_document(old)
    assert back.fingerprint == invoice.legacy_fingerprint == invoice.net.fingerprint
    assert back.fingerprint != invoice.fingerprint
    moved = _edited(old, lambda d: next(f for f in d["spec"]["flows"] if f.get("when")
                                        ).update(when="contract_ok"))
    with pytest.raises(ModelError, match="changed after it was deployed"):
        from_document(moved)
    with pytest.raises(ModelError, match="format 3 is not 1 or 2"):
        from_document({**doc, "format": 3})


def test_a_changed_policy_file_deploys_as_another_process(tmp_path: Path) -> None:
    source = (MODELS / "invoice_to_payment.yaml").read_text()
    policies = (MODELS.parent / "verification" / "policies" / "invoice_to_payment.yaml"
                ).read_text()
    assert "amount > 10000" in policies
    (tmp_path / "policies.yaml").write_text(policies.replace("amount > 10000",
                                                             "amount > 5000"))
    model = tmp_path / "invoice.yaml"
    model.write_text(source.replace("../verification/policies/invoice_to_payment.yaml",
                                    "policies.yaml"))
    engine = Engine()
    real = engine.deploy(MODELS / "invoice_to_payment.yaml")
    stricter = engine.deploy(model)
    assert stricter.fingerprint != real.fingerprint
    assert stricter.compiled.net == real.compiled.net
    assert {d.fingerprint for d in engine.deployments()} == {real.fingerprint,
                                                            stricter.fingerprint}
