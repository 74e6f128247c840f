"""Regenerate the deliberately broken variants from the reference processes.

Run `python verification/corpus/processes/make_variants.py` after changing a reference
process; each variant is the reference with the edits below, and a header saying what
breaks and which verdict it must get (also in ../EXPECTED.tsv).
"""
import pathlib

root = pathlib.Path(__file__).resolve().parents[3]
out = root / "verification/corpus/processes"
def variant(src, name, header, edits):
    text = (root / "models" / f"{src}.yaml").read_text()
    for old, new in edits:
        assert old in text, (name, old)
        text = text.replace(old, new, 1)
    text = text.replace("policy_files: [../verification/policies/", "policy_files: [../../policies/")
    lines = "".join(f"# {line}\n" for line in header.strip().splitlines())
    (out / f"{src}__{name}.yaml").write_text(lines + text)

# ---------------- invoice to payment
variant("invoice_to_payment", "auto_approve_high_confidence", """
BROKEN VARIANT of models/invoice_to_payment.yaml (expected: manager_before_payment violated).
A "fast lane": when the extraction agent is at least 95% confident and the amount is
at most 50,000, the invoice is auto-approved in place of the manager approval, while
screening runs as usual. The CFO band still applies, so the four-eyes and CFO policies
keep holding; what breaks is that an invoice can be paid without any manager approval.
""", [
    ("  join:\n    type: parallel\n", "  approval_lane: {type: exclusive, name: \"Fast lane?\"}\n  auto_approve:\n    type: task\n    kind: auto\n    name: Auto-approve confident extraction\n    set: {approved: \"True\"}\n  approval_done: {type: exclusive}\n  join:\n    type: parallel\n"),
    ("  - fork -> approve_manager\n", "  - fork -> approval_lane\n  - {from: approval_lane, to: auto_approve, when: extraction_confidence >= 0.95 and amount <= 50000}\n  - {from: approval_lane, to: approve_manager, default: true}\n  - auto_approve -> approval_done\n"),
    ("  - approve_manager -> join\n", "  - approve_manager -> approval_done\n  - approval_done -> join\n"),
])
variant("invoice_to_payment", "timeout_pays_without_screening", """
BROKEN VARIANT of models/invoice_to_payment.yaml (expected: screening_before_payment violated).
When the sanctions API does not answer within four hours, an escalation "assumes clear"
so that the manager's approval is not held up. The payment can then happen although the
supplier was never screened.
""", [
    ("    writes: [sanctions_hit]\n    retry: {attempts: 5, backoff_seconds: 1}\n", "    writes: [sanctions_hit]\n    retry: {attempts: 5, backoff_seconds: 1}\n    timeout: {after: PT4H, to: assume_clear}\n  assume_clear:\n    type: task\n    kind: auto\n    name: Assume no sanctions hit (screening timed out)\n    set: {sanctions_hit: \"False\"}\n"),
    ("  - screen_sanctions -> join\n", "  - screen_sanctions -> screening_done\n  - assume_clear -> screening_done\n  - screening_done -> join\n"),
    ("  join:\n    type: parallel\n", "  screening_done: {type: exclusive}\n  join:\n    type: parallel\n"),
])
variant("invoice_to_payment", "cfo_limit_typo", """
BROKEN VARIANT of models/invoice_to_payment.yaml (expected: cfo_above_limit violated).
The amount band that routes to the CFO reads 100000 instead of 10000 (one zero too
many), so invoices between 10,000 and 100,000 are paid without the CFO.
""", [
    ("  - {from: decide, to: approve_cfo, when: amount > 10000}", "  - {from: decide, to: approve_cfo, when: amount > 100000}"),
])
variant("invoice_to_payment", "unstructured_join_deadlock", """
BROKEN VARIANT of models/invoice_to_payment.yaml (expected: deadlock violated).
The manager's rejection leaves the parallel block directly for the "rejected" end
event, while screening runs in the other branch. The join then waits forever for the
approval branch, and the case ends with a token stuck before the join: not a proper
end (an unstructured join, the kind of error that hides in drawn diagrams).
""", [
    ("- approve_manager -> join\n", "- approve_manager -> manager_ok\n  - {from: manager_ok, to: join, when: approved}\n  - {from: manager_ok, to: rejected, default: true}\n"),
    ("  join:\n    type: parallel\n", "  manager_ok: {type: exclusive}\n  join:\n    type: parallel\n"),
])
variant("invoice_to_payment", "cfo_rework_loop", """
BROKEN VARIANT of models/invoice_to_payment.yaml (expected: four_eyes_approval violated).
A CFO who does not approve sends the invoice back for correction instead of rejecting
it, and the whole approval runs again. The correction task's candidate rule only
excludes the submitter, so the CFO (or the manager who approved) can correct the invoice
and have colleagues approve it: one person acts in two of the three roles.
""", [
    ("  - {from: cfo_decision, to: rejected, default: true}", "  - {from: cfo_decision, to: review_extraction, default: true}"),
])

