"""Firing throughput (issue 3): petriflow against SNAKES and the hand-written floor.

Measured in one run, each as the median of several repetitions after a warm-up:

(a) a 100-transition chain carrying a colored case token (a record ``id: int,
    amount: decimal``) with the guard ``c.amount > 1000`` (which holds) on every tenth
    transition; every case enters at ``p0`` and is fired to the end;
(b) a fork/join net with 8 parallel branches of 2 transitions each: the fork copies the
    case token to 8 places and the join takes the 8 with the same variable ``c``
    (case-keyed), guarded by ``c.amount > 1000``; 18 firings per case;
    both (a) and (b) with one case at a time and with N cases in flight;
(c) random simulation of P/T nets of the MCC corpus, as ``petriflow net simulate`` runs
    it (``TokenGame(net).run(steps, random.Random(seed))``), timed after parsing;
(d) the whole process ``petriflow net simulate NET --steps 500000 --seed 1`` against the
    whole process ``python benchmarks/floor.py NET --steps 500000 --seed 1``;
(e) the whole process ``petriflow net info NET`` on every net of the corpus.

The three engines get the same nets (built from one description), the same case tokens
and the same number of firings; petriflow and the floor use the same random choice rule.
Both colored nets are case-shaped, so ``TokenGame`` runs them on its fast path
(``petriflow.net.case_game``); rows marked ``fast=False`` run the general binding
machinery on the same nets, for information. One case at a time, petriflow and the floor
both reuse one game and ``put`` each case on the source place (``TokenGame.put`` is the
documented way to add cases to a running game); SNAKES adds the token to its place.
Run ``python benchmarks/bench_firing.py`` (about 3 minutes) or ``--quick`` (a few
seconds, a smoke test). Results: a table on stdout and JSON in benchmarks/out/firing.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402  (benchmarks/floor.py)

from petriflow.net.builder import NetBuilder  # noqa: E402
from petriflow.net.colors import DecimalColor, IntColor, Record, RecordColor  # noqa: E402
from petriflow.net.firing import fire  # noqa: E402
from petriflow.net.game import TokenGame  # noqa: E402
from petriflow.net.marking import Marking, Multiset  # noqa: E402
from petriflow.net.pnml import read_pnml  # noqa: E402

try:
    import snakes
    import snakes.nets as sn
except ImportError:  # pragma: no cover - snakes comes with `pip install -e ".[bench]"`
    snakes = None
    sn = None

CASE = RecordColor((("id", IntColor()), ("amount", DecimalColor())), name="case")
GUARD = "c.amount > 1000"


# ---------------------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    reps: int
    warmup: int
    chain_cases: int        # one case at a time
    fj_cases: int
    in_flight: int          # cases in flight at once
    pt_nets: tuple[str, ...]
    pt_steps: int
    proc_nets: tuple[str, ...]
    proc_steps: int
    proc_reps: int
    info_all: bool


FULL = Mode("full", reps=7, warmup=1, chain_cases=100, fj_cases=500, in_flight=200,
            pt_nets=("Kanban-PT-00200", "CircularTrains-PT-192", "SharedMemory-PT-000010",
                     "FlexibleBarrier-PT-18a", "DLCshifumi-PT-3a"),
            pt_steps=100_000,
            proc_nets=("Kanban-PT-00200", "CircularTrains-PT-192", "DLCshifumi-PT-3a"),
            proc_steps=500_000, proc_reps=5, info_all=True)
QUICK = Mode("quick", reps=2, warmup=1, chain_cases=5, fj_cases=20, in_flight=20,
             pt_nets=("Kanban-PT-00200", "CircularTrains-PT-192"), pt_steps=10_000,
             proc_nets=("Kanban-PT-00200",), proc_steps=20_000, proc_reps=1, info_all=False)


# ---------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------


def _once(run: Callable[[Any], Any], setup: Callable[[], Any] | None) -> tuple[int, float]:
    state = setup() if setup is not None else None
    gc.collect()
    t0 = time.perf_counter()
    out = run(state)
    dt = time.perf_counter() - t0
    return (out[0], out[1]) if isinstance(out, tuple) else (out, dt)


def measure_group(jobs: list[tuple[Callable[[Any], Any], Callable[[], Any] | None]], reps: int,
                  warmup: int) -> list[dict[str, Any]]:
    """Median firings/s of each ``run(setup())`` (setup untimed), repetitions interleaved.

    ``run`` returns the number of firings, or ``(firings, seconds)`` when it times only
    part of itself. Interleaving the jobs rep by rep spreads any drift of the machine
    (another process, frequency changes) over all of them alike.
    """
    for _ in range(warmup):
        for run, setup in jobs:
            _once(run, setup)
    samples: list[list[tuple[int, float]]] = [[] for _ in jobs]
    for _ in range(reps):
        for k, (run, setup) in enumerate(jobs):
            samples[k].append(_once(run, setup))
    out = []
    for runs in samples:
        rates = [n / dt for n, dt in runs]
        out.append({"rate": statistics.median(rates), "min": min(rates), "max": max(rates),
                    "firings": runs[-1][0], "seconds": statistics.median(dt for _, dt in runs),
                    "reps": reps})
    return out


# ---------------------------------------------------------------------------------------
# One description, three engines
# ---------------------------------------------------------------------------------------


@dataclass
class Spec:
    name: str
    places: list[str]
    transitions: list[tuple[str, list[str], list[str], bool]]  # name, ins, outs, guarded
    order: list[str]          # a firing sequence taking one case from source to sink
    source: str
    sink: str


def chain_spec(n: int = 100, every: int = 10) -> Spec:
    places = [f"p{i}" for i in range(n + 1)]
    ts = [(f"t{i}", [f"p{i}"], [f"p{i + 1}"], i % every == 0) for i in range(n)]
    return Spec(f"chain{n}", places, ts, [t[0] for t in ts], "p0", f"p{n}")


def forkjoin_spec(k: int = 8, length: int = 2) -> Spec:
    places = ["start"] + [f"b{i}_{j}" for i in range(k) for j in range(length + 1)] + ["end"]
    ts: list[tuple[str, list[str], list[str], bool]] = [
        ("fork", ["start"], [f"b{i}_0" for i in range(k)], False)]
    for i in range(k):
        for j in range(1, length + 1):
            ts.append((f"t{i}_{j}", [f"b{i}_{j - 1}"], [f"b{i}_{j}"], False))
    ts.append(("join", [f"b{i}_{length}" for i in range(k)], ["end"], True))
    return Spec(f"forkjoin{k}x{length}", places, ts, [t[0] for t in ts], "start", "end")


def to_petriflow(spec: Spec) -> Any:
    b = NetBuilder(spec.name)
    for p in spec.places:
        b.place(p, color=CASE)
    for name, ins, outs, guarded in spec.transitions:
        b.transition(name, guard=GUARD if guarded else None)
        for p in ins:
            b.arc(p, name, inscription="c")
        for p in outs:
            b.arc(name, p, inscription="c")
    return b.build()


def to_snakes(spec: Spec) -> Any:
    net = sn.PetriNet(spec.name)
    for p in spec.places:
        net.add_place(sn.Place(p, []))
    for name, ins, outs, guarded in spec.transitions:
        net.add_transition(sn.Transition(
            name, sn.Expression("c['amount'] > 1000") if guarded else None))
        for p in ins:
            net.add_input(p, name, sn.Variable("c"))
        for p in outs:
            net.add_output(p, name, sn.Variable("c"))
    return net


def _floor_guard(c: Any) -> bool:
    return bool(c["amount"] > 1000)


def to_floor(spec: Spec) -> floor.CaseNet:
    net = floor.CaseNet()
    for p in spec.places:
        net.place(p)
    for name, ins, outs, guarded in spec.transitions:
        net.transition(name, ins, outs, _floor_guard if guarded else None)
    return net


def make_cases(n: int) -> list[Record]:
    return [Record(id=i, amount=Decimal("1500.25") + i) for i in range(n)]


# ---------------------------------------------------------------------------------------
# (a), (b): colored scenarios
# ---------------------------------------------------------------------------------------


def colored_rows(spec: Spec, mode: Mode, n_seq: int) -> list[dict[str, Any]]:
    net = to_petriflow(spec)
    fnet = to_floor(spec)
    per_case = len(spec.order)
    seq = make_cases(n_seq)
    flight = make_cases(mode.in_flight)
    src, sink = spec.source, spec.sink
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []

    jobs: list[dict[str, Any]] = []

    def row(engine: str, api: str, cases: str,
            job: tuple[Callable[[Any], Any], Callable[[], Any] | None], expect: int,
            note: str = "", primary: bool = True) -> None:
        """``primary``: the row that the targets compare (one per engine and kind)."""
        jobs.append({"scenario": spec.name, "engine": engine, "api": api, "cases": cases,
                     "kind": "flight" if "flight" in cases else "seq", "primary": primary,
                     "note": note, "expect": expect, "job": job})

    def measured(run: Callable[[Any], Any], setup: Callable[[], Any] | None = None
                 ) -> tuple[Callable[[Any], Any], Callable[[], Any] | None]:
        return run, setup

    one = f"1 at a time x{n_seq}"
    many = f"{mode.in_flight} in flight"

    # -- petriflow, one case at a time: one reusable game, put() the case, run to the end
    #    (exactly what the floor does), and, for information, a new TokenGame per case.
    def pf_seq(rng: random.Random) -> int:
        fired = 0
        g = TokenGame(net, Marking())
        for c in seq:
            g.put(src, [c])
            r = g.run(per_case + 1, rng)
            fired += r.fired
        if not r.dead or g.marking()[sink][c] != 1:
            raise AssertionError("petriflow did not take the case to the sink")
        return fired

    def pf_seq_general(rng: random.Random) -> int:
        fired = 0
        g = TokenGame(net, Marking(), fast=False)
        for c in seq:
            g.put(src, [c])
            fired += g.run(per_case + 1, rng).fired
        return fired

    def pf_seq_new_game(rng: random.Random) -> int:
        fired = 0
        for c in seq:
            g = TokenGame(net, Marking({src: Multiset((c,))}))
            fired += g.run(per_case + 1, rng).fired
        return fired

    def pf_seq_run_only(rng: random.Random) -> tuple[int, float]:
        fired, spent = 0, 0.0
        for c in seq:
            g = TokenGame(net, Marking({src: Multiset((c,))}))
            t0 = time.perf_counter()
            fired += g.run(per_case + 1, rng).fired
            spent += time.perf_counter() - t0
        return fired, spent

    def pf_seq_fire(_: Any) -> int:
        fired = 0
        for c in seq:
            g = TokenGame(net, Marking({src: Multiset((c,))}))
            for t in spec.order:
                g.fire(t)
                fired += 1
        return fired

    def pf_seq_immutable(_: Any) -> int:
        fired = 0
        for c in seq:
            m = Marking({src: Multiset((c,))})
            for t in spec.order:
                m = fire(net, m, t).after
                fired += 1
        if m[sink][c] != 1:
            raise AssertionError("firing.fire did not take the case to the sink")
        return fired

    rng_setup = lambda: random.Random(1)  # noqa: E731
    row("petriflow", "TokenGame.put + run (one game)", one,
        measured(pf_seq, rng_setup), n_seq * per_case)
    row("petriflow", "TokenGame(fast=False).put + run (general path)", one,
        measured(pf_seq_general, rng_setup), n_seq * per_case, "info", primary=False)
    row("petriflow", "TokenGame.run (new TokenGame per case)", one,
        measured(pf_seq_new_game, rng_setup), n_seq * per_case, "info", primary=False)
    row("petriflow", "TokenGame.run, run() only", one,
        measured(pf_seq_run_only, rng_setup), n_seq * per_case,
        "excludes TokenGame(net, marking) per case", primary=False)
    row("petriflow", "TokenGame.fire(tid) (returns Step)", one,
        measured(pf_seq_fire), n_seq * per_case, "info", primary=False)
    row("petriflow", "firing.fire (immutable Marking)", one,
        measured(pf_seq_immutable), n_seq * per_case, "info", primary=False)

    # -- floor, one case at a time: one reusable game, put() the case, run to the end.
    def fl_seq(state: tuple[floor.CaseGame, random.Random]) -> int:
        game, rng = state
        fired = 0
        for c in seq:
            game.put(src, c)
            fired += game.run(per_case + 1, rng)[0]
        if len(game.tokens[fnet.pindex[sink]]) != n_seq:
            raise AssertionError("floor did not take every case to the sink")
        return fired

    row("floor", "CaseGame.run", one,
        measured(fl_seq, lambda: (floor.CaseGame(fnet), random.Random(1))), n_seq * per_case)

    # -- SNAKES, one case at a time: modes() then fire(mode) on the known transition.
    if sn is not None:
        def sn_setup() -> tuple[Any, list[Any]]:
            snet = to_snakes(spec)
            return snet, [snet.transition(t) for t in spec.order]

        def sn_seq(state: tuple[Any, list[Any]]) -> int:
            snet, ts = state
            source = snet.place(src)
            fired = 0
            for c in seq:
                source.add([c])
                for t in ts:
                    t.fire(t.modes()[0])
                    fired += 1
            if len(snet.place(sink).tokens) != n_seq:
                raise AssertionError("SNAKES did not take every case to the sink")
            return fired

        row("SNAKES", "modes()[0] + fire() on the known transition", one,
            measured(sn_seq, sn_setup), n_seq * per_case)

    # -- N cases in flight: all enter at the source, the net runs until it is dead.
    def pf_flight(rng: random.Random) -> int:
        g = TokenGame(net, Marking({src: Multiset(flight)}))
        r = g.run(10**9, rng)
        if not r.dead or g.marking()[sink].size != len(flight):
            raise AssertionError("petriflow did not take every case to the sink")
        return r.fired

    def pf_flight_general(rng: random.Random) -> int:
        g = TokenGame(net, Marking({src: Multiset(flight)}), fast=False)
        return g.run(10**9, rng).fired

    def fl_flight(state: tuple[floor.CaseGame, random.Random]) -> int:
        game, rng = state
        for c in flight:
            game.put(src, c)
        fired, dead = game.run(10**9, rng)
        if not dead or len(game.tokens[fnet.pindex[sink]]) != len(flight):
            raise AssertionError("floor did not take every case to the sink")
        return fired

    row("petriflow", "TokenGame.run", many, measured(pf_flight, rng_setup),
        len(flight) * per_case, "one TokenGame, all cases in its initial marking")
    row("petriflow", "TokenGame(fast=False).run (general path)", many,
        measured(pf_flight_general, rng_setup), len(flight) * per_case, "info", primary=False)
    row("floor", "CaseGame.run", many,
        measured(fl_flight, lambda: (floor.CaseGame(fnet), random.Random(1))),
        len(flight) * per_case)
    if sn is not None:
        if all(len(ins) == 1 for _, ins, _, _ in spec.transitions):
            def sn_flight(state: tuple[Any, list[Any]]) -> int:
                snet, ts = state
                snet.place(src).add(flight)
                fired = 0
                for t in ts:  # lockstep: every case through t, then the next transition
                    for m in t.modes():
                        t.fire(m)
                        fired += 1
                return fired

            row("SNAKES", "modes() once per transition, fire() each (lockstep)", many,
                measured(sn_flight, sn_setup), len(flight) * per_case,
                "known order, not a random choice")
        else:
            skipped.append({
                "scenario": spec.name, "engine": "SNAKES", "api": "-", "cases": many,
                "kind": "flight", "primary": False, "rate": None,
                "note": "not run: modes() of the join enumerates the cross product, "
                        f"{len(flight)}^8 candidates"})
    results = measure_group([j["job"] for j in jobs], mode.reps, mode.warmup)
    for j, result in zip(jobs, results, strict=True):
        if result["firings"] != j["expect"]:
            raise AssertionError(f"{spec.name} {j['engine']} {j['api']}: fired "
                                 f"{result['firings']}, expected {j['expect']}")
        rows.append({k: v for k, v in j.items() if k not in ("job", "expect")} | result)
    return rows + skipped


# ---------------------------------------------------------------------------------------
# (c) P/T random simulation, (d) whole process, (e) net info
# ---------------------------------------------------------------------------------------


def pt_rows(corpus: Path, mode: Mode) -> list[dict[str, Any]]:
    rows = []
    for name in mode.pt_nets:
        path = corpus / "mcc" / name / "model.pnml"
        data = path.read_bytes()
        t0 = time.perf_counter()
        net = read_pnml(data, file=str(path))
        pf_parse = time.perf_counter() - t0
        t0 = time.perf_counter()
        fnet = floor.parse_pnml(data)
        fl_parse = time.perf_counter() - t0
        steps = mode.pt_steps

        # Same trajectory: same final marking after the same seed.
        g = TokenGame(net)
        r = g.run(steps, random.Random(1))
        fg = floor.PTGame(fnet)
        fired, dead = fg.run(steps, random.Random(1))
        same = (r.fired, r.dead) == (fired, dead) and dict(g.marking().counts()) == fg.marking()

        pf, fl = measure_group(
            [(lambda _: TokenGame(net).run(steps, random.Random(1)).fired, None),  # noqa: B023
             (lambda _: floor.PTGame(fnet).run(steps, random.Random(1))[0], None)],  # noqa: B023
            mode.reps, mode.warmup)
        rows.append({"net": name, "places": len(net.places), "transitions": len(net.transitions),
                     "arcs": len(net.arcs), "steps": steps, "fired": r.fired, "dead": r.dead,
                     "same_final_marking": same,
                     "parse_s": {"petriflow": pf_parse, "floor": fl_parse},
                     "petriflow": pf, "floor": fl, "floor_over_petriflow": fl["rate"] / pf["rate"]})
    return rows


def petriflow_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "petriflow"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("petriflow")
    if found:
        return [found]
    return [sys.executable, "-c", "from petriflow.cli import entry; entry()"]


def timed_process(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-500:]}")
    return dt, done.stdout


def process_rows(corpus: Path, mode: Mode) -> list[dict[str, Any]]:
    rows = []
    pf_cmd = petriflow_cmd()
    for name in mode.proc_nets:
        path = str(corpus / "mcc" / name / "model.pnml")
        args = [path, "--steps", str(mode.proc_steps), "--seed", "1"]
        cmds = {"petriflow": [*pf_cmd, "net", "simulate", *args],
                "floor": [sys.executable, str(HERE / "floor.py"), *args]}
        times: dict[str, list[float]] = {k: [] for k in cmds}
        outputs: dict[str, str] = {}
        for k, cmd in cmds.items():  # warm-up (page cache, .pyc)
            outputs[k] = timed_process(cmd)[1]
        for _ in range(mode.proc_reps):
            for k, cmd in cmds.items():  # interleaved, so drift hits both alike
                times[k].append(timed_process(cmd)[0])
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append({"net": name, "steps": mode.proc_steps, "reps": mode.proc_reps,
                     "seconds": med, "min_seconds": {k: min(v) for k, v in times.items()},
                     "all_seconds": times,
                     "same_output": outputs["petriflow"] == outputs["floor"],
                     "petriflow_over_floor": med["petriflow"] / med["floor"],
                     "commands": {k: " ".join(v) for k, v in cmds.items()}})
    return rows


def info_result(corpus: Path, mode: Mode) -> dict[str, Any]:
    files = sorted((corpus / "mcc").glob("*/model.pnml")) + sorted((corpus / "ibm").glob("*.pnml"))
    if not mode.info_all:
        files = sorted(files, key=lambda f: f.stat().st_size)[-2:]
    pf_cmd = petriflow_cmd()
    times: dict[str, float] = {}
    failures: list[str] = []
    for f in files:
        t0 = time.perf_counter()
        done = subprocess.run([*pf_cmd, "net", "info", str(f)], capture_output=True, check=False)
        times[str(f.relative_to(corpus))] = time.perf_counter() - t0
        if done.returncode != 0:
            failures.append(str(f.relative_to(corpus)))
    slowest = sorted(times.items(), key=lambda kv: kv[1], reverse=True)[:5]
    # Re-time the slowest net a few times, so that one hiccup does not make the maximum.
    worst = slowest[0][0]
    again = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([*pf_cmd, "net", "info", str(corpus / worst)], capture_output=True,
                       check=False)
        again.append(time.perf_counter() - t0)
    return {"nets": len(files), "all": mode.info_all, "max_s": slowest[0][1], "max_net": worst,
            "max_rerun_median_s": statistics.median(again),
            "median_s": statistics.median(times.values()), "slowest": slowest,
            "failures": failures}


# ---------------------------------------------------------------------------------------
# Targets, tables, main
# ---------------------------------------------------------------------------------------


def targets(colored: list[dict[str, Any]], pt: list[dict[str, Any]],
            proc: list[dict[str, Any]], info: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []

    def add(what: str, value: float, goal: str, ok: bool, note: str = "") -> None:
        out.append({"target": what, "value": round(value, 3), "goal": goal, "met": ok,
                    "note": note})

    def pick(scenario: str, engine: str, kind: str) -> dict[str, Any] | None:
        return next((r for r in colored if r["scenario"] == scenario and r["engine"] == engine
                     and r["kind"] == kind and r.get("rate") and r.get("primary")), None)

    for scenario in dict.fromkeys(r["scenario"] for r in colored):
        for kind, label in (("seq", "1 case at a time"), ("flight", "cases in flight")):
            pf, fl, sk = (pick(scenario, e, kind) for e in ("petriflow", "floor", "SNAKES"))
            note = ""
            if sk is None:
                sk = pick(scenario, "SNAKES", "seq")
                note = "SNAKES cannot run it in flight: vs its 1-at-a-time rate"
            if pf is None or fl is None:
                continue
            if sk is not None:
                x = pf["rate"] / sk["rate"]
                add(f"{scenario}, {label}: petriflow / SNAKES", x, ">= 30", x >= 30, note)
            y = fl["rate"] / pf["rate"]
            add(f"{scenario}, {label}: floor / petriflow", y, "<= 3", y <= 3)
    for r in pt:
        add(f"P/T simulate {r['net']}: floor / petriflow", r["floor_over_petriflow"], "<= 2",
            r["floor_over_petriflow"] <= 2)
    for r in proc:
        add(f"process simulate {r['net']} ({r['steps']} steps): petriflow / floor",
            r["petriflow_over_floor"], "<= 3", r["petriflow_over_floor"] <= 3)
    if info is not None:
        add(f"net info, max over {info['nets']} nets (s)", info["max_s"], "< 1",
            info["max_s"] < 1, info["max_net"])
    return out


def _fmt_rate(x: float | None) -> str:
    if not x:
        return "-"
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def print_tables(result: dict[str, Any]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        Console = Table = None

    def show(title: str, headers: list[str], rows: list[list[str]]) -> None:
        if Table is not None:
            t = Table(title=title, title_justify="left")
            for h in headers:
                t.add_column(h)
            for r in rows:
                t.add_row(*r)
            Console(width=160).print(t)
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        print(title)
        for line in [headers, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        print()

    show("Colored firing (firings/s, median (min-max))",
         ["scenario", "cases", "engine", "API", "firings/s", "range", "note"],
         [[r["scenario"], r["cases"], r["engine"], r["api"], _fmt_rate(r.get("rate")),
           f"{_fmt_rate(r.get('min'))}-{_fmt_rate(r.get('max'))}" if r.get("rate") else "",
           r.get("note", "")] for r in result["colored"]])
    if result["pt"]:
        show("P/T random simulation after parsing (firings/s)",
             ["net", "P/T/arcs", "steps", "petriflow", "floor", "floor/pf", "same marking",
              "parse pf / floor (s)"],
             [[r["net"], f"{r['places']}/{r['transitions']}/{r['arcs']}", str(r["steps"]),
               _fmt_rate(r["petriflow"]["rate"]), _fmt_rate(r["floor"]["rate"]),
               f"{r['floor_over_petriflow']:.2f}", str(r["same_final_marking"]),
               f"{r['parse_s']['petriflow']:.3f} / {r['parse_s']['floor']:.3f}"]
              for r in result["pt"]])
    if result["process"]:
        show("Whole process: simulate --seed 1 (seconds, median (min))",
             ["net", "steps", "reps", "petriflow", "floor", "pf/floor", "same output"],
             [[r["net"], str(r["steps"]), str(r["reps"]),
               f"{r['seconds']['petriflow']:.2f} ({r['min_seconds']['petriflow']:.2f})",
               f"{r['seconds']['floor']:.2f} ({r['min_seconds']['floor']:.2f})",
               f"{r['petriflow_over_floor']:.2f}", str(r["same_output"])]
              for r in result["process"]])
    if result["info"]:
        i = result["info"]
        show("Whole process: petriflow net info",
             ["nets", "median (s)", "max (s)", "slowest net", "re-run median (s)", "failures"],
             [[str(i["nets"]), f"{i['median_s']:.2f}", f"{i['max_s']:.2f}", i["max_net"],
               f"{i['max_rerun_median_s']:.2f}", str(len(i["failures"]))]])
    show("Targets", ["target", "value", "goal", "met", "note"],
         [[t["target"], f"{t['value']:.2f}", t["goal"], "yes" if t["met"] else "NO",
           t["note"]] for t in result["targets"]])


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "firing.json")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="folder with mcc/ and ibm/ (default: $PETRIFLOW_CORPUS or "
                    "../shared/corpus next to the repository)")
    ap.add_argument("--skip-process", action="store_true",
                    help="skip the whole-process measurements (simulate, info)")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    corpus = args.corpus or Path(os.environ.get("PETRIFLOW_CORPUS")
                                 or REPO.parent / "shared" / "corpus")
    started = time.time()
    load_before = os.getloadavg()
    colored = (colored_rows(chain_spec(), mode, mode.chain_cases)
               + colored_rows(forkjoin_spec(), mode, mode.fj_cases))
    pt: list[dict[str, Any]] = []
    proc: list[dict[str, Any]] = []
    info: dict[str, Any] | None = None
    if (corpus / "mcc").is_dir():
        pt = pt_rows(corpus, mode)
        if not args.skip_process:
            proc = process_rows(corpus, mode)
            info = info_result(corpus, mode)
    else:
        print(f"corpus not found at {corpus}: skipping the P/T, process and info parts",
              file=sys.stderr)
    result = {
        "benchmark": "firing throughput (issue 3)",
        "mode": mode.name,
        "command": " ".join(["python", "benchmarks/bench_firing.py", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "processor": platform.processor()},
        "versions": {"snakes": getattr(snakes, "version", None) if snakes else None,
                     "petriflow_commit": _git("rev-parse", "--short", "HEAD"),
                     "petriflow_dirty": bool(_git("status", "--porcelain", "petriflow"))},
        "mode_settings": mode.__dict__,
        "colored": colored, "pt": pt, "process": proc, "info": info,
    }
    result["targets"] = targets(colored, pt, proc, info)
    result["elapsed_s"] = time.time() - started
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print_tables(result)
    print(f"total {result['elapsed_s']:.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
