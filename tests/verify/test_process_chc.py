"""Spacer on compiled processes: it proves policies where the exploration cannot close
(a counter in a loop), its invariants re-check, and on random processes it never
contradicts brute force."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from petriflow.model import compile_file
from petriflow.model.compiled import DATA_PLACE, DATA_VAR, SOURCE_PLACE
from petriflow.net.evaluate import evaluate
from petriflow.verify.portfolio import check
from petriflow.verify.result import Verdict
from petriflow.verify.smt.monitors import monitor_for
from petriflow.verify.smt.process_chc import kinduction, recheck, recheck_kinduction, spacer
from petriflow.verify.smt.symbolic import Exploration, fields_read
from tests.model.test_random_processes import compile_data, processes
from tests.strategies import scaled
from tests.verify.test_process_differential import (
    duties_broken,
    explore_edges,
    precedence_broken,
)

LOOP = """\
process: retry_loop
version: "1.0"
data:
  amount: {type: int, input: true, min: 0}
  attempts: {type: int}
  approved: {type: bool}
roles: [clerk]
nodes:
  start: {type: start}
  init: {type: task, kind: auto, set: {attempts: "0"}}
  try_pay: {type: task, kind: human, role: clerk, reads: [amount], writes: [approved]}
  count: {type: task, kind: auto, set: {attempts: "attempts + 1"}}
  again: {type: exclusive}
  pay: {type: task, kind: bot, reads: [amount]}
  end: {type: end}
flows:
  - start -> init
  - init -> try_pay
  - try_pay -> count
  - count -> again
  - {from: again, to: try_pay, when: "not approved"}
  - {from: again, to: pay, default: true}
  - pay -> end
policies:
  - id: counter
    statement: The attempt counter stays in range
    type: forbidden_state
    condition: "CONDITION"
