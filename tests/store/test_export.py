"""Journal export: XES and OCEL 2.0 JSON written from real simulated journals, read back
by pm4py (the reference reader used in process mining), plus escaping, empty logs,
file objects, streaming and atomic writes."""

from __future__ import annotations

import io
import itertools
import json
import warnings
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]

from petriflow.governance.audit import AuditEvent, EventKind
from petriflow.model import compile_file
from petriflow.runtime import AgentAnswer, Engine, ManualClock
from petriflow.runtime.scenario import load_scenario
from petriflow.runtime.simulate import Simulation
from petriflow.store.base import CaseRecord, CaseStatus, Change, ItemStatus, Store, WorkItem
from petriflow.store.export import Exported, to_ocel, to_xes
from petriflow.store.memory import InMemoryStore
from petriflow.store.sql import SqlStore

pm4py = pytest.importorskip("pm4py")

MODELS = Path(__file__).resolve().parents[2] / "models"
PROCESSES = ("invoice_to_payment", "customer_service", "fraud_review", "hr_hiring")
CASES = 20
XES_NS = "{http://www.xes-standard.org/}"
STANDARD_LIFECYCLE = {"schedule", "assign", "withdraw", "reassign", "start", "suspend",
                      "resume", "pi_abort", "ate_abort", "complete", "autoskip", "manualskip",
                      "unknown"}


def _simulate(name: str, store: Store | None = None) -> Store:
    sim = Simulation(compile_file(MODELS / f"{name}.yaml"),
                     load_scenario(MODELS / f"{name}.scenario.yaml"), store=store)
    sim.run(CASES)
    return sim.engine.store


_STORES: dict[str, Store] = {}


@pytest.fixture(params=PROCESSES)
def simulated(request: pytest.FixtureRequest) -> tuple[str, Store]:
    name = request.param
    if name not in _STORES:
        _STORES[name] = _simulate(name)
    return name, _STORES[name]


def _read_xes(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)


