"""The store conformance suite: what every :class:`~petriflow.store.base.Store` must do.

The in-memory reference store (:class:`~petriflow.store.memory.InMemoryStore`) defines the
semantics; the SQL store (SQLite and PostgreSQL) and any other implementation must match
it. Each ``check_<behaviour>(store_factory)`` function takes a zero-argument callable that
returns a *fresh, empty* store, exercises one behaviour of the protocol and raises
``AssertionError`` (plain ``assert``) when the store does not conform. The checks use
no test framework, so any runner can call them.

Using it for another store implementation, e.g. with pytest::

    import pytest
    from petriflow.testing import conformance

    def fresh_store():
        return MyStore(...)        # a new, empty store every call

    @pytest.mark.parametrize("check", conformance.ALL_CHECKS, ids=lambda c: c.__name__)
    def test_my_store_conforms(check):
        check(fresh_store)

A durable store (one whose data outlives the store object) also runs
:data:`DURABLE_CHECKS`; those take a second argument, ``reopen(store) -> Store``, that
returns a *new* store object on the same underlying database (for the SQL store:
``lambda s: SqlStore(s.url)``). :func:`run_all` runs everything that applies.

The engine checks need the reference model ``models/invoice_to_payment.yaml`` of the
petriflow source tree; pass ``model=`` to use a copy elsewhere.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from petriflow.errors import ConflictError, NotFoundError, PolicyRefusal, StoreError
from petriflow.governance.audit import GENESIS, AuditEvent, EventKind, seal, verify_chain
from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    ItemStatus,
    Store,
    StoredProcess,
    Timer,
    WorkItem,
)

StoreFactory = Callable[[], Store]
Reopen = Callable[[Store], Store]

FINGERPRINT = "c0f0" * 16          # 64 hex digits, like a real process fingerprint
PROCESS = "conformance"
INVOICE_MODEL = Path(__file__).resolve().parents[2] / "models" / "invoice_to_payment.yaml"
INVOICE_INPUTS = {"invoice_id": "INV-1", "channel": "pdf", "document_quality": "good",
                  "submitted_by": "sam"}


# -- building blocks ---------------------------------------------------------------------------


def stored_process(fingerprint: str = FINGERPRINT, name: str = PROCESS) -> StoredProcess:
    """A process without a declared data color: case data is read back as plain values."""
    return StoredProcess(fingerprint, name, "1.0", {"format": 1, "name": name})


def make_case(case_id: str, *, version: int = 0, head: str = GENESIS,
              status: CaseStatus = CaseStatus.WAITING, process: str = PROCESS,
              data: Mapping[str, Any] | None = None, started: float = 0.0,
              updated: float | None = None, marking: Mapping[str, int] | None = None,
              incident: str | None = None) -> CaseRecord:
    return CaseRecord(
        id=case_id, process=process, fingerprint=FINGERPRINT, status=status,
        marking=dict(marking if marking is not None else {"start": 1, "work": 2}),
        data=dict(data if data is not None else {"amount": Decimal("12.50"), "name": "Zoë"}),
        memory={"done": ["a", "b"], "by": {"approve": "mia"}},
        version=version, head=head, started=started,
        updated=started if updated is None else updated, incident=incident,
        labels={"run": "conformance"})


def make_events(case_id: str, first_seq: int, count: int, prev: str = GENESIS,
                *, at: float = 1.5) -> list[AuditEvent]:
    """``count`` sealed events continuing a chain at ``prev``, with decimals, unicode,
    nested values and every optional field used."""
    out = []
    for seq in range(first_seq, first_seq + count):
        e = AuditEvent(
            case=case_id, seq=seq, kind=EventKind.STEP if seq % 3 else EventKind.REFUSED,
            at=at + seq, transition=f"t{seq}", task="approve", action="complete",
            actor="mia", actor_kind="human", agent_version="2.3",
            binding={"amount": Decimal("1234.50"), "tiny": Decimal("0.000001"),
                     "big": Decimal("1E+3"), "ok": True, "n": seq, "text": "façade ✓",
                     "nested": {"k": [Decimal("1.10"), None]}},
            reads=("amount", "supplier"),
            writes={"amount": Decimal("-7.25"), "approved": seq % 2 == 0, "none": None},
            policies=(("four_eyes", "pass"), ("limit", "fail")), confidence=0.875,
            rationale="because", reason="why not" if seq % 3 == 0 else None,
            work_item=f"{case_id}.{seq}", prev=prev)
        seal(e)
        prev = e.hash
        out.append(e)
    return out


def make_item(item_id: str, case_id: str, *, status: ItemStatus = ItemStatus.OFFERED,
              role: str | None = None, agent: str | None = None, kind: str = "human",
              created: float = 0.0, claimed_by: str | None = None) -> WorkItem:
    return WorkItem(id=item_id, case=case_id, task="task_" + item_id.rsplit(".", 1)[-1],
                    place="work:" + item_id, kind=kind, status=status, created=created,
                    role=role, agent=agent, claimed_by=claimed_by, attempt=0,
                    key=f"{case_id}:{item_id}", due=86400.0, lease_until=None, closed=None,
                    outcome=None)


def new_case(store: Store, case_id: str, *, events: int = 1, **kwargs: Any
             ) -> tuple[CaseRecord, list[AuditEvent]]:
    """Create a case with ``events`` journal events; returns it and its events."""
    store.save_process(stored_process())
    evs = make_events(case_id, 1, events)
    rec = make_case(case_id, version=len(evs), head=evs[-1].hash if evs else GENESIS,
                    **kwargs)
    store.commit(Change(rec, None, evs))
    return rec, evs


def case_view(rec: CaseRecord) -> tuple[Any, ...]:
    """A case's fields as plain values (stores may return Records for mappings)."""
    return (rec.id, rec.process, rec.fingerprint, rec.status, dict(rec.marking),
            dict(rec.data), _plain(rec.memory), rec.version, rec.head, rec.started,
            rec.updated, rec.incident, dict(rec.labels))