"""


def _loop(tmp_path: Path, condition: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "loop.yaml"
    path.write_text(LOOP.replace("CONDITION", condition))
    return compile_file(path)


def test_a_counter_in_a_loop_is_proved_by_spacer(tmp_path: Path) -> None:
    [r] = check(_loop(tmp_path, "attempts < 0"), ["counter"], timeout=30)
    assert r.verdict is Verdict.PROVED, r.reason
    assert r.method.startswith("Spacer")
    assert r.certificate is not None and r.certificate["rechecked"] is True


def test_a_counter_that_does_overflow_is_violated_with_a_replayed_path(tmp_path: Path) -> None:
    [r] = check(_loop(tmp_path, "attempts > 2"), ["counter"], timeout=30)
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None
    assert sum(s.transition.endswith("count") or "count" in s.transition
               for s in r.trace) == 3


def test_a_deep_violation_is_found_after_spacer_gives_up(tmp_path: Path) -> None:
    """Beyond the exploration's region cap the bad state is reachable: Spacer cannot
    replay it, so the exploration goes on without the cap and finds the path."""
    c = _loop(tmp_path, "attempts > 33")
    [r] = check(c, ["counter"], timeout=60)
    assert r.verdict is Verdict.VIOLATED, r.reason


def test_a_wrong_invariant_does_not_recheck(tmp_path: Path) -> None:
    import z3

    c = _loop(tmp_path, "attempts < 0")
    ob = c.obligations[0]
    ex = Exploration(c, deadline=time.monotonic() + 30, needs=fields_read(ob.condition))
    ex.monitor = monitor_for(ob, ex)
    assert not recheck(ex, z3.BoolVal(True))  # true is inductive but allows the bad state
    r = spacer(ex, deadline=time.monotonic() + 30)
    assert r.answer == "unreachable" and r.invariant is not None
    assert recheck(ex, r.invariant)


def test_kinduction_proves_the_counter_bound_and_its_certificate_rechecks(tmp_path: Path) -> None:
    c = _loop(tmp_path, "attempts < 0")
    ob = c.obligations[0]
    ex = Exploration(c, deadline=time.monotonic() + 30, needs=fields_read(ob.condition))
    ex.monitor = monitor_for(ob, ex)
    r = kinduction(ex, deadline=time.monotonic() + 30)
    assert r.answer == "unreachable", r.reason
    assert recheck_kinduction(ex, r.k)
    assert not recheck_kinduction(ex, 0) or r.k == 0


def test_kinduction_finds_a_shallow_violation(tmp_path: Path) -> None:
    c = _loop(tmp_path, "attempts > 1")
    ob = c.obligations[0]
    ex = Exploration(c, deadline=time.monotonic() + 30, needs=fields_read(ob.condition))
    ex.monitor = monitor_for(ob, ex)
    assert kinduction(ex, deadline=time.monotonic() + 30).answer == "reachable"


# -- against brute force on random processes -------------------------------------------------


def _spacer_answer(c, ob, deadlock: bool = False) -> str:  # type: ignore[no-untyped-def]
    ex = Exploration(c, deadline=time.monotonic() + 20,
                     needs=fields_read(ob.condition) if ob is not None else ())
    if ob is not None:
        ex.monitor = monitor_for(ob, ex)
    r = spacer(ex, deadline=time.monotonic() + 20, deadlock=deadlock)
    if r.answer == "unreachable":
        assert r.invariant is not None and recheck(ex, r.invariant, deadlock=deadlock), \
            "Spacer's invariant does not re-check"
    return r.answer


def _kinduction_answer(c, ob) -> str:  # type: ignore[no-untyped-def]
    ex = Exploration(c, deadline=time.monotonic() + 20, needs=fields_read(ob.condition))
    ex.monitor = monitor_for(ob, ex)
    r = kinduction(ex, deadline=time.monotonic() + 5, max_k=4)
    if r.answer == "unreachable":
        assert recheck_kinduction(ex, r.k), "the k-induction certificate does not re-check"
    return r.answer


@pytest.mark.slow
@settings(max_examples=scaled(10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(processes(max_depth=2), st.data())
def test_spacer_agrees_with_brute_force_on_policies(data, draw):  # type: ignore[no-untyped-def]
    tasks = sorted(n for n, v in data["nodes"].items() if v["type"] == "task")
    people = sorted(n for n, v in data["nodes"].items()
                    if v["type"] == "task" and v.get("kind") in ("human", "agent"))
    assume(len(tasks) >= 2)
    first, second = draw.draw(st.permutations(tasks), label="tasks")[:2]
    condition = draw.draw(st.sampled_from(["x == 3 and flag", 'level == "hi" and x > 0',
                                           "not flag and x == 0", "x > 3"]), label="condition")
    policies = [{"id": "order", "type": "precedence", "task": second, "after": first},
                {"id": "forbidden", "type": "forbidden_state", "condition": condition}]
    if len(people) >= 2:
        policies.append({"id": "duties", "type": "segregation_of_duties",
                         "tasks": people[:2]})
    c = compile_data({**data, "policies": policies})
    edges, complete = explore_edges(c)
    assume(complete)
    obs = {ob.policy.id: ob for ob in c.obligations}
    order, forbidden = obs["order"], obs["forbidden"]
    broken = {
        "order": precedence_broken(edges, c.net.initial_marking,
                                   set(order.transitions["task"]),
                                   set(order.transitions["after"])),
        "forbidden": any(m.count(DATA_PLACE) == 1 and m.count(SOURCE_PLACE) == 0 and evaluate(
            forbidden.condition, {DATA_VAR: next(iter(m[DATA_PLACE].elements()))}) is True
            for m in edges),
    }
    if "duties" in obs:
        broken["duties"] = duties_broken(edges, c.net.initial_marking,
                                         {t: set(obs["duties"].transitions[t])
                                          for t in people[:2]})
    for name, bad in broken.items():
        for method, answer in (("Spacer", _spacer_answer(c, obs[name])),
                               ("k-induction", _kinduction_answer(c, obs[name]))):
            event(f"{name}: {method} {answer}")
            if answer == "unreachable":
                assert not bad, f"{name}: {method} proved a policy that brute force breaks"
            elif answer == "reachable":
                assert bad, f"{name}: {method} reaches a bad state brute force never reaches"
