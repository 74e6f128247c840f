"""Unit tests of the audit journal's hash chain (petriflow/governance/audit.py)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from petriflow.governance.audit import (
    GENESIS,
    AuditEvent,
    EventKind,
    canonical,
    event_hash,
    seal,
    verify_chain,
)

CASE = "c1"


def chain(n: int = 5, case: str = CASE) -> list[AuditEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        ev = seal(AuditEvent(case=case, seq=seq, kind=EventKind.STEP, at=float(seq),
                             transition=f"t{seq}", task="pay", action="complete",
                             actor="mia", actor_kind="human",
                             binding={"_o_amount": Decimal("10.50"), "_actor": "mia"},
                             writes={"amount": Decimal("10.50")},
                             policies=(("four_eyes", "pass"),), prev=prev))
        events.append(ev)
        prev = ev.hash
    return events


def test_an_intact_chain_verifies() -> None:
    events = chain()
    report = verify_chain(CASE, events, events[-1].hash)
    assert report.ok and report.events == 5 and report.seq is None
    assert verify_chain(CASE, events).ok  # without a head
    assert verify_chain(CASE, [], GENESIS).ok  # an empty journal of a new case
    assert "chain intact" in str(report)


def test_hash_is_sha256_of_the_canonical_body() -> None:
    ev = chain(1)[0]
    assert len(ev.hash) == 64 and ev.hash == event_hash(ev)
    text = canonical(ev.body())
    assert '"$decimal":"10.50"' in text and " " not in text.replace("mia", "")
    assert ev.prev == GENESIS
    # decimals are tagged: 10.5 and 10.50 are different amounts on paper
    other = dataclasses.replace(ev, writes={"amount": Decimal("10.5")})
    assert event_hash(other) != ev.hash


@pytest.mark.parametrize("change", [
    {"actor": "mallory"},
    {"at": 99.0},
    {"kind": EventKind.REFUSED},
    {"transition": "other"},
    {"binding": {"_o_amount": Decimal("1000000"), "_actor": "mia"}},
    {"writes": {}},
    {"policies": (("four_eyes", "fail"),)},
    {"reason": "because"},
    {"confidence": 0.99},
    {"work_item": "x"},
])
def test_a_changed_field_is_detected(change: dict[str, object]) -> None:
    events = chain()
    events[2] = dataclasses.replace(events[2], **change)
    report = verify_chain(CASE, events, events[-1].hash)
    assert not report.ok and report.seq == 3
    assert "changed" in str(report.reason)


def test_a_changed_and_resealed_event_breaks_the_next_link() -> None:
    events = chain()
    events[2] = seal(dataclasses.replace(events[2], actor="mallory", hash=""))
    report = verify_chain(CASE, events, events[-1].hash)
    assert not report.ok and report.seq == 4
    assert "link" in str(report.reason)


def test_a_removed_event_is_detected() -> None:
    events = chain()
    del events[1]
    report = verify_chain(CASE, events, events[-1].hash)
    assert not report.ok and report.seq == 3  # numbered 3 where 2 was expected


def test_a_removed_and_renumbered_event_is_detected() -> None:
    events = chain()
    del events[1]
    events = [dataclasses.replace(ev, seq=i) for i, ev in enumerate(events, start=1)]
    report = verify_chain(CASE, events, events[-1].hash)
    assert not report.ok


def test_a_duplicated_event_is_detected() -> None:
    events = chain()
    events.insert(2, events[1])
    assert not verify_chain(CASE, events).ok


def test_reordered_events_are_detected() -> None:
    events = chain()
    events[1], events[2] = events[2], events[1]
    report = verify_chain(CASE, events, chain()[-1].hash)
    assert not report.ok and report.seq in (2, 3)


def test_reordered_and_renumbered_events_are_detected() -> None:
    events = chain()
    events[1], events[2] = (dataclasses.replace(events[2], seq=2),
                            dataclasses.replace(events[1], seq=3))
    report = verify_chain(CASE, events)
    assert not report.ok and report.seq == 2


def test_a_truncated_tail_is_detected_by_the_head() -> None:
    events = chain()
    head = events[-1].hash
    truncated = events[:-2]
    assert verify_chain(CASE, truncated).ok  # links alone cannot tell
    report = verify_chain(CASE, truncated, head)
    assert not report.ok and report.seq == 4
    assert "missing" in str(report.reason)
    report = verify_chain(CASE, [], head)
    assert not report.ok


def test_an_event_of_another_case_is_detected() -> None:
    events = chain()
    foreign = chain(case="c2")
    events[2] = foreign[2]
    report = verify_chain(CASE, events)
    assert not report.ok and "c2" in str(report.reason)
    # and a whole journal of another case does not verify as this one
    assert not verify_chain(CASE, foreign).ok


def test_the_first_event_must_link_to_genesis() -> None:
    events = chain()
    events[0] = seal(dataclasses.replace(events[0], prev="f" * 64, hash=""))
    report = verify_chain(CASE, events)
    assert not report.ok and report.seq == 1


def test_an_unsealed_event_does_not_verify() -> None:
    ev = AuditEvent(case=CASE, seq=1, kind=EventKind.CASE, at=0.0)
    assert not verify_chain(CASE, [ev]).ok
    assert verify_chain(CASE, [seal(ev)]).ok


def test_values_outside_json_are_refused() -> None:
    ev = AuditEvent(case=CASE, seq=1, kind=EventKind.STEP, at=0.0, binding={"x": object()})
    with pytest.raises(TypeError):
        seal(ev)


# -- the hot-path encoder writes exactly the canonical text -------------------------------

from decimal import Decimal as _Decimal  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from petriflow.governance.audit import AuditEvent as _Event  # noqa: E402
from petriflow.governance.audit import canonical as _canonical  # noqa: E402
from petriflow.governance.audit import event_text as _event_text  # noqa: E402

_text = st.text(max_size=8)
_values = st.one_of(st.none(), st.booleans(), st.integers(), _text,
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=3))
_maps = st.dictionaries(_text, _values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(case=_text, seq=st.integers(1, 10**6), at=st.floats(0, 1e9), opt=st.none() | _text,
       binding=_maps, writes=_maps, reads=st.lists(_text, max_size=3).map(tuple),
       policies=st.lists(st.tuples(_text, st.sampled_from(["pass", "fail"])),
                         max_size=3).map(tuple),
       confidence=st.none() | st.floats(0, 1))
def test_event_text_is_the_canonical_json(case: str, seq: int, at: float, opt: str | None,
                                          binding: dict, writes: dict, reads: tuple,
                                          policies: tuple, confidence: float | None) -> None:
    e = _Event(case, seq, "step", at, opt, opt, opt, opt, opt, opt, binding, reads, writes,
               policies, confidence, opt, opt, opt, "0" * 64)
    assert _event_text(e) == _canonical(e.body())
    assert isinstance(_Decimal, type)


_odd = st.one_of(st.none(), st.booleans(), st.integers(), _text,
                 st.decimals(allow_nan=False, allow_infinity=False, places=2))


@settings(max_examples=200, deadline=None)
@given(reads=st.lists(_odd, max_size=3).map(tuple),
       policies=st.lists(st.lists(_odd, max_size=3).map(tuple), max_size=3).map(tuple),
       keys=st.lists(_text, max_size=3))
def test_event_text_of_unusual_shapes_is_still_the_canonical_json(
        reads: tuple, policies: tuple, keys: list[str]) -> None:
    """Reads that are not all strings and policies that are not (id, outcome) pairs take
    the general path, and come out the same as the canonical encoder's."""
    e = _Event("c", 1, "step", 0.0, reads=reads, policies=policies,
               binding={k: _Decimal("1.5") for k in keys})
    assert _event_text(e) == _canonical(e.body())