def state_of(store: Store, case_id: str) -> tuple[Any, ...]:
    """Everything a store holds about a case: record, journal, items and timers."""
    items = sorted(store.work_items(case=case_id, open_only=False), key=lambda i: i.id)
    return (case_view(store.case(case_id)), store.events(case_id), items,
            store.timers(case=case_id))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _raises(exc: type[BaseException] | tuple[type[BaseException], ...],
            call: Callable[[], Any], what: str) -> BaseException:
    try:
        call()
    except exc as caught:
        return caught
    raise AssertionError(f"{what}: expected {exc}, nothing was raised")


# -- cases -------------------------------------------------------------------------------------


def check_case_roundtrip(store_factory: StoreFactory) -> None:
    """A created case reads back with every field as written."""
    store = store_factory()
    rec, evs = new_case(store, "case-a", events=2, started=10.25, updated=12.5,
                        incident="nothing yet")
    got = store.case("case-a")
    assert case_view(got) == case_view(rec)
    assert isinstance(got.data["amount"], Decimal) and got.data["amount"] == Decimal("12.50")
    assert got.head == evs[-1].hash and got.version == 2
    assert store.case_ids() == ["case-a"]
    assert [c.id for c in store.cases()] == ["case-a"]
    assert store.process(FINGERPRINT).name == PROCESS


def check_process_listing(store_factory: StoreFactory) -> None:
    """``fingerprints`` lists every stored process once, oldest first; saving one again
    changes nothing."""
    store = store_factory()
    assert store.fingerprints() == []
    doc = {"format": 2, "name": PROCESS}
    first, second = "a1" * 32, "0b" * 32
    store.save_process(StoredProcess(first, PROCESS, "1", doc))
    time.sleep(0.01)  # (a store may order by the time of deployment)
    store.save_process(StoredProcess(second, PROCESS, "2", doc))
    store.save_process(StoredProcess(first, PROCESS, "1", doc))
    assert store.fingerprints() == [first, second]
    assert [store.process(fp).version for fp in store.fingerprints()] == ["1", "2"]


def check_case_listing_filters(store_factory: StoreFactory) -> None:
    """``cases`` filters by process and status; ``case_ids`` lists every case."""
    store = store_factory()
    store.save_process(stored_process("d1" * 32, "other"))
    new_case(store, "c1", status=CaseStatus.WAITING, started=1.0)
    new_case(store, "c2", status=CaseStatus.COMPLETED, started=2.0)
    rec = CaseRecord("c3", "other", "d1" * 32, CaseStatus.WAITING, {"p": 1}, {}, {}, 0,
                     started=3.0, updated=3.0)
    store.commit(Change(rec, None))
    assert sorted(store.case_ids()) == ["c1", "c2", "c3"]
    assert sorted(c.id for c in store.cases()) == ["c1", "c2", "c3"]
    assert sorted(c.id for c in store.cases(process=PROCESS)) == ["c1", "c2"]
    assert sorted(c.id for c in store.cases(status=CaseStatus.WAITING)) == ["c1", "c3"]
    assert [c.id for c in store.cases(process="other", status=CaseStatus.WAITING)] == ["c3"]
    assert store.cases(process="nobody") == []
    assert store.cases(status=CaseStatus.SUSPENDED) == []
    assert dict(store.case("c3").data) == {}