# ---------------- HR hiring
variant("hr_hiring", "agent_sees_protected", """
BROKEN VARIANT of models/hr_hiring.yaml (expected: no_protected_attributes_to_agent violated).
"For seniority fit" the screening agent is given the applicants' ages.
""", [
    ("    reads: [job_title, required_skills, candidate_profiles]\n    writes: [shortlist, shortlist_size, screening_confidence]", "    reads: [job_title, required_skills, candidate_profiles, applicant_ages]\n    writes: [shortlist, shortlist_size, screening_confidence]"),
])
variant("hr_hiring", "invitations_after_rework", """
BROKEN VARIANT of models/hr_hiring.yaml (expected: invitations_only_after_approval violated;
review_before_invitations still proved). When the hiring manager rejects the shortlist,
the recruiter fixes it and the invitations go out directly, without a second review:
the shortlist that is invited was never approved.
""", [
    ("  - manual_screening -> review_shortlist\n", "  - manual_screening -> rework_done\n  - {from: rework_done, to: send_invitations, when: by_review_shortlist != \"\"}\n  - {from: rework_done, to: review_shortlist, default: true}\n"),
    ("  shortlist_ok: {type: exclusive}\n", "  shortlist_ok: {type: exclusive}\n  rework_done: {type: exclusive}\n"),
])
variant("hr_hiring", "offer_self_approval", """
BROKEN VARIANT of models/hr_hiring.yaml (expected: offer_four_eyes violated).
The offer approval's candidate rule only excludes the hiring manager, so the recruiter
who prepared the offer can approve it.
""", [
    ("    candidate: actor != by_prepare_offer and actor != hiring_manager", "    candidate: actor != hiring_manager"),
])

# ---------------- customer service
variant("customer_service", "sla_bypass", """
BROKEN VARIANT of models/customer_service.yaml (expected: high_risk_human_handoff violated).
Supervisors now take urgent high-risk cases directly, and "to keep the SLA" a human review
that runs out of time is auto-resolved by the assistant. A high-risk case that is not
urgent and whose reviewer does not answer in four hours is acted on without any person.
""", [
    ("    timeout: {after: PT4H, to: supervisor_review}", "    timeout: {after: PT4H, to: apply_action}"),
    ('  - {from: route, to: human_review, when:', '  - {from: route, to: supervisor_review, when: urgency == "high" and risk == "high"}\n  - {from: route, to: human_review, when:'),
])
variant("customer_service", "route_and_instead_of_or", """
BROKEN VARIANT of models/customer_service.yaml (expected: high_risk_human_handoff violated,
and large_refund_needs_human violated too). The routing condition joins "high risk" and "large
refund" with 'and' instead of 'or': a high-risk case without a refund, and a low-risk case
with a large refund, both go straight to the assistant.
""", [
    ('when: risk == "high" or action == "escalate" or (action == "refund" and refund_amount > 100)}', 'when: risk == "high" and (action == "escalate" or (action == "refund" and refund_amount > 100))}'),
])
variant("customer_service", "routing_gap_deadlock", """
BROKEN VARIANT of models/customer_service.yaml (expected: deadlock violated).
The routing gateway lists its cases without a default flow, and misses one: a low-risk
refund above 100 that is not an escalation matches no condition, and the case is stuck.
""", [
    ("  - {from: route, to: apply_action, default: true}", "  - {from: route, to: apply_action, when: risk == \"low\" and action != \"escalate\" and (action != \"refund\" or refund_amount <= 100)}"),
    ('  - {from: route, to: human_review, when: risk == "high" or action == "escalate" or (action == "refund" and refund_amount > 100)}', '  - {from: route, to: human_review, when: risk == "high" or action == "escalate"}'),
])

# ---------------- fraud review
variant("fraud_review", "threshold_mismatch", """
BROKEN VARIANT of models/fraud_review.yaml (expected: low_confidence_human_review violated).
The model hands off below 0.8 while the policy requires review below 0.9: an answer with
confidence 0.85 is adopted without an analyst.
""", [
    ("    threshold: 0.9\n    handoff: analyst_review", "    threshold: 0.8\n    handoff: analyst_review"),
])
variant("fraud_review", "aml_hit_not_routed", """
BROKEN VARIANT of models/fraud_review.yaml (expected: aml_hit_never_auto_approved violated).
The conflict gateway only looks at the agent's own policy-conflict flag: an AML hit on a
transaction the agent wants to approve is adopted without review.
""", [
    ('when: policy_conflict or (aml_hit and agent_decision == "approve")}', 'when: policy_conflict}'),
])
variant("fraud_review", "compliance_self_confirm", """
BROKEN VARIANT of models/fraud_review.yaml (expected: analyst_and_compliance_differ violated).
The compliance review has no candidate rule, so the analyst who decided can confirm the
block as compliance officer.
""", [
    ("    candidate: actor != by_analyst_review\n", ""),
])