def _read_ocel(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_ocel2_json(str(path))


# -- independent expectations (not the exporter's own code) -----------------------------------


def _xes_expected(store: Store, case_id: str) -> list[tuple[int, str | None, str]]:
    """(seq, activity, lifecycle) of the journal events XES keeps, in journal order."""
    lifecycle = {"offer": "schedule", "timeout": "ate_abort", "error": "ate_abort",
                 "skip": "autoskip"}
    out = []
    for e in store.events(case_id):
        if e.kind == EventKind.STEP and e.action != "route":
            name = f"compensate:{e.task}" if e.action in ("compensate", "skip") else e.task
            out.append((e.seq, name, lifecycle.get(e.action or "", "complete")))
        elif e.kind == EventKind.REFUSED:
            out.append((e.seq, e.task, "unknown"))
    return out


def _actors(store: Store) -> set[str]:
    names = set()
    for cid in store.case_ids():
        for e in store.events(cid):
            if e.actor:
                names.add(e.actor)
            elif e.actor_kind in ("bot", "api"):
                names.add(f"{e.actor_kind}:{e.task}")
        for item in store.work_items(case=cid, open_only=False):
            names.update(n for n in (item.agent, item.claimed_by) if n)
    return names


# -- XES ---------------------------------------------------------------------------------------


def test_xes_of_a_simulated_journal_reads_back_in_pm4py(simulated: tuple[str, Store],
                                                        tmp_path: Path) -> None:
    name, store = simulated
    path = tmp_path / "log.xes"
    exported = to_xes(store, path)
    ids = store.case_ids()
    expected = {cid: _xes_expected(store, cid) for cid in ids}
    assert exported == Exported(len(ids), sum(map(len, expected.values())))

    log = _read_xes(path)
    assert log["case:concept:name"].nunique() == len(ids) == CASES
    assert set(log["case:petriflow:process"]) == {name}
    for cid, rows in log.groupby("case:concept:name", sort=False):
        assert len(rows) == len(expected[cid])
        assert rows["time:timestamp"].is_monotonic_increasing
        got = sorted(zip(rows["petriflow:seq"].astype(int), rows["concept:name"],
                         rows["lifecycle:transition"], strict=True))
        assert got == expected[cid]
    activities = {a for rows in expected.values() for _, a, _ in rows}
    assert set(log["concept:name"]) == activities
    assert set(log["lifecycle:transition"]) <= STANDARD_LIFECYCLE
    assert {"schedule", "complete"} <= set(log["lifecycle:transition"])
    # who did it: every named actor of a kept event is its org:resource
    humans = log[log["petriflow:actor_kind"] == "human"]
    assert humans["org:resource"].notna().all()
    # the journal's process time, to the microsecond, as UTC from the epoch
    at = {(e.case, e.seq): e.at for cid in ids for e in store.events(cid)}
    for cid, seq, ts in zip(log["case:concept:name"], log["petriflow:seq"],
                            log["time:timestamp"], strict=True):
        assert abs(ts.timestamp() - at[(cid, int(seq))]) < 1e-5
        assert ts.utcoffset().total_seconds() == 0


def test_xes_declares_extensions_globals_and_classifiers(tmp_path: Path) -> None:
    store = _STORES.get("invoice_to_payment") or _simulate("invoice_to_payment")
    path = tmp_path / "log.xes"
    to_xes(store, path)
    root = SafeET.parse(path).getroot()
    assert root.tag == f"{XES_NS}log"
    assert root.get("xes.version") == "1849.2016"
    extensions = {e.get("prefix"): e.get("uri") for e in root.iter(f"{XES_NS}extension")}
    assert extensions == {p: f"http://www.xes-standard.org/{p}.xesext"
                          for p in ("concept", "time", "lifecycle", "org")}
    scopes = {g.get("scope"): {a.get("key") for a in g} for g in root.iter(f"{XES_NS}global")}
    assert scopes["trace"] == {"concept:name"}
    assert {"concept:name", "time:timestamp", "lifecycle:transition"} <= scopes["event"]
    # a global event attribute is on every event
    for event in root.iter(f"{XES_NS}event"):
        assert scopes["event"] <= {a.get("key") for a in event}
    classifiers = {c.get("name"): c.get("keys") for c in root.iter(f"{XES_NS}classifier")}
    assert classifiers["Activity"] == "concept:name"
    assert classifiers["Activity and lifecycle"] == "concept:name lifecycle:transition"
    # decimals keep their exact text in a <float>
    amounts = [a.get("value") for a in root.iter(f"{XES_NS}float") if a.get("key") == "amount"]
    assert amounts
    journal_amounts = {str(e.writes["amount"]) for cid in store.case_ids()
                       for e in store.events(cid) if "amount" in e.writes}
    assert set(amounts) <= journal_amounts


def test_xes_options_leave_out_offers_and_refusals(tmp_path: Path) -> None:
    store = _STORES.get("invoice_to_payment") or _simulate("invoice_to_payment")
    full = to_xes(store, tmp_path / "full.xes")
    lean = to_xes(store, tmp_path / "lean.xes", offers=False, refusals=False)
    journal = [e for cid in store.case_ids() for e in store.events(cid)]
    offers = sum(e.kind == EventKind.STEP and e.action == "offer" for e in journal)
    refusals = sum(e.kind == EventKind.REFUSED for e in journal)
    assert full.events - lean.events == offers + refusals
    log = _read_xes(tmp_path / "lean.xes")
    assert "schedule" not in set(log["lifecycle:transition"])
    assert len(log) == lean.events


# -- OCEL 2.0 ----------------------------------------------------------------------------------


def test_ocel_of_a_simulated_journal_reads_back_in_pm4py(simulated: tuple[str, Store],
                                                         tmp_path: Path) -> None:
    _, store = simulated
    path = tmp_path / "log.json"
    exported = to_ocel(store, path)
    ids = store.case_ids()
    journal = {cid: store.events(cid) for cid in ids}
    n_events = sum(map(len, journal.values()))
    assert exported == Exported(len(ids), n_events)
    items = [i for cid in ids for i in store.work_items(case=cid, open_only=False)]
    actors = _actors(store)

    ocel = _read_ocel(path)
    assert len(ocel.events) == n_events
    types = Counter(ocel.objects["ocel:type"])
    assert types == Counter({"case": len(ids), "work_item": len(items), "actor": len(actors)})
    assert set(ocel.objects["ocel:oid"]) == ({f"case:{c}" for c in ids}
                                              | {f"work_item:{i.id}" for i in items}
                                              | {f"actor:{a}" for a in actors})
    # every event relates to exactly its own case
    rel = ocel.relations
    case_rel = rel[rel["ocel:type"] == "case"]
    assert len(case_rel) == n_events
    assert set(case_rel["ocel:eid"]) == {f"{c}#{e.seq}" for c, evs in journal.items()
                                         for e in evs}
    assert all(oid == "case:" + eid.rsplit("#", 1)[0]
               for eid, oid in zip(case_rel["ocel:eid"], case_rel["ocel:oid"], strict=True))
    assert set(case_rel["ocel:qualifier"]) == {"case"}
    # work items: the events that name one relate to it, qualified by what they did
    wi_rel = rel[rel["ocel:type"] == "work_item"]
    named = {(f"{c}#{e.seq}", f"work_item:{e.work_item}", e.action)
             for c, evs in journal.items() for e in evs if e.work_item}
    got = set(zip(wi_rel["ocel:eid"], wi_rel["ocel:oid"], wi_rel["ocel:qualifier"],
                  strict=True))
    assert named <= got
    # each offer event relates to the work item it created
    offers = sum(e.action == "offer" for evs in journal.values() for e in evs)
    assert (wi_rel["ocel:qualifier"] == "offer").sum() == offers == len(items)
    # performers
    actor_rel = rel[rel["ocel:type"] == "actor"]
    performed = sum(1 for evs in journal.values() for e in evs
                    if e.actor or e.actor_kind in ("bot", "api"))
    assert len(actor_rel) == performed
    # event types: the activities, with the step's action when it is not a completion
    activities = set(ocel.events["ocel:activity"])
    tasks = {e.task for evs in journal.values() for e in evs
             if e.kind == "step" and e.action == "complete"}
    assert tasks <= activities
    assert any(a.endswith(":offer") for a in activities)
    assert ocel.events["ocel:timestamp"].notna().all()


def test_ocel_document_has_the_2024_json_shape(tmp_path: Path) -> None:
    store = _STORES.get("customer_service") or _simulate("customer_service")
    path = tmp_path / "log.json"
    to_ocel(store, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {"objectTypes", "eventTypes", "objects", "events"}
    object_types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
                    for t in doc["objectTypes"]}
    assert object_types["case"]["process"] == "string"
    assert {"case", "work_item", "actor"} == set(object_types)
    event_types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
                   for t in doc["eventTypes"]}
    assert {e["type"] for e in doc["events"]} == set(event_types)
    for e in doc["events"]:
        assert set(e) == {"id", "type", "time", "attributes", "relationships"}
        declared = event_types[e["type"]]
        assert {a["name"] for a in e["attributes"]} <= set(declared)
    # a data field named like a journal field (customer_service writes "action") is kept
    # apart from petriflow:action
    assert any("action" in attrs and "petriflow:action" in attrs
               for attrs in event_types.values())
    assert all(t in ("string", "integer", "float", "boolean", "time")
               for attrs in event_types.values() for t in attrs.values())
    # agents carry their version as a time-stamped attribute
    agents = [o for o in doc["objects"] if o["type"] == "actor"
              and any(a["name"] == "kind" and a["value"] == "agent" for a in o["attributes"])]
    assert agents
    assert all(any(a["name"] == "version" for a in o["attributes"]) for o in agents)
    items = [o for o in doc["objects"] if o["type"] == "work_item"]
    assert all({"objectId": o["relationships"][0]["objectId"], "qualifier": "part of"}
               == o["relationships"][0] for o in items)