def check_create_existing_conflicts(store_factory: StoreFactory) -> None:
    """Creating a case that exists raises ConflictError and changes nothing."""
    store = store_factory()
    new_case(store, "dup")
    item = make_item("dup.9", "dup")
    timer = Timer("dup.9/timeout", "dup", 5.0, "timeout", "dup.9")
    before = state_of(store, "dup")
    again = make_case("dup", version=1, status=CaseStatus.COMPLETED, data={"x": 1})
    caught = _raises(ConflictError,
                     lambda: store.commit(Change(again, None, make_events("dup", 1, 1), [item],
                                                 [timer])),
                     "creating an existing case")
    assert "case dup exists already" in str(caught), f"the error says why: {caught}"
    assert state_of(store, "dup") == before
    assert store.case_ids() == ["dup"]


def check_optimistic_concurrency(store_factory: StoreFactory) -> None:
    """Two changes computed from the same version: the first wins, the second raises
    ConflictError and leaves the case, its journal, items and timers as the first left
    them."""
    store = store_factory()
    _, evs = new_case(store, "race")
    kept = make_item("race.1", "race", role="clerk")
    old_timer = Timer("race.1/timeout", "race", 100.0, "timeout", "race.1")
    setup_evs = make_events("race", 2, 1, evs[-1].hash)
    setup = make_case("race", version=2, head=setup_evs[-1].hash)
    store.commit(Change(setup, 1, setup_evs, [kept], [old_timer]))

    a_evs = make_events("race", 3, 2, setup_evs[-1].hash, at=10.0)
    a = make_case("race", version=4, head=a_evs[-1].hash, status=CaseStatus.RUNNING,
                  data={"amount": Decimal("1"), "name": "A"}, updated=20.0)
    store.commit(Change(a, 2, a_evs, [make_item("race.2", "race", role="a")],
                        [Timer("race.2/timeout", "race", 50.0, "timeout", "race.2")]))
    after_a = state_of(store, "race")

    b_evs = make_events("race", 3, 1, setup_evs[-1].hash, at=30.0)
    b = make_case("race", version=3, head=b_evs[-1].hash, status=CaseStatus.COMPLETED,
                  data={"amount": Decimal("2"), "name": "B"}, updated=30.0)
    b_items = [make_item("race.1", "race", status=ItemStatus.COMPLETED, role="clerk"),
               make_item("race.3", "race", role="b")]
    b_timers = [Timer("race.3/timeout", "race", 1.0, "timeout", "race.3")]
    _raises(ConflictError,
            lambda: store.commit(Change(b, 2, b_evs, b_items, b_timers, ["race.1/timeout"])),
            "a second change from the same version")
    assert state_of(store, "race") == after_a
    assert store.case("race").version == 4
    assert store.work_item("race.1").status is ItemStatus.OFFERED
    _raises(NotFoundError, lambda: store.work_item("race.3"), "an item of a refused change")
    assert [t.id for t in store.timers(case="race")] == ["race.2/timeout", "race.1/timeout"]
    assert verify_chain("race", store.events("race"), store.case("race").head).ok

    # a version from the future is refused as well
    ahead = make_case("race", version=9)
    _raises(ConflictError, lambda: store.commit(Change(ahead, 7)), "a version ahead")
    assert state_of(store, "race") == after_a


def check_update_of_unknown_case_fails(store_factory: StoreFactory) -> None:
    """Updating a case that does not exist raises a StoreError (the reference store says
    NotFoundError) and creates nothing."""
    store = store_factory()
    store.save_process(stored_process())
    rec = make_case("ghost", version=1)
    _raises(StoreError, lambda: store.commit(Change(rec, 0, make_events("ghost", 1, 1))),
            "updating an unknown case")
    assert store.case_ids() == []
    assert store.events("ghost") == []
    _raises(NotFoundError, lambda: store.case("ghost"), "reading the unknown case")


