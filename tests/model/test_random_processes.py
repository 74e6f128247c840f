"""Random processes: every one the strategies make passes validation, compiles to a net
with the structure the translation promises, and can be run with random answers while
the case data stays one record and control places stay safe.

The strategy builds block-structured processes (sequences, exclusive choices with or
without a default, parallel and inclusive blocks, loops back, extra end events, timers,
deferred choices after event-based gateways; under ``termination: implicit`` also parallel
branches that end on their own and non-interrupting timeouts and messages) of tasks of
every kind, with handoffs, timeouts, error boundaries, caught messages and compensation,
and writes them out as YAML so that the loader is exercised too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import networkx as nx
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.model import CompiledProcess, compile_loaded, load_text
from petriflow.model.compiled import DATA_PLACE, SOURCE_PLACE
from petriflow.net.colors import (
    BlackColor,
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    StrColor,
)
from petriflow.net.firing import bindings, fire
from petriflow.net.graph import net_graph
from petriflow.net.marking import Marking
from tests.model.helpers import is_final, token_enabled


def scaled(n: int) -> int:
    """``n`` examples under the default profile, more under a larger ``max_examples``."""
    return max(1, n * settings.default.max_examples // 100)


# -- the strategy ----------------------------------------------------------------------------

DATA = {
    "x": {"type": "int", "min": 0, "max": 3},
    "flag": {"type": "bool"},
    "level": {"type": "enum", "values": ["lo", "mid", "hi"]},
    "conf": {"type": "float", "min": 0, "max": 1},
    "note": {"type": "str"},
    "count": {"type": "int", "min": 0, "max": 2},   # written, never read by a condition
}
WRITABLE = ["x", "flag", "level", "note"]
SETS = {
    "x": ["3 - x", "x", "0", "(x + 1) if x < 3 else 0"],
    "flag": ["not flag", "x > 1", "True", 'level == "hi"'],
    "level": ['"hi" if flag else "lo"', '"mid"', "level"],
    "note": ['"auto"', "note", "level"],
    "count": ["0"],
}
# Writes the kernel may refuse (a value outside the field's type: the step cannot fire),
# only where dead ends are allowed: a counter past its bound, a text that is no level.
RISKY_SETS = {"count": ["count + 1"], "level": ["note"]}
CONDITIONS = ["x > 0", "x == 2", "x <= 1", "flag", "not flag", 'level == "lo"',
              'level != "hi" and x < 3', "flag or x == 3", "note == level"]
CHECKS = ["x < 3", "flag", 'level != "mid"']
KINDS = ["auto", "human", "agent", "bot", "api", "receive"]
AGENTS = [{"id": "a1", "threshold": 0.8}, {"id": "a2"}]


@dataclass
class Gen:
    """A process under construction (plain data, as a YAML file would hold it)."""

    total: bool          # every choice has a default and nothing checks: no dead ends
    compensation: bool
    implicit: bool = False   # termination: implicit (branches may end on their own)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0

    def new(self, prefix: str, node: dict[str, Any]) -> str:
        self.counter += 1
        nid = f"{prefix}{self.counter}"
        self.nodes[nid] = node
        return nid

    def flow(self, source: str, target: str, **extra: Any) -> None:
        self.flows.append({"from": source, "to": target, **extra})


def _task(draw: st.DrawFn, g: Gen) -> tuple[str, str]:
    kind = draw(st.sampled_from(KINDS))
    node: dict[str, Any] = {"type": "task", "kind": kind}
    side: list[str] = []
    if kind == "auto":
        fields = draw(st.lists(st.sampled_from(list(SETS)), unique=True, max_size=2))
        node["set"] = {f: draw(st.sampled_from(
            SETS[f] + ([] if g.total else RISKY_SETS.get(f, [])))) for f in fields}
    else:
        node["writes"] = draw(st.lists(st.sampled_from(WRITABLE), unique=True, max_size=2))
    if not g.total and draw(st.integers(0, 4)) == 0:
        node["check"] = draw(st.sampled_from(CHECKS))
    if kind == "human":
        node["role"] = draw(st.sampled_from(["r1", "r2"]))
    tid = g.new("t", node)
    if kind == "agent":
        agent = draw(st.sampled_from(AGENTS))
        node["agent"] = agent["id"]
        if draw(st.booleans()):
            node["writes"] = [*node["writes"], "conf"]
            node["confidence"] = "conf"
            if "threshold" not in agent or draw(st.booleans()):
                node["threshold"] = draw(st.sampled_from([0.5, 0.8, 0.9]))
            node["handoff"] = g.new("h", {"type": "task", "kind": "human", "role": "r1",
                                          "writes": ["note"]})
            side.append(node["handoff"])
    if kind != "auto" and draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            node["timeout"] = {"after": draw(st.sampled_from(["PT4H", "P3D", 60])), "to": tid}
        else:
            target = g.new("esc", {"type": "task", "kind": "human", "role": "r2"})
            node["timeout"] = {"after": "P1D", "to": target}
            side.append(target)
    if kind != "auto" and draw(st.integers(0, 5)) == 0:
        target = g.new("cancel", {"type": "task", "kind": "human", "role": "r2"})
        node["catch"] = [{"message": f"stop_{tid}", "to": target}]
        side.append(target)
    if g.implicit and kind != "auto" and draw(st.integers(0, 1)) == 0:
        # a non-interrupting event: a side path to an end of its own, the task goes on
        note = g.new("note", {"type": "task", "kind": "human", "role": "r1"})
        g.flow(note, g.new("end", {"type": "end"}))
        if "timeout" not in node and draw(st.booleans()):
            node["timeout"] = {"after": "PT2H", "to": note, "interrupting": False}
        else:
            node["catch"] = [*node.get("catch", []),
                             {"message": f"tell_{tid}", "to": note, "interrupting": False}]
    if kind in ("api", "bot") and draw(st.integers(0, 2)) == 0:
        node["on_error"] = g.new("err", {"type": "task", "kind": "human", "role": "r2"})
        node["retry"] = {"attempts": 2}
        side.append(node["on_error"])
    if g.compensation and draw(st.integers(0, 2)) == 0:
        node["compensation"] = g.new("undo", {"type": "task", "kind": "api"})
    if not side:
        return tid, tid
    merge = g.new("m", {"type": "exclusive"})
    for source in (tid, *side):
        g.flow(source, merge)
    return tid, merge


def _choice_flows(draw: st.DrawFn, g: Gen, split: str, entries: list[str],
                  default_required: bool) -> None:
    has_default = default_required or draw(st.booleans())
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), min_size=len(entries),
                               max_size=len(entries)))
    for i, entry in enumerate(entries):
        if has_default and i == len(entries) - 1:
            g.flow(split, entry, default=True)
        else:
            g.flow(split, entry, when=conditions[i])


def _block(draw: st.DrawFn, g: Gen, depth: int, in_parallel: bool) -> tuple[str, str]:
    shapes = ["task", "task", "wait"]
    if depth > 0:
        shapes += ["seq", "seq", "xor", "and", "or", "loop", "events"]
        if not in_parallel:  # (in a parallel branch the join would wait for ever)
            shapes.append("early_end")
        if g.implicit:
            shapes.append("fork_end")
    shape = draw(st.sampled_from(shapes))
    if shape == "task":
        return _task(draw, g)
    if shape == "wait":
        wait = g.new("w", {"type": "timer", "after": draw(st.sampled_from(["PT1H", 60]))})
        return wait, wait
    if shape == "events":  # a deferred choice: messages, and perhaps one timer
        gate = g.new("ev", {"type": "event"})
        merge = g.new("got", {"type": "exclusive"})
        n = draw(st.integers(2, 3))
        timer_at = draw(st.integers(-1, n - 1))
        for i in range(n):
            first = g.new("w", {"type": "timer", "after": "P1D"}) if i == timer_at else \
                g.new("msg", {"type": "task", "kind": "receive", "writes": draw(st.lists(
                    st.sampled_from(WRITABLE), unique=True, max_size=2))})
            body = _block(draw, g, depth - 1, in_parallel)
            g.flow(gate, first)
            g.flow(first, body[0])
            g.flow(body[1], merge)
        return gate, merge
    if shape == "seq":
        first = _block(draw, g, depth - 1, in_parallel)
        second = _block(draw, g, depth - 1, in_parallel)
        g.flow(first[1], second[0])
        return first[0], second[1]
    if shape in ("xor", "and", "or"):
        n = draw(st.integers(2, 3))
        gateway = {"xor": "exclusive", "and": "parallel", "or": "inclusive"}[shape]
        split = g.new("split", {"type": gateway})
        branches = [_block(draw, g, depth - 1, in_parallel or shape != "xor")
                    for _ in range(n)]
        join_node: dict[str, Any] = {"type": gateway}
        if shape == "or":
            join_node["pairs"] = split
        join = g.new("join", join_node)
        if shape == "and":
            for entry, _ in branches:
                g.flow(split, entry)
        else:
            _choice_flows(draw, g, split, [e for e, _ in branches], g.total)
        for _, exit_ in branches:
            g.flow(exit_, join)
        return split, join
    if shape == "loop":
        head = g.new("loop", {"type": "exclusive"})
        body = _block(draw, g, depth - 1, in_parallel)
        again = g.new("again", {"type": "exclusive"})
        out = g.new("out", {"type": "exclusive"})
        g.flow(head, body[0])
        g.flow(body[1], again)
        g.flow(again, head, when=draw(st.sampled_from(CONDITIONS)))
        g.flow(again, out, default=True)
        return head, out
    if shape == "fork_end":  # a parallel branch that runs into an end event of its own
        split = g.new("fork", {"type": "parallel"})
        body = _block(draw, g, depth - 1, True)
        side = _block(draw, g, depth - 1, True)
        end = g.new("end", {"type": "end"})
        g.flow(split, body[0])
        g.flow(split, side[0])
        g.flow(side[1], end)
        return split, body[1]
    # an exclusive choice that may finish the case at an end event of its own
    gate = g.new("gate", {"type": "exclusive"})
    end = g.new("end", {"type": "end"})
    rest = g.new("rest", {"type": "exclusive"})
    g.flow(gate, end, when=draw(st.sampled_from(CONDITIONS)))
    g.flow(gate, rest, default=True)
    return gate, rest


@st.composite
def processes(draw: st.DrawFn, *, total: bool | None = None,
              max_depth: int = 3) -> dict[str, Any]:
    """A random process as plain data (what a YAML file holds)."""
    g = Gen(total=draw(st.booleans()) if total is None else total,
            compensation=draw(st.booleans()), implicit=draw(st.integers(0, 3)) == 0)
    inputs = draw(st.lists(st.sampled_from(["x", "flag", "level"]), unique=True))
    data = {k: {**v, "input": k in inputs} for k, v in DATA.items()}
    start = g.new("start", {"type": "start"})
    entry, exit_ = _block(draw, g, draw(st.integers(1, max_depth)), False)
    end = g.new("end", {"type": "end", "compensate": g.compensation})
    g.flow(start, entry)
    g.flow(exit_, end)
    out = {"process": "random", "data": data, "roles": ["r1", "r2"], "agents": AGENTS,
           "nodes": g.nodes, "flows": g.flows}
    if g.implicit:
        out["termination"] = "implicit"
    return out


def compile_data(data: dict[str, Any]) -> CompiledProcess:
    return compile_loaded(load_text(yaml.safe_dump(data, sort_keys=False), "random.yaml"))


# -- structure -------------------------------------------------------------------------------

def _is_history(place: str) -> bool:
    return place.endswith(":done")


@settings(max_examples=scaled(60))
@given(processes())
def test_random_processes_compile_to_well_formed_nets(data: dict[str, Any]) -> None:
    c = compile_data(data)
    net, sm = c.net, c.source_map
    # exactly one place is initially marked: the source, with one token
    assert dict(net.initial_marking.counts()) == {SOURCE_PLACE: 1}
    # the only places nothing leaves are the end places and history places
    consumed = {a.place for a in net.arcs if a.is_input}
    produced = {a.place for a in net.arcs if not a.is_input}
    dead_ends = {p.id for p in net.places} - consumed
    ends = {p.id for p in net.places if p.id.startswith("end:")}
    assert ends == set(c.final_places)
    assert ends <= dead_ends
    assert dead_ends - ends - {DATA_PLACE} <= {p for p in dead_ends if _is_history(p)}
    # the data record: written by the start, and consumed and produced again by every
    # other transition that touches it
    assert DATA_PLACE in produced
    for t in net.transitions:
        reads = [a for a in net.inputs[t.id] if a.place == DATA_PLACE]
        writes = [a for a in net.outputs[t.id] if a.place == DATA_PLACE]
        if t.id == c.start_transition():
            assert (len(reads), len(writes)) == (0, 1)
        else:
            assert len(reads) == len(writes) <= 1, t.id
    if any(n.get("kind", "auto") != "auto" or n["type"] in ("exclusive", "inclusive")
           for n in data["nodes"].values() if n["type"] != "end"):
        assert DATA_PLACE in consumed
    for p in net.places:  # and every place but the source is filled by something
        assert p.id == SOURCE_PLACE or p.id in produced, p.id
    # every transition lies on a path from the source to an end place (data ignored)
    graph = net_graph(net)
    graph.remove_node(DATA_PLACE)
    reach = nx.descendants(graph, SOURCE_PLACE)
    finishing: set[str] = set()
    for e in ends:
        finishing |= nx.ancestors(graph, e)
    for t in net.transitions:
        assert t.id in reach and t.id in finishing, t.id
    # the source map covers the net
    assert set(sm.places) == {p.id for p in net.places}
    assert set(sm.transitions) == {t.id for t in net.transitions}
    nodes = set(data["nodes"])
    for tid, origin in sm.transitions.items():
        assert origin.element in nodes or origin.element == "compensation", tid
    # one end place per end event, one start transition
    assert {f"end:{n}" for n, v in data["nodes"].items() if v["type"] == "end"} == ends
    assert [t for t, o in sm.transitions.items() if o.role == "start"] == ["start1"]


@settings(max_examples=scaled(30))
@given(processes(), st.randoms(use_true_random=False))
def test_fingerprint_is_stable_and_follows_the_flows(data: dict[str, Any],
                                                     rnd: random.Random) -> None:
    first = compile_data(data)
    assert compile_data(data).fingerprint == first.fingerprint
    # put a new automatic task on one flow
    changed = {**data, "nodes": dict(data["nodes"]), "flows": list(data["flows"])}
    events = {n for n, v in data["nodes"].items() if v["type"] == "event"}
    i = rnd.choice([j for j, f in enumerate(changed["flows"]) if f["from"] not in events])
    flow = dict(changed["flows"][i])
    changed["nodes"]["inserted"] = {"type": "task", "kind": "auto"}
    changed["flows"][i] = {**flow, "to": "inserted"}
    changed["flows"].append({"from": "inserted", "to": flow["to"]})
    assert compile_data(changed).fingerprint != first.fingerprint
    # negate one condition
    conditional = [j for j, f in enumerate(data["flows"]) if f.get("when")]
    if conditional:
        j = rnd.choice(conditional)
        negated = {**data, "flows": list(data["flows"])}
        negated["flows"][j] = {**data["flows"][j], "when": f"not ({data['flows'][j]['when']})"}
        assert compile_data(negated).fingerprint != first.fingerprint


# -- random runs -----------------------------------------------------------------------------

NAMES = ["ann", "bob", ""]
TEXTS = ["", "a", "zz top", "lo"]
CONFIDENCES = [Decimal(0), Decimal("0.5"), Decimal("0.8"), Decimal("0.85"), Decimal(1)]


def random_value(color: ColorSet, rnd: random.Random) -> Any:
    if isinstance(color, BoolColor):
        return rnd.random() < 0.5
    if isinstance(color, IntColor):
        return rnd.randint(color.low if color.low is not None else -3,
                           color.high if color.high is not None else 3)
    if isinstance(color, EnumColor):
        return rnd.choice(color.values)
    if isinstance(color, DecimalColor):
        return rnd.choice(CONFIDENCES)
    if isinstance(color, StrColor):
        return rnd.choice(TEXTS if color.min_length == 0 else TEXTS[1:])
    raise AssertionError(color)


def random_binding(c: CompiledProcess, tid: str, rnd: random.Random,
                   sure: bool) -> dict[str, Any]:
    """Answers for the free variables of ``tid``: random, or (``sure``) ones that pass the
    guards the strategy generates (an agent answers as itself, confidently)."""
    t = c.net.transition(tid)
    agent = dict(t.meta).get("agent")
    out = {}
    for name, color in t.variables:
        if name == "_actor":
            if agent and (sure or rnd.random() < 0.8):
                out[name] = agent
            else:
                out[name] = "ann" if sure else rnd.choice(NAMES)
        elif sure and isinstance(color, DecimalColor):
            out[name] = Decimal(1)
        else:
            out[name] = random_value(color, rnd)
    return out


def step(c: CompiledProcess, m: Marking, rnd: random.Random) -> Marking | None:
    """Fire one random enabled transition with random answers; None when none can fire."""
    candidates = token_enabled(c.net, m)
    rnd.shuffle(candidates)
    for tid in candidates:
        for attempt in range(4):
            given_ = random_binding(c, tid, rnd, sure=attempt == 3)
            found = next(bindings(c.net, m, tid, given=given_), None)
            if found is not None:
                return fire(c.net, m, tid, found).after
    return None


def check_marking(c: CompiledProcess, m: Marking) -> None:
    assert m.count(DATA_PLACE) == 1
    (record,) = m[DATA_PLACE].elements()
    assert c.data_color.validate(record) == record
    for p, n in m.counts().items():
        if p != DATA_PLACE and not _is_history(p):
            assert isinstance(c.net.place(p).color, BlackColor)
            # block-structured: control places are safe (but under implicit termination a
            # side branch started in a loop, one per round, may still run beside the next)
            assert n == 1 or c.termination == "implicit", (p, n)


@settings(max_examples=scaled(50))
@given(processes(), st.randoms(use_true_random=False))
def test_random_runs_keep_one_record_and_safe_control_places(data: dict[str, Any],
                                                             rnd: random.Random) -> None:
    c = compile_data(data)
    m = c.net.initial_marking
    m = step(c, m, rnd)  # the start event: inputs are finite here
    assert m is not None
    for _ in range(150):
        check_marking(c, m)
        if is_final(c, m):
            assert token_enabled(c.net, m) == []
            return
        nxt = step(c, m, rnd)
        if nxt is None:
            break
        m = nxt
    else:
        return  # still running (loops, timeouts): nothing more to say
    # dead in a marking that is not final: only where the model allows it
    assert not _total(data), m


def _total(data: dict[str, Any]) -> bool:
    """No check anywhere and a default on every choice: a case can always go on."""
    nodes = data["nodes"]
    if any("check" in n for n in nodes.values()):
        return False
    outgoing: dict[str, list[dict[str, Any]]] = {}
    for f in data["flows"]:
        outgoing.setdefault(f["from"], []).append(f)
    return all(any(f.get("default") for f in fs) for src, fs in outgoing.items()
               if nodes[src]["type"] in ("exclusive", "inclusive") and len(fs) > 1)


@settings(max_examples=scaled(40))
@given(processes(total=True), st.randoms(use_true_random=False))
def test_total_processes_run_to_a_proper_end(data: dict[str, Any],
                                             rnd: random.Random) -> None:
    c = compile_data(data)
    m = step(c, c.net.initial_marking, rnd)
    assert m is not None
    for _ in range(300):
        if is_final(c, m):
            return
        nxt = step(c, m, rnd)
        assert nxt is not None, f"stuck in {m}"
        check_marking(c, nxt)
        m = nxt


def test_the_strategy_makes_every_construct() -> None:
    """A sanity check on the generator: over a fixed sample, every construct appears."""
    seen: set[str] = set()

    @settings(max_examples=60, database=None, derandomize=True)
    @given(processes())
    def collect(data: dict[str, Any]) -> None:
        for n in data["nodes"].values():
            seen.add(n.get("kind", n["type"]))
            seen.update(k for k in ("handoff", "timeout", "on_error", "compensation",
                                    "check", "pairs") if k in n)
        if sum(n["type"] == "end" for n in data["nodes"].values()) > 1:
            seen.add("several ends")
        if any(f["to"].startswith("loop") for f in data["flows"] if "when" in f):
            seen.add("loop")
        if data.get("termination") == "implicit":
            seen.add("implicit")
        if any(n.get("timeout", {}).get("interrupting") is False or any(
                c.get("interrupting") is False for c in n.get("catch", []))
               for n in data["nodes"].values()):
            seen.add("non-interrupting")

    collect()
    missing = {*KINDS, "exclusive", "parallel", "inclusive", "handoff", "timeout",
               "on_error", "compensation", "check", "pairs", "several ends", "loop",
               "implicit", "non-interrupting"} - seen
    assert not missing