# -- SQLite ------------------------------------------------------------------------------------


def test_exports_from_a_sqlite_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/x.db")
    try:
        _simulate("fraud_review", store)
        ids = store.case_ids()
        assert len(ids) == CASES
        xes = to_xes(store, tmp_path / "log.xes")
        log = _read_xes(tmp_path / "log.xes")
        assert log["case:concept:name"].nunique() == CASES
        assert len(log) == xes.events == sum(len(_xes_expected(store, c)) for c in ids)
        for cid, rows in log.groupby("case:concept:name"):
            assert len(rows) == len(_xes_expected(store, cid))
            assert rows["time:timestamp"].is_monotonic_increasing
        ocel_out = to_ocel(store, tmp_path / "log.json")
        ocel = _read_ocel(tmp_path / "log.json")
        assert len(ocel.events) == ocel_out.events == sum(len(store.events(c)) for c in ids)
        rel = ocel.relations
        assert (rel["ocel:type"] == "case").sum() == len(ocel.events)
    finally:
        store.close()


# -- escaping, empty logs, outputs -------------------------------------------------------------

NASTY = 'in<v>&"q\' x'


def _nasty_store() -> tuple[Store, str, str]:
    """A real case whose id and approver hold XML's special characters."""
    cp = compile_file(MODELS / "invoice_to_payment.yaml")
    engine = Engine(clock=ManualClock())
    engine.agent("invoice_extractor", lambda r: AgentAnswer(
        {"supplier": "A&B <Ltd>", "amount": Decimal("500.10"), "currency": "EUR",
         "po_number": 'PO"1'}, 0.95, "clear & <simple>"))
    engine.service("validate_invoice", lambda c: {"contract_ok": True, "terms_ok": True})
    engine.service("screen_sanctions", lambda c: {"sanctions_hit": False})
    engine.service("pay", lambda c: {"payment_reference": "PAY-" + c.key})
    case_id = f"case {NASTY}"
    actor = f"mia {NASTY}"
    case = engine.start(cp, {"invoice_id": "INV1", "channel": "pdf",
                             "document_quality": "good", "submitted_by": "sam"},
                        case_id=case_id)
    item = engine.work_items(case.id)[0]
    engine.complete(item.id, actor, {"approved": True})
    engine.deliver(case.id, "bank_confirmation", {"payment_confirmed": True})
    return engine.store, case_id, actor