# -- the journal ---------------------------------------------------------------------------------


def check_events_roundtrip(store_factory: StoreFactory) -> None:
    """Events are appended in order, read back equal (decimals, unicode, hashes) and
    their chain verifies against the case's head."""
    store = store_factory()
    _, first = new_case(store, "journal", events=3)
    more = make_events("journal", 4, 4, first[-1].hash)
    nxt = make_case("journal", version=7, head=more[-1].hash)
    store.commit(Change(nxt, 3, more))
    empty = make_case("journal", version=7, head=more[-1].hash, status=CaseStatus.RUNNING)
    store.commit(Change(empty, 7))          # a change without events appends nothing
    got = store.events("journal")
    assert [e.seq for e in got] == list(range(1, 8))
    assert got == first + more
    for e in got:
        assert isinstance(e.binding["amount"], Decimal)
        assert str(e.binding["amount"]) == "1234.50"
        assert str(e.binding["big"]) == "1E+3"
        assert str(e.writes["amount"]) == "-7.25"
    report = verify_chain("journal", got, store.case("journal").head)
    assert report.ok, str(report)
    # journals are per case
    new_case(store, "other", events=2)
    assert [e.case for e in store.events("other")] == ["other", "other"]
    assert len(store.events("journal")) == 7
    assert store.events("no-such-case") == []


# -- work items ----------------------------------------------------------------------------------


def check_work_items(store_factory: StoreFactory) -> None:
    """Items are upserted by id; the open-only filter and the case, role and agent
    filters select exactly the matching items."""
    store = store_factory()
    new_case(store, "w1")
    new_case(store, "w2")
    items = [make_item("w1.1", "w1", role="clerk", created=1.0),
             make_item("w1.2", "w1", role="manager", created=2.0),
             make_item("w1.3", "w1", kind="agent", agent="extractor", created=3.0),
             make_item("w2.1", "w2", role="clerk", created=4.0,
                       status=ItemStatus.CLAIMED, claimed_by="mia")]
    store.commit(Change(make_case("w1", version=1, head=store.case("w1").head), 1,
                        items=items[:3]))
    store.commit(Change(make_case("w2", version=1, head=store.case("w2").head), 1,
                        items=items[3:]))

    def ids(**kw: Any) -> list[str]:
        return sorted(i.id for i in store.work_items(**kw))

    assert store.work_item("w1.2") == items[1]
    assert ids() == ["w1.1", "w1.2", "w1.3", "w2.1"]
    assert ids(case="w1") == ["w1.1", "w1.2", "w1.3"]
    assert ids(role="clerk") == ["w1.1", "w2.1"]
    assert ids(case="w2", role="clerk") == ["w2.1"]
    assert ids(agent="extractor") == ["w1.3"]
    assert ids(case="w2", agent="extractor") == []

    # upsert: the same id replaces the item; closed items leave the open lists
    done = make_item("w1.1", "w1", role="clerk", created=1.0, status=ItemStatus.COMPLETED,
                     claimed_by="max")
    handed = make_item("w1.3", "w1", kind="agent", agent="extractor", created=3.0,
                       status=ItemStatus.HANDED_OFF)
    claimed = make_item("w1.2", "w1", role="manager", created=2.0,
                        status=ItemStatus.CLAIMED, claimed_by="mia")
    store.commit(Change(make_case("w1", version=1, head=store.case("w1").head), 1,
                        items=[done, handed, claimed]))
    assert store.work_item("w1.1") == done
    assert store.work_item("w1.2") == claimed
    assert ids() == ["w1.2", "w2.1"]
    assert ids(case="w1") == ["w1.2"]
    assert ids(role="clerk") == ["w2.1"]
    assert ids(agent="extractor") == []
    assert ids(case="w1", open_only=False) == ["w1.1", "w1.2", "w1.3"]
    assert ids(role="clerk", open_only=False) == ["w1.1", "w2.1"]
    assert ids(agent="extractor", open_only=False) == ["w1.3"]
    assert ids(open_only=False) == ["w1.1", "w1.2", "w1.3", "w2.1"]
    for status in ItemStatus:
        item = make_item("w2.1", "w2", role="clerk", created=4.0, status=status)
        store.commit(Change(make_case("w2", version=1, head=store.case("w2").head), 1,
                            items=[item]))
        assert store.work_item("w2.1").status is status
        assert ids(case="w2") == (["w2.1"] if status.open else [])
    assert len(store.work_items(open_only=False)) == 4