from petriflow.governance.audit import PlainTemplate as _PlainTemplate  # noqa: E402
from petriflow.governance.audit import StepTemplate as _StepTemplate  # noqa: E402
from petriflow.governance.audit import event_hash as _event_hash  # noqa: E402

# texts with the characters the templates must not take for their own ("%", quotes...)
_names = st.text(alphabet=st.sampled_from('ab%s"\\{}[],:\u00e9\n\x00'), max_size=6)


@settings(max_examples=300, deadline=None)
@given(case=_names, seq=st.integers(1, 10**6), at=st.floats(0, 1e9) | st.integers(0, 10**9),
       opt=st.none() | _names, kind=_names, prev=_names)
def test_a_plain_event_seals_to_the_same_hash(case: str, seq: int, at: float,
                                              opt: str | None, kind: str, prev: str) -> None:
    e = _Event(case, seq, kind, at, opt, opt, opt, None, opt, prev=prev)
    _PlainTemplate(kind, opt, opt, opt, opt).seal(e)
    assert e.hash == _event_hash(e)


@settings(max_examples=300, deadline=None)
@given(case=_names, seq=st.integers(1, 10**6), at=st.floats(0, 1e9) | st.integers(0, 10**9),
       opt=st.none() | _names, kind=_names, prev=_names, actor=st.none() | _names,
       binding=_maps | st.dictionaries(_names, _values, max_size=4),
       writes=_maps, reads=st.lists(_names, max_size=3).map(tuple),
       policies=st.lists(st.tuples(_names, st.sampled_from(["pass", "fail"])),
                         max_size=3).map(tuple),
       confidence=st.none() | st.floats(0, 1) | st.integers(0, 1))
def test_a_step_event_seals_to_the_same_hash(case: str, seq: int, at: float,
                                             opt: str | None, kind: str, prev: str,
                                             actor: str | None, binding: dict, writes: dict,
                                             reads: tuple, policies: tuple,
                                             confidence: float | None) -> None:
    e = _Event(case, seq, kind, at, opt, opt, opt, actor, opt, opt, binding, reads, writes,
               policies, confidence, opt, opt, opt, prev)
    _StepTemplate(kind, opt, opt, opt, opt, opt, reads).seal(e)
    assert e.hash == _event_hash(e)
    assert _event_text(e) == _canonical(e.body())
    # the same shapes again (the key orders and policy texts are cached now)
    e2 = _Event(case, seq + 1, kind, at, opt, opt, opt, actor, opt, opt, dict(binding), reads,
                dict(writes), tuple(policies), confidence, opt, opt, opt, e.hash)
    _StepTemplate(kind, opt, opt, opt, opt, opt, reads).seal(e2)
    assert e2.hash == _event_hash(e2)


def test_mappings_of_mixed_key_types_take_the_encoders_path() -> None:
    e = _Event("c", 1, "step", 0.0, binding={1: "a", "1": "b"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        _event_text(e)  # the encoder refuses to sort 1 and "1", as canonical() does
    with pytest.raises(TypeError):
        _canonical(e.body())
    e = _Event("c", 1, "step", 0.0, binding={1: "a", 2: "b"})  # type: ignore[dict-item]
    assert _event_text(e) == _canonical(e.body())
