"""Every verdict of ``verification/corpus/EXPECTED.tsv``, with its evidence.

Rows are grouped by file: each file is checked once (all its properties in one
:func:`petriflow.verify.portfolio.check` call, 30 s per property) and the results are
shared by the per-row tests. A ``violated`` result of a process must come with a
counterexample whose steps name elements of the model and that the kernel replays
(:func:`petriflow.net.firing.fire`, with each step's binding); a ``violated`` result of
a net with a firing sequence the token game replays to a bad marking. A ``proved``
result names its method, and a proof by a symbolic method carries a certificate that
was re-checked.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest

from petriflow.model.compile import compile_loaded
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import load_process
from petriflow.net import Marking, Net, read_pnml
from petriflow.net.firing import fire
from petriflow.verify.portfolio import check
from petriflow.verify.result import Result, Verdict
from tests.corpus import REPO
from tests.model.helpers import has_binding, is_final, token_enabled
from tests.verify.oracle import PT, replay_trace

pytestmark = pytest.mark.slow

EXPECTED = REPO / "verification" / "corpus" / "EXPECTED.tsv"
TIMEOUT = 30.0


def _rows() -> list[tuple[str, str, str]]:
    with EXPECTED.open(newline="") as f:
        return [(r["path"], r["property"], r["verdict"])
                for r in csv.DictReader(f, delimiter="\t")]


ROWS = _rows()
BY_FILE: dict[str, list[str]] = {}
for _path, _prop, _ in ROWS:
    BY_FILE.setdefault(_path, []).append(_prop)


@functools.cache
def target(path: str) -> CompiledProcess | Net:
    p = REPO / path
    if p.suffix == ".pnml":
        return read_pnml(p.read_bytes(), file=path)
    return compile_loaded(load_process(p, []))


@functools.cache
def results(path: str) -> dict[str, Result]:
    """One check per file, shared by every row of the file."""
    out = check(target(path), BY_FILE[path], timeout=TIMEOUT)
    return {r.property: r for r in out}


# Rows whose verdict the checker currently gets wrong, with the reason (strict xfail: they
# must keep failing until fixed, then the entry goes). Empty: the text-decoding bug that
# turned two violations into "unknown" was fixed in commit 553465c.
WRONG_VERDICT: dict[tuple[str, str], str] = {}


def _params(evidence: bool) -> list[object]:
    out = []
    for path, prop, verdict in ROWS:
        marks = []
        if not evidence and (path, prop) in WRONG_VERDICT:
            marks.append(pytest.mark.xfail(strict=True, reason=WRONG_VERDICT[path, prop]))
        out.append(pytest.param(path, prop, verdict, marks=marks,
                                id=f"{Path(path).stem}::{prop}"))
    return out


def test_every_row_names_a_file_and_a_known_property():
    assert ROWS, "EXPECTED.tsv is empty"
    for path, prop, verdict in ROWS:
        assert (REPO / path).is_file(), path
        assert verdict in ("proved", "violated"), (path, prop, verdict)
        if path.endswith(".pnml"):
            assert prop in ("deadlock", "bounded", "one-safe", "quasi-liveness", "soundness")
    assert len(set(ROWS)) == len(ROWS), "duplicate rows"


@pytest.mark.parametrize("path, prop, verdict", _params(evidence=False))
def test_verdict(path, prop, verdict):
    r = results(path)[prop]
    assert r.verdict.value == verdict, f"{r.verdict.value} ({r.method}): {r.reason}"


@pytest.mark.parametrize("path, prop, verdict", _params(evidence=True))
def test_evidence(path, prop, verdict):
    r = results(path)[prop]
    t = target(path)
    assert r.method, "a verdict without a method"
    if r.verdict is Verdict.UNKNOWN:
        assert r.reason, "unknown without a reason"
    elif r.verdict is Verdict.PROVED:
        _check_proof(r)
    elif isinstance(t, Net):
        _check_net_violation(t, r)
    else:
        _check_process_violation(t, r)


def _check_proof(r: Result) -> None:
    symbolic = any(word in r.method for word in ("symbolic", "state equation", "SMT"))
    if r.certificate and r.certificate.get("method") == "state-equation":
        symbolic = True
    if symbolic:
        assert r.certificate, f"a symbolic proof without a certificate ({r.method})"
        assert r.certificate.get("rechecked") is True, \
            f"the certificate of '{r.method}' was not re-checked: {r.certificate}"


def _check_net_violation(net: Net, r: Result) -> None:
    if r.trace is None:  # only verdicts that no single run shows
        assert r.property in ("soundness", "quasi-liveness"), "a violation without a trace"
        assert "never" in (r.reason or "") or "dead" in (r.reason or "")
        return
    end = replay_trace(net, r.trace)
    pt = PT(net)
    if r.property == "deadlock":
        assert not pt.enabled_ids(end)
    elif r.property == "one-safe":
        assert max(end) >= 2


def _check_process_violation(compiled: CompiledProcess, r: Result) -> None:
    if r.method.startswith("structural"):  # a fact of the model itself, not of a run
        assert r.reason, "a structural violation must say what is wrong"
        return
    if r.property == "soundness" and r.trace is None:
        assert "dead transitions" in (r.reason or "")
        return
    assert r.trace, "a violation without a counterexample"
    nodes = set(compiled.spec.nodes)
    for step in r.trace:
        assert step.element in nodes, f"step {step.transition} names no model element"
        assert step.transition in compiled.net.transition_map
        assert step.line is not None and step.file, f"step {step.transition} has no source line"
    m = compiled.net.initial_marking
    for step in r.trace:
        m = fire(compiled.net, m, step.transition, step.binding).after
    assert isinstance(m, Marking)
    if r.property == "deadlock":
        _assert_stuck(compiled, m)


def _assert_stuck(compiled: CompiledProcess, m: Marking) -> None:
    """Not a proper end, and nothing that needs no answer can fire."""
    assert not is_final(compiled, m), "the deadlock trace ends at a proper end"
    for tid in token_enabled(compiled.net, m):
        if not compiled.net.transition(tid).variables:
            assert not has_binding(compiled.net, m, tid), f"{tid} can still fire"