def check_leases_skip_stopped_cases(store_factory: StoreFactory) -> None:
    """Workers lease open items oldest first, never two at once, and not those of a
    suspended or failed case; a released item is offered again."""
    store = store_factory()
    for cid, status in (("l1", CaseStatus.FAILED), ("l2", CaseStatus.SUSPENDED),
                        ("l3", CaseStatus.WAITING)):
        new_case(store, cid)
        store.commit(Change(make_case(cid, version=1, head=store.case(cid).head,
                                      status=status), 1,
                            items=[make_item(f"{cid}.1", cid, created=float(cid[1]))]))
    assert [i.id for i in store.claim_items("w1", 10.0, 60.0, 5)] == ["l3.1"]
    assert store.claim_items("w2", 10.0, 60.0, 5) == [], "leased already"
    store.release_item("l3.1", "w1")
    [again] = store.claim_items("w2", 10.0, 60.0, 5)
    assert (again.id, again.leased_by) == ("l3.1", "w2")


# -- timers --------------------------------------------------------------------------------------


def check_timers(store_factory: StoreFactory) -> None:
    """Timers are added, replaced by id and cancelled with the change that names them;
    ``due_by`` selects those due and every list is sorted by due time."""
    store = store_factory()
    new_case(store, "t1")
    new_case(store, "t2")
    t = [Timer("t1.a", "t1", 30.0, "timeout", "t1.1", "escalate"),
         Timer("t1.b", "t1", 10.0, "retry", "t1.2"),
         Timer("t2.a", "t2", 20.0, "timeout", "t2.1", None),
         Timer("t2.b", "t2", 20.0, "retry", "t2.2")]

    def case(cid: str) -> CaseRecord:
        return make_case(cid, version=1, head=store.case(cid).head)

    store.commit(Change(case("t1"), 1, timers=t[:2]))
    store.commit(Change(case("t2"), 1, timers=t[2:]))
    assert store.timers() == [t[1], t[2], t[3], t[0]]
    assert store.timers(due_by=20.0) == [t[1], t[2], t[3]]
    assert store.timers(due_by=9.99) == []
    assert store.timers(case="t1") == [t[1], t[0]]
    assert store.timers(case="t2", due_by=25.0) == [t[2], t[3]]
    # cancel one, replace one (same id, new due) and add one in one change
    moved = Timer("t1.a", "t1", 5.0, "timeout", "t1.1", "escalate")
    added = Timer("t1.c", "t1", 40.0, "timeout", "t1.3")
    store.commit(Change(case("t1"), 1, timers=[moved, added], cancel_timers=["t1.b"]))
    assert store.timers(case="t1") == [moved, added]
    assert store.timers() == [moved, t[2], t[3], added]
    # cancelling an unknown timer is harmless
    store.commit(Change(case("t2"), 1, cancel_timers=["t2.a", "nope"]))
    assert store.timers(case="t2") == [t[3]]
    assert store.timers(due_by=100.0) == [moved, t[3], added]


# -- switches ------------------------------------------------------------------------------------


def check_operations_log(store_factory: StoreFactory) -> None:
    """Each change of a kill switch appends one hash-chained entry (who, when, why) to the
    operators' log, and the log explains the switches; setting a switch as it is already
    appends nothing."""
    from petriflow.governance.operations import verify_operations

    store = store_factory()
    assert store.operations() == []
    store.set_switch("agent", "extractor", True, actor="ops", reason="hallucinates", at=5.0)
    store.set_switch("agent", "extractor", True, actor="ops", at=6.0)      # as it is
    store.set_switch("process", "invoice", True, actor="cfo", at=7.0)
    store.set_switch("agent", "extractor", False, actor="ops", reason="fixed", at=8.5)
    log = store.operations()
    assert [(o.seq, o.kind, o.key, o.action, o.actor, o.reason, o.at) for o in log] == [
        (1, "agent", "extractor", "suspend", "ops", "hallucinates", 5.0),
        (2, "process", "invoice", "suspend", "cfo", None, 7.0),
        (3, "agent", "extractor", "resume", "ops", "fixed", 8.5)]
    assert [o.prev for o in log[1:]] == [o.hash for o in log[:-1]]
    assert verify_operations(log, store.switches()) == []



