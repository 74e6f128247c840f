"""BPMN import + compile of large generated processes (issue 8 target: 1,000 tasks < 1 s).

Two shapes, each with N tasks: a sequence of user tasks, and blocks of an exclusive choice
between two tasks followed by a parallel split/join of two tasks (gateways, conditions and
joins, so the importer's pairing and the compiler's routing are exercised). The BPMN text
is generated once; the timed part is ``compile_bpmn`` on the file (parse with defusedxml,
map to the process language, validate, compile to the net). Median of 5 after a warm-up.

    python benchmarks/bench_bpmn.py [--tasks N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def sequence(n: int) -> str:
    nodes = "".join(f'<bpmn:userTask id="t{i}" name="Task {i}"/>' for i in range(n))
    flows = ['<bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="t0"/>']
    flows += [f'<bpmn:sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="t{i + 1}"/>'
              for i in range(n - 1)]
    flows.append(f'<bpmn:sequenceFlow id="fe" sourceRef="t{n - 1}" targetRef="e"/>')
    return _wrap(nodes, "".join(flows))


def blocks(n: int) -> str:
    """Each block of 4 tasks: xor(a | b) then and(c, d)."""
    nodes, flows = [], []
    prev = "s"
    for k in range(max(n // 4, 1)):
        x, xj, p, pj = f"x{k}", f"xj{k}", f"p{k}", f"pj{k}"
        a, b, c, d = (f"{t}{k}" for t in "abcd")
        nodes += [f'<bpmn:exclusiveGateway id="{x}" default="fb{k}"/>',
                  f'<bpmn:exclusiveGateway id="{xj}"/>', f'<bpmn:parallelGateway id="{p}"/>',
                  f'<bpmn:parallelGateway id="{pj}"/>']
        nodes += [f'<bpmn:userTask id="{t}"/>' for t in (a, b, c, d)]
        flows += [
            f'<bpmn:sequenceFlow id="fi{k}" sourceRef="{prev}" targetRef="{x}"/>',
            f'<bpmn:sequenceFlow id="fa{k}" sourceRef="{x}" targetRef="{a}">'
            f'<bpmn:conditionExpression>= amount &gt; {k}</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>',
            f'<bpmn:sequenceFlow id="fb{k}" sourceRef="{x}" targetRef="{b}"/>',
            f'<bpmn:sequenceFlow id="fax{k}" sourceRef="{a}" targetRef="{xj}"/>',
            f'<bpmn:sequenceFlow id="fbx{k}" sourceRef="{b}" targetRef="{xj}"/>',
            f'<bpmn:sequenceFlow id="fxp{k}" sourceRef="{xj}" targetRef="{p}"/>',
            f'<bpmn:sequenceFlow id="fc{k}" sourceRef="{p}" targetRef="{c}"/>',
            f'<bpmn:sequenceFlow id="fd{k}" sourceRef="{p}" targetRef="{d}"/>',
            f'<bpmn:sequenceFlow id="fcj{k}" sourceRef="{c}" targetRef="{pj}"/>',
            f'<bpmn:sequenceFlow id="fdj{k}" sourceRef="{d}" targetRef="{pj}"/>',
        ]
        prev = pj
    flows.append(f'<bpmn:sequenceFlow id="fe" sourceRef="{prev}" targetRef="e"/>')
    return _wrap("".join(nodes), "".join(flows))


def _wrap(nodes: str, flows: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" '
            'targetNamespace="https://example.org/bench"><bpmn:process id="p" '
            f'isExecutable="true"><bpmn:startEvent id="s"/>{nodes}<bpmn:endEvent id="e"/>'
            f'{flows}</bpmn:process></bpmn:definitions>')


def measure(text: str, reps: int) -> dict[str, float]:
    from petriflow.model.bpmn import compile_bpmn

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bpmn"
        path.write_text(text)
        compiled = compile_bpmn(path)[0]  # warm-up, and the size of the result
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            compile_bpmn(path)
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "transitions": len(compiled.net.transitions), "places": len(compiled.net.places)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    n, reps = (40, 2) if args.quick else (args.tasks, 5)
    rows = {"sequence": measure(sequence(n), reps), "xor+and blocks": measure(blocks(n), reps)}
    if args.json:
        print(json.dumps({"tasks": n, "rows": rows}, indent=2))
        return 0
    print(f"BPMN import + compile, {n} tasks (median of {reps})")
    print(f"{'shape':<16} {'median s':>9} {'min-max s':>15} {'places':>7} {'transitions':>12}")
    for name, r in rows.items():
        print(f"{name:<16} {r['median_s']:>9.3f} {r['min_s']:>7.3f}-{r['max_s']:<7.3f} "
              f"{r['places']:>7} {r['transitions']:>12}")
    worst = max(r["median_s"] for r in rows.values())
    print(f"target: under 1 s for 1,000 tasks -> {'met' if worst < 1 else 'NOT met'} "
          f"(worst median {worst:.3f} s)" if n == 1000 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
