"""The checker on third-party nets with published answers (``../shared/corpus``).

- MCC 2021: every ``ReachabilityCardinality.xml`` parses with every formula supported;
  on a sample of small nets (the smallest instance of the ten smallest families), the
  global properties and the 16 formulas are answered under a short budget, and no
  answer contradicts the contest's oracle (``unknown`` is allowed).
- IBM business processes: for nets published as sound, neither soundness formula may
  be answered TRUE; for the others, every TRUE answer must come with a run that the
  kernel replays to a marking satisfying the formula.

Every witness (an ``EF`` formula answered TRUE, an ``AG`` formula answered FALSE, a
deadlock, a second token) is replayed by :class:`~petriflow.net.TokenGame` and checked
against the formula by the independent evaluator of :mod:`tests.verify.oracle`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from petriflow.net import Net, read_pnml
from petriflow.verify.formulas import EF, NamedFormula, Not, StateFormula
from petriflow.verify.mcc import read_properties
from petriflow.verify.portfolio import check
from petriflow.verify.result import Result
from tests.corpus import corpus_dir, require_corpus
from tests.verify.oracle import PT, replay_trace

SAMPLE_TIMEOUT = 0.5  # seconds per property: unknown is allowed, wrong is not
GLOBAL = {"deadlock": "ReachabilityDeadlock", "one-safe": "OneSafe",
          "quasi-liveness": "QuasiLiveness"}
MISSING = "corpus-missing"


def _manifest(kind: str) -> list[dict[str, str]]:
    path = corpus_dir() / kind / "MANIFEST.tsv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _mcc_instances() -> list[str]:
    return sorted(r["instance"] for r in _manifest("mcc")) or [MISSING]


def _mcc_sample(n: int = 10) -> list[str]:
    """The smallest instance of each of the ``n`` families with the smallest nets."""
    rows = sorted(_manifest("mcc"), key=lambda r: (int(r["places"]) + int(r["transitions"]),
                                                   r["instance"]))
    out: list[str] = []
    families: set[str] = set()
    for r in rows:
        if r["family"] not in families:
            families.add(r["family"])
            out.append(r["instance"])
        if len(out) == n:
            break
    return out or [MISSING]


def _ibm_nets(published: str, n: int) -> list[str]:
    """``n`` IBM nets with this ``sound_published`` value, spread over the sizes."""
    rows = sorted((r for r in _manifest("ibm") if r["sound_published"] == published),
                  key=lambda r: (int(r["places"]) + int(r["transitions"]), r["net"]))
    if not rows:
        return [MISSING]
    step = max(1, len(rows) // n)
    return [r["net"] for r in rows[::step][:n]]


def _node_ids(pnml: Path) -> tuple[set[str], set[str]]:
    """Place and transition ids of a PNML file (a light scan; the reader has its own
    tests, this one is about the property files)."""
    places, transitions = set(), set()
    for el in SafeET.parse(pnml).iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "place":
            places.add(el.get("id"))
        elif tag == "transition":
            transitions.add(el.get("id"))
    return places, transitions


def _expected(folder: Path) -> dict[str, str]:
    out = {}
    for line in (folder / "expected.txt").read_text().splitlines():
        if line.strip():
            key, value = line.split()
            out[key] = value
    return out


def _formulas(net: Net, xml: Path) -> list[NamedFormula]:
    props = read_properties(xml.read_bytes(), places={p.id for p in net.places},
                            transitions={t.id for t in net.transitions}, file=str(xml))
    unsupported = [p for p in props if isinstance(p, tuple)]
    assert not unsupported, unsupported
    return [p for p in props if isinstance(p, NamedFormula)]


def _assert_witness(net: Net, r: Result, formulas: dict[str, NamedFormula]) -> None:
    """A TRUE EF / FALSE AG / deadlock / unsafe answer comes with a run to such a marking."""
    pt = PT(net)
    if r.property in formulas:
        f = formulas[r.property].formula
        goal: StateFormula | None = None
        if isinstance(f, EF) and r.mcc_answer == "TRUE":
            goal = f.formula
        elif not isinstance(f, EF) and r.mcc_answer == "FALSE":
            goal = Not(f.formula)
        if goal is not None:
            assert r.trace is not None, f"{r.property}: {r.mcc_answer} without a witness"
            assert pt.holds(goal, replay_trace(net, r.trace)), \
                f"{r.property}: the witness does not reach a marking where the goal holds"
        return
    if r.property == "deadlock" and r.mcc_answer == "TRUE":
        assert not pt.enabled_ids(replay_trace(net, r.trace))
    if r.property == "one-safe" and r.mcc_answer == "FALSE":
        assert max(replay_trace(net, r.trace)) >= 2


# -- MCC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("instance", _mcc_instances())
def test_every_mcc_formula_is_supported(instance):
    folder = require_corpus("mcc", instance) if instance != MISSING else require_corpus("mcc")
    places, transitions = _node_ids(folder / "model.pnml")
    props = read_properties((folder / "ReachabilityCardinality.xml").read_bytes(),
                            places=places, transitions=transitions)
    assert len(props) == 16
    unsupported = [p for p in props if isinstance(p, tuple)]
    assert not unsupported, unsupported
    ids = [p.id for p in props if isinstance(p, NamedFormula)]
    assert len(set(ids)) == 16
    expected = _expected(folder)
    assert set(expected) - set(GLOBAL.values()) <= set(ids)


@pytest.mark.slow
@pytest.mark.parametrize("instance", _mcc_sample())
def test_mcc_answers_never_contradict_the_oracle(instance):
    folder = require_corpus("mcc", instance) if instance != MISSING else require_corpus("mcc")
    net = read_pnml((folder / "model.pnml").read_bytes(), file=str(folder / "model.pnml"))
    formulas = _formulas(net, folder / "ReachabilityCardinality.xml")
    expected = _expected(folder)
    results = check(net, list(GLOBAL), timeout=SAMPLE_TIMEOUT, formulas=formulas)
    assert len(results) == 3 + len(formulas)
    by_id = {f.id: f for f in formulas}
    wrong = []
    for r in results:
        key = GLOBAL.get(r.property, r.property)
        if r.mcc_answer is None:
            assert r.verdict.value == "unknown" and r.reason, r
            continue
        if key in expected and expected[key] != r.mcc_answer:
            wrong.append(f"{key}: answered {r.mcc_answer} ({r.method}), oracle {expected[key]}")
        _assert_witness(net, r, by_id)
    assert not wrong, "\n".join(wrong)


# -- IBM ---------------------------------------------------------------------------------------


def _ibm_results(name: str) -> tuple[Net, list[Result], dict[str, NamedFormula]]:
    folder = require_corpus("ibm")
    if name == MISSING:
        pytest.skip("no IBM manifest")
    pnml = folder / name
    net = read_pnml(pnml.read_bytes(), file=str(pnml))
    formulas = _formulas(net, pnml.with_name(name.replace(".pnml", ".soundness.xml")))
    assert len(formulas) == 2
    results = check(net, [], timeout=5, formulas=formulas)
    return net, results, {f.id: f for f in formulas}


@pytest.mark.parametrize("name", _ibm_nets("TRUE", 15))
def test_published_sound_ibm_nets_are_never_refuted(name):
    net, results, formulas = _ibm_results(name)
    for r in results:
        assert r.mcc_answer != "TRUE", f"{r.property} answered TRUE ({r.method}) on a net " \
                                       "published as sound"
        _assert_witness(net, r, formulas)


@pytest.mark.parametrize("name", _ibm_nets("UNKNOWN", 10))
def test_ibm_counterexamples_replay(name):
    net, results, formulas = _ibm_results(name)
    for r in results:
        _assert_witness(net, r, formulas)