def check_switches(store_factory: StoreFactory) -> None:
    """Kill switches start off, turn on and off per (kind, key), and are idempotent."""
    store = store_factory()
    initial = store.switches()
    assert initial.get("process", frozenset()) == frozenset()
    assert initial.get("agent", frozenset()) == frozenset()
    store.set_switch("process", "invoice", True)
    store.set_switch("process", "invoice", True)
    store.set_switch("agent", "extractor", True)
    store.set_switch("agent", "scorer", True)
    s = store.switches()
    assert s["process"] == frozenset({"invoice"})
    assert s["agent"] == frozenset({"extractor", "scorer"})
    store.set_switch("agent", "extractor", False)
    store.set_switch("agent", "extractor", False)
    store.set_switch("process", "never-set", False)
    s = store.switches()
    assert s["agent"] == frozenset({"scorer"})
    assert s["process"] == frozenset({"invoice"})
    store.set_switch("process", "invoice", False)
    assert store.switches()["process"] == frozenset()


# -- unknown ids ---------------------------------------------------------------------------------


def check_not_found(store_factory: StoreFactory) -> None:
    """Unknown cases, work items and processes raise NotFoundError (also a KeyError)."""
    store = store_factory()
    _raises(NotFoundError, lambda: store.case("nope"), "an unknown case")
    _raises(NotFoundError, lambda: store.work_item("nope.1"), "an unknown work item")
    _raises(NotFoundError, lambda: store.process("f" * 64), "an unknown process")
    new_case(store, "known")
    _raises(NotFoundError, lambda: store.case("Known"), "a case id in another case")
    err = _raises(KeyError, lambda: store.case("nope"), "an unknown case as KeyError")
    assert "nope" in str(err)


# -- isolation and limits -----------------------------------------------------------------------


def check_readers_cannot_change_the_store(store_factory: StoreFactory) -> None:
    """Records are frozen: changing the mappings of a record that was read (where they
    allow it) does not change what the store holds."""
    store = store_factory()
    new_case(store, "iso")
    expected = case_view(store.case("iso"))
    got = store.case("iso")
    for mapping, key in ((got.marking, "bogus"), (got.memory, "bogus"),
                         (got.labels, "bogus"), (got.data, "amount")):
        with contextlib.suppress(TypeError):  # an immutable mapping is the best answer
            mapping[key] = 99  # type: ignore[index]
    assert case_view(store.case("iso")) == expected
    assert case_view(store.cases()[0]) == expected


def check_long_ids_are_kept_or_refused_cleanly(store_factory: StoreFactory) -> None:
    """A case id longer than the store supports is refused with a StoreError (never a
    driver's exception) and nothing is written; an id it accepts reads back intact."""
    store = store_factory()
    store.save_process(stored_process())
    long_id = "case-" + "x" * 295
    try:
        store.commit(Change(make_case(long_id), None))
    except StoreError:
        assert store.case_ids() == []
    else:
        assert store.case(long_id).id == long_id


# -- the engine on the store ---------------------------------------------------------------------


def _invoice_engine(store: Store, model: str | Path | None, *, handlers: bool = True
                    ) -> Any:
    from petriflow.runtime import AgentAnswer, Engine, ManualClock

    path = Path(model) if model is not None else INVOICE_MODEL
    assert path.is_file(), f"the invoice reference model is not at {path}; pass model="
    engine = Engine(store, clock=ManualClock())
    if handlers:
        engine.agent("invoice_extractor", lambda r: AgentAnswer(
            {"supplier": "ACME", "amount": Decimal("500.10"), "currency": "EUR",
             "po_number": "PO1"}, 0.95, "clear scan"))
        engine.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
        engine.service("screen_sanctions", lambda c: {"sanctions_hit": False})
        engine.service("pay", lambda c: {"payment_reference": "PAY-" + c.key})
    return engine


def _approve_and_pay(engine: Any, case_id: str) -> CaseRecord:
    [item] = [i for i in engine.work_items(case_id) if i.task == "approve_manager"]
    _raises(PolicyRefusal, lambda: engine.complete(item.id, "sam", {"approved": True}),
            "the submitter approving their own invoice")
    assert engine.store.events(case_id)[-1].kind == EventKind.REFUSED
    engine.complete(item.id, "mia", {"approved": True})
    return engine.deliver(case_id, "bank_confirmation", {"payment_confirmed": True})


