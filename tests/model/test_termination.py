"""Implicit termination (models/SEMANTICS.md, Termination): the compiler, the kernel's
final markings, the checker and the engine agree on when a case has ended."""

from __future__ import annotations

import pytest

from petriflow.errors import ModelError
from petriflow.net.marking import Marking
from petriflow.store.base import CaseStatus
from petriflow.verify.process import check_deadlock, check_soundness
from petriflow.verify.result import Verdict
from tests.model.helpers import Case, compile_text, is_final
from tests.runtime.helpers import engine, items_of

FORK = """
process: fork
termination: {mode}
data: {{x: {{type: int, input: true, min: 0, max: 3}}}}
roles: [clerk]
nodes:
  start: {{type: start}}
  split: {{type: parallel}}
  a: {{type: task, kind: human, role: clerk}}
  b: {{type: task, kind: auto}}
  left: {{type: end}}
  right: {{type: end}}
flows:
  - start -> split
  - split -> a
  - split -> b
  - a -> left
  - b -> right
"""


def test_the_mode_is_explicit_by_default_and_implicit_changes_only_the_fingerprint() -> None:
    explicit = compile_text(FORK.format(mode="explicit"))
    default = compile_text(FORK.replace("termination: {mode}\n", "").format())
    implicit = compile_text(FORK.format(mode="implicit"))
    assert default.termination == explicit.termination == "explicit"
    assert default.fingerprint == explicit.fingerprint
    assert implicit.termination == "implicit" and implicit.net == explicit.net
    assert implicit.fingerprint != explicit.fingerprint
    with pytest.raises(ModelError):
        compile_text(FORK.format(mode="sometimes"))


def test_final_markings_of_the_kernel() -> None:
    for mode, ended in (("explicit", False), ("implicit", True)):
        c = compile_text(FORK.format(mode=mode))
        case = Case(c)
        case.fire("start", _o_x=1)
        case.fire("split")
        case.fire("b")
        case.fire("right")
        assert not is_final(c, case.marking)  # a is still open
        case.fire("a:offer")
        case.fire("a:complete", _actor="ann")
        case.fire("left")
        assert is_final(c, case.marking) is ended  # two end tokens
        # any number of tokens in one end place, too
        again = case.marking + Marking({"end:left": 1})
        assert is_final(c, again) is ended
        assert not is_final(c, Marking({"end:left": 1}))  # no case data


def test_the_checker_under_each_mode() -> None:
    explicit = compile_text(FORK.format(mode="explicit"))
    implicit = compile_text(FORK.format(mode="implicit"))
    d, s = check_deadlock(explicit, 20), check_soundness(explicit, 20)
    assert d.verdict is Verdict.VIOLATED   # two end tokens: not a proper end
    assert s.verdict is Verdict.VIOLATED and "improper completion" in str(s.reason)
    d, s = check_deadlock(implicit, 20), check_soundness(implicit, 20)
    assert (d.verdict, s.verdict) == (Verdict.PROVED, Verdict.PROVED), (d.reason, s.reason)


def test_a_branch_that_can_get_stuck_is_still_a_deadlock() -> None:
    stuck = FORK.format(mode="implicit").replace(
        "  b: {type: task, kind: auto}", "  b: {type: exclusive}\n  c: {type: task, kind: auto}"
    ).replace("  - b -> right", "  - {from: b, to: c, when: x > 1}\n"
              "  - {from: b, to: right, when: x == 0}\n  - c -> right")  # x == 1: stuck
    c = compile_text(stuck)
    d, s = check_deadlock(c, 20), check_soundness(c, 20)
    assert d.verdict is Verdict.VIOLATED and "every branch" in str(d.reason)
    assert s.verdict is Verdict.VIOLATED


@pytest.mark.parametrize("mode", ["explicit", "implicit"])
def test_the_engine_completes_a_case_when_the_mode_says_so(mode: str) -> None:
    c = compile_text(FORK.format(mode=mode))
    e, _ = engine()
    case = e.start(c, {"x": 1})
    assert e.case(case.id).status is CaseStatus.WAITING  # b has ended; a is open
    assert e.case(case.id).marking.get("end:right") == 1
    (item,) = items_of(e, case.id, "a")
    e.complete(item.id, "ann")
    rec = e.case(case.id)
    assert rec.marking.get("end:left") == rec.marking.get("end:right") == 1
    if mode == "implicit":   # every branch has reached an end: the case has ended
        assert rec.status is CaseStatus.COMPLETED
    else:                    # two end tokens is not an end: the checker calls it improper
        assert rec.status is CaseStatus.FAILED and "has not ended" in str(rec.incident)


def test_a_called_process_with_implicit_termination_is_refused(tmp_path) -> None:
    from petriflow.model import compile_file

    (tmp_path / "fork.yaml").write_text(FORK.format(mode="implicit"))
    (tmp_path / "main.yaml").write_text(
        "process: main\ndata: {x: {type: int, input: true, min: 0, max: 3}}\nroles: [clerk]\n"
        "nodes:\n  s: {type: start}\n  call: {type: call, process: fork.yaml}\n"
        "  e: {type: end}\nflows: [s -> call, call -> e]\n")
    with pytest.raises(ModelError, match="implicit termination"):
        compile_file(tmp_path / "main.yaml")


def test_spacer_deadlock_question_follows_the_mode() -> None:
    import time

    from petriflow.verify.smt.process_chc import recheck, spacer
    from petriflow.verify.smt.symbolic import Exploration

    def answer(text: str) -> str:
        ex = Exploration(compile_text(text), deadline=time.monotonic() + 20)
        r = spacer(ex, deadline=time.monotonic() + 20, deadlock=True)
        if r.answer == "unreachable":
            assert r.invariant is not None and recheck(ex, r.invariant, deadlock=True)
        return r.answer

    assert answer(FORK.format(mode="implicit")) == "unreachable"
    assert answer(FORK.format(mode="explicit")) == "reachable"  # two end tokens: stuck