def test_special_characters_are_escaped(tmp_path: Path) -> None:
    store, case_id, actor = _nasty_store()
    to_xes(store, tmp_path / "log.xes")
    to_ocel(store, tmp_path / "log.json")
    log = _read_xes(tmp_path / "log.xes")
    assert set(log["case:concept:name"]) == {case_id}
    assert actor in set(log["org:resource"])
    assert "A&B <Ltd>" in set(log["supplier"].dropna())
    assert "clear & <simple>" in set(log["petriflow:rationale"].dropna())
    ocel = _read_ocel(tmp_path / "log.json")
    assert f"case:{case_id}" in set(ocel.objects["ocel:oid"])
    assert f"actor:{actor}" in set(ocel.objects["ocel:oid"])
    rel = ocel.relations
    assert set(rel[rel["ocel:type"] == "case"]["ocel:oid"]) == {f"case:{case_id}"}


def _hand_made_store(case_id: str, actor: str, writes: dict[str, Any]) -> InMemoryStore:
    store = InMemoryStore()
    events = [AuditEvent(case_id, 1, EventKind.STEP, 0.0, transition="go", task="go",
                         action="start", actor_kind="engine"),
              AuditEvent(case_id, 2, EventKind.STEP, 5.5, transition="t:offer", task="t",
                         action="offer", actor_kind="auto"),
              AuditEvent(case_id, 3, EventKind.STEP, 7.25, transition="t:complete", task="t",
                         action="complete", actor=actor, actor_kind="human",
                         writes=writes, work_item=f"{case_id}.2",
                         reason="line1\nline2\ttab\r")]
    # not sealed: a lone surrogate cannot be hashed, and the export does not need hashes
    rec = CaseRecord(case_id, "p<&>", "f" * 64, CaseStatus.COMPLETED, {}, {}, {}, 3)
    item = WorkItem(f"{case_id}.2", case_id, "t", "t:work", "human", ItemStatus.COMPLETED,
                    5.5, role="r&d", claimed_by=actor, key=f"{case_id}:2", closed=7.25,
                    outcome="complete")
    store.commit(Change(rec, None, events, [item]))
    return store