def check_engine_run(store_factory: StoreFactory, *, model: str | Path | None = None) -> None:
    """A full engine run of the invoice process on the store: the case completes, a
    refusal is journalled, and the kernel replay of the stored journal matches."""
    store = store_factory()
    engine = _invoice_engine(store, model)
    case = engine.start(str(model or INVOICE_MODEL), INVOICE_INPUTS)
    assert case.status is CaseStatus.WAITING
    assert store.case(case.id).data["amount"] == Decimal("500.10")
    done = _approve_and_pay(engine, case.id)
    assert done.status is CaseStatus.COMPLETED, done
    assert done.data["payment_reference"].startswith("PAY-")
    rec = store.case(case.id)
    assert case_view(rec) == case_view(done)
    assert store.work_items(case=case.id) == []
    assert store.timers(case=case.id) == []
    events = store.events(case.id)
    assert rec.version == len(events)
    assert verify_chain(case.id, events, rec.head).ok
    report = engine.replay(case.id)
    assert report.ok, str(report)


def check_second_engine_continues(store_factory: StoreFactory, reopen: Reopen, *,
                                  model: str | Path | None = None) -> None:
    """(Durable stores.) A second engine on a new store object over the same database
    rebuilds the process from its stored document and finishes a case the first started."""
    store = store_factory()
    first = _invoice_engine(store, model)
    case = first.start(str(model or INVOICE_MODEL), INVOICE_INPUTS)
    assert case.status is CaseStatus.WAITING
    other = reopen(store)
    assert other is not store
    assert other.case_ids() == [case.id]
    second = _invoice_engine(other, model, handlers=False)
    second.service("pay", lambda c: {"payment_reference": "PAY2-" + c.key})
    stored = other.process(case.fingerprint)
    assert stored.compiled is None, "a reopened store should not hold the live process"
    before = second.replay(case.id)
    assert before.ok, str(before)
    done = _approve_and_pay(second, case.id)
    assert done.status is CaseStatus.COMPLETED, done
    assert done.data["payment_reference"].startswith("PAY2-")
    assert done.data["amount"] == Decimal("500.10")
    for engine in (first, second):
        report = engine.replay(case.id)
        assert report.ok, str(report)
    assert store.events(case.id) == other.events(case.id)


ALL_CHECKS: tuple[Callable[[StoreFactory], None], ...] = (
    check_process_listing,
    check_case_roundtrip,
    check_case_listing_filters,
    check_create_existing_conflicts,
    check_optimistic_concurrency,
    check_update_of_unknown_case_fails,
    check_events_roundtrip,
    check_work_items,
    check_leases_skip_stopped_cases,
    check_timers,
    check_switches,
    check_operations_log,
    check_not_found,
    check_readers_cannot_change_the_store,
    check_long_ids_are_kept_or_refused_cleanly,
    check_engine_run,
)
"""Checks for every store: each takes a factory of fresh, empty stores."""

DURABLE_CHECKS: tuple[Callable[[StoreFactory, Reopen], None], ...] = (
    check_second_engine_continues,
)
"""Checks for durable stores: each also takes ``reopen(store)``."""


def run_all(store_factory: StoreFactory, reopen: Reopen | None = None) -> list[str]:
    """Run every check that applies (the durable ones when ``reopen`` is given); returns
    the names of the checks run. The first failure raises."""
    names = []
    for check in ALL_CHECKS:
        check(store_factory)
        names.append(check.__name__)
    if reopen is not None:
        for durable in DURABLE_CHECKS:
            durable(store_factory, reopen)
            names.append(durable.__name__)
    return names


__all__ = [
    "ALL_CHECKS",
    "DURABLE_CHECKS",
    "check_case_listing_filters",
    "check_case_roundtrip",
    "check_create_existing_conflicts",
    "check_engine_run",
    "check_events_roundtrip",
    "check_long_ids_are_kept_or_refused_cleanly",
    "check_not_found",
    "check_optimistic_concurrency",
    "check_readers_cannot_change_the_store",
    "check_second_engine_continues",
    "check_switches",
    "check_timers",
    "check_update_of_unknown_case_fails",
    "check_work_items",
    "make_case",
    "make_events",
    "make_item",
    "new_case",
    "run_all",
    "state_of",
    "stored_process",
]
