"""Checker benchmarks: reference processes, k parallel branches, and Woflan (PM4Py).

    python benchmarks/bench_verify.py            # full run (a few minutes)
    python benchmarks/bench_verify.py --quick    # smoke run (seconds), used by the tests

Measures, in one run:
1. every property of the four reference processes (target: under 5 s in total);
2. deadlock-freedom of a process with k parallel branches of 10 tasks each
   (11^k control states; target: k = 200 under 2 s, polynomial growth);
3. soundness of generated workflow nets, petriflow against PM4Py's Woflan on the same
   nets, each in a child process with a time cap (target: at least 10x faster wherever
   both finish, and finishing sizes Woflan cannot). PM4Py is optional (``pip install
   pm4py``); without it that part is skipped with a message.
Prints a table and writes JSON to benchmarks/out/verify.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petriflow.model import compile_file  # noqa: E402
from petriflow.model.builder import Process  # noqa: E402
from petriflow.net.builder import NetBuilder  # noqa: E402
from petriflow.net.pnml import write_pnml  # noqa: E402
from petriflow.verify.portfolio import check  # noqa: E402

MODELS = ["invoice_to_payment", "hr_hiring", "customer_service", "fraud_review"]


def reference_processes() -> list[dict[str, Any]]:
    rows = []
    for name in MODELS:
        compiled = compile_file(ROOT / "models" / f"{name}.yaml")
        t0, c0 = time.perf_counter(), time.process_time()
        results = check(compiled, ["all"], timeout=60)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append({"process": name, "properties": len(results), "seconds": seconds,
                     "cpu_seconds": cpu,
                     "verdicts": {r.property: r.verdict.value for r in results}})
    return rows


def parallel_process(k: int, length: int = 10) -> Any:
    p = Process(f"parallel_{k}x{length}")
    split = p.parallel("split")
    ends = []
    for i in range(k):
        prev = split
        for j in range(length):
            prev = p.task(f"b{i}_t{j}", kind="auto", after=prev, set={})
        ends.append(prev)
    p.parallel("join", after=ends)
    return p.compile()


def parallel_branches(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for k in sizes:
        t0 = time.perf_counter()
        compiled = parallel_process(k)
        compile_s = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        [r] = check(compiled, ["deadlock"], timeout=120)
        rows.append({"k": k, "control_states": f"11^{k}", "verdict": r.verdict.value,
                     "method": r.method, "check_seconds": time.perf_counter() - t1,
                     "check_cpu_seconds": time.process_time() - c1,
                     "compile_seconds": compile_s})
    return rows


# -- workflow nets for the Woflan comparison ----------------------------------------------


def wf_and(k: int) -> Any:
    """i -> [split] -> k branches of one task -> [join] -> o."""
    b = NetBuilder(f"and_{k}")
    b.place("i", initial=1)
    b.place("o")
    b.transition("split")
    b.transition("join")
    b.arc("i", "split")
    b.arc("join", "o")
    for n in range(k):
        b.place(f"a{n}")
        b.place(f"b{n}")
        b.transition(f"t{n}")
        b.arc("split", f"a{n}")
        b.arc(f"a{n}", f"t{n}")
        b.arc(f"t{n}", f"b{n}")
        b.arc(f"b{n}", "join")
    return b.build()


def wf_and_lock(k: int) -> Any:
    """Like :func:`wf_and`, but each branch takes a shared lock (made by the split) for its
    two steps, so the branches interleave through the lock: chain fusion folds each
    branch into one step around the lock, not the whole net into one transition."""
    b = NetBuilder(f"and_lock_{k}")
    b.place("i", initial=1)
    b.place("o")
    b.place("lock")
    b.transition("split")
    b.transition("join")
    b.arc("i", "split")
    b.arc("split", "lock")
    b.arc("lock", "join")
    b.arc("join", "o")
    for n in range(k):
        for p in (f"a{n}", f"b{n}", f"c{n}"):
            b.place(p)
        b.transition(f"take{n}")
        b.transition(f"give{n}")
        b.arc("split", f"a{n}")
        b.arc(f"a{n}", f"take{n}")
        b.arc("lock", f"take{n}")
        b.arc(f"take{n}", f"b{n}")
        b.arc(f"b{n}", f"give{n}")
        b.arc(f"give{n}", f"c{n}")
        b.arc(f"give{n}", "lock")
        b.arc(f"c{n}", "join")
    return b.build()


def wf_sequence(n: int) -> Any:
    b = NetBuilder(f"seq_{n}")
    for i in range(n + 1):
        b.place(f"p{i}", initial=1 if i == 0 else 0)
    for i in range(n):
        b.transition(f"t{i}")
        b.arc(f"p{i}", f"t{i}")
        b.arc(f"t{i}", f"p{i + 1}")
    return b.build()


REPEATS = 5  # timed calls per net and tool (fewer once they add up to a second): the median


def _petriflow_sound(pnml: str, queue: Any) -> None:
    from petriflow.net.pnml import read_pnml
    from petriflow.verify.portfolio import check as run_check

    run_check(wf_sequence(2), ["soundness"], timeout=10)  # warm-up: imports, first calls
    net = read_pnml(pnml)  # parsing is not timed, as for Woflan
    times: list[float] = []
    while len(times) < REPEATS and sum(times) < 1.0:
        t0 = time.perf_counter()
        [r] = run_check(net, ["soundness"], timeout=600)
        times.append(time.perf_counter() - t0)
    queue.put((r.verdict.value, statistics.median(times)))


def _woflan_sound(pnml: str, queue: Any) -> None:
    import io
    import os
    import tempfile
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        import pm4py
        from pm4py.algo.analysis.woflan import algorithm as woflan

        with tempfile.NamedTemporaryFile("w", suffix=".pnml", delete=False) as f:
            f.write(pnml)
        net, im, fm = pm4py.read_pnml(f.name)
        os.unlink(f.name)
        if not fm:  # the PNML carries no final marking: the sink place, once
            from pm4py.objects.petri_net.obj import Marking

            fm = Marking({p: 1 for p in net.places if not p.out_arcs})
        times: list[float] = []
        while len(times) < REPEATS and sum(times) < 1.0:
            t0 = time.perf_counter()
            sound = woflan.apply(net, im, fm, parameters={"return_asap_when_not_sound": True,
                                                          "print_diagnostics": False})
            times.append(time.perf_counter() - t0)
    queue.put(("proved" if sound else "violated", statistics.median(times)))


def _timed(target: Any, pnml: str, cap: float) -> tuple[str, float | None]:
    queue: Any = mp.Queue()
    proc = mp.Process(target=target, args=(pnml, queue))
    proc.start()
    proc.join(cap)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return "timeout", None
    if queue.empty():
        return "error", None
    verdict, seconds = queue.get()
    return verdict, seconds


def woflan_comparison(cases: list[tuple[str, Any]], cap: float) -> list[dict[str, Any]]:
    try:
        import io
        from contextlib import redirect_stderr, redirect_stdout

        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            import pm4py  # noqa: F401  (prints a licence banner on import)
        have_pm4py = True
    except ImportError:
        have_pm4py = False
        print("PM4Py is not installed: `pip install pm4py` to compare with Woflan")
    rows = []
    for label, net in cases:
        pnml = write_pnml(net)
        ours = _timed(_petriflow_sound, pnml, cap)
        theirs = _timed(_woflan_sound, pnml, cap) if have_pm4py else ("skipped", None)
        ratio = (theirs[1] / ours[1]) if ours[1] and theirs[1] else None
        rows.append({"net": label, "petriflow": ours[0], "petriflow_s": ours[1],
                     "woflan": theirs[0], "woflan_s": theirs[1], "speedup": ratio})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    ap.add_argument("--sections", default="refs,branches,woflan",
                    help="comma-separated subset of refs, branches, woflan")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    out: dict[str, Any] = {"quick": args.quick, "sections": sorted(sections)}
    dest = ROOT / "benchmarks" / "out"
    dest.mkdir(parents=True, exist_ok=True)
    if "refs" in sections:
        _refs(out, args.quick)
    if "branches" in sections:
        _branches(out, args.quick)
    if "woflan" in sections:
        _woflan(out, args.quick)
    (dest / "verify.json").write_text(json.dumps(out, indent=2, default=str))


def _refs(out: dict[str, Any], quick: bool) -> None:
    refs = reference_processes() if not quick else reference_processes()[:1]
    total = sum(r["seconds"] for r in refs)
    cpu = sum(r["cpu_seconds"] for r in refs)
    out["reference_processes"] = {"rows": refs, "total_seconds": total, "total_cpu_seconds": cpu}
    print("\n1. Reference processes, all properties")
    for r in refs:
        bad = [p for p, v in r["verdicts"].items() if v != "proved"]
        print(f"   {r['process']:22s} {r['properties']:3d} properties  {r['seconds']:6.2f} s "
              f"(cpu {r['cpu_seconds']:5.2f} s)" + (f"  NOT PROVED: {bad}" if bad else ""))
    print(f"   total {total:.2f} s, cpu {cpu:.2f} s (target < 5 s)")


def _branches(out: dict[str, Any], quick: bool) -> None:
    sizes = [5, 10] if quick else [10, 25, 50, 100, 200]
    par = parallel_branches(sizes)
    out["parallel_branches"] = par
    print("\n2. Deadlock-freedom, k parallel branches of 10 tasks")
    for r in par:
        print(f"   k={r['k']:4d}  {r['verdict']:8s} {r['check_seconds']:7.3f} s "
              f"(cpu {r['check_cpu_seconds']:6.3f} s, {r['method']}),"
              f" compile {r['compile_seconds']:.2f} s")


def _woflan(out: dict[str, Any], quick: bool) -> None:
    cap = 10.0 if quick else 60.0
    cases = ([(f"AND k={k}", wf_and(k)) for k in (2, 4)] if quick else
             [(f"AND k={k}", wf_and(k)) for k in (2, 4, 6, 8, 9, 10, 12, 14)]
             + [(f"AND+lock k={k}", wf_and_lock(k)) for k in (2, 4, 6, 8, 10, 12)]
             + [(f"sequence n={n}", wf_sequence(n)) for n in (100, 300, 1000)])
    wof = woflan_comparison(cases, cap)
    out["woflan"] = wof
    print(f"\n3. Workflow-net soundness, petriflow vs PM4Py Woflan (cap {cap:.0f} s each)")
    for r in wof:
        ours = f"{r['petriflow']} {r['petriflow_s']:.3f} s" if r["petriflow_s"] else r["petriflow"]
        theirs = f"{r['woflan']} {r['woflan_s']:.3f} s" if r["woflan_s"] else r["woflan"]
        speed = f"{r['speedup']:.0f}x" if r["speedup"] else "-"
        print(f"   {r['net']:16s} petriflow {ours:22s} woflan {theirs:22s} {speed}")
    finished = [r["speedup"] for r in wof if r["speedup"]]
    if finished:
        out["woflan_min_speedup"] = min(finished)
        print(f"   minimum speed-up where both finish: {min(finished):.0f}x "
              f"(median {statistics.median(finished):.0f}x)")


if __name__ == "__main__":
    main()