def test_control_characters_and_odd_values_give_wellformed_output(tmp_path: Path) -> None:
    case_id = "c\x01<&>\"'\ud800"
    actor = "a\x0b\"b"
    writes = {"n": 2**70, "x": float("inf"), "d": Decimal("NaN"), "big": Decimal("1E+3"),
              "ok": False, "list": ("a", 1), "odd:key": "v"}
    store = _hand_made_store(case_id, actor, writes)
    to_xes(store, tmp_path / "log.xes")
    root = SafeET.parse(tmp_path / "log.xes").getroot()
    trace = next(root.iter(f"{XES_NS}trace"))
    names = {a.get("key"): a.get("value") for a in trace if a.tag == f"{XES_NS}string"}
    assert names["concept:name"] == "c\ufffd<&>\"'\ufffd"
    last = list(trace.iter(f"{XES_NS}event"))[-1]
    attrs = {a.get("key"): (a.tag.removeprefix(XES_NS), a.get("value")) for a in last}
    assert attrs["org:resource"] == ("string", "a\ufffd\"b")
    assert attrs["org:role"] == ("string", "r&d")
    assert attrs["petriflow:reason"] == ("string", "line1\nline2\ttab\r")
    assert attrs["n"] == ("string", str(2**70))
    assert attrs["x"] == ("float", "INF")
    assert attrs["d"] == ("float", "NaN")
    assert attrs["big"] == ("float", "1E+3")
    assert attrs["ok"] == ("boolean", "false")
    assert attrs["list"] == ("string", '["a",1]')
    assert attrs["data:odd:key"] == ("string", "v")
    assert len(_read_xes(tmp_path / "log.xes")) == 3

    to_ocel(store, tmp_path / "log.json")
    raw = (tmp_path / "log.json").read_bytes()
    raw.decode("utf-8")  # no lone surrogate made it out
    doc = json.loads(raw)
    event = doc["events"][-1]
    values = {a["name"]: a["value"] for a in event["attributes"]}
    assert values["x"] == "INF" and values["d"] == "NaN" and values["big"] == 1000.0
    assert values["n"] == 2**70 and values["ok"] is False
    declared = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
                for t in doc["eventTypes"]}["t"]
    assert declared["x"] == "string" and declared["big"] == "float"
    assert declared["ok"] == "boolean" and declared["n"] == "integer"
    ocel = _read_ocel(tmp_path / "log.json")
    assert len(ocel.events) == 3
    item = next(o for o in doc["objects"] if o["type"] == "work_item")
    assert {"objectId": "actor:a\x0b\"b", "qualifier": "claimed by"} in item["relationships"]


def test_an_empty_store_exports_valid_empty_logs(tmp_path: Path) -> None:
    store = InMemoryStore()
    assert to_xes(store, tmp_path / "log.xes") == Exported(0, 0)
    root = SafeET.parse(tmp_path / "log.xes").getroot()
    assert root.tag == f"{XES_NS}log"
    assert not list(root.iter(f"{XES_NS}trace"))
    assert len(list(root.iter(f"{XES_NS}extension"))) == 4
    assert to_ocel(store, tmp_path / "log.json") == Exported(0, 0)
    doc = json.loads((tmp_path / "log.json").read_text(encoding="utf-8"))
    assert doc["events"] == [] and doc["objects"] == [] and doc["eventTypes"] == []
    assert {t["name"] for t in doc["objectTypes"]} == {"case", "work_item", "actor"}
    # pm4py cannot read an empty OCEL, not even its own (a KeyError building its tables),
    # so compare with the document pm4py itself writes for an empty log instead
    from pm4py.objects.ocel.obj import OCEL  # type: ignore[import-untyped]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm4py.write_ocel2_json(OCEL(), str(tmp_path / "theirs.json"))
    theirs = json.loads((tmp_path / "theirs.json").read_text(encoding="utf-8"))
    assert set(doc) == set(theirs)
    assert all(doc[k] == theirs[k] == [] for k in ("events", "objects"))
    assert len(_read_xes(tmp_path / "log.xes")) == 0


def test_process_filter(tmp_path: Path) -> None:
    store = _STORES.get("hr_hiring") or _simulate("hr_hiring")
    assert to_xes(store, tmp_path / "a.xes", process="hr_hiring").cases == CASES
    assert to_xes(store, tmp_path / "b.xes", process="nope") == Exported(0, 0)
    assert to_ocel(store, tmp_path / "b.json", process="nope") == Exported(0, 0)
    assert json.loads((tmp_path / "b.json").read_text())["events"] == []


