"""The engine's shortcuts change no outcome: it skips policy evaluation for steps no
policy concerns (``Enforcer.concerns`` and ``Enforcer.remembers``), and asks whether an
automatic transition is enabled without asking why not (``Program.enabled``)."""

from __future__ import annotations

from typing import Any

import pytest

from petriflow.runtime.deployment import Deployment
from petriflow.runtime.enforce import ALLOWED
from tests.runtime.helpers import model

MODELS = ("invoice_to_payment", "fraud_review", "hr_hiring", "customer_service")


def _records(dep: Deployment) -> list[dict[str, Any]]:
    """A few data records of the process: its defaults, and every field changed."""
    base: dict[str, Any] = {}
    for name, color in dep.compiled.data_color.fields:
        kind = getattr(color, "kind", "")
        base[name] = {"bool": False, "int": 0, "decimal": 0, "str": ""}.get(kind, "")
        if kind == "enum":
            base[name] = next(iter(color.members()))
    return [base, {**base, **{n: True if isinstance(v, bool) else v for n, v in base.items()}}]


@pytest.mark.parametrize("name", MODELS)
def test_skipped_steps_concern_no_policy(name: str) -> None:
    dep = Deployment(model(name))
    enforcer = dep.enforcer
    memories: list[dict[str, Any]] = [
        {}, {"fired": sorted(enforcer.remember_fired), "pending": [r[0] for r in
                                                                  enforcer.reviews],
             "actors": {task: ["ana"] for task in enforcer.actor_tasks.values()}}]
    skipped = 0
    for t in dep.program.transitions:
        for before in _records(dep):
            for memory in memories:
                if not enforcer.concerns(t.id, None, {}):
                    skipped += 1
                    # a step that writes nothing and has no agent: nothing to record
                    for after in (before, dict(before)):
                        verdict = enforcer.evaluate(t.id, t.task, t.action, "ana", None,
                                                    before, after, memory, {})
                        assert verdict == ALLOWED, (t.id, verdict)
                for name, value in _records(dep)[1].items():
                    written = {name: value}  # a step that writes one field
                    after = {**before, **written}
                    if not enforcer.concerns(t.id, None, written, before):
                        skipped += 1
                        verdict = enforcer.evaluate(t.id, t.task, t.action, "ana", None,
                                                    before, after, memory, written)
                        assert verdict == ALLOWED, (t.id, name, verdict)
                    # the first step (no data before it) is checked against every rule
                    assert enforcer.concerns(t.id, None, written, None) or not (
                        enforcer.evaluate(t.id, t.task, t.action, "ana", None, None, after,
                                          memory, written).outcomes)
                if t.id not in enforcer.remembers:
                    for actor in (None, "ana"):
                        assert enforcer.remember(t.id, actor, before, memory) is memory, t.id
    assert skipped  # routing steps and offers are skipped in every reference process


@pytest.mark.parametrize("name", MODELS)
def test_enabled_agrees_with_why_not(name: str) -> None:
    """Program.enabled (what next_automatic asks) is why_not without the reason."""
    import random

    dep = Deployment(model(name))
    program = dep.program
    rng = random.Random(7)
    records: list[Any] = [None, *_records(dep)]
    for _ in range(300):
        counts = [rng.choice((0, 0, 1, 2)) for _ in program.places]
        data = rng.choice(records)
        for t in program.transitions:
            assert program.enabled(t, counts, data) == (
                program.why_not(t, counts, data, {}) is None), t.id


UNAPPROVED = """\
process: payout
data:
  amount: {type: int, input: true}
  ok: {type: bool}
  paid: {type: int}
roles: [manager]
agents:
  - {id: helper, tasks: [summarise]}
nodes:
  s: {type: start}
  route: {type: exclusive}
  approve: {type: task, role: manager, writes: [ok]}
  pay: {type: task, kind: api, reads: [amount], writes: [paid],
        retry: {attempts: 3, backoff_seconds: 1}, on_error: failed}
  failed: {type: end}
  e: {type: end}
flows:
  - s -> route
  - {from: route, to: approve, when: "amount > 100"}
  - {from: route, to: pay, default: true}
  - approve -> pay
  - pay -> e
policies:
  - {id: approved_first, type: precedence, task: pay, after: approve}
"""


def test_a_service_the_policies_refuse_whatever_it_answers_is_never_called() -> None:
    """A payment before its approval: the call would move money that refusing the step
    afterwards cannot bring back. Each attempt is refused before the call, the attempts
    run out into the model's error path, and the API is never called; with the approval
    done first it is called once."""
    from petriflow.model import compile_loaded, load_text
    from petriflow.runtime import Engine, ManualClock
    from petriflow.store.base import CaseStatus

    compiled = compile_loaded(load_text(UNAPPROVED, "payout.yaml"))
    clock = ManualClock()
    engine = Engine(clock=clock)
    calls: list[int] = []
    engine.service("pay", lambda c: calls.append(c.attempt) or {"paid": 50})
    small = engine.start(compiled, {"amount": 50})  # the model skips the approval
    for _ in range(10):
        clock.advance(60)
        engine.fire_timers()
    small = engine.case(small.id)
    assert calls == []
    assert small.status is CaseStatus.COMPLETED and small.marking.get("end:failed")
    refused = [e for e in engine.store.events(small.id) if e.kind == "refused"]
    assert len(refused) == 3
    assert all(e.reason.startswith("not called: ") and ("approved_first", "fail")
               in e.policies for e in refused)
    assert engine.replay(small.id).ok
    big = engine.start(compiled, {"amount": 500})
    [item] = engine.work_items(big.id)
    engine.complete(item.id, "mia", {"ok": True})
    assert calls == [1] and engine.case(big.id).status is CaseStatus.COMPLETED
    assert engine.case(big.id).marking.get("end:e")