@pytest.mark.parametrize("export", [to_xes, to_ocel])
def test_paths_text_and_binary_files_get_the_same_bytes(
        export: Callable[..., Exported], tmp_path: Path) -> None:
    store = _hand_made_store("c1", "ann", {"v": Decimal("1.5")})
    export(store, tmp_path / "out")
    export(store, str(tmp_path / "out2"))
    text, binary = io.StringIO(), io.BytesIO()
    export(store, text)
    export(store, binary)
    with open(tmp_path / "out3", "w", encoding="utf-8") as f:
        export(store, f)
    with open(tmp_path / "out4", "wb") as g:
        export(store, g)
    expected = (tmp_path / "out").read_bytes()
    assert (tmp_path / "out2").read_bytes() == expected
    assert text.getvalue().encode("utf-8") == expected == binary.getvalue()
    assert (tmp_path / "out3").read_bytes() == expected == (tmp_path / "out4").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out2", "out3", "out4"]


class _Failing(InMemoryStore):
    def __init__(self, inner: Store, fail_after: int) -> None:
        super().__init__()
        self.inner, self.left = inner, fail_after

    def case_ids(self) -> list[str]:
        return self.inner.case_ids()

    def case(self, case_id: str) -> CaseRecord:
        return self.inner.case(case_id)

    def work_items(self, **kw: Any) -> list[WorkItem]:
        return self.inner.work_items(**kw)

    def events(self, case_id: str) -> list[AuditEvent]:
        if self.left == 0:
            raise OSError("disk gone")
        self.left -= 1
        return self.inner.events(case_id)


@pytest.mark.parametrize("export", [to_xes, to_ocel])
def test_a_failed_export_leaves_no_file(export: Callable[..., Exported],
                                        tmp_path: Path) -> None:
    inner = _STORES.get("fraud_review") or _simulate("fraud_review")
    target = tmp_path / "log"
    target.write_text("old")
    with pytest.raises(OSError, match="disk gone"):
        export(_Failing(inner, 3), target)
    assert target.read_text() == "old"   # untouched: the new file never replaced it
    assert [p.name for p in tmp_path.iterdir()] == ["log"]


class _Recorder(io.StringIO):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def write(self, text: str) -> int:
        self.log.append("write")
        return super().write(text)


class _Watched(_Failing):
    def __init__(self, inner: Store, log: list[str]) -> None:
        super().__init__(inner, -1)
        self.log = log

    def events(self, case_id: str) -> list[AuditEvent]:
        self.log.append(f"read {case_id}")
        return self.inner.events(case_id)


@pytest.mark.parametrize("export", [to_xes, to_ocel])
def test_export_streams_case_by_case(export: Callable[..., Exported]) -> None:
    """Each case is written before the next case's journal is read."""
    inner = _STORES.get("invoice_to_payment") or _simulate("invoice_to_payment")
    log: list[str] = []
    export(_Watched(inner, log), _Recorder(log))
    reads = [i for i, entry in enumerate(log) if entry.startswith("read ")]
    assert len(reads) == CASES
    for a, b in itertools.pairwise(reads):
        assert "write" in log[a + 1:b]


def test_an_unwritable_path_is_named_in_the_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "log.xes"
    with pytest.raises(FileNotFoundError) as info:
        to_xes(InMemoryStore(), target)
    assert info.value.filename == str(target)


def test_an_export_to_a_folder_path_is_refused_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from petriflow.cli import run

    db = tmp_path / "p.db"
    assert run(["run", str(MODELS / "hr_hiring.yaml"), "--cases", "1", "--db",
                f"sqlite:///{db}"]) == 0
    capsys.readouterr()
    for folder in ("out/", str(tmp_path / "logs") + "/"):
        assert run(["audit", "export", "--db", f"sqlite:///{db}", "--xes", "-o",
                    folder]) == 2
        err = capsys.readouterr().err
        assert "names a folder, not a file" in err and folder in err, err
    assert not (tmp_path / "logs").exists() and not Path("out").exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("p.db")] == []
